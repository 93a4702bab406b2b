"""The whole ledger as a Beancount or hledger journal, for outside tools to check.

Amounts stay integers in their own units (time credit minutes as MIN,
certified minutes as CERTMIN, points as PTS): both tools tolerate rounding in
decimal amounts, so hours as decimals could hide an imbalance. The journal
ends with a balance assertion per account carrying the service's own stored
balance, so `bean-check` / `hledger check` prove it equals the postings' sum.
Rows are streamed, so memory stays flat however long the history is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.ledger.models import Account, Commodity, Posting, Transaction
from timebank.ledger.posting import balance

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
UNITS = {Commodity.HOUR.value: "MIN", Commodity.CERT.value: "CERTMIN", Commodity.PTS.value: "PTS"}
UNIT_NAMES = {
    "MIN": "time credit (时间币), minutes",
    "CERTMIN": "certified service time (认证时长), minutes",
    "PTS": "incentive points (积分)",
}
FORMATS = ("beancount", "hledger")


@dataclass(frozen=True)
class ExportAccount:
    """An account as the journal names it."""

    code: str
    name: str
    unit: str
    balance: int
    closed: bool


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar date in Asia/Shanghai, which is what the journal shows."""
    return moment.astimezone(LOCAL_TZ).date()


def journal_name(account: Account, taken: set[str]) -> str:
    """A journal account name for a code: `vol:1024:HOUR` -> `Assets:Vol:1024:HOUR`."""
    root = "Equity" if account.owner_type == "system" else "Assets"
    parts = []
    for part in account.code.split(":"):
        part = re.sub(r"[^A-Za-z0-9-]", "-", part) or "X"
        parts.append(part[0].upper() + part[1:] if part[0].isalpha() else part)
    name = base = ":".join([root, *parts])
    suffix = 0
    while name in taken:  # codes that only differ in characters we replaced
        suffix += 1
        name = f"{base}-{account.id}" + (f"-{suffix}" if suffix > 1 else "")
    taken.add(name)
    return name


def export(session: Session, out: TextIO, *, format: str = "beancount") -> None:
    """Write the whole ledger to `out` as a Beancount or hledger journal."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    writer = BeancountWriter(out) if format == "beancount" else HledgerWriter(out)
    taken: set[str] = set()
    accounts: dict[int, ExportAccount] = {}
    fresh = select(Account).order_by(Account.id).execution_options(populate_existing=True)
    for account in session.scalars(fresh):
        accounts[account.id] = ExportAccount(
            code=account.code,
            name=journal_name(account, taken),
            unit=UNITS[account.commodity],
            balance=account.balance if account.running_balance else balance(session, account).posted,
            closed=account.closed_at is not None,
        )
    first, last = session.execute(
        select(func.min(Transaction.event_at), func.max(Transaction.event_at))
    ).one()
    created = session.scalar(select(func.min(Account.created_at)))
    moments = [m for m in (first, created) if m is not None]
    start = local_date(min(moments)) if moments else dt.date(2000, 1, 1)
    end = (local_date(last) if last else start) + dt.timedelta(days=1)

    writer.header(start, accounts.values())
    for txn, legs in _transactions(session):
        writer.transaction(txn, [(accounts[a], amount) for a, amount in legs])
    writer.assertions(end, accounts.values())


def _transactions(session: Session) -> Iterator[tuple[Transaction, list[tuple[int, int]]]]:
    """Each transaction with its legs, in id order, streamed in batches."""
    stmt = (
        select(Transaction, Posting.account_id, Posting.amount)
        .join(Posting, Posting.transaction_id == Transaction.id)
        .order_by(Transaction.id, Posting.id)
        .execution_options(yield_per=2000)
    )
    current: Transaction | None = None
    legs: list[tuple[int, int]] = []
    for txn, account_id, amount in session.execute(stmt):
        if current is not None and txn.id != current.id:
            yield current, legs
            legs = []
        current = txn
        legs.append((account_id, amount))
    if current is not None:
        yield current, legs


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


class BeancountWriter:
    """Beancount syntax: open directives, transactions with metadata, balance assertions."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    @staticmethod
    def _quote(text: str) -> str:
        return '"' + _clean(text).replace("\\", "\\\\").replace('"', '\\"') + '"'

    def header(self, start: dt.date, accounts: Iterable[ExportAccount]) -> None:
        w = self.out.write
        w(';; timebank ledger export (Beancount). Check it with: bean-check FILE\n')
        w('option "title" "timebank ledger"\n\n')
        for unit, name in UNIT_NAMES.items():
            w(f"{start} commodity {unit}\n  name: {self._quote(name)}\n")
        w("\n")
        for account in accounts:
            w(f"{start} open {account.name} {account.unit}\n  code: {self._quote(account.code)}\n")
        w("\n")

    def transaction(self, txn: Transaction, legs: list[tuple[ExportAccount, int]]) -> None:
        w = self.out.write
        w(f"{local_date(txn.event_at)} * {self._quote(txn.kind)} {self._quote(txn.memo or '')}\n")
        w(f"  txn: {txn.id}\n  key: {self._quote(txn.idempotency_key)}\n  actor: {txn.actor_id}\n")
        if txn.reverses_id is not None:
            w(f"  reverses: {txn.reverses_id}\n")
        for account, amount in legs:
            w(f"  {account.name}  {amount} {account.unit}\n")
        w("\n")

    def assertions(self, end: dt.date, accounts: Iterable[ExportAccount]) -> None:
        w = self.out.write
        w(";; the service's stored balances, asserted after the last transaction\n")
        for account in accounts:
            w(f"{end} balance {account.name}  {account.balance} {account.unit}\n")
        for account in accounts:
            if account.closed:
                w(f"{end} close {account.name}\n")


class HledgerWriter:
    """hledger journal syntax: declarations, transactions with tags, a final assertion entry."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    @staticmethod
    def _text(text: str | None) -> str:
        # ';' would start a comment and '|' split payee from note.
        return _clean(text).replace(";", ",").replace("|", "/")

    def header(self, start: dt.date, accounts: Iterable[ExportAccount]) -> None:
        w = self.out.write
        w("; timebank ledger export (hledger). Check it with: LC_ALL=C.UTF-8 hledger -f FILE check\n\n")
        for unit, name in UNIT_NAMES.items():
            w(f"commodity 1. {unit}  ; {name}\n")
        w("\n")
        for account in accounts:
            w(f"account {account.name}  ; code: {self._text(account.code)}\n")
        w("\n")

    def transaction(self, txn: Transaction, legs: list[tuple[ExportAccount, int]]) -> None:
        w = self.out.write
        tags = f"txn:{txn.id}, actor:{txn.actor_id}"
        if txn.reverses_id is not None:
            tags += f", reverses:{txn.reverses_id}"
        w(f"{local_date(txn.event_at)} * {txn.kind} | {self._text(txn.memo)}  ; {tags}\n")
        for account, amount in legs:
            w(f"    {account.name}  {amount} {account.unit}\n")
        w("\n")

    def assertions(self, end: dt.date, accounts: Iterable[ExportAccount]) -> None:
        w = self.out.write
        w(f"{end} * balance assertions | the service's stored balances\n")
        for account in accounts:
            w(f"    {account.name}  0 {account.unit} = {account.balance} {account.unit}\n")
        w("\n")
