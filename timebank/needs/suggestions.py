"""Ranked suggestions for dispatching an order (派单): who fits, and why each ranks where they do.

One query (built once, its values bound per order) ranks the volunteers of
the order's street. It walks `volunteer_categories` (people.category_index)
for those offering the category in the order's community, then in its street,
most recently active first, and for the rest only when fewer than POOL offer
it: index ranges that stop after POOL rows each, so its cost does not grow
with the street. The cheap factors (category, skills, nearness) pick the best
POOL of those, and only they are scored on the factors that read other
tables; each factor is a column, so the reasons shown are the figures the
ranking used:

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
import functools
from typing import Any
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import CompoundSelect, Select, and_, bindparam, case, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from timebank.categories import SERVICE_CATEGORIES
from timebank.events.models import Activity, SignUp
from timebank.grading.models import Grade
from timebank.needs.models import LIVE_ASSIGNMENT, Assignment, Order, Rating
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation, lineage
from timebank.people.models import ANY_CATEGORY, Person, Status, VolunteerCategory

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


def _street(session: Session, order: Order) -> Organisation:
    organisation = get_organisation(session, order.organisation_id)
    chain = lineage(session, organisation)
    return next((o for o in reversed(chain) if o.level in ("street", "district")), chain[0])


def suggest(session: Session, order: Order, *, now: dt.datetime, limit: int = 20) -> list[Suggestion]:
    """The best volunteers of the order's street for it, best first, each with why."""
    wanted_skills = [s.strip() for s in (order.skills or "").replace("，", ",").split(",") if s.strip()][:MAX_SKILLS]
    community, street = get_organisation(session, order.organisation_id), _street(session, order)
    values = {
        "category": order.category, "any": ANY_CATEGORY, "community": community.path,
        "near": order.team_id or community.id, "far": order.team_id or street.id, "order_id": order.id,
        "window_start": order.window_start, "window_end": order.window_end,
        "since": now - dt.timedelta(days=NO_SHOW_DAYS),
        "resident": order.need.resident.person_id or -1, "team": order.team_id or -1, "limit": limit,
        **{f"skill{i}": (wanted_skills[i] if i < len(wanted_skills) else "") for i in range(MAX_SKILLS)},
    }
    return [_explained(row, order) for row in session.execute(_ranking(), values)]


#: The wanted skills a ranking looks at (the first five of the order's list).
MAX_SKILLS = 5
#: Volunteers scored in full: the best on the cheap factors (category, skills, nearness) of those walked, recently
#: active first among equals. Scoring, or even reading, every volunteer would make the list's time grow with the street.
POOL = 200
# Written into the SQL, not bound: a generic plan of a prepared statement (psycopg prepares one after five runs)
# knows no bound limit, and may then choose to sort a whole range rather than walk its first rows.
_POOL = literal_column(str(POOL))


def _under(path: str) -> Any:
    """The ids of the organisations under the path bound as `path` (an indexed range on organisations.path)."""
    return select(Organisation.id).where(Organisation.path.startswith(bindparam(path))).scalar_subquery()


def _walk(category: str, organisation: str, *, offers: int, limit: Any = None) -> Select:
    """Up to `limit` people with rows (category, organisation) who may be suggested, most recently active first.

    A range of `ix_volunteer_categories_walk` read in its own order, each row
    checked by primary key: it stops after `limit` rows, however many people
    the organisation has.
    """
    walked = VolunteerCategory.__table__.alias()
    # The statuses written out as the partial index `uq_order_assignments_live_volunteer` says them, so that even a
    # generic plan probes it for each row walked instead of reading every assignment.
    taken = select(Assignment.id).where(
        Assignment.order_id == bindparam("order_id"), Assignment.volunteer_id == walked.c.person_id,
        Assignment.status.in_([literal_column(f"'{status}'") for status in LIVE_ASSIGNMENT]),
    )
    return (
        select(walked.c.person_id.label("id"), walked.c.active_at.label("seen"), literal(offers).label("offers"),
               Person.real_name.label("name"), Person.skills.label("skills"), Person.home_organisation_id.label("home"))
        .join(Person, Person.id == walked.c.person_id)
        .where(
            walked.c.category == bindparam(category), walked.c.organisation_id == bindparam(organisation),
            Person.status == Status.ACTIVE.value, Person.id != bindparam("resident"), ~taken.exists(),
            or_(bindparam("team") < 0, Person.home_organisation_id == bindparam("team")),
        )
        .order_by(walked.c.active_at.desc(), walked.c.person_id)
        .limit(_POOL if limit is None else limit)
    )


