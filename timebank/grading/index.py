"""The 社工督导指数: each social worker's monthly 0–100 index, from indicators computed from the records.

Each indicator gives a figure and a score from 0 to 100 for the month, or
nothing when the month holds no data for it (it is then left out and the
other weights renormalised). The index is the weighted mean of the scores,
with the weights of the social worker's organisation's policy
(`index_weight_*`). See README, "Social-work management".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from timebank.certify.education import period_start, trained_minutes
from timebank.domain import InvalidInput, OutOfReach
from timebank.events.credit import add_working_days
from timebank.events.models import Activity, Attendance, CorrectionRequest
from timebank.events.review import deadline
from timebank.grading import rules
from timebank.grading.models import Grade, SupervisionIndex, SupervisionSession
from timebank.grading.services import VOLUNTEER, day_start, policies_by_organisation, stored_language
from timebank.localtime import local_day
from timebank.needs.models import Assignment, Need, Order, Rating
from timebank.needs.services import response_deadline
from timebank.orgs.models import Organisation
from timebank.orgs.services import effective_policy, get_organisation
from timebank.people.access import MANAGERS, Actor
from timebank.people.models import Person, Role, RoleGrant
from timebank.people.services import get_person

#: The indicators in the order shown; each has the policy weight `index_weight_<name>`.
INDICATORS = ("approvals", "corrections", "needs", "supervision", "ratings", "green", "education")
#: Their names (msgids).
INDICATOR_NAMES = {
    "approvals": "Approvals within the deadline",
    "corrections": "Correction requests answered in time",
    "needs": "Needs triaged in time",
    "supervision": "Supervision sessions held",
    "ratings": "Ratings of the services dispatched",
    "green": "Green volunteers",
    "education": "Continuing education",
}


@dataclass(frozen=True)
class Month:
    """A calendar month in Asia/Shanghai: its first and last day and its bounds in UTC."""

    first: dt.date

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.replace(day=1))

    @property
    def next(self) -> Month:
        return Month((self.first + dt.timedelta(days=32)).replace(day=1))

    @property
    def last(self) -> dt.date:
        return self.next.first - dt.timedelta(days=1)

    @property
    def start(self) -> dt.datetime:
        return day_start(self.first)

    @property
    def end(self) -> dt.datetime:
        return day_start(self.next.first)

    def back(self, months: int) -> Month:
        """The month `months` before this one."""
        year, month = divmod(self.first.year * 12 + self.first.month - 1 - months, 12)
        return Month(dt.date(year, month + 1, 1))


@dataclass(frozen=True)
class Measured:
    """One indicator's month: the figure in words, the score, and what to improve."""

    figure: str
    score: int
    text: str


Indicator = Callable[[Session, Person, list[str], Month, dict[str, Any], dt.datetime, rules.Translate], Measured | None]


def _share(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _approvals(session, person, paths, month, policy, now, _) -> Measured | None:
    decided = session.execute(
        select(Attendance.decided_at, Activity)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.decided_by == person.id, Attendance.decided_at >= month.start, Attendance.decided_at < month.end,
               Attendance.status.in_(("approved", "rejected")))
    ).all()
    if not decided:
        return None
    policies = policies_by_organisation(session, list({a.organisation for _d, a in decided}))
    late = sum(1 for at, activity in decided if local_day(at) > deadline(activity, policies[activity.organisation_id]))
    figure = _("%(on_time)s of %(count)s decided within the deadline", on_time=len(decided) - late, count=len(decided))
    text = (_("%(late)s decisions came after the %(days)s-working-day deadline: review attendances sooner.", late=late, days=policy["record_deadline_working_days"])
            if late else _("Every decision within the deadline: keep it up."))
    return Measured(figure, _share(len(decided) - late, len(decided)), text)


def _corrections(session, person, paths, month, policy, now, _) -> Measured | None:
    answered = session.execute(
        select(CorrectionRequest.created_at, CorrectionRequest.answered_at)
        .where(CorrectionRequest.answered_by == person.id, CorrectionRequest.answered_at >= month.start, CorrectionRequest.answered_at < month.end)
    ).all()
    if not answered:
        return None
    days = int(policy["index_correction_working_days"])
    on_time = sum(1 for created, at in answered if local_day(at) <= add_working_days(local_day(created), days))
    average = sum((at - created).total_seconds() for created, at in answered) / len(answered) / 86400
    figure = _("%(on_time)s of %(count)s answered within %(days)s working days, %(average)s days on average", on_time=on_time, count=len(answered), days=days, average=f"{average:.1f}")
    text = (_("Answer volunteers' correction requests within %(days)s working days.", days=days) if on_time < len(answered)
            else _("Every correction request answered in time: keep it up."))
    return Measured(figure, _share(on_time, len(answered)), text)


