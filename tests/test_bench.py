"""The benchmarks keep running: a quick run ends with its JSON figures and a clean ledger.

Nothing here times anything; the figures themselves go in README.md.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
