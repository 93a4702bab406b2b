"""Order loop benchmark: fifty volunteers claiming one place at once, and dispatch suggestions against community size.

Run as `python -m bench.orders [--db sqlite|postgres] [--quick]`. On a fresh
migrated database it seeds two streets, each with one community: one of 1,000
volunteers and one of 10,000 (100 and 1,000 with --quick), each volunteer with
service categories and skills, a tenth of them with past visits, ratings,
no-shows and grades, and a resident's need in each community. Then
(DESIGN.md, "Performance yardsticks"):

1. The claim race: an order with one place opened for claims, fifty
   volunteers claim it from fifty threads released at once, each on its own
   connection. `claim_winners` must be 1 and `double_assigned` (places held
   by more than one live assignment) 0.
2. Suggestions: the ranked list for an order in each community, median of
   repeated runs: `suggest_ms_1k`, `suggest_ms_10k` and their ratio
   `suggest_ratio` (aim: at most 1.5, and under 200 ms at 10,000), and
   `suggest_statements`, the SQL statements one list takes.

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import statistics
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import event, func, insert, select

from bench.common import clean_up_when_stopped, fresh_database, parse_args, print_table
from timebank.db import Database, utcnow
from timebank.domain import DomainError
from timebank.grading.models import Grade
from timebank.ledger import verify
from timebank.needs import orders, suggestions
from timebank.needs.models import LIVE_ASSIGNMENT, Assignment, Need, Order, Rating, Resident
from timebank.orgs.services import create_organisation
from timebank.people.access import Actor, Grant
from timebank.people.category_index import index_people
from timebank.people.models import Person, Role, RoleGrant

CLAIMANTS = 50
CATEGORIES = ("elderly", "disability", "children", "emergency")
SKILLS = ("陪诊", "理发", "维修", "心理疏导", "手语", "按摩")
SYSTEM = Actor(0, (Grant("admin", 0, "/"),))


def seed_community(session, county, label: str, volunteers: int, phones: Sequence[int], now: dt.datetime) -> tuple[Order, Actor]:
    """A street and community of `volunteers` volunteers with some history, a social worker, and an order waiting for dispatch."""
    street = create_organisation(session, name=f"{label}街道", level="street", parent_id=county.id, actor=SYSTEM, now=now)
    community = create_organisation(session, name=f"{label}社区", level="community", parent_id=street.id, actor=SYSTEM, now=now)
    rows = [
        {"phone": str(phones[i]), "real_name": f"志愿者{i}", "home_organisation_id": community.id, "status": "active",
         "member_key": secrets.token_hex(16), "created_at": now, "service_categories": CATEGORIES[i % 4],
         "skills": ",".join(SKILLS[(i + k) % 6] for k in range(2)), "card_version": 1, "session_version": 1, "must_change_password": False}
        for i in range(volunteers)
    ]
    ids = list(session.scalars(insert(Person).returning(Person.id), rows))
    index_people(session, ids)
    worker_id = ids[0]
    session.add(RoleGrant(person_id=worker_id, role=Role.SOCIAL_WORKER.value, organisation_id=community.id, granted_at=now))
    resident = Resident(organisation_id=community.id, real_name="张奶奶", phone="13912345678", address="3号楼401",
                        card_key=secrets.token_urlsafe(16)[:22], created_at=now)
    session.add(resident)
    session.flush()
    need = Need(resident_id=resident.id, organisation_id=community.id, channel="grid", description="陪诊", contact_phone=resident.phone,
                recorded_at=now)
    session.add(need)
    session.flush()
    staff = Actor(worker_id, (Grant(Role.SOCIAL_WORKER.value, community.id, community.path),))
    history = need_history(session, need, staff, ids, now)
    order = orders.create_order(session, need.id, window(now), actor=staff, now=now)
    session.commit()
    return order, staff, history


def window(now: dt.datetime, *, claims: bool = False) -> dict[str, object]:
    """An order tomorrow morning, one place."""
    start = now + dt.timedelta(days=1)
    return {"category": "elderly", "skills": "陪诊,理发", "window_start": start.isoformat(),
            "window_end": (start + dt.timedelta(hours=3)).isoformat(), "expected_minutes": 90, "open_for_claims": claims}


def need_history(session, need: Need, staff: Actor, ids: list[int], now: dt.datetime) -> int:
    """Past orders for a tenth of the volunteers: visits rated, some no-shows, grades."""
    past = now - dt.timedelta(days=30)
    order = Order(need_id=need.id, organisation_id=need.organisation_id, category="elderly", slots=50, window_start=past,
                  window_end=past + dt.timedelta(hours=3), expected_minutes=60, status="completed", created_by=staff.id, created_at=past)
    session.add(order)
    session.flush()
    chosen = ids[1::10]
    assignments = [
        {"order_id": order.id, "slot": 1 + n % 50, "volunteer_id": vid, "status": "no_show" if n % 7 == 0 else "declined",
         "offered_at": past, "claimed": False}
        for n, vid in enumerate(chosen)
    ]
    made = [tuple(r) for r in session.execute(insert(Assignment).returning(Assignment.id, Assignment.volunteer_id), assignments)] if assignments else []
    session.execute(insert(Rating), [{"assignment_id": aid, "volunteer_id": vid, "stars": 1 + aid % 5, "rated_at": past} for aid, vid in made])
    session.execute(insert(Grade), [
        {"subject_type": "volunteer", "subject_id": vid, "organisation_id": need.organisation_id, "graded_on": past.date(),
         "computed_colour": colour, "colour": colour, "figures_json": "{}", "explanation": "", "computed_at": past, "is_current": True}
        for vid, colour in zip(chosen, ["green", "blue", "yellow", "red"] * len(chosen))
    ])
    return len(made)


def time_suggestions(database: Database, order_id: int, repetitions: int) -> tuple[float, int]:
    """Median milliseconds for the ranked list of an order, and the SQL statements one list takes once warm."""
    times, statements = [], []

    def count(*_: object) -> None:
        statements[-1] += 1

    with database.session(write=False) as session:
        order = session.get(Order, order_id)
        suggestions.suggest(session, order, now=utcnow())  # warm caches and compiled statements
        event.listen(database.engine, "before_cursor_execute", count)
        try:
            for _ in range(repetitions):
                statements.append(0)
                started = time.perf_counter()
                found = suggestions.suggest(session, order, now=utcnow())
                times.append((time.perf_counter() - started) * 1000)
                assert found
        finally:
            event.remove(database.engine, "before_cursor_execute", count)
        session.rollback()
    return statistics.median(times), max(statements)


def claim_race(database: Database, order_id: int, claimant_ids: list[int]) -> tuple[int, int, int]:
    """Fifty threads claim one place at once: (winners, refused, double-assigned places)."""
    gate = threading.Barrier(len(claimant_ids))

    def attempt(volunteer_id: int) -> bool:
        with database.session() as session:
            gate.wait()
            try:
                orders.claim(session, order_id, volunteer=session.get(Person, volunteer_id), now=utcnow())
                session.commit()
                return True
            except DomainError:
                session.rollback()
                return False

    with ThreadPoolExecutor(max_workers=len(claimant_ids)) as pool:
        results = list(pool.map(attempt, claimant_ids))
    with database.session(write=False) as session:
        doubled = session.execute(
            select(func.count()).select_from(
                select(Assignment.order_id, Assignment.slot).where(Assignment.status.in_(LIVE_ASSIGNMENT))
                .group_by(Assignment.order_id, Assignment.slot).having(func.count() > 1).subquery()
            )
        ).scalar_one()
    return sum(results), len(results) - sum(results), doubled


def main(argv: Sequence[str] | None = None) -> None:
    """Seed, race, time, print."""
    args = parse_args("bench.orders", (__doc__ or "").splitlines()[0], argv)
    clean_up_when_stopped()
    small, large = (100, 1000) if args.quick else (1000, 10_000)
    repetitions = 5 if args.quick else 15
    print(f"orders benchmark on {args.db}{' (quick)' if args.quick else ''}")
    with fresh_database(args.db, "orders") as url:
        database = Database(url)
        now = utcnow()
        phones = iter(range(13000000000, 13999999999))
        with database.session() as session:
            county = create_organisation(session, name="陕县", level="district", parent_id=None, actor=SYSTEM, now=now)
            small_order, small_staff, _ = seed_community(session, county, "小", small, [next(phones) for _ in range(small)], now)
            large_order, _, _ = seed_community(session, county, "大", large, [next(phones) for _ in range(large)], now)
            claimable = orders.create_order(session, small_order.need_id, window(now, claims=True), actor=small_staff, now=now)
            session.commit()
            claimants = list(session.scalars(
                select(Person.id).where(Person.home_organisation_id == small_order.organisation_id).order_by(Person.id).offset(2).limit(CLAIMANTS)
            ))
        winners, refused, doubled = claim_race(database, claimable.id, claimants)
        small_ms, _ = time_suggestions(database, small_order.id, repetitions)
        large_ms, statements = time_suggestions(database, large_order.id, repetitions)
        with database.session(write=False) as session:
            breaches = len(list(verify(session)))
        database.dispose()
    ratio = large_ms / small_ms if small_ms else 0.0
    print_table("Claim race (one place)", ["claimants", "winners", "refused", "double-assigned"], [[len(claimants), winners, refused, doubled]])
    print_table("Suggestions (median ms)", ["community", "volunteers", "ms"],
                [["small", small, f"{small_ms:.1f}"], ["large", large, f"{large_ms:.1f}"], ["ratio", "", f"{ratio:.2f}"],
                 ["statements per list", "", statements]])
    print(json.dumps({
        "bench": "orders", "db": args.db, "quick": args.quick, "claimants": len(claimants), "claim_winners": winners,
        "double_assigned": doubled, "suggest_ms_1k": round(small_ms, 1), "suggest_ms_10k": round(large_ms, 1),
        "suggest_ratio": round(ratio, 2), "suggest_statements": statements, "volunteers_small": small, "volunteers_large": large, "breaches": breaches,
    }))


if __name__ == "__main__":
    main()
