"""Dashboard benchmark: the coordinator's workbench for a small county against a large one, and the nightly grading.

Run as `python -m bench.dashboard [--db sqlite|postgres] [--quick]`. It fills a
fresh database with two counties, written in bulk (Core executemany on SQLite,
COPY on PostgreSQL; the setup is not what is measured): a small one of 1,000
volunteers with a year of 10,000 approved attendances, and a large one of
100,000 volunteers with 1,000,000 (10,000 and 100,000 with --quick), each with
activities in every service category, residents' needs of every colour, two
days of grades, points accounts, redemptions and certificates. Then, as a
county coordinator, it times what the workbench computes on each request (the
programme's figures with the default year, and what waits for them), 20 times
per county: p50 and p95. The aim (DESIGN.md, "Performance yardsticks"): p95
under 500 ms at the large size. Last, the nightly grading of the large county
(`grade_volunteers`), aim under 60 s, when the grading package provides it.
The roll-up the approvals keep (events/rollup.py), the grade tallies the
grading keeps (grading/tallies.py) and the workbench's tallies the triggers
keep (workbench/tallies.py) are recomputed once after the bulk writes, as the
migrations backfill them. Ledger accounts are written with
their balances but no postings: the workbench's points tally is rebuilt from
the balances (as the migration backfills it), never from the ledger's history.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, insert, text

from bench.common import after_bulk_load, fresh_database, note, parse_args, percentile, print_figures, print_table
from timebank.categories import SERVICE_CATEGORIES
from timebank.certify.models import Certificate
from timebank.db import Database
from timebank.events.models import Activity, Attendance
from timebank.events.rollup import rebuild
from timebank.grading import tallies
from timebank.grading.models import Grade
from timebank.ledger.models import Account
from timebank.needs.models import Need, Resident
from timebank.orgs.services import create_organisation
from timebank.people.access import Actor, Grant
from timebank.people.models import Person, RoleGrant
from timebank.redeem.models import Redemption, Station
from timebank.workbench import programme as figures, services, tallies as workbench_tallies

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)
SETUP = Actor(0, (Grant("admin", 0, "/"),))
PER_ACTIVITY = 20  # attendances per activity
PER_COMMUNITY = 1000  # volunteers per community
REPETITIONS = 20
CATEGORIES = [c for c in SERVICE_CATEGORIES if c != "training"]
COLOURS = ("red", "yellow", "blue", "green")
NEED_STATES = ("recorded", "ordered", "referred", "served", "closed")
CHUNK = 20_000


@dataclass(frozen=True)
class County:
    """A seeded county: its coordinator's actor and its size."""

    name: str
    actor: Actor
    organisation_id: int
    volunteers: int
    attendances: int


