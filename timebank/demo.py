"""Demo data a newcomer can explore: a county's volunteer programme, its people and months of ledger.

Built only through the services, with a fixed random seed, so the same
command always gives the same demo: an organisation tree (陕县 > 大营镇 > two
communities > their teams), two stations, an admin, coordinators, social
workers, station staff and a few hundred volunteers (realistic names, valid
resident ID numbers), pending registrations and family links; then their
history: service credits from activities, redemptions at the stations'
counters with their catalogues, stock and same-day voids (timebank/redeem/demo.py),
hours given to family and donated to the community pool, service bought with
held hours (captured, released, expired, open), corrections (a reversal and a
new credit); last, activities at every step of their life
cycle (timebank/events/demo.py), whose credits are posted by approving the
attendances. Every demo account signs in with DEMO_PASSWORD.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.orm import Session

from timebank import ledger, migrate
from timebank.auth.passwords import hash_password
from timebank.categories import SERVICE_CATEGORIES
from timebank.db import Database
from timebank.certify.demo import build_certification
from timebank.events import rollup
from timebank.events.demo import build_activities
from timebank.gifts.demo import build_gifts
from timebank.grading.demo import build_grading
from timebank.events.models import Activity, ActivityStatus, Attendance, AttendanceStatus
from timebank.needs.order_demo import build_orders
from timebank.ledger import Account, Commodity, Hold, Kind, Leg, OwnerType, Transaction
from timebank.ledger import rules
from timebank.ledger.reports import totals
from timebank.needs.demo import build_needs
from timebank.localtime import local_day
from timebank.meta import get_meta, set_meta
from timebank.orgs.models import Organisation
from timebank.orgs.services import create_organisation
from timebank.people.access import Actor, actor_for
from timebank.people.bootstrap import initialise
from timebank.people.idnumbers import CHECK_CODES, WEIGHTS, IdVault
from timebank.people.models import Person, Role
from timebank.people.services import confirm_family_link, grant_role, register, request_family_link
from timebank.redeem.demo import open_stations
from timebank.redeem.models import Station

DEMO_PREFIX = "demo:"
DEMO_FLAG = "demo_built_at"
#: The password of every demo account, printed by `timebank demo`.
DEMO_PASSWORD = "timebank-demo"
CATEGORIES = {k: v for k, v in SERVICE_CATEGORIES.items() if k != "training"}
CATEGORY_POINT_MULTIPLIER = {"emergency": 1.5}
#: The history's activities per category: what was done (the record's content) and where, in the community.
HISTORY_CONTENT = {
    "elderly": "上门陪伴独居老人，读报聊天，协助测量血压", "disability": "协助残疾人出行，代购生活用品",
    "children": "“四点半课堂”作业辅导与阅读陪伴", "governance": "楼院议事会记录，协助入户走访",
    "emergency": "应急物资清点与防汛巡查", "civility": "垃圾分类宣传与文明劝导",
}
HISTORY_VENUES = {
    "elderly": "日间照料中心", "disability": "残疾人之家", "children": "儿童之家",
    "governance": "党群服务中心", "emergency": "应急物资储备点", "civility": "新时代文明实践站",
}
#: (key, name, level, parent key), parents first.
TREE = (
    ("county", "陕县", "district", None),
    ("street", "大营镇", "street", "county"),
    ("east", "东城社区", "community", "street"),
    ("west", "西关社区", "community", "street"),
    ("east_elderly", "东城助老服务队", "team", "east"),
    ("east_children", "东城儿童关爱服务队", "team", "east"),
    ("west_emergency", "西关应急服务队", "team", "west"),
    ("west_civility", "西关文明实践服务队", "team", "west"),
)
#: Communities with a pool of donated hours, and where volunteers belong (with the community that registers them).
POOLS = ("east", "west")
HOMES = {"east": "east", "west": "west", "east_elderly": "east", "east_children": "east", "west_emergency": "west", "west_civility": "west"}
#: (key, name, organisation key, address, opening hours)
STATIONS = (
    ("wanjia", "26度万家驿站", "street", "大营镇人民路26号", "每天 8:00–20:00"),
    ("east_market", "东城社区爱心超市", "east", "东城社区服务中心一楼", "周一至周六 9:00–17:00"),
)
#: (phone, name, sex, role, organisation key, certificate level or station key); the admin first, then the coordinator who runs the programme.
STAFF = (
    ("13900000001", "王建国", "M", Role.ADMIN, "county", None),
    ("13900000011", "刘秀兰", "F", Role.COORDINATOR, "street", None),
    ("13900000012", "陈志强", "M", Role.COORDINATOR, "east", None),
    ("13900000013", "杨丽娟", "F", Role.COORDINATOR, "west", None),
    ("13900000021", "赵敏", "F", Role.SOCIAL_WORKER, "street", "高级社会工作师"),
    ("13900000022", "孙文静", "F", Role.SOCIAL_WORKER, "east", "社会工作师"),
    ("13900000023", "周海涛", "M", Role.SOCIAL_WORKER, "west", "助理社会工作师"),
    ("13900000031", "吴桂英", "F", Role.STATION_STAFF, "street", "wanjia"),
    ("13900000032", "郑春梅", "F", Role.STATION_STAFF, "east", "east_market"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
GIVEN_NAMES = {
    "M": ("建国", "建军", "志强", "国庆", "卫东", "德明", "振华", "海涛", "永强", "文斌", "俊杰", "浩然", "子轩", "宇航", "明辉",
          "志刚", "红军", "保国", "庆林", "新民", "大伟", "晓东", "磊", "伟", "勇", "军", "涛", "斌", "鹏", "超", "刚", "强", "建华", "玉林"),
    "F": ("秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "淑珍", "丽娟", "春梅", "红梅", "海燕", "丽华", "晓梅", "静", "敏", "艳",
          "霞", "娟", "婷婷", "欣怡", "雨涵", "佳怡", "慧敏", "美玲", "金凤", "素芬", "月娥", "淑华", "翠兰", "玉梅"),
}
REGIONS = ("411222", "411222", "411222", "411202", "411221")  # 陕县 mostly, then 湖滨区 and 渑池县
PHONE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "150", "151", "152", "155", "156", "158", "159", "177", "180", "182", "183", "185", "186", "187", "188", "189", "199")
ROADS = ("幸福路", "人民路", "建设路", "迎宾大道", "黄河路", "文化街", "菜园街", "新华路")
SKILLS = ("理发", "量血压", "电脑维修", "推拿按摩", "书法", "广场舞", "心理疏导", "驾驶", "烹饪", "水电维修", "法律咨询", "急救（持证）", "手机教学", "缝补")
POINTS_PER_HOUR = 10
HOUR_CAP_MINUTES = 1500 * 60
HOLD_DAYS = dt.timedelta(days=7)
ROLE_LABELS = {Role.ADMIN: "admin", Role.COORDINATOR: "coordinator", Role.SOCIAL_WORKER: "social worker", Role.STATION_STAFF: "station staff"}


class DemoRefused(Exception):
    """The database holds records that are not demo data."""


def reset_demo_database(database: Database) -> None:
    """Empty and re-migrate the database, unless it holds anything but demo data."""
    models = (Account, Transaction, Hold, Person, Organisation)
    with database.engine.connect() as conn:
        present = [model for model in models if inspect(conn).has_table(model.__tablename__)]
        has_meta = inspect(conn).has_table("meta")
    if present:
        with database.session(write=False) as session:
            holds_records = any(session.scalar(select(model.id).limit(1)) is not None for model in present)
            is_demo = has_meta and get_meta(session, DEMO_FLAG) is not None
        if holds_records and not is_demo:
            raise DemoRefused(
                "This database holds records that are not demo data; `timebank demo` will not "
                "overwrite it. Point TIMEBANK_DATABASE_URL at another database."
            )
        migrate.downgrade(database.engine, "base")
    migrate.upgrade(database.engine)


def make_resident_id(region: str, born: dt.date, sequence: int) -> str:
    """A resident ID number with a correct check digit; an odd `sequence` is a man's, an even one a woman's."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + CHECK_CODES[sum(int(digit) * weight for digit, weight in zip(body, WEIGHTS)) % 11]


