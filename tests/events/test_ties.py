"""Verify ties every attendance to its credit transactions: a deleted credit or an edited figure is named."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank.events import review
from timebank.events.ties import check_attendances
from timebank.ledger import Breach
from tests.conftest import END, attend
from tests.ledger.tampering import breaches, deletion_of, tamper

AFTER = END + dt.timedelta(hours=3)


@pytest.fixture
def approved(session, make_activity, make_person, reviewer):
    """One attendance approved (120 min, 20 points) and one corrected to 90 min (15 points), committed."""
    activity = make_activity()
    plain, corrected = attend(session, activity, make_person()), attend(session, activity, make_person(name="赵志愿者"))
    for attendance in (plain, corrected):
        review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    review.adjust_minutes(session, corrected.id, {"minutes": 90, "reason": "提前离开"}, actor=reviewer, now=AFTER)
    session.commit()
    return plain, corrected


def test_approved_and_corrected_attendances_tie_to_the_ledger(session, approved):
    assert breaches(session, checks=[check_attendances]) == []


def test_a_deleted_credit_transaction_is_named_by_its_attendance(session, approved):
    plain, _ = approved
    txn = plain.transaction_id
    tamper(session, *deletion_of(txn))

    found = breaches(session, checks=[check_attendances])

    assert Breach("attendance_credit", f"attendance {plain.id} is credited but its credit transaction {txn} is missing or belongs elsewhere") in found
    assert Breach("attendance_amounts", f"attendance {plain.id} credits 120 min, 120 certified min and 20 points, but its transactions give 0, 0 and 0") in found


def test_an_attendance_figure_edited_away_from_its_transactions_is_named(session, approved):
    _, corrected = approved
    session.execute(review.Attendance.__table__.update().where(review.Attendance.id == corrected.id).values(credited_minutes=120))
    session.commit()

    assert breaches(session, checks=[check_attendances]) == [
        Breach("attendance_amounts", f"attendance {corrected.id} credits 120 min, 120 certified min and 15 points, but its transactions give 90, 90 and 15"),
    ]
