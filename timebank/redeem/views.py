"""Station pages: the counter (scan, basket, receipt, void), the station's day, stock, catalogue, and the
coordinators' overview with its exports.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from timebank.auth.login import current_actor, current_person, now, requires
from timebank.auth.schemas import masked_name
from timebank.certify.exports import csv_chunks
from timebank.domain import InvalidInput, NotFound
from timebank.exports import views as exports
from timebank.localtime import local, local_day
from timebank.orgs.services import home_policy, lineage
from timebank.people.balances import summary
from timebank.people.access import MANAGERS
from timebank.people.me_views import hours_text
from timebank.people.models import Person, Role
from timebank.people.services import load
from timebank.redeem import catalogue, counter, reports
from timebank.redeem.api import COUNTER_ROLES, counter_here
from timebank.redeem.models import ItemKind
from timebank.redeem.schemas import DayQuerySchema
from timebank.web import db_session, done, form_data, reads_first, record_id, refusable

bp = Blueprint("redeem", __name__)

MOVEMENT_NAMES = {
    "received": lazy_gettext("Received"), "adjusted": lazy_gettext("Adjusted"),
    "redeemed": lazy_gettext("Redeemed"), "voided": lazy_gettext("Returned by a void"),
}
KIND_NAMES = {ItemKind.GOODS: lazy_gettext("Goods"), ItemKind.VOUCHER: lazy_gettext("Voucher"), ItemKind.SERVICE: lazy_gettext("A service")}
#: The counter's pages hold a person's balances and a live basket: never cached, never shown stale.
NO_STORE = {"Cache-Control": "no-store"}


@bp.context_processor
def labels() -> dict[str, Any]:
    """How the station pages write units, kinds and times."""

    def price(amount: int, unit: str) -> str:
        if unit == "HOUR":
            return hours_text(amount)  # the volunteer's own pages write time the same way
        return gettext("%(points)d points", points=amount)

    return {"kind_name": lambda kind: KIND_NAMES.get(kind, kind), "movement_reason": lambda reason: MOVEMENT_NAMES.get(reason, reason), "price": price, "local": local, "masked_name": masked_name}


def _counter(station_id: int) -> counter.Counter:
    return counter_here(station_id)


# -- the stations list -------------------------------------------------------------------


@bp.get("/stations")
@requires(*COUNTER_ROLES)
def index() -> ResponseReturnValue:
    """The stations the person works at or manages."""
    actor = current_actor()
    return render_template("redeem/index.html", stations=catalogue.stations_staffed(db_session(), actor), manages=actor.has(*MANAGERS))


@bp.get("/me/stations")
@requires()
def near_me() -> ResponseReturnValue:
    """For the volunteer: the stations nearby, their hours and what each offers today, against their own points."""
    session, person, at = db_session(), current_person(), now()
    found = [(station, counter.opening_hours(station), catalogue.catalogue(session, station, now=at))
             for station in catalogue.stations_near(session, person)]
    return render_template("redeem/near_me.html", stations=found, balances=summary(session, person.id, home_policy(session, person)))


# -- the counter -----------------------------------------------------------------------


def _counter_page(station_id: int, ticket: str | None = None) -> tuple[str, dict[str, Any]]:
    """The counter: the scan field, or the visiting volunteer's basket."""
    session, at = db_session(), now()
    here = _counter(station_id)
    context: dict[str, Any] = {"station": here.station, "hours": counter.opening_hours(here.station), "visit": None}
    if ticket:
        context["visit"] = counter.resume_visit(session, here, ticket, current_app.config["SECRET_KEY"], now=at)
        context["offers"] = catalogue.catalogue(session, here.station, now=at)
        context["left_today"] = counter.left_today(session, context["visit"].volunteer.id, [o.item for o in context["offers"]], now=at)
        context["basket_key"] = (request.form.get("idempotency_key") if request.method == "POST" else None) or secrets.token_urlsafe(18)
    return "redeem/counter.html", context


@bp.get("/stations/<int:station_id>/counter")
@requires(*COUNTER_ROLES, allow_device=True)
def counter_page(station_id: int) -> ResponseReturnValue:
    """The counter: scan a member code, then fill the basket."""
    ticket = request.args.get("visit")

    def show() -> ResponseReturnValue:
        template, context = _counter_page(station_id, ticket)
        return render_template(template, **context), 200, NO_STORE

    return refusable(show, lambda: _counter_page(station_id))


