"""Grading volunteers and teams from the records, overrides, follow-ups (回访), and reading grades back.

History: a subject's row starts on the day its computed colour changes; later
runs that compute the same colour refresh that row's figures, explanation and
`computed_at` in place. So the newest row is the current grade (since
`graded_on`), each older row is one period of one colour, and running the job
twice on a day leaves the same rows. An override stands on the row until the
computed colour changes (which starts a new row without it).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.support import Translations

from sqlalchemy import and_, case, exists, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from timebank.audit.services import record
from timebank.db import start_writing
from timebank.domain import InvalidInput, NotFound
from timebank.events.models import Activity, Attendance, SignUp
from timebank.grading import rules, tallies
from timebank.grading.models import FollowUp, Grade, GradeColour
from timebank.localtime import LOCAL_TZ, local_day
from timebank.needs.models import Assignment, Order, Rating
from timebank.orgs.models import Organisation
from timebank.orgs.policy import merge
from timebank.orgs.services import get_organisation
from timebank.people.access import CARERS, MANAGERS, Actor
from timebank.people.models import Person, Role, RoleGrant, Status
from timebank.people.services import get_person

VOLUNTEER, TEAM = "volunteer", "team"
#: A follow-up counts as recent for this many days (and only if made since the colour began).
FOLLOW_UP_FRESH_DAYS = 90
FOLLOW_UP_METHODS = ("phone", "visit", "message")
FOLLOW_UP_OUTCOMES = ("reached", "will_return", "paused", "left", "unreachable")


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of a local day, in UTC."""
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).astimezone(dt.timezone.utc)


def policies_by_organisation(session: Session, organisations: Sequence[Organisation] | None = None) -> dict[int, dict[str, Any]]:
    """Each organisation's effective policy, merged down its path from one read of the tree."""
    every = {o.id: o for o in session.scalars(select(Organisation))}
    wanted = organisations if organisations is not None else list(every.values())
    result = {}
    for organisation in wanted:
        ids = [int(part) for part in organisation.path.strip("/").split("/") if part]
        result[organisation.id] = merge([every[i].policies for i in ids if i in every])
    return result


def _subtree(session: Session, organisation: Organisation | int | None) -> list[Organisation]:
    if organisation is None:
        return list(session.scalars(select(Organisation)))
    root = organisation if isinstance(organisation, Organisation) else get_organisation(session, organisation)
    return list(session.scalars(select(Organisation).where(Organisation.path.startswith(root.path))))


#: The programme's language, in which `grades.explanation` and the index's sentences are stored.
STORED_LOCALE = "zh_Hans_CN"


@functools.cache
def _catalog() -> Translations:
    return Translations.load(str(Path(__file__).resolve().parent.parent / "translations"), [STORED_LOCALE])


@contextmanager
def stored_language() -> Iterator[rules.Translate]:
    """A translator into the programme's language (Chinese) for what is stored, with or without a request."""
    catalog = _catalog()

    def translate(message: str, **values: Any) -> str:
        text = catalog.gettext(message)
        return text % values if values else text

    yield translate


# -- the figures, set-based ---------------------------------------------------------------------


#: How many subjects' newest grades one statement asks for.
LATEST_CHUNK = 5000
#: Any constant of this project's own: grading runs and overrides take turns on it (see take_turn).
GRADING_LOCK = 0x7469_6D65_6772_6164  # 'timegrad'
#: Staff are not graded as volunteers: their work is measured by the supervision index, not by four colours.
STAFF_ROLES = (Role.SOCIAL_WORKER.value, Role.COORDINATOR.value, Role.ADMIN.value, Role.STATION_STAFF.value)


def _volunteer_ids(home_ids: list[int] | None):
    """Active people holding a live volunteer grant and no staff role, with a home among `home_ids` (None: anywhere)."""
    live = and_(RoleGrant.person_id == Person.id, RoleGrant.revoked_at.is_(None))
    stmt = select(Person.id).where(
        Person.status == Status.ACTIVE.value,
        exists().where(live, RoleGrant.role == Role.VOLUNTEER.value),
        ~exists().where(live, RoleGrant.role.in_(STAFF_ROLES)),
    )
    return stmt if home_ids is None else stmt.where(Person.home_organisation_id.in_(home_ids))


