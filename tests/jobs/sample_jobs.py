"""Jobs the queue's own tests send: one that writes a line, one that fails a few times first, one that always fails."""

from __future__ import annotations

from pathlib import Path

from timebank.jobs import job


@job("tests.append", retries=0)
def append(path: str, text: str) -> None:
    """Add a line to a file."""
    with open(path, "a", encoding="utf-8") as out:
        out.write(text + "\n")


@job("tests.flaky", retries=3, retry_delay=1)
def flaky(path: str, failures: int) -> None:
    """Fail `failures` times (counted in the file), then succeed."""
    tries = Path(path)
    count = len(tries.read_text().splitlines()) if tries.exists() else 0
    with tries.open("a") as out:
        out.write("try\n")
    if count < failures:
        raise RuntimeError(f"failure {count + 1} of {failures}")


@job("tests.broken", retries=1, retry_delay=1)
def broken() -> None:
    """Always fail."""
    raise RuntimeError("the printer is on fire")
