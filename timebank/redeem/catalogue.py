"""The catalogue (what a station offers, at what price) and each station's stock, changed only with a reason."""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Select, String, bindparam, literal, or_, select, update
from sqlalchemy.orm import Session

from timebank.audit.services import apply_changes, record
from timebank.domain import InvalidInput, NotFound
from timebank.events.services import neighbourhood_paths
from timebank.db import instance_of
from timebank.ledger.posting import dialect_insert
from timebank.localtime import local_day
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation
from timebank.people.access import MANAGERS, Actor
from timebank.people.models import Person
from timebank.people.services import load
from timebank.redeem.models import CatalogueItem, ItemKind, MovementReason, Station, StationStock, StockMovement
from timebank.redeem.schemas import ItemSchema, StationHoursSchema, StockChangeSchema

PICTURE_MAX_BYTES = 5 * 1024 * 1024
PICTURE_SIDE = 480
#: What may change on an item; where it is offered and what kind it is stay as they were.
EDITABLE_ITEM_FIELDS = ("name", "description", "commodity", "price", "limit_per_day", "limit_per_month", "active_from", "active_to")


@dataclass(frozen=True)
class Offer:
    """An item as one station offers it: with that station's stock (None for services)."""

    item: CatalogueItem
    stock: int | None
    has_picture: bool = False

    @property
    def in_stock(self) -> bool:
        """True for services and for goods with at least one left."""
        return self.stock is None or self.stock > 0


def get_station(session: Session, station_id: int, *, lock: bool = False) -> Station:
    """The station, or NotFound."""
    station = session.get(Station, station_id, with_for_update=lock or None)
    if station is None:
        raise NotFound("No such station.")
    return station


def station_and_organisation(session: Session, station_id: int) -> tuple[Station, Organisation]:
    """The station and the organisation it belongs to, in one query; NotFound if there is no such station.

    While the caller holds the organisation, `station_organisation` finds it in the session without a query.
    """
    row = session.connection().execute(STATION_READ, {"station_id": station_id}).first()
    if row is None:
        raise NotFound("No such station.")
    return station_from_row(session, row)


# Every counter request reads its station: one statement built once, its row made into the session's objects.
STATION_COLUMNS = tuple(Station.__table__.c)
ORGANISATION_COLUMNS = tuple(column.label(f"organisation_{column.key}") for column in Organisation.__table__.c)
STATION_READ = (
    select(*STATION_COLUMNS, *ORGANISATION_COLUMNS)
    .join_from(Station, Organisation, Organisation.id == Station.organisation_id)
    .where(Station.id == bindparam("station_id"))
)


def station_from_row(session: Session, row: Any) -> tuple[Station, Organisation]:
    """The station and its organisation from a row that starts with `STATION_READ`'s columns, as the session holds them."""
    stations, organisations = len(STATION_COLUMNS), len(ORGANISATION_COLUMNS)
    station = instance_of(session, Station, dict(zip(Station.__table__.c.keys(), row[:stations])))
    organisation = instance_of(session, Organisation, dict(zip(Organisation.__table__.c.keys(), row[stations:stations + organisations])))
    return station, organisation


def station_organisation(session: Session, station: Station) -> Organisation:
    """The organisation a station belongs to."""
    return get_organisation(session, station.organisation_id)


def may_keep_stock(actor: Actor, station: Station, organisation: Organisation) -> bool:
    """Its own staff and the coordinators above it look after a station's stock."""
    return station.id in actor.stations() or actor.may(MANAGERS, organisation)


