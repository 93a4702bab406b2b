"""The counter (兑换): a scanned member code opens a visit, a basket is redeemed once, a redemption can be voided.

A redemption is one database transaction: the basket key is claimed first (a
retry or a double tap finds the first redemption and gets its receipt), the
volunteer's row is locked (so their daily limits hold under concurrency), stock
moves by guarded UPDATEs, and one ledger transaction moves the points or hours
to the station. Any refusal rolls all of it back.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import Connection, Select, bindparam, func, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from timebank.audit.services import record
from timebank.auth import codes
from timebank.auth.models import DeviceToken
from timebank.db import instance_of, loaded
from timebank.domain import Conflict, DomainError, NotAllowed, NotFound
from timebank.ledger import AccountClosed, AlreadyReversed, InsufficientBalance, Kind, UnknownAccount, open_account, post, reverse, rules
from timebank.ledger.models import Account, Commodity, OwnerType, Posting, Transaction
from timebank.ledger.posting import Leg, resolve_accounts
from timebank.localtime import LOCAL_TZ, local, local_day
from timebank.orgs.models import Organisation
from timebank.orgs.services import home_policy
from timebank.people.access import MANAGERS, Actor
from timebank.people.balances import VolunteerBalances, summary
from timebank.people.models import Person, Status
from timebank.people.services import load
from timebank.redeem.catalogue import STATION_READ, move_stock, offered_items_query, station_and_organisation, station_from_row, stock_level
from timebank.redeem.duty import NoClerkOnDuty, clerk_from_rows, clerk_on_duty, duty_holder, with_clerk
from timebank.redeem.models import CatalogueItem, MovementReason, Redemption, RedemptionLine, RedemptionStatus, Station, StationStock, StockMovement
from timebank.redeem.reports import day_bounds
from timebank.redeem.schemas import RedemptionRequestSchema, VoidSchema
from timebank.signing import timed_serializer

VISIT_SALT = "timebank.counter-visit"
REDEMPTION_REQUEST = RedemptionRequestSchema()
#: A visit outlives the phone code that opened it, so the clerk has time to fill the basket.
VISIT_SECONDS = 20 * 60
WEEKDAY_NAMES = "一二三四五六日"


class RedemptionRefused(Conflict):
    """A basket that cannot be redeemed, with the reason the clerk can tell the volunteer."""

    template = "This redemption was refused."


class NotEnoughPoints(RedemptionRefused):
    template = "Not enough points: %(available)d available, %(required)d needed, %(missing)d missing."


class NotEnoughHours(RedemptionRefused):
    template = "Not enough hours: %(available)s h available, %(required)s h needed, %(missing)s h missing."


class OutOfStock(RedemptionRefused):
    template = "%(item)s is out of stock: %(left)d left, %(wanted)d wanted."


class OverDailyLimit(RedemptionRefused):
    template = "%(item)s: at most %(limit)d a day for each volunteer; %(used)d already redeemed today."


class OverMonthlyLimit(RedemptionRefused):
    template = "%(item)s: at most %(limit)d a month for each volunteer; %(used)d already redeemed this month."


class NotEligible(RedemptionRefused):
    template = "This volunteer may not spend hours yet."


class ItemUnavailable(RedemptionRefused):
    template = "%(item)s is not offered at this station today."


class StationClosed(RedemptionRefused):
    template = "The station is closed now. Opening hours: %(hours)s."


class VisitExpired(DomainError):
    template = "This visit has expired. Scan the volunteer's code again."


class SelfRedemption(NotAllowed):
    template = "You cannot redeem for yourself; another clerk must serve you."


class AlreadyVoided(Conflict):
    template = "Redemption %(number)s was already voided."


class VoidTooLate(NotAllowed):
    template = "Only a coordinator can void a redemption after the day it was made."


class BasketKeyReused(Conflict):
    template = "This basket was already redeemed with other items. Start a new basket."


@dataclass(frozen=True)
class Counter:
    """Who serves at a station's counter: a person (its staff or a coordinator above it), or its own device
    with the clerk on duty."""

    station: Station
    organisation: Organisation  # the station's
    actor_id: int | None  # the clerk, recorded on each redemption and ledger transaction; None: a device no one signed in on
    device_id: int | None = None
    actor: Actor | None = None

    def clerk(self) -> int:
        """The clerk serving, whom every write records; a device with no clerk on duty only reads."""
        if self.actor_id is None:
            raise NoClerkOnDuty()
        return self.actor_id

    def manages(self, session: Session) -> bool:
        """True if a coordinator above the station is serving (they may void on later days)."""
        return self.actor is not None and self.actor.may(MANAGERS, self.organisation)


@dataclass(frozen=True)
class Visit:
    """A volunteer at the counter: who, what they hold, and the signed ticket the basket carries."""

    volunteer: Person
    ticket: str
    balances: VolunteerBalances


def open_counter(session: Session, station_id: int, *, actor: Actor | None = None, device: DeviceToken | None = None,
                 clerk: Actor | None = None) -> Counter:
    """The counter of a station, if the actor works there (or manages it), or the device belongs to it
    (served by `clerk`, the clerk on duty, who must work there too)."""
    station, organisation = station_and_organisation(session, station_id)
    return _counter(station, organisation, actor=actor, device=device, clerk=clerk)


def open_device_counter(session: Session, station_id: int, device: DeviceToken, duty_ticket: str | None, secret_key: str,
                        *, now: dt.datetime) -> Counter:
    """The counter of a station at its own device, served by the clerk on duty its ticket names (no one, without a
    ticket): the station, its organisation and the clerk's standing and roles in one read."""
    if not duty_ticket:
        return open_counter(session, station_id, device=device)
    clerk_id, version = duty_holder(device, duty_ticket, secret_key, now=now)
    rows = session.connection().execute(_device_counter_query(), {"station_id": station_id, "clerk_id": clerk_id}).all()
    if not rows:  # no such station; a stale clerk is refused first, as everywhere else
        clerk_on_duty(session, device, duty_ticket, secret_key, now=now)
        raise NotFound("No such station.")
    clerk = clerk_from_rows(rows, clerk_id, version)
    station, organisation = station_from_row(session, rows[0])
    return _counter(station, organisation, device=device, clerk=clerk)


