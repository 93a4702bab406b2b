"""Account codes and what each business event posts (DESIGN.md, "The ledger").

Feature packages build their legs here, so the shape of a service credit or
a redemption is written once.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.ledger.errors import InvalidAmount
from timebank.ledger.models import Account, Commodity, OwnerType
from timebank.ledger.posting import Leg, open_account

ISSUANCE = {commodity: f"sys:issuance:{commodity.value}" for commodity in Commodity}
#: Where a coordinator's write-off of spent credit comes from: only what can be spent is ever written off.
WRITE_OFF = {commodity: f"sys:write-off:{commodity.value}" for commodity in (Commodity.HOUR, Commodity.PTS)}
#: The CERT category of training hours (the national record's training section), kept apart from service.
TRAINING = "training"
CATEGORY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def volunteer_code(volunteer_id: int, commodity: Commodity, category: str | None = None) -> str:
    """`vol:1024:HOUR`, `vol:1024:PTS`, or `vol:1024:CERT:elderly` (CERT is kept per category)."""
    if commodity is Commodity.CERT:
        return f"vol:{volunteer_id}:CERT:{check_category(category)}"
    return f"vol:{volunteer_id}:{commodity.value}"


def station_code(station_id: int, commodity: Commodity = Commodity.PTS) -> str:
    """`station:7:PTS`: what a station has taken in."""
    return f"station:{station_id}:{commodity.value}"


def pool_code(organisation_id: int) -> str:
    """`org:3:pool:HOUR`: the organisation's community pool of donated hours."""
    return f"org:{organisation_id}:pool:HOUR"


def check_category(category: str | None) -> str:
    """The service category slug, or ValueError if it cannot be part of an account code."""
    if category is None or not CATEGORY_PATTERN.match(category):
        raise ValueError(f"service category must be a short lowercase slug, not {category!r}")
    return category


def open_system_accounts(session: Session, *, now: dt.datetime) -> list[Account]:
    """The issuance accounts; they may go negative and keep a derived balance."""
    return [
        open_account(
            session,
            code,
            commodity=commodity,
            owner_type=OwnerType.SYSTEM,
            allow_negative=True,
            running_balance=False,
            now=now,
        )
        for commodity, code in ISSUANCE.items()
    ]


def open_write_off_accounts(session: Session, *, now: dt.datetime) -> list[Account]:
    """The write-off accounts; like issuance they may go negative and keep a derived balance."""
    return [
        open_account(
            session, code, commodity=commodity, owner_type=OwnerType.SYSTEM,
            allow_negative=True, running_balance=False, now=now,
        )
        for commodity, code in WRITE_OFF.items()
    ]


def open_volunteer_accounts(
    session: Session,
    volunteer_id: int,
    *,
    categories: tuple[str, ...] = (),
    max_hour_balance: int | None = None,
    now: dt.datetime,
) -> list[Account]:
    """A volunteer's HOUR and PTS accounts, and a CERT account per category given.

    `max_hour_balance` is a fixed ceiling the database keeps; the service opens
    none, since the storage cap is the policy's and may change (`hour_room`).
    """
    return [
        open_account(session, spec.pop("code"), **spec, now=now)
        for spec in volunteer_accounts(volunteer_id, categories=categories, max_hour_balance=max_hour_balance)
    ]


def volunteer_accounts(
    volunteer_id: int, *, categories: tuple[str, ...] = (), max_hour_balance: int | None = None
) -> list[dict[str, object]]:
    """What `open_volunteer_accounts` opens, as `open_account` keywords with the code (`open_accounts` takes many)."""
    wanted = [
        (volunteer_code(volunteer_id, Commodity.HOUR), Commodity.HOUR, max_hour_balance),
        (volunteer_code(volunteer_id, Commodity.PTS), Commodity.PTS, None),
    ] + [
        (volunteer_code(volunteer_id, Commodity.CERT, category), Commodity.CERT, None)
        for category in categories
    ]
    return [
        dict(code=code, commodity=commodity, owner_type=OwnerType.VOLUNTEER, owner_id=volunteer_id, max_balance=cap)
        for code, commodity, cap in wanted
    ]


def positive(amount: object, *, zero_allowed: bool = False) -> int:
    """The amount if it is a whole number above zero (or zero, where allowed), else InvalidAmount.

    A negative amount would quietly turn a rule's direction around (a gift
    taken back, a redemption paying the volunteer), so each rule refuses it.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0 or (amount == 0 and not zero_allowed):
        raise InvalidAmount("Amounts must be whole numbers above zero, not %(amount)r.", amount=amount)
    return amount


def open_pool_account(session: Session, organisation_id: int, *, now: dt.datetime) -> Account:
    """The organisation's community pool of hours, opened if it is not yet."""
    return open_account(
        session,
        pool_code(organisation_id),
        commodity=Commodity.HOUR,
        owner_type=OwnerType.ORGANISATION,
        owner_id=organisation_id,
        now=now,
    )