def volunteer_figures(session: Session, policy: Mapping[str, Any], home_ids: list[int] | None, *, now: dt.datetime) -> dict[int, tuple[int, dict[str, Any]]]:
    """Each volunteer's home and figures (see rules.py), from five grouped queries over the whole set."""
    today = local_day(now)
    window = int(policy["grade_yellow_idle_days"])
    lookback = max(rules.YEAR_DAYS, int(policy["grade_red_idle_days"]))
    window_start, year_start, lookback_start = day_start(today - dt.timedelta(days=window)), day_start(today - dt.timedelta(days=rules.YEAR_DAYS)), day_start(today - dt.timedelta(days=lookback))
    volunteers = _volunteer_ids(home_ids)
    people = session.execute(
        select(Person.id, Person.home_organisation_id, Person.created_at).where(Person.id.in_(volunteers.scalar_subquery()))
        if home_ids is not None else volunteers.add_columns(Person.home_organisation_id, Person.created_at)
    ).all()
    mine = Attendance.volunteer_id.in_(volunteers.scalar_subquery()) if home_ids is not None else True

    served = {
        row[0]: row[1:] for row in session.execute(
            select(Attendance.volunteer_id, func.sum(case((Attendance.checked_in_at >= window_start, 1), else_=0)), func.max(Attendance.checked_in_at))
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(Attendance.status == "approved", Activity.category != "training", Attendance.checked_in_at >= lookback_start, mine)
            .group_by(Attendance.volunteer_id)
        )
    }
    no_shows: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    absent = and_(
        Activity.status.in_(("published", "settled")), Activity.ends_at <= now, Activity.starts_at >= year_start, Attendance.id.is_(None),
        SignUp.volunteer_id.in_(volunteers.scalar_subquery()) if home_ids is not None else True,
    )
    came = and_(Attendance.activity_id == SignUp.activity_id, Attendance.volunteer_id == SignUp.volunteer_id)
    for volunteer_id, recent, total in session.execute(
        select(SignUp.volunteer_id, func.sum(case((Activity.starts_at >= window_start, 1), else_=0)), func.count())
        .join(Activity, Activity.id == SignUp.activity_id).outerjoin(Attendance, came)
        .where(SignUp.status == "signed_up", absent).group_by(SignUp.volunteer_id)
    ):
        no_shows[volunteer_id][0] += int(recent)
        no_shows[volunteer_id][1] += int(total)
    # A cancellation counts as a no-show when it came later than the policy allows; few rows, so compared here.
    late = dt.timedelta(hours=float(policy["grade_late_cancel_hours"]))
    for volunteer_id, starts_at, cancelled_at in session.execute(
        select(SignUp.volunteer_id, Activity.starts_at, SignUp.cancelled_at)
        .join(Activity, Activity.id == SignUp.activity_id).outerjoin(Attendance, came)
        .where(SignUp.status == "cancelled", SignUp.cancelled_at.is_not(None), absent)
    ):
        if cancelled_at > starts_at - late:
            no_shows[volunteer_id][0] += starts_at >= window_start
            no_shows[volunteer_id][1] += 1
    for volunteer_id, recent, total in session.execute(
        select(Assignment.volunteer_id, func.sum(case((Order.window_start >= window_start, 1), else_=0)), func.count())
        .join(Order, Order.id == Assignment.order_id)
        .where(Assignment.status == "no_show", Order.window_start >= year_start,
               Assignment.volunteer_id.in_(volunteers.scalar_subquery()) if home_ids is not None else True)
        .group_by(Assignment.volunteer_id)
    ):
        no_shows[volunteer_id][0] += int(recent)
        no_shows[volunteer_id][1] += int(total)
    rated = {
        row[0]: row[1:] for row in session.execute(
            select(Rating.volunteer_id, func.count(), func.sum(Rating.stars), func.sum(case((Rating.complaint_upheld.is_(True), 1), else_=0)))
            .where(Rating.rated_at >= year_start, Rating.volunteer_id.in_(volunteers.scalar_subquery()) if home_ids is not None else True)
            .group_by(Rating.volunteer_id)
        )
    }

    result = {}
    for person_id, home_id, created_at in people:
        services, last = served.get(person_id, (0, None))
        registered = local_day(created_at)
        since = max(local_day(last), registered) if last is not None else registered
        idle = (today - since).days
        idle_over = last is None and idle > lookback
        ratings, stars, complaints = rated.get(person_id, (0, 0, 0))
        recent, year = no_shows.get(person_id, (0, 0))
        result[person_id] = (home_id, {
            "window": window, "services": int(services or 0), "idle_days": lookback if idle_over else idle, "idle_over": idle_over,
            "no_shows": int(recent), "no_shows_year": int(year), "ratings": int(ratings),
            "rating_avg": round(int(stars or 0) / ratings, 4) if ratings else None, "complaints": int(complaints or 0),
        })
    return result


