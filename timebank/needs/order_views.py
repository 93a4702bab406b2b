"""Pages of the order loop: staff make and dispatch orders and follow up low ratings; volunteers answer offers,
claim orders and confirm visits on their phone; residents and whoever placed a need cancel orders and rate the
visits (their orders and the spoken codes are on "My requests", `needs.mine`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from timebank.auth.login import current_actor, current_person, limiter, now, requires
from timebank.domain import NotFound
from timebank.needs import services as needs_services
from timebank.needs import cards, orders, ratings, suggestions, visits
from timebank.needs import views as needs_views
from timebank.needs.models import Need, Resident
from timebank.orgs.services import get_organisation
from timebank.people.me_views import qr_data_uri
from timebank.web import db_session, done, form_data, refusable

bp = Blueprint("orders", __name__)
STAFF = orders.STAFF


@bp.after_request
def no_store(response: Response) -> Response:
    """Pages with addresses, codes and CSRF tokens are never kept by caches."""
    response.headers["Cache-Control"] = "no-store"
    return response


def secret() -> str:
    """The key codes and cards are signed with."""
    return current_app.config["SECRET_KEY"]


# -- staff: making and dispatching orders --------------------------------------------------


def _need(need_id: int) -> Need:
    need = db_session().get(Need, need_id) if need_id else None
    if need is None:
        raise NotFound("Unknown need.")
    current_actor().require(STAFF, get_organisation(db_session(), need.organisation_id))
    return need


@bp.route("/needs/<int:need_id>/orders/new", methods=["GET", "POST"])
@requires(*STAFF)
def new(need_id: int) -> ResponseReturnValue:
    """The order form for a need: one visit or recurring, volunteers, skills, category, window, hours, who pays."""
    need = _need(need_id)

    def page() -> tuple[str, dict[str, Any]]:
        return "needs/orders/new.html", {"need": need}

    def create() -> ResponseReturnValue:
        order = orders.create_order(db_session(), need.id, form_data(), actor=current_actor(), now=now())
        return done(gettext("Order made. Now dispatch it to volunteers."), "orders.detail", order_id=order.id)

    if request.method == "POST":
        return refusable(create, page)
    template, context = page()
    return render_template(template, **context)


@bp.get("/orders")
@requires(*STAFF)
def index() -> ResponseReturnValue:
    """Orders in the actor's communities, newest first, and how many low ratings wait for a call."""
    session, actor = db_session(), current_actor()
    return render_template("needs/orders/index.html", orders=orders.managed_orders(session, actor=actor),
                           calls=len(ratings.follow_ups(session, actor=actor)))


def detail_page(order_id: int) -> tuple[str, dict[str, Any]]:
    """One order for staff: the need, the slots and their actions, ranked suggestions, the history."""
    session, actor, at = db_session(), current_actor(), now()
    order = orders.managed_order(session, order_id, actor=actor)
    free = orders.free_slots(session, order)
    ranked = suggestions.suggest(session, order, now=at, limit=20) if free and order.status != "cancelled" else []
    return "needs/orders/detail.html", {
        "order": order, "need": order.need, "address": orders.address_of(order), "free": free, "suggestions": ranked,
        "history": needs_services.history(session, order.need_id), "rated": ratings.ratings_of(session, [a.id for a in order.assignments]),
        "next_step": visits.next_step,
    }


@bp.get("/orders/<int:order_id>")
@requires(*STAFF)
def detail(order_id: int) -> ResponseReturnValue:
    """One order for staff."""
    template, context = detail_page(order_id)
    return render_template(template, **context)


@bp.post("/orders/<int:order_id>/dispatch")
@requires(*STAFF)
def dispatch(order_id: int) -> ResponseReturnValue:
    """Offer the free slots to the volunteers ticked."""
    def act() -> ResponseReturnValue:
        offered = orders.dispatch(db_session(), order_id, form_data(lists=("volunteer_ids",)), actor=current_actor(), now=now())
        return done(gettext("Offered to %(count)d volunteer(s).", count=len(offered)), "orders.detail", order_id=order_id)

    return refusable(act, lambda: detail_page(order_id))


def _assignment_order_id(assignment_id: int) -> int:
    return orders.get_assignment(db_session(), assignment_id).order_id


