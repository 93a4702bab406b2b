"""The community pool (公益时间池): hours donated for people in need, set aside for needs in the policy's order.

A pool is an organisation's HOUR account (`org:<id>:pool:HOUR`). Volunteers
donate to it (`timebank.gifts.services.donate`); time credit above a
volunteer's storage cap reaches it where the policy says so. A coordinator
allocates pool hours to a need: a hold on the pool for the minutes the need
will take, recorded as a PoolAllocation. Paid visits draw on it (see
`payment.reserve`); the coordinator may return what is not drawn yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from timebank import ledger
from timebank.audit.services import record
from timebank.domain import Conflict, NotFound
from timebank.gifts.eligibility import hours
from timebank.ledger import rules
from timebank.ledger.models import Account, Hold, HoldStatus
from timebank.localtime import local_day
from timebank.needs.models import Colour, Need, NeedStatus, Order, PoolAllocation, Resident
from timebank.orgs.models import Organisation
from timebank.orgs.policy import ORDERINGS
from timebank.orgs.services import effective_policy, get_organisation
from timebank.people.access import MANAGERS, Actor

#: The priority groups a pool's policy orders (`pool_priority`), each with its label msgid.
PRIORITY_GROUPS = ORDERINGS["pool_priority"]
#: How long an allocation stays set aside before the hold lapses and the hours go back to the pool.
ALLOCATION_DAYS = dt.timedelta(days=365)
#: Needs still to be served, which an allocation can help.
WAITING = (NeedStatus.RECORDED.value, NeedStatus.ORDERED.value)


class PoolRefused(Conflict):
    """The pool cannot do what was asked; the message says why."""

    template = "The community pool refused this."


class PoolTooSmall(PoolRefused):
    """More asked than the pool has available."""

    template = "The community pool of %(pool)s has %(available)s h available; %(required)s h were asked."


@dataclass(frozen=True)
class PoolFigures:
    """A pool's posted balance, what open holds set aside, and what is left to allocate."""

    balance: int
    held: int

    @property
    def available(self) -> int:
        """Balance less what is set aside."""
        return self.balance - self.held


@dataclass(frozen=True)
class WaitingNeed:
    """A need the pool could serve, with the priority group that places it in the list."""

    need: Need
    group: str  # a PRIORITY_GROUPS key
    paid_by_pool: bool  # an order already says the pool pays
    allocation: PoolAllocation | None  # a returned one, if any


def figures(session: Session, organisation_id: int) -> PoolFigures:
    """The pool's balance and holds, read fresh; zeros while nobody has donated."""
    row = session.execute(
        select(Account.balance, Account.held).where(Account.code == rules.pool_code(organisation_id))
    ).first()
    return PoolFigures(*row) if row else PoolFigures(0, 0)


def set_aside(session: Session, need_id: int) -> int:
    """Minutes the need's open allocation still holds for it; 0 without one."""
    return int(session.scalar(
        select(Hold.amount)
        .join(PoolAllocation, PoolAllocation.hold_id == Hold.id)
        .where(PoolAllocation.need_id == need_id, PoolAllocation.status == "open", Hold.status == HoldStatus.OPEN.value)
    ) or 0)


