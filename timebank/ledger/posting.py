"""Posting balanced transactions, reversing them, and reading balances and statements.

Every function takes the session first and `actor`/`now` as keywords; none
commits: the caller owns the database transaction and rolls it back on any
error, so a refused posting leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, bindparam, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from timebank.db import instance_of
from timebank.ledger.errors import (
    AccountClosed,
    AlreadyReversed,
    BalanceCapExceeded,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidAmount,
    LedgerError,
    MissingActor,
    UnbalancedTransaction,
    UnknownAccount,
)
from timebank.ledger.models import Account, Commodity, Kind, OwnerType, Posting, Transaction

Ref = tuple[str, int]


@dataclass(frozen=True)
class Leg:
    """One side of a transaction to post: an account (or its code) and a signed amount."""

    account: Account | str
    amount: int

    @property
    def code(self) -> str:
        """The account's code."""
        return self.account.code if isinstance(self.account, Account) else self.account


@dataclass(frozen=True)
class Balance:
    """An account's posted balance, the part held by open holds, and what is left to spend."""

    posted: int
    held: int

    @property
    def available(self) -> int:
        """Posted minus held."""
        return self.posted - self.held


@dataclass(frozen=True)
class StatementLine:
    """One posting on an account's statement, with the balance after it."""

    posting_id: int
    transaction_id: int
    kind: str
    memo: str | None
    amount: int
    balance_after: int | None
    event_at: dt.datetime
    created_at: dt.datetime
    ref_type: str | None
    ref_id: int | None
    reverses_id: int | None


@dataclass(frozen=True)
class StatementPage:
    """A page of statement lines, newest first; `next_before` fetches the next page."""

    lines: list[StatementLine]
    next_before: int | None


def dialect_insert(session: Session, table: type) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for `table` that knows ON CONFLICT on the session's database."""
    name = session.get_bind().dialect.name
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


def check_actor(actor: int | None) -> int:
    """The actor id, or MissingActor: every ledger change records who made it."""
    if actor is None or isinstance(actor, bool) or not isinstance(actor, int):
        raise MissingActor()
    return actor


def check_amount(amount: object) -> int:
    """The amount if it is a non-zero whole number, else InvalidAmount."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidAmount(
            "Amounts must be non-zero whole numbers, not %(amount)r.", amount=amount
        )
    return amount


# -- accounts ---------------------------------------------------------------


def open_account(
    session: Session,
    code: str,
    *,
    commodity: Commodity | str,
    owner_type: OwnerType | str,
    owner_id: int | None = None,
    allow_negative: bool = False,
    max_balance: int | None = None,
    running_balance: bool = True,
    now: dt.datetime,
) -> Account:
    """The account with this code, opened now if it does not exist yet."""
    commodity = Commodity(commodity)
    stmt = (
        dialect_insert(session, Account)
        .values(
            code=code,
            commodity=commodity.value,
            owner_type=OwnerType(owner_type).value,
            owner_id=owner_id,
            balance=0,
            held=0,
            allow_negative=allow_negative,
            max_balance=max_balance,
            running_balance=running_balance,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["code"])
    )
    session.execute(stmt)
    account = get_account(session, code)
    if account.commodity != commodity:
        raise LedgerError(
            "Account %(account)s exists in %(commodity)s.", account=code, commodity=account.commodity
        )
    return account


def open_accounts(session: Session, accounts: Sequence[Mapping[str, object]], *, now: dt.datetime) -> None:
    """Open many accounts in one statement, each given as `open_account`'s keywords with its `code`; existing ones are left alone."""
    rows = [
        dict(
            code=spec["code"],
            commodity=Commodity(spec["commodity"]).value,
            owner_type=OwnerType(spec["owner_type"]).value,
            owner_id=spec.get("owner_id"),
            balance=0,
            held=0,
            allow_negative=spec.get("allow_negative", False),
            max_balance=spec.get("max_balance"),
            running_balance=spec.get("running_balance", True),
            created_at=now,
        )
        for spec in accounts
    ]
    if rows:
        session.execute(dialect_insert(session, ACCOUNTS).on_conflict_do_nothing(index_elements=["code"]), rows)


def get_account(session: Session, code: str) -> Account:
    """The account with this code, or UnknownAccount."""
    account = session.scalar(select(Account).where(Account.code == code))
    if account is None:
        raise UnknownAccount(account=code)
    return account


