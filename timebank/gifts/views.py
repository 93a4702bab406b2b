"""The volunteer's pages for giving hours to family (赠送时间) and donating them to the community pool (捐赠时间)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from timebank.auth.login import current_actor, current_person, now, requires
from timebank.gifts import services
from timebank.gifts.eligibility import available_minutes, hours
from timebank.gifts.schemas import DonationFormSchema, GiftFormSchema
from timebank.needs.pool import figures
from timebank.people.labels import RELATION_NAMES
from timebank.people.models import Person
from timebank.people.services import load
from timebank.web import db_session, done, form_data, refusable

bp = Blueprint("gifts", __name__, url_prefix="/gifts")


def form_key() -> str:
    """A fresh key for a form, so that sending it twice gives once."""
    return secrets.token_urlsafe(16)


def _give_page() -> tuple[str, dict[str, Any]]:
    person = current_person()
    session = db_session()
    return "gifts/give.html", {
        "relatives": services.relatives(session, person.id),
        "relation_names": RELATION_NAMES,
        "available": available_minutes(session, person.id),
        "chosen": request.form.get("receiver_id") or request.args.get("to", ""),
        "key": request.form.get("key") or form_key(),
    }


@bp.route("/give", methods=["GET", "POST"])
@requires()
def give() -> ResponseReturnValue:
    """Give hours to a confirmed family member."""
    if request.method == "GET":
        template, context = _give_page()
        return render_template(template, **context)

    def send() -> ResponseReturnValue:
        values = load(GiftFormSchema(), form_data())
        session = db_session()
        services.give(session, values["receiver_id"], values["minutes"], actor=current_actor(), now=now(), key=values["key"])
        receiver = session.get(Person, values["receiver_id"])
        return done(gettext("You gave %(hours)s h of time credit to %(name)s.", hours=hours(values["minutes"]), name=receiver.real_name),
                    "me.balances")

    return refusable(send, _give_page)


def _donate_page() -> tuple[str, dict[str, Any]]:
    person = current_person()
    session = db_session()
    pool = services.donation_pool(session, person.id)
    return "gifts/donate.html", {
        "pool": pool,
        "pool_figures": figures(session, pool.id),
        "available": available_minutes(session, person.id),
        "key": request.form.get("key") or form_key(),
    }


@bp.route("/donate", methods=["GET", "POST"])
@requires()
def donate() -> ResponseReturnValue:
    """Donate hours to one's community pool."""
    if request.method == "GET":
        template, context = _donate_page()
        return render_template(template, **context)

    def send() -> ResponseReturnValue:
        values = load(DonationFormSchema(), form_data())
        services.donate(db_session(), values["minutes"], actor=current_actor(), now=now(), key=values["key"])
        return done(gettext("Thank you! You donated %(hours)s h to the community pool.", hours=hours(values["minutes"])), "me.balances")

    return refusable(send, _donate_page)
