"""Activities as volunteers see them in a list: what each credits, the places left, their own sign-up. Reads only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from timebank.events import services
from timebank.events.credit import expected_credit
from timebank.events.models import Activity, Phase, SignUp, SignUpStatus
from timebank.orgs.services import effective_policy
from timebank.people.models import Person


@dataclass(frozen=True)
class Listing:
    """One activity in a list, for one person at one moment."""

    activity: Activity
    phase: Phase
    minutes: int  # what full attendance credits
    points: int
    signed_up: int
    waiting: int
    mine: SignUp | None
    place: int | None  # the person's number on the waiting list
    now: dt.datetime

    @property
    def full(self) -> bool:
        """No place left: a new sign-up joins the waiting list."""
        return self.activity.capacity is not None and self.signed_up >= self.activity.capacity

    @property
    def places_left(self) -> int | None:
        """Free places, or None when there is no limit."""
        return None if self.activity.capacity is None else max(0, self.activity.capacity - self.signed_up)

    @property
    def under_way(self) -> bool:
        """The activity has started."""
        return self.activity.starts_at <= self.now

    @property
    def cancellable(self) -> bool:
        """The person's sign-up can still be given up (until the start)."""
        return self.mine is not None and self.now < self.activity.starts_at


def waiting_place(session: Session, signup: SignUp) -> int:
    """The sign-up's number on its activity's waiting list, from 1."""
    waiting = [s.id for s, _ in services.participants(session, signup.activity_id) if s.status == SignUpStatus.WAITING.value]
    return waiting.index(signup.id) + 1


def listings(session: Session, activities: Sequence[Activity], *, person: Person | None, now: dt.datetime) -> list[Listing]:
    """The activities with their expected credit (under each organisation's policy), places and the person's sign-up."""
    ids = [a.id for a in activities]
    counts = services.signup_counts(session, ids)
    mine = services.signups_of(session, person.id, ids) if person is not None else {}
    policies: dict[int, dict[str, Any]] = {}
    found = []
    for activity in activities:
        if activity.organisation_id not in policies:
            policies[activity.organisation_id] = effective_policy(session, activity.organisation)
        minutes, points = expected_credit(activity, policies[activity.organisation_id])
        signup = mine.get(activity.id)
        waiting = signup is not None and signup.status == SignUpStatus.WAITING.value
        found.append(
            Listing(
                activity=activity,
                phase=activity.phase(now),
                minutes=minutes,
                points=points,
                signed_up=counts[activity.id]["signed_up"],
                waiting=counts[activity.id]["waiting"],
                mine=signup,
                place=waiting_place(session, signup) if waiting else None,
                now=now,
            )
        )
    return found
