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


def local_day(moment: dt.datetime) -> dt.date:
    """The local calendar date."""
    return local(moment).date()
