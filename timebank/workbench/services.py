"""What each role's workbench shows: a volunteer's next steps and balances, what waits for a social worker,
the system's health for an administrator. The coordinator's programme figures are in `programme`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from timebank.audit.models import AuditEntry
from timebank.events.models import Activity, ActivityStatus, Attendance, SignUp
from timebank.events.review import UNDECIDED, deadline
from timebank.grading.index import index_history
from timebank.grading.models import Grade, SupervisionIndex
from timebank.grading.services import follow_up_counts, grade_of
from timebank.jobs.models import Job, JobStatus
from timebank.ledger.seal import SealStatus, seal_status
from timebank.localtime import local_day
from timebank.needs.models import Assignment, AssignmentStatus, Need, NeedStatus, Order
from timebank.needs.ratings import follow_ups as low_ratings
from timebank.notices.models import OutboxMessage, OutboxStatus
from timebank.orgs.models import Organisation
from timebank.orgs.services import effective_policies, effective_policy, get_organisation
from timebank.people.access import CARERS, Actor
from timebank.people.balances import VolunteerBalances, summary
from timebank.people.models import Person, Role

#: Roles whose sections a workbench can show, the most senior first.
SECTIONS = (Role.ADMIN, Role.COORDINATOR, Role.SOCIAL_WORKER, Role.STATION_STAFF, Role.GRID_WORKER, Role.VOLUNTEER)
#: How many days before its recording deadline an undecided attendance counts as due soon.
DUE_SOON_DAYS = 2
#: The longest list a workbench shows of anything (the full lists are a link away).
LISTED = 5
#: Assignment states in which an order still needs the volunteer.
UPCOMING_ASSIGNMENT = (AssignmentStatus.OFFERED.value, AssignmentStatus.ACCEPTED.value, AssignmentStatus.STARTED.value)


def sections(actor: Actor) -> list[str]:
    """The workbench sections this person sees, most senior first; everyone has the volunteer's."""
    held = {g.role for g in actor.grants}
    return [str(role) for role in SECTIONS if role == Role.VOLUNTEER or str(role) in held]


# -- the volunteer -------------------------------------------------------------------------


@dataclass
class VolunteerBench:
    """A volunteer's next activities and orders, balances, star progress and grade."""

    signups: list[tuple[Activity, str]]  # the activity and the sign-up's state (signed_up, waiting)
    assignments: list[Assignment]
    balances: VolunteerBalances
    grade: Grade | None


def volunteer_bench(session: Session, person: Person, *, now: dt.datetime) -> VolunteerBench:
    """What a volunteer sees first: what comes next for them, and what they hold."""
    signups = session.execute(
        select(Activity, SignUp.status).join(SignUp, SignUp.activity_id == Activity.id)
        .where(SignUp.volunteer_id == person.id, SignUp.status.in_(("signed_up", "waiting")),
               Activity.status == ActivityStatus.PUBLISHED.value, Activity.ends_at > now)
        .order_by(Activity.starts_at).limit(LISTED)
    ).all()
    assignments = list(session.scalars(
        select(Assignment).join(Order, Order.id == Assignment.order_id)
        .where(Assignment.volunteer_id == person.id, Assignment.status.in_(UPCOMING_ASSIGNMENT))
        .order_by(Order.window_start).limit(LISTED)
    ))
    policy = effective_policy(session, get_organisation(session, person.home_organisation_id))
    return VolunteerBench(
        signups=[(activity, status) for activity, status in signups],
        assignments=assignments,
        balances=summary(session, person.id, policy),
        grade=grade_of(session, person.id),
    )


# -- the social worker --------------------------------------------------------------------------


@dataclass(frozen=True)
class ToReview:
    """An activity with attendances still to approve, and its recording deadline."""

    activity: Activity
    undecided: int
    due: dt.date
    overdue: bool
    due_soon: bool


@dataclass
class CarerBench:
    """What waits for a social worker (and, in their reach, a coordinator)."""

    to_review: list[ToReview]
    undecided: int  # attendances to approve, every activity together
    to_triage: int  # needs recorded and not yet triaged
    oldest_to_triage: list[Need]
    overdue_needs: int  # past their colour's response deadline
    overdue_offers: int  # offers past their accept deadline, still unanswered
    low_ratings: int  # two stars or fewer, no follow-up yet
    flagged_volunteers: dict[str, int]  # yellow/red -> volunteers of that current grade still to call back
    index: SupervisionIndex | None = None

    @property
    def overdue_reviews(self) -> int:
        """Attendances past their recording deadline."""
        return sum(item.undecided for item in self.to_review if item.overdue)

    @property
    def due_soon(self) -> int:
        """Attendances within DUE_SOON_DAYS of their recording deadline."""
        return sum(item.undecided for item in self.to_review if item.due_soon)


def reach_ids(session: Session, actor: Actor) -> list[int]:
    """The organisations in the actor's caring subtrees, resolved once (one indexed statement) for the figures to filter by."""
    paths = actor.paths(CARERS)
    if not paths:
        return []
    return list(session.scalars(select(Organisation.id).where(or_(*[Organisation.path.startswith(path, autoescape=True) for path in paths]))))


