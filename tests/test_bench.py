"""The benchmarks keep running: a quick run ends with its JSON figures and a clean ledger.

Nothing here times anything; the figures themselves go in README.md.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, _postgres_admin
from tests.jobs.conftest import require_redis

ROOT = Path(__file__).resolve().parent.parent
CHECKIN_FIGURES = ("per_s", "ratio", "p50_ms", "p99_ms", "p99_ms_at_200", "healthz_per_s", "rss_mb")


@pytest.mark.slow
def test_quick_ledger_benchmark_prints_its_figures_and_leaves_a_clean_ledger():
    result = subprocess.run(
        [sys.executable, "-m", "bench.ledger", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("post_per_s", "raw_per_s", "ratio", "read_ratio", "speedup_8_writers"):
        assert figures[key] > 0, key
    assert figures["bench"] == "ledger" and figures["db"] == "sqlite"
    assert figures["breaches"] == 0


def require_wrk() -> None:
    """wrk drives the check-in benchmark: skip without it, except where CI requires it (TIMEBANK_REQUIRE_WRK=1)."""
    if shutil.which("wrk") is None:
        if os.environ.get("TIMEBANK_REQUIRE_WRK") == "1":
            pytest.fail("wrk is required (TIMEBANK_REQUIRE_WRK=1) but not installed")
        pytest.skip("wrk (Debian package wrk) drives the check-in benchmark")


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_quick_checkin_benchmark_records_every_check_in_exactly_once(storage):
    require_wrk()
    figures = quick_run("checkin", storage)
    assert figures["bench"] == "checkin" and figures["db"] == storage and figures["n"] == 200
    for key in CHECKIN_FIGURES:
        assert figures[key] > 0, key
    assert figures["lost"] == figures["doubled"] == figures["errors"] == 0


def quick_run(bench: str, storage: str) -> dict:
    """Run `python -m bench.<bench> --quick --db <storage>` and return the figures of its last line."""
    env = dict(os.environ)
    if storage == "postgres":
        _postgres_admin().dispose()  # skips, or fails where PostgreSQL is required, when it is not there
        env["TIMEBANK_BENCH_POSTGRES_URL"] = POSTGRES_URL
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{bench}", "--quick", "--db", storage],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_quick_redeem_benchmark_never_oversells_nor_overdraws(storage):
    require_wrk()
    figures = quick_run("redeem", storage)
    assert figures["bench"] == "redeem" and figures["db"] == storage
    for key in ("per_s", "ratio", "p50_ms", "p99_ms", "healthz_per_s", "rss_mb"):
        assert figures[key] > 0, key
    assert figures["oversold"] == 0 and figures["overdrawn"] == 0
    assert figures["eggs_sold"] == figures["eggs"] and figures["savers_exact"]
    assert figures["doubled"] == figures["lost"] == figures["errors"] == 0
    assert figures["reconciled"] and figures["ledger_breaches"] == 0


@pytest.mark.slow
def test_quick_jobs_benchmark_measures_both_queues():
    require_redis()
    figures = quick_run("jobs", "sqlite")
    assert figures["bench"] == "jobs" and figures["n"] == 200
    for key in ("sqlite_per_s", "redis_per_s", "p50_start_ms", "redis_p50_start_ms"):
        assert figures[key] > 0, key


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_quick_orders_benchmark_has_one_claim_winner_and_times_suggestions(storage):
    figures = quick_run("orders", storage)
    assert figures["bench"] == "orders" and figures["db"] == storage
    assert figures["claim_winners"] == 1 and figures["double_assigned"] == 0 and figures["breaches"] == 0
    assert figures["suggest_ms_1k"] > 0 and figures["suggest_ms_10k"] > 0 and figures["suggest_ratio"] > 0


@pytest.mark.slow
def test_quick_dashboard_benchmark_times_both_counties_and_the_grading():
    figures = quick_run("dashboard", "sqlite")
    assert figures["bench"] == "dashboard" and figures["db"] == "sqlite"
    assert (figures["volunteers_small"], figures["volunteers_large"], figures["attendances_large"]) == (1_000, 10_000, 100_000)
    for key in ("p50_ms_small", "p95_ms_small", "p50_ms_large", "p95_ms_large", "grading_s"):
        assert figures[key] > 0, key
@pytest.mark.parametrize("path", ["checkin", "redeem", "healthz"])
def test_the_in_process_profile_counts_statements_and_cpu_per_request(path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.profile", path, "--requests", "4", "--warmup", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["path"] == path and figures["requests"] == 4
    assert figures["statements"] >= 1 and figures["cpu_ms"] > 0
