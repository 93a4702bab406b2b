"""Certification fixtures: service that is really approved, so certified hours come from the ledger as they do in use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from timebank.events.models import Attendance
from timebank.events.review import approve_attendance
from timebank.orgs.services import set_policies
from tests.conftest import NOW, SYSTEM, attend

#: Low thresholds, so a few approvals reach every star.
THRESHOLDS = [2, 4, 6, 8, 10]


@pytest.fixture
def low_stars(session: Session, org_tree) -> list[int]:
    """The county's policy: stars at 2, 4, 6, 8 and 10 certified hours."""
    set_policies(session, org_tree["county"].id, {"star_thresholds_hours": THRESHOLDS}, actor=SYSTEM, now=NOW)
    session.commit()
    return THRESHOLDS


@pytest.fixture
def serve(session: Session, make_activity, reviewer) -> Callable[..., Attendance]:
    """A volunteer serves `minutes` in `category`, `days_ago` days before NOW, and a social worker approves it."""
    counter = iter(range(1, 1_000_000))

    def served(volunteer, *, minutes: int = 120, category: str = "elderly", days_ago: int = 10, org: str = "east") -> Attendance:
        starts = NOW - dt.timedelta(days=days_ago, minutes=next(counter))
        ends = starts + dt.timedelta(hours=2)
        activity = make_activity(
            starts_at=starts, ends_at=ends, org=org, category=category, credit_mode="fixed", fixed_minutes=minutes,
            title=f"敬老院探访 {category}", description="陪老人聊天、读报",
        )
        attendance = attend(session, activity, volunteer, at=starts, out=ends)
        approve_attendance(session, attendance.id, actor=reviewer, now=ends + dt.timedelta(hours=1))
        session.commit()
        return attendance

    return served