@dataclass
class Cast:
    """The demo's organisations, stations and people, and who acts in its ledger history."""

    organisations: dict[str, Organisation]
    stations: dict[int, str] = field(default_factory=dict)
    staff: list[tuple[str, Person, str]] = field(default_factory=list)  # (role, person, where)
    volunteers: list[Person] = field(default_factory=list)
    pending: list[Person] = field(default_factory=list)
    families: list[tuple[int, int, str]] = field(default_factory=list)  # confirmed links: (person, relative, relation)
    coordinator: int = 0
    social_workers: tuple[int, ...] = ()
    station_staff: dict[int, int] = field(default_factory=dict)
    carers: dict[str, Person] = field(default_factory=dict)  # organisation key -> its social worker
    managers: dict[str, Person] = field(default_factory=dict)  # organisation key -> its coordinator


@dataclass
class DemoWorld:
    """What the demo has posted so far, mirrored in memory so it never asks for too much."""

    session: Session
    rng: random.Random
    cast: Cast
    now: dt.datetime
    volunteers: list[int] = field(default_factory=list)
    interests: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    hours: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    points: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    categories: set[tuple[int, str]] = field(default_factory=set)
    credits: list[tuple[Transaction, int, int, str, int, int]] = field(default_factory=list)  # txn, attendance, volunteer, category, minutes, points
    counter: int = 0
    purchases: int = 0  # closed service purchases so far

    def __post_init__(self) -> None:
        for person in self.cast.volunteers:
            self.volunteers.append(person.id)
            for category in person.categories:
                self.interests[category].append(person.id)
                self.categories.add((person.id, category))

    @property
    def pools(self) -> dict[int, str]:
        """Community pools: organisation id -> name."""
        return {self.cast.organisations[key].id: self.cast.organisations[key].name for key in POOLS}

    def key(self, what: str) -> str:
        """A fresh demo idempotency key."""
        self.counter += 1
        return f"{DEMO_PREFIX}{what}:{self.counter}"

    def post(
        self, legs: list[Leg], *, kind: Kind, actor: int, at: dt.datetime, memo: str,
        event_at: dt.datetime | None = None, ref: tuple[str, int] | None = None, idempotency_key: str | None = None,
    ) -> Transaction:
        """Post a demo transaction recorded at `at`."""
        return ledger.post(
            self.session,
            legs,
            kind=kind,
            idempotency_key=idempotency_key or self.key(kind.value),
            actor=actor,
            memo=memo,
            ref=ref,
            event_at=event_at,
            now=at,
        )