def allocate(
    session: Session, need_id: int, minutes: int, *, actor: Actor, now: dt.datetime, note: str | None = None,
    pool_id: int | None = None,
) -> PoolAllocation:
    """Set `minutes` of the need's community pool aside for it; a retry of the same allocation returns it.

    `pool_id`, when given (the pool page's), must be the need's own pool.
    """
    need = _managed_need(session, need_id, actor)
    if pool_id is not None and pool_id != need.organisation_id:
        raise NotFound()
    minutes = rules.positive(minutes)
    allocation = session.scalar(select(PoolAllocation).where(PoolAllocation.need_id == need.id).with_for_update())
    if allocation is not None and allocation.status != "returned":
        if allocation.status == "open" and allocation.minutes == minutes:
            return allocation
        raise PoolRefused(
            "This need already has %(minutes)s h of the pool (%(status)s). Return it first to allocate again.",
            minutes=hours(allocation.minutes), status=allocation.status,
        )
    if need.status not in WAITING:
        raise PoolRefused("This need is no longer waiting for service, so nothing is allocated to it.")
    pool_id = need.organisation_id
    rules.open_pool_account(session, pool_id, now=now)
    if allocation is None:
        allocation = PoolAllocation(organisation_id=pool_id, need_id=need.id, minutes=minutes, allocated_by=actor.id, allocated_at=now)
        session.add(allocation)
        session.flush()
    allocation.hold_id = _hold(session, allocation, minutes, actor=actor.id, now=now).id
    allocation.minutes, allocation.status, allocation.note = minutes, "open", note
    allocation.allocated_by, allocation.allocated_at = actor.id, now
    record(session, actor=actor.id, action="allocate_pool_hours", target=("need", need.id),
           changes={"minutes": [None, minutes]}, now=now)
    return allocation


def return_allocation(session: Session, allocation_id: int, *, actor: Actor, now: dt.datetime) -> PoolAllocation:
    """Give what an allocation still sets aside back to the pool; returning twice is harmless."""
    allocation = session.get(PoolAllocation, allocation_id)
    if allocation is None:
        raise NotFound()
    _managed_need(session, allocation.need_id, actor)
    if allocation.status == "returned":
        return allocation
    if allocation.hold_id is not None:
        held = session.get(Hold, allocation.hold_id)
        if held.status == HoldStatus.OPEN.value:
            ledger.release(session, held, actor=actor.id, now=now)
    allocation.status = "returned"
    record(session, actor=actor.id, action="return_pool_allocation", target=("need", allocation.need_id),
           changes={"minutes": [allocation.minutes, None]}, now=now)
    return allocation


def draw(session: Session, need: Need, minutes: int, *, actor: int, now: dt.datetime, key: str) -> int:
    """Free up to `minutes` of the need's allocation for a visit's own hold; the rest stays set aside. Returns minutes freed."""
    allocation = session.scalar(
        select(PoolAllocation).where(PoolAllocation.need_id == need.id, PoolAllocation.status == "open").with_for_update()
    )
    if allocation is None or allocation.hold_id is None:
        return 0
    held = session.get(Hold, allocation.hold_id)
    if held.status != HoldStatus.OPEN.value:
        return 0
    ledger.release(session, held, actor=actor, now=now)
    rest = held.amount - minutes
    if rest > 0:
        allocation.hold_id = _hold(session, allocation, rest, actor=actor, now=now, key=f"{key}:rest").id
    else:
        allocation.status = "spent"
    return min(held.amount, minutes)


def waiting_needs(session: Session, organisation_id: int, *, actor: Actor, now: dt.datetime, limit: int = 200) -> list[WaitingNeed]:
    """Needs of the subtree still to be served and without pool hours, in the policy's priority order, then urgency and age."""
    organisation = get_organisation(session, organisation_id)
    actor.require(MANAGERS, organisation)
    order = priority_order(effective_policy(session, organisation))
    group = priority_group_sql(local_day(now))
    rank = case(*[(group == name, i) for i, name in enumerate(order)], else_=len(order))
    pool_paid = exists().where(Order.need_id == Need.id, Order.payer == "pool", Order.status != "cancelled")
    urgency = case((Need.colour == Colour.RED.value, 0), (Need.colour == Colour.YELLOW.value, 1), else_=2)
    live = aliased(PoolAllocation)
    held = exists().where(live.need_id == Need.id, live.status != "returned")
    rows = session.execute(
        select(Need, group, pool_paid, PoolAllocation)
        .join(Resident, Resident.id == Need.resident_id)
        .join(Organisation, Organisation.id == Need.organisation_id)
        .outerjoin(PoolAllocation, PoolAllocation.need_id == Need.id)
        .where(Organisation.path.startswith(organisation.path), Need.status.in_(WAITING), ~held)
        .order_by(rank, pool_paid.desc(), urgency, Need.recorded_at, Need.id)
        .limit(limit)
    ).all()
    return [WaitingNeed(need, name, bool(paid), allocation) for need, name, paid, allocation in rows]


