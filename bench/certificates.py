"""Certificate benchmark: service record certificates per second in a batch, one certificate's latency, and peak memory flat in batch size.

Run as `python -m bench.certificates [--db sqlite|postgres] [--quick]`. It
fills a fresh database with volunteers who each have 50 approved service
lines (activities, attendances and their ledger credits, written in bulk:
the setup is not what is measured), then runs `batch_certificates` (as the
command line and the web's background job do) over 1,000 and 10,000
volunteers (100 and 1,000 with --quick), each batch in a process of its own
so that its peak resident memory is its own. The aims (DESIGN.md): the batch
of 1,000 in under 30 s, and the larger batch's peak memory within 1.2x of the
smaller one's, because the PDF streams to its file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time

from sqlalchemy import insert, select

from bench.common import ROOT, after_bulk_load, fresh_database, note, parse_args, print_figures, print_table
from timebank.certify.batch import batch_certificates, holder
from timebank.certify.pdf import draw_service_record, single_pdf
from timebank.certify.services import record_certificate
from timebank.db import Database
from timebank.events.models import Activity, Attendance
from timebank.ledger.models import Account, Posting, Transaction
from timebank.ledger.rules import ISSUANCE, volunteer_code
from timebank.ledger.models import Commodity
from timebank.orgs.models import Organisation
from timebank.orgs.services import create_organisation
from timebank.people.access import Actor, Grant
from timebank.people.models import Person

LINES = 50
MINUTES = 120
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)
ADMIN = Actor(0, (Grant("admin", 0, "/"),))
VERIFY = "https://timebank.example.org/certify/verify/"


def populate(url: str, small: int, large: int) -> tuple[int, int, int]:
    """A community with two teams: `small` volunteers in the first, `large - small` in the second, each with LINES credits.

    Returns (first team id, community id, one volunteer's id).
    """
    database = Database(url)
    with database.session() as session:
        county = create_organisation(session, name="陕县", level="district", parent_id=None, actor=ADMIN, now=NOW)
        community = create_organisation(session, name="东城社区", level="community", parent_id=county.id, actor=ADMIN, now=NOW)
        teams = [create_organisation(session, name=name, level="team", parent_id=community.id, actor=ADMIN, now=NOW) for name in ("东城助老服务队", "东城应急服务队")]
        session.commit()
        team_ids, community_id = [t.id for t in teams], community.id
    with database.engine.begin() as conn:
        people = [
            {"phone": f"13{n:09d}", "real_name": f"志愿者{n:05d}", "home_organisation_id": team_ids[0 if n < small else 1], "status": "active",
             "member_key": secrets.token_hex(16), "card_version": 1, "session_version": 1, "must_change_password": False, "created_at": NOW,
             "id_type": "resident_id", "id_number_masked": f"1101**********{n % 10000:04d}", "sex": "F" if n % 2 else "M"}
            for n in range(large)
        ]
        conn.execute(insert(Person.__table__), people)
        ids = [row[0] for row in conn.execute(select(Person.id).order_by(Person.id))]
        leader = ids[0]
        starts = [NOW - dt.timedelta(days=300 - 5 * k) for k in range(LINES)]
        conn.execute(insert(Activity.__table__), [
            {"organisation_id": team_ids[0], "title": f"敬老院探访（第{k + 1}期）", "category": "elderly", "description": "陪伴老人聊天、读报、打扫房间",
             "address": "东城社区敬老院", "starts_at": s, "ends_at": s + dt.timedelta(hours=2), "person_in_charge_id": leader, "credit_mode": "actual",
             "signup_required": False, "poster_allowed": False, "status": "settled", "code_key": secrets.token_hex(16), "created_by": 0, "created_at": NOW}
            for k, s in enumerate(starts)
        ])
        activity_ids = [row[0] for row in conn.execute(select(Activity.id).order_by(Activity.id))]
        conn.execute(insert(Account.__table__), [{"code": ISSUANCE[Commodity.CERT], "commodity": "CERT", "owner_type": "system", "balance": 0, "held": 0,
                                                  "allow_negative": True, "running_balance": False, "created_at": NOW}])
        conn.execute(insert(Account.__table__), [
            {"code": volunteer_code(pid, Commodity.CERT, "elderly"), "commodity": "CERT", "owner_type": "volunteer", "owner_id": pid,
             "balance": LINES * MINUTES, "held": 0, "allow_negative": False, "running_balance": True, "created_at": NOW}
            for pid in ids
        ])
        accounts = dict(conn.execute(select(Account.code, Account.id)).all())
        issuance = accounts[ISSUANCE[Commodity.CERT]]
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            attendances = [{"activity_id": a, "volunteer_id": pid, "status": "approved", "checked_in_at": s, "checked_out_at": s + dt.timedelta(hours=2),
                            "check_in_method": "screen", "credited_minutes": MINUTES, "credited_points": 20, "credit_version": 0}
                           for pid in part for a, s in zip(activity_ids, starts)]
            conn.execute(insert(Attendance.__table__), attendances)
            found = conn.execute(select(Attendance.id, Attendance.volunteer_id, Attendance.checked_out_at).where(Attendance.volunteer_id.in_(part))).all()
            conn.execute(insert(Transaction.__table__), [
                {"kind": "service_credit", "idempotency_key": f"attendance:{aid}:v0", "fingerprint": "bench", "memo": "敬老院探访", "ref_type": "attendance",
                 "ref_id": aid, "actor_id": 0, "event_at": out, "created_at": NOW} for aid, _, out in found
            ])
            txns = conn.execute(select(Transaction.id, Transaction.ref_id).where(Transaction.ref_id.in_([aid for aid, _, _ in found]))).all()
            owner = {aid: pid for aid, pid, _ in found}
            postings = []
            for txn_id, aid in txns:
                postings.append({"transaction_id": txn_id, "account_id": issuance, "commodity": "CERT", "amount": -MINUTES, "balance_after": None})
                postings.append({"transaction_id": txn_id, "account_id": accounts[volunteer_code(owner[aid], Commodity.CERT, "elderly")],
                                 "commodity": "CERT", "amount": MINUTES, "balance_after": 0})
            conn.execute(insert(Posting.__table__), postings)
            note(f"  {min(chunk + 500, len(ids)):,} of {len(ids):,} volunteers with {LINES} service lines")
    after_bulk_load(database)  # without statistics each certificate took 133 ms on PostgreSQL, reading its neighbours' rows
    database.dispose()
    return team_ids[0], community_id, ids[0]


def single_ms(url: str, person_id: int, repetitions: int = 20) -> float:
    """Median milliseconds to number, read and draw one certificate of LINES lines."""
    database = Database(url)
    timings = []
    with database.session() as session:
        person = session.get(Person, person_id)
        for _ in range(repetitions):
            started = time.perf_counter()
            certificate, found = record_certificate(session, person, dt.date(2025, 1, 1), dt.date(2026, 11, 20), actor=ADMIN, now=NOW)
            single_pdf(draw_service_record, found, holder(person), certificate, "东城社区", VERIFY + certificate.verify_key)
            timings.append(time.perf_counter() - started)
        session.rollback()
    database.dispose()
    return statistics.median(timings) * 1000


def run_batch(url: str, organisation_id: int) -> dict[str, float]:
    """One batch into a scratch file: (certificates, seconds, peak resident MB of this process)."""
    database = Database(url)
    with database.session() as session, tempfile.TemporaryFile() as out:
        organisation = session.get(Organisation, organisation_id)
        base_mb = resource_mb()
        started = time.perf_counter()
        done = 0
        for done in batch_certificates(session, organisation, dt.date(2025, 1, 1), dt.date(2026, 11, 20), out, verify_url=lambda key: VERIFY + key, actor=ADMIN, now=NOW):
            session.commit()
        seconds = time.perf_counter() - started
        size = out.tell()
    database.dispose()
    return {"n": done, "seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "base_mb": base_mb, "pdf_mb": size / 1e6}


def resource_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure_in_child(url: str, organisation_id: int) -> dict[str, float]:
    """run_batch in a fresh process, so each batch's peak memory is its own."""
    result = subprocess.run([sys.executable, "-m", "bench.certificates", "--child", url, str(organisation_id)],
                            cwd=ROOT, capture_output=True, text=True, check=True, env=os.environ)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    """Fill a database, time one certificate, run the small and the large batch, and compare."""
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(run_batch(sys.argv[2], int(sys.argv[3]))))
        return
    args = parse_args("bench.certificates", __doc__.splitlines()[0])
    small, large = (20, 100) if args.smoke else (100, 1000) if args.quick else (1000, 10000)
    with fresh_database(args.db, "certificates") as url:
        note(f"filling the database: {large:,} volunteers with {LINES} service lines each ...")
        team_id, community_id, person_id = populate(url, small, large)
        note("timing one certificate ...")
        single = single_ms(url, person_id)
        note(f"batch of {small:,} ...")
        first = measure_in_child(url, team_id)
        note(f"batch of {large:,} ...")
        second = measure_in_child(url, community_id)
    ratio = second["peak_mb"] / first["peak_mb"]
    rows = [[f"{r['n']:,}", f"{r['seconds']:.1f}", f"{r['n'] / r['seconds']:.1f}", f"{r['base_mb']:.1f}", f"{r['peak_mb']:.1f}", f"{r['pdf_mb']:.1f}"] for r in (first, second)]
    rows.append(["ratio large/small", "", "", "", f"{ratio:.2f}", ""])
    print_table(f"Service record certificates ({LINES} lines each) on {args.db}", ["batch", "seconds", "certificates/s", "RSS before MB", "peak RSS MB", "PDF MB"], rows)
    print_table("One certificate", ["figure", "ms"], [["number, read the ledger, draw", f"{single:.1f}"]])
    print_figures({
        "bench": "certificates", "db": args.db, "quick": args.quick, "lines": LINES,
        "n": first["n"], "batch_s": round(first["seconds"], 2), "certs_per_s": round(first["n"] / first["seconds"], 1),
        "single_ms": round(single, 1), "peak_mb": round(first["peak_mb"], 1),
        "n_large": second["n"], "batch_s_large": round(second["seconds"], 2), "peak_mb_large": round(second["peak_mb"], 1), "peak_ratio": round(ratio, 2),
    })


if __name__ == "__main__":
    main()
