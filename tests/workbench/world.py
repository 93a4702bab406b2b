"""A small programme with figures worked out by hand: the coordinator's workbench must show exactly these."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import update

from timebank.events import rollup
from timebank.events.models import Attendance
from timebank.grading import tallies
from timebank.grading.models import Grade, SupervisionIndex
from timebank.needs.models import Need, Resident
from timebank.redeem.models import Redemption, Station
from timebank.certify.services import record_certificate
from tests.conftest import NOW, SYSTEM

#: Months in Shanghai: October and November 2026 (NOW is 20 November, 10:00 there).
OCT = dt.datetime(2026, 10, 10, 1, 0, tzinfo=dt.timezone.utc)
NOV = dt.datetime(2026, 11, 5, 1, 0, tzinfo=dt.timezone.utc)
# 1 November, 01:00 in Shanghai, though still 31 October in UTC: a November activity.
EARLY_NOV = dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.timezone.utc)


def approved(session, activity, volunteer, minutes: int) -> Attendance:
    """An approved attendance crediting `minutes`, written directly and rolled up as an approval is (the review's own tests cover posting)."""
    row = Attendance(activity_id=activity.id, volunteer_id=volunteer.id, status="approved", checked_in_at=activity.starts_at,
                     checked_out_at=activity.ends_at, check_in_method="screen", credited_minutes=minutes, credited_points=minutes // 6,
                     decided_at=activity.ends_at)
    session.add(row)
    rollup.mark_served(session, row)
    rollup.count_approvals(session, activity, [row])
    return row


def need(session, org, *, colour: str, status: str, recorded_at: dt.datetime, triaged_after_hours: float | None = None, due_at=None) -> Need:
    """A need of a resident of `org`, triaged after so many hours if given."""
    resident = Resident(organisation_id=org.id, real_name="张奶奶", phone="13700000000", card_key=secrets.token_hex(8), created_at=recorded_at)
    session.add(resident)
    session.flush()
    row = Need(resident_id=resident.id, organisation_id=org.id, channel="hotline", description="买菜送上门", contact_phone="13700000000",
               colour=colour, status=status, recorded_at=recorded_at, due_at=due_at,
               triaged_at=recorded_at + dt.timedelta(hours=triaged_after_hours) if triaged_after_hours is not None else None)
    session.add(row)
    return row


def grade(session, person, colour: str, day: dt.date) -> None:
    """A grade row for the volunteer on `day`, the one that stands now (as the grading flags it); give days in order.

    Written directly, so the grade tallies are recounted, as after rows written in bulk."""
    session.execute(update(Grade).where(Grade.subject_id == person.id).values(is_current=False))
    session.add(Grade(subject_type="volunteer", subject_id=person.id, organisation_id=person.home_organisation_id, graded_on=day,
                      computed_colour=colour, colour=colour, figures_json="{}", explanation="90 天内服务 3 次", computed_at=NOW, is_current=True))
    session.flush()
    tallies.rebuild(session)


def build_programme_world(session, org_tree, make_person, make_activity, ledger_setup, credit):
    """East: two volunteers serving in October and November, needs of each colour, grades, points, a redemption.
    West: one volunteer and one activity, which an east coordinator must never see."""
    people = {
        "coordinator": make_person("coordinator", org="east", name="周协调"),
        "coordinator_west": make_person("coordinator", org="west", name="吴协调"),
        "street_coordinator": make_person("coordinator", org="street", name="郑协调"),
        "social_worker": make_person("social_worker", org="east", name="王社工"),
        "admin": make_person("admin", org="county", name="钱管理"),
        "a": make_person(org="east", name="志愿者甲"),
        "b": make_person(org="east", name="志愿者乙"),
        "w": make_person(org="west", name="志愿者丙"),
    }
    visit_oct = make_activity(starts_at=OCT, ends_at=OCT + dt.timedelta(hours=2))
    talk = make_activity(starts_at=EARLY_NOV, ends_at=EARLY_NOV + dt.timedelta(hours=1), category="civility")
    visit_nov = make_activity(starts_at=NOV, ends_at=NOV + dt.timedelta(hours=2))
    west_nov = make_activity(org="west", starts_at=NOV, ends_at=NOV + dt.timedelta(hours=2))
    approved(session, visit_oct, people["a"], 120)
    approved(session, visit_oct, people["b"], 90)
    approved(session, talk, people["a"], 60)
    approved(session, visit_nov, people["a"], 120)
    approved(session, west_nov, people["w"], 500)
    # Still to approve, and past its recording deadline (ten working days after 5 November) on 20 November.
    session.add(Attendance(activity_id=visit_nov.id, volunteer_id=people["b"].id, status="checked_out", checked_in_at=NOV,
                           checked_out_at=NOV + dt.timedelta(hours=2), check_in_method="screen"))
    east, west = org_tree["east"], org_tree["west"]
    # Red: triaged after 2 h and 4 h; blue: after 10 h; yellow: waiting, past its deadline.
    need(session, east, colour="red", status="ordered", recorded_at=OCT, triaged_after_hours=2)
    need(session, east, colour="red", status="closed", recorded_at=NOV, triaged_after_hours=4)
    need(session, east, colour="blue", status="referred", recorded_at=NOV, triaged_after_hours=10)
    need(session, east, colour="yellow", status="recorded", recorded_at=NOV, due_at=NOV + dt.timedelta(days=1))
    need(session, west, colour="red", status="recorded", recorded_at=NOV)
    grade(session, people["a"], "yellow", dt.date(2026, 11, 1))
    grade(session, people["a"], "green", dt.date(2026, 11, 19))  # the newest: a is green now
    grade(session, people["b"], "red", dt.date(2026, 11, 19))
    grade(session, people["w"], "blue", dt.date(2026, 11, 19))
    session.add(SupervisionIndex(social_worker_id=people["social_worker"].id, organisation_id=east.id, month=dt.date(2026, 10, 1),
                                 score=87, indicators_json="{}", computed_at=NOW))
    station = Station(organisation_id=east.id, name="东城驿站", created_at=NOW)
    session.add(station)
    session.commit()
    ledger_setup(volunteers=(people["a"].id, people["b"].id, people["w"].id), stations=(station.id,))
    credit(people["a"].id, minutes=60, points=40)
    credit(people["b"].id, minutes=60, points=25)
    credit(people["w"].id, minutes=60, points=1000)
    session.add(Redemption(idempotency_key="r1", fingerprint="x", station_id=station.id, volunteer_id=people["a"].id,
                           clerk_id=people["coordinator"].id, points=15, created_at=NOV))
    record_certificate(session, people["a"], dt.date(2026, 1, 1), dt.date(2026, 11, 19), actor=SYSTEM, now=NOW)
    session.commit()
    return {"people": people, "station": station, "activities": (visit_oct, talk, visit_nov, west_nov)}
