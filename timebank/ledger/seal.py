"""A hash chain over committed transactions, so a consistent rewrite of history shows.

The triggers stop an ordinary UPDATE or DELETE, but someone who can switch
them off could rewrite both legs of a transaction, the stored balance and
every later running balance, and every sum would still agree. Each seal
therefore holds the SHA-256 of its transaction (with its postings) and of the
seal before it; `verify` recomputes the chain, and the head hash, once noted
by an auditor, fixes everything sealed up to it.

Sealing is kept off the posting path: `post()` writes no seal, so no two
postings wait on one chain head. `seal_pending` runs afterwards (the periodic
job, `timebank ledger seal`) and seals, in id order, every committed
transaction that has no seal yet. The chain's order is the order of sealing
(`seq`), not of ids: a transaction with a lower id that commits after a
higher one (possible on PostgreSQL, where ids are handed out at insert) is
not skipped, because "unsealed" means "no seal row", never "an id above the
last sealed one"; it is sealed by the next run, after the higher id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from timebank.db import Database, utcnow
from timebank.ledger.models import Account, Posting, Seal, Transaction

#: The previous hash of the first seal.
GENESIS = "0" * 64
#: Transactions sealed (or checked) per round trip.
BATCH = 1000
#: Any constant: on PostgreSQL two sealers take turns on this advisory lock (posting never takes it).
SEALER_LOCK = 0x7B1EDCE7


@dataclass(frozen=True)
class SealStatus:
    """How far the chain reaches: sealed and unsealed transactions, and the head."""

    sealed: int
    unsealed: int
    head_seq: int | None
    head_hash: str | None

    def __str__(self) -> str:
        if self.head_seq is None:
            return f"0 transactions sealed, {self.unsealed} unsealed"
        return (
            f"{self.sealed} transactions sealed, {self.unsealed} unsealed; "
            f"head seal {self.head_seq} {self.head_hash}"
        )


@dataclass(frozen=True)
class ChainBreak:
    """A seal that no longer matches what it sealed, or a chain that does not hold together."""

    seq: int
    transaction_id: int | None
    detail: str


def chain_hash(previous_hash: str, content: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the transaction's canonical JSON."""
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{previous_hash}\n{body}".encode()).hexdigest()


def _moment(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat() if value is not None else None


def contents(session: Session, transaction_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """What a seal covers, per transaction: every column and every posting, with its account's code."""
    if not transaction_ids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    for row in session.execute(select(Transaction.__table__).where(Transaction.id.in_(transaction_ids))).mappings():
        found[row["id"]] = {
            "id": row["id"],
            "kind": row["kind"],
            "idempotency_key": row["idempotency_key"],
            "fingerprint": row["fingerprint"],
            "memo": row["memo"],
            "ref": [row["ref_type"], row["ref_id"]],
            "actor": row["actor_id"],
            "event_at": _moment(row["event_at"]),
            "created_at": _moment(row["created_at"]),
            "reverses": row["reverses_id"],
            "postings": [],
        }
    postings = (
        select(Posting.transaction_id, Posting.id, Account.code, Posting.commodity, Posting.amount, Posting.balance_after)
        .join(Account, Account.id == Posting.account_id, isouter=True)
        .where(Posting.transaction_id.in_(transaction_ids))
        .order_by(Posting.transaction_id, Posting.id)
    )
    for posting in session.execute(postings):
        if posting.transaction_id in found:
            found[posting.transaction_id]["postings"].append(
                [posting.id, posting.code, posting.commodity, posting.amount, posting.balance_after]
            )
    return found


def chain_head(session: Session) -> Seal | None:
    """The newest seal (its hash is what an auditor notes), or None before the first."""
    return session.scalar(select(Seal).order_by(Seal.seq.desc()).limit(1))


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(select(Seal.seq, Seal.hash).order_by(Seal.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def _unsealed(session: Session, *, limit: int | None = None):
    sealed = select(Seal.transaction_id).where(Seal.transaction_id == Transaction.id)
    return select(Transaction.id).where(~sealed.exists()).order_by(Transaction.id).limit(limit)


def seal_pending(session: Session, *, now: dt.datetime, limit: int = BATCH) -> int:
    """Seal up to `limit` committed, unsealed transactions in id order; how many were sealed.

    The caller commits, and calls again while it returns `limit` (the job and
    `timebank ledger seal` do), so each write stays short.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEALER_LOCK})
    ids = list(session.scalars(_unsealed(session, limit=limit)))
    if not ids:
        return 0
    seq, previous = _head(session)
    found = contents(session, ids)
    rows = []
    for transaction_id in ids:
        seq += 1
        digest = chain_hash(previous, found[transaction_id])
        rows.append(dict(seq=seq, transaction_id=transaction_id, previous_hash=previous, hash=digest, sealed_at=now))
        previous = digest
    session.execute(insert(Seal), rows)
    return len(rows)


def seal_committed(database: Database, *, now: Callable[[], dt.datetime] = utcnow) -> int:
    """Seal everything committed so far, a batch per database transaction of its own; how many were sealed.

    What `timebank ledger seal` and the periodic job run; unlike the
    services, it commits, since each batch must be short.
    """
    sealed = 0
    while True:
        with database.session() as session:
            count = seal_pending(session, now=now())
            session.commit()
        sealed += count
        if count < BATCH:
            return sealed


def seal_status(session: Session) -> SealStatus:
    """The number of sealed and unsealed transactions and the head of the chain."""
    seq, digest = _head(session)
    sealed = session.scalar(select(func.count()).select_from(Seal)) or 0
    unsealed = session.scalar(select(func.count()).select_from(_unsealed(session).order_by(None).subquery())) or 0
    return SealStatus(sealed=sealed, unsealed=unsealed, head_seq=seq or None, head_hash=digest if seq else None)


def check_chain(session: Session, *, batch: int = BATCH) -> Iterator[ChainBreak]:
    """Recompute every seal in order; yield each one that no longer matches, or that breaks the chain."""
    previous_seq, previous_hash = 0, GENESIS
    while True:
        seals = session.execute(
            select(Seal.seq, Seal.transaction_id, Seal.previous_hash, Seal.hash)
            .where(Seal.seq > previous_seq)
            .order_by(Seal.seq)
            .limit(batch)
        ).all()
        if not seals:
            return
        found = contents(session, [seal.transaction_id for seal in seals])
        for seal in seals:
            if seal.seq != previous_seq + 1:
                yield ChainBreak(seal.seq, None, f"seals {previous_seq + 1} to {seal.seq - 1} are missing")
            if seal.previous_hash != previous_hash:
                yield ChainBreak(seal.seq, seal.transaction_id, f"seal {seal.seq} does not follow the seal before it")
            content = found.get(seal.transaction_id)
            if content is None:
                yield ChainBreak(seal.seq, seal.transaction_id, f"sealed transaction {seal.transaction_id} (seal {seal.seq}) is missing")
            elif chain_hash(seal.previous_hash, content) != seal.hash:
                yield ChainBreak(
                    seal.seq, seal.transaction_id,
                    f"sealed transaction {seal.transaction_id} (seal {seal.seq}) no longer matches its seal",
                )
            previous_seq, previous_hash = seal.seq, seal.hash