@bp.post("/orders/assignments/<int:assignment_id>/withdraw")
@requires(*STAFF)
def withdraw(assignment_id: int) -> ResponseReturnValue:
    """Take a volunteer off the order before the visit."""
    order_id = _assignment_order_id(assignment_id)

    def act() -> ResponseReturnValue:
        orders.withdraw(db_session(), assignment_id, form_data(), actor=current_actor(), now=now())
        return done(gettext("The volunteer was taken off the order; the place can be dispatched again."), "orders.detail", order_id=order_id)

    return refusable(act, lambda: detail_page(order_id))


@bp.post("/orders/assignments/<int:assignment_id>/no-show")
@requires(*STAFF)
def no_show(assignment_id: int) -> ResponseReturnValue:
    """Record that the volunteer did not come."""
    order_id = _assignment_order_id(assignment_id)

    def act() -> ResponseReturnValue:
        orders.record_no_show(db_session(), assignment_id, form_data(), actor=current_actor(), now=now())
        return done(gettext("Recorded as not coming; the place can be dispatched again."), "orders.detail", order_id=order_id)

    return refusable(act, lambda: detail_page(order_id))


@bp.post("/orders/assignments/<int:assignment_id>/staff-confirm")
@requires(*STAFF)
def staff_confirm(assignment_id: int) -> ResponseReturnValue:
    """Confirm a visit's start or end for a resident with neither code nor card (a staff member's word)."""
    order_id = _assignment_order_id(assignment_id)
    data = form_data()

    def act() -> ResponseReturnValue:
        step = "end" if data.get("step") == "end" else "start"
        visits.confirm_step(db_session(), assignment_id, step, {"method": "staff"}, actor=current_actor(), secret_key=secret(), now=now())
        return done(gettext("Visit started.") if step == "start" else gettext("Visit ended."), "orders.detail", order_id=order_id)

    return refusable(act, lambda: detail_page(order_id))


@bp.post("/orders/<int:order_id>/cancel")
@requires()
def cancel(order_id: int) -> ResponseReturnValue:
    """Call the order off before the visit, with a reason (staff, the resident, or whoever placed the need)."""
    session, actor = db_session(), current_actor()
    order = orders.get_order(session, order_id)
    staff = orders.manages(session, order, actor=actor)

    def act() -> ResponseReturnValue:
        orders.cancel_order(session, order_id, form_data(), actor=actor, now=now())
        if staff:
            return done(gettext("Order cancelled."), "orders.detail", order_id=order_id)
        return done(gettext("Order cancelled."), "needs.mine")

    return refusable(act, (lambda: detail_page(order_id)) if staff else needs_views.mine_page)


@bp.post("/orders/assignments/<int:assignment_id>/rate")
@requires()
def rate(assignment_id: int) -> ResponseReturnValue:
    """Rate a visit: the resident, whoever placed the need, or staff taking the rating by phone."""
    session, actor = db_session(), current_actor()
    order = orders.get_assignment(session, assignment_id).order
    staff = orders.manages(session, order, actor=actor)

    def act() -> ResponseReturnValue:
        ratings.rate(session, assignment_id, form_data(), actor=actor, now=now())
        if staff:
            return done(gettext("Thank you: the rating is recorded."), "orders.detail", order_id=order.id)
        return done(gettext("Thank you: the rating is recorded."), "needs.mine")

    return refusable(act, (lambda: detail_page(order.id)) if staff else needs_views.mine_page)


@bp.get("/orders/follow-ups")
@requires(*STAFF)
def follow_ups() -> ResponseReturnValue:
    """Low ratings waiting for a social worker's call, and the latest calls made."""
    template, context = follow_ups_page()
    return render_template(template, **context)


def follow_ups_page() -> tuple[str, dict[str, Any]]:
    """The follow-up list's template and context."""
    session, actor = db_session(), current_actor()
    waiting = ratings.follow_ups(session, actor=actor)
    return "needs/orders/follow_ups.html", {
        "waiting": waiting, "called": ratings.follow_ups(session, actor=actor, done=True)[-50:],
        "order_of": lambda r: ratings.rating_order(session, r),
    }


@bp.post("/orders/ratings/<int:rating_id>/follow-up")
@requires(*STAFF)
def follow_up(rating_id: int) -> ResponseReturnValue:
    """Record the call made after a low rating."""
    def act() -> ResponseReturnValue:
        ratings.follow_up(db_session(), rating_id, form_data(), actor=current_actor(), now=now())
        return done(gettext("Follow-up recorded."), "orders.follow_ups")

    return refusable(act, follow_ups_page)