class Ids:
    """Explicit ids, so rows of one table can name rows of another without reading them back."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str, count: int) -> range:
        start = self.next.get(table, 1_000)
        self.next[table] = start + count
        return range(start, start + count)


def bulk(database: Database, table: Table, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Insert `rows` (tuples in `columns` order): COPY on PostgreSQL, executemany in chunks on SQLite."""
    count = 0
    if database.dialect == "postgresql":
        raw = database.engine.raw_connection()
        try:
            with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            raw.commit()
        finally:
            raw.close()
        return count
    with database.engine.begin() as conn:
        chunk: list[dict[str, object]] = []
        for row in rows:
            chunk.append(dict(zip(columns, row)))
            if len(chunk) >= CHUNK:
                conn.execute(insert(table), chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            conn.execute(insert(table), chunk)
            count += len(chunk)
    return count




def seed_county(database: Database, ids: Ids, name: str, volunteers: int, attendances: int, rng: random.Random) -> County:
    """One county: streets of ten communities of PER_COMMUNITY volunteers, a year of service, needs, grades, points."""
    communities_count = max(1, volunteers // PER_COMMUNITY)
    with database.session() as session:
        county = create_organisation(session, name=name, level="district", parent_id=None, actor=SETUP, now=NOW)
        communities = []
        for s in range(max(1, communities_count // 10)):
            street = create_organisation(session, name=f"{name}第{s + 1}街道", level="street", parent_id=county.id, actor=SETUP, now=NOW)
            for c in range(min(10, communities_count - 10 * s)):
                communities.append(create_organisation(session, name=f"{street.name}第{c + 1}社区", level="community", parent_id=street.id,
                                                       actor=SETUP, now=NOW).id)
        session.commit()
        county_id, county_path = county.id, county.path
    per_community = volunteers // len(communities)
    people = ids.take("people", volunteers)
    home = {pid: communities[min(i // per_community, len(communities) - 1)] for i, pid in enumerate(people)}
    bulk(database, Person.__table__, ("id", "phone", "real_name", "home_organisation_id", "status", "member_key", "card_version",
                                      "session_version", "must_change_password", "created_at", "approved_at"),
         ((pid, f"1{pid:010d}", f"志愿者{pid}", home[pid], "active", secrets.token_hex(16), 1, 1, False, NOW - dt.timedelta(days=400),
           NOW - dt.timedelta(days=rng.randrange(700))) for pid in people))
    # Each a volunteer by a live grant, as registration gives: the nightly grading grades exactly those.
    bulk(database, RoleGrant.__table__, ("person_id", "role", "organisation_id", "granted_at"),
         ((pid, "volunteer", home[pid], NOW - dt.timedelta(days=400)) for pid in people))
    members: dict[int, list[int]] = {}
    for pid, community in home.items():
        members.setdefault(community, []).append(pid)
    activity_count = attendances // PER_ACTIVITY
    activity_ids = ids.take("activities", activity_count)
    plan = []  # (activity id, community, starts_at, category)
    for aid in activity_ids:
        community = communities[aid % len(communities)]
        starts = NOW - dt.timedelta(days=rng.randrange(1, 365), hours=rng.randrange(8))
        plan.append((aid, community, starts, CATEGORIES[aid % len(CATEGORIES)]))
    leader = people[0]
    bulk(database, Activity.__table__, ("id", "organisation_id", "title", "category", "address", "starts_at", "ends_at", "person_in_charge_id",
                                        "credit_mode", "signup_required", "poster_allowed", "status", "code_key", "created_by", "created_at"),
         ((aid, community, "敬老院探访", category, "社区活动室", starts, starts + dt.timedelta(hours=2), leader, "actual", False, False,
           "published", secrets.token_hex(16), 0, starts - dt.timedelta(days=3)) for aid, community, starts, category in plan))
    recent = NOW - dt.timedelta(days=14)

    def attendance_rows():
        for aid, community, starts, _ in plan:
            undecided = starts > recent
            for pid in rng.sample(members[community], PER_ACTIVITY):
                status = "checked_out" if undecided and rng.random() < 0.3 else "approved"
                yield (aid, pid, status, starts, starts + dt.timedelta(hours=2), "screen",
                       120 if status == "approved" else None, 20 if status == "approved" else None, 0,
                       starts + dt.timedelta(days=1) if status == "approved" else None)

    bulk(database, Attendance.__table__, ("activity_id", "volunteer_id", "status", "checked_in_at", "checked_out_at", "check_in_method",
                                          "credited_minutes", "credited_points", "credit_version", "decided_at"), attendance_rows())
    needs = volunteers // 20
    residents = ids.take("residents", needs)
    bulk(database, Resident.__table__, ("id", "organisation_id", "real_name", "phone", "groups", "card_key", "created_at"),
         ((rid, communities[rid % len(communities)], "居民", "13700000000", "living_alone", secrets.token_hex(16), NOW) for rid in residents))

    def need_rows():
        for rid in residents:
            recorded = NOW - dt.timedelta(hours=rng.randrange(1, 365 * 24))
            status = rng.choice(NEED_STATES)
            triaged = None if status == "recorded" else recorded + dt.timedelta(hours=rng.uniform(0.5, 72))
            due = recorded + dt.timedelta(hours=48) if status == "recorded" else None
            yield (rid, communities[rid % len(communities)], "hotline", "买菜送上门", "13700000000", rng.choice(COLOURS), status, recorded, triaged, due)

    bulk(database, Need.__table__, ("resident_id", "organisation_id", "channel", "description", "contact_phone", "colour", "status",
                                    "recorded_at", "triaged_at", "due_at"), need_rows())
    today = NOW.date()
    bulk(database, Grade.__table__, ("subject_type", "subject_id", "organisation_id", "graded_on", "computed_colour", "colour", "figures_json",
                                     "explanation", "computed_at", "is_current"),
         (("volunteer", pid, home[pid], day, colour, colour, "{}", "90 天内服务 3 次", NOW, day == today)
          for pid in people for day, colour in ((today - dt.timedelta(days=1), "blue"), (today, rng.choice(("green", "green", "blue", "yellow", "red"))))))
    bulk(database, Account.__table__, ("code", "commodity", "owner_type", "owner_id", "balance", "held", "allow_negative", "running_balance", "created_at"),
         ((f"vol:{pid}:{commodity}", commodity, "volunteer", pid, rng.randrange(2000), 0, False, True, NOW)
          for pid in people for commodity in ("HOUR", "PTS")))
    stations = ids.take("stations", len(communities))
    bulk(database, Station.__table__, ("id", "organisation_id", "name", "created_at"),
         ((sid, community, "驿站", NOW) for sid, community in zip(stations, communities)))
    station_of = dict(zip(communities, stations))
    bulk(database, Redemption.__table__, ("idempotency_key", "fingerprint", "station_id", "volunteer_id", "clerk_id", "points", "minutes", "status", "created_at"),
         ((secrets.token_hex(16), "bench", station_of[home[pid]], pid, leader, rng.randrange(10, 200), 0, "completed",
           NOW - dt.timedelta(hours=rng.randrange(1, 365 * 24))) for pid in people[::2]))
    certificates = ids.take("certificates", volunteers // 50)
    bulk(database, Certificate.__table__, ("kind", "year", "sequence", "verify_key", "check_code", "person_id", "organisation_id", "issued_at",
                                           "issued_by", "certified_minutes", "training_minutes", "activities", "basis_json"),
         (("service_record", 2026, seq, secrets.token_hex(16), "ABCD1234", people[i % len(people)], home[people[i % len(people)]],
           NOW - dt.timedelta(days=rng.randrange(365)), 0, 600, 0, 5, "{}") for i, seq in enumerate(certificates)))
    actor = Actor(0, (Grant("coordinator", county_id, county_path),))
    return County(name, actor, county_id, volunteers, attendances)


def reset_sequences(database: Database) -> None:
    """PostgreSQL's id sequences past the explicit ids, so rows added later (grading) get fresh ones."""
    if database.dialect != "postgresql":
        return
    with database.engine.begin() as conn:
        for table in ("people", "activities", "residents", "stations"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))


def after_seed(database: Database) -> None:
    """The roll-up the approvals would have kept, the grade tallies the grading would have and the workbench's tallies the
    triggers would have, recomputed once for the rows written in bulk (as the migrations backfill them)."""
    with database.session() as session:
        rebuild(session)
        tallies.rebuild(session)
        # The bulk rows fired the tally triggers (COPY and executemany fire them as any insert does), but the
        # accounts were written with balances and no postings: the workbench's tallies are recomputed from the
        # rows, points from the balances, as the migration backfills them.
        workbench_tallies.rebuild(session)
        session.commit()
    after_bulk_load(database)


def workbench_ms(database: Database, county: County) -> list[float]:
    """Milliseconds for the coordinator's workbench figures, REPETITIONS times (after one untimed warm-up)."""
    timings = []
    with database.session() as session:
        for round_ in range(REPETITIONS + 1):
            started = time.perf_counter()
            scope = figures.programme_scope(session, actor=county.actor, now=NOW)
            figures.programme(session, scope)
            services.carer_bench(session, actor=county.actor, now=NOW)
            if round_:
                timings.append((time.perf_counter() - started) * 1000)
            session.rollback()
    return timings


def grading_seconds(database: Database, county: County) -> float | None:
    """Seconds for the nightly grading of the county, if the grading package provides `grade_volunteers`."""
    try:
        from timebank.grading.services import grade_volunteers
    except ImportError:
        return None
    with database.session() as session:
        from timebank.orgs.models import Organisation

        organisation = session.get(Organisation, county.organisation_id)
        started = time.perf_counter()
        counts = grade_volunteers(session, organisation=organisation, now=NOW + dt.timedelta(days=1))
        session.commit()
        seconds = time.perf_counter() - started
        note(f"  graded {sum(counts.values()):,} volunteers: {counts}")
        return seconds


def main(argv: Sequence[str] | None = None) -> None:
    """Seed both counties, time the workbench on each, time the grading of the large one, print the figures."""
    args = parse_args("bench.dashboard", __doc__.splitlines()[0], argv)
    sizes = ((1_000, 10_000), (10_000, 100_000)) if args.quick else ((1_000, 10_000), (100_000, 1_000_000))
    rng = random.Random(13)
    print(f"dashboard benchmark on {args.db}{' (quick)' if args.quick else ''}")
    with fresh_database(args.db, "dashboard") as url:
        database = Database(url)
        try:
            ids, counties = Ids(), []
            for name, (volunteers, attendances) in zip(("小县", "大县"), sizes):
                note(f"seeding {name}: {volunteers:,} volunteers, {attendances:,} attendances ...")
                started = time.perf_counter()
                counties.append(seed_county(database, ids, name, volunteers, attendances, rng))
                note(f"  seeded in {time.perf_counter() - started:.1f} s")
            reset_sequences(database)
            note("rolling up the approved service ...")
            started = time.perf_counter()
            after_seed(database)
            note(f"  rolled up in {time.perf_counter() - started:.1f} s")
            results = {}
            for county in counties:
                note(f"timing the workbench of {county.name} ...")
                results[county.name] = workbench_ms(database, county)
            note("grading the large county ...")
            grading = grading_seconds(database, counties[1])
        finally:
            database.dispose()
    small, large = (results[c.name] for c in counties)
    rows = [[c.name, f"{c.volunteers:,}", f"{c.attendances:,}", f"{percentile(results[c.name], 0.5):.0f}", f"{percentile(results[c.name], 0.95):.0f}"]
            for c in counties]
    print_table(f"Coordinator's workbench on {args.db} ({REPETITIONS} requests each)", ["county", "volunteers", "attendances", "p50 ms", "p95 ms"], rows)
    print_table("Nightly grading of the large county", ["figure", "seconds"],
                [["grade_volunteers", "not available" if grading is None else f"{grading:.1f}"]])
    print_figures({
        "bench": "dashboard", "db": args.db, "quick": args.quick,
        "volunteers_small": counties[0].volunteers, "attendances_small": counties[0].attendances,
        "volunteers_large": counties[1].volunteers, "attendances_large": counties[1].attendances,
        "p50_ms_small": round(percentile(small, 0.5), 1), "p95_ms_small": round(percentile(small, 0.95), 1),
        "p50_ms_large": round(percentile(large, 0.5), 1), "p95_ms_large": round(percentile(large, 0.95), 1),
        "grading_s": None if grading is None else round(grading, 2),
    })


if __name__ == "__main__":
    main()