@functools.cache
def _device_counter_query() -> Select:
    return with_clerk(STATION_READ, bindparam("clerk_id"))


def _counter(station: Station, organisation: Organisation, *, actor: Actor | None = None, device: DeviceToken | None = None,
             clerk: Actor | None = None) -> Counter:
    if device is not None:
        if device.scope_type != "station" or device.scope_id != station.id:
            raise NotAllowed("This device is not set up for this station.")
        if clerk is not None and not _works_at(clerk, station, organisation):
            raise NotAllowed("You do not work at this station.")
        return Counter(station, organisation, clerk.id if clerk else None, device.id, clerk)
    if actor is not None and _works_at(actor, station, organisation):
        return Counter(station, organisation, actor.id, None, actor)
    raise NotAllowed("You do not work at this station.")


def _works_at(actor: Actor, station: Station, organisation: Organisation) -> bool:
    return station.id in actor.stations() or actor.may(MANAGERS, organisation)


def opening_hours(station: Station) -> str:
    """"周一至周六 09:00–17:00", or the station's own words."""
    if station.opening_hours:
        return station.opening_hours
    days = station.open_days or "1234567"
    named = "每天" if days == "1234567" else "、".join("周" + WEEKDAY_NAMES[int(d) - 1] for d in days)
    return f"{named} {station.opens_at or '00:00'}–{station.closes_at or '24:00'}"


def check_open(station: Station, now: dt.datetime) -> None:
    """StationClosed unless the station is open at this local time."""
    if station.closed_at is not None:
        raise StationClosed("This station has closed.")
    wall = local(now)
    if station.open_days and str(wall.isoweekday()) not in station.open_days:
        raise StationClosed(hours=opening_hours(station))
    if station.opens_at and station.closes_at and not station.opens_at <= f"{wall:%H:%M}" < station.closes_at:
        raise StationClosed(hours=opening_hours(station))


def start_visit(session: Session, counter: Counter, member_code: str, secret_key: str, *, now: dt.datetime) -> Visit:
    """Resolve a scanned member code to the volunteer, with their balances and a ticket for the basket."""
    clerk = counter.clerk()
    check_open(counter.station, now)
    volunteer = codes.resolve(session, member_code, secret_key, now=now)
    if volunteer.id == clerk:
        raise SelfRedemption()
    ticket = timed_serializer(secret_key, VISIT_SALT, now).dumps([volunteer.member_key, counter.station.id])
    return Visit(volunteer, ticket, summary(session, volunteer.id, home_policy(session, volunteer)))