def _needs(session, person, paths, month, policy, now, _) -> Measured | None:
    triaged = list(session.scalars(select(Need).where(Need.triaged_by == person.id, Need.triaged_at >= month.start, Need.triaged_at < month.end)))
    policies = policies_by_organisation(session, list(session.scalars(select(Organisation).where(Organisation.id.in_({n.organisation_id for n in triaged})))))
    timed = [(n, response_deadline(policies[n.organisation_id], n.colour, n.recorded_at)) for n in triaged]
    timed = [(n, due) for n, due in timed if due is not None]
    if not timed:
        return None
    on_time = sum(1 for n, due in timed if n.triaged_at <= due)
    figure = _("%(on_time)s of %(count)s triaged within their colour's deadline", on_time=on_time, count=len(timed))
    text = (_("Triage red needs within a day and the others within their working days.") if on_time < len(timed)
            else _("Every need triaged in time: keep it up."))
    return Measured(figure, _share(on_time, len(timed)), text)


def _supervision(session, person, paths, month, policy, now, _) -> Measured | None:
    held = session.scalar(select(func.count()).select_from(SupervisionSession).where(
        SupervisionSession.social_worker_id == person.id, SupervisionSession.held_at >= month.start, SupervisionSession.held_at < month.end))
    target = int(policy["index_supervision_target"])
    figure = _("%(held)s of %(target)s sessions", held=held, target=target)
    text = (_("Hold %(more)s more supervision sessions to reach the month's target.", more=target - held) if held < target
            else _("The month's supervision target is reached: keep it up."))
    return Measured(figure, min(100, _share(held, target)), text)


def _ratings(session, person, paths, month, policy, now, _) -> Measured | None:
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Rating.stars), 0))
        .join(Assignment, Assignment.id == Rating.assignment_id).join(Order, Order.id == Assignment.order_id)
        .where(Order.created_by == person.id, Rating.rated_at >= month.start, Rating.rated_at < month.end)
    ).one()
    if not count:
        return None
    average = total / count
    figure = _("%(average)s stars on average from %(count)s ratings", average=f"{average:.2f}", count=count)
    text = (_("Match volunteers to needs with care and follow up low ratings.") if average < 4.5
            else _("Residents rate the services you dispatch highly: keep it up."))
    return Measured(figure, round(100 * (average - 1) / 4), text)


def _green(session, person, paths, month, policy, now, _) -> Measured | None:
    if not paths:
        return None
    homes = select(Organisation.id).where(or_(*[Organisation.path.startswith(p) for p in paths]))
    newest = (
        select(Grade.subject_id, func.max(Grade.graded_on).label("day"))
        .where(Grade.subject_type == VOLUNTEER, Grade.graded_on <= month.last, Grade.organisation_id.in_(homes.scalar_subquery()))
        .group_by(Grade.subject_id).subquery()
    )
    counts = dict(session.execute(
        select(Grade.colour, func.count()).join(newest, and_(Grade.subject_id == newest.c.subject_id, Grade.graded_on == newest.c.day))
        .where(Grade.subject_type == VOLUNTEER).group_by(Grade.colour)
    ).all())
    total = sum(counts.values())
    if not total:
        return None
    green = counts.get("green", 0)
    figure = _("%(green)s of %(count)s volunteers green", green=green, count=total)
    text = _("Call back the yellow and red volunteers and invite them to a service.") if counts.get("yellow") or counts.get("red") else _("No volunteer is yellow or red: keep it up.")
    return Measured(figure, _share(green, total), text)


def _education(session, person, paths, month, policy, now, _) -> Measured | None:
    required = int(policy["continuing_education_hours"] * 60)
    if not required:
        return None
    until = min(month.last, local_day(now))
    since = period_start(until, int(policy["continuing_education_period_years"]))
    minutes = trained_minutes(session, person.id, since, until)
    figure = _("%(hours)s of %(required)s hours in the period", hours=f"{minutes / 60:g}", required=f"{required / 60:g}")
    text = (_("Take %(hours)s more hours of continuing education in this period.", hours=f"{(required - minutes) / 60:g}") if minutes < required
            else _("Continuing education complete for this period."))
    return Measured(figure, min(100, _share(minutes, required)), text)


MEASURES: dict[str, Indicator] = {
    "approvals": _approvals, "corrections": _corrections, "needs": _needs, "supervision": _supervision,
    "ratings": _ratings, "green": _green, "education": _education,
}


def social_worker_grant(session: Session, person_id: int) -> tuple[int, list[str]]:
    """A social worker's organisation (their first grant's) and the paths of their subtrees; InvalidInput if none."""
    rows = session.execute(
        select(RoleGrant.organisation_id, Organisation.path).join(Organisation, Organisation.id == RoleGrant.organisation_id)
        .where(RoleGrant.person_id == person_id, RoleGrant.role == Role.SOCIAL_WORKER.value, RoleGrant.revoked_at.is_(None))
        .order_by(RoleGrant.id)
    ).all()
    if not rows:
        raise InvalidInput(errors={"social_worker_id": ["Choose a social worker."]})
    return rows[0][0], sorted({path for _o, path in rows})