# -- the run -------------------------------------------------------------------------------------


def take_turn(session: Session) -> None:
    """Wait for any other grading run or override to end before reading the grades this one will change.

    Each works out the tallies' changes from the grade rows it reads: two at once
    (the nightly run and a coordinator's override, two "grade now") would each
    move the counts from the same row, and the counts would drift from the rows.
    On PostgreSQL they take turns on an advisory lock held to the commit; on
    SQLite the write lock does it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GRADING_LOCK})
    else:
        start_writing(session)


def _latest(session: Session, subject_type: str, subject_ids: Sequence[int] | None) -> dict[int, Grade]:
    """The newest row of each subject (None: of every subject of that type).

    Asked in chunks: a county's hundred thousand ids in one IN list pass the
    driver's limit on parameters (65,535 on PostgreSQL).
    """
    if subject_ids is not None:
        ids, found = list(subject_ids), {}
        for start in range(0, len(ids), LATEST_CHUNK):
            found.update(_newest_rows(session, subject_type, Grade.subject_id.in_(ids[start:start + LATEST_CHUNK])))
        return found
    return _newest_rows(session, subject_type, True)


def _newest_rows(session: Session, subject_type: str, among: Any) -> dict[int, Grade]:
    newest = (
        select(Grade.subject_id, func.max(Grade.graded_on).label("day")).where(Grade.subject_type == subject_type, among)
        .group_by(Grade.subject_id).subquery()
    )
    stmt = select(Grade).join(newest, and_(Grade.subject_id == newest.c.subject_id, Grade.graded_on == newest.c.day)).where(Grade.subject_type == subject_type)
    return {g.subject_id: g for g in session.scalars(stmt)}


def _store(session: Session, subject_type: str, computed: dict[int, tuple[int, str, dict[str, Any], str]], latest: Mapping[int, Grade], *, now: dt.datetime) -> None:
    """Insert a row where the computed colour changed (or there is none), refresh the current row otherwise.

    The newest row of each subject carries `is_current`: a new row takes it from the one it follows.
    """
    today = local_day(now)
    inserts, updates, superseded = [], [], []
    moved: Counter = Counter()  # (organisation, colour) -> change in current grades, for the tallies
    for subject_id, (organisation_id, colour, figures, explanation) in computed.items():
        figures_json = json.dumps(figures, sort_keys=True)
        current = latest.get(subject_id)
        was = (current.organisation_id, current.colour) if current is not None else None
        if current is not None and current.computed_colour == colour:
            if (current.figures_json, current.explanation, current.organisation_id) != (figures_json, explanation, organisation_id):
                updates.append({"id": current.id, "figures_json": figures_json, "explanation": explanation, "organisation_id": organisation_id, "computed_at": now})
                tallies.move(moved, was, (organisation_id, current.colour))
        elif current is not None and current.graded_on == today:
            updates.append({
                "id": current.id, "computed_colour": colour, "colour": colour, "figures_json": figures_json, "explanation": explanation,
                "organisation_id": organisation_id, "computed_at": now, "overridden_by": None, "overridden_at": None, "override_reason": None,
            })
            tallies.move(moved, was, (organisation_id, colour))
        else:
            newest = current is None or current.graded_on < today
            if current is not None and newest:
                superseded.append({"id": current.id, "is_current": False})
            if newest:
                tallies.move(moved, was, (organisation_id, colour))
            inserts.append({
                "subject_type": subject_type, "subject_id": subject_id, "organisation_id": organisation_id, "graded_on": today,
                "computed_colour": colour, "colour": colour, "figures_json": figures_json, "explanation": explanation, "computed_at": now,
                "is_current": newest,
            })
    for chunk in range(0, len(superseded), 5000):
        session.execute(update(Grade), superseded[chunk:chunk + 5000])
    for chunk in range(0, len(inserts), 5000):
        session.execute(insert(Grade), inserts[chunk:chunk + 5000])
    for chunk in range(0, len(updates), 5000):
        session.execute(update(Grade), updates[chunk:chunk + 5000])
    if subject_type == VOLUNTEER:
        tallies.add(session, moved)


def grade_volunteers(session: Session, *, organisation: Organisation | int | None = None, now: dt.datetime) -> dict[str, int]:
    """Grade every volunteer and team of the subtree (None: everyone) for today (Asia/Shanghai); counts per colour.

    Each volunteer is graded under their home organisation's policy: the
    organisations are grouped by their grading policy and each group's
    figures come from grouped queries, never one query per volunteer.
    """
    organisations = _subtree(session, organisation)
    policies = policies_by_organisation(session, organisations)
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for organisation_id, policy in policies.items():
        groups[tuple(json.dumps(policy[k]) for k in rules.GRADE_KEYS)].append(organisation_id)
    everyone = organisation is None and len(groups) == 1
    counts: Counter[str] = Counter({c.value: 0 for c in GradeColour})
    members: dict[int, Counter[str]] = defaultdict(Counter)
    with stored_language() as translate:
        computed: dict[int, tuple[int, str, dict[str, Any], str]] = {}
        for home_ids in groups.values():
            policy = policies[home_ids[0]]
            for person_id, (home_id, figures) in volunteer_figures(session, policy, None if everyone else home_ids, now=now).items():
                colour = rules.volunteer_colour(figures, policy)
                computed[person_id] = (home_id, colour, figures, rules.explain(figures, translate))
                members[home_id][colour] += 1
        take_turn(session)
        latest = _latest(session, VOLUNTEER, None if organisation is None else list(computed))
        _store(session, VOLUNTEER, computed, latest, now=now)
        for _home, colour, _figures, _text in computed.values():
            counts[colour] += 1
        teams: dict[int, tuple[int, str, dict[str, Any], str]] = {}
        for team in (o for o in organisations if o.level == "team"):
            tally = members.get(team.id, Counter())
            figures = {"members": sum(tally.values()), **{c.value: tally[c.value] for c in GradeColour}}
            if figures["members"]:
                teams[team.id] = (team.id, rules.team_colour(figures, policies[team.id]), figures, rules.explain(figures, translate))
        _store(session, TEAM, teams, _latest(session, TEAM, list(teams)), now=now)
    session.flush()
    # The bulk statements bypassed the loaded grades: read them again when next used (and nothing else).
    for loaded in [o for o in session.identity_map.values() if isinstance(o, Grade)]:
        session.expire(loaded)
    return dict(counts)


def regrade(session: Session, organisation_id: int, *, actor: Actor, now: dt.datetime) -> dict[str, int]:
    """A coordinator's on-demand grading of their subtree."""
    organisation = get_organisation(session, organisation_id)
    actor.require(MANAGERS, organisation)
    return grade_volunteers(session, organisation=organisation, now=now)


