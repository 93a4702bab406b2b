"""Settings from the environment, with safe defaults.

The secret key is never a constant in the code: it comes from
TIMEBANK_SECRET_KEY or is generated once into the instance folder.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

ENV_PREFIX = "TIMEBANK_"


def default_database_url(instance_path: str) -> str:
    """The embedded default: a SQLite file in the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'timebank.db'}"


def instance_secret(instance_path: str, name: str = "secret_key") -> str:
    """An instance's own secret, created on first use (atomically, mode 0600)."""
    folder = Path(instance_path)
    target = folder / name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / f".{name}.{os.getpid()}"
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            # link() refuses to overwrite: when several workers start at once, one wins.
            os.link(scratch, target)
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    return target.read_text().strip()


def from_environment(instance_path: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The Flask config this deployment asks for."""
    env = os.environ if environ is None else environ
    secure = env.get(f"{ENV_PREFIX}SECURE_COOKIES", "0") == "1"
    return {
        "DATABASE_URL": env.get(f"{ENV_PREFIX}DATABASE_URL") or default_database_url(instance_path),
        "SECRET_KEY": env.get(f"{ENV_PREFIX}SECRET_KEY") or None,
        # Seals ID numbers; kept apart from SECRET_KEY so rotating one leaves the other.
        "DATA_KEY": env.get(f"{ENV_PREFIX}DATA_KEY") or None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        # Remember-me: the session cookie's flags, and a month rather than Flask-Login's year.
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_DURATION": dt.timedelta(days=30),
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        # Unset: a SQLite file in the instance folder (see auth/throttle.py); redis://… for several hosts.
        "RATELIMIT_STORAGE_URI": env.get(f"{ENV_PREFIX}RATELIMIT_STORAGE_URI") or None,
        # How many proxies in front set X-Forwarded-For/-Proto; 0 believes no such header.
        "TRUSTED_PROXIES": int(env.get(f"{ENV_PREFIX}TRUSTED_PROXIES") or 0),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ("zh_CN", "en"),
        "JSON_AS_ASCII": False,
        # Unset: a SQLite queue file in the instance folder (the embedded default); redis://… in production.
        "QUEUE_URL": env.get(f"{ENV_PREFIX}QUEUE_URL") or None,
        "QUEUE_NAME": env.get(f"{ENV_PREFIX}QUEUE_NAME") or "timebank",
        # Outbound notices: email over SMTP, SMS through the deployer's HTTP gateway (unset: kept in the outbox).
        **{key: env.get(f"{ENV_PREFIX}{key}") or None for key in ("SMTP_HOST", "SMTP_PORT", "SMTP_FROM", "SMTP_USER", "SMTP_PASSWORD", "SMS_URL", "SMS_TOKEN", "SMS_TEMPLATES")},
        # People per commit in a certificate batch (on SQLite the write lock is held while a chunk is numbered).
        "CERTIFY_BATCH_CHUNK": int(env.get(f"{ENV_PREFIX}CERTIFY_BATCH_CHUNK") or 50),
        # An import file with more rows than this is imported by a background job, not in the request.
        "PEOPLE_IMPORT_BACKGROUND_ROWS": int(env.get(f"{ENV_PREFIX}PEOPLE_IMPORT_BACKGROUND_ROWS") or 500),
        "SMTP_STARTTLS": env.get(f"{ENV_PREFIX}SMTP_STARTTLS", "0") == "1",
        # Every request body, with or without a Content-Length (a catalogue picture is at most 5 MB).
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    }
