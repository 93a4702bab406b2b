"""The demo's certification: long-serving volunteers at every star level, programmes, certificates issued and revoked.

`timebank demo` calls `build_certification` once the activities stand. The
demo's six months of history give nobody a star (the first needs 100
certified hours), so five volunteers of 东城社区 bring their earlier years of
service, recorded month by month as the ledger's service credits, to 110,
320, 640, 1,060 and 1,560 hours, and each a first-aid training; what they
earned beyond the 1,500-hour storage cap they gave to the community pool
along the way. Then, through the services the pages call: a programme of
each community, certificates signed off by their social worker (one revoked
by the coordinator), service record certificates, and the social workers'
continuing education, one of them short.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from timebank import ledger
from timebank.certify import education, services
from timebank.certify.stars import sync_star_levels
from timebank.ledger import Commodity, Kind, rules
from timebank.localtime import local_day
from timebank.orgs.models import Organisation
from timebank.people.access import actor_for
from timebank.people.models import Person, Role

#: Certified hours the five long-serving volunteers reach: one at every star level.
STAR_HOURS = (110, 320, 640, 1060, 1560)
MONTHLY_HOURS = 40
TRAINING_HOURS = 8
DONATE_ABOVE_HOURS, DONATE_HOURS = 1000, 600


def _post(session: Session, legs: list[ledger.Leg], *, kind: Kind, key: str, memo: str, at: dt.datetime, actor: int, now: dt.datetime) -> None:
    ledger.post(session, legs, kind=kind, idempotency_key=f"demo:certify:{key}", actor=actor, memo=memo, event_at=at, now=now)


def _earlier_years(session: Session, person: Person, hours: int, *, pool_org: int, actor: int, now: dt.datetime) -> None:
    """Bring the volunteer's certified elderly-care service up to `hours`, a month at a time, ending before the demo's history."""
    rules.open_volunteer_accounts(session, person.id, categories=("elderly", rules.TRAINING), now=now)
    served = sum(m for c, m in services.balances_of(session, person).certified_by_category.items())
    missing = max(0, hours * 60 - served)
    months = -(-missing // (MONTHLY_HOURS * 60))
    hour_code = rules.volunteer_code(person.id, Commodity.HOUR)
    for month in range(months):
        at = now - dt.timedelta(days=366 + 30 * (months - month))  # before this year, so this year's records hold only its activities
        minutes = min(MONTHLY_HOURS * 60, missing)
        missing -= minutes
        if ledger.balance(session, hour_code).available + minutes > DONATE_ABOVE_HOURS * 60:
            _post(session, rules.donation_legs(person.id, pool_org, DONATE_HOURS * 60), kind=Kind.DONATION, key=f"{person.id}:donate:{month}",
                  memo="捐入公益时间池", at=at, actor=person.id, now=now)
        _post(session, rules.service_credit_legs(person.id, minutes=minutes, category="elderly", points=minutes // 6), kind=Kind.SERVICE_CREDIT,
              key=f"{person.id}:{month}", memo=f"{local_day(at):%Y年%m月}助老服务（往年记录）", at=at, actor=actor, now=now)
    _post(session, rules.training_credit_legs(person.id, minutes=TRAINING_HOURS * 60), kind=Kind.TRAINING_CREDIT, key=f"{person.id}:training",
          memo="应急救护员培训", at=now - dt.timedelta(days=190), actor=actor, now=now)


def build_certification(session: Session, *, cast: Any, now: dt.datetime) -> str:
    """Build the demo's certification (see the module's docstring); returns a line for the summary."""
    organisations, carers, managers = cast.organisations, cast.carers, cast.managers
    east = organisations["east"]
    coordinator = actor_for(session, managers["east"])
    east_people = [p for p in cast.volunteers if session.get(Organisation, p.home_organisation_id).path.startswith(east.path)]
    long_serving = east_people[: len(STAR_HOURS)]
    approver = carers["east"].id  # service credits are approved by a social worker
    for person, hours in zip(long_serving, STAR_HOURS):
        _earlier_years(session, person, hours, pool_org=east.id, actor=approver, now=now)
    for person in cast.volunteers:
        sync_star_levels(session, person.id, now=now)

    elderly = services.create_programme(session, {
        "organisation_id": east.id, "name": "助老服务专业志愿者", "description": "在社工督导下提供助老服务的专业志愿者",
        "required_hours": {"elderly": 100}, "required_training_hours": TRAINING_HOURS, "signoff_level": "社会工作师", "validity_months": 36,
    }, actor=coordinator, now=now - dt.timedelta(days=60))
    services.create_programme(session, {
        "organisation_id": organisations["west"].id, "name": "应急救援专业志愿者", "required_hours": {"emergency": 50},
        "required_training_hours": 16, "required_activities": 5, "signoff_level": "高级社会工作师", "validity_months": 24,
    }, actor=actor_for(session, managers["west"]), now=now - dt.timedelta(days=60))
    supervisor = actor_for(session, carers["east"])
    issued = [services.issue_certificate(session, elderly.id, p.id, actor=supervisor, now=now - dt.timedelta(days=20 - i)) for i, p in enumerate(long_serving[1:])]
    services.revoke_certificate(session, issued[0].id, {"reason": "服务记录经核查有误，更正后可重新申请"}, actor=coordinator, now=now - dt.timedelta(days=2))
    year = {"start": local_day(now).replace(month=1, day=1).isoformat(), "end": local_day(now).isoformat()}
    records = [services.issue_service_record(session, p.id, year, actor=coordinator, now=now)[0] for p in long_serving[-1:] + east_people[-2:]]

    admin = next(p for _, p, _ in cast.staff if actor_for(session, p).has(Role.ADMIN))
    admin_actor = actor_for(session, admin)
    for person, hours in ((carers["east"], (40, 30, 24)), (carers["west"], (24, 16))):
        for n, amount in enumerate(hours):
            education.record_training(session, {
                "person_id": person.id, "title": ("社会工作督导实务", "社区社会工作方法", "社会工作伦理与法规")[n], "organiser": "市社会工作者协会",
                "hours": amount, "taken_on": (local_day(now) - dt.timedelta(days=90 * (n + 1))).isoformat(),
            }, actor=admin_actor, now=now)
    session.flush()
    stars = sorted({services.balances_of(session, p).star_level for p in long_serving})
    return (
        f"certification: volunteers at stars {stars}, 2 programmes, {len(issued)} certificates (1 revoked), "
        f"{len(records)} service record certificates, e.g. {issued[-1].serial}"
    )

