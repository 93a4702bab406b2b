"""Alembic, driven from code: the `timebank db` commands and the tests use these."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s"


def metadata() -> MetaData:
    """The metadata of every model, imported so that each table is registered."""
    import timebank.audit.models  # noqa: F401
    import timebank.auth.models  # noqa: F401
    import timebank.certify.models  # noqa: F401
    import timebank.events.models  # noqa: F401
    import timebank.exports.models  # noqa: F401
    import timebank.grading.models  # noqa: F401
    import timebank.jobs.models  # noqa: F401
    import timebank.ledger.models  # noqa: F401
    import timebank.meta  # noqa: F401
    import timebank.needs.models  # noqa: F401
    import timebank.notices.models  # noqa: F401
    import timebank.orgs.models  # noqa: F401
    import timebank.people.models  # noqa: F401
    import timebank.redeem.models  # noqa: F401
    import timebank.workbench.models  # noqa: F401
    from timebank.db import Base

    return Base.metadata


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs on `engine`'s database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("timezone", "UTC")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to `revision`."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database down to `revision` ('base' drops everything)."""
    command.downgrade(alembic_config(engine), revision)


def revision(engine: Engine, message: str, *, autogenerate: bool = True) -> None:
    """Write a new migration file, compared against `engine`'s database."""
    command.revision(alembic_config(engine), message=message, autogenerate=autogenerate)