def _candidates() -> CompoundSelect:
    """Who is scored for the pool: those offering the category in the community, then in the street; the rest only when too few offer it.

    The community's walk comes first so that a large street never crowds its
    own people out; those not offering the category are walked only when the
    street's walk of those who do came back short, so then every one who offers
    it is among the candidates.
    """
    offering_near = _walk("category", "near", offers=1).cte("offering_near")
    offering_far = _walk("category", "far", offers=1).cte("offering_far")
    # A limit, not a condition: a false condition would still walk the whole range, finding nothing.
    fill = case((select(func.count()).select_from(offering_far).scalar_subquery() < _POOL, _POOL), else_=literal_column("0"))
    others_near = _walk("any", "near", offers=0, limit=fill).subquery("others_near")
    others_far = _walk("any", "far", offers=0, limit=fill).subquery("others_far")
    return union_all(*(select(*walk.c) for walk in (offering_near, offering_far, others_near, others_far)))


@functools.cache
def _ranking() -> Select:
    """The ranking query, built once: every order's values are its parameters."""
    candidates = _candidates().subquery()
    # The walks carry the few columns the pool needs: reading people again would make the database scan them all.
    found = (
        select(candidates.c.id, candidates.c.seen, candidates.c.name, candidates.c.skills, candidates.c.home,
               func.max(candidates.c.offers).label("category"))
        .group_by(candidates.c.id, candidates.c.seen, candidates.c.name, candidates.c.skills, candidates.c.home)
        .subquery()
    )
    same_community = case((found.c.home.in_(_under("community")), 1), else_=0)
    skill_hits = sum(
        (case((and_(bindparam(f"skill{i}") != "", func.coalesce(found.c.skills, "").contains(bindparam(f"skill{i}"))), 1), else_=0)
         for i in range(MAX_SKILLS)),
        literal(0),
    )
    street = select(found.c.id, found.c.name, found.c.seen, found.c.category, skill_hits.label("skills"),
                    same_community.label("same_community")).subquery()
    cheap = 30 * street.c.category + 10 * street.c.skills + 25 * street.c.same_community
    pool = (
        select(street.c.id, street.c.name, street.c.category, street.c.skills, street.c.same_community, cheap.label("cheap"))
        .order_by(cheap.desc(), street.c.seen.desc(), street.c.id)
        .limit(_POOL)
        .subquery()
    )
    volunteer = pool.c.id
    load = select(func.count()).where(Assignment.volunteer_id == volunteer, Assignment.status.in_(IN_HAND)).scalar_subquery()
    other = Order.__table__.alias("other_order")
    clash_order = (
        select(func.count()).select_from(Assignment.__table__.join(other, other.c.id == Assignment.order_id))
        .where(Assignment.volunteer_id == volunteer, Assignment.status.in_(("accepted", "started")),
               other.c.window_start < bindparam("window_end"), other.c.window_end > bindparam("window_start"))
        .scalar_subquery()
    )
    clash_signup = (
        select(func.count()).select_from(SignUp.__table__.join(Activity.__table__, Activity.id == SignUp.activity_id))
        .where(SignUp.volunteer_id == volunteer, SignUp.status == "signed_up",
               Activity.starts_at < bindparam("window_end"), Activity.ends_at > bindparam("window_start"))
        .scalar_subquery()
    )
    stars = select(func.avg(Rating.stars)).where(Rating.volunteer_id == volunteer).scalar_subquery()
    no_shows = (
        select(func.count()).where(Assignment.volunteer_id == volunteer, Assignment.status == "no_show",
                                   Assignment.offered_at > bindparam("since"))
        .scalar_subquery()
    )
    grade = (
        select(Grade.colour).where(Grade.subject_type == "volunteer", Grade.subject_id == volunteer)
        .order_by(Grade.graded_on.desc()).limit(1).scalar_subquery()
    )
    scored = select(
        pool, load.label("load"), (clash_order + clash_signup).label("clash"), stars.label("stars"),
        no_shows.label("no_shows"), grade.label("grade"),
    ).limit(_POOL).subquery()  # the limit keeps SQLite from flattening it and running each lookup once per use
    grade_points = case(*[(scored.c.grade == colour, points) for colour, points in GRADE_POINTS.items()], else_=0)
    score = (
        scored.c.cheap + 10
        - 40 * case((scored.c.clash > 0, 1), else_=0)
        - 5 * case((scored.c.load > 4, 4), else_=scored.c.load)
        + 4 * (func.coalesce(scored.c.stars, 3) - 3)
        - 15 * scored.c.no_shows + grade_points
    )
    return (
        select(scored, score.label("score"))
        .where(or_(scored.c.grade.is_(None), scored.c.grade != "red"))
        .order_by(score.desc(), scored.c.id)
        .limit(bindparam("limit"))
    )


def _explained(row: Any, order: Order) -> Suggestion:
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

