"""Import benchmark: volunteers per second, and peak memory flat in file size.

Run as `python -m bench.imports [--db sqlite|postgres] [--quick]`. It writes
CSV files of 1,000 and 10,000 volunteers (200 and 2,000 with --quick), imports
each into a fresh database as the page and the command line do (checked by
`prepare_import` on a reading session, written by `write_import`), and
measures the peak memory Python allocates while the file is checked
(tracemalloc), the rate, and how long the write lock was held (the write and
its commit, timed untraced). The aim (DESIGN.md): the larger import's
peak within 1.2x of the smaller one's, because rows stream and each written
row's objects are let go. Password hashing is set to a cheap method, as in the
tests: scrypt's deliberate cost would otherwise be all the benchmark measured.
"""

from __future__ import annotations

import csv
import io
import time
import tracemalloc

from bench.common import fresh_database, note, parse_args, print_figures, print_table
from timebank.auth import passwords
from timebank.db import Database, utcnow
from timebank.orgs.services import create_organisation
from timebank.people.access import Actor, Grant
from timebank.people.idnumbers import CHECK_CODES, WEIGHTS, IdVault
from timebank.people.importing import prepare_import, read_rows, write_import

SETUP_ACTOR = Actor(0, (Grant("admin", 0, "/"),))


def resident_id(n: int) -> str:
    """A valid, distinct resident ID number for the n-th volunteer."""
    body = f"110101{1930 + n // 1000}0101{n % 1000:03d}"
    return body + CHECK_CODES[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def volunteers_csv(count: int) -> bytes:
    """A CSV file of `count` volunteers with Chinese headings, as a coordinator would upload."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "手机号", "性别", "证件类型", "证件号码", "服务类别"])
    for n in range(count):
        writer.writerow([f"志愿者{n}", f"13{n:09d}", "", "居民身份证", resident_id(n), "助老服务"])
    return out.getvalue().encode("utf-8")


def measure(storage: str, count: int) -> tuple[float, float, float]:
    """(volunteers per second, peak MB, seconds the write lock was held) of importing `count` volunteers into a fresh database."""
    data = volunteers_csv(count)
    with fresh_database(storage, f"imports_{count}") as url:
        database = Database(url)
        with database.session() as session:
            now = utcnow()
            organisation = create_organisation(session, name="东城社区", level="community", parent_id=None, actor=SETUP_ACTOR, now=now)
            session.commit()
        tracemalloc.start()
        started = time.perf_counter()
        # As the page and the command line do: checked on a reading session, written on a writing one.
        with database.session(write=False) as reading:
            prepared = prepare_import(
                reading, read_rows(io.BytesIO(data), "volunteers.csv"), organisation_id=organisation.id,
                actor=SETUP_ACTOR, vault=IdVault("bench-data-key"), now=now,
            )
        _, peak = tracemalloc.get_traced_memory()
        # Tracing slows Python's allocations several-fold: the write, 200 rows a
        # statement whatever the file's length, is timed without it.
        tracemalloc.stop()
        with prepared, database.session() as session:
            assert prepared.report.ok, f"import refused rows: {prepared.report.refused_rows}"
            writing = time.perf_counter()
            written = write_import(session, prepared, now=now)
            session.commit()
            held = time.perf_counter() - writing
        seconds = time.perf_counter() - started
        database.dispose()
    assert written == count
    return count / seconds, peak / 1e6, held


def main() -> None:
    """Import a small and a large file and compare."""
    args = parse_args("bench.imports", __doc__.splitlines()[0])
    passwords.METHOD = "pbkdf2:sha256:1000"
    small, large = (200, 2000) if args.quick else (1000, 10000)
    results = {}
    for count in (small, large):
        note(f"importing {count:,} volunteers ...")
        results[count] = measure(args.db, count)
    rows = [[f"{count:,}", f"{rate:,.0f}", f"{peak:.2f}", f"{held * 1000:,.0f}"] for count, (rate, peak, held) in results.items()]
    ratio = results[large][1] / results[small][1]
    rows.append(["ratio large/small", "", f"{ratio:.2f}", ""])
    print_table(f"Importing volunteers from CSV on {args.db}", ["rows", "volunteers/s", "peak MB", "write lock held (ms)"], rows)
    print_figures(
        {
            "bench": "imports",
            "db": args.db,
            "quick": args.quick,
            "rows_small": small,
            "rows_large": large,
            "per_s": round(results[large][0]),
            "peak_mb": round(results[large][1], 2),
            "peak_mb_small": round(results[small][1], 2),
            "peak_ratio": round(ratio, 2),
            "lock_ms": round(results[large][2] * 1000),
            "lock_ms_small": round(results[small][2] * 1000),
        }
    )


if __name__ == "__main__":
    main()
