"""Demo data a newcomer can explore: months of a community programme's ledger.

Built only through the ledger's services, with a fixed random seed, so the
same command always gives the same history: service credits from activities,
redemptions at stations, hours given to family and donated to the community
pool, service bought with held hours (captured, released, expired, open),
corrections (a reversal and a new credit) and voided redemptions.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from timebank import ledger, migrate
from timebank.categories import SERVICE_CATEGORIES
from timebank.db import Database
from timebank.ledger import Account, Commodity, Hold, Kind, Leg, OwnerType, Transaction
from timebank.ledger import rules
from timebank.ledger.reports import totals
from timebank.meta import get_meta, set_meta

DEMO_PREFIX = "demo:"
DEMO_FLAG = "demo_built_at"
CATEGORIES = {k: v for k, v in SERVICE_CATEGORIES.items() if k != "training"}
CATEGORY_POINT_MULTIPLIER = {"emergency": 1.5}
ORGANISATIONS = {3: "东城社区", 4: "西关社区"}
STATIONS = {1: "26度万家驿站", 2: "东城社区爱心超市"}
ITEMS = [("大米 5kg", 60), ("食用油 1.8L", 45), ("理发服务", 20), ("洗衣液", 25), ("毛巾", 10), ("鸡蛋一盒", 15)]
SOCIAL_WORKERS = (11, 12)
COORDINATOR = 21
STATION_STAFF = {1: 31, 2: 32}
POINTS_PER_HOUR = 10
HOUR_CAP_MINUTES = 1500 * 60
HOLD_DAYS = dt.timedelta(days=7)


class DemoRefused(Exception):
    """The database holds records that are not demo data."""


def reset_demo_database(database: Database) -> None:
    """Empty and re-migrate the database, unless it holds anything but demo data."""
    with database.engine.connect() as conn:
        has_ledger = inspect(conn).has_table("transactions") and inspect(conn).has_table("meta")
    if has_ledger:
        with database.session(write=False) as session:
            holds_records = any(
                session.scalar(select(model.id).limit(1)) is not None
                for model in (Account, Transaction, Hold)
            )
            is_demo = get_meta(session, DEMO_FLAG) is not None
        if holds_records and not is_demo:
            raise DemoRefused(
                "This database holds records that are not demo data; `timebank demo` will not "
                "overwrite it. Point TIMEBANK_DATABASE_URL at another database."
            )
        migrate.downgrade(database.engine, "base")
    migrate.upgrade(database.engine)


@dataclass
class DemoWorld:
    """What the demo has posted so far, mirrored in memory so it never asks for too much."""

    session: Session
    rng: random.Random
    volunteers: list[int]
    now: dt.datetime
    hours: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    points: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    categories: set[tuple[int, str]] = field(default_factory=set)
    credits: list[tuple[Transaction, int, str, int, int]] = field(default_factory=list)
    counter: int = 0

    def key(self, what: str) -> str:
        """A fresh demo idempotency key."""
        self.counter += 1
        return f"{DEMO_PREFIX}{what}:{self.counter}"

    def post(self, legs: list[Leg], *, kind: Kind, actor: int, at: dt.datetime, memo: str, event_at: dt.datetime | None = None) -> Transaction:
        """Post a demo transaction recorded at `at`."""
        return ledger.post(
            self.session,
            legs,
            kind=kind,
            idempotency_key=self.key(kind.value),
            actor=actor,
            memo=memo,
            event_at=event_at,
            now=at,
        )


def build_demo(session: Session, *, volunteers: int, days: int, seed: int, now: dt.datetime) -> str:
    """Post `days` of a programme's history for `volunteers` people; returns a summary."""
    rng = random.Random(seed)
    start = now - dt.timedelta(days=days)
    world = DemoWorld(session, rng, list(range(1001, 1001 + volunteers)), now)
    _open_accounts(world, start)
    for day in range(days):
        morning = start + dt.timedelta(days=day, hours=1)  # 09:00 in Shanghai
        _activities(world, day, morning)
        _redemptions(world, morning + dt.timedelta(hours=6))
        if day % 5 == 2:
            _family_transfer(world, morning + dt.timedelta(hours=8))
        if day % 7 == 3:
            _donation(world, morning + dt.timedelta(hours=9))
        if day % 6 == 1:
            _service_purchase(world, morning + dt.timedelta(hours=3), now)
        if day % 11 == 5:
            _correction(world, morning + dt.timedelta(hours=7))
    ledger.expire_holds(session, actor=COORDINATOR, now=now)
    set_meta(session, DEMO_FLAG, now.isoformat())
    figures = totals(session)
    return (
        f"demo ready: {volunteers} volunteers, {figures.accounts} accounts, "
        f"{figures.transactions} transactions, {figures.postings} postings, "
        f"{figures.issued['HOUR'] // 60} hours credited, {figures.open_holds} open holds"
    )