def resume_visit(session: Session, counter: Counter, ticket: str, secret_key: str, *, now: dt.datetime) -> Visit:
    """The visit a basket's ticket names, at this station, while it lasts."""
    volunteer = _visitor(session, counter, ticket, secret_key, now=now)
    return Visit(volunteer, ticket, summary(session, volunteer.id, home_policy(session, volunteer)))


def _visitor(session: Session, counter: Counter, ticket: str, secret_key: str, *, now: dt.datetime) -> Person:
    """The volunteer a basket's ticket names, at this station, while it lasts."""
    volunteer = session.scalar(_visitor_query(), {"member_key": _visit_key(counter, ticket, secret_key, now=now)})
    return _admitted(counter, volunteer)


def _visit_key(counter: Counter, ticket: str, secret_key: str, *, now: dt.datetime) -> str:
    """The member key a visit ticket carries, if it is this station's and still lasts."""
    try:
        member_key, station_id = timed_serializer(secret_key, VISIT_SALT, now).loads(ticket or "", max_age=VISIT_SECONDS)
    except SignatureExpired:
        raise VisitExpired() from None
    except (BadSignature, ValueError, TypeError):
        raise VisitExpired("This visit is not valid here. Scan the volunteer's code again.") from None
    if station_id != counter.station.id:
        raise VisitExpired("This visit is not valid here. Scan the volunteer's code again.")
    return member_key


def _admitted(counter: Counter, volunteer: Any) -> Any:
    """The visiting volunteer (None if the key names no one), if they may redeem here now."""
    if volunteer is None:
        raise VisitExpired("This visit is not valid here. Scan the volunteer's code again.")
    if volunteer.status != Status.ACTIVE.value:
        raise codes.MemberCodeError("This volunteer's account is not active.")
    if volunteer.id == counter.clerk():
        raise SelfRedemption()
    return volunteer


@functools.cache
def _visitor_query() -> Select:
    # Every basket asks this: built once.
    return select(Person).where(Person.member_key == bindparam("member_key")).options(lazyload(Person.roles))


@dataclass(frozen=True)
class Visitor:
    """What a redemption needs of the volunteer at the counter."""

    id: int
    status: str
    birth_date: dt.date | None
    home_organisation_id: int | None


def _basket(session: Session, counter: Counter, ticket: str, item_ids: list[int], secret_key: str, *,
            now: dt.datetime) -> tuple[Visitor, dict[int, Any]]:
    """The volunteer a basket's ticket names (at this station, while it lasts) and those of its items the station
    offers at all, by id: one read."""
    values = {"member_key": _visit_key(counter, ticket, secret_key, now=now), "item_ids": item_ids,
              "station_id": counter.station.id, "station_path": counter.organisation.path}
    rows = session.connection().execute(_basket_query(), values).all()
    volunteer = _admitted(counter, Visitor(*rows[0][:4]) if rows else None)
    return volunteer, {row.id: row for row in rows if row.id is not None}


#: What a redemption needs of each item.
BASKET_ITEM = (CatalogueItem.id, CatalogueItem.name, CatalogueItem.commodity, CatalogueItem.price, CatalogueItem.tracks_stock,
               CatalogueItem.limit_per_day, CatalogueItem.limit_per_month, CatalogueItem.active_from, CatalogueItem.active_to)


@functools.cache
def _basket_query() -> Select:
    # The volunteer by their member key, beside each item of the basket the station offers (or one row of nulls).
    offered = offered_items_query(*BASKET_ITEM).subquery("offered")
    return (
        select(Person.id.label("volunteer_id"), Person.status, Person.birth_date, Person.home_organisation_id, *offered.c)
        .outerjoin(offered, true())
        .where(Person.member_key == bindparam("member_key"))
    )


# -- redeeming ---------------------------------------------------------------------


