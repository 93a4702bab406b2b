"""The volunteer's own pages: profile, member code, printed card, balances, family."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import qrcode
import qrcode.constants
from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from timebank.auth import codes
from timebank.auth.login import current_actor, current_person, now, requires, vault
from timebank.gifts.services import counterparts as gift_counterparts
from timebank.ledger.models import Commodity
from timebank.orgs.services import effective_policy, get_organisation
from timebank.people import balances as balance_service, services
from timebank.people.models import INVERSE_RELATION, FamilyLink, Person
from timebank.people.labels import RELATION_NAMES, ROLE_NAMES
from timebank.people.schemas import FamilyLinkSchema
from timebank.web import db_session, form_data, record_id, submit

bp = Blueprint("me", __name__, url_prefix="/me")

#: The phone page fetches a fresh code this long after the last one (codes live 120 s).
CODE_REFRESH_SECONDS = 100


@dataclass(frozen=True)
class FamilyRow:
    """One family link as the signed-in person sees it."""

    link: FamilyLink
    relative: Person
    relation: str  # what the relative is to me
    asked_by_me: bool

    @property
    def confirmed(self) -> bool:
        """True once the link is in force."""
        return self.link.confirmed_at is not None

    @property
    def masked_phone(self) -> str:
        """The relative's phone with the middle hidden: 138****0001."""
        return self.relative.phone[:3] + "****" + self.relative.phone[-4:]


@bp.after_request
def no_store(response: Response) -> Response:
    """Personal pages and live member codes are never kept by caches or the back button."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("qr_data_uri")
def qr_data_uri(text: str) -> str:
    """`text` as a black-on-white QR code in a PNG data URI (scanners and cameras read it alike)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@bp.app_template_filter("hours_text")
def hours_text(minutes: int, signed: bool = False) -> str:
    """Minutes in plain words: `1 小时 30 分钟`, `+2 小时`, `-45 分钟`."""
    sign = ("+" if minutes > 0 else "-" if minutes < 0 else "") if signed else ("-" if minutes < 0 else "")
    hours, rest = divmod(abs(minutes), 60)
    if hours and rest:
        text = gettext("%(hours)d h %(minutes)d min", hours=hours, minutes=rest)
    elif hours or not rest:
        text = gettext("%(hours)d h", hours=hours)
    else:
        text = gettext("%(minutes)d min", minutes=rest)
    return sign + text


def family_rows(person: Person) -> list[FamilyRow]:
    """The person's family links, each from their own side."""
    session = db_session()
    rows = []
    for link in services.family_links(session, person.id):
        asked_by_me = link.person_id == person.id
        relative = session.get(Person, link.relative_id if asked_by_me else link.person_id)
        relation = link.relation if asked_by_me else INVERSE_RELATION[link.relation]
        rows.append(FamilyRow(link, relative, relation, asked_by_me))
    return rows


def fresh_code(person: Person) -> dict[str, object]:
    """A new phone member code, its QR image and how long it lives."""
    at = now()
    code = codes.phone_code(person, current_app.secret_key, now=at)
    typed = codes.typed_code(person, current_app.secret_key, now=at)
    return {"code": code, "typed": typed, "png": qr_data_uri(code), "expires_in": codes.PHONE_CODE_SECONDS}


@bp.get("")
@requires()
def profile() -> ResponseReturnValue:
    """The signed-in person's profile, roles and family links."""
    person = current_person()
    return render_template(
        "people/me.html",
        person=person,
        organisation=get_organisation(db_session(), person.home_organisation_id),
        role_names=ROLE_NAMES,
        relation_names=RELATION_NAMES,
        family=family_rows(person),
    )


@bp.route("/edit", methods=["GET", "POST"])
@requires()
def edit() -> ResponseReturnValue:
    """Edit one's own record: the national record's fields; the ID number only when typed again."""
    person = current_person()
    if request.method == "GET":
        return render_template("people/me_edit.html", person=person)

    def save() -> ResponseReturnValue:
        data = form_data(lists=("service_categories",))
        if not data.get("id_number"):
            # The document type changes only together with a newly typed number.
            data.pop("id_type", None)
            data.pop("id_number", None)
        services.update_profile(db_session(), person.id, data, actor=current_actor(), vault=vault(), now=now())
        db_session().commit()
        flash(gettext("Your details have been saved."))
        return redirect(url_for("me.profile"))

    return submit(save, template="people/me_edit.html", person=person)


@bp.get("/code")
@requires()
def code() -> ResponseReturnValue:
    """我的码: the rotating member code as a big QR, renewing itself every 100 seconds."""
    person = current_person()
    return render_template("people/me_code.html", person=person, refresh_after=CODE_REFRESH_SECONDS, **fresh_code(person))


@bp.get("/code.json")
@requires()
def code_json() -> ResponseReturnValue:
    """A fresh member code for the page to swap in."""
    return jsonify(fresh_code(current_person()))


@bp.get("/card")
@requires()
def card() -> ResponseReturnValue:
    """The printable card with the person's static card code, for those without a smartphone."""
    person = current_person()
    return render_template(
        "people/me_card.html",
        person=person,
        code=codes.card_code(person, current_app.secret_key),
        organisation=get_organisation(db_session(), person.home_organisation_id),
    )


@bp.post("/card/new")
@requires()
def new_card() -> ResponseReturnValue:
    """A lost card: issue a new one, so the old card no longer works."""
    codes.issue_new_card(db_session(), current_person(), actor=current_actor(), now=now())
    db_session().commit()
    flash(gettext("You have a new card. The old card no longer works; print this one."))
    return redirect(url_for("me.card"))


@bp.get("/balances")
@requires()
def balances() -> ResponseReturnValue:
    """Time credit, points, certified hours, star level, and the statement of hours or points."""
    person = current_person()
    session = db_session()
    commodity = Commodity.PTS if request.args.get("show") == "points" else Commodity.HOUR
    policy = effective_policy(session, get_organisation(session, person.home_organisation_id))
    page = balance_service.history(session, person.id, commodity, before=request.args.get("before", type=record_id))
    return render_template(
        "people/me_balances.html",
        person=person,
        balances=balance_service.summary(session, person.id, policy),
        commodity=commodity.value,
        page=page,
        counterparts=gift_counterparts(session, [line.transaction_id for line in page.lines], person.id),
    )


@bp.route("/family", methods=["GET", "POST"])
@requires()
def family() -> ResponseReturnValue:
    """Family links in both directions; ask to link a relative by their phone number."""
    person = current_person()
    context = {"family": family_rows(person), "relation_names": RELATION_NAMES}
    if request.method == "GET":
        return render_template("people/me_family.html", **context)

    def ask() -> ResponseReturnValue:
        values = services.load(FamilyLinkSchema(), form_data())
        services.request_family_link(
            db_session(), person.id, values["relative_phone"], values["relation"], actor=current_actor(), now=now()
        )
        db_session().commit()
        flash(gettext("Request sent. The link works once your family member confirms it on their own phone."))
        return redirect(url_for("me.family"))

    return submit(ask, template="people/me_family.html", **context)


@bp.post("/family/<int:link_id>/confirm")
@requires()
def confirm_family(link_id: int) -> ResponseReturnValue:
    """The relative confirms a family link someone asked for."""
    services.confirm_family_link(db_session(), link_id, actor=current_actor(), now=now())
    db_session().commit()
    flash(gettext("Family link confirmed."))
    return redirect(url_for("me.family"))