# -- reading ------------------------------------------------------------------------------------


def grade_of(session: Session, volunteer_id: int, *, subject_type: str = VOLUNTEER) -> Grade | None:
    """The current grade of a volunteer (or a team), or None if never graded."""
    return session.scalar(
        select(Grade).where(Grade.subject_type == subject_type, Grade.subject_id == volunteer_id).order_by(Grade.graded_on.desc()).limit(1)
    )


def _in_subtrees(session: Session, organisation_ids: Sequence[int]) -> list[int] | None:
    paths = list(session.scalars(select(Organisation.path).where(Organisation.id.in_(list(organisation_ids)))))
    return _ids_below(session, paths)


def _ids_below(session: Session, paths: Sequence[str]) -> list[int] | None:
    """The ids of the organisations under `paths` (None for no paths): resolved first, so the figures that filter
    by them read an index range the planner can estimate rather than join the organisations on a path prefix."""
    if not paths:
        return None
    return list(session.scalars(select(Organisation.id).where(or_(*[Organisation.path.startswith(p) for p in paths]))))


def _current(subject_type: str = VOLUNTEER):
    """Grade rows that stand now: each subject's newest, flagged as such by the grading (see `_store`)."""
    return and_(Grade.subject_type == subject_type, Grade.is_current)


def current_grades(session: Session, organisation_ids: Sequence[int]) -> dict[str, int]:
    """How many volunteers of those organisations (and below) stand at each colour now."""
    return grade_counts(session, _in_subtrees(session, organisation_ids) or ())


