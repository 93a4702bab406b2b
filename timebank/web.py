"""Flask glue shared by every blueprint: the request's database session and content negotiation."""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy.orm import Session

from timebank.db import Database

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOCALE_COOKIE = "timebank_lang"


def database() -> Database:
    """The app's database."""
    return current_app.extensions["timebank.database"]


def db_session() -> Session:
    """The request's one session: the view commits it; teardown rolls back whatever it did not."""
    if "db_session" not in g:
        g.db_session = database().session(write=request.method not in SAFE_METHODS)
    return g.db_session


def close_db_session(_exc: BaseException | None = None) -> None:
    """Roll back anything uncommitted and give the connection back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def wants_json() -> bool:
    """True for the JSON API and for clients that prefer JSON to HTML."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def select_locale() -> str:
    """The chosen language: ?lang=, then the language cookie, then the browser's; Chinese first."""
    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    for choice in (request.args.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        if choice in languages:
            return choice
    return request.accept_languages.best_match(languages, default=default) or default
