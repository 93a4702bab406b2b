"""The certificate benchmark keeps running: its smallest run ends with its JSON figures (it times nothing here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.slow
def test_the_certificate_benchmark_runs_every_step_and_prints_its_figures():
    result = subprocess.run([sys.executable, "-m", "bench.certificates", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "certificates" and figures["n"] == 20 and figures["n_large"] == 100
    for key in ("batch_s", "certs_per_s", "single_ms", "peak_mb", "peak_mb_large", "peak_ratio"):
        assert figures[key] > 0, key