def grade_counts(session: Session, homes: Sequence[int]) -> dict[str, int]:
    """How many volunteers graded under those organisations (ids, not subtrees) stand at each colour now.

    Read from the tallies the grading and the overrides keep (grading/tallies.py):
    a few rows per organisation, however many volunteers it has.
    """
    counts = {c.value: 0 for c in GradeColour}
    counts.update(tallies.counts(session, list(homes)))
    return counts


def history(session: Session, subject_id: int, *, subject_type: str = VOLUNTEER, limit: int = 100) -> list[Grade]:
    """A subject's grades, newest first: one row per period of one colour."""
    stmt = select(Grade).where(Grade.subject_type == subject_type, Grade.subject_id == subject_id).order_by(Grade.graded_on.desc()).limit(limit)
    return list(session.scalars(stmt))


def subject_organisation(session: Session, subject_type: str, subject_id: int) -> Organisation:
    """The organisation whose carers see a subject: a volunteer's home, or the team itself."""
    if subject_type == TEAM:
        team = get_organisation(session, subject_id)
        if team.level != "team":
            raise NotFound()
        return team
    return get_organisation(session, get_person(session, subject_id).home_organisation_id)


def reach(session: Session, subject_type: str, subject_id: int, roles: Sequence[Role], *, actor: Actor) -> Organisation:
    """The subject's organisation, if one of `roles` is the actor's over it (403 without the role, 404 elsewhere)."""
    organisation = subject_organisation(session, subject_type, subject_id)
    actor.require(roles, organisation)
    return organisation


def visible_grades(session: Session, subject_type: str, subject_id: int, *, actor: Actor) -> list[Grade]:
    """A subject's history for the volunteer themself or a carer over them."""
    if not (subject_type == VOLUNTEER and subject_id == actor.id):
        reach(session, subject_type, subject_id, CARERS, actor=actor)
    return history(session, subject_id, subject_type=subject_type)


# -- overrides and follow-ups ----------------------------------------------------------------------


def override_grade(session: Session, subject_type: str, subject_id: int, colour: str, reason: str, *, actor: Actor, now: dt.datetime) -> Grade:
    """A coordinator sets the colour that stands, with a reason; it stands until the computed colour changes."""
    reach(session, subject_type, subject_id, MANAGERS, actor=actor)
    if colour not in rules.ORDER:
        raise InvalidInput(errors={"colour": ["Choose a colour."]})
    if not reason.strip():
        raise InvalidInput(errors={"reason": ["Say why."]})
    take_turn(session)
    grade = grade_of(session, subject_id, subject_type=subject_type)
    if grade is None:
        raise InvalidInput(errors={"colour": ["This volunteer has not been graded yet."]})
    before = {"colour": grade.colour, "override_reason": grade.override_reason}
    was = (grade.organisation_id, grade.colour)
    if colour == grade.computed_colour:  # back to what the rules give: no override stands
        grade.colour, grade.overridden_by, grade.overridden_at, grade.override_reason = colour, None, None, None
    else:
        grade.colour, grade.overridden_by, grade.overridden_at, grade.override_reason = colour, actor.id, now, reason.strip()[:200]
    if subject_type == VOLUNTEER and grade.is_current:
        changes: Counter = Counter()
        tallies.move(changes, was, (grade.organisation_id, grade.colour))
        tallies.add(session, changes)
    record(session, actor=actor.id, action="override_grade", target=("grade", grade.id),
           changes={"colour": [before["colour"], grade.colour], "override_reason": [before["override_reason"], reason.strip()[:200]]}, now=now)
    return grade


@dataclass(frozen=True)
class FollowUpItem:
    """A yellow or red volunteer waiting for a call back, with their last follow-up if any."""

    person: Person
    grade: Grade
    last: FollowUp | None


def _carer_homes(session: Session, actor: Actor) -> list[int] | None:
    return _ids_below(session, actor.paths(CARERS))


def _flagged(homes: Sequence[int]):
    """Current yellow and red grades of volunteers homed in `homes`."""
    return (
        select(Grade).join(Person, Person.id == Grade.subject_id)
        .where(_current(), Grade.colour.in_(("yellow", "red")), Person.home_organisation_id.in_(list(homes)))
    )


