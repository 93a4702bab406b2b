"""Needs pages: asking for help (signed in or not), 我的需求 (each request with its orders, visits and codes), the needs list with its exports, a need's page and the triage decisions.

The residents, resources and service projects pages are in `register_views`, on the same blueprint.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from timebank.auth.login import current_actor, limiter, now, requires
from timebank.certify.exports import csv_chunks, write_xlsx
from timebank.events.models import Phase
from timebank.events.services import managed_activities
from timebank.localtime import local
from timebank.needs import cards, lists, orders, ratings, services, triage, visits
from timebank.needs.lists import CHANNEL_NAMES, COLOUR_NAMES, EVENT_NAMES, STATUS_NAMES
from timebank.needs.models import Channel, Colour, Need, NeedStatus, Resource
from timebank.needs.residents import NEED_STAFF, RESIDENT_LEVELS, can_see_address
from timebank.needs.resources import list_resources
from timebank.needs.schemas import NeedQuerySchema
from timebank.orgs.services import tree
from timebank.people.access import Actor
from timebank.people.models import FamilyLink, Person
from timebank.people.privacy import NOTICE_VERSION, RETENTION_YEARS
from timebank.people.services import load
from timebank.web import db_session, done, form_data, refusable, submit

bp = Blueprint("needs", __name__, url_prefix="/needs")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Public forms are throttled per address, as registration is; staff recording need after need are not.
PUBLIC_FORM_LIMIT = "10 per hour"
#: Activities a need may be folded into: not yet over.
OPEN_PHASES = (Phase.DRAFT, Phase.PUBLISHED, Phase.UNDER_WAY)


@bp.context_processor
def labels() -> dict[str, Any]:
    """Names the needs pages show for colours, channels and statuses."""
    return {
        "colour_name": lambda c: COLOUR_NAMES.get(c, c),
        "channel_name": lambda c: CHANNEL_NAMES.get(c, c),
        "status_text": lambda s: STATUS_NAMES.get(s, s),
        "event_name": lambda a: EVENT_NAMES.get(a, a.replace("_", " ")),
        "is_overdue": lambda need: services.is_overdue(need, now()),
        "when": lambda moment: local(moment).strftime("%Y-%m-%d %H:%M") if moment else "",
        "notice_version": NOTICE_VERSION,
        "retention_years": RETENTION_YEARS,
    }


def signed_in_actor() -> Actor | None:
    """The actor, or None when nobody is signed in (the public form)."""
    return current_actor() if current_user.is_authenticated else None


def community_choices(actor: Actor | None) -> list[tuple[int, str]]:
    """The communities a need may come from: the staff member's own, or every community for everyone else."""
    if actor is not None and actor.has(*NEED_STAFF):
        return [(o.id, o.name) for o in tree(db_session(), root_paths=actor.paths(NEED_STAFF)) if o.level in RESIDENT_LEVELS]
    return [(o.id, o.name) for o in tree(db_session()) if o.level == "community"]


# -- asking for help ----------------------------------------------------------------------


def _ask_context() -> dict[str, Any]:
    """What the form offers this person: communities, and (signed in) their confirmed relatives or, for staff, the channels."""
    actor = signed_in_actor()
    relatives: list[tuple[int, str]] = []
    if actor is not None:
        linked = select(Person).join(FamilyLink, FamilyLink.relative_id == Person.id).where(
            FamilyLink.person_id == actor.id, FamilyLink.confirmed_at.is_not(None)
        )
        relatives = [(p.id, p.real_name) for p in db_session().scalars(linked.order_by(Person.id))]
    staff = actor is not None and actor.has(*NEED_STAFF)
    return {
        "communities": community_choices(actor),
        "relatives": relatives,
        "staff": staff,
        "channels": [(c.value, CHANNEL_NAMES[c.value]) for c in Channel if c != Channel.ONLINE] if staff else [],
        "colours": [(c.value, COLOUR_NAMES[c.value]) for c in (Colour.BLUE, Colour.YELLOW, Colour.RED)],
    }


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit(PUBLIC_FORM_LIMIT, methods=["POST"], exempt_when=lambda: current_user.is_authenticated)
def new() -> ResponseReturnValue:
    """Ask for help: what, when, where and a phone number; anyone may, signed in or not; staff record on a resident's behalf."""
    context = _ask_context()
    if request.method == "GET":
        values = {"resident_id": request.args.get("resident_id")}
        if len(context["communities"]) == 1:
            values["organisation_id"] = context["communities"][0][0]
        return render_template("needs/new.html", values=values, **context)

    def record() -> ResponseReturnValue:
        need = services.record_need(db_session(), form_data(), actor=signed_in_actor(), now=now())
        if context["staff"] and need.recorded_by is not None and need.channel != Channel.ONLINE.value:
            return done(gettext("The need has been recorded."), "needs.detail", need_id=need.id)
        db_session().commit()
        return render_template("needs/recorded.html", need=need)

    return submit(record, template="needs/new.html", values={}, **context)