def pools(session: Session, *, actor: Actor) -> list[tuple[Organisation, PoolFigures]]:
    """The communities the actor manages (and any organisation of theirs that holds a pool), each with its figures."""
    paths = actor.paths(MANAGERS)
    if not paths:
        return []
    holders = select(Account.owner_id).where(Account.code.like("org:%:pool:HOUR"))
    found = session.scalars(
        select(Organisation)
        .where(or_(Organisation.level == "community", Organisation.id.in_(holders)))
        .where(or_(*[Organisation.path.startswith(path) for path in paths]))
        .order_by(Organisation.path)
    ).all()
    return [(organisation, figures(session, organisation.id)) for organisation in found]


def allocations(session: Session, organisation_id: int, *, actor: Actor) -> list[PoolAllocation]:
    """The pool's allocations, newest first, with their needs."""
    organisation = get_organisation(session, organisation_id)
    actor.require(MANAGERS, organisation)
    return list(session.scalars(
        select(PoolAllocation).where(PoolAllocation.organisation_id == organisation.id)
        .order_by(PoolAllocation.allocated_at.desc(), PoolAllocation.id.desc()).limit(500)
    ))


def priority_order(policy: dict) -> list[str]:
    """The policy's priority groups, each once; groups the policy leaves out come last in their default order."""
    wanted = [g for g in policy.get("pool_priority") or [] if g in PRIORITY_GROUPS]
    return list(dict.fromkeys(wanted + list(PRIORITY_GROUPS)))


def priority_group_sql(today: dt.date):
    """The priority group of a need's resident as SQL: over 80 and living alone, hardship, or others."""
    born_by = _years_before(today, 80)
    groups = func.coalesce(Resident.groups, "")
    living_alone = or_(groups == "living_alone", groups.like("living_alone,%"), groups.like("%,living_alone"), groups.like("%,living_alone,%"))
    hardship = or_(groups == "hardship", groups.like("hardship,%"), groups.like("%,hardship"), groups.like("%,hardship,%"))
    return case(
        (and_(living_alone, Resident.birth_date.is_not(None), Resident.birth_date <= born_by), "living_alone_over_80"),
        (hardship, "hardship"),
        else_="others",
    )


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _managed_need(session: Session, need_id: int, actor: Actor) -> Need:
    need = session.get(Need, need_id)
    if need is None:
        raise NotFound()
    actor.require(MANAGERS, need.organisation)
    return need


def _hold(session: Session, allocation: PoolAllocation, minutes: int, *, actor: int, now: dt.datetime, key: str | None = None) -> Hold:
    """A hold on the pool for an allocation, refused in words when the pool has too little available."""
    if key is None:
        count = session.scalar(select(func.count()).select_from(Hold).where(Hold.ref_type == "pool_allocation", Hold.ref_id == allocation.id))
        key = f"pool-allocation:{allocation.id}:{count + 1}"
    try:
        return ledger.hold(
            session, rules.pool_code(allocation.organisation_id), minutes, actor=actor, now=now,
            expires_at=now + ALLOCATION_DAYS, idempotency_key=key, memo=f"公益时间池：为需求 #{allocation.need_id} 预留",
            ref=("pool_allocation", allocation.id),
        )
    except ledger.InsufficientBalance as exc:
        raise PoolTooSmall(
            pool=get_organisation(session, allocation.organisation_id).name,
            available=hours(exc.params["available"]), required=hours(minutes),
        ) from exc