def _called_back(last: FollowUp | None, grade: Grade, *, now: dt.datetime) -> bool:
    """A follow-up since the colour began, within the last FOLLOW_UP_FRESH_DAYS: nobody needs to call again yet."""
    return last is not None and last.at >= now - dt.timedelta(days=FOLLOW_UP_FRESH_DAYS) and local_day(last.at) >= grade.graded_on


def follow_up_list(session: Session, actor: Actor, *, now: dt.datetime, limit: int = 500) -> list[FollowUpItem]:
    """Yellow and red volunteers in the actor's subtrees with no follow-up since their colour began (or in 90 days), oldest first."""
    homes = _carer_homes(session, actor)
    if homes is None:
        return []
    stmt = _flagged(homes).add_columns(Person).order_by(Grade.graded_on, Grade.id).limit(limit * 2)
    found = session.execute(stmt).all()
    lasts = _last_follow_ups(session, [g.subject_id for g, _p in found])
    items = [FollowUpItem(person, grade, lasts.get(person.id)) for grade, person in found if not _called_back(lasts.get(person.id), grade, now=now)]
    return items[:limit]


def follow_up_counts(session: Session, actor: Actor, *, now: dt.datetime, homes: Sequence[int] | None = None) -> dict[str, int]:
    """How many yellow and red volunteers in the actor's subtrees wait for a call back: counted, not listed.

    Everyone flagged is counted from the grade tallies (tallies.py: current
    grades per organisation and colour, which the grading keeps under each
    volunteer's home); only those called back in the last FOLLOW_UP_FRESH_DAYS
    (a few) are read, to take away the ones who need no call yet.
    """
    found = {"yellow": 0, "red": 0}
    homes = _carer_homes(session, actor) if homes is None else homes
    if not homes:
        return found
    standing = tallies.counts(session, list(homes))
    found = {colour: standing.get(colour, 0) for colour in found}
    recent = select(FollowUp.volunteer_id).where(FollowUp.at >= now - dt.timedelta(days=FOLLOW_UP_FRESH_DAYS))
    called = list(session.scalars(
        select(Grade).where(_current(), Grade.colour.in_(("yellow", "red")), Grade.organisation_id.in_(list(homes)), Grade.subject_id.in_(recent))
    ))
    lasts = _last_follow_ups(session, [g.subject_id for g in called])
    for grade in called:
        if _called_back(lasts.get(grade.subject_id), grade, now=now):
            found[grade.colour] -= 1
    return found


def _last_follow_ups(session: Session, volunteer_ids: Sequence[int]) -> dict[int, FollowUp]:
    if not volunteer_ids:
        return {}
    newest = select(func.max(FollowUp.id)).where(FollowUp.volunteer_id.in_(list(volunteer_ids))).group_by(FollowUp.volunteer_id)
    return {f.volunteer_id: f for f in session.scalars(select(FollowUp).where(FollowUp.id.in_(newest.scalar_subquery())))}


def record_follow_up(session: Session, volunteer_id: int, values: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> FollowUp:
    """A social worker records a call back: how, what came of it, notes."""
    reach(session, VOLUNTEER, volunteer_id, CARERS, actor=actor)
    if values.get("method") not in FOLLOW_UP_METHODS:
        raise InvalidInput(errors={"method": ["Choose how you reached them."]})
    if values.get("outcome") not in FOLLOW_UP_OUTCOMES:
        raise InvalidInput(errors={"outcome": ["Choose what came of it."]})
    grade = grade_of(session, volunteer_id)
    follow_up = FollowUp(
        volunteer_id=volunteer_id, grade_id=grade.id if grade else None, social_worker_id=actor.id, at=now,
        method=values["method"], outcome=values["outcome"], notes=(values.get("notes") or "").strip() or None,
    )
    session.add(follow_up)
    session.flush()
    return follow_up


def follow_ups_of(session: Session, volunteer_id: int, *, limit: int = 50) -> list[FollowUp]:
    """A volunteer's follow-ups, newest first."""
    return list(session.scalars(select(FollowUp).where(FollowUp.volunteer_id == volunteer_id).order_by(FollowUp.at.desc(), FollowUp.id.desc()).limit(limit)))


def figures(grade: Grade) -> dict[str, Any]:
    """A grade's figures, read back."""
    return json.loads(grade.figures_json)