def mine_page() -> tuple[str, dict[str, Any]]:
    """我的需求: each need one speaks for, where it stands, its orders and visitors, the code to read out, and what to rate."""
    session, actor, at = db_session(), current_actor(), now()
    needs = services.my_needs(session, actor, now=at)
    by_need = orders.orders_of_needs(session, [n.id for n in needs])
    codes = {}
    for found in by_need.values():
        for order in found:
            for assignment in orders.live(order):
                step = visits.next_step(assignment)
                if step:
                    codes[assignment.id] = (step, *cards.visit_code(assignment.id, step, current_app.config["SECRET_KEY"], now=at))
    rated = ratings.ratings_of(session, [a.id for found in by_need.values() for o in found for a in o.assignments])
    return "needs/mine.html", {
        "needs": needs, "orders_of": by_need, "codes": codes, "rated": rated, "visited": ratings.VISITED,
        "may_cancel": {n.id for n in needs if services.may_cancel(n, actor)},
    }


@bp.get("/mine")
@requires()
def mine() -> ResponseReturnValue:
    """我的需求: the needs one asked for, for oneself or for family, with their orders, visitors, codes and ratings."""
    template, context = mine_page()
    return render_template(template, **context)


# -- the needs list -------------------------------------------------------------------------


def _filtered() -> tuple[dict[str, Any], list[Need]]:
    filters = load(NeedQuerySchema(), {k: v for k, v in request.args.items() if v})
    return filters, lists.find_needs(db_session(), actor=current_actor(), filters=filters, now=now())


@bp.get("/")
@requires(*NEED_STAFF)
def index() -> ResponseReturnValue:
    """The needs of the actor's communities: filtered by colour, state, community, category and channel; overdue first."""
    filters, needs = _filtered()
    return render_template(
        "needs/list.html", needs=needs, filters=filters, communities=community_choices(current_actor()),
        colours=list(COLOUR_NAMES.items()), statuses=[(s.value, STATUS_NAMES[s.value]) for s in NeedStatus],
        channels=list(CHANNEL_NAMES.items()), query=request.query_string.decode(),
    )


@bp.get("/export.csv")
@requires(*NEED_STAFF)
def export_csv() -> ResponseReturnValue:
    """The filtered needs list as CSV (UTF-8 with BOM, as Chinese Excel opens it)."""
    _filters, needs = _filtered()
    # Read whole while the session is open: the list is bounded (lists.LIMIT).
    body = "".join(csv_chunks(list(lists.export_rows(needs, now=now()))))
    return Response(body, mimetype="text/csv; charset=utf-8", headers={"Content-Disposition": 'attachment; filename="needs.csv"'})


@bp.get("/export.xlsx")
@requires(*NEED_STAFF)
def export_xlsx() -> ResponseReturnValue:
    """The filtered needs list as an Excel workbook."""
    _filters, needs = _filtered()
    book = io.BytesIO()  # bounded by lists.LIMIT rows
    write_xlsx(lists.export_rows(needs, now=now()), book, sheet="居民需求")
    book.seek(0)
    return send_file(book, mimetype=XLSX, as_attachment=True, download_name="needs.xlsx")


# -- one need ---------------------------------------------------------------------------------


