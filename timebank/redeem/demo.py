"""The demo's stations at work: opening hours, a catalogue, stock, and months of counter history.

`timebank demo` (timebank/demo.py) calls `open_stations` once the ledger's
accounts are open, then `StationsAtWork.serve` for each day of its history.
Everything goes through the services the pages call: the coordinator sets the
opening hours and builds the catalogue, the station's clerk receives deliveries
and counts the shelves (`catalogue.change_stock`), scans a volunteer's phone
code (`counter.start_visit`), redeems a basket inside opening hours
(`counter.redeem`) and now and then voids one the same day with a reason
(`counter.void_redemption`). The demo mirrors balances, stock and limits in
memory, so it only ever asks for what a volunteer can have: no basket is refused.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter as Tally
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from timebank.auth.codes import phone_code
from timebank.localtime import LOCAL_TZ, local_day
from timebank.people.access import Actor, actor_for
from timebank.people.models import Person
from timebank.redeem import catalogue, counter
from timebank.redeem.models import CatalogueItem, Station

if TYPE_CHECKING:
    from timebank.demo import DemoWorld

#: Visit tickets are signed and checked within the build and never leave it, so any fixed key serves.
DEMO_SECRET = "timebank-demo-counter"
WANJIA, MARKET = "26度万家驿站", "东城社区爱心超市"
#: Station name -> (ISO weekdays, opens, closes), local time.
HOURS = {WANJIA: ("1234567", "08:00", "20:00"), MARKET: ("123456", "09:00", "17:00")}
VOID_REASONS = ("扫错了会员码", "志愿者改选其他物品", "数量录入有误")
#: One basket in this many is voided the same day.
VOID_ONE_IN = 15


@dataclass(frozen=True)
class Offering:
    """A catalogue entry of the demo: `where` is an organisation key (all its stations) or a station's name."""

    name: str
    kind: str
    price: int
    where: str
    unit: str = "PTS"
    per_day: int | None = None
    per_month: int | None = None
    delivery: int = 0  # how many one delivery brings, for goods and vouchers
    description: str | None = None


CATALOGUE = (
    Offering("理发服务", "service", 20, "street", per_month=2, description="驿站志愿理发师，每周二、四、六上午"),
    Offering("居家照护一小时", "service", 60, "street", unit="HOUR", per_month=4, description="助老服务队上门照护，用服务时长兑换"),
    Offering("爱心代金券 10元", "voucher", 50, "street", per_month=2, delivery=30, description="镇内合作商户通用"),
    Offering("大米 5kg", "goods", 60, WANJIA, per_day=1, delivery=20),
    Offering("食用油 1.8L", "goods", 45, WANJIA, per_day=1, delivery=20),
    Offering("鸡蛋一盒", "goods", 15, WANJIA, per_day=2, delivery=40),
    Offering("量血压·健康咨询", "service", 5, WANJIA),
    Offering("洗衣液", "goods", 25, MARKET, delivery=30),
    Offering("毛巾", "goods", 10, MARKET, per_day=3, delivery=50),
    Offering("挂面 1kg", "goods", 12, MARKET, delivery=40),
    Offering("助浴服务（一次）", "service", 90, "east", unit="HOUR", per_month=2, description="东城助老服务队上门助浴"),
)


@dataclass
class Shelf:
    """One station at work: its counter, what it offers, and its stock as the demo last left it."""

    station: Station
    clerk: Actor
    counter: counter.Counter
    hours: tuple[str, str, str]
    items: list[CatalogueItem]
    deliveries: dict[int, int]  # item id -> how many a delivery brings
    stock: Tally = field(default_factory=Tally)
    redeemed: int = 0
    voided: int = 0