def _fingerprint(station_id: int, volunteer_id: int, lines: Mapping[int, int]) -> str:
    content = {"station": station_id, "volunteer": volunteer_id, "lines": sorted(lines.items())}
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def _claim(session: Session, connection: Connection, key: str, fingerprint: str, counter: Counter, volunteer_id: int, totals: Mapping[str, int],
           now: dt.datetime) -> tuple[dict[str, Any], Redemption | None]:
    """Claim the basket key: the new redemption's row (with its id and what it costs), or the redemption a first
    request already made."""
    row = dict(idempotency_key=key, fingerprint=fingerprint, station_id=counter.station.id, volunteer_id=volunteer_id,
               clerk_id=counter.actor_id, device_id=counter.device_id, points=totals[Commodity.PTS.value],
               minutes=totals[Commodity.HOUR.value], status=RedemptionStatus.COMPLETED.value, created_at=now)
    row["id"] = connection.execute(_insert_redemption(connection.dialect.name), row).scalar()
    if row["id"] is None:
        existing = session.scalar(select(Redemption).where(Redemption.idempotency_key == key))
        if existing is None or existing.fingerprint != fingerprint or existing.station_id != counter.station.id:
            raise BasketKeyReused()
        return row, existing
    return row, None


# The busy path runs statements built once (per database), as the ledger's posting does.
REDEMPTIONS, REDEMPTION_LINES, STOCK, MOVEMENTS = (Redemption.__table__, RedemptionLine.__table__, StationStock.__table__,
                                                  StockMovement.__table__)
INSERT_LINES = REDEMPTION_LINES.insert()
INSERT_MOVEMENTS = MOVEMENTS.insert()
TAKE_STOCK = (
    update(STOCK)
    .where(STOCK.c.station_id == bindparam("at_station"), STOCK.c.item_id == bindparam("of_item"), STOCK.c.quantity >= bindparam("taken"))
    .values(quantity=STOCK.c.quantity - bindparam("taken"))
    .returning(STOCK.c.quantity)
)
COMPLETE = (
    update(REDEMPTIONS).where(REDEMPTIONS.c.id == bindparam("redemption_id"))
    .values(number=bindparam("redemption_number"), transaction_id=bindparam("ledger_transaction"))
)
LOCK_VOLUNTEER = select(Person.id).where(Person.id == bindparam("volunteer_id")).with_for_update(key_share=True)


