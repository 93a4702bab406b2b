"""What a station's day and the whole programme's redemptions add up to, and the reconciliation that ties
each station's ledger accounts to its redemptions to the point.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from timebank.auth.schemas import masked_name
from timebank.ledger.models import Account, Commodity, OwnerType, Posting, Seal, Transaction
from timebank.ledger.seal import chain_head
from timebank.ledger.rules import station_code
from timebank.localtime import LOCAL_TZ, local
from timebank.orgs.models import Organisation
from timebank.orgs.services import ids_below
from timebank.people.models import Person
from timebank.redeem.models import CatalogueItem, Redemption, RedemptionLine, RedemptionStatus, Station, StationStock, StockMovement
from timebank.workbench import tallies

UNITS = (Commodity.PTS.value, Commodity.HOUR.value)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC moments a local calendar day starts and ends."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
    return start.astimezone(dt.timezone.utc), (start + dt.timedelta(days=1)).astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class Difference:
    """One unit of one station: what its ledger account says against what its redemptions add up to."""

    unit: str
    ledger: int
    redemptions: int

    @property
    def off_by(self) -> int:
        """Ledger minus redemptions: zero when they agree."""
        return self.ledger - self.redemptions


@dataclass(frozen=True)
class StockDifference:
    """An item whose count on the shelf record is not what its movements add up to."""

    item: str
    counted: int
    moved: int


@dataclass(frozen=True)
class Reconciliation:
    """A station's ledger against its redemptions (over all time or one day), and its stock against its movements."""

    station: Station
    differences: list[Difference]
    stock: list[StockDifference] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        """True when every unit agrees to the point and every stock count to its movements."""
        return all(d.off_by == 0 for d in self.differences) and not self.stock


def _ledger_into(session: Session, station_id: int, start: dt.datetime | None, end: dt.datetime | None) -> dict[str, int]:
    """What was posted to the station's accounts (in a period, by when it was recorded)."""
    stmt = (
        select(Account.commodity, func.coalesce(func.sum(Posting.amount), 0))
        .join(Posting, Posting.account_id == Account.id)
        .where(Account.code.in_([station_code(station_id, Commodity(unit)) for unit in UNITS]))
        .group_by(Account.commodity)
    )
    if start is not None:
        stmt = stmt.join(Transaction, Transaction.id == Posting.transaction_id).where(
            Transaction.created_at >= start, Transaction.created_at < end
        )
    return {unit: int(total) for unit, total in session.execute(stmt).all()}


def _redeemed(session: Session, station_id: int, start: dt.datetime | None, end: dt.datetime | None) -> dict[str, int]:
    """What the station's redemptions took in (in a period: made in it, less voided in it)."""
    made = select(func.coalesce(func.sum(Redemption.points), 0), func.coalesce(func.sum(Redemption.minutes), 0)).where(
        Redemption.station_id == station_id
    )
    if start is None:
        points, minutes = session.execute(made.where(Redemption.status == RedemptionStatus.COMPLETED.value)).one()
        return {"PTS": int(points), "HOUR": int(minutes)}
    points, minutes = session.execute(made.where(Redemption.created_at >= start, Redemption.created_at < end)).one()
    undone_points, undone_minutes = session.execute(
        made.where(Redemption.voided_at >= start, Redemption.voided_at < end)
    ).one()
    return {"PTS": int(points) - int(undone_points), "HOUR": int(minutes) - int(undone_minutes)}


def reconcile(session: Session, station: Station, *, day: dt.date | None = None) -> Reconciliation:
    """Tie the station's ledger accounts to its redemptions, over all time or over one local day."""
    start, end = day_bounds(day) if day else (None, None)
    ledger, redeemed = _ledger_into(session, station.id, start, end), _redeemed(session, station.id, start, end)
    differences = [Difference(unit, ledger.get(unit, 0), redeemed.get(unit, 0)) for unit in UNITS]
    return Reconciliation(station, differences, [] if day else _stock_differences(session, station.id))