@dataclass
class StationsAtWork:
    """The demo's stations, served day after day; `used` mirrors each volunteer's redemptions against the limits."""

    world: DemoWorld
    shelves: list[Shelf]
    people: dict[int, Person]
    used: Tally = field(default_factory=Tally)  # (volunteer, item id, day or (year, month)) -> how many

    def serve(self, day: dt.date) -> None:
        """A local day at every station open then: deliveries at opening, then baskets, some voided."""
        if day >= local_day(self.world.now):
            return  # whole past days only, so the same seed builds the same history at any hour
        rng = self.world.rng
        for shelf in self.shelves:
            weekdays, opens, closes = shelf.hours
            if str(day.isoweekday()) not in weekdays:
                continue
            first, last = _minutes(opens) + 15, _minutes(closes) - 20
            self._restock(shelf, _moment(day, first - 10))
            # Each basket goes through the real counter service, so a day brings a few, not a crowd: the demo stays quick.
            for minute in sorted(rng.sample(range(first, last), rng.randint(0, 2))):
                self._basket(shelf, _moment(day, minute))

    def _restock(self, shelf: Shelf, at: dt.datetime) -> None:
        """The clerk books in a delivery of whatever runs low, and once in a while a count finds a damaged one."""
        for item_id, delivery in shelf.deliveries.items():
            if shelf.stock[item_id] < delivery // 4:
                self._move(shelf, item_id, delivery, at, reason="received", note="供货入库")
        damaged = [item_id for item_id in shelf.deliveries if shelf.stock[item_id] > 0]
        if damaged and self.world.rng.random() < 0.02:
            self._move(shelf, self.world.rng.choice(damaged), -1, at, reason="adjusted", note="盘点：包装破损一件")

    def _move(self, shelf: Shelf, item_id: int, change: int, at: dt.datetime, *, reason: str, note: str) -> None:
        catalogue.change_stock(self.world.session, shelf.station.id, {"item_id": item_id, "change": change, "reason": reason, "note": note},
                               actor=shelf.clerk, now=at)
        shelf.stock[item_id] += change

    def _basket(self, shelf: Shelf, at: dt.datetime) -> None:
        """A volunteer who has points shows 我的码; the clerk fills a basket they can afford and confirms it."""
        world, rng = self.world, self.world.rng
        candidates = [v for v in world.volunteers if world.points[v] >= 10]
        if not candidates:
            return
        volunteer = rng.choice(candidates)
        left = {"PTS": world.points[volunteer], "HOUR": world.hours[volunteer]}
        lines: dict[int, int] = {}
        for item in rng.sample(shelf.items, rng.randint(1, 3)):
            if item.commodity == "HOUR" and rng.random() < 0.6:
                continue  # most come for goods and points; hours buy care, and are kept for it
            quantity = 2 if item.kind == "goods" and item.price <= 15 and rng.random() < 0.3 else 1
            if quantity * item.price <= left[item.commodity] and self._allowed(shelf, volunteer, item, quantity, at):
                lines[item.id] = quantity
                left[item.commodity] -= quantity * item.price
        if not lines:
            return
        session = world.session
        visit = counter.start_visit(session, shelf.counter, phone_code(self.people[volunteer], DEMO_SECRET, now=at), DEMO_SECRET, now=at)
        basket = {"visit": visit.ticket, "idempotency_key": world.key("basket"),
                  "lines": [{"item_id": item_id, "quantity": quantity} for item_id, quantity in lines.items()]}
        redemption, _ = counter.redeem(session, shelf.counter, basket, DEMO_SECRET, now=at + dt.timedelta(minutes=rng.randint(1, 4)))
        self._account(shelf, volunteer, redemption.lines, redemption.created_at, sign=1)
        shelf.redeemed += 1
        if rng.randrange(VOID_ONE_IN) == 0:
            voided_at = redemption.created_at + dt.timedelta(minutes=rng.randint(2, 15))
            counter.void_redemption(session, redemption, shelf.counter, {"reason": rng.choice(VOID_REASONS)}, now=voided_at)
            self._account(shelf, volunteer, redemption.lines, redemption.created_at, sign=-1)
            shelf.voided += 1

    def _allowed(self, shelf: Shelf, volunteer: int, item: CatalogueItem, quantity: int, at: dt.datetime) -> bool:
        """In stock, and within the item's daily and monthly limits for this volunteer."""
        day = local_day(at)
        return (
            (not item.tracks_stock or shelf.stock[item.id] >= quantity)
            and (item.limit_per_day is None or self.used[(volunteer, item.id, day)] + quantity <= item.limit_per_day)
            and (item.limit_per_month is None or self.used[(volunteer, item.id, (day.year, day.month))] + quantity <= item.limit_per_month)
        )

    def _account(self, shelf: Shelf, volunteer: int, lines, made_at: dt.datetime, *, sign: int) -> None:
        """Mirror a redemption (sign 1) or its void (sign -1): balances, stock, what counts against the limits."""
        day = local_day(made_at)
        spent = {"PTS": 0, "HOUR": 0}
        for line in lines:
            spent[line.commodity] += line.amount
            if line.item_id in shelf.deliveries:
                shelf.stock[line.item_id] -= sign * line.quantity
            self.used[(volunteer, line.item_id, day)] += sign * line.quantity
            self.used[(volunteer, line.item_id, (day.year, day.month))] += sign * line.quantity
        self.world.points[volunteer] -= sign * spent["PTS"]
        self.world.hours[volunteer] -= sign * spent["HOUR"]

    def summary(self) -> str:
        """One line: each station's hours, catalogue, redemptions and where its counter is."""
        return "stations' counters: " + "; ".join(
            f"{shelf.station.name} ({counter.opening_hours(shelf.station)}): {len(shelf.items)} items, "
            f"{shelf.redeemed} redemptions ({shelf.voided} voided), /stations/{shelf.station.id}/counter"
            for shelf in self.shelves
        )


def open_stations(world: DemoWorld, at: dt.datetime) -> StationsAtWork:
    """Set the stations' opening hours and build their catalogue, as the programme's coordinator."""
    session, cast = world.session, world.cast
    coordinator = actor_for(session, cast.coordinator)
    stations = {name: session.get(Station, station_id) for station_id, name in cast.stations.items()}
    for name, (weekdays, opens, closes) in HOURS.items():
        catalogue.set_station_hours(session, stations[name].id, {"open_days": weekdays, "opens_at": opens, "closes_at": closes},
                                    actor=coordinator, now=at)
    deliveries: dict[int, int] = {}
    for number, offering in enumerate(CATALOGUE):
        where = {"station_id": stations[offering.where].id} if offering.where in stations else {"organisation_id": cast.organisations[offering.where].id}
        item = catalogue.create_item(session, {
            "name": offering.name, "kind": offering.kind, "price": offering.price, "commodity": offering.unit,
            "limit_per_day": offering.per_day, "limit_per_month": offering.per_month, "description": offering.description, **where,
        }, actor=coordinator, now=at + dt.timedelta(minutes=number))
        if offering.delivery:
            deliveries[item.id] = offering.delivery
    shelves = []
    for station in stations.values():
        clerk = actor_for(session, cast.station_staff[station.id])
        offers = catalogue.catalogue(session, station)
        shelves.append(Shelf(
            station=station, clerk=clerk, counter=counter.open_counter(session, station.id, actor=clerk), hours=HOURS[station.name],
            items=[offer.item for offer in offers],
            deliveries={offer.item.id: deliveries[offer.item.id] for offer in offers if offer.item.tracks_stock},
        ))
    return StationsAtWork(world, shelves, {person.id: person for person in cast.volunteers})


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _moment(day: dt.date, minute: int) -> dt.datetime:
    """The UTC moment of a local day's minute."""
    return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)