def close_account(session: Session, account: Account | str, *, now: dt.datetime) -> Account:
    """Close an empty account; it takes no postings afterwards."""
    account = account if isinstance(account, Account) else get_account(session, account)
    closed = session.execute(
        update(Account)
        .where(Account.id == account.id, Account.closed_at.is_(None))
        .where(Account.balance == 0, Account.held == 0)
        .values(closed_at=now)
        .returning(Account.id)
    ).first()
    session.refresh(account)
    if closed is None and account.closed_at is None:
        raise LedgerError(
            "Account %(account)s still holds %(balance)d (%(held)d held) and cannot be closed.",
            account=account.code,
            balance=account.balance,
            held=account.held,
        )
    return account


# -- posting ----------------------------------------------------------------


def post(
    session: Session,
    legs: Sequence[Leg],
    *,
    kind: Kind | str,
    idempotency_key: str,
    actor: int,
    memo: str | None = None,
    ref: Ref | None = None,
    event_at: dt.datetime | None = None,
    now: dt.datetime,
    accounts: Mapping[str, Row] | None = None,
) -> Transaction:
    """Post one balanced transaction; a retry with the same key returns the first one.

    `accounts` are the legs' accounts as `resolve_accounts` gave them to the caller earlier in the same
    database transaction (before its first write, say): an account's id and kind never change, and the
    guarded update of its balance refuses it if it was closed since. Any other account is read here.
    """
    return _post(
        session,
        legs,
        kind=kind,
        idempotency_key=idempotency_key,
        actor=actor,
        memo=memo,
        ref=ref,
        event_at=event_at,
        now=now,
        accounts=accounts,
    )


def _post(
    session: Session,
    legs: Sequence[Leg],
    *,
    kind: Kind | str,
    idempotency_key: str,
    actor: int,
    memo: str | None,
    ref: Ref | None,
    event_at: dt.datetime | None,
    now: dt.datetime,
    reverses_id: int | None = None,
    release_held: Mapping[int, int] | None = None,
    accounts: Mapping[str, Row] | None = None,
) -> Transaction:
    """`post`, plus what reversals and hold captures need: the link and the held amounts to free."""
    check_actor(actor)
    for leg in legs:
        check_amount(leg.amount)
    if len(legs) < 2:
        raise UnbalancedTransaction("A transaction needs at least two legs.")
    if not idempotency_key:
        raise LedgerError("An idempotency key is required.")
    kind = str(kind)

    if accounts is None or not all(leg.code in accounts and accounts[leg.code].running_balance for leg in legs):
        accounts = resolve_accounts(session, [leg.code for leg in legs])
    check_balanced(legs, accounts)
    fingerprint = transaction_fingerprint(kind, legs, ref, reverses_id)
    values = dict(
        kind=kind,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        memo=memo,
        ref_type=ref[0] if ref else None,
        ref_id=ref[1] if ref else None,
        actor_id=actor,
        event_at=event_at or now,
        created_at=now,
        reverses_id=reverses_id,
    )
    conn = session.connection()
    # Insert first and look up only on a conflict: a retry is rare, so the
    # common case pays no extra query, and ON CONFLICT settles a race between
    # two requests carrying the same key.
    try:
        txn_id = conn.execute(_insert_transaction(conn.dialect.name), values).scalar()
    except IntegrityError as exc:
        if reverses_id is not None and "reverses_id" in str(exc.orig):
            raise AlreadyReversed(transaction=reverses_id) from exc
        raise
    if txn_id is None:
        existing = find_existing(session, idempotency_key, fingerprint)
        assert existing is not None, "ON CONFLICT without a conflicting row"
        return existing
    for account in accounts.values():
        if account.closed_at is not None:
            raise AccountClosed(account=account.code)

    balances_after = apply_to_balances(session, legs, accounts, release_held or {})
    rows = [
        dict(
            transaction_id=txn_id,
            account_id=accounts[leg.code].id,
            commodity=accounts[leg.code].commodity,
            amount=leg.amount,
            balance_after=(
                balances_after[accounts[leg.code].id].pop(0)
                if accounts[leg.code].running_balance
                else None
            ),
        )
        for leg in legs
    ]
    conn.execute(INSERT_POSTINGS, rows)
    # The caller gets the transaction without another query; its postings
    # load on first access, which most callers never make.
    return instance_of(session, Transaction, {"id": txn_id, **values})


