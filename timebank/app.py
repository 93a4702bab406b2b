"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from timebank import errors, outage, web
from timebank.auth import login
from timebank.config import from_environment, instance_secret
from timebank.db import Database
from timebank.people.idnumbers import IdVault

ROOT = Path(__file__).resolve().parent.parent
babel = Babel()
csrf = CSRFProtect()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service: settings, database, languages, CSRF, error pages, blueprints."""
    instance_path = os.environ.get("TIMEBANK_INSTANCE_PATH") or str(ROOT / "instance")
    app = Flask(
        "timebank",
        instance_path=instance_path,
        template_folder=str(ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
    )
    app.url_map.converters["int"] = web.RecordIdConverter
    app.config.from_mapping(from_environment(instance_path))
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(instance_path)

    if not app.config.get("DATA_KEY"):
        app.config["DATA_KEY"] = instance_secret(instance_path, "data_key")
    if app.config.get("TRUSTED_PROXIES"):
        # Only behind proxies we were told of: otherwise anyone could name their own address.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions["timebank.database"] = Database(app.config["DATABASE_URL"])
    app.extensions["timebank.vault"] = IdVault(app.config["DATA_KEY"])
    app.teardown_appcontext(web.close_db_session)
    babel.init_app(
        app,
        locale_selector=web.select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    app.jinja_env.globals["get_locale"] = get_locale
    web.init_templates(app)
    csrf.init_app(app)
    login.init_app(app)
    errors.init_app(app)
    outage.init_app(app)

    from timebank.audit import api as audit_api, views as audit
    from timebank.auth import api as auth_api, device_mode, device_views as devices, session_api, views as auth
    from timebank.events import api as events_api, review_views as review, views as events, volunteer_views as volunteering
    from timebank.orgs import api as orgs_api, views as orgs
    from timebank.people import api as people_api, import_views as imports, me_views as me, views as people
    from timebank.redeem import api as redeem_api, views as redeem
    from timebank.site import views as site

    for blueprint in (site.bp, auth.bp, me.bp, people.bp, imports.bp, imports.status_bp, orgs.bp, devices.bp, audit.bp, events.bp, review.bp, volunteering.bp, redeem.bp):
        app.register_blueprint(blueprint)
    device_mode.init_app(app)
    for blueprint in (session_api.bp, people_api.bp, orgs_api.bp, auth_api.bp, audit_api.bp, events_api.bp, redeem_api.bp):
        app.register_blueprint(blueprint)
    from timebank.certify import api as certify_api, records_views as certify_records, views as certify
    for blueprint in (certify.bp, certify_records.bp, certify_api.bp):
        app.register_blueprint(blueprint)
    from timebank.jobs import views as jobs
    from timebank.notices import views as notices
    from timebank.exports import api as exports_api, views as exports
    for blueprint in (jobs.bp, notices.bp, exports.bp, exports_api.bp):
        app.register_blueprint(blueprint)
    from timebank.needs import api as needs_api, views as needs
    from timebank.needs import order_api, order_views, pool_api, pool_views
    from timebank.gifts import api as gifts_api, views as gifts
    for blueprint in (needs.bp, needs_api.bp, order_views.bp, order_api.bp, pool_views.bp, pool_api.bp, gifts.bp, gifts_api.bp):
        app.register_blueprint(blueprint)
    from timebank.grading import api as grading_api, views as grading
    for blueprint in (grading.bp, grading_api.bp):
        app.register_blueprint(blueprint)
    from timebank.workbench import api as workbench_api, views as workbench
    for blueprint in (workbench.bp, workbench_api.bp):
        app.register_blueprint(blueprint)
    return app
