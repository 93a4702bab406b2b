"""The coordinator's figures: the programme of a subtree over a date range, each one grouped SQL.

Every figure is one statement grouped by month, category, colour or state over
indexed columns, whatever the number of volunteers: nothing here loops over
people. Months are months in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from timebank.certify.models import Certificate
from timebank.domain import InvalidInput
from timebank.events.models import Attendance, AttendanceStatus, ServiceDay
from timebank.grading.services import grade_counts
from timebank.localtime import local_day
from timebank.needs.models import Colour, Need, NeedStatus
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation, ids_below
from timebank.people.access import MANAGERS, Actor
from timebank.people.models import Person, Status
from timebank.redeem.models import Redemption, RedemptionStatus, Station
from timebank.redeem.reports import day_bounds
from timebank.workbench import tallies

#: How far back the workbench looks unless told: the last twelve months, this one included.
DEFAULT_MONTHS = 12
#: The longest range one may ask for (a report for a few years is an export's job).
MAX_DAYS = 3 * 366
COLOURS = tuple(c.value for c in Colour)
GRADE_COLOURS = ("green", "blue", "yellow", "red")
#: Need states shown, in the order a need moves.
NEED_STATES = tuple(s.value for s in NeedStatus)


@dataclass(frozen=True)
class Scope:
    """Whose figures: the subtrees (one organisation when chosen, else the actor's whole reach) and the local days."""

    paths: tuple[str, ...]
    organisation_ids: tuple[int, ...]  # the organisations whose subtrees those are
    organisation: Organisation | None
    start: dt.date
    end: dt.date
    #: Every organisation in those subtrees, resolved once per request: each figure filters its rows by these ids,
    #: an index range the planner can estimate, instead of joining the organisations on a path prefix.
    homes: tuple[int, ...] = ()

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The range as UTC moments: the start day's first instant, the day after the end's."""
        return day_bounds(self.start)[0], day_bounds(self.end)[1]

    def below(self, column: ColumnElement) -> ColumnElement:
        """`column` (an organisation path) lies in the scope."""
        return or_(*[column.startswith(path, autoescape=True) for path in self.paths])

    @property
    def months(self) -> list[str]:
        """Every month of the range, `YYYY-MM`, oldest first."""
        found, day = [], self.start.replace(day=1)
        while day <= self.end:
            found.append(f"{day:%Y-%m}")
            day = (day + dt.timedelta(days=32)).replace(day=1)
        return found


def programme_scope(
    session: Session, *, actor: Actor, now: dt.datetime, organisation_id: int | None = None,
    start: dt.date | None = None, end: dt.date | None = None,
) -> Scope:
    """The scope a coordinator asked for: an organisation within their reach (404 outside it), the range checked."""
    paths = tuple(actor.paths(MANAGERS))
    organisation_ids = tuple(sorted({g.organisation_id for g in actor.grants if g.role in {str(r) for r in MANAGERS}}))
    organisation = None
    if organisation_id is not None:
        organisation = get_organisation(session, organisation_id)
        actor.require(MANAGERS, organisation)
        paths, organisation_ids = (organisation.path,), (organisation.id,)
    today = local_day(now)
    end = end or today
    start = start or default_start(end)
    if end < start:
        raise InvalidInput(errors={"end": ["The end must not be before the start."]})
    if (end - start).days > MAX_DAYS:
        raise InvalidInput(errors={"start": ["Choose at most three years."]})
    return Scope(paths, organisation_ids, organisation, start, end, organisations_below(session, paths))


def organisations_below(session: Session, paths: tuple[str, ...]) -> tuple[int, ...]:
    """The ids of every organisation whose path lies under one of `paths` (one indexed statement)."""
    if not paths:
        return ()
    return tuple(session.scalars(ids_below(paths).order_by(Organisation.id)))


def default_start(end: dt.date) -> dt.date:
    """The first day of the month eleven months before `end`'s: a year of months, this one included."""
    year, month = divmod(end.year * 12 + end.month - 1 - (DEFAULT_MONTHS - 1), 12)
    return dt.date(year, month + 1, 1)


@dataclass
class ResponseTime:
    """How long needs of one colour waited from being recorded to being triaged, in hours."""

    colour: str
    triaged: int
    median_hours: float | None
    p90_hours: float | None


@dataclass
class Programme:
    """Everything the coordinator's workbench shows for one scope."""

    scope: Scope
    months: list[str]
    hours_by_month: dict[str, dict[str, int]]  # month -> category -> approved credited minutes
    active_volunteers: int  # homed in the scope, with an approved attendance in the range
    registered_volunteers: int  # active records, now
    new_by_month: dict[str, int]  # approved (registered) in each month
    needs: dict[str, dict[str, int]]  # colour -> state -> needs recorded in the range
    response_times: list[ResponseTime]
    grades: dict[str, int]  # colour -> volunteers whose current grade it is
    redemptions_by_month: dict[str, tuple[int, int]]  # month -> (redemptions, points)
    points_outstanding: int  # the PTS volunteers hold: the programme's liability
    certificates: dict[str, int] = field(default_factory=dict)  # kind -> issued in the range, not revoked

    @property
    def total_minutes(self) -> int:
        """Approved minutes over the range, every category."""
        return sum(sum(row.values()) for row in self.hours_by_month.values())

    @property
    def categories(self) -> list[str]:
        """The categories that have minutes, most first."""
        totals: dict[str, int] = defaultdict(int)
        for row in self.hours_by_month.values():
            for category, minutes in row.items():
                totals[category] += minutes
        return sorted(totals, key=lambda c: (-totals[c], c))

    @property
    def new_volunteers(self) -> int:
        """Volunteers approved in the range."""
        return sum(self.new_by_month.values())

    @property
    def needs_total(self) -> int:
        """Needs recorded in the range."""
        return sum(sum(row.values()) for row in self.needs.values())


def hours_by_month(session: Session, scope: Scope) -> dict[str, dict[str, int]]:
    """Approved credited minutes per month of service and category, for activities organised in the scope.

    Read from the roll-up (events/rollup.py): a row per organisation, day and
    category, kept exact by every approval and correction, so a year of a county
    is tens of thousands of rows however many attendances made it.
    """
    # PostgreSQL truncates each day to its month (formatting 40,000 dates as text costs more); SQLite formats.
    sqlite_ = session.get_bind().dialect.name == "sqlite"
    month = func.strftime("%Y-%m", ServiceDay.day) if sqlite_ else func.date_trunc("month", ServiceDay.day)
    rows = session.execute(
        select(month, ServiceDay.category, func.sum(ServiceDay.minutes))
        .where(ServiceDay.organisation_id.in_(scope.homes), ServiceDay.day >= scope.start, ServiceDay.day <= scope.end)
        .group_by(month, ServiceDay.category)
    ).all()
    found: dict[str, dict[str, int]] = {m: {} for m in scope.months}
    for when, category, minutes in rows:
        found.setdefault(when if isinstance(when, str) else f"{when:%Y-%m}", {})[category] = int(minutes or 0)
    return found


def active_volunteers(session: Session, scope: Scope) -> int:
    """Volunteers homed in the scope with an approved attendance in the range.

    Each volunteer's latest service (`people.last_served_at`) answers for
    everyone who last served within the range; only those who served again after
    it (none when the range runs to today) are looked up in their attendances.
    """
    since, until = scope.bounds
    served_in_range = select(Attendance.id).where(
        Attendance.volunteer_id == Person.id, Attendance.status == AttendanceStatus.APPROVED.value,
        Attendance.checked_in_at >= since, Attendance.checked_in_at < until,
    ).exists()
    homed = Person.home_organisation_id.in_(scope.homes)
    last_in_range = select(func.count(Person.id)).where(homed, Person.last_served_at >= since, Person.last_served_at < until)
    again_after = select(func.count(Person.id)).where(homed, Person.last_served_at >= until, served_in_range)
    return int(session.scalar(select(last_in_range.scalar_subquery() + again_after.scalar_subquery())) or 0)


def month_bounds(scope: Scope, *, clipped: bool = True) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """Each month of the range with the UTC moments it starts and ends, clipped to the range unless told."""
    since, until = scope.bounds
    found = []
    for month in scope.months:
        first = dt.date(int(month[:4]), int(month[5:]), 1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        start, end = day_bounds(first)[0], day_bounds(following)[0]
        found.append((month, max(since, start), min(until, end)) if clipped else (month, start, end))
    return found


def volunteer_counts(session: Session, scope: Scope) -> tuple[int, dict[str, int]]:
    """(registered volunteers now, volunteers approved in each month of the range), homed in the scope, in one statement.

    Read from the kept tallies (workbench/tallies.py): a row per home and month,
    less the people approved in the range's first or last month outside the range.
    """
    since, until = scope.bounds
    homed = and_(Person.home_organisation_id.in_(scope.homes), Person.status == Status.ACTIVE.value)
    off = [tallies.adjustment(tallies.NEW_VOLUNTEERS, month, -func.count()).where(homed, Person.approved_at >= start, Person.approved_at < end)
           for month, start, end in tallies.outside(month_bounds(scope, clipped=False), since, until)]
    found = tallies.sums(session, scope.homes, (tallies.VOLUNTEERS, tallies.NEW_VOLUNTEERS), (tallies.NOW, *scope.months), adjustments=off)
    return found.get((tallies.VOLUNTEERS, tallies.NOW), 0), {m: found.get((tallies.NEW_VOLUNTEERS, m), 0) for m in scope.months}


def needs_by_colour(session: Session, scope: Scope) -> dict[str, dict[str, int]]:
    """Needs recorded in the range per colour and state."""
    since, until = scope.bounds
    rows = session.execute(
        select(Need.colour, Need.status, func.count())
        .where(Need.organisation_id.in_(scope.homes), Need.recorded_at >= since, Need.recorded_at < until)
        .group_by(Need.colour, Need.status)
    ).all()
    found: dict[str, dict[str, int]] = {c: {} for c in COLOURS}
    for colour, status, count in rows:
        found.setdefault(colour, {})[status] = int(count)
    return found


def percentile(values: list[float], share: float) -> float | None:
    """The `share` percentile (0..1) by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def response_times(session: Session, scope: Scope) -> list[ResponseTime]:
    """Per colour, the median and 90th percentile of hours from recorded to triaged, for needs triaged in the range."""
    since, until = scope.bounds
    rows = session.execute(
        select(Need.colour, Need.recorded_at, Need.triaged_at)
        .where(Need.organisation_id.in_(scope.homes), Need.triaged_at >= since, Need.triaged_at < until)
    ).all()
    waits: dict[str, list[float]] = defaultdict(list)
    for colour, recorded_at, triaged_at in rows:
        waits[colour].append((triaged_at - recorded_at).total_seconds() / 3600)
    found = []
    for colour in COLOURS:
        values = waits.get(colour, [])
        found.append(ResponseTime(colour, len(values), statistics.median(values) if values else None, percentile(values, 0.9)))
    return found


def grade_distribution(session: Session, scope: Scope) -> dict[str, int]:
    """Volunteers per current grade colour (each one's newest grade row), for volunteers homed in the scope."""
    found = {c: 0 for c in GRADE_COLOURS}
    found.update(grade_counts(session, scope.homes))
    return found


def redemptions_by_month(session: Session, scope: Scope) -> dict[str, tuple[int, int]]:
    """Completed redemptions and their points per month, at the stations in the scope, in one statement.

    Read from the kept tallies (workbench/tallies.py), less the redemptions of
    the range's first or last month outside the range.
    """
    since, until = scope.bounds
    stations = select(Station.id).where(Station.organisation_id.in_(scope.homes))
    off = []
    for month, start, end in tallies.outside(month_bounds(scope, clipped=False), since, until):
        outside = (Redemption.station_id.in_(stations), Redemption.status == RedemptionStatus.COMPLETED.value,
                   Redemption.created_at >= start, Redemption.created_at < end)
        off.append(tallies.adjustment(tallies.REDEMPTIONS, month, -func.count()).where(*outside))
        off.append(tallies.adjustment(tallies.REDEEMED_POINTS, month, -func.coalesce(func.sum(Redemption.points), 0)).where(*outside))
    found = tallies.sums(session, scope.homes, (tallies.REDEMPTIONS, tallies.REDEEMED_POINTS), scope.months, adjustments=off)
    return {m: (found.get((tallies.REDEMPTIONS, m), 0), found.get((tallies.REDEEMED_POINTS, m), 0)) for m in scope.months}


def points_outstanding(session: Session, scope: Scope) -> int:
    """The points volunteers homed in the scope hold now: what the stations may yet be asked to honour.

    Read from the kept tallies (workbench/tallies.py): a few rows per organisation
    instead of every volunteer's account.
    """
    return tallies.points_outstanding(session, scope.homes)


def certificates_issued(session: Session, scope: Scope) -> dict[str, int]:
    """Certificates issued in the range by organisations in the scope, per kind, revoked ones left out."""
    since, until = scope.bounds
    rows = session.execute(
        select(Certificate.kind, func.count())
        .where(Certificate.organisation_id.in_(scope.homes), Certificate.issued_at >= since, Certificate.issued_at < until,
               Certificate.revoked_at.is_(None))
        .group_by(Certificate.kind)
    ).all()
    found = {"service_record": 0, "programme": 0}
    found.update({kind: int(count) for kind, count in rows})
    return found


def programme(session: Session, scope: Scope) -> Programme:
    """Every figure of the coordinator's workbench for the scope."""
    registered, new_by_month = volunteer_counts(session, scope)
    grades = grade_distribution(session, scope)
    return Programme(
        scope=scope,
        months=scope.months,
        hours_by_month=hours_by_month(session, scope),
        active_volunteers=active_volunteers(session, scope),
        registered_volunteers=registered,
        new_by_month=new_by_month,
        needs=needs_by_colour(session, scope),
        response_times=response_times(session, scope),
        grades=grades,
        redemptions_by_month=redemptions_by_month(session, scope),
        points_outstanding=points_outstanding(session, scope),
        certificates=certificates_issued(session, scope),
    )
