"""Real concurrency on a SQLite file and on PostgreSQL: reviewers, scans and sign-ups racing each other."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from timebank import ledger
from timebank.domain import DomainError
from timebank.events import review, services
from timebank.events.checkin import AlreadyCheckedIn, record_scan
from timebank.events.models import Attendance, SignUp
from timebank.ledger.models import Transaction
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from timebank.people.models import Person
from tests.conftest import END, NOW, SYSTEM, attend
from tests.ledger.test_concurrency import kinds, race

AFTER = END + dt.timedelta(hours=3)


def credits(session) -> int:
    return session.scalar(select(func.count()).select_from(Transaction).where(Transaction.kind == "service_credit"))


def finished_attendance(session, make_activity, make_person):
    volunteer = make_person()
    return attend(session, make_activity(), volunteer).id, volunteer


def test_ten_reviewers_approving_one_attendance_at_once_post_it_once(db, session, make_activity, make_person):
    attendance_id, volunteer = finished_attendance(session, make_activity, make_person)
    reviewers = [actor_for(session, make_person("social_worker")) for _ in range(10)]
    session.commit()  # the test's own session must not hold SQLite's write lock during the race

    results = race(db, 10, lambda s, i: review.approve_attendance(s, attendance_id, actor=reviewers[i], now=AFTER).status, (DomainError, ledger.LedgerError))

    assert kinds(results) == {"str": 10}
    session.expire_all()
    assert credits(session) == 1
    assert ledger.balance(session, f"vol:{volunteer.id}:HOUR").posted == 120
    assert list(ledger.verify(session)) == []


def test_two_reviewers_at_once_under_the_two_reviewer_policy_post_once(db, session, make_activity, make_person, org_tree):
    set_policies(session, org_tree["east"].id, {"reviewers_required": 2}, actor=SYSTEM, now=NOW)
    session.commit()
    attendance_id, _ = finished_attendance(session, make_activity, make_person)
    pair = [actor_for(session, make_person("social_worker")) for _ in range(2)]
    session.commit()

    race(db, 2, lambda s, i: review.approve_attendance(s, attendance_id, actor=pair[i], now=AFTER), (DomainError,))

    session.expire_all()
    attendance = session.get(Attendance, attendance_id)
    assert attendance.status == "approved" and len(attendance.reviews) == 2
    assert credits(session) == 1


def test_one_volunteer_scanning_ten_times_at_once_checks_in_once(db, session, make_activity, make_person):
    activity, volunteer = make_activity(), make_person()

    def scan(s, _i):
        return record_scan(s, s.get(type(activity), activity.id), s.get(Person, volunteer.id), "in", method="screen", now=NOW).action

    results = race(db, 10, scan, (AlreadyCheckedIn,))

    assert kinds(results) == {"str": 1, "AlreadyCheckedIn": 9}
    assert session.scalar(select(func.count()).select_from(Attendance)) == 1


def test_twenty_sign_ups_at_once_for_five_places_fill_them_and_queue_the_rest(db, session, make_activity, make_person):
    activity = make_activity(capacity=5)
    volunteers = [make_person().id for _ in range(20)]

    results = race(db, 20, lambda s, i: services.sign_up(s, activity.id, volunteer=s.get(Person, volunteers[i]), now=NOW - dt.timedelta(days=1)).status)

    assert sorted(results) == ["signed_up"] * 5 + ["waiting"] * 15
    counts = dict(session.execute(select(SignUp.status, func.count()).group_by(SignUp.status)).all())
    assert counts == {"signed_up": 5, "waiting": 15}