def _open_accounts(world: DemoWorld, at: dt.datetime) -> None:
    rules.open_system_accounts(world.session, now=at)
    for organisation in ORGANISATIONS:
        ledger.open_account(
            world.session, rules.pool_code(organisation), commodity=Commodity.HOUR,
            owner_type=OwnerType.ORGANISATION, owner_id=organisation, now=at,
        )
    for station in STATIONS:
        for commodity in (Commodity.PTS, Commodity.HOUR):
            ledger.open_account(
                world.session, rules.station_code(station, commodity), commodity=commodity,
                owner_type=OwnerType.STATION, owner_id=station, now=at,
            )
    for volunteer in world.volunteers:
        rules.open_volunteer_accounts(
            world.session, volunteer, max_hour_balance=HOUR_CAP_MINUTES, now=at
        )


def _ensure_category(world: DemoWorld, volunteer: int, category: str, at: dt.datetime) -> None:
    if (volunteer, category) not in world.categories:
        rules.open_volunteer_accounts(world.session, volunteer, categories=(category,), now=at)
        world.categories.add((volunteer, category))


def _credit(world: DemoWorld, volunteer: int, minutes: int, category: str, *, ended: dt.datetime, memo: str) -> Transaction:
    points = int(minutes / 60 * POINTS_PER_HOUR * CATEGORY_POINT_MULTIPLIER.get(category, 1.0))
    _ensure_category(world, volunteer, category, ended)
    approved = min(ended + dt.timedelta(days=world.rng.randint(1, 3)), world.now)
    txn = world.post(
        rules.service_credit_legs(volunteer, minutes=minutes, category=category, points=points),
        kind=Kind.SERVICE_CREDIT, actor=world.rng.choice(SOCIAL_WORKERS), at=approved,
        memo=memo, event_at=ended,
    )
    world.hours[volunteer] += minutes
    world.points[volunteer] += points
    world.credits.append((txn, volunteer, category, minutes, points))
    return txn


def _activities(world: DemoWorld, day: int, morning: dt.datetime) -> None:
    for number in range(world.rng.randint(1, 3)):
        category = world.rng.choice(list(CATEGORIES))
        minutes = world.rng.choice((60, 90, 120, 150, 180, 240))
        ended = morning + dt.timedelta(hours=number * 3, minutes=minutes)
        title = f"{ORGANISATIONS[world.rng.choice(list(ORGANISATIONS))]} {CATEGORIES[category]}活动"
        count = min(len(world.volunteers), world.rng.randint(4, 12))
        for volunteer in world.rng.sample(world.volunteers, count):
            served = minutes - world.rng.choice((0, 0, 0, 15, 30))
            _credit(world, volunteer, served, category, ended=ended, memo=f"{title}（第{day + 1}天）")


