"""Coordinators' pages about people: registrations, search, records, roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext

from timebank.auth import services as auth
from timebank.auth.codes import card_code
from timebank.auth.login import current_actor, now, requires, vault
from timebank.orgs.management import managed_tree
from timebank.people.labels import RELATION_NAMES, ROLE_NAMES, STATUS_NAMES
from timebank.people import registers, services
from timebank.people.access import CARERS, MANAGERS
from timebank.people.models import SOCIAL_WORKER_LEVELS, FamilyLink, RoleGrant, Status
from timebank.people.privacy import NOTICE_VERSION, RETENTION_YEARS
from timebank.web import db_session, done, form_data, record_id, record_ids, submit

bp = Blueprint("people", __name__, url_prefix="/people")

PAGE_SIZE = 50
#: Pages that show a number or password once: never cached, never back-buttoned into.
NO_STORE = {"Cache-Control": "no-store"}


@bp.app_context_processor
def privacy_notice() -> dict[str, Any]:
    """The notice's version and retention, wherever a page shows the notice (registration, in person, import)."""
    return {"notice_version": NOTICE_VERSION, "retention_years": RETENTION_YEARS}


@bp.context_processor
def names() -> dict[str, Any]:
    """Labels the people pages show for statuses, roles and relations."""
    return {
        "status_name": lambda status: STATUS_NAMES.get(status, status),
        "role_name": lambda role: ROLE_NAMES.get(role, role),
        "relation_name": lambda relation: RELATION_NAMES.get(relation, relation),
        "status_options": [(key, str(label)) for key, label in STATUS_NAMES.items()],
        "role_options": [(key, str(label)) for key, label in ROLE_NAMES.items()],
        "certificate_options": [(level, level) for level in SOCIAL_WORKER_LEVELS],
    }


def _page() -> int:
    """The ?page= asked for, from 1."""
    return min(max(1, request.args.get("page", 1, type=record_id) or 1), 100_000)


