"""Times are stored in UTC and shown in Asia/Shanghai (DESIGN.md, "Architecture")."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local(moment: dt.datetime) -> dt.datetime:
    """The moment on the wall clocks of the programme."""
    return moment.astimezone(LOCAL_TZ)


def hhmm(moment: dt.datetime) -> str:
    """"09:02", local time."""
    return local(moment).strftime("%H:%M")


def moment_text(moment: dt.datetime, now: dt.datetime) -> str:
    """"09:02" on the same local day as `now`, otherwise with its date: "2026-12-04 09:02"."""
    if local_day(moment) == local_day(now):
        return hhmm(moment)
    return local(moment).strftime("%Y-%m-%d %H:%M")


def local_day(moment: dt.datetime) -> dt.date:
    """The local calendar date."""
    return local(moment).date()