@bp.get("/residents/<int:resident_id>/card")
@requires(*STAFF, orders.Role.GRID_WORKER)
def card(resident_id: int) -> ResponseReturnValue:
    """The resident's printable card: the QR code volunteers scan at the home to confirm a visit."""
    session = db_session()
    resident = session.get(Resident, resident_id) if resident_id else None
    if resident is None:
        raise NotFound("Unknown resident.")
    current_actor().require((*STAFF, orders.Role.GRID_WORKER), get_organisation(session, resident.organisation_id))
    return render_template("needs/orders/card.html", resident=resident, qr=qr_data_uri(cards.card_code(resident, secret())))


# -- volunteers: offers, claims and visits -------------------------------------------------------


def mine_page() -> tuple[str, dict[str, Any]]:
    """The volunteer's orders: offers to answer, visits to make, orders open to claim."""
    session, person, at = db_session(), current_person(), now()
    return "needs/orders/mine.html", {
        "assignments": orders.my_assignments(session, person.id), "claimable": orders.claimable(session, person, now=at), "now": at,
    }


@bp.get("/me/orders")
@requires()
def mine() -> ResponseReturnValue:
    """The volunteer's orders and the open ones they may claim."""
    template, context = mine_page()
    return render_template(template, **context)


def visit_page(assignment_id: int) -> tuple[str, dict[str, Any]]:
    """One of the volunteer's orders on their phone: what, when, where (once accepted), and the visit's next step."""
    session, person = db_session(), current_person()
    assignment = orders.own_assignment(session, assignment_id, volunteer_id=person.id)
    order = assignment.order
    shown = assignment.status in ("accepted", "started", "ended")
    return "needs/orders/visit.html", {
        "assignment": assignment, "order": order, "address": orders.address_of(order) if shown else None,
        "resident": order.need.resident if shown else None, "step": visits.next_step(assignment), "now": now(),
    }


@bp.get("/me/orders/<int:assignment_id>")
@requires()
def visit(assignment_id: int) -> ResponseReturnValue:
    """One of the volunteer's orders."""
    template, context = visit_page(assignment_id)
    return render_template(template, **context)


@bp.post("/me/orders/<int:assignment_id>/accept")
@requires()
def accept(assignment_id: int) -> ResponseReturnValue:
    """Accept an offer."""
    def act() -> ResponseReturnValue:
        orders.accept(db_session(), assignment_id, volunteer=current_person(), now=now())
        return done(gettext("Accepted. Thank you! The address is below."), "orders.visit", assignment_id=assignment_id)

    return refusable(act, lambda: visit_page(assignment_id))


@bp.post("/me/orders/<int:assignment_id>/decline")
@requires()
def decline(assignment_id: int) -> ResponseReturnValue:
    """Decline an offer."""
    def act() -> ResponseReturnValue:
        orders.decline(db_session(), assignment_id, form_data(), volunteer=current_person(), now=now())
        return done(gettext("Declined. Your social worker will ask someone else."), "orders.mine")

    return refusable(act, lambda: visit_page(assignment_id))


@bp.post("/me/orders/<int:assignment_id>/confirm")
@requires()
@limiter.limit("20 per minute;60 per hour")  # spoken codes are six digits: guessing must stay slow
def confirm(assignment_id: int) -> ResponseReturnValue:
    """Start or end the visit with the resident's card, member code or spoken code."""
    data = form_data()

    def act() -> ResponseReturnValue:
        step = "end" if data.get("step") == "end" else "start"
        visits.confirm_step(db_session(), assignment_id, step, data, actor=current_actor(), secret_key=secret(), now=now())
        return done(gettext("Visit started.") if step == "start" else gettext("Visit ended. Thank you!"), "orders.visit", assignment_id=assignment_id)

    return refusable(act, lambda: visit_page(assignment_id))


@bp.post("/orders/<int:order_id>/claim")
@requires()
def claim(order_id: int) -> ResponseReturnValue:
    """Claim a place on an open order."""
    def act() -> ResponseReturnValue:
        assignment = orders.claim(db_session(), order_id, volunteer=current_person(), now=now())
        return done(gettext("The place is yours. Thank you!"), "orders.visit", assignment_id=assignment.id)

    return refusable(act, mine_page)


# -- residents and whoever placed the need ----------------------------------------------------------


@bp.get("/me/requests")
@requires()
def requests() -> ResponseReturnValue:
    """The old address of the services ordered for the person: their requests are on one page now, "My requests"."""
    return redirect(url_for("needs.mine"), 302)
