"""Signing in and out, and changing one's password, for API clients such as a phone app.

The app keeps the session cookie (and the remember-me cookie, if asked for)
as a browser would; the same throttling, sign-out and password rules apply.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from timebank.auth import services
from timebank.auth.login import close_session, current_person, keep_session, now, open_session, requires, throttled_sign_in
from timebank.auth.schemas import SignedInSchema, SignInSchema
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.schemas import PasswordChangeSchema
from timebank.people.services import load
from timebank.web import db_session

bp = api_blueprint("session_api", __name__)


@bp.post("/session")
@documented(body=SignInSchema, response=SignedInSchema, problems=(401, 429))
@throttled_sign_in
def sign_in() -> ResponseReturnValue:
    """Sign in; the answer sets the session cookie. `password_change_required` means: change it before anything else."""
    values = load(SignInSchema(), json_body())
    person = services.authenticate(db_session(), values["phone"], values["password"], now=now())
    open_session(person, remember=values["remember"])
    return jsonify(SignedInSchema().dump({"person": person}))


@bp.delete("/session")
@documented(status=204)
def sign_out() -> ResponseReturnValue:
    """Sign out: the session and any remember-me cookie stop working, copies included."""
    close_session()
    return "", 204


@bp.post("/me/password")
@documented(body=PasswordChangeSchema, response=SignedInSchema)
@requires()
def change_password() -> ResponseReturnValue:
    """Change one's own password (required after an import or a reset); every other sign-in ends."""
    values = load(PasswordChangeSchema(), json_body())
    person = current_person()
    services.change_password(db_session(), person, values["current_password"], values["new_password"], now=now())
    db_session().commit()
    keep_session(person)
    return jsonify(SignedInSchema().dump({"person": person}))
