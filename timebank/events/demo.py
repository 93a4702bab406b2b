"""The demo's activities: one at every step of the life cycle, built through the services the pages call.

`timebank demo` (see timebank/demo.py) calls `build_activities` once the
ledger history stands. Every scan, sign-up, review and correction goes
through the same service a volunteer's phone or a social worker's page
calls, at the time it would have happened, so the credits of approved
attendances are posted by `review.approve_attendance` and a correction
reverses and re-posts as it does for real. What it builds, against `now`:

- settled: a visit to the old people's home six days ago, every attendance
  decided (approved, one adjusted first, one rejected), with a volunteer's
  correction request answered (accepted: reversal and new credit) and another
  still open; and a first-aid training, settled, crediting training hours;
- finished, awaiting review: yesterday's campaign with flagged attendances
  (late, forgotten check-out, scanned far from the venue); a drill in a team
  whose policy asks for two reviewers, some approved by both, one by one only;
  and an overdue one, twenty days old, past the ten working days;
- under way now, with volunteers checked in by screen, poster and kiosk;
- published and upcoming, full, with a waiting list (someone gave up a place
  and the first waiting moved up);
- a draft, and one cancelled because of the weather.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.events import corrections, review, services
from timebank.events.checkin import record_scan
from timebank.events.models import Activity, Attendance, AttendanceStatus, CorrectionRequest, Phase
from timebank.localtime import LOCAL_TZ, local_day
from timebank.orgs.models import Organisation
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from timebank.people.models import Person

#: Near 大营镇's centre, where the demo's venues with coordinates lie.
VENUE = (34.7209, 111.1047)
FAR_AWAY = (34.7390, 111.1210)  # about 2.5 km off: outside any venue's radius
#: A team's activities are run by its community's social worker.
COMMUNITY_OF = {"east_elderly": "east", "east_children": "east", "west_emergency": "west", "west_civility": "west"}


@dataclass
class Stage:
    """Who acts, on whom, and when "now" is."""

    session: Session
    rng: random.Random
    now: dt.datetime
    organisations: dict[str, Organisation]
    carers: dict[str, Person]  # community (or street) key -> its social worker
    managers: dict[str, Person]  # community key -> its coordinator
    volunteers: Sequence[Person]

    def at(self, days: int, hour: int, minute: int = 0) -> dt.datetime:
        """`days` from today (negative: past) at the given local wall-clock time, in UTC."""
        day = local_day(self.now) + dt.timedelta(days=days)
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)

    def carer(self, org: str) -> Person:
        """The social worker who runs activities of this organisation (a team's community's)."""
        return self.carers[COMMUNITY_OF.get(org, org)]

    def people(self, count: int, *, known_by: dt.datetime) -> list[Person]:
        """Up to `count` different volunteers, all registered by `known_by`."""
        known = [p for p in self.volunteers if p.created_at <= known_by]
        return self.rng.sample(known, min(count, len(known)))

    def minutes(self, low: int, high: int) -> dt.timedelta:
        """A random span between `low` and `high` minutes."""
        return dt.timedelta(minutes=self.rng.randint(low, high))


def build_activities(
    session: Session,
    *,
    rng: random.Random,
    now: dt.datetime,
    organisations: dict[str, Organisation],
    carers: dict[str, Person],
    managers: dict[str, Person],
    volunteers: Sequence[Person],
) -> str:
    """Build the demo's activities (see the module's docstring); returns a line for the summary."""
    stage = Stage(session, rng, now, organisations, carers, managers, volunteers)
    _settled_visit(stage)
    _settled_training(stage)
    _awaiting_review(stage)
    _two_reviewers(stage)
    _overdue(stage)
    _under_way(stage)
    _upcoming(stage)
    _draft_and_cancelled(stage)
    session.flush()
    return _summary(stage)


def _create(stage: Stage, org: str, title: str, category: str, starts: dt.datetime, ends: dt.datetime, *, created: dt.datetime,
            address: str, publish: bool = True, **fields: object) -> Activity:
    """An activity created (and published an hour later) by the social worker of its organisation."""
    actor = actor_for(stage.session, stage.carer(org))
    data = {"title": title, "category": category, "organisation_id": stage.organisations[org].id, "address": address,
            "starts_at": starts.isoformat(), "ends_at": ends.isoformat(), **fields}
    activity = services.create_activity(stage.session, data, actor=actor, now=created)
    if publish:
        services.publish_activity(stage.session, activity.id, actor=actor, now=created + dt.timedelta(hours=1))
    return activity


def _attend(stage: Stage, activity: Activity, volunteer: Person, *, late: int = 0, leaves_early: int = 0,
            checks_out: bool = True, position: tuple[float, float] | None = None) -> Attendance:
    """A volunteer scans the venue screen in around the start (`late` minutes after it) and out around the end."""
    arrives = activity.starts_at + (dt.timedelta(minutes=late) if late else -stage.minutes(0, 20))
    scan = record_scan(stage.session, activity, volunteer, "in", method="screen", now=arrives, position=position)
    if checks_out:
        leaves = activity.ends_at - dt.timedelta(minutes=leaves_early) if leaves_early else activity.ends_at + stage.minutes(0, 10)
        record_scan(stage.session, activity, volunteer, "out", method="screen", now=leaves)
    return scan.attendance


def _settled_visit(stage: Stage) -> None:
    """Six days ago, reviewed the next morning, settled; then one correction accepted, another still open.

    One attendance is rejected, a forgotten check-out adjusted with a reason,
    an early leaver approved and, at the volunteer's request, corrected.
    """
    starts, ends = stage.at(-6, 9), stage.at(-6, 11, 30)
    activity = _create(stage, "east_elderly", "重阳节敬老院探访", "elderly", starts, ends, created=stage.at(-16, 10),
                       address="大营镇敬老院", latitude=VENUE[0], longitude=VENUE[1], radius_m=300,
                       description="陪老人聊天、读报，协助护理员整理房间")
    people = stage.people(8, known_by=stage.at(-16, 10))
    absent, forgot, early = people[0:1], people[1:2], people[2:3]
    attendances = {p.id: _attend(stage, activity, p, position=VENUE) for p in people[3:] + absent}
    attendances |= {p.id: _attend(stage, activity, p, checks_out=False) for p in forgot}
    attendances |= {p.id: _attend(stage, activity, p, leaves_early=40, position=VENUE) for p in early}
    reviewer, when = actor_for(stage.session, stage.carer("east")), stage.at(-5, 10)
    for person in absent:
        review.reject_attendance(stage.session, attendances[person.id].id, "本人当天未到场，由他人代为签到", actor=reviewer, now=when)
    review.approve_unflagged(stage.session, activity.id, actor=reviewer, now=when)
    for person in forgot:
        adjustment = {"minutes": 120, "reason": "未签退，经活动负责人确认11:00离开，按2小时计"}
        review.adjust_minutes(stage.session, attendances[person.id].id, adjustment, actor=reviewer, now=when)
        review.approve_attendance(stage.session, attendances[person.id].id, actor=reviewer, now=when)
    for person in early:
        review.approve_attendance(stage.session, attendances[person.id].id, actor=reviewer, now=when)
        # The phone died, says the volunteer: accepted, so the credit is reversed and posted again.
        request = corrections.report_error(
            stage.session, attendances[person.id].id,
            {"message": "签退时手机没电了，我其实一直服务到活动结束", "claimed_minutes": 150}, volunteer=person, now=stage.at(-4, 20, 15))
        answer = {"accept": "accept", "answer": "已向敬老院护理员核实，按全程150分钟记录", "minutes": 150}
        corrections.answer_correction(stage.session, request.id, answer, actor=reviewer, now=stage.at(-3, 9, 30))
    for person in people[3:4]:
        corrections.report_error(
            stage.session, attendances[person.id].id, {"message": "我提前到了，帮忙布置场地，能否补记半小时？", "claimed_minutes": 180},
            volunteer=person, now=stage.at(-1, 19, 40))


def _settled_training(stage: Stage) -> None:
    """First-aid training nine days ago: a fixed two hours of training, approved for everyone the next morning."""
    starts, ends = stage.at(-9, 14), stage.at(-9, 16)
    activity = _create(stage, "street", "志愿者应急救护知识培训", "training", starts, ends, created=stage.at(-20, 15),
                       address="大营镇社区服务中心三楼会议室", credit_mode="fixed", fixed_minutes=120,
                       description="红十字会讲师讲授心肺复苏和止血包扎")
    for person in stage.people(6, known_by=stage.at(-20, 15)):
        _attend(stage, activity, person)
    review.approve_unflagged(stage.session, activity.id, actor=actor_for(stage.session, stage.carer("street")), now=stage.at(-8, 9))


def _awaiting_review(stage: Stage) -> None:
    """Yesterday afternoon, not reviewed yet: some on time, one late, one who forgot to check out, one scanned far away."""
    starts, ends = stage.at(-1, 14), stage.at(-1, 16, 30)
    activity = _create(stage, "west_civility", "垃圾分类入户宣传", "civility", starts, ends, created=stage.at(-8, 11),
                       address="西关社区文化广场", latitude=VENUE[0], longitude=VENUE[1], radius_m=500)
    unusual = [{"late": 30}, {"checks_out": False}, {"position": FAR_AWAY}]
    for number, person in enumerate(stage.people(7, known_by=stage.at(-8, 11))):
        _attend(stage, activity, person, **(unusual[number] if number < len(unusual) else {"position": VENUE}))


def _two_reviewers(stage: Stage) -> None:
    """A team whose policy asks for two reviewers: two attendances approved by both, one by one, one not yet."""
    team = stage.organisations["west_emergency"]
    set_policies(stage.session, team.id, {"reviewers_required": 2}, actor=actor_for(stage.session, stage.managers["west"]),
                 now=stage.at(-30, 10))
    starts, ends = stage.at(-3, 9), stage.at(-3, 11)
    activity = _create(stage, "west_emergency", "汛期应急物资清点演练", "emergency", starts, ends, created=stage.at(-10, 9),
                       address="西关社区应急物资储备库")
    attendances = [_attend(stage, activity, person) for person in stage.people(4, known_by=stage.at(-10, 9))]
    first, second = (actor_for(stage.session, stage.carer(key)) for key in ("west", "street"))
    for attendance in attendances[:3]:
        review.approve_attendance(stage.session, attendance.id, actor=first, now=stage.at(-2, 10))
    for attendance in attendances[:2]:
        review.approve_attendance(stage.session, attendance.id, actor=second, now=stage.at(-2, 15))


def _overdue(stage: Stage) -> None:
    """Twenty days ago and never reviewed: past the ten working days the rules allow."""
    starts, ends = stage.at(-20, 16, 30), stage.at(-20, 18)
    activity = _create(stage, "east_children", "“四点半课堂”作业辅导", "children", starts, ends, created=stage.at(-30, 9),
                       address="东城社区党群服务中心二楼")
    for person in stage.people(5, known_by=stage.at(-30, 9)):
        _attend(stage, activity, person)


def _under_way(stage: Stage) -> None:
    """Started an hour ago: volunteers checked in by the screen, the printed poster and the organiser's kiosk."""
    starts = stage.now.replace(second=0, microsecond=0) - dt.timedelta(minutes=60 + stage.now.minute % 10)
    activity = _create(stage, "east", "楼院环境整治志愿行动", "civility", starts, starts + dt.timedelta(hours=3),
                       created=stage.at(-7, 10), address="东城社区各楼院", poster_allowed=True)
    organiser = stage.carer("east").id
    for person, method in zip(stage.people(6, known_by=stage.at(-7, 10)), ("screen", "screen", "poster", "kiosk", "screen", "screen")):
        record_scan(stage.session, activity, person, "in", method=method, now=starts + stage.minutes(-20, 45),
                    recorded_by=organiser if method == "kiosk" else None)


