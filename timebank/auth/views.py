"""Sign in, sign out, register on the phone, change password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from timebank.auth import services
from timebank.auth.login import close_session, current_actor, current_person, keep_session, limiter, now, open_session, requires, throttled_sign_in, vault
from timebank.orgs.services import tree
from timebank.people import services as people
from timebank.people.schemas import PasswordChangeSchema
from timebank.web import db_session, form_data, submit
from timebank.workbench.views import landing

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site; else the person's workbench (or their counter)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return landing(current_actor())


@bp.route("/sign-in", methods=["GET", "POST"])
@throttled_sign_in
def sign_in() -> ResponseReturnValue:
    """Phone number and password; remember-me keeps a phone signed in."""
    if request.method == "GET":
        return render_template("auth/sign_in.html", next=request.args.get("next", ""))
    try:
        person = services.authenticate(db_session(), request.form.get("phone", ""), request.form.get("password", ""), now=now())
    except services.SignInRefused as refused:
        db_session().rollback()
        message = gettext(refused.template, **refused.params)
        return render_template("auth/sign_in.html", message=message, form=request.form, next=request.form.get("next", "")), 401
    open_session(person, remember=request.form.get("remember") == "on")
    if person.must_change_password:
        return redirect(url_for("auth.change_password"))
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """Sign out: this sign-in ends on the server, and the session and remember-me cookies are dropped."""
    close_session()
    return redirect(url_for("auth.sign_in"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register() -> ResponseReturnValue:
    """Self-registration; a coordinator approves before the volunteer can sign in."""
    organisations = [o for o in tree(db_session()) if o.level in ("community", "team")]
    if request.method == "GET":
        return render_template("auth/register.html", organisations=organisations)

    def register_and_commit() -> ResponseReturnValue:
        person = people.register(db_session(), form_data(lists=("service_categories",)), actor=None, vault=vault(), now=now())
        db_session().commit()
        return render_template("auth/registered.html", person=person)

    return submit(register_and_commit, template="auth/register.html", organisations=organisations)


@bp.route("/password", methods=["GET", "POST"])
@requires()
def change_password() -> ResponseReturnValue:
    """Change one's own password (required after a coordinator's reset)."""
    if request.method == "GET":
        return render_template("auth/change_password.html")

    def change_and_commit() -> ResponseReturnValue:
        values = people.load(PasswordChangeSchema(), request.form)
        person = current_person()
        services.change_password(db_session(), person, values["current_password"], values["new_password"], now=now())
        db_session().commit()
        keep_session(person)
        flash(gettext("Your password has been changed."))
        return redirect(url_for("me.profile"))

    return submit(change_and_commit, template="auth/change_password.html")
