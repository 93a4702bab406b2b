"""Front page, /healthz and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from timebank import __version__
from timebank.auth.login import current_actor
from timebank.people.models import Role
from timebank.ledger.reports import totals
from timebank.web import LOCALE_COOKIE, database, db_session

bp = Blueprint("site", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """What the service is and where to start; the whole ledger's figures for administrators only."""
    shown = None
    if current_user.is_authenticated and current_actor().has(Role.ADMIN):
        shown = totals(db_session())
    return render_template("site/index.html", totals=shown)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Whether the service and its database answer (for load balancers and benchmarks)."""
    try:
        with database().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        reachable = True
    except SQLAlchemyError:
        current_app.logger.warning("health check: database unreachable", exc_info=True)
        reachable = False
    body = {
        "status": "ok" if reachable else "unavailable",
        "database": "reachable" if reachable else "unreachable",
        "version": __version__,
    }
    return jsonify(body), 200 if reachable else 503


@bp.get("/lang/<code>")
def set_language(code: str) -> ResponseReturnValue:
    """Remember the chosen language and go back where the person was."""
    if code not in current_app.config["LANGUAGES"]:
        code = current_app.config["BABEL_DEFAULT_LOCALE"]
    target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else url_for("site.index")
    response = redirect(target)
    response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