def build_demo(session: Session, *, volunteers: int, days: int, seed: int, now: dt.datetime, vault: IdVault) -> str:
    """Build the demo's people and `days` of their history; returns a summary with sign-in details."""
    rng = random.Random(seed)
    start = now - dt.timedelta(days=days)
    cast = _cast(session, rng, volunteers=volunteers, vault=vault, start=start, now=now)
    world = DemoWorld(session, rng, cast, now)
    _open_accounts(world, start)
    stations = open_stations(world, start)
    for day in range(days):
        morning = start + dt.timedelta(days=day, hours=1)  # 09:00 in Shanghai
        _activities(world, day, morning)
        stations.serve(local_day(start) + dt.timedelta(days=day + 1))
        if day % 5 == 2:
            _family_transfer(world, morning + dt.timedelta(hours=8))
        if day % 7 == 3:
            _donation(world, morning + dt.timedelta(hours=9))
        if day % 6 == 1:
            _service_purchase(world, morning + dt.timedelta(hours=3), now)
        if day % 11 == 5:
            _correction(world, morning + dt.timedelta(hours=7))
    ledger.expire_holds(session, actor=cast.coordinator, now=now)
    # The history's attendances were approved in bulk, past the reviews: roll them up as the migration would.
    rollup.rebuild(session)
    # Then the activities, in every phase; their credits go through review, not `world.post`.
    activities = build_activities(
        session, rng=rng, now=now, organisations=cast.organisations, carers=cast.carers,
        managers=cast.managers, volunteers=cast.volunteers,
    )
    activities += "\n" + build_certification(session, cast=cast, now=now)
    activities += "\n" + build_needs(session, cast=cast, rng=rng, vault=vault, now=now)
    activities += "\n" + build_gifts(session, cast=cast, now=now)
    activities += "\n" + build_orders(session, rng=rng, now=now, organisations=cast.organisations, carers=cast.carers,
                                      managers=cast.managers, volunteers=cast.volunteers)
    activities += "\n" + build_grading(session, cast=cast, now=now)
    set_meta(session, DEMO_FLAG, now.isoformat())
    return _summary(world, activities, stations.summary())


