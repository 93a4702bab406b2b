"""Two-phase spending: hold an amount now, capture or release it later.

A hold reserves part of an account's balance (available = balance - held).
It resolves exactly once: captured (posted, fully or partly, the rest freed),
released, or expired. The hold row is always locked before any account row,
so holds and postings cannot deadlock each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from timebank.ledger.errors import HoldNotOpen, IdempotencyConflict, LedgerError
from timebank.ledger.models import Account, Hold, HoldStatus, Kind, Transaction
from timebank.ledger.posting import (
    Leg,
    Ref,
    _post,
    check_actor,
    check_amount,
    explain_refusal,
    find_existing,
    get_account,
    dialect_insert,
    transaction_fingerprint,
)


def hold(
    session: Session,
    account: Account | str,
    amount: int,
    *,
    actor: int,
    now: dt.datetime,
    expires_at: dt.datetime,
    idempotency_key: str,
    memo: str | None = None,
    ref: Ref | None = None,
) -> Hold:
    """Reserve `amount` on the account until `expires_at`; a retry returns the same hold."""
    check_actor(actor)
    if check_amount(amount) < 0:
        raise LedgerError("A hold reserves a positive amount, not %(amount)d.", amount=amount)
    if expires_at <= now:
        raise LedgerError("A hold must expire in the future.")
    account = account if isinstance(account, Account) else get_account(session, account)
    if not account.running_balance:
        raise LedgerError("Account %(account)s keeps no running balance to hold.", account=account.code)
    stmt = (
        dialect_insert(session, Hold)
        .values(
            account_id=account.id,
            amount=amount,
            status=HoldStatus.OPEN.value,
            idempotency_key=idempotency_key,
            memo=memo,
            ref_type=ref[0] if ref else None,
            ref_id=ref[1] if ref else None,
            actor_id=actor,
            created_at=now,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Hold)
    )
    created = session.scalars(stmt).one_or_none()
    if created is None:
        existing = session.scalars(select(Hold).where(Hold.idempotency_key == idempotency_key)).one()
        same = (existing.account_id, existing.amount, existing.ref_type, existing.ref_id) == (
            account.id,
            amount,
            ref[0] if ref else None,
            ref[1] if ref else None,
        )
        if not same:
            raise IdempotencyConflict(key=idempotency_key)
        return existing
    reserved = session.execute(
        update(Account)
        .where(Account.id == account.id, Account.closed_at.is_(None))
        .where(Account.allow_negative | (Account.balance - Account.held - amount >= 0))
        .values(held=Account.held + amount)
        .returning(Account.held)
        .execution_options(synchronize_session=False)
    ).first()
    if reserved is None:
        explain_refusal(session, account, -amount)
    session.refresh(account)
    return created


def capture(
    session: Session,
    hold: Hold | int,
    *,
    to: Account | str | None = None,
    kind: Kind | str,
    actor: int,
    now: dt.datetime,
    amount: int | None = None,
    memo: str | None = None,
    legs: Sequence[Leg] | None = None,
) -> Transaction:
    """Post `amount` (default all) of the hold to `to` and free the rest; once only.

    `legs` replace `to` where the captured amount is shared among several
    accounts; they take exactly `amount` from the held account.
    """
    check_actor(actor)
    held = _load(session, hold)
    amount = held.amount if amount is None else check_amount(amount)
    if not 0 < amount <= held.amount:
        raise LedgerError(
            "A capture takes between 1 and %(held)d, not %(amount)d.", held=held.amount, amount=amount
        )
    source = held.account
    if legs is None:
        if to is None:
            raise LedgerError("A capture needs the account it pays.")
        legs = [Leg(source.code, -amount), Leg(to, amount)]
    elif sum(leg.amount for leg in legs if leg.code == source.code) != -amount:
        raise LedgerError("A capture's legs must take %(amount)d from the held account.", amount=amount)
    key = f"hold:{held.id}:capture"
    ref = (held.ref_type, held.ref_id) if held.ref_type else ("hold", held.id)
    if not _resolve(session, held, HoldStatus.CAPTURED, actor=actor, now=now, captured=amount):
        if held.status == HoldStatus.CAPTURED.value:
            existing = find_existing(session, key, transaction_fingerprint(str(kind), legs, ref))
            if existing is not None:
                return existing
        raise HoldNotOpen(hold=held.id, status=held.status)
    txn = _post(
        session,
        legs,
        kind=kind,
        idempotency_key=key,
        actor=actor,
        memo=memo or held.memo,
        ref=ref,
        event_at=now,
        now=now,
        release_held={source.id: held.amount},
    )
    session.execute(
        update(Hold)
        .where(Hold.id == held.id)
        .values(transaction_id=txn.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(held)
    return txn


def release(session: Session, hold: Hold | int, *, actor: int, now: dt.datetime) -> Hold:
    """Free the whole hold without posting anything; releasing twice is harmless."""
    check_actor(actor)
    held = _load(session, hold)
    if not _resolve(session, held, HoldStatus.RELEASED, actor=actor, now=now):
        if held.status == HoldStatus.RELEASED.value:
            return held
        raise HoldNotOpen(hold=held.id, status=held.status)
    _free(session, held)
    return held


def expire_holds(session: Session, *, actor: int, now: dt.datetime) -> list[Hold]:
    """Mark every open hold past its expiry as expired and free its amount."""
    check_actor(actor)
    due = session.scalars(
        select(Hold)
        .where(Hold.status == HoldStatus.OPEN.value, Hold.expires_at <= now)
        .order_by(Hold.id)
    ).all()
    expired = []
    for held in due:
        if _resolve(session, held, HoldStatus.EXPIRED, actor=actor, now=now):
            _free(session, held)
            expired.append(held)
    return expired


def _load(session: Session, hold: Hold | int) -> Hold:
    held = session.get(Hold, hold.id if isinstance(hold, Hold) else hold)
    if held is None:
        raise LedgerError("Unknown hold %(hold)s.", hold=hold)
    return held


def _resolve(
    session: Session,
    held: Hold,
    status: HoldStatus,
    *,
    actor: int,
    now: dt.datetime,
    captured: int | None = None,
) -> bool:
    """Move an open hold to `status`; False (and the hold reloaded) if it was not open."""
    stmt = update(Hold).where(Hold.id == held.id, Hold.status == HoldStatus.OPEN.value)
    if status is HoldStatus.CAPTURED:
        stmt = stmt.where(Hold.expires_at > now)
    changed = session.execute(
        stmt.values(status=status.value, resolved_at=now, resolved_by=actor, captured_amount=captured)
        .returning(Hold.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.refresh(held)
    if changed is None and held.status == HoldStatus.OPEN.value:
        # Open but past its expiry: it can no longer be captured.
        raise HoldNotOpen(hold=held.id, status=HoldStatus.EXPIRED.value)
    return changed is not None


def _free(session: Session, held: Hold) -> None:
    session.execute(
        update(Account)
        .where(Account.id == held.account_id)
        .values(held=Account.held - held.amount)
        .execution_options(synchronize_session=False)
    )
    session.refresh(held.account)
