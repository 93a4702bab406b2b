"""The demo's month of home-service orders (派单—接单—评单), in every state, built through the services.

For each community with a social worker: residents living alone, their needs,
and orders that went every way — served, approved and rated well; rated low
and followed up by phone; served and waiting for approval; accepted for
tomorrow; offered and waiting for an answer; open for claims; an offer that
timed out and was dispatched again; cancelled by the family; a no-show.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from timebank.events import review
from timebank.needs import orders, ratings, visits
from timebank.needs.services import record_event
from timebank.needs.models import Need, Resident
from timebank.orgs.models import Organisation
from timebank.people.access import actor_for
from timebank.people.models import Person

#: (name, what help, the story its order follows)
STORIES = (
    ("张桂兰", "腿脚不便，需要有人陪同去社区医院复诊取药", "rated_well"),
    ("李秀英", "独居，想请人帮忙打扫厨房、换灯泡", "followed_up"),
    ("王德福", "高龄独居，每周需要上门理发", "waiting_approval"),
    ("赵淑珍", "需要有人帮忙代买一周的米面菜", "accepted"),
    ("刘振华", "电视机没有信号，想请人上门看看", "offered"),
    ("陈玉梅", "想有人陪着聊聊天、读读报", "open"),
    ("杨国庆", "行动不便，需要代缴水电费", "redispatched"),
    ("黄素芬", "想请人帮忙整理药箱、讲讲用药时间", "cancelled"),
    ("周建国", "需要陪同去银行办理业务", "no_show"),
)
SECRET = "demo-visits"  # the staff confirm visits in the demo: no code is signed with it


def _resident(session: Session, community: Organisation, name: str, rng: random.Random, at: dt.datetime) -> Resident:
    resident = Resident(
        organisation_id=community.id, real_name=name, phone=f"139{rng.randrange(10**8):08d}",
        address=f"{community.name}{rng.randint(1, 12)}号楼{rng.randint(1, 4)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}",
        birth_date=dt.date(rng.randint(1936, 1950), rng.randint(1, 12), rng.randint(1, 28)),
        groups="living_alone,old_age", card_key=secrets.token_urlsafe(16)[:22], consent_version="2026-01",
        consent_at=at, created_at=at,
    )
    session.add(resident)
    session.flush()
    return resident


def build_orders(
    session: Session, *, rng: random.Random, now: dt.datetime, organisations: Mapping[str, Organisation],
    carers: Mapping[str, Person], managers: Mapping[str, Person], volunteers: Sequence[Person],
) -> str:
    """A month of orders for each community with a social worker; returns a one-line summary."""
    made = 0
    for key, carer in carers.items():
        community = organisations[key]
        if community.level != "community":
            continue
        staff = actor_for(session, carer)
        reviewers = [staff] + ([actor_for(session, managers[key])] if key in managers else [])
        near = [p for p in volunteers if p.home_organisation_id == community.id] or list(volunteers)
        for number, (name, help_wanted, story) in enumerate(STORIES):
            # A visit waiting for approval is recent: an old one would be overdue (10 working days), as the review lists show.
            # Orders still being answered were placed yesterday.
            days_ago = 3 if story == "waiting_approval" else 1 if story in ("accepted", "offered", "open") else 28 - 3 * number
            begun = now - dt.timedelta(days=days_ago, hours=rng.randint(0, 6))
            resident = _resident(session, community, name, rng, begun)
            need = Need(resident_id=resident.id, organisation_id=community.id, channel=rng.choice(("grid", "hotline", "home_visit")),
                        description=help_wanted, contact_phone=resident.phone, colour=rng.choice(("yellow", "blue")),
                        status="recorded", recorded_by=carer.id, recorded_at=begun)
            session.add(need)
            session.flush()
            record_event(session, need, "recorded", actor=carer.id, now=begun)
            _follow(session, story, need, staff, reviewers, rng.sample(near, k=min(2, len(near))), begun, now)
            made += 1
        session.flush()
    return f"orders: {made} home-service orders in every state, with reviews and a low rating followed up"


def _follow(session: Session, story: str, need: Need, staff, reviewers, pair: Sequence[Person], begun: dt.datetime, now: dt.datetime) -> None:
    """Take one need's order along its story, each step at its own time."""
    past = story not in ("accepted", "offered", "open")
    start = begun + dt.timedelta(days=2) if past else now + dt.timedelta(days=1)
    data = {"category": "elderly", "window_start": start.isoformat(), "window_end": (start + dt.timedelta(hours=4)).isoformat(),
            "expected_minutes": 90, "open_for_claims": story == "open", "skills": "陪诊" if "陪同" in need.description else None}
    placed = min(begun + dt.timedelta(hours=2), now - dt.timedelta(hours=3)) if past else now - dt.timedelta(hours=3)
    order = orders.create_order(session, need.id, data, actor=staff, now=placed)
    if story == "open":
        return
    volunteer, spare = pair[0], pair[-1]
    if story == "redispatched":
        [first] = orders.dispatch(session, order.id, {"volunteer_ids": [spare.id]}, actor=staff, now=placed)
        orders.expire_offers(session, now=first.respond_by)
        placed = first.respond_by
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [volunteer.id]}, actor=staff, now=placed)
    if story == "offered":
        return
    orders.accept(session, offer.id, volunteer=volunteer, now=placed + dt.timedelta(hours=1))
    if story == "cancelled":  # the daughter, who placed the need on her phone, calls it off
        need.recorded_by = spare.id
        orders.cancel_order(session, order.id, {"reason": "女儿这周回来，自己陪同"}, actor=actor_for(session, spare), now=placed + dt.timedelta(hours=5))
        return
    if story == "no_show":
        orders.record_no_show(session, offer.id, {"reason": "志愿者临时生病，未能上门"}, actor=staff, now=start + dt.timedelta(hours=2))
        return
    if story == "accepted":
        return
    at_home = start + dt.timedelta(minutes=20)
    visits.confirm_step(session, offer.id, "start", {"method": "staff"}, actor=staff, secret_key=SECRET, now=at_home)
    visits.confirm_step(session, offer.id, "end", {"method": "staff"}, actor=staff, secret_key=SECRET, now=at_home + dt.timedelta(minutes=95))
    if story == "waiting_approval":
        return
    decided = at_home + dt.timedelta(days=1)
    for reviewer in reviewers:
        if review.approve_attendance(session, offer.attendance_id, actor=reviewer, now=decided).status == "approved":
            break
    if story == "rated_well":
        ratings.rate(session, offer.id, {"stars": 5, "comment": "小伙子很耐心，谢谢！"}, actor=staff, now=decided + dt.timedelta(hours=3))
    else:
        rating = ratings.rate(session, offer.id, {"stars": 2, "comment": "来晚了一个小时，也没提前打电话"}, actor=staff, now=decided + dt.timedelta(hours=3))
        ratings.follow_up(session, rating.id, {"notes": "已电话回访：志愿者路上堵车，已向老人道歉，老人表示理解", "complaint_upheld": "no"},
                          actor=staff, now=decided + dt.timedelta(days=1))