@bp.post("/stations/<int:station_id>/counter")
@requires(*COUNTER_ROLES, allow_device=True)
def scan(station_id: int) -> ResponseReturnValue:
    """A scanned member code: open the volunteer's visit."""
    code = (request.form.get("member_code") or "").strip()

    def open_visit() -> ResponseReturnValue:
        if not code:
            raise InvalidInput(errors={"member_code": ["Scan a member code."]})
        visit = counter.start_visit(db_session(), _counter(station_id), code, current_app.config["SECRET_KEY"], now=now())
        return redirect(url_for("redeem.counter_page", station_id=station_id, visit=visit.ticket))

    return refusable(open_visit, lambda: _counter_page(station_id))


@bp.post("/stations/<int:station_id>/redemptions")
@reads_first
@requires(*COUNTER_ROLES, allow_device=True)
def redeem(station_id: int) -> ResponseReturnValue:
    """Confirm the basket; a repeated or retried confirmation shows the first receipt."""
    data = form_data()
    lines = [
        {"item_id": key[len("qty_"):], "quantity": value}
        for key, value in data.items() if key.startswith("qty_") and value not in (None, "0")
    ]
    request_data = {"visit": data.get("visit"), "idempotency_key": data.get("idempotency_key"), "lines": lines}

    def redeem_and_commit() -> ResponseReturnValue:
        redemption, _new = counter.redeem(db_session(), _counter(station_id), request_data, current_app.config["SECRET_KEY"], now=now())
        return done(gettext("Redeemed: %(number)s.", number=redemption.number), "redeem.receipt", redemption_id=redemption.id)

    return refusable(redeem_and_commit, lambda: _counter_page(station_id, data.get("visit")))


def _receipt_page(redemption_id: int) -> tuple[str, dict[str, Any]]:
    session = db_session()
    redemption, here = counter.get_redemption(session, redemption_id, _counter)
    volunteer = session.get(Person, redemption.volunteer_id)
    same_day = local_day(redemption.created_at) == local_day(now())
    return "redeem/receipt.html", {
        "redemption": redemption, "station": here.station, "volunteer": masked_name(volunteer.real_name),
        "may_void": redemption.status == "completed" and (same_day or here.manages(session)),
        "after": counter.balances_after(session, redemption),
    }


@bp.get("/redemptions/<int:redemption_id>")
@requires(*COUNTER_ROLES, allow_device=True)
def receipt(redemption_id: int) -> ResponseReturnValue:
    """The receipt, for a small printer; with the void form while a void is allowed."""
    template, context = _receipt_page(redemption_id)
    return render_template(template, **context)


@bp.post("/redemptions/<int:redemption_id>/void")
@requires(*COUNTER_ROLES, allow_device=True)
def void(redemption_id: int) -> ResponseReturnValue:
    """Void a redemption with a reason."""
    data = form_data()

    def void_and_commit() -> ResponseReturnValue:
        session = db_session()
        redemption, here = counter.get_redemption(session, redemption_id, _counter, lock=True)
        counter.void_redemption(session, redemption, here, data, now=now())
        return done(gettext("Voided: %(number)s. The points are back with the volunteer.", number=redemption.number), "redeem.receipt", redemption_id=redemption_id)

    return refusable(void_and_commit, lambda: _receipt_page(redemption_id))


# -- the station's day and stock ---------------------------------------------------------


@bp.get("/stations/<int:station_id>/day")
@requires(*COUNTER_ROLES)
def day(station_id: int) -> ResponseReturnValue:
    """The station's day: redemptions, voids, totals, stock at close, and whether the ledger agrees."""
    here = _counter(station_id)
    chosen = load(DayQuerySchema(), request.args)["day"] or local_day(now())
    report = reports.station_day(db_session(), here.station, chosen)
    return render_template("redeem/day.html", report=report, station=here.station, previous=chosen - dt.timedelta(days=1), following=chosen + dt.timedelta(days=1))