def _summary(world: DemoWorld, activities: str, stations: str) -> str:
    """What was built, and whom to sign in as."""
    cast, figures = world.cast, totals(world.session)
    lines = [
        f"demo ready: {len(cast.volunteers)} volunteers, {figures.accounts} accounts, "
        f"{figures.transactions} transactions, {figures.postings} postings, "
        f"{figures.issued['HOUR'] // 60} hours credited, {figures.open_holds} open holds",
        f"people: {len(cast.staff)} staff, {len(cast.volunteers)} volunteers, {len(cast.pending)} pending registrations, "
        f"{len(cast.families)} family links; {len(cast.organisations)} organisations, {len(cast.stations)} stations",
        activities,
        stations,
        f"every demo account's password: {DEMO_PASSWORD}",
        "sign in as (phone number):",
    ]
    names = {o.id: o.name for o in cast.organisations.values()}
    busiest = sorted(cast.volunteers, key=lambda p: (-world.hours[p.id], p.id))[:3]
    shown = cast.staff + [("volunteer", p, names[p.home_organisation_id]) for p in busiest]
    shown += [("pending", p, "cannot sign in until a coordinator approves") for p in cast.pending[:1]]
    lines += [f"  {role:<14} {person.phone}  {person.real_name}  {where}" for role, person, where in shown]
    return "\n".join(lines)


# -- the people ---------------------------------------------------------------


class Faces:
    """Realistic, unique names, phone numbers and resident ID numbers from the demo's random generator."""

    def __init__(self, rng: random.Random, today: dt.date) -> None:
        self.rng, self.today = rng, today
        self.phones = {staff[0] for staff in STAFF}
        self.ids: set[str] = set()

    def phone(self) -> str:
        """A mobile number no one in the demo has yet."""
        while True:
            number = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def name(self, sex: str, surname: str | None = None) -> str:
        """A name as people of the county are called."""
        return (surname or self.rng.choice(SURNAMES)) + self.rng.choice(GIVEN_NAMES[sex])

    def birth_date(self, ages: tuple[int, int] | None = None) -> dt.date:
        """A birth date; community volunteers are often retired."""
        if ages is None:
            roll = self.rng.random()
            ages = (58, 76) if roll < 0.45 else (35, 57) if roll < 0.8 else (18, 34)
        return dt.date(self.today.year - self.rng.randint(*ages), self.rng.randint(1, 12), self.rng.randint(1, 28))

    def resident_id(self, born: dt.date, sex: str) -> str:
        """A valid resident ID number for this birth date and sex, unique in the demo."""
        while True:
            sequence = self.rng.randrange(500) * 2 + (1 if sex == "M" else 0)
            number = make_resident_id(self.rng.choice(REGIONS), born, sequence)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def profile(self, organisation: Organisation, *, sex: str | None = None, name: str | None = None, surname: str | None = None,
                born: dt.date | None = None, phone: str | None = None) -> dict:
        """Everything the national record asks about a volunteer (sex and birth date come from the ID number)."""
        rng = self.rng
        sex = sex or rng.choice("MF")
        born = born or self.birth_date()
        return {
            "real_name": name or self.name(sex, surname),
            "phone": phone or self.phone(),
            "id_type": "resident_id",
            "id_number": self.resident_id(born, sex),
            "residence_area": f"大营镇{organisation.name[:2]}社区{rng.choice(ROADS)}{rng.randint(1, 120)}号院{rng.randint(1, 12)}号楼",
            "skills": "、".join(rng.sample(SKILLS, rng.randint(0, 2))) or None,
            "service_categories": rng.sample(list(CATEGORIES), rng.randint(1, 3)),
            "emergency_contact_name": self.name(rng.choice("MF")),
            "emergency_contact_phone": self.phone(),
            "privacy_consent": True,
            "home_organisation_id": organisation.id,
        }