def activities_to_review(session: Session, *, actor: Actor, now: dt.datetime, homes: list[int] | None = None) -> list[ToReview]:
    """Finished activities the actor reviews that still have undecided attendances, the nearest deadline first.

    The same attendances the review sheet lists as undecided, counted per activity (so a Friday's 200 are
    a handful of rows), each with the deadline the overdue list uses.
    """
    homes = reach_ids(session, actor) if homes is None else homes
    rows = session.execute(
        select(Activity, func.count(Attendance.id))
        .join(Attendance, Attendance.activity_id == Activity.id)
        .where(Attendance.status.in_(UNDECIDED), Activity.ends_at < now,
               or_(Activity.organisation_id.in_(homes), Activity.person_in_charge_id == actor.id))
        .group_by(Activity.id).order_by(Activity.ends_at).limit(200)
    ).all()
    today, found = local_day(now), []
    policies = effective_policies(session, {activity.organisation for activity, _ in rows})
    for activity, undecided in rows:
        due = deadline(activity, policies[activity.organisation_id])
        found.append(ToReview(activity, int(undecided), due, today > due, not today > due and (due - today).days <= DUE_SOON_DAYS))
    found.sort(key=lambda item: (item.due, item.activity.id))
    return found


def flagged_volunteers(session: Session, *, actor: Actor, now: dt.datetime, homes: list[int] | None = None) -> dict[str, int]:
    """Yellow and red volunteers in the actor's subtrees still waiting for a follow-up call (the grading's own rule)."""
    return follow_up_counts(session, actor, now=now, homes=homes)


def carer_bench(session: Session, *, actor: Actor, now: dt.datetime) -> CarerBench:
    """What waits for a social worker: attendances to approve, needs to triage, what is overdue, whom to call back."""
    homes = reach_ids(session, actor)
    to_review = activities_to_review(session, actor=actor, now=now, homes=homes)
    needs_here = Need.organisation_id.in_(homes)
    recorded = select(Need).where(needs_here, Need.status == NeedStatus.RECORDED.value)
    to_triage = session.scalar(select(func.count()).select_from(recorded.subquery())) or 0
    overdue_needs = session.scalar(
        select(func.count(Need.id)).where(needs_here, Need.due_at.is_not(None), Need.due_at < now)
    ) or 0
    overdue_offers = session.scalar(
        select(func.count(Assignment.id)).join(Order, Order.id == Assignment.order_id)
        .where(Order.organisation_id.in_(homes), Assignment.status == AssignmentStatus.OFFERED.value,
               Assignment.respond_by.is_not(None), Assignment.respond_by < now)
    ) or 0
    history = index_history(session, actor.id, months=1)
    return CarerBench(
        to_review=to_review,
        undecided=sum(item.undecided for item in to_review),
        to_triage=int(to_triage),
        oldest_to_triage=list(session.scalars(recorded.order_by(Need.due_at.is_(None), Need.due_at, Need.recorded_at).limit(LISTED))),
        overdue_needs=int(overdue_needs),
        overdue_offers=int(overdue_offers),
        low_ratings=len(low_ratings(session, actor=actor)),
        flagged_volunteers=flagged_volunteers(session, actor=actor, now=now, homes=homes),
        index=history[-1] if history else None,
    )


# -- the administrator --------------------------------------------------------------------------


@dataclass
class SystemBench:
    """The system's health and the newest audit entries."""

    jobs: dict[str, int] = field(default_factory=dict)  # failed, queued, running, interrupted -> count
    seal: SealStatus | None = None
    outbox_held: int = 0
    outbox_failed: int = 0
    audit: list[AuditEntry] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """No failed or interrupted job, nothing held or failed in the outbox."""
        return not (self.jobs.get("failed") or self.jobs.get("interrupted") or self.outbox_held or self.outbox_failed)


def system_bench(session: Session) -> SystemBench:
    """Jobs failed and waiting, the ledger's seal, messages the outbox holds, and the audit log's newest entries."""
    watched = (JobStatus.FAILED, JobStatus.INTERRUPTED, JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.RUNNING)
    jobs = {str(s): 0 for s in watched}
    jobs.update(dict(session.execute(
        select(Job.status, func.count()).where(Job.status.in_([str(s) for s in watched])).group_by(Job.status)
    ).all()))
    outbox = dict(session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_((OutboxStatus.HELD.value, OutboxStatus.FAILED.value))).group_by(OutboxMessage.status)
    ).all())
    return SystemBench(
        jobs={k: int(v) for k, v in jobs.items()},
        seal=seal_status(session),
        outbox_held=int(outbox.get(OutboxStatus.HELD.value, 0)),
        outbox_failed=int(outbox.get(OutboxStatus.FAILED.value, 0)),
        audit=list(session.scalars(select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(LISTED))),
    )