def _stock_page(station_id: int) -> tuple[str, dict[str, Any]]:
    session = db_session()
    station = catalogue.get_station(session, station_id)
    if not catalogue.may_keep_stock(current_actor(), station, catalogue.station_organisation(session, station)):
        raise NotFound("No such station.")
    offers = [offer for offer in catalogue.catalogue(session, station) if offer.item.tracks_stock]
    return "redeem/stock.html", {
        "station": station, "offers": offers, "movements": catalogue.movements(session, station.id),
        "item_options": [(offer.item.id, offer.item.name) for offer in offers],
    }


@bp.get("/stations/<int:station_id>/stock")
@requires(*COUNTER_ROLES)
def stock(station_id: int) -> ResponseReturnValue:
    """Stock levels and the latest movements, with the form to record a delivery or a count."""
    template, context = _stock_page(station_id)
    return render_template(template, **context)


@bp.post("/stations/<int:station_id>/stock")
@requires(*COUNTER_ROLES)
def change_stock(station_id: int) -> ResponseReturnValue:
    """Record stock received, or an adjustment with its reason."""
    data = form_data()

    def record_and_commit() -> ResponseReturnValue:
        movement = catalogue.change_stock(db_session(), station_id, data, actor=current_actor(), now=now())
        return done(gettext("Stock recorded: %(change)+d, now %(count)d.", change=movement.change, count=movement.quantity_after), "redeem.stock", station_id=station_id)

    return refusable(record_and_commit, lambda: _stock_page(station_id))


# -- the catalogue (coordinators) -----------------------------------------------------------


def _catalogue_page(station_id: int) -> tuple[str, dict[str, Any]]:
    session = db_session()
    station = catalogue.get_station(session, station_id)
    organisation = catalogue.station_organisation(session, station)
    current_actor().require(MANAGERS, organisation)
    return "redeem/catalogue.html", {
        "station": station, "offers": catalogue.catalogue(session, station),
        "scopes": [(o.id, o.name) for o in lineage(session, organisation) if current_actor().may(MANAGERS, o)],
    }


@bp.get("/stations/<int:station_id>/catalogue")
@requires(Role.COORDINATOR, Role.ADMIN)
def catalogue_page(station_id: int) -> ResponseReturnValue:
    """The station's catalogue, its opening hours, and the forms to add items."""
    template, context = _catalogue_page(station_id)
    return render_template(template, **context)


@bp.post("/stations/<int:station_id>/items")
@requires(Role.COORDINATOR, Role.ADMIN)
def add_item(station_id: int) -> ResponseReturnValue:
    """Add an item, offered at this station only or at every station below the chosen organisation."""
    data = form_data()
    scope = data.pop("scope", None) or "station"
    data.update(station_id=station_id if scope == "station" else None, organisation_id=None if scope == "station" else scope)
    picture = request.files.get("picture")

    def add_and_commit() -> ResponseReturnValue:
        session = db_session()
        item = catalogue.create_item(session, data, actor=current_actor(), now=now())
        if picture and picture.filename:
            catalogue.set_picture(session, item.id, picture.read(catalogue.PICTURE_MAX_BYTES + 1), actor=current_actor(), now=now())
        return done(gettext("Added to the catalogue: %(name)s.", name=item.name), "redeem.catalogue_page", station_id=station_id)

    return refusable(add_and_commit, lambda: _catalogue_page(station_id))


@bp.post("/stations/<int:station_id>/hours")
@requires(Role.COORDINATOR, Role.ADMIN)
def set_hours(station_id: int) -> ResponseReturnValue:
    """Set the days and times the counter is open."""
    data = form_data(lists=("open_days",))

    def set_and_commit() -> ResponseReturnValue:
        catalogue.set_station_hours(db_session(), station_id, data, actor=current_actor(), now=now())
        return done(gettext("Opening hours saved."), "redeem.catalogue_page", station_id=station_id)

    return refusable(set_and_commit, lambda: _catalogue_page(station_id))


def _item_page(item_id: int) -> tuple[str, dict[str, Any]]:
    item = catalogue.managed_item(db_session(), item_id, actor=current_actor())
    return "redeem/item_edit.html", {"item": item, "station_id": request.args.get("station_id", type=record_id) or request.form.get("station_id", type=record_id)}


@bp.get("/catalogue/items/<int:item_id>/edit")
@requires(Role.COORDINATOR, Role.ADMIN)
def edit_item(item_id: int) -> ResponseReturnValue:
    """The item's form: name, price, limits, dates, picture."""
    template, context = _item_page(item_id)
    return render_template(template, **context)


