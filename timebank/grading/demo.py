"""The demo's social-work management: supervision sessions, no-shows, a grading run in which every colour appears,
an override, follow-ups, and each social worker's index for the last months."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.events.models import Activity, Attendance, SignUp
from timebank.grading import index, services, supervision
from timebank.grading.models import Grade
from timebank.localtime import local_day
from timebank.orgs.models import Organisation
from timebank.people.access import actor_for

TOPICS = ("助老服务沟通技巧", "志愿服务安全与自我保护", "入户探访的边界与伦理", "服务记录与个案反馈", "团队协作与情绪支持")
#: How many months of index the demo computes (this month included).
INDEX_MONTHS = 6


def _no_shows(session: Session, person_id: int, count: int, *, now: dt.datetime) -> int:
    """Sign the volunteer up to `count` recent finished activities they did not attend (the demo's no-shows)."""
    attended = select(Attendance.activity_id).where(Attendance.volunteer_id == person_id)
    signed = select(SignUp.activity_id).where(SignUp.volunteer_id == person_id)
    recent = session.scalars(
        select(Activity).where(Activity.ends_at < now, Activity.ends_at > now - dt.timedelta(days=80), Activity.status == "settled",
                               Activity.id.not_in(attended), Activity.id.not_in(signed))
        .order_by(Activity.starts_at.desc()).limit(count)
    ).all()
    for activity in recent:
        session.add(SignUp(activity_id=activity.id, volunteer_id=person_id, status="signed_up", created_at=activity.starts_at - dt.timedelta(days=3)))
    session.flush()
    return len(recent)


def build_grading(session: Session, *, cast: Any, now: dt.datetime) -> str:
    """Build the demo's grading and supervision (see the module's docstring); returns a line for the summary."""
    organisations, carers, managers = cast.organisations, cast.carers, cast.managers
    east = organisations["east"]
    east_people = [p for p in cast.volunteers if session.get(Organisation, p.home_organisation_id).path.startswith(east.path)]
    # Volunteers who sign up and do not come: two twice (yellow; one of them is overridden below), one five times (red).
    for person, times in zip(east_people[-5:-2], (2, 2, 5)):
        _no_shows(session, person.id, times, now=now)

    held = 0
    for key in ("east", "west"):
        worker = actor_for(session, carers[key])
        team = organisations[f"{key}_elderly" if key == "east" else "west_emergency"]
        members = [p.id for p in cast.volunteers if p.home_organisation_id in (organisations[key].id, team.id)]
        team_served = any(p.home_organisation_id == team.id for p in cast.volunteers)  # a small demo may leave a team empty
        for months_back in range(INDEX_MONTHS):
            for n in range(2 if months_back % 3 else 1):
                at = now - dt.timedelta(days=30 * months_back + 7 * n + 2)
                data = {"held_at": at.isoformat(), "minutes": 90 if n else 60, "topic": TOPICS[(months_back + n) % len(TOPICS)],
                        "notes": "案例讨论、角色扮演，并就近期服务中的困难逐一反馈"}
                data |= {"team_id": team.id} if n else {"volunteer_ids": members[months_back::INDEX_MONTHS][:5]}
                if data.get("volunteer_ids") or (n and team_served):
                    supervision.record_supervision(session, data, actor=worker, now=now)
                    held += 1

    counts = services.grade_volunteers(session, now=now)
    coordinator = actor_for(session, managers["east"])
    waiting = services.follow_up_list(session, actor_for(session, carers["east"]), now=now)
    yellow = next((i for i in waiting if i.grade.colour == "yellow"), None)
    if yellow is not None:
        services.override_grade(session, "volunteer", yellow.person.id, "blue", "家中老人住院，已电话沟通，下月恢复服务", actor=coordinator, now=now)
    for item, outcome in zip([i for i in waiting if i is not yellow][:2], ("will_return", "paused")):
        services.record_follow_up(session, item.person.id, {"method": "phone", "outcome": outcome, "notes": "电话回访，已了解近况"},
                                  actor=actor_for(session, carers["east"]), now=now)

    this = index.Month.of(local_day(now))
    computed = 0
    for months_back in range(INDEX_MONTHS - 1, -1, -1):
        month = this.back(months_back)
        computed += index.compute_month(session, month.first, now=min(now, month.end - dt.timedelta(seconds=1)))
    overridden = session.scalar(select(Grade.id).where(Grade.overridden_by.is_not(None)).limit(1)) is not None
    shown = "、".join(f"{colour} {count}" for colour, count in counts.items())
    return (f"grading: {shown}; {held} supervision sessions, {'1 override, ' if overridden else ''}"
            f"{computed} monthly supervision indices")
