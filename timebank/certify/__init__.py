"""Professional certification: star levels, programmes, certificates, printable service records."""