# The hot path runs prebuilt Core statements: building an ORM statement on
# every call costs more than the database takes to run it.
ACCOUNTS, TRANSACTIONS, POSTINGS = Account.__table__, Transaction.__table__, Posting.__table__
RESOLVE_ACCOUNTS = select(
    ACCOUNTS.c.id, ACCOUNTS.c.code, ACCOUNTS.c.commodity, ACCOUNTS.c.running_balance, ACCOUNTS.c.closed_at
).where(ACCOUNTS.c.code.in_(bindparam("codes", expanding=True)))
_delta, _release = bindparam("delta"), bindparam("release")
MOVE_BALANCE = (
    update(ACCOUNTS)
    .where(ACCOUNTS.c.id == bindparam("account_id"), ACCOUNTS.c.closed_at.is_(None))
    .where(
        ACCOUNTS.c.allow_negative
        | (ACCOUNTS.c.balance + _delta - (ACCOUNTS.c.held - _release) >= 0)
    )
    .where(ACCOUNTS.c.max_balance.is_(None) | (ACCOUNTS.c.balance + _delta <= ACCOUNTS.c.max_balance))
    .values(balance=ACCOUNTS.c.balance + _delta, held=ACCOUNTS.c.held - _release)
    .returning(ACCOUNTS.c.balance, ACCOUNTS.c.held)
)
INSERT_POSTINGS = POSTINGS.insert()


@functools.cache
def _insert_transaction(dialect: str) -> postgresql.Insert | sqlite.Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(TRANSACTIONS)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(TRANSACTIONS.c.id)
    )


def resolve_accounts(session: Session, codes: Sequence[str]) -> dict[str, Row]:
    """The accounts' ids, commodities and states by code, or UnknownAccount for the first missing."""
    found = {
        row.code: row
        for row in session.connection().execute(RESOLVE_ACCOUNTS, {"codes": sorted(set(codes))})
    }
    for code in codes:
        if code not in found:
            raise UnknownAccount(account=code)
    return found


