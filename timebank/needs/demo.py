"""The demo's residents and a month of their needs (点单), through the services the pages call.

`timebank demo` calls `build_needs` once the activities stand. Each community
gets a grid worker, residents (some over 80 and living alone, some families
in hardship, one a volunteer who asks for help themself), partners on the
resources list and a service project. Then a month of needs arrives in every
channel and colour, recorded by the grid worker, the social worker, the
resident online or a family member, and each is taken as far as the needs
side takes it: still waiting (a few past their deadline), referred, declined,
taken into an activity, cancelled or closed. Orders, visits and reviews are
the orders feature's demo.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from timebank.localtime import local
from timebank.needs import resources, residents, services, triage
from timebank.needs.models import Channel, Colour, Need
from timebank.people.access import Actor, actor_for
from timebank.people.idnumbers import IdVault
from timebank.people.models import Person, Role
from timebank.people.services import grant_role, register

#: (community key, grid worker's phone, name)
GRID_WORKERS = (("east", "13900000041", "马晓燕"), ("west", "13900000042", "何建军"))
#: (name, age, groups, address) per community: who asks for help.
RESIDENTS = {
    "east": (
        ("张桂兰", 86, "living_alone,old_age", "幸福路12号院3号楼102"),
        ("李德明", 83, "living_alone,old_age,disabled", "人民路45号院1号楼201"),
        ("王秀英", 91, "old_age", "建设路8号院2号楼101"),
        ("赵卫东", 52, "hardship,disabled", "文化街6号院5号楼302"),
        ("刘子轩", 10, "left_behind_child", "菜园街20号院1号楼401"),
        ("陈海涛", 34, "new_employment", "幸福路30号院4号楼503"),
    ),
    "west": (
        ("孙玉兰", 82, "living_alone,old_age", "黄河路3号院1号楼101"),
        ("周保国", 88, "living_alone,old_age", "新华路16号院2号楼202"),
        ("吴淑珍", 67, "hardship", "迎宾大道9号院6号楼301"),
        ("郑文斌", 45, "hardship,disabled", "黄河路27号院3号楼102"),
        ("冯欣怡", 12, "left_behind_child", "新华路2号院1号楼601"),
    ),
}
#: (what help, category) a need may ask for.
ASKS = (
    ("腿脚不便，想请人帮忙买菜、取药", "elderly"),
    ("家里水龙头漏水，自己修不了", "elderly"),
    ("想学用智能手机挂号、视频通话", "elderly"),
    ("需要陪同去县医院复查", "disability"),
    ("轮椅坏了，想找人看看能不能修", "disability"),
    ("孩子放学后没人辅导作业", "children"),
    ("冬天到了，想申请一床厚棉被", "governance"),
    ("楼道灯坏了好几天，晚上不敢出门", "governance"),
    ("暴雨后屋顶漏雨，请帮忙查看", "emergency"),
    ("想请人上门理发", "elderly"),
)
#: (name, kind, offers, contact, phone) of each community's partners.
PARTNERS = (
    ("万家便民维修部", "merchant", "水电维修、家电小修，老人上门服务免上门费", "刘师傅", "13903981122"),
    ("陕县红十字会", "charity", "困难家庭临时救助、应急物资", "王干事", "0398-3812120"),
    ("大营镇卫生院", "government", "家庭医生签约、上门随访、慢病取药", "李医生", "0398-3856120"),
)
#: Needs per community over the month.
PER_COMMUNITY = 21


def build_needs(session: Session, *, cast: Any, rng: random.Random, vault: IdVault, now: dt.datetime) -> str:
    """Residents, partners, projects and a month of needs in each community; a line saying what was built."""
    start = now - dt.timedelta(days=30)
    admin = actor_for(session, cast.staff[0][1])
    states: Counter[str] = Counter()
    for key, phone, name in GRID_WORKERS:
        community = cast.organisations[key]
        social = actor_for(session, cast.carers[key])
        grid = _grid_worker(session, cast, community, phone, name, admin=admin, vault=vault, at=start - dt.timedelta(days=60))
        people = [_resident(session, rng, community, entry, grid=grid, at=start - dt.timedelta(days=rng.randint(5, 40)), today=now.date())
                  for entry in RESIDENTS[key]]
        partners = [resources.create_resource(session, {"name": p[0], "kind": p[1], "offers": p[2], "contact_name": p[3], "contact_phone": p[4],
                                                        "organisation_id": community.id}, actor=social, now=start) for p in PARTNERS]
        resources.create_project(session, {"name": f"{community.name[:2]}老年助餐", "category": "elderly", "organisation_id": community.id,
                                           "description": "每周一至周五午餐送餐上门，独居高龄老人优先", "resource_id": partners[0].id,
                                           "starts_on": (start - dt.timedelta(days=90)).date().isoformat()}, actor=social, now=start)
        recorders = [grid, social, grid, social]
        for number in range(PER_COMMUNITY):
            at = start + dt.timedelta(days=number * 30 / PER_COMMUNITY, hours=rng.randint(0, 8))
            resident = people[number % len(people)]
            ask, category = ASKS[rng.randrange(len(ASKS))]
            channel = list(Channel)[number % len(Channel)]
            colour = (Colour.RED, Colour.YELLOW, Colour.BLUE, Colour.BLUE)[number % 4]
            by = recorders[number % len(recorders)] if channel != Channel.ONLINE else None
            data = {"description": ask, "contact_phone": resident.phone, "resident_id": resident.id if by else None,
                    "organisation_id": community.id, "channel": channel.value, "colour": colour.value, "category": category,
                    "wanted_when": rng.choice(("周三上午", "这两天都行", "周末", "越快越好")), "privacy_consent": True}
            need = services.record_need(session, data, actor=by, now=at)
            states[_answer(session, need, number, social=social, partners=partners, now=now, at=at)] += 1
    asked = _online_asks(session, cast, rng, now=now)
    states.update(asked)
    shown = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    return f"needs: {sum(states.values())} needs of {sum(len(r) for r in RESIDENTS.values())} residents ({shown})"


def _grid_worker(session: Session, cast: Any, community: Any, phone: str, name: str, *, admin: Actor, vault: IdVault, at: dt.datetime) -> Actor:
    """The community's grid worker, signing in with the demo password like every demo account."""
    person = register(session, {"phone": phone, "real_name": name, "sex": "F" if name.endswith("燕") else "M", "home_organisation_id": community.id,
                                "privacy_consent": True}, actor=admin, vault=vault, now=at)
    person.password_hash = cast.managers["east"].password_hash
    grant_role(session, person.id, {"role": Role.GRID_WORKER.value, "organisation_id": community.id}, actor=admin, now=at)
    cast.staff.append(("grid worker", person, community.name))
    return actor_for(session, person)