@bp.post("/catalogue/items/<int:item_id>/edit")
@requires(Role.COORDINATOR, Role.ADMIN)
def update_item(item_id: int) -> ResponseReturnValue:
    """Save the item's changes (recorded in the audit log); a new picture replaces the old one."""
    data = form_data()
    station_id = data.pop("station_id", None)
    picture = request.files.get("picture")

    def save_and_commit() -> ResponseReturnValue:
        session = db_session()
        item = catalogue.update_item(session, item_id, data, actor=current_actor(), now=now())
        if picture and picture.filename:
            catalogue.set_picture(session, item.id, picture.read(catalogue.PICTURE_MAX_BYTES + 1), actor=current_actor(), now=now())
        if station_id:
            return done(gettext("Saved: %(name)s.", name=item.name), "redeem.catalogue_page", station_id=station_id)
        return done(gettext("Saved: %(name)s.", name=item.name), "redeem.index")

    return refusable(save_and_commit, lambda: _item_page(item_id))


@bp.post("/catalogue/items/<int:item_id>/retire")
@requires(Role.COORDINATOR, Role.ADMIN)
def retire_item(item_id: int) -> ResponseReturnValue:
    """Stop offering an item."""
    station_id = request.form.get("station_id", type=record_id)
    item = catalogue.retire_item(db_session(), item_id, actor=current_actor(), now=now())
    if station_id:
        return done(gettext("No longer offered: %(name)s.", name=item.name), "redeem.catalogue_page", station_id=station_id)
    return done(gettext("No longer offered: %(name)s.", name=item.name), "redeem.index")


@bp.get("/catalogue/items/<int:item_id>/picture")
@requires(*COUNTER_ROLES, allow_device=True)
def picture(item_id: int) -> ResponseReturnValue:
    """The item's picture (a small JPEG)."""
    item = catalogue.get_item(db_session(), item_id)
    if not item.picture:
        raise NotFound("This item has no picture.")
    return Response(item.picture, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


# -- the coordinators' overview and exports ---------------------------------------------------


def _period() -> tuple[dt.date, dt.date]:
    """?from= and ?to= (local days, inclusive); the last 30 days by default."""
    today = local_day(now())
    try:
        start = dt.date.fromisoformat(request.args["from"]) if request.args.get("from") else today - dt.timedelta(days=29)
        end = dt.date.fromisoformat(request.args["to"]) if request.args.get("to") else today
    except ValueError:
        raise InvalidInput(errors={"from": ["Enter a date, e.g. 2026-12-01."]}) from None
    if end < start:
        raise InvalidInput(errors={"to": ["The last day cannot come before the first."]})
    if (end - start).days > 366:
        raise InvalidInput(errors={"from": ["Choose at most a year."]})
    return start, end


@bp.get("/redemptions/overview")
@requires(Role.COORDINATOR, Role.ADMIN)
def overview() -> ResponseReturnValue:
    """All stations below the coordinator: redemptions over time, popular items, the liability, reconciliation."""
    start, end = _period()
    report = reports.overview(db_session(), current_actor().paths(MANAGERS), start=start, end=end)
    return render_template("redeem/overview.html", report=report, start=start, end=end)


def _export_rows() -> Iterator[tuple]:
    start, end = _period()
    yield reports.EXPORT_HEADINGS
    yield from reports.export_rows(db_session(), current_actor().paths(MANAGERS), start=start, end=end)


@bp.get("/redemptions/export.csv")
@requires(Role.COORDINATOR, Role.ADMIN)
def export_csv() -> ResponseReturnValue:
    """The period's redemption lines as CSV (UTF-8 with BOM, as Chinese Excel opens it), streamed."""
    rows = _export_rows()
    first = next(rows)  # the period is checked before the answer starts
    lines = csv_chunks(itertools.chain([first], rows))
    return Response(stream_with_context(lines), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=redemptions.csv"})


@bp.post("/redemptions/export.xlsx")
@requires(Role.COORDINATOR, Role.ADMIN)
def export_xlsx() -> ResponseReturnValue:
    """Ask for the period's redemption lines as an Excel workbook, written in the background; then its page."""
    return exports.ask("redemptions", form_data())

