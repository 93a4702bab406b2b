"""gunicorn's hooks for the embedded default: the master starts one job queue worker when ready and stops it on exit.

`timebank serve` passes this module as gunicorn's config, so one command
serves the site and runs its background work, and no worker outlives it.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

_worker: list[subprocess.Popen] = []


def when_ready(server: Any) -> None:
    """Start `timebank worker` beside the web workers."""
    _worker.append(subprocess.Popen([sys.executable, "-m", "timebank.cli", "worker"]))
    server.log.info("job queue worker started (pid %s)", _worker[-1].pid)


def on_exit(server: Any) -> None:
    """Stop the worker gracefully (it finishes or hands back its job) and wait for it."""
    for proc in _worker:
        if proc.poll() is None:
            proc.send_signal(2)  # SIGINT: huey's graceful stop
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