def weighted(measured: dict[str, Measured | None], policy: dict[str, Any]) -> tuple[int, dict[str, float]]:
    """The index and each indicator's normalised weight (0 for those left out)."""
    raw = {name: float(policy[f"index_weight_{name}"]) if measured.get(name) is not None else 0.0 for name in INDICATORS}
    total = sum(raw.values())
    weights = {name: (w / total if total else 0.0) for name, w in raw.items()}
    score = round(sum(weights[n] * measured[n].score for n in INDICATORS if measured.get(n) is not None)) if total else 0
    return max(0, min(100, score)), weights


def monthly_index(session: Session, social_worker_id: int, month: dt.date, *, now: dt.datetime) -> SupervisionIndex:
    """Compute and store one social worker's index for the month of `month` (recomputing replaces it)."""
    person = get_person(session, social_worker_id)
    organisation_id, paths = social_worker_grant(session, person.id)
    period = Month.of(month)
    policy = effective_policy(session, get_organisation(session, organisation_id))
    with stored_language() as translate:
        measured = {name: MEASURES[name](session, person, paths, period, policy, now, translate) for name in INDICATORS}
        score, weights = weighted(measured, policy)
        left_out = translate("No data this month: left out, the other weights renormalised.")
    indicators = {
        name: ({"figure": m.figure, "score": m.score, "weight": round(weights[name], 4), "text": m.text} if m is not None
               else {"figure": None, "score": None, "weight": 0, "text": left_out})
        for name, m in measured.items()
    }
    found = session.scalar(select(SupervisionIndex).where(SupervisionIndex.social_worker_id == person.id, SupervisionIndex.month == period.first))
    if found is None:
        found = SupervisionIndex(social_worker_id=person.id, month=period.first)
        session.add(found)
    found.organisation_id, found.score, found.computed_at = organisation_id, score, now
    found.indicators_json = json.dumps(indicators, ensure_ascii=False, sort_keys=True)
    session.flush()
    return found


def index_history(session: Session, social_worker_id: int, months: int = 12) -> list[SupervisionIndex]:
    """The social worker's stored indices, the last `months` of them, oldest first."""
    stmt = select(SupervisionIndex).where(SupervisionIndex.social_worker_id == social_worker_id).order_by(SupervisionIndex.month.desc()).limit(months)
    return list(reversed(list(session.scalars(stmt))))


def indicators(index: SupervisionIndex) -> list[tuple[str, dict[str, Any]]]:
    """The stored breakdown in the shown order."""
    stored = json.loads(index.indicators_json)
    return [(name, stored[name]) for name in INDICATORS if name in stored]


def social_workers(session: Session, *, actor: Actor) -> list[Person]:
    """The social workers the actor may see the index of: themself, and those of the subtrees they coordinate."""
    paths = actor.paths(MANAGERS)
    conditions = [RoleGrant.person_id == actor.id]
    if paths:
        conditions.append(or_(*[Organisation.path.startswith(p) for p in paths]))
    ids = select(RoleGrant.person_id).join(Organisation, Organisation.id == RoleGrant.organisation_id).where(
        RoleGrant.role == Role.SOCIAL_WORKER.value, RoleGrant.revoked_at.is_(None), or_(*conditions))
    return list(session.scalars(select(Person).where(Person.id.in_(ids.scalar_subquery())).order_by(Person.real_name, Person.id)))


def visible_social_worker(session: Session, social_worker_id: int, *, actor: Actor) -> Person:
    """A social worker whose index the actor may see (themself, or one they coordinate); 404 otherwise."""
    person = get_person(session, social_worker_id)
    organisation_id, _paths = social_worker_grant(session, person.id)
    if person.id != actor.id:
        if not actor.paths(MANAGERS) and actor.has(Role.SOCIAL_WORKER):
            raise OutOfReach()  # another social worker's index is out of a social worker's reach
        actor.require(MANAGERS, get_organisation(session, organisation_id))
    return person


def compute_month(session: Session, month: dt.date, *, now: dt.datetime) -> int:
    """Every social worker's index for the month (the nightly job): how many were computed."""
    ids = session.scalars(select(RoleGrant.person_id).where(RoleGrant.role == Role.SOCIAL_WORKER.value, RoleGrant.revoked_at.is_(None)).distinct())
    count = 0
    for person_id in sorted(set(ids)):
        monthly_index(session, person_id, month, now=now)
        count += 1
    return count


def side_by_side(session: Session, *, actor: Actor, months: list[Month]) -> list[tuple[Person, dict[dt.date, SupervisionIndex]]]:
    """The social workers the actor coordinates (or themself), each with their stored indices of those months."""
    people = social_workers(session, actor=actor)
    firsts = [m.first for m in months]
    stored = session.scalars(select(SupervisionIndex).where(
        SupervisionIndex.social_worker_id.in_([p.id for p in people]), SupervisionIndex.month.in_(firsts)))
    by_person: dict[int, dict[dt.date, SupervisionIndex]] = {p.id: {} for p in people}
    for index in stored:
        by_person[index.social_worker_id][index.month] = index
    return [(p, by_person[p.id]) for p in people]