def hour_room(session: Session, volunteer_id: int, *, cap: int) -> int:
    """Minutes of time credit the volunteer can still take under `cap`.

    The account's row stays locked until the transaction ends, so two credits
    at once cannot both take the same room.
    """
    balance = session.scalar(
        select(Account.balance)
        .where(Account.code == volunteer_code(volunteer_id, Commodity.HOUR))
        .with_for_update()
    )
    return max(0, cap - (balance or 0))


def service_credit_legs(
    volunteer_id: int,
    *,
    minutes: int,
    category: str,
    points: int,
    deposit: int | None = None,
    pool: int | None = None,
) -> list[Leg]:
    """An approved attendance: certified hours in its category and points in full, from issuance.

    Time credit goes to the volunteer up to `deposit` minutes (all by default);
    the rest goes to organisation `pool`'s community pool, or is not issued.
    """
    positive(minutes), positive(points, zero_allowed=True)
    deposit = minutes if deposit is None else min(deposit, minutes)
    pooled = minutes - deposit if pool is not None else 0
    legs = [Leg(ISSUANCE[Commodity.HOUR], -(deposit + pooled))] if deposit + pooled else []
    if deposit:
        legs.append(Leg(volunteer_code(volunteer_id, Commodity.HOUR), deposit))
    if pooled:
        legs.append(Leg(pool_code(pool), pooled))
    legs += [
        Leg(ISSUANCE[Commodity.CERT], -minutes),
        Leg(volunteer_code(volunteer_id, Commodity.CERT, category), minutes),
    ]
    if points:
        legs += [
            Leg(ISSUANCE[Commodity.PTS], -points),
            Leg(volunteer_code(volunteer_id, Commodity.PTS), points),
        ]
    return legs


def training_credit_legs(volunteer_id: int, *, minutes: int) -> list[Leg]:
    """Approved training: certified training minutes only, never spendable and earning no points."""
    positive(minutes)
    return [
        Leg(ISSUANCE[Commodity.CERT], -minutes),
        Leg(volunteer_code(volunteer_id, Commodity.CERT, TRAINING), minutes),
    ]


def redemption_legs(
    volunteer_id: int, station_id: int, amount: int, commodity: Commodity = Commodity.PTS
) -> list[Leg]:
    """A volunteer spends points (or hours) at a station."""
    positive(amount)
    return [
        Leg(volunteer_code(volunteer_id, commodity), -amount),
        Leg(station_code(station_id, commodity), amount),
    ]


def write_off_legs(volunteer_id: int, commodity: Commodity, amount: int) -> list[Leg]:
    """Spent credit a coordinator writes off: the shortfall made good from the write-off account, so a correction can take it back."""
    positive(amount)
    return [
        Leg(WRITE_OFF[commodity], -amount),
        Leg(volunteer_code(volunteer_id, commodity), amount),
    ]


def family_transfer_legs(from_volunteer: int, to_volunteer: int, minutes: int) -> list[Leg]:
    """Hours given to a family member (the family link is the caller's policy check)."""
    positive(minutes)
    return [
        Leg(volunteer_code(from_volunteer, Commodity.HOUR), -minutes),
        Leg(volunteer_code(to_volunteer, Commodity.HOUR), minutes),
    ]


def donation_legs(volunteer_id: int, organisation_id: int, minutes: int) -> list[Leg]:
    """Hours donated to an organisation's community pool."""
    positive(minutes)
    return [
        Leg(volunteer_code(volunteer_id, Commodity.HOUR), -minutes),
        Leg(pool_code(organisation_id), minutes),
    ]


def service_purchase_legs(
    payer: str, volunteer_id: int, minutes: int, *, deposit: int | None = None, pool: int | None = None
) -> list[Leg]:
    """A service paid with hours: the payer's account (a person's or a pool's) pays the volunteer.

    As with a service credit, the volunteer takes up to `deposit` minutes (all
    by default) and the rest goes to organisation `pool`'s community pool; without
    a pool the rest is not taken from the payer at all.
    """
    positive(minutes)
    deposit = minutes if deposit is None else min(positive(deposit, zero_allowed=True), minutes)
    pooled = minutes - deposit if pool is not None and pool_code(pool) != payer else 0
    if not deposit + pooled:
        raise InvalidAmount("Nothing of the %(amount)r minutes can be paid under the cap.", amount=minutes)
    legs = [Leg(payer, -(deposit + pooled))]
    if deposit:
        legs.append(Leg(volunteer_code(volunteer_id, Commodity.HOUR), deposit))
    if pooled:
        legs.append(Leg(pool_code(pool), pooled))
    return legs
