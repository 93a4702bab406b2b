"""Ranked suggestions for dispatching an order (派单): who fits, and why each ranks where they do.

One query scores every eligible volunteer of the order's street and returns
the best few; each factor is a column, so the reasons shown are the figures
the ranking used:

- service category offered (+30) and each wanted skill listed (+10);
- nearness on the organisation tree: same community (+25), same street (+10);
- no clash: another accepted order or a sign-up overlapping the window (−40);
- current load: live orders in hand (−5 each, at most −20);
- rating: average stars of past visits (+4 per star above three, −4 below);
- reliability: no-shows in the last 180 days (−15 each);
- current grade (newest row): green +10, blue +5, yellow −10; red never suggested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from timebank.categories import SERVICE_CATEGORIES
from timebank.events.models import Activity, SignUp
from timebank.grading.models import Grade
from timebank.needs.models import LIVE_ASSIGNMENT, Assignment, Order, Rating
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation, lineage
from timebank.people.models import Person, Status

GRADE_POINTS = {"green": 10, "blue": 5, "yellow": -10}
NO_SHOW_DAYS = 180
IN_HAND = ("offered", "accepted", "started")
GRADE_REASONS = {"green": _l("Grade green: active and reliable"), "blue": _l("Grade blue"), "yellow": _l("Grade yellow: needs attention")}


@dataclass
class Suggestion:
    """A volunteer for an order, their score and the reasons (each a translatable sentence)."""

    volunteer_id: int
    name: str
    score: float
    grade: str | None
    reasons: list[object] = field(default_factory=list)


def _street_path(session: Session, order: Order) -> str:
    organisation = get_organisation(session, order.organisation_id)
    chain = lineage(session, organisation)
    street = next((o for o in reversed(chain) if o.level in ("street", "district")), chain[0])
    return street.path


def suggest(session: Session, order: Order, *, now: dt.datetime, limit: int = 20) -> list[Suggestion]:
    """The best volunteers of the order's street for it, best first, each with why."""
    community = get_organisation(session, order.organisation_id)
    street = _street_path(session, order)
    category_match = case((func.coalesce(Person.service_categories, "").contains(order.category), 1), else_=0)
    same_community = case((Organisation.path.startswith(community.path), 1), else_=0)
    wanted_skills = [s.strip() for s in (order.skills or "").replace("，", ",").split(",") if s.strip()][:5]
    skill_hits = sum((case((func.coalesce(Person.skills, "").contains(s), 1), else_=0) for s in wanted_skills), literal(0))
    load = (
        select(func.count()).where(Assignment.volunteer_id == Person.id, Assignment.status.in_(IN_HAND))
        .correlate(Person).scalar_subquery()
    )
    other = Order.__table__.alias("other_order")
    clash_order = (
        select(func.count()).select_from(Assignment.__table__.join(other, other.c.id == Assignment.order_id))
        .where(Assignment.volunteer_id == Person.id, Assignment.status.in_(("accepted", "started")),
               other.c.window_start < order.window_end, other.c.window_end > order.window_start)
        .correlate(Person).scalar_subquery()
    )
    clash_signup = (
        select(func.count()).select_from(SignUp.__table__.join(Activity.__table__, Activity.id == SignUp.activity_id))
        .where(SignUp.volunteer_id == Person.id, SignUp.status == "signed_up",
               Activity.starts_at < order.window_end, Activity.ends_at > order.window_start)
        .correlate(Person).scalar_subquery()
    )
    stars = select(func.avg(Rating.stars)).where(Rating.volunteer_id == Person.id).correlate(Person).scalar_subquery()
    no_shows = (
        select(func.count()).where(Assignment.volunteer_id == Person.id, Assignment.status == "no_show",
                                   Assignment.offered_at > now - dt.timedelta(days=NO_SHOW_DAYS))
        .correlate(Person).scalar_subquery()
    )
    grade = (
        select(Grade.colour).where(Grade.subject_type == "volunteer", Grade.subject_id == Person.id)
        .order_by(Grade.graded_on.desc()).limit(1).correlate(Person).scalar_subquery()
    )
    taken = select(Assignment.volunteer_id).where(Assignment.order_id == order.id, Assignment.status.in_(LIVE_ASSIGNMENT))
    inner = (
        select(
            Person.id.label("id"), Person.real_name.label("name"), category_match.label("category"),
            skill_hits.label("skills"), same_community.label("same_community"), load.label("load"),
            (clash_order + clash_signup).label("clash"), stars.label("stars"), no_shows.label("no_shows"), grade.label("grade"),
        )
        .join(Organisation, Organisation.id == Person.home_organisation_id)
        .where(Person.status == Status.ACTIVE.value, Organisation.path.startswith(street), Person.id.not_in(taken))
    )
    if order.need.resident.person_id is not None:
        inner = inner.where(Person.id != order.need.resident.person_id)
    if order.team_id is not None:
        inner = inner.where(Person.home_organisation_id == order.team_id)
    scored = inner.subquery()
    grade_points = case(*[(scored.c.grade == colour, points) for colour, points in GRADE_POINTS.items()], else_=0)
    score = (
        30 * scored.c.category + 10 * scored.c.skills + 25 * scored.c.same_community + 10
        - 40 * case((scored.c.clash > 0, 1), else_=0)
        - 5 * case((scored.c.load > 4, 4), else_=scored.c.load)
        + 4 * (func.coalesce(scored.c.stars, 3) - 3)
        - 15 * scored.c.no_shows + grade_points
    )
    stmt = (
        select(scored, score.label("score"))
        .where(or_(scored.c.grade.is_(None), scored.c.grade != "red"))
        .order_by(score.desc(), scored.c.id)
        .limit(limit)
    )
    return [_explained(row, order, wanted_skills) for row in session.execute(stmt)]


def _explained(row: object, order: Order, wanted_skills: list[str]) -> Suggestion:
    """The row's figures as reasons, strongest first."""
    reasons: list[object] = []
    if row.category:
        reasons.append(_l("Offers %(category)s", category=SERVICE_CATEGORIES.get(order.category, order.category)))
    if row.skills:
        reasons.append(_l("Has %(count)d of the wanted skills", count=row.skills))
    reasons.append(_l("Lives in the same community") if row.same_community else _l("Lives in the same street"))
    if row.clash:
        reasons.append(_l("Busy at that time (another order or activity)"))
    reasons.append(_l("%(count)d order(s) in hand", count=row.load) if row.load else _l("No order in hand"))
    if row.stars is not None:
        reasons.append(_l("Rated %(stars)s stars on average", stars=f"{float(row.stars):.1f}"))
    if row.no_shows:
        reasons.append(_l("Did not come %(count)d time(s) lately", count=row.no_shows))
    if row.grade:
        reasons.append(GRADE_REASONS.get(row.grade, row.grade))
    return Suggestion(row.id, row.name, float(row.score), row.grade, reasons)

