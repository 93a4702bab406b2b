"""Signing in: passwords, sessions, device tokens for tablets and kiosks, member codes."""