def _detail(need_id: int) -> dict[str, Any]:
    """Everything the need's page shows this person: for staff the history and the decisions; for the requester, where it stands."""
    session, actor = db_session(), current_actor()
    need = services.visible_need(session, need_id, actor=actor)
    staff = actor.may(NEED_STAFF, need.organisation)
    context: dict[str, Any] = {
        "need": need,
        "staff": staff,
        "show_address": can_see_address(session, actor, need.resident),
        "may_cancel": services.may_cancel(need, actor),
        "may_triage": actor.may(services.TRIAGERS, need.organisation),
        "waiting": need.status == NeedStatus.RECORDED.value,
        "closable": need.status in triage.CLOSABLE,
    }
    if staff:
        context["events"] = services.history(session, need.id)
        actors = {e.actor_id for e in context["events"] if e.actor_id}
        context["people"] = dict(session.execute(select(Person.id, Person.real_name).where(Person.id.in_(actors))).all())
    if context["may_triage"] and context["waiting"]:
        at = now()
        context["activities"] = [a for a in managed_activities(session, actor=actor) if a.phase(at) in OPEN_PHASES]
        context["resources"] = list_resources(session, actor=actor, active_only=True)
        context["order_url"] = url_for("orders.new", need_id=need.id) if "orders.new" in current_app.view_functions else None
    context["resource"] = session.get(Resource, need.resource_id) if need.resource_id is not None else None
    return context


@bp.get("/<int:need_id>")
@requires()
def detail(need_id: int) -> ResponseReturnValue:
    """A need: staff see it whole, with its history and what to decide; its requester sees where it stands."""
    return render_template("needs/detail.html", **_detail(need_id))


def _decision(need_id: int, action: Any, message: str) -> ResponseReturnValue:
    """Run one decision on the need and come back to its page (or show the page again with the problem)."""

    def decide() -> ResponseReturnValue:
        action(db_session(), need_id, form_data(), actor=current_actor(), now=now())
        return done(message, "needs.detail", need_id=need_id)

    return submit(decide, template="needs/detail.html", **_detail(need_id))


@bp.post("/<int:need_id>/assess")
@requires(*services.TRIAGERS)
def assess(need_id: int) -> ResponseReturnValue:
    """Record the assessment: notes, category, difficulty and colour (a new colour sets a new deadline)."""
    return _decision(need_id, triage.assess, gettext("The assessment has been saved."))


@bp.post("/<int:need_id>/activity")
@requires(*services.TRIAGERS)
def activity(need_id: int) -> ResponseReturnValue:
    """Answer the need with an activity: an existing one, or a new draft."""
    return _decision(need_id, triage.fold_into_activity, gettext("The need has been taken into the activity."))


@bp.post("/<int:need_id>/refer")
@requires(*services.TRIAGERS)
def refer(need_id: int) -> ResponseReturnValue:
    """Pass the need to a partner of the resources list; the requester is told."""
    return _decision(need_id, triage.refer, gettext("The need has been referred; the requester has been told."))


@bp.post("/<int:need_id>/decline")
@requires(*services.TRIAGERS)
def decline(need_id: int) -> ResponseReturnValue:
    """Decline the need, with the reason the requester reads."""
    return _decision(need_id, triage.decline, gettext("The need has been declined; the requester has been told why."))


@bp.post("/<int:need_id>/close")
@requires(*services.TRIAGERS)
def close(need_id: int) -> ResponseReturnValue:
    """Close an answered need (已办结, green)."""
    return _decision(need_id, lambda s, i, _data, **kw: triage.close(s, i, **kw), gettext("The need is closed."))


@bp.post("/<int:need_id>/cancel")
@requires()
def cancel(need_id: int) -> ResponseReturnValue:
    """Cancel the need before any service, saying why (whoever placed it, the resident, or a social worker)."""
    if request.form.get("back") != "mine":
        return _decision(need_id, services.cancel_need, gettext("The need has been cancelled."))

    def from_my_requests() -> ResponseReturnValue:
        services.cancel_need(db_session(), need_id, form_data(), actor=current_actor(), now=now())
        return done(gettext("The need has been cancelled."), "needs.mine")

    return refusable(from_my_requests, mine_page)


# The residents, resources and service projects pages join this blueprint from their own module.
from timebank.needs import register_views  # noqa: E402

PAGE_MODULES = (register_views,)