@functools.cache
def _insert_redemption(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(REDEMPTIONS).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(REDEMPTIONS.c.id)


def _earlier_redemption(session: Session, counter: Counter, values: Mapping[str, Any], lines: Mapping[int, int], secret_key: str, *, now: dt.datetime) -> Redemption | None:
    """The redemption already made for this basket key, visit and items, whatever the visit's age; else None."""
    try:
        member_key, station_id = timed_serializer(secret_key, VISIT_SALT, now).loads(values["visit"])
    except (BadSignature, ValueError, TypeError):
        return None
    volunteer_id = session.scalar(select(Person.id).where(Person.member_key == member_key))
    existing = session.scalar(select(Redemption).where(Redemption.idempotency_key == values["idempotency_key"]))
    if existing is None or volunteer_id is None or station_id != counter.station.id:
        return None
    if existing.station_id != counter.station.id or existing.fingerprint != _fingerprint(station_id, volunteer_id, lines):
        return None
    return existing


def _month_start(now: dt.datetime) -> dt.datetime:
    wall = local(now)
    return dt.datetime(wall.year, wall.month, 1, tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)


def redeemed_since(session: Session, volunteer_id: int, item_ids: list[int], since: dt.datetime) -> dict[int, int]:
    """How many of each item the volunteer has redeemed (and not had voided) since a moment."""
    rows = session.execute(_redeemed_since_query(), {"volunteer_id": volunteer_id, "item_ids": item_ids, "since": since}).all()
    return {item_id: int(total) for item_id, total in rows}


@functools.cache
def _redeemed_since_query() -> Select:
    return (
        select(RedemptionLine.item_id, func.sum(RedemptionLine.quantity))
        .join(Redemption, Redemption.id == RedemptionLine.redemption_id)
        .where(Redemption.volunteer_id == bindparam("volunteer_id"), Redemption.status == RedemptionStatus.COMPLETED.value,
               Redemption.created_at >= bindparam("since", type_=Redemption.created_at.type),
               RedemptionLine.item_id.in_(bindparam("item_ids", expanding=True)))
        .group_by(RedemptionLine.item_id)
    )


def left_today(session: Session, volunteer_id: int, items: list[CatalogueItem], *, now: dt.datetime) -> dict[int, int]:
    """How many more of each item with a daily limit the volunteer may take today, so the counter warns before confirming."""
    limited = [item for item in items if item.limit_per_day]
    if not limited:
        return {}
    taken = redeemed_since(session, volunteer_id, [item.id for item in limited], day_bounds(local_day(now))[0])
    return {item.id: max(0, item.limit_per_day - taken.get(item.id, 0)) for item in limited}


def balances_after(session: Session, redemption: Redemption) -> dict[str, int]:
    """The volunteer's points and time credit (minutes) as they stood right after the redemption posted, by commodity."""
    if redemption.transaction_id is None:
        return {}
    left = {}
    for commodity in (Commodity.PTS, Commodity.HOUR):
        # The account's last posting up to this redemption's, read along the (account, id) index.
        left[commodity.value] = session.scalar(
            select(Posting.balance_after)
            .join(Account, Account.id == Posting.account_id)
            .where(Account.code == rules.volunteer_code(redemption.volunteer_id, commodity), Posting.transaction_id <= redemption.transaction_id)
            .order_by(Posting.id.desc()).limit(1)
        ) or 0
    return left


def _check_rules(session: Session, counter: Counter, volunteer: Visitor, items: Mapping[int, Any], lines: Mapping[int, int], now: dt.datetime) -> None:
    """Refuse what this volunteer may not take today: dates, eligibility to spend hours, limits."""
    today = local_day(now)
    for item in items.values():
        if (item.active_from and item.active_from > today) or (item.active_to and item.active_to < today):
            raise ItemUnavailable(item=item.name)
    if any(item.commodity == Commodity.HOUR for item in items.values()):
        # The volunteer's own policy, the same at every station (通存通兑).
        policy = home_policy(session, volunteer)
        balances = summary(session, volunteer.id, policy)
        stars, age = policy.get("min_star_to_spend_hours") or 0, policy.get("min_age_to_spend_hours") or 0
        if balances.star_level < stars:
            raise NotEligible("Hours can be spent from %(stars)d stars; this volunteer has %(level)d.", stars=stars, level=balances.star_level)
        born = volunteer.birth_date
        if age and (born is None or (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) < age):
            raise NotEligible("Hours can be spent from the age of %(age)d.", age=age)
    for limit_field, since, error in (("limit_per_day", day_bounds(local_day(now))[0], OverDailyLimit), ("limit_per_month", _month_start(now), OverMonthlyLimit)):
        limited = [item for item in items.values() if getattr(item, limit_field)]
        if not limited:
            continue
        used = redeemed_since(session, volunteer.id, [item.id for item in limited], since)
        for item in limited:
            limit, already = getattr(item, limit_field), used.get(item.id, 0)
            if already + lines[item.id] > limit:
                raise error(item=item.name, limit=limit, used=already)


def _basket_legs(counter: Counter, volunteer_id: int, totals: Mapping[str, int]) -> list[Leg]:
    """The ledger's legs of a basket: the volunteer's points and hours to the station's accounts."""
    return [leg for commodity, amount in totals.items() if amount
            for leg in rules.redemption_legs(volunteer_id, counter.station.id, amount, Commodity(commodity))]


def _known_accounts(session: Session, legs: list[Leg]) -> Mapping[str, Any] | None:
    """The legs' accounts, read before the basket's first write (so not under SQLite's write lock); None if one
    is missing, which the posting then says."""
    try:
        return resolve_accounts(session, [leg.code for leg in legs]) if legs else None
    except UnknownAccount:
        return None


def _post_to_ledger(session: Session, counter: Counter, legs: list[Leg], accounts: Mapping[str, Any] | None, redemption_id: int,
                    number: str, totals: Mapping[str, int], *, now: dt.datetime) -> Transaction:
    """One transaction: the volunteer's points and hours to the station's accounts."""
    arguments = dict(kind=Kind.REDEMPTION, idempotency_key=f"redemption:{redemption_id}", actor=counter.actor_id,
                     memo=f"{counter.station.name} 兑换 {number}", ref=("redemption", redemption_id), now=now)
    try:
        try:
            return post(session, legs, accounts=accounts, **arguments)
        except UnknownAccount as exc:
            if not exc.params.get("account", "").startswith("station:"):
                raise
            open_station_accounts(session, counter.station.id, now=now)
            return post(session, legs, **arguments)
    except UnknownAccount:
        # A volunteer whose accounts were never opened has nothing to spend.
        commodity = next(c for c in (Commodity.PTS, Commodity.HOUR) if totals.get(c.value))
        _refuse_short(commodity, available=0, required=totals[commodity.value])
    except InsufficientBalance as exc:
        commodity = Commodity.HOUR if exc.params["account"].endswith(":HOUR") else Commodity.PTS
        _refuse_short(commodity, available=exc.params["available"], required=exc.params["required"])
    except AccountClosed as exc:
        raise _closed(exc, counter) from exc


def _closed(exc: AccountClosed, counter: Counter) -> RedemptionRefused:
    """A closed ledger account, named as the clerk knows it: the volunteer's or the station's."""
    if exc.params.get("account", "").startswith("station:"):
        return RedemptionRefused("The ledger accounts of %(station)s are closed; it can take no redemptions.", station=counter.station.name)
    return RedemptionRefused("This volunteer's accounts are closed; nothing can be redeemed or given back.")


def _refuse_short(commodity: Commodity, *, available: int, required: int) -> None:
    if commodity is Commodity.HOUR:
        raise NotEnoughHours(available=f"{available / 60:g}", required=f"{required / 60:g}", missing=f"{(required - available) / 60:g}") from None
    raise NotEnoughPoints(available=available, required=required, missing=required - available) from None


def open_station_accounts(session: Session, station_id: int, *, now: dt.datetime) -> None:
    """The station's points and hours accounts, opened if they are not yet."""
    for commodity in (Commodity.PTS, Commodity.HOUR):
        open_account(session, rules.station_code(station_id, commodity), commodity=commodity,
                     owner_type=OwnerType.STATION, owner_id=station_id, now=now)


def redeem(session: Session, counter: Counter, data: Mapping[str, Any], secret_key: str, *, now: dt.datetime) -> tuple[Redemption, bool]:
    """Redeem a basket for the visiting volunteer; a retry with the same key returns the first redemption (and False).

    Who comes and what the station offers are read first; on SQLite the write lock is taken by claiming the
    basket key, the first write, so everything that decides (limits, stock, balances) is read or checked
    under it. (On PostgreSQL the volunteer's row lock and the guarded updates do that.)
    """
    values = load(REDEMPTION_REQUEST, data)
    lines: dict[int, int] = defaultdict(int)
    for line in values["lines"]:
        lines[line["item_id"]] += line["quantity"]
    counter.clerk()
    item_ids = sorted(lines)  # stock rows are taken in item order, so baskets cannot deadlock
    try:
        volunteer, items = _basket(session, counter, values["visit"], item_ids, secret_key, now=now)
    except VisitExpired:
        # A retry that comes after the visit ran out still gets the first receipt, if there was one.
        earlier = _earlier_redemption(session, counter, values, lines, secret_key, now=now)
        if earlier is None:
            raise
        return earlier, False
    totals: dict[str, int] = {Commodity.PTS.value: 0, Commodity.HOUR.value: 0}
    for item in items.values():
        totals[item.commodity] += lines[item.id] * item.price
    legs = _basket_legs(counter, volunteer.id, totals)
    accounts = _known_accounts(session, legs)
    connection = session.connection()
    row, earlier = _claim(session, connection, values["idempotency_key"], _fingerprint(counter.station.id, volunteer.id, lines),
                          counter, volunteer.id, totals, now)
    if earlier is not None:
        return earlier, False
    check_open(counter.station, now)
    if len(items) != len(lines):
        raise ItemUnavailable("One of the items is not offered at this station.")
    # One volunteer's baskets with a limited item go one at a time, so two counters cannot both pass a limit. NO KEY
    # UPDATE, because the redemption row just inserted already holds KEY SHARE on the person (its foreign
    # key): a plain FOR UPDATE would have two baskets each wait for the other's KEY SHARE, a deadlock.
    limited = any(item.limit_per_day or item.limit_per_month for item in items.values())
    if limited and session.get_bind().dialect.name != "sqlite":  # SQLite's write lock already lets one writer in at a time
        connection.execute(LOCK_VOLUNTEER, {"volunteer_id": volunteer.id})
    _check_rules(session, counter, volunteer, items, lines, now)
    redemption_id = row["id"]
    row["number"] = f"DH{local(now):%Y%m%d}-{redemption_id:06d}"
    _take_stock(session, connection, counter, redemption_id, [items[item_id] for item_id in item_ids], lines, now=now)
    made = [dict(redemption_id=redemption_id, item_id=item.id, item_name=item.name, commodity=item.commodity,
                 quantity=lines[item.id], unit_price=item.price) for item in (items[item_id] for item_id in item_ids)]
    connection.execute(INSERT_LINES, made)
    row["transaction_id"] = _post_to_ledger(session, counter, legs, accounts, redemption_id, row["number"], totals, now=now).id
    connection.execute(COMPLETE, {"redemption_id": redemption_id, "redemption_number": row["number"], "ledger_transaction": row["transaction_id"]})
    # The redemption as the session would load it, made part of it only now that all of it is written (a
    # refusal leaves nothing behind in the session either); the receipt reads it without a query.
    redemption = instance_of(session, Redemption, {**row, "voided_at": None, "voided_by": None, "void_reason": None, "void_transaction_id": None})
    set_committed_value(redemption, "lines", [loaded(RedemptionLine, line) for line in made])
    return redemption, True


def _take_stock(session: Session, connection: Connection, counter: Counter, redemption_id: int, items: list[Any], lines: Mapping[int, int],
                *, now: dt.datetime) -> None:
    """Take the basket's goods from the station's stock, each by a guarded UPDATE, and log the movements; OutOfStock
    for the first item short."""
    movements = []
    for item in items:
        if not item.tracks_stock:
            continue
        taken = lines[item.id]
        left = connection.execute(TAKE_STOCK, {"at_station": counter.station.id, "of_item": item.id, "taken": taken}).scalar()
        if left is None:
            raise OutOfStock(item=item.name, left=stock_level(session, counter.station.id, item.id), wanted=taken)
        movements.append({"station_id": counter.station.id, "item_id": item.id, "change": -taken, "quantity_after": left,
                          "reason": MovementReason.REDEEMED.value, "note": None, "redemption_id": redemption_id,
                          "actor_id": counter.actor_id, "created_at": now})
    if movements:
        connection.execute(INSERT_MOVEMENTS, movements)


# -- reading and voiding ------------------------------------------------------------


def get_redemption(session: Session, redemption_id: int, counter_for: Any, *, lock: bool = False) -> tuple[Redemption, Counter]:
    """The redemption and the counter of its station, if the caller serves there (`counter_for(station_id)`)."""
    redemption = session.get(Redemption, redemption_id, with_for_update=lock or None)
    if redemption is None:
        raise NotFound("No such redemption.")
    try:
        counter = counter_for(redemption.station_id)
    except NotAllowed:
        raise NotFound("No such redemption.") from None
    return redemption, counter


def void_redemption(session: Session, redemption: Redemption, counter: Counter, data: Mapping[str, Any], *, now: dt.datetime) -> Redemption:
    """Void a redemption: reverse its transaction, put the stock back, keep the reason.

    Its station's clerk may do so on the same day; later, only a coordinator.
    """
    if counter.station.id != redemption.station_id:
        raise NotFound("No such redemption.")
    counter.clerk()
    if redemption.status == RedemptionStatus.VOIDED:
        raise AlreadyVoided(number=redemption.number)
    if local_day(redemption.created_at) != local_day(now) and not counter.manages(session):
        raise VoidTooLate()
    reason = load(VoidSchema(), data)["reason"].strip()
    # The stock goes back first, in item order, and the accounts after it: the order a basket takes them in, so a
    # void and a basket of the same goods never wait for each other in a circle. A refusal below undoes it all.
    for line in sorted(redemption.lines, key=lambda line: line.item_id):
        item = session.get(CatalogueItem, line.item_id)
        if item.tracks_stock:
            move_stock(session, redemption.station_id, item, line.quantity, reason=MovementReason.VOIDED,
                       actor_id=counter.actor_id, now=now, note=reason, redemption_id=redemption.id)
    try:
        reversal = reverse(session, redemption.transaction_id, actor=counter.actor_id, now=now,
                           memo=f"作废 {redemption.number}：{reason}", idempotency_key=f"void:{redemption.id}")
    except AlreadyReversed as exc:
        raise AlreadyVoided(number=redemption.number) from exc
    except AccountClosed as exc:
        raise _closed(exc, counter) from exc
    redemption.status = RedemptionStatus.VOIDED.value
    redemption.voided_at, redemption.voided_by, redemption.void_reason = now, counter.actor_id, reason
    redemption.void_transaction_id = reversal.id
    record(session, actor=counter.actor_id, action="void_redemption", target=("redemption", redemption.id),
           changes={"status": ["completed", "voided"], "reason": [None, reason]}, now=now)
    return redemption