def _listing(status: str | None, query: str = "") -> dict[str, Any]:
    """One page of the people in the actor's subtrees, with their organisations."""
    page = _page()
    session = db_session()
    people, total = services.search(session, actor=current_actor(), query=query, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return {
        "people": people,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "organisations": registers.organisations_by_id(session, {p.home_organisation_id for p in people}),
    }


# -- registrations ----------------------------------------------------------


@bp.get("/registrations")
@requires(*MANAGERS)
def registrations() -> ResponseReturnValue:
    """Pending self-registrations in the actor's subtrees, to approve or reject."""
    return render_template("people/people_registrations.html", **_listing(Status.PENDING.value))


def _on_registrations(action: Callable[[], ResponseReturnValue], **context: Any) -> ResponseReturnValue:
    """Run an action from the registrations list; refused input shows the list again."""
    return submit(action, template="people/people_registrations.html", **_listing(Status.PENDING.value), **context)


@bp.post("/<int:person_id>/approve")
@requires(*MANAGERS)
def approve(person_id: int) -> ResponseReturnValue:
    """Approve one registration; the volunteer can sign in at once."""
    person = services.approve(db_session(), person_id, actor=current_actor(), now=now())
    return done(gettext("Approved: %(name)s.", name=person.real_name), "people.registrations")


@bp.post("/registrations/approve")
@requires(*MANAGERS)
def approve_many() -> ResponseReturnValue:
    """Approve the chosen registrations (or every one shown) in one go."""
    data = form_data(lists=("person_ids", "shown"))
    chosen = data["shown"] if data.get("all") else data["person_ids"]
    ids = record_ids(chosen)

    def approve_and_commit() -> ResponseReturnValue:
        approved = registers.approve_all(db_session(), ids, actor=current_actor(), now=now())
        count = len(approved)
        return done(ngettext("Approved %(num)d registration.", "Approved %(num)d registrations.", count), "people.registrations")

    return _on_registrations(approve_and_commit)


@bp.post("/<int:person_id>/reject")
@requires(*MANAGERS)
def reject(person_id: int) -> ResponseReturnValue:
    """Turn a registration down, saying why."""
    reason = form_data().get("reason") or ""

    def reject_and_commit() -> ResponseReturnValue:
        person = services.reject(db_session(), person_id, actor=current_actor(), reason=reason, now=now())
        return done(gettext("Rejected: %(name)s.", name=person.real_name), "people.registrations")

    return _on_registrations(reject_and_commit, rejecting=person_id)


# -- finding and registering ------------------------------------------------------


@bp.get("")
@requires(*CARERS)
def search() -> ResponseReturnValue:
    """Find volunteers by name, phone, volunteer number or part of the masked ID."""
    query = (request.args.get("q") or "").strip()
    status = request.args.get("status") if request.args.get("status") in STATUS_NAMES else None
    can_register = current_actor().has(*MANAGERS)
    return render_template("people/people_search.html", q=query, status=status, can_register=can_register, **_listing(status, query))


@bp.route("/new", methods=["GET", "POST"])
@requires(*MANAGERS)
def register_in_person() -> ResponseReturnValue:
    """Register a volunteer who came in person (a password only if they will sign in); active at once."""
    organisations = [(o.id, "\u3000" * depth + o.name) for o, depth in managed_tree(db_session(), actor=current_actor())]
    if request.method == "GET":
        return render_template("people/people_new.html", organisations=organisations)

    def register_and_commit() -> ResponseReturnValue:
        person = services.register(db_session(), form_data(lists=("service_categories",)), actor=current_actor(), vault=vault(), now=now())
        return done(gettext("Registered and approved: %(name)s.", name=person.real_name), "people.detail", person_id=person.id)

    return submit(register_and_commit, template="people/people_new.html", organisations=organisations)


# -- one person's record -----------------------------------------------------------


@bp.get("/<int:person_id>")
@requires(*CARERS)
def detail(person_id: int) -> ResponseReturnValue:
    """A person's record: profile (ID masked), roles, family links and audit trail."""
    return render_template("people/people_detail.html", record=registers.person_record(db_session(), person_id, actor=current_actor()))


@bp.route("/<int:person_id>/edit", methods=["GET", "POST"])
@requires(*MANAGERS)
def edit(person_id: int) -> ResponseReturnValue:
    """Correct a person's national-record fields (a new ID number only if one is typed)."""
    person = registers.managed_person(db_session(), person_id, actor=current_actor())
    if request.method == "GET":
        return render_template("people/people_edit.html", person=person)

    def save() -> ResponseReturnValue:
        services.update_profile(db_session(), person_id, form_data(lists=("service_categories",)), actor=current_actor(), vault=vault(), now=now())
        return done(gettext("The record has been saved."), "people.detail", person_id=person_id)

    return submit(save, template="people/people_edit.html", person=person)


@bp.post("/<int:person_id>/id-number")
@requires(*MANAGERS)
def id_number(person_id: int) -> ResponseReturnValue:
    """Show the whole ID number once; the viewing is logged."""
    number = services.reveal_id_number(db_session(), person_id, actor=current_actor(), vault=vault(), now=now())
    db_session().commit()
    person = services.get_person(db_session(), person_id)
    return render_template("people/people_id_number.html", person=person, number=number), 200, NO_STORE


@bp.post("/<int:person_id>/reset-password")
@requires(*MANAGERS)
def reset_password(person_id: int) -> ResponseReturnValue:
    """Set a temporary password, shown once; the person must change it at next sign-in."""
    temporary = auth.reset_password(db_session(), person_id, actor=current_actor(), now=now())
    db_session().commit()
    person = services.get_person(db_session(), person_id)
    return render_template("people/people_password_reset.html", person=person, temporary=temporary), 200, NO_STORE


@bp.get("/<int:person_id>/card")
@requires(*MANAGERS)
def card(person_id: int) -> ResponseReturnValue:
    """The printable card of a volunteer without a smartphone."""
    person = registers.managed_person(db_session(), person_id, actor=current_actor())
    organisation = registers.organisations_by_id(db_session(), [person.home_organisation_id])[person.home_organisation_id]
    code = card_code(person, current_app.secret_key)
    return render_template("people/people_card.html", person=person, organisation=organisation, code=code), 200, NO_STORE


@bp.post("/<int:person_id>/new-card")
@requires(*MANAGERS)
def new_card(person_id: int) -> ResponseReturnValue:
    """Issue a new card (the old one stops working) and go to its print page."""
    registers.replace_card(db_session(), person_id, actor=current_actor(), now=now())
    return done(gettext("A new card has been issued; earlier cards no longer work. Print this one."), "people.card", person_id=person_id)


@bp.post("/links/<int:link_id>/confirm")
@requires(*MANAGERS)
def confirm_link(link_id: int) -> ResponseReturnValue:
    """Confirm a family link on the family's behalf."""
    link: FamilyLink = services.confirm_family_link(db_session(), link_id, actor=current_actor(), now=now())
    return done(gettext("The family link is confirmed."), "people.detail", person_id=link.person_id)


# -- roles --------------------------------------------------------------------------


@bp.post("/<int:person_id>/roles")
@requires(*MANAGERS)
def grant_role(person_id: int) -> ResponseReturnValue:
    """Give the person a role over an organisation (a station for station staff, a certificate for social workers)."""
    record = registers.person_record(db_session(), person_id, actor=current_actor())

    def grant_and_commit() -> ResponseReturnValue:
        grant: RoleGrant = services.grant_role(db_session(), person_id, form_data(), actor=current_actor(), now=now())
        return done(gettext("Role granted: %(role)s.", role=ROLE_NAMES.get(grant.role, grant.role)), "people.detail", person_id=person_id)

    return submit(grant_and_commit, template="people/people_detail.html", record=record)


@bp.post("/roles/<int:grant_id>/revoke")
@requires(*MANAGERS)
def revoke_role(grant_id: int) -> ResponseReturnValue:
    """End a role grant."""
    grant = services.revoke_role(db_session(), grant_id, actor=current_actor(), now=now())
    return done(gettext("Role revoked: %(role)s.", role=ROLE_NAMES.get(grant.role, grant.role)), "people.detail", person_id=grant.person_id)