def transaction_fingerprint(
    kind: str, legs: Sequence[Leg], ref: Ref | None, reverses_id: int | None = None
) -> str:
    """A digest of what a transaction says, to tell a retry from a reused key."""
    content = {
        "kind": kind,
        "legs": sorted([leg.code, leg.amount] for leg in legs),
        "ref": list(ref) if ref else None,
        "reverses": reverses_id,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def find_existing(session: Session, idempotency_key: str, fingerprint: str) -> Transaction | None:
    """The transaction already posted under this key, if its content matches."""
    existing = session.scalar(
        select(Transaction).where(Transaction.idempotency_key == idempotency_key)
    )
    if existing is not None and existing.fingerprint != fingerprint:
        raise IdempotencyConflict(key=idempotency_key)
    return existing


def check_balanced(legs: Sequence[Leg], accounts: Mapping[str, Account | Row]) -> None:
    """Raise UnbalancedTransaction unless the legs sum to zero in each commodity."""
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        totals[accounts[leg.code].commodity] += leg.amount
    off = {commodity: total for commodity, total in totals.items() if total}
    if off:
        raise UnbalancedTransaction(
            "The transaction does not balance: %(totals)s.",
            totals=", ".join(f"{c} {t:+d}" for c, t in sorted(off.items())),
        )


def apply_to_balances(
    session: Session,
    legs: Sequence[Leg],
    accounts: Mapping[str, Row],
    release_held: Mapping[int, int],
) -> dict[int, list[int]]:
    """Move running balances, accounts in id order, and return each leg's balance after it."""
    net: dict[int, int] = defaultdict(int)
    for leg in legs:
        net[accounts[leg.code].id] += leg.amount
    by_id = {account.id: account for account in accounts.values()}
    conn = session.connection()
    after: dict[int, list[int]] = {}
    # Always the same lock order, so two opposite transfers cannot deadlock.
    for account_id in sorted(net):
        account = by_id[account_id]
        if not account.running_balance:
            continue
        delta, release = net[account_id], release_held.get(account_id, 0)
        row = conn.execute(
            MOVE_BALANCE, {"account_id": account_id, "delta": delta, "release": release}
        ).first()
        if row is None:
            explain_refusal(session, account, delta, release)
        refresh_cached_account(session, account_id, row.balance, row.held)
        running = row.balance - delta
        after[account_id] = []
        for leg in legs:
            if accounts[leg.code].id == account_id:
                running += leg.amount
                after[account_id].append(running)
    return after


def refresh_cached_account(session: Session, account_id: int, balance: int, held: int) -> None:
    """Keep an Account the session already holds in step with a Core update of its row."""
    key = inspect(Account).identity_key_from_primary_key((account_id,))
    cached = session.identity_map.get(key)
    if cached is not None:
        set_committed_value(cached, "balance", balance)
        set_committed_value(cached, "held", held)


def explain_refusal(session: Session, account: Account | Row, delta: int, release: int = 0) -> None:
    """Raise the error that says why a guarded balance update touched no row."""
    row = session.execute(
        select(Account.balance, Account.held, Account.max_balance, Account.closed_at).where(
            Account.id == account.id
        )
    ).one()
    if row.closed_at is not None:
        raise AccountClosed(account=account.code)
    if row.max_balance is not None and row.balance + delta > row.max_balance:
        raise BalanceCapExceeded(account=account.code, cap=row.max_balance)
    raise InsufficientBalance(
        account=account.code, available=row.balance - (row.held - release), required=-delta
    )


# -- corrections ------------------------------------------------------------


def reverse(
    session: Session,
    transaction: Transaction | int,
    *,
    actor: int,
    now: dt.datetime,
    memo: str | None = None,
    idempotency_key: str | None = None,
) -> Transaction:
    """Post the exact opposite of a transaction; each is reversed at most once."""
    original = (
        transaction
        if isinstance(transaction, Transaction)
        else session.get(Transaction, transaction)
    )
    if original is None:
        raise LedgerError("Unknown transaction %(transaction)s.", transaction=transaction)
    if original.reverses_id is not None:
        raise LedgerError(
            "Transaction %(transaction)d is itself a reversal; post a new transaction instead.",
            transaction=original.id,
        )
    key = idempotency_key or f"reversal:{original.id}"
    earlier = session.scalar(select(Transaction).where(Transaction.reverses_id == original.id))
    if earlier is not None and earlier.idempotency_key != key:
        raise AlreadyReversed(transaction=original.id)
    legs = [Leg(posting.account.code, -posting.amount) for posting in original.postings]
    ref = (original.ref_type, original.ref_id) if original.ref_type else None
    try:
        return _post(
            session,
            legs,
            kind=Kind.REVERSAL,
            idempotency_key=key,
            actor=actor,
            memo=memo or f"reversal of transaction {original.id}",
            ref=ref,
            event_at=now,
            now=now,
            reverses_id=original.id,
        )
    except InsufficientBalance as exc:
        raise InsufficientBalance(
            "Reversing transaction %(transaction)d would overdraw %(account)s: "
            "%(available)d available, %(required)d required. The credit was already spent; "
            "a coordinator must decide on a recorded write-off.",
            transaction=original.id,
            **exc.params,
        ) from exc


# -- reading ----------------------------------------------------------------


def balance(session: Session, account: Account | str) -> Balance:
    """The account's posted and held amounts, read fresh from the database."""
    account = account if isinstance(account, Account) else get_account(session, account)
    if not account.running_balance:
        total = session.scalar(
            select(func.coalesce(func.sum(Posting.amount), 0)).where(
                Posting.account_id == account.id
            )
        )
        return Balance(posted=int(total or 0), held=0)
    row = session.execute(
        select(Account.balance, Account.held).where(Account.id == account.id)
    ).one()
    return Balance(posted=row.balance, held=row.held)


def statement(
    session: Session, account: Account | str, *, limit: int = 50, before: int | None = None
) -> StatementPage:
    """A page of the account's postings, newest first, each with its balance after."""
    account = account if isinstance(account, Account) else get_account(session, account)
    limit = max(1, min(limit, 500))
    stmt = (
        select(
            Posting.id.label("posting_id"),
            Posting.transaction_id,
            Transaction.kind,
            Transaction.memo,
            Posting.amount,
            Posting.balance_after,
            Transaction.event_at,
            Transaction.created_at,
            Transaction.ref_type,
            Transaction.ref_id,
            Transaction.reverses_id,
        )
        .join(Transaction, Transaction.id == Posting.transaction_id)
        .where(Posting.account_id == account.id)
        .order_by(Posting.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        stmt = stmt.where(Posting.id < before)
    rows = session.execute(stmt).all()
    lines = [StatementLine(**row._mapping) for row in rows[:limit]]
    next_before = lines[-1].posting_id if len(rows) > limit else None
    return StatementPage(lines=lines, next_before=next_before)
