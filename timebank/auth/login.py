"""Flask-Login, rate limits, and the decorators that guard every page and API call."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from werkzeug.exceptions import Forbidden, Unauthorized

from timebank.auth import throttle
from timebank.auth.models import DeviceToken
from timebank.auth.services import PasswordChangeRequired, authenticate_device, end_sign_in, signed_in_person, start_sign_in
from timebank.db import utcnow
from timebank.people.access import Actor, actor_for
from timebank.people.idnumbers import IdVault
from timebank.people.models import Person, Role
from timebank.web import SAFE_METHODS, db_session, wants_json

login_manager = LoginManager()
#: What a person who must choose their own password may still do.
PASSWORD_CHANGE_ENDPOINTS = ("auth.change_password", "auth.sign_out", "session_api.change_password", "session_api.sign_out")
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


class SignedInPerson:
    """The Flask-Login user: a person, identified by id, session version and sign-in key."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, person: Person, sign_in_key: str) -> None:
        self.person = person
        self.sign_in_key = sign_in_key

    def get_id(self) -> str:
        # The session version signs out every session on a password change; the
        # key names this sign-in, which sign-out ends on the server.
        return f"{self.person.id}:{self.person.session_version}:{self.sign_in_key}"

    @property
    def id(self) -> int:
        return self.person.id


@login_manager.user_loader
def load_user(user_id: str) -> SignedInPerson | None:
    """The signed-in person, unless they signed out, their password changed, or they may no longer sign in."""
    try:
        person_id, version, key = user_id.split(":")
        person_id, version = int(person_id), int(version)
    except ValueError:
        return None
    # Roles are read when a page needs them (current_actor), not on every request.
    person = signed_in_person(db_session(), person_id, version, key, now=utcnow())
    return SignedInPerson(person, key) if person is not None else None


def open_session(person: Person, *, remember: bool) -> None:
    """A fresh session for the person, recorded on the server: nothing planted before signing in survives it."""
    # Remembered or not, a sign-in ends on the server when a remember-me cookie would.
    key = start_sign_in(db_session(), person, lasting=current_app.config["REMEMBER_COOKIE_DURATION"], now=utcnow())
    db_session().commit()
    session.clear()
    login_user(SignedInPerson(person, key), remember=remember)


def keep_session(person: Person) -> None:
    """After the person's own password change: this sign-in carries on under the new session version."""
    login_user(SignedInPerson(person, current_user.sign_in_key))


def close_session() -> None:
    """Sign out: the sign-in ends on the server, so copies of its cookies stop working too."""
    if current_user.is_authenticated:
        end_sign_in(db_session(), current_user.sign_in_key, now=utcnow())
        db_session().commit()
    session.clear()
    logout_user()  # after clear(): it asks for the remember-me cookie to be deleted


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
        g.device = (authenticate_device(db_session(), plain, now=utcnow(), record_use=request.method not in SAFE_METHODS)
                    if plain else cookie_device())
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
            if current_user.person.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
                if wants_json():
                    raise PasswordChangeRequired()
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
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = throttle.default_storage_uri(app.instance_path)
    limiter.init_app(app)


def throttled_sign_in(view: Callable) -> Callable:
    """The sign-in limits (see throttle), one set of counters for the form and the API alike."""
    per_account = limiter.shared_limit(
        throttle.PER_ACCOUNT_AND_ADDRESS, scope="sign-in-account", key_func=throttle.account_and_address, methods=["POST"]
    )
    per_address = limiter.shared_limit(throttle.PER_ADDRESS, scope="sign-in-address", methods=["POST"])
    return per_address(per_account(view))


def now() -> dt.datetime:
    """The time for this request."""
    return utcnow()
