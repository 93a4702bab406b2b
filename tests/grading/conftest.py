"""Records to grade from, written straight to their tables (the features that write them have their own tests)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from tests.conftest import NOW
from timebank.events.models import Activity, Attendance, SignUp
from timebank.needs.models import Assignment, Need, Order, Rating, Resident
from timebank.people.models import Person


@pytest.fixture
def records(session: Session, org_tree, make_person) -> Callable[..., object]:
    """`records.service(person, days_ago)`, `.no_show(...)`, `.late_cancel(...)`, `.order_no_show(...)`, `.rating(...)`."""
    leader = make_person("social_worker", name="王社工")

    class Records:
        def activity(self, days_ago: float, *, category: str = "elderly", org: str = "east") -> Activity:
            starts = NOW - dt.timedelta(days=days_ago)
            activity = Activity(
                organisation_id=org_tree[org].id, title="探访", category=category, address="东城社区", starts_at=starts,
                ends_at=starts + dt.timedelta(hours=2), person_in_charge_id=leader.id, status="settled",
                code_key=uuid.uuid4().hex, created_by=leader.id, created_at=starts - dt.timedelta(days=3),
            )
            session.add(activity)
            session.flush()
            return activity

        def service(self, person: Person, days_ago: float, *, category: str = "elderly", status: str = "approved") -> Attendance:
            activity = self.activity(days_ago, category=category)
            attendance = Attendance(
                activity_id=activity.id, volunteer_id=person.id, status=status, checked_in_at=activity.starts_at,
                checked_out_at=activity.ends_at, check_in_method="screen",
            )
            session.add(attendance)
            session.flush()
            return attendance

        def no_show(self, person: Person, days_ago: float) -> SignUp:
            activity = self.activity(days_ago)
            signup = SignUp(activity_id=activity.id, volunteer_id=person.id, status="signed_up", created_at=activity.created_at)
            session.add(signup)
            session.flush()
            return signup

        def cancelled(self, person: Person, days_ago: float, hours_before: float) -> SignUp:
            signup = self.no_show(person, days_ago)
            activity = session.get(Activity, signup.activity_id)
            signup.status, signup.cancelled_at = "cancelled", activity.starts_at - dt.timedelta(hours=hours_before)
            session.flush()
            return signup

        def order(self, days_ago: float, *, created_by: int | None = None) -> Order:
            resident = Resident(organisation_id=org_tree["east"].id, real_name="张奶奶", phone="13900000000", card_key=uuid.uuid4().hex, created_at=NOW)
            session.add(resident)
            session.flush()
            at = NOW - dt.timedelta(days=days_ago)
            need = Need(resident_id=resident.id, organisation_id=org_tree["east"].id, channel="hotline", description="买菜", contact_phone="13900000000", recorded_at=at)
            session.add(need)
            session.flush()
            order = Order(
                need_id=need.id, organisation_id=org_tree["east"].id, category="elderly", window_start=at, window_end=at + dt.timedelta(hours=2),
                expected_minutes=60, created_by=created_by or leader.id, created_at=at,
            )
            session.add(order)
            session.flush()
            return order

        def assignment(self, person: Person, days_ago: float, *, status: str, created_by: int | None = None) -> Assignment:
            order = self.order(days_ago, created_by=created_by)
            assignment = Assignment(order_id=order.id, slot=1, volunteer_id=person.id, status=status, offered_at=order.window_start)
            session.add(assignment)
            session.flush()
            return assignment

        def rating(self, person: Person, stars: int, *, days_ago: float = 10, upheld: bool | None = None, created_by: int | None = None) -> Rating:
            assignment = self.assignment(person, days_ago, status="approved", created_by=created_by)
            rating = Rating(assignment_id=assignment.id, volunteer_id=person.id, stars=stars, rated_at=NOW - dt.timedelta(days=days_ago), complaint_upheld=upheld)
            session.add(rating)
            session.flush()
            return rating

        def veteran(self, name: str = "老志愿者", *, days: int = 400, org: str = "east") -> Person:
            """A volunteer registered `days` ago."""
            person = make_person(name=name, org=org)
            person.created_at = NOW - dt.timedelta(days=days)
            session.flush()
            return person

    return Records()
