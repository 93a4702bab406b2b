"""Flask-Login, rate limits, and the decorators that guard every page and API call."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, redirect, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from sqlalchemy.orm import lazyload
from werkzeug.exceptions import Forbidden, Unauthorized

from timebank.auth.models import DeviceToken
from timebank.auth.services import authenticate_device
from timebank.db import utcnow
from timebank.domain import NotAllowed
from timebank.people.access import Actor, actor_for
from timebank.people.idnumbers import IdVault
from timebank.people.models import Person, Role, Status
from timebank.web import db_session, wants_json

login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


class SignedInPerson:
    """The Flask-Login user: a person, identified by id and session version."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, person: Person) -> None:
        self.person = person

    def get_id(self) -> str:
        # The session version in the id signs out every session on a password change.
        return f"{self.person.id}:{self.person.session_version}"

    @property
    def id(self) -> int:
        return self.person.id


@login_manager.user_loader
def load_user(user_id: str) -> SignedInPerson | None:
    """The signed-in person, unless their password changed or they may no longer sign in."""
    try:
        person_id, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    # Roles are read when a page needs them (current_actor), not on every request.
    person = db_session().get(Person, person_id, options=[lazyload(Person.roles)])
    if person is None or person.session_version != version or person.status != Status.ACTIVE.value:
        return None
    return SignedInPerson(person)


def current_person() -> Person | None:
    """The signed-in person, or None."""
    return current_user.person if current_user.is_authenticated else None


def current_actor() -> Actor:
    """The signed-in person's roles as services take them (computed once per request)."""
    if "actor" not in g:
        person = current_person()
        if person is None:
            raise Unauthorized()
        g.actor = actor_for(db_session(), person)
    return g.actor


def current_device() -> DeviceToken | None:
    """The device token of an `Authorization: Bearer` request, or of a browser set up as a device, if valid."""
    if "device" not in g:
        from timebank.auth.device_mode import cookie_device

        header = request.headers.get("Authorization", "")
        plain = header[7:].strip() if header.lower().startswith("bearer ") else ""
        g.device = authenticate_device(db_session(), plain, now=utcnow()) if plain else cookie_device()
    return g.device


def vault() -> IdVault:
    """The app's ID-number vault."""
    return current_app.extensions["timebank.vault"]


def _refuse_anonymous() -> Any:
    if wants_json():
        raise Unauthorized()
    return redirect(url_for("auth.sign_in", next=request.full_path if request.query_string else request.path))


def requires(*roles: Role, allow_device: bool = False) -> Callable:
    """Guard a view: signed in (or a device token, where allowed), holding one of `roles` somewhere.

    With no roles, any signed-in person passes. Where in the tree a role
    counts is the service's check, against the record in question.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if allow_device and current_device() is not None:
                return view(*args, **kwargs)
            if not current_user.is_authenticated:
                return _refuse_anonymous()
            if roles and not current_actor().has(*roles):
                raise Forbidden()
            if current_user.person.must_change_password and request.endpoint not in ("auth.change_password", "auth.sign_out"):
                if wants_json():
                    raise NotAllowed("Please choose your own password before you go on.")
                return redirect(url_for("auth.change_password"))
            return view(*args, **kwargs)

        guarded.required_roles = roles  # read by the authorisation tests
        guarded.allows_device = allow_device
        return guarded

    return decorate


def init_app(app: Flask) -> None:
    """Wire Flask-Login and the rate limiter; sessions are checked strongly against their origin."""
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.sign_in"
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    limiter.init_app(app)


def now() -> dt.datetime:
    """The time for this request."""
    return utcnow()
