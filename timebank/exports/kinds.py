"""What can be exported in the background: each kind's parameters, its rows (headings first) and its file's name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema
from sqlalchemy.orm import Session

from timebank.certify import exports as records
from timebank.certify.schemas import BatchSchema, PeriodSchema
from timebank.gifts.schemas import PoolExportSchema
from timebank.needs import pool_statement
from timebank.grading.exports import export_kind_rows as supervision_index_rows
from timebank.orgs.services import get_organisation
from timebank.people.access import MANAGERS, Actor
from timebank.redeem import reports


@dataclass(frozen=True)
class Kind:
    """An export: the schema of its parameters, its sheet's name, its file's stem, and its rows."""

    name: str
    schema: type[Schema]
    sheet: str
    stem: Callable[[dict[str, Any]], str]
    #: The headings, then the rows; the actor's right is checked before the headings come.
    rows: Callable[[Session, dict[str, Any], Actor], Iterator[Sequence[Any]]]


def _redemptions(session: Session, values: dict[str, Any], actor: Actor) -> Iterator[Sequence[Any]]:
    yield reports.EXPORT_HEADINGS
    yield from reports.export_rows(session, actor.paths(MANAGERS), start=values["start"], end=values["end"])


def _service_records(session: Session, values: dict[str, Any], actor: Actor) -> Iterator[Sequence[Any]]:
    organisation = get_organisation(session, values["organisation_id"])
    return records.rows(session, organisation, values["start"], values["end"], actor=actor)


def _pool_statement(session: Session, values: dict[str, Any], actor: Actor) -> Iterator[Sequence[Any]]:
    return pool_statement.export_rows(session, values["organisation_id"], actor)


def _period(values: dict[str, Any]) -> str:
    return f"{values['start']}-{values['end']}"


KINDS = {
    kind.name: kind
    for kind in (
        Kind("redemptions", PeriodSchema, "兑换记录", lambda v: f"redemptions-{_period(v)}", _redemptions),
        Kind("service_records", BatchSchema, "志愿服务记录", lambda v: f"service-records-{v['organisation_id']}-{_period(v)}", _service_records),
        Kind("pool_statement", PoolExportSchema, "公益时间池", lambda v: f"pool-{v['organisation_id']}", _pool_statement),
        Kind("supervision_index", PeriodSchema, "社工督导指数", lambda v: f"supervision-index-{_period(v)}", supervision_index_rows),
    )
}


def as_json(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON values (dates as text), so that the row keeps them and a job can be sent again."""
    return {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in values.items()}
