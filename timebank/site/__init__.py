"""The service's front page, health check and language switch."""
