"""Password hashing in one place (werkzeug's scrypt), so every path hashes the same way."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

#: The hashing method; tests lower its cost, production keeps scrypt's.
METHOD = "scrypt"


def hash_password(password: str) -> str:
    """A salted hash of the password."""
    return generate_password_hash(password, method=METHOD)


def password_matches(stored_hash: str, password: str) -> bool:
    """True if the password is the one hashed (any method werkzeug knows)."""
    return check_password_hash(stored_hash, password)
