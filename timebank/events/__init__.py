"""Activities and QR check-in: sign-ups, attendances, review, and the service credit they post."""