def _cast(session: Session, rng: random.Random, *, volunteers: int, vault: IdVault, start: dt.datetime, now: dt.datetime) -> Cast:
    """The tree, the stations and everyone in them, registered through the people services."""
    faces = Faces(rng, now.date())
    founded = start - dt.timedelta(days=120)
    password_hash = hash_password(DEMO_PASSWORD)  # once: hashing is slow on purpose
    root_key, root_name, root_level, _ = TREE[0]
    # The first admin and the root come as `timebank init` makes them on a real installation.
    phone, name, sex, _role, _org, _detail = STAFF[0]
    profile = faces.profile(Organisation(name=root_name), sex=sex, name=name, phone=phone, born=faces.birth_date((45, 55)))
    root, admin = initialise(session, organisation={"name": root_name, "level": root_level},
                             admin={**profile, "password": DEMO_PASSWORD}, vault=vault, now=founded)
    organisations = {root_key: root}
    cast = Cast(organisations)
    cast.staff.append((ROLE_LABELS[Role.ADMIN], admin, root.name))
    admin_actor = actor_for(session, admin)

    for key, name, level, parent in TREE[1:]:
        organisations[key] = create_organisation(session, name=name, level=level, parent_id=organisations[parent].id, actor=admin_actor, now=founded)
    stations = {}
    for key, name, org, address, opening_hours in STATIONS:
        station = Station(organisation_id=organisations[org].id, name=name, address=address, opening_hours=opening_hours, created_at=founded)
        session.add(station)
        session.flush()
        stations[key] = station
        cast.stations[station.id] = name

    workers, coordinators = [], {}
    for phone, name, sex, role, org, detail in STAFF[1:]:
        organisation = organisations[org]
        person = register(session, faces.profile(organisation, sex=sex, name=name, phone=phone, born=faces.birth_date((28, 55))), actor=admin_actor, vault=vault, now=founded)
        person.password_hash = password_hash
        grant = {"role": role.value, "organisation_id": organisation.id}
        where = organisation.name
        if role == Role.SOCIAL_WORKER:
            grant |= {"certificate_level": detail, "certificate_number": f"SW41122{len(workers) + 1:06d}"}
            where = f"{organisation.name}, {detail}"
            workers.append(person.id)
            cast.carers[org] = person
        if role == Role.STATION_STAFF:
            grant["station_id"] = stations[detail].id
            where = stations[detail].name
            cast.station_staff[stations[detail].id] = person.id
        grant_role(session, person.id, grant, actor=admin_actor, now=founded)
        if role == Role.COORDINATOR:
            coordinators[org] = person.id
            cast.managers[org] = person
        cast.staff.append((ROLE_LABELS[role], person, where))
    cast.coordinator, cast.social_workers = coordinators["street"], tuple(workers)

    registrars = {key: actor_for(session, coordinators[key]) for key in POOLS}
    _volunteers(session, cast, faces, registrars, count=volunteers, vault=vault, password_hash=password_hash, start=start)
    for _ in range(max(1, volunteers // 40)):
        organisation = organisations[rng.choice(list(HOMES))]
        at = now - dt.timedelta(hours=rng.randint(2, 96))
        cast.pending.append(register(session, {**faces.profile(organisation), "password": DEMO_PASSWORD}, actor=None, vault=vault, now=at))
    session.flush()
    return cast


def _volunteers(session: Session, cast: Cast, faces: Faces, registrars: dict[str, Actor], *, count: int, vault: IdVault, password_hash: str, start: dt.datetime) -> None:
    """Volunteers registered in person by their community's coordinator; every twentieth brings a spouse or a grown child."""
    rng = faces.rng
    relatives: list[tuple[Person, Person, str]] = []
    for number in range(count):
        at = start - dt.timedelta(days=rng.randint(2, 90), hours=rng.randint(0, 8))
        previous = cast.volunteers[-1] if cast.volunteers else None
        home = rng.choice(list(HOMES))
        extra: dict = {}
        relation = None
        adult = faces.today.replace(year=faces.today.year - 20, day=1)
        if previous is not None and number % 20 == 9:
            home, relation = _home_key(cast, previous), "spouse"
            born = min(previous.birth_date + dt.timedelta(days=rng.randint(-1500, 1500)), adult)
            extra = {"sex": "F" if previous.sex == "M" else "M", "born": born}
        elif previous is not None and number % 20 == 16 and previous.birth_date.year + 24 <= adult.year:
            home, relation = _home_key(cast, previous), "child"
            born = previous.birth_date.replace(year=min(previous.birth_date.year + rng.randint(24, 30), adult.year))
            extra = {"surname": previous.real_name[0], "born": born}
        organisation = cast.organisations[home]
        person = register(session, faces.profile(organisation, **extra), actor=registrars[HOMES[home]], vault=vault, now=at)
        person.password_hash = password_hash
        cast.volunteers.append(person)
        if relation:
            relatives.append((previous, person, relation))
    for number, (person, relative, relation) in enumerate(relatives):
        at = start - dt.timedelta(days=1)
        link = request_family_link(session, person.id, relative.phone, relation, actor=Actor(person.id), now=at)
        if number < len(relatives) - 1 or len(relatives) == 1:  # the newest request still waits for the relative
            confirm_family_link(session, link.id, actor=Actor(relative.id), now=at + dt.timedelta(hours=3))
            cast.families.append((person.id, relative.id, relation))


def _home_key(cast: Cast, person: Person) -> str:
    return next(key for key, o in cast.organisations.items() if o.id == person.home_organisation_id)


# -- the ledger ---------------------------------------------------------------


def _open_accounts(world: DemoWorld, at: dt.datetime) -> None:
    """The system, pool and station accounts; volunteers' own were opened when they were approved."""
    rules.open_system_accounts(world.session, now=at)
    for organisation in world.pools:
        ledger.open_account(
            world.session, rules.pool_code(organisation), commodity=Commodity.HOUR,
            owner_type=OwnerType.ORGANISATION, owner_id=organisation, now=at,
        )
    for station in world.cast.stations:
        for commodity in (Commodity.PTS, Commodity.HOUR):
            ledger.open_account(
                world.session, rules.station_code(station, commodity), commodity=commodity,
                owner_type=OwnerType.STATION, owner_id=station, now=at,
            )


def _ensure_category(world: DemoWorld, volunteer: int, category: str, at: dt.datetime) -> None:
    if (volunteer, category) not in world.categories:
        rules.open_volunteer_accounts(world.session, volunteer, categories=(category,), now=at)
        world.categories.add((volunteer, category))


def _credit(world: DemoWorld, attendance: int, volunteer: int, minutes: int, category: str, *, ended: dt.datetime, memo: str, version: int = 0) -> dict:
    """Post the attendance's service credit at `minutes`, keyed and referred to as a reviewer's approval does; returns its approval."""
    points = int(minutes / 60 * POINTS_PER_HOUR * CATEGORY_POINT_MULTIPLIER.get(category, 1.0))
    _ensure_category(world, volunteer, category, ended)
    approved = min(ended + dt.timedelta(days=world.rng.randint(1, 3)), world.now)
    reviewer = world.rng.choice(world.cast.social_workers)
    txn = world.post(
        rules.service_credit_legs(volunteer, minutes=minutes, category=category, points=points),
        kind=Kind.SERVICE_CREDIT, actor=reviewer, at=approved, memo=memo, event_at=ended,
        ref=("attendance", attendance), idempotency_key=f"attendance:{attendance}:v{version}",
    )
    world.hours[volunteer] += minutes
    world.points[volunteer] += points
    world.credits.append((txn, attendance, volunteer, category, minutes, points))
    return {
        "id": attendance, "status": AttendanceStatus.APPROVED.value, "transaction_id": txn.id, "credited_minutes": minutes,
        "credited_points": points, "decided_by": reviewer, "decided_at": approved,
    }


def _activities(world: DemoWorld, day: int, morning: dt.datetime) -> None:
    """The day's settled activities: each a real activity with its place, content and person in charge, and its approved attendances."""
    for number in range(world.rng.randint(1, 3)):
        category = world.rng.choice(list(CATEGORIES))
        minutes = world.rng.choice((60, 90, 120, 150, 180, 240))
        ended = morning + dt.timedelta(hours=number * 3, minutes=minutes)
        community = world.cast.organisations[world.rng.choice(POOLS)]
        leader = world.cast.carers[next(key for key in POOLS if world.cast.organisations[key] is community)]
        starts = ended - dt.timedelta(minutes=minutes)
        activity = Activity(
            organisation_id=community.id, title=f"{community.name} {CATEGORIES[category]}活动", category=category,
            description=HISTORY_CONTENT[category], address=f"{community.name}{HISTORY_VENUES[category]}",
            starts_at=starts, ends_at=ended, person_in_charge_id=leader.id, status=ActivityStatus.SETTLED.value,
            code_key=f"history-{day}-{number}", created_by=leader.id, created_at=starts - dt.timedelta(days=7),
            published_at=starts - dt.timedelta(days=7), settled_at=min(ended + dt.timedelta(days=3), world.now),
        )
        world.session.add(activity)
        world.session.flush()
        count = world.rng.randint(4, 12)
        interested = world.interests[category]
        pool = interested if len(interested) >= count else world.volunteers
        served = {v: minutes - world.rng.choice((0, 0, 0, 15, 30)) for v in world.rng.sample(pool, min(count, len(pool)))}
        # Plain rows, inserted and then approved in one statement each: thousands of them make the demo's history.
        ids = world.session.scalars(insert(Attendance).returning(Attendance.id, sort_by_parameter_order=True), [
            {"activity_id": activity.id, "volunteer_id": v, "checked_in_at": starts, "checked_out_at": starts + dt.timedelta(minutes=m),
             "check_in_method": "screen", "check_out_method": "screen", "status": AttendanceStatus.CHECKED_OUT.value, "credit_version": 0}
            for v, m in served.items()
        ]).all()
        memo = f"{activity.title}（第{day + 1}天）"
        approvals = [_credit(world, a, v, m, category, ended=ended, memo=memo) for a, (v, m) in zip(ids, served.items())]
        world.session.execute(update(Attendance), approvals)


def _family_transfer(world: DemoWorld, at: dt.datetime) -> None:
    """A volunteer gives an hour to a family member along a confirmed family link."""
    if not world.cast.families:
        return
    person, relative, relation = world.rng.choice(world.cast.families)
    giver, receiver = (person, relative) if world.rng.random() < 0.5 else (relative, person)
    if world.hours[giver] < 120 or world.hours[receiver] + 60 > HOUR_CAP_MINUTES:
        return
    whom = "配偶" if relation == "spouse" else "子女" if (giver == person) == (relation == "child") else "父母"
    world.post(
        rules.family_transfer_legs(giver, receiver, 60), kind=Kind.TRANSFER, actor=giver,
        at=at, memo=f"赠与家人（{whom}）1小时",
    )
    world.hours[giver] -= 60
    world.hours[receiver] += 60


def _donation(world: DemoWorld, at: dt.datetime) -> None:
    donor = world.rng.choice(world.volunteers)
    minutes = world.rng.choice((30, 60))
    if world.hours[donor] < minutes:
        return
    organisation = world.rng.choice(list(world.pools))
    world.post(
        rules.donation_legs(donor, organisation, minutes), kind=Kind.DONATION, actor=world.cast.coordinator,
        at=at, memo=f"捐入{world.pools[organisation]}公益时间池",
    )
    world.hours[donor] -= minutes


def _service_purchase(world: DemoWorld, at: dt.datetime, now: dt.datetime) -> None:
    """A resident's household orders an hour of home care, paid with held hours.

    Outcomes take turns (captured, captured, released, captured, expired), so
    even a short demo shows each of them.
    """
    buyers = [v for v in world.volunteers if world.hours[v] >= 60]
    if not buyers or len(world.volunteers) < 2:
        return
    buyer = world.rng.choice(buyers)
    provider = world.rng.choice([v for v in world.volunteers if v != buyer])
    if world.hours[provider] + 60 > HOUR_CAP_MINUTES:
        return
    held = ledger.hold(
        world.session, rules.volunteer_code(buyer, Commodity.HOUR), 60, actor=world.cast.coordinator, now=at,
        expires_at=at + HOLD_DAYS, idempotency_key=world.key("hold"),
        memo="点单：上门助老服务 1 小时",
    )
    world.hours[buyer] -= 60
    if now - at < HOLD_DAYS:
        return  # still open: the hours stay reserved
    outcome = ("capture", "capture", "release", "capture", "expire")[world.purchases % 5]
    world.purchases += 1
    if outcome == "capture":
        ledger.capture(
            world.session, held, to=rules.volunteer_code(provider, Commodity.HOUR),
            kind=Kind.SERVICE_PURCHASE, actor=world.cast.coordinator, now=at + dt.timedelta(days=1),
            memo="评单完成：上门助老服务 1 小时",
        )
        world.hours[provider] += 60
    elif outcome == "release":
        ledger.release(world.session, held, actor=world.cast.coordinator, now=at + dt.timedelta(hours=5))
        world.hours[buyer] += 60
    # otherwise nobody acts, and the hold expires when the demo sweeps at the end


def _correction(world: DemoWorld, at: dt.datetime) -> None:
    """A social worker finds minutes were recorded wrong: reverse, then credit the attendance again at the right figure."""
    for txn, attendance, volunteer, category, minutes, points in world.rng.sample(world.credits, min(5, len(world.credits))):
        corrected = minutes - 30
        if corrected <= 0 or world.hours[volunteer] < minutes or world.points[volunteer] < points:
            continue
        reason = "签退时间记录有误"
        ledger.reverse(world.session, txn, actor=world.rng.choice(world.cast.social_workers), now=at, memo=f"更正：{reason}")
        world.hours[volunteer] -= minutes
        world.points[volunteer] -= points
        world.credits.remove((txn, attendance, volunteer, category, minutes, points))
        version = world.session.scalar(select(Attendance.credit_version).where(Attendance.id == attendance)) + 1
        approval = _credit(world, attendance, volunteer, corrected, category, ended=txn.event_at, memo=txn.memo, version=version)
        world.session.execute(update(Attendance), [approval | {"credit_version": version, "adjusted_minutes": corrected, "adjust_reason": reason}])
        return