def set_station_hours(session: Session, station_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Station:
    """Set when the counter is open (weekdays, from, until); empty means no fixed hours."""
    station = get_station(session, station_id)
    actor.require(MANAGERS, station_organisation(session, station))
    values = load(StationHoursSchema(), data)
    before = {field: getattr(station, field) for field in values}
    for field, value in values.items():
        setattr(station, field, value or None)
    record(session, actor=actor.id, action="set_station_hours", target=("station", station.id),
           changes={field: [before[field], getattr(station, field)] for field in values if before[field] != getattr(station, field)}, now=now)
    return station


# -- the catalogue -----------------------------------------------------------------


def _owner(session: Session, values: dict[str, Any], *, actor: Actor) -> tuple[Organisation, Station | None]:
    """Where an item is offered: one station (of an organisation the actor manages), or a whole subtree."""
    station = None
    if values.get("station_id"):
        try:
            station = get_station(session, values["station_id"])
        except NotFound:
            raise InvalidInput(errors={"station_id": ["Choose a station."]}) from None
        organisation = station_organisation(session, station)
    elif values.get("organisation_id"):
        try:
            organisation = get_organisation(session, values["organisation_id"])
        except NotFound:
            raise InvalidInput(errors={"organisation_id": ["Choose an organisation."]}) from None
    else:
        raise InvalidInput(errors={"station_id": ["Choose a station, or an organisation whose stations all offer the item."]})
    actor.require(MANAGERS, organisation)
    return organisation, station


def create_item(session: Session, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> CatalogueItem:
    """Add an item to one station's catalogue or to every station of an organisation subtree."""
    values = load(ItemSchema(), data)
    organisation, station = _owner(session, values, actor=actor)
    values.update(organisation_id=organisation.id, station_id=station.id if station else None)
    item = CatalogueItem(**values, tracks_stock=values["kind"] != ItemKind.SERVICE, created_by=actor.id, created_at=now)
    session.add(item)
    session.flush()
    record(session, actor=actor.id, action="create_item", target=("catalogue_item", item.id),
           changes={k: [None, str(v) if isinstance(v, dt.date) else v] for k, v in values.items() if v is not None}, now=now)
    return item


def get_item(session: Session, item_id: int) -> CatalogueItem:
    """The item, or NotFound."""
    item = session.get(CatalogueItem, item_id)
    if item is None:
        raise NotFound("No such item.")
    return item


def managed_item(session: Session, item_id: int, *, actor: Actor) -> CatalogueItem:
    """The item, if the actor manages where it is offered."""
    item = get_item(session, item_id)
    actor.require(MANAGERS, get_organisation(session, item.organisation_id))
    return item


def update_item(session: Session, item_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> CatalogueItem:
    """Change an item's name, price, limits or dates (what is not sent stays); where it is offered and its kind stay."""
    item = managed_item(session, item_id, actor=actor)
    current = {field: getattr(item, field) for field in EDITABLE_ITEM_FIELDS}
    merged = {**{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in current.items()}, **data, "kind": item.kind}
    values = load(ItemSchema(), merged)
    changes = apply_changes(item, {field: values.get(field) for field in EDITABLE_ITEM_FIELDS})
    if changes:
        record(session, actor=actor.id, action="update_item", target=("catalogue_item", item.id), changes=changes, now=now)
    return item


def retire_item(session: Session, item_id: int, *, actor: Actor, now: dt.datetime) -> CatalogueItem:
    """Stop offering an item; past redemptions keep its name and price."""
    item = managed_item(session, item_id, actor=actor)
    if item.retired_at is None:
        item.retired_at = now
        record(session, actor=actor.id, action="retire_item", target=("catalogue_item", item.id), changes={"retired_at": [None, now.isoformat()]}, now=now)
    return item


def set_picture(session: Session, item_id: int, raw: bytes, *, actor: Actor, now: dt.datetime) -> CatalogueItem:
    """Store a picture of the item, re-encoded as a small JPEG (which also drops whatever else the file carried)."""
    item = managed_item(session, item_id, actor=actor)
    if not raw:
        raise InvalidInput(errors={"picture": ["Choose a picture."]})
    if len(raw) > PICTURE_MAX_BYTES:
        raise InvalidInput(errors={"picture": ["The picture is too large: at most 5 MB."]})
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.thumbnail((PICTURE_SIDE, PICTURE_SIDE))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=82)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise InvalidInput(errors={"picture": ["This file is not a picture we can read: use JPEG or PNG."]}) from None
    item.picture = out.getvalue()
    record(session, actor=actor.id, action="set_item_picture", target=("catalogue_item", item.id), changes={"picture": ["changed", "changed"]}, now=now)
    return item


def _offered_at(station_id: Any, station_path: Any, *, on: dt.date | None):
    """The condition for an item to be offered at the station (on a day, if given); the station's id and
    its organisation's path as SQL expressions (a literal, or a parameter bound later)."""
    conditions = [
        CatalogueItem.retired_at.is_(None),
        or_(
            CatalogueItem.station_id == station_id,
            CatalogueItem.station_id.is_(None) & station_path.startswith(Organisation.path),
        ),
    ]
    if on is not None:
        conditions += [
            or_(CatalogueItem.active_from.is_(None), CatalogueItem.active_from <= on),
            or_(CatalogueItem.active_to.is_(None), CatalogueItem.active_to >= on),
        ]
    return conditions


def catalogue(session: Session, station: Station, *, now: dt.datetime | None = None) -> list[Offer]:
    """What the station offers, with its stock; only what is on offer today when `now` is given."""
    path = station_organisation(session, station).path
    rows = session.execute(
        select(CatalogueItem, StationStock.quantity, CatalogueItem.picture.is_not(None))
        .join(Organisation, Organisation.id == CatalogueItem.organisation_id)
        .outerjoin(StationStock, (StationStock.item_id == CatalogueItem.id) & (StationStock.station_id == station.id))
        .where(*_offered_at(literal(station.id), literal(path, String()), on=local_day(now) if now else None))
        .order_by(CatalogueItem.commodity.desc(), CatalogueItem.price, CatalogueItem.name, CatalogueItem.id)
    ).all()
    return [Offer(item, (quantity or 0) if item.tracks_stock else None, bool(pictured)) for item, quantity, pictured in rows]


def offered_items(session: Session, station: Station, item_ids: list[int]) -> dict[int, CatalogueItem]:
    """Those of the items this station offers at all (whatever the date), in one query."""
    values = {"item_ids": item_ids, "station_id": station.id, "station_path": station_organisation(session, station).path}
    return {item.id: item for item in session.scalars(_offered_items_query(), values)}


@functools.cache
def _offered_items_query() -> Select:
    # Every basket asks this: built once.
    return offered_items_query(CatalogueItem)


def offered_items_query(*columns: Any) -> Select:
    """The `columns` of those of the items `item_ids` that the station `station_id` (of the organisation at
    `station_path`) offers at all, whatever the date: the parameters are bound later."""
    return (
        select(*columns).join(Organisation, Organisation.id == CatalogueItem.organisation_id)
        .where(CatalogueItem.id.in_(bindparam("item_ids", expanding=True)), *_offered_at(bindparam("station_id"), bindparam("station_path", type_=String()), on=None))
    )


def offered_item(session: Session, station: Station, item_id: int) -> CatalogueItem:
    """The item if this station offers it at all (whatever the date), else NotFound."""
    found = offered_items(session, station, [item_id])
    if not found:
        raise NotFound("This station does not offer that item.")
    return found[item_id]


# -- stock ---------------------------------------------------------------------------


def move_stock(
    session: Session, station_id: int, item: CatalogueItem, change: int, *, reason: MovementReason,
    actor_id: int, now: dt.datetime, note: str | None = None, redemption_id: int | None = None,
) -> StockMovement | None:
    """Change a station's stock of an item in one guarded statement and log it; None if it would go below zero."""
    if change > 0:  # taking from a missing row is taking from nothing: no need to create it
        session.execute(
            dialect_insert(session, StationStock)
            .values(station_id=station_id, item_id=item.id, quantity=0)
            .on_conflict_do_nothing(index_elements=["station_id", "item_id"])
        )
    after = session.execute(
        update(StationStock)
        .where(StationStock.station_id == station_id, StationStock.item_id == item.id, StationStock.quantity + change >= 0)
        .values(quantity=StationStock.quantity + change)
        .returning(StationStock.quantity)
        .execution_options(synchronize_session=False)
    ).scalar()
    if after is None:
        return None
    movement = StockMovement(
        station_id=station_id, item_id=item.id, change=change, quantity_after=after, reason=reason.value,
        note=note, redemption_id=redemption_id, actor_id=actor_id, created_at=now,
    )
    session.add(movement)
    return movement


def stock_level(session: Session, station_id: int, item_id: int) -> int:
    """How many of the item the station has now."""
    return session.scalar(
        select(StationStock.quantity).where(StationStock.station_id == station_id, StationStock.item_id == item_id)
    ) or 0


def change_stock(session: Session, station_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> StockMovement:
    """Record stock received, or a counted adjustment with its reason; never below zero."""
    station = get_station(session, station_id)
    if not may_keep_stock(actor, station, station_organisation(session, station)):
        raise NotFound("No such station.")
    values = load(StockChangeSchema(), data)
    try:
        item = offered_item(session, station, values["item_id"])
    except NotFound:
        raise InvalidInput(errors={"item_id": ["Choose an item this station offers."]}) from None
    if not item.tracks_stock:
        raise InvalidInput(errors={"item_id": ["Services have no stock."]})
    movement = move_stock(session, station.id, item, values["change"], reason=MovementReason(values["reason"]),
                          actor_id=actor.id, now=now, note=(values.get("note") or "").strip() or None)
    if movement is None:
        raise InvalidInput(errors={"change": ["There is not that much in stock: the count cannot go below zero."]})
    session.flush()
    return movement


def movements(session: Session, station_id: int, *, limit: int = 100) -> list[tuple[StockMovement, str]]:
    """The station's latest stock movements with each item's name, newest first."""
    return [(movement, name) for movement, name in session.execute(
        select(StockMovement, CatalogueItem.name).join(CatalogueItem, CatalogueItem.id == StockMovement.item_id)
        .where(StockMovement.station_id == station_id).order_by(StockMovement.id.desc()).limit(limit)
    )]


def stations_staffed(session: Session, actor: Actor) -> list[Station]:
    """The open stations the actor works at, or manages."""
    paths = actor.paths(MANAGERS)
    conditions = [Station.id.in_(actor.stations())]
    if paths:
        conditions.append(or_(*[Organisation.path.startswith(path) for path in paths]))
    return list(session.scalars(
        select(Station).join(Organisation, Organisation.id == Station.organisation_id)
        .where(Station.closed_at.is_(None), or_(*conditions)).order_by(Organisation.path, Station.name)
    ))



def stations_near(session: Session, person: Person) -> list[Station]:
    """The open stations near a volunteer: in their street and above it, as for activities (`neighbourhood_paths`)."""
    ancestors, around = neighbourhood_paths(session, person)
    return list(session.scalars(
        select(Station).join(Organisation, Organisation.id == Station.organisation_id)
        .where(Station.closed_at.is_(None), or_(Organisation.path.startswith(around), Station.organisation_id.in_(ancestors)))
        .order_by(Organisation.path, Station.name)
    ))
