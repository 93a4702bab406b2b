"""The volunteer's own pages: profile, member code, balances, family."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from timebank.auth.login import current_actor, current_person, requires
from timebank.orgs.services import get_organisation
from timebank.people import services
from timebank.web import db_session

bp = Blueprint("me", __name__, url_prefix="/me")


@bp.get("")
@requires()
def profile() -> ResponseReturnValue:
    """The signed-in person's profile, roles and family links."""
    person = current_person()
    session = db_session()
    return render_template(
        "people/me.html",
        person=person,
        organisation=get_organisation(session, person.home_organisation_id),
        grants=current_actor().grants,
        links=services.family_links(session, person.id),
    )
