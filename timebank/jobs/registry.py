"""The jobs and periodic tasks every feature registers, by name, before any queue is built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: A job's default: five retries, 10 s, then 20, 40, 80, 160 (the delay doubles each time).
RETRIES, RETRY_DELAY = 5, 10


@dataclass(frozen=True)
class Spec:
    """A registered job: its name, its function, its retries, and for a periodic task its schedule."""

    name: str
    fn: Callable[..., Any]
    retries: int = RETRIES
    retry_delay: int = RETRY_DELAY
    schedule: Callable[[Any], bool] | None = None  # huey's crontab(...): True at the minutes it runs
    every: str = ""  # the schedule in words, for the jobs page


SPECS: dict[str, Spec] = {}


def job(name: str, *, retries: int = RETRIES, retry_delay: int = RETRY_DELAY) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as a job sent by `enqueue(name, *args)`; retried with doubling delays."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        SPECS[name] = Spec(name, fn, retries, retry_delay)
        return fn

    return register


def periodic(name: str, schedule: Callable[[Any], bool], *, every: str = "", retries: int = 2, retry_delay: int = 30) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a function the consumer runs on a huey `crontab(...)` schedule (replacing a cron line)."""

    def register(fn: Callable[[], Any]) -> Callable[[], Any]:
        SPECS[name] = Spec(name, fn, retries, retry_delay, schedule, every)
        return fn

    return register
