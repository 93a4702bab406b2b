"""The supervision index as rows for CSV and XLSX: one row per social worker and month, each indicator's score beside the total."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.grading.index import INDICATORS, Month, indicators, social_workers
from timebank.grading.models import SupervisionIndex
from timebank.orgs.models import Organisation
from timebank.people.access import Actor

INDEX_HEADINGS = ("社工", "组织", "月份", "督导指数", "审核及时", "更正答复", "需求研判", "督导次数", "服务评分", "绿色志愿者", "继续教育")


def index_rows(session: Session, actor: Actor, start: dt.date, end: dt.date) -> Iterator[Sequence[Any]]:
    """The headings, then the stored indices of the social workers the actor may see, months from `start` to `end`."""
    yield INDEX_HEADINGS
    people = {p.id: p for p in social_workers(session, actor=actor)}
    names = dict(session.execute(select(Organisation.id, Organisation.name)).all())
    stmt = (
        select(SupervisionIndex)
        .where(SupervisionIndex.social_worker_id.in_(list(people)), SupervisionIndex.month >= Month.of(start).first, SupervisionIndex.month <= end)
        .order_by(SupervisionIndex.social_worker_id, SupervisionIndex.month)
    )
    for found in session.scalars(stmt):
        scores = dict(indicators(found))
        yield (people[found.social_worker_id].real_name, names.get(found.organisation_id, ""), found.month.strftime("%Y-%m"), found.score,
               *[scores.get(name, {}).get("score") if scores.get(name, {}).get("score") is not None else "" for name in INDICATORS])


def export_kind_rows(session: Session, values: dict[str, Any], actor: Actor) -> Iterator[Sequence[Any]]:
    """The background export's rows (exports/kinds.py)."""
    return index_rows(session, actor, values["start"], values["end"])