def _upcoming(stage: Stage) -> None:
    """In two days, five places: eight signed up, one gave a place up, the first waiting moved up."""
    starts = stage.at(2, 9, 30)
    activity = _create(stage, "east_elderly", "教老年人用智能手机", "elderly", starts, starts + dt.timedelta(minutes=90),
                       created=stage.at(-3, 10), address="东城社区老年活动室", capacity=5, signup_required=True,
                       poster_allowed=True, description="教老人用手机挂号、视频通话、识别诈骗短信")
    people = stage.people(8, known_by=stage.at(-3, 10))
    for number, person in enumerate(people):
        services.sign_up(stage.session, activity.id, volunteer=person, now=stage.at(-3, 12) + dt.timedelta(minutes=37 * number))
    if len(people) > 5:
        services.cancel_sign_up(stage.session, activity.id, volunteer=people[1], now=stage.at(-1, 20))


def _draft_and_cancelled(stage: Stage) -> None:
    """A draft not yet published, and an outdoor clinic called off for the weather."""
    _create(stage, "west", "冬季消防安全入户宣传", "governance", stage.at(9, 14), stage.at(9, 16, 30),
            created=stage.at(-1, 16), address="西关社区各楼院", publish=False)
    clinic = _create(stage, "east", "户外义诊：量血压、测血糖", "elderly", stage.at(4, 9), stage.at(4, 11, 30),
                     created=stage.at(-5, 10), address="东城社区广场")
    for number, person in enumerate(stage.people(3, known_by=stage.at(-5, 10))):
        services.sign_up(stage.session, clinic.id, volunteer=person, now=stage.at(-4, 9) + dt.timedelta(hours=number))
    services.cancel_activity(stage.session, clinic.id, "天气预报有大风降温，义诊改期举行",
                             actor=actor_for(stage.session, stage.carer("east")), now=stage.at(-1, 18))


def _summary(stage: Stage) -> str:
    """What the activities look like now, for `timebank demo` to print."""
    session = stage.session
    phases = Counter(a.phase(stage.now).value for a in session.scalars(select(Activity)))
    statuses = Counter(session.scalars(select(Attendance.status)))
    requests = Counter(session.scalars(select(CorrectionRequest.status)))
    shown = ", ".join(f"{phases[p.value]} {p.value.replace('_', ' ')}" for p in Phase if phases[p.value])
    return (
        f"activities: {shown}; attendances: {statuses[AttendanceStatus.APPROVED.value]} approved, "
        f"{statuses[AttendanceStatus.REJECTED.value]} rejected, "
        f"{statuses[AttendanceStatus.CHECKED_IN.value] + statuses[AttendanceStatus.CHECKED_OUT.value]} to review or still in; "
        f"correction requests: {requests['open']} open, {requests['accepted'] + requests['declined']} answered"
    )
