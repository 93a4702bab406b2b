"""One job queue worker beside the web server on the embedded default, started with it and stopped with it.

`timebank serve` passes this module as gunicorn's config (its master calls
`when_ready` and `on_exit`); `timebank serve --dev` calls `start_worker` and
`stop_worker` around Werkzeug's server. Either way one command serves the site
and runs its background work, and no worker outlives it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

#: How long a stopping worker may take to finish the job in hand before it is killed.
GRACE_SECONDS = 20

_worker: list[subprocess.Popen] = []


def start_worker() -> subprocess.Popen:
    """Start `timebank worker` as a child process, on the same settings (the environment)."""
    return subprocess.Popen([sys.executable, "-m", "timebank.cli", "worker"])


def stop_worker(proc: subprocess.Popen) -> None:
    """Stop a worker gracefully (it finishes or hands back its job) and wait for it; kill it if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # huey's graceful stop
        try:
            proc.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def when_ready(server: Any) -> None:
    """Start the worker beside gunicorn's web workers."""
    _worker.append(start_worker())
    server.log.info("job queue worker started (pid %s)", _worker[-1].pid)


def on_exit(server: Any) -> None:
    """Stop the worker with gunicorn's master."""
    for proc in _worker:
        stop_worker(proc)