def _stock_differences(session: Session, station_id: int) -> list[StockDifference]:
    """Items whose recorded count differs from the sum of their movements (an edit behind the counter's back)."""
    moved = (
        select(StockMovement.item_id, func.sum(StockMovement.change).label("total"))
        .where(StockMovement.station_id == station_id).group_by(StockMovement.item_id).subquery()
    )
    rows = session.execute(
        select(CatalogueItem.name, StationStock.quantity, func.coalesce(moved.c.total, 0))
        .join(CatalogueItem, CatalogueItem.id == StationStock.item_id)
        .outerjoin(moved, moved.c.item_id == StationStock.item_id)
        .where(StationStock.station_id == station_id, StationStock.quantity != func.coalesce(moved.c.total, 0))
        .order_by(CatalogueItem.name)
    ).all()
    return [StockDifference(name, counted, int(total)) for name, counted, total in rows]


def reconcile_all(session: Session) -> list[Reconciliation]:
    """Every station's reconciliation, over all time."""
    return [reconcile(session, station) for station in session.scalars(select(Station).order_by(Station.id))]


@dataclass(frozen=True)
class ItemTotal:
    """How many of an item went, for how much."""

    name: str
    unit: str
    quantity: int
    amount: int


@dataclass
class StationDay:
    """A station's business day: what was redeemed and voided, totals, stock at close, reconciliation."""

    station: Station
    day: dt.date
    redemptions: list[Redemption]
    voided: list[Redemption]
    items: list[ItemTotal]
    totals: dict[str, int]
    stock_at_close: list[tuple[str, int]]
    reconciliation: Reconciliation
    volunteers: dict[int, str] = field(default_factory=dict)
    #: The head of the ledger's seal chain when the report was read, for the auditor to note.
    seal: Seal | None = None


def station_day(session: Session, station: Station, day: dt.date) -> StationDay:
    """The station's day report (local calendar day)."""
    start, end = day_bounds(day)
    made = list(session.scalars(
        select(Redemption).where(Redemption.station_id == station.id, Redemption.created_at >= start, Redemption.created_at < end)
        .order_by(Redemption.id).options(selectinload(Redemption.lines))
    ))
    voided = list(session.scalars(
        select(Redemption).where(Redemption.station_id == station.id, Redemption.voided_at >= start, Redemption.voided_at < end)
        .order_by(Redemption.voided_at).options(selectinload(Redemption.lines))
    ))
    items: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    totals = {unit: 0 for unit in UNITS}
    for redemption in made:
        if redemption.status != RedemptionStatus.COMPLETED:
            continue
        for line in redemption.lines:
            items[(line.item_name, line.commodity)][0] += line.quantity
            items[(line.item_name, line.commodity)][1] += line.amount
            totals[line.commodity] += line.amount
    people = {r.volunteer_id for r in made + voided}
    names = dict(session.execute(select(Person.id, Person.real_name).where(Person.id.in_(people))).all()) if people else {}
    return StationDay(
        station=station, day=day, redemptions=made, voided=voided,
        items=sorted((ItemTotal(name, unit, q, a) for (name, unit), (q, a) in items.items()), key=lambda t: (-t.quantity, t.name)),
        totals=totals, stock_at_close=stock_at(session, station.id, end),
        reconciliation=reconcile(session, station, day=day), volunteers=names, seal=chain_head(session),
    )


def stock_at(session: Session, station_id: int, moment: dt.datetime) -> list[tuple[str, int]]:
    """Each stocked item's count at a moment, from the stock movements' running counts."""
    last = (
        select(StockMovement.item_id, func.max(StockMovement.id).label("last_id"))
        .where(StockMovement.station_id == station_id, StockMovement.created_at < moment)
        .group_by(StockMovement.item_id).subquery()
    )
    rows = session.execute(
        select(CatalogueItem.name, StockMovement.quantity_after)
        .join(last, last.c.last_id == StockMovement.id)
        .join(CatalogueItem, CatalogueItem.id == StockMovement.item_id)
        .order_by(CatalogueItem.name)
    ).all()
    return [(name, quantity) for name, quantity in rows]


# -- the programme's view ------------------------------------------------------------


@dataclass
class Overview:
    """Redemptions across the stations below some organisations, over a period."""

    stations: list[tuple[Station, int, int, int]]  # station, redemptions, points, minutes
    by_day: list[tuple[dt.date, int, int]]  # day, redemptions, points
    popular: list[ItemTotal]
    points_outstanding: int  # in volunteers' hands: the programme's liability
    points_redeemed: int  # taken in by these stations, ever
    reconciliations: list[Reconciliation]


