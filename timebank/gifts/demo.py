"""The demo's gifts and community pools, made through the services the pages call.

`timebank demo` calls `build_gifts` last: confirmed family members give each
other an hour or two, volunteers donate to their community's pool, and each
community's coordinator sets pool hours aside for the needs waiting first in
the policy's order (those over 80 living alone, then hardship families), when
the demo has residents' needs at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from timebank.domain import DomainError
from timebank.gifts import services
from timebank.gifts.eligibility import available_minutes
from timebank.needs import pool
from timebank.people.access import actor_for

#: Gifts along the first family links and donations by the first volunteers with time to give.
GIFTS, DONATIONS = 6, 12
GIFT_MINUTES, DONATION_MINUTES = (60, 90, 120), (30, 60, 120)
#: Pool hours set aside for each waiting need, and how many needs per community get them.
ALLOCATION_MINUTES, ALLOCATIONS = 120, 4


def build_gifts(session: Session, *, cast: Any, now: dt.datetime) -> str:
    """Gifts, donations and pool allocations of the demo; returns a summary line."""
    gave = donated = allocated = 0
    at = now - dt.timedelta(days=2)
    for number, (person_id, relative_id, _relation) in enumerate(cast.families[:GIFTS]):
        giver, receiver = (person_id, relative_id) if number % 2 else (relative_id, person_id)
        minutes = GIFT_MINUTES[number % len(GIFT_MINUTES)]
        if available_minutes(session, giver) >= minutes:
            gave += _done(session, lambda: services.give(
                session, receiver, minutes, actor=actor_for(session, giver), now=at, key=f"demo-gift-{number}"))
    donors = [p.id for p in cast.volunteers if available_minutes(session, p.id) >= max(DONATION_MINUTES)]
    for number, donor in enumerate(donors[:DONATIONS]):
        minutes = DONATION_MINUTES[number % len(DONATION_MINUTES)]
        donated += _done(session, lambda: services.donate(
            session, minutes, actor=actor_for(session, donor), now=at, key=f"demo-donation-{number}"))
    for key, coordinator in cast.managers.items():
        community = cast.organisations[key]
        if community.level != "community":
            continue
        actor = actor_for(session, coordinator)
        for row in pool.waiting_needs(session, community.id, actor=actor, now=now)[:ALLOCATIONS]:
            if row.group == "others":
                break  # the demo's pools serve the first groups of the policy's order only
            allocated += _done(session, lambda: pool.allocate(
                session, row.need.id, ALLOCATION_MINUTES, actor=actor, now=now, note="优先保障：年满80岁独居或困难家庭"))
    session.flush()
    return f"gifts: {gave} to family, {donated} donations to community pools, {allocated} pool allocations to needs"


def _done(session: Session, action: Callable[[], object]) -> bool:
    """Run one demo step in a savepoint; a refusal (a pool too small, a cap reached) skips the step alone."""
    try:
        with session.begin_nested():
            action()
    except DomainError:
        return False
    return True