def _resident(session: Session, rng: random.Random, community: Any, entry: tuple, *, grid: Actor, at: dt.datetime, today: dt.date) -> Any:
    """One resident recorded by the grid worker on a home visit, with their consent."""
    name, age, groups, address = entry
    born = today.replace(year=today.year - age) - dt.timedelta(days=rng.randint(10, 300))
    phone = f"13{rng.randint(5, 9)}{rng.randint(0, 99_999_999):08d}"
    data = {"real_name": name, "phone": phone, "address": f"大营镇{community.name}{address}", "organisation_id": community.id,
            "birth_date": born.isoformat(), "groups": groups.split(","), "privacy_consent": True}
    return residents.create_resident(session, data, actor=grid, now=at)


def _answer(session: Session, need: Need, number: int, *, social: Actor, partners: list, now: dt.datetime, at: dt.datetime) -> str:
    """Take the need as far as its place in the month says: the newest wait (a few overdue), the rest are answered."""
    if now - at < dt.timedelta(days=4) or number % 9 == 4:
        return "recorded"
    later = at + dt.timedelta(hours=5)
    triage.assess(session, need.id, {"assessment": "电话回访，了解具体情况", "category": need.category or "elderly",
                                     "difficulty": 1 + number % 3, "colour": need.colour}, actor=social, now=later)
    way = number % 5
    if way == 0:
        triage.refer(session, need.id, {"resource_id": partners[number % len(partners)].id}, actor=social, now=later)
        return "referred"
    if way == 1:
        triage.decline(session, need.id, {"reason": "已由家属安排，无需社区介入"}, actor=social, now=later)
        return "declined"
    if way == 2:
        services.cancel_need(session, need.id, {"reason": "居民来电说已经解决了"}, actor=social, now=later)
        return "cancelled"
    starts = local(later + dt.timedelta(days=3)).replace(hour=9, minute=0)
    details = {"title": f"便民服务日（{need.organisation.name}）", "address": f"{need.organisation.name}党群服务中心",
               "starts_at": starts.isoformat(), "ends_at": (starts + dt.timedelta(hours=2)).isoformat()}
    triage.fold_into_activity(session, need.id, details, actor=social, now=later)
    if way == 3 and now - at > dt.timedelta(days=10):
        triage.close(session, need.id, actor=social, now=later + dt.timedelta(days=4))
        return "closed"
    return "in_activity"


def _online_asks(session: Session, cast: Any, rng: random.Random, *, now: dt.datetime) -> Counter[str]:
    """A volunteer who asks for help themself, and a family member asking for their relative, both on the phone."""
    done: Counter[str] = Counter()
    elderly = min(cast.volunteers, key=lambda p: p.birth_date)
    asked = [(elderly, {"description": "膝盖不好，想请人周末帮忙打扫卫生"})]
    if cast.families:
        person_id, relative_id, _relation = cast.families[0]
        asked.append((session.get(Person, person_id), {"description": "父母年纪大了，想请志愿者每周上门看看", "relative_id": relative_id}))
    for number, (person, extra) in enumerate(asked):
        at = now - dt.timedelta(days=1 + number, hours=rng.randint(1, 6))
        services.record_need(session, {"contact_phone": person.phone, "privacy_consent": True, "channel": "online", **extra},
                             actor=actor_for(session, person), now=at)
        done["recorded"] += 1
    return done
