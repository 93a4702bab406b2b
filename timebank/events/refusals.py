"""Ledger refusals met while crediting or correcting an attendance, said as a reviewer would say them.

The ledger names accounts by code (`vol:56:PTS`) and transactions by number,
which the command line needs; a reviewer needs the person, what they hold and
the activity.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from timebank import ledger
from timebank.domain import Conflict
from timebank.events.models import Attendance

P = ParamSpec("P")
T = TypeVar("T")

#: Taking back a credit that was already spent, by the account that is short.
SPENT = {
    "HOUR": "%(name)s has already spent the time credit from “%(activity)s”: %(available)d of the %(required)d minutes "
    "to take back are left. A coordinator must decide on a recorded write-off.",
    "PTS": "%(name)s has already spent the points from “%(activity)s”: %(available)d of the %(required)d points "
    "to take back are left. A coordinator must decide on a recorded write-off.",
    "pool": "The community pool has already given out the time credit of %(name)s from “%(activity)s” above the cap: "
    "%(available)d of the %(required)d minutes to take back are left. A coordinator must decide on a recorded write-off.",
}


class CreditRefused(Conflict):
    """The ledger refused an attendance's credit or its correction; the message names the person and the activity."""

    template = "The credit of %(name)s for “%(activity)s” was refused."


@contextmanager
def in_words(attendance: Attendance) -> Iterator[None]:
    """Turn a ledger refusal about this attendance's credit into one that names the volunteer and the activity."""
    try:
        yield
    except ledger.LedgerError as exc:
        words = {"name": attendance.volunteer.real_name, "activity": attendance.activity.title}
        if isinstance(exc, ledger.InsufficientBalance):
            account = exc.params["account"]
            short = "pool" if ":pool:" in account else account.rsplit(":", 1)[-1]
            template = SPENT.get(short, SPENT["PTS"])
            raise CreditRefused(template, available=exc.params["available"], required=exc.params["required"], **words) from exc
        if isinstance(exc, ledger.BalanceCapExceeded):
            raise CreditRefused(
                "%(name)s already holds the most time credit the cap allows (%(cap)d minutes), so “%(activity)s” cannot add more.",
                cap=exc.params["cap"], **words,
            ) from exc
        if isinstance(exc, ledger.AccountClosed):
            raise CreditRefused("The accounts of %(name)s are closed, so “%(activity)s” can be neither credited nor corrected.", **words) from exc
        if isinstance(exc, (ledger.AlreadyReversed, ledger.IdempotencyConflict)):
            raise CreditRefused(
                "The credit of %(name)s for “%(activity)s” was changed a moment ago by someone else. Reload the page to see it.", **words
            ) from exc
        raise


def said_in_words(
    service: Callable[Concatenate[Session, Attendance, P], T],
) -> Callable[Concatenate[Session, Attendance, P], T]:
    """A service on one attendance whose ledger refusals are said in words (see `in_words`)."""

    @functools.wraps(service)
    def wrapper(session: Session, attendance: Attendance, *args: P.args, **kwargs: P.kwargs) -> T:
        with in_words(attendance):
            return service(session, attendance, *args, **kwargs)

    return wrapper