def _redemptions(world: DemoWorld, at: dt.datetime) -> None:
    for _ in range(world.rng.randint(2, 6)):
        volunteer = world.rng.choice(world.volunteers)
        item, price = world.rng.choice(ITEMS)
        if world.points[volunteer] < price:
            continue
        station = world.rng.choice(list(STATIONS))
        txn = world.post(
            rules.redemption_legs(volunteer, station, price), kind=Kind.REDEMPTION,
            actor=STATION_STAFF[station], at=at, memo=f"{STATIONS[station]} 兑换 {item}",
        )
        world.points[volunteer] -= price
        if world.rng.random() < 0.05:  # the clerk voids a mistaken redemption the same day
            ledger.reverse(world.session, txn, actor=STATION_STAFF[station], now=at + dt.timedelta(minutes=5), memo=f"作废：{item} 扫错了")
            world.points[volunteer] += price


def _family_transfer(world: DemoWorld, at: dt.datetime) -> None:
    giver = world.rng.choice(world.volunteers)
    receiver = world.volunteers[(world.volunteers.index(giver) + 1) % len(world.volunteers)]
    if world.hours[giver] < 120 or world.hours[receiver] + 60 > HOUR_CAP_MINUTES:
        return
    world.post(
        rules.family_transfer_legs(giver, receiver, 60), kind=Kind.TRANSFER, actor=COORDINATOR,
        at=at, memo="赠与家人（父母）1小时",
    )
    world.hours[giver] -= 60
    world.hours[receiver] += 60


def _donation(world: DemoWorld, at: dt.datetime) -> None:
    donor = world.rng.choice(world.volunteers)
    minutes = world.rng.choice((30, 60))
    if world.hours[donor] < minutes:
        return
    organisation = world.rng.choice(list(ORGANISATIONS))
    world.post(
        rules.donation_legs(donor, organisation, minutes), kind=Kind.DONATION, actor=COORDINATOR,
        at=at, memo=f"捐入{ORGANISATIONS[organisation]}公益时间池",
    )
    world.hours[donor] -= minutes


def _service_purchase(world: DemoWorld, at: dt.datetime, now: dt.datetime) -> None:
    """A resident's household orders an hour of home care, paid with held hours."""
    buyer = world.rng.choice(world.volunteers)
    provider = world.rng.choice([v for v in world.volunteers if v != buyer])
    if world.hours[buyer] < 60 or world.hours[provider] + 60 > HOUR_CAP_MINUTES:
        return
    held = ledger.hold(
        world.session, rules.volunteer_code(buyer, Commodity.HOUR), 60, actor=COORDINATOR, now=at,
        expires_at=at + HOLD_DAYS, idempotency_key=world.key("hold"),
        memo="点单：上门助老服务 1 小时",
    )
    world.hours[buyer] -= 60
    outcome = world.rng.random()
    if now - at < HOLD_DAYS:
        return  # still open: the hours stay reserved
    if outcome < 0.6:
        ledger.capture(
            world.session, held, to=rules.volunteer_code(provider, Commodity.HOUR),
            kind=Kind.SERVICE_PURCHASE, actor=COORDINATOR, now=at + dt.timedelta(days=1),
            memo="评单完成：上门助老服务 1 小时",
        )
        world.hours[provider] += 60
    elif outcome < 0.85:
        ledger.release(world.session, held, actor=COORDINATOR, now=at + dt.timedelta(hours=5))
        world.hours[buyer] += 60
    # otherwise nobody acts, and the hold expires when the demo sweeps at the end


def _correction(world: DemoWorld, at: dt.datetime) -> None:
    """A social worker finds minutes were recorded wrong: reverse, then credit again."""
    for txn, volunteer, category, minutes, points in world.rng.sample(world.credits, min(5, len(world.credits))):
        corrected = minutes - 30
        if corrected <= 0 or world.hours[volunteer] < minutes or world.points[volunteer] < points:
            continue
        ledger.reverse(world.session, txn, actor=world.rng.choice(SOCIAL_WORKERS), now=at, memo="更正：签退时间记录有误")
        world.hours[volunteer] -= minutes
        world.points[volunteer] -= points
        world.credits.remove((txn, volunteer, category, minutes, points))
        _credit(world, volunteer, corrected, category, ended=at - dt.timedelta(days=1), memo="更正后重新记入")
        return
