"""Time credit at the storage cap: how much of an attendance's hours reach the volunteer, and where the rest goes.

The cap is the volunteer's own policy's `hour_cap_minutes`, read at every
credit, so a changed cap holds for everyone under it from that moment.
Certified hours and points are never capped: the service is on the record
whatever the time bank holds. Above the cap, time credit is not deposited, or
goes to the volunteer's community pool where the policy says so (Nanjing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.events.models import Attendance, AttendanceStatus
from timebank.ledger import rules
from timebank.ledger.models import Account, Commodity, OwnerType, Posting, Transaction
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation, home_policy, lineage
from timebank.people.models import Person


@dataclass(frozen=True)
class HourDeposit:
    """What an attendance's time credit did: minutes into the volunteer's account, and those above the cap."""

    deposited: int
    over_cap: int
    pool_id: int | None = None  # the organisation whose community pool took the minutes above the cap


def plan_deposit(session: Session, volunteer: Person, minutes: int, *, now: dt.datetime) -> HourDeposit:
    """How `minutes` of time credit fit under the volunteer's cap; the account stays locked until commit."""
    policy = home_policy(session, volunteer)
    room = rules.hour_room(session, volunteer.id, cap=int(policy["hour_cap_minutes"]))
    deposited = min(minutes, room)
    pool = None
    if deposited < minutes and policy["hours_over_cap_to_pool"]:
        pool = community_of(session, volunteer).id
        rules.open_pool_account(session, pool, now=now)
    return HourDeposit(deposited, minutes - deposited, pool)


def community_of(session: Session, person: Person) -> Organisation:
    """The person's community: their home organisation, or the nearest community above their team."""
    chain = lineage(session, get_organisation(session, person.home_organisation_id))
    return next((o for o in reversed(chain) if o.level == "community"), chain[-1])


def deposits_at_cap(session: Session, attendances: Iterable[Attendance]) -> dict[int, HourDeposit]:
    """Approved service attendances whose time credit met the cap, read from the ledger (every credit and correction)."""
    credited = {
        a.id: a for a in attendances
        if a.status == AttendanceStatus.APPROVED.value and a.credited_minutes and not a.activity.is_training
    }
    if not credited:
        return {}
    rows = session.execute(
        select(Transaction.ref_id, Account.owner_type, Account.owner_id, func.sum(Posting.amount))
        .join(Posting, Posting.transaction_id == Transaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Transaction.ref_type == "attendance",
            Transaction.ref_id.in_(credited),
            Account.commodity == Commodity.HOUR.value,
            Account.owner_type.in_([OwnerType.VOLUNTEER.value, OwnerType.ORGANISATION.value]),
        )
        .group_by(Transaction.ref_id, Account.owner_type, Account.owner_id)
    ).all()
    deposited: dict[int, int] = {}
    pools: dict[int, int] = {}
    for attendance_id, owner_type, owner_id, amount in rows:
        if owner_type == OwnerType.VOLUNTEER.value:
            deposited[attendance_id] = deposited.get(attendance_id, 0) + int(amount)
        elif amount:
            pools[attendance_id] = owner_id
    found = {}
    for attendance_id, attendance in credited.items():
        over = attendance.credited_minutes - deposited.get(attendance_id, 0)
        if over > 0:
            found[attendance_id] = HourDeposit(deposited.get(attendance_id, 0), over, pools.get(attendance_id))
    return found
