"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFProtect

from timebank import errors, web
from timebank.config import from_environment, instance_secret
from timebank.db import Database

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
    app.config.from_mapping(from_environment(instance_path))
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(instance_path)

    app.extensions["timebank.database"] = Database(app.config["DATABASE_URL"])
    app.teardown_appcontext(web.close_db_session)
    babel.init_app(
        app,
        locale_selector=web.select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    app.jinja_env.globals["get_locale"] = get_locale
    csrf.init_app(app)
    errors.init_app(app)

    from timebank.site import views as site

    app.register_blueprint(site.bp)
    return app