def _stations_below(paths: list[str]):
    return select(Station.id).join(Organisation, Organisation.id == Station.organisation_id).where(
        or_(*[Organisation.path.startswith(path) for path in paths])
    )


def overview(session: Session, paths: list[str], *, start: dt.date, end: dt.date) -> Overview:
    """Redemptions per station, per day and per item between two local days (inclusive), and the liability."""
    if not paths:
        return Overview([], [], [], 0, 0, [])
    since, until = day_bounds(start)[0], day_bounds(end)[1]
    in_scope = Redemption.station_id.in_(_stations_below(paths))
    live = [in_scope, Redemption.status == RedemptionStatus.COMPLETED.value, Redemption.created_at >= since, Redemption.created_at < until]
    per_station = dict(
        (row[0], row[1:]) for row in session.execute(
            select(Redemption.station_id, func.count(), func.sum(Redemption.points), func.sum(Redemption.minutes))
            .where(*live).group_by(Redemption.station_id)
        ).all()
    )
    stations = list(session.scalars(select(Station).where(Station.id.in_(_stations_below(paths))).order_by(Station.name)))
    by_day: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    for created_at, points in session.execute(select(Redemption.created_at, Redemption.points).where(*live)):
        by_day[local(created_at).date()][0] += 1
        by_day[local(created_at).date()][1] += points
    popular = session.execute(
        select(RedemptionLine.item_name, RedemptionLine.commodity, func.sum(RedemptionLine.quantity), func.sum(RedemptionLine.quantity * RedemptionLine.unit_price))
        .join(Redemption, Redemption.id == RedemptionLine.redemption_id).where(*live)
        .group_by(RedemptionLine.item_name, RedemptionLine.commodity)
        .order_by(func.sum(RedemptionLine.quantity).desc(), RedemptionLine.item_name).limit(10)
    ).all()
    # The same figure as the workbench's, from its kept tallies: a few rows per organisation, not every volunteer's account.
    outstanding = tallies.points_outstanding(session, ids_below(paths))
    redeemed = session.scalar(
        select(func.coalesce(func.sum(Account.balance), 0)).where(
            Account.owner_type == OwnerType.STATION.value, Account.commodity == Commodity.PTS.value, Account.owner_id.in_(_stations_below(paths))
        )
    )
    return Overview(
        stations=[(s, *(int(v or 0) for v in per_station.get(s.id, (0, 0, 0)))) for s in stations],
        by_day=sorted((day, count, points) for day, (count, points) in by_day.items()),
        popular=[ItemTotal(name, unit, int(q), int(a)) for name, unit, q, a in popular],
        points_outstanding=int(outstanding or 0), points_redeemed=int(redeemed or 0),
        reconciliations=[reconcile(session, s) for s in stations],
    )


EXPORT_HEADINGS = ("兑换单号", "日期时间", "驿站", "志愿者", "物品", "数量", "单价", "单位", "金额", "状态", "作废原因")


def export_rows(session: Session, paths: list[str], *, start: dt.date, end: dt.date) -> Iterator[tuple]:
    """One row per redemption line below the given organisations in the period, oldest first (streamed)."""
    if not paths:
        return
    since, until = day_bounds(start)[0], day_bounds(end)[1]
    rows = session.execute(
        select(Redemption.number, Redemption.created_at, Station.name, Person.real_name, RedemptionLine.item_name,
               RedemptionLine.quantity, RedemptionLine.unit_price, RedemptionLine.commodity, Redemption.status, Redemption.void_reason)
        .join(Redemption, Redemption.id == RedemptionLine.redemption_id)
        .join(Station, Station.id == Redemption.station_id)
        .join(Person, Person.id == Redemption.volunteer_id)
        .where(Redemption.station_id.in_(_stations_below(paths)), Redemption.created_at >= since, Redemption.created_at < until)
        .order_by(Redemption.id, RedemptionLine.id)
        .execution_options(yield_per=500)
    )
    for number, created_at, station, name, item, quantity, price, unit, status, reason in rows:
        yield (number, f"{local(created_at):%Y-%m-%d %H:%M}", station, masked_name(name), item, quantity, price,
               "积分" if unit == "PTS" else "分钟", quantity * price, "已作废" if status == RedemptionStatus.VOIDED else "完成", reason or "")
