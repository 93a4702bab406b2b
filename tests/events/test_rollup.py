"""The workbench's roll-up stays equal to what the attendances say, whatever order approvals and corrections come in."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest
from sqlalchemy import select

from timebank.events import review, rollup
from timebank.events.models import Attendance, ServiceDay
from timebank.localtime import local_day
from timebank.people.models import Person
from tests.conftest import END, START, actor_for, attend

AFTER = END + dt.timedelta(hours=3)
DAY = dt.timedelta(days=1)


def rolled_up(session) -> dict[tuple, tuple[int, int]]:
    """The roll-up's rows, minutes and attendances per organisation, day and category."""
    return {(r.organisation_id, r.day, r.category): (r.minutes, r.attendances) for r in session.scalars(select(ServiceDay))}


def recomputed(session) -> dict[tuple, tuple[int, int]]:
    """The same figures summed afresh from the approved attendances."""
    found: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for attendance in session.scalars(select(Attendance).where(Attendance.status == "approved")):
        activity = attendance.activity
        row = found[(activity.organisation_id, local_day(activity.starts_at), activity.category)]
        row[0] += attendance.credited_minutes or 0
        row[1] += 1
    return {key: tuple(value) for key, value in found.items()}


def last_served(session, volunteers) -> dict[int, dt.datetime | None]:
    """Each volunteer's recorded last service, read afresh."""
    return {p.id: session.scalar(select(Person.last_served_at).where(Person.id == p.id).execution_options(populate_existing=True)) for p in volunteers}


def latest_approved(session, volunteers) -> dict[int, dt.datetime | None]:
    """Each volunteer's latest approved check-in, from the attendances."""
    found = {p.id: None for p in volunteers}
    for attendance in session.scalars(select(Attendance).where(Attendance.status == "approved")):
        if found[attendance.volunteer_id] is None or attendance.checked_in_at > found[attendance.volunteer_id]:
            found[attendance.volunteer_id] = attendance.checked_in_at
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_roll_up_equals_a_recomputation_after_approvals_corrections_and_reversals(session, make_activity, make_person, reviewer, seed):
    rng = random.Random(seed)
    # Two days and two categories; the earlier activity is reviewed in any order with the later one.
    earlier = make_activity(starts_at=START - 2 * DAY, ends_at=END - 2 * DAY, category="children")
    later = make_activity()
    volunteers = [make_person() for _ in range(2)]
    attendances = [attend(session, activity, v, at=activity.starts_at, out=activity.ends_at) for activity in (earlier, later) for v in volunteers]
    steps = []
    for _ in range(6):
        attendance = rng.choice(attendances)
        if attendance.status == "approved":
            # A correction; to nothing is a reversal of the whole credit.
            minutes = rng.choice([0, 30, 90, 120])
            review.adjust_minutes(session, attendance.id, {"minutes": minutes, "reason": "核对签到记录"}, actor=reviewer, now=AFTER)
            steps.append(("correct", minutes))
        else:
            review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
            steps.append(("approve", attendance.id))
        session.commit()
        assert rolled_up(session) == recomputed(session), steps
        assert last_served(session, volunteers) == latest_approved(session, volunteers), steps
    assert {kind for kind, _ in steps} == {"approve", "correct"}
    # Rebuilding from scratch (the migration's backfill) gives the very same rows.
    kept = rolled_up(session)
    rollup.rebuild(session)
    assert rolled_up(session) == kept


def test_a_correction_to_the_same_figure_leaves_the_roll_up_as_it_was(session, make_activity, make_person, reviewer):
    activity = make_activity()
    attendance = attend(session, activity, make_person())
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    review.adjust_minutes(session, attendance.id, {"minutes": 120, "reason": "核对"}, actor=reviewer, now=AFTER)
    session.commit()
    assert rolled_up(session) == {(activity.organisation_id, local_day(activity.starts_at), "elderly"): (120, 1)}


def test_approving_all_counts_each_credited_attendance_once_and_a_refused_one_not_at_all(session, make_activity, make_person, reviewer):
    activity = make_activity()
    volunteers = [make_person() for _ in range(3)]
    attendances = [attend(session, activity, v) for v in volunteers]
    review.approve_attendance(session, attendances[0].id, actor=reviewer, now=AFTER)  # one approved before
    session.commit()
    review.reject_attendance(session, attendances[2].id, "未到场", actor=reviewer, now=AFTER)
    session.commit()
    done = review.approve_unflagged(session, activity.id, actor=reviewer, now=AFTER)
    session.commit()
    assert [a.id for a in done.approved] == [attendances[1].id]
    assert rolled_up(session) == recomputed(session) == {(activity.organisation_id, local_day(activity.starts_at), "elderly"): (240, 2)}
    assert last_served(session, volunteers) == latest_approved(session, volunteers)


# PostgreSQL only: on SQLite a write transaction holds the write lock from its start, so nothing can come between.
@pytest.mark.parametrize("db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_an_approval_made_while_a_bulk_approval_read_its_list_is_counted_once(db, make_activity, make_person, reviewer, session):
    # On PostgreSQL the bulk approval reads its list before it locks each attendance; another social worker may
    # approve one in between. The locked read must see that approval, or the day would count the attendance twice.
    activity = make_activity()
    volunteers = [make_person() for _ in range(2)]
    attendances = [attend(session, activity, v) for v in volunteers]
    other = actor_for(session, make_person("social_worker", name="赵社工"))
    session.commit()
    listed = review.review_list(session, activity.id, actor=reviewer)  # the bulk approval's read, not yet locked
    assert all(item.attendance.status == "checked_out" for item in listed)
    with db.session() as elsewhere:
        review.approve_attendance(elsewhere, attendances[0].id, actor=other, now=AFTER)
        elsewhere.commit()
    done = review.approve_unflagged(session, activity.id, actor=reviewer, now=AFTER)
    session.commit()
    assert {a.id for a in done.approved} == {a.id for a in attendances}
    assert rolled_up(session) == recomputed(session) == {(activity.organisation_id, local_day(activity.starts_at), "elderly"): (240, 2)}
