"""The seal chain: sealed after commit, off the posting path, and a rewrite of sealed history is named."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from timebank import ledger
from timebank.ledger import Breach, Posting, Seal, rules
from timebank.ledger.seal import GENESIS, chain_hash, contents
from tests.ledger.tampering import breaches, deletion_of, tamper

ACTOR = 42


def seal_all(session, now) -> int:
    """Seal everything committed, as the periodic job does; how many were sealed."""
    count = ledger.seal_pending(session, now=now)
    session.commit()
    return count


@pytest.fixture
def sealed_credits(session, ledger_setup, credit, now):
    """Three credits to volunteer 1 (60, 30, 15 minutes), all sealed; returns them."""
    ledger_setup()
    credits = [credit(1, minutes=m, points=m // 10) for m in (60, 30, 15)]
    assert seal_all(session, now) == 3
    return credits


def test_posting_writes_no_seal_and_sealing_later_chains_every_transaction_in_id_order(session, ledger_setup, credit, now):
    """post() leaves the chain alone; seal_pending links each committed transaction to the one before it."""
    ledger_setup()
    first, second = credit(1), credit(2)
    assert session.scalar(select(func.count()).select_from(Seal)) == 0
    assert ledger.seal_status(session).unsealed == 2

    assert seal_all(session, now) == 2

    seals = list(session.scalars(select(Seal).order_by(Seal.seq)))
    assert [(s.seq, s.transaction_id) for s in seals] == [(1, first.id), (2, second.id)]
    assert seals[0].previous_hash == GENESIS and seals[1].previous_hash == seals[0].hash
    found = contents(session, [first.id])[first.id]
    assert seals[0].hash == chain_hash(GENESIS, found)
    status = ledger.seal_status(session)
    assert (status.sealed, status.unsealed, status.head_seq, status.head_hash) == (2, 0, 2, seals[1].hash)
    assert seal_all(session, now) == 0
    assert list(ledger.verify(session)) == []


def test_sealing_goes_in_batches_and_the_chain_carries_on_across_them(session, ledger_setup, credit, now):
    """A limit keeps each sealing transaction short; the next batch links to the last seal."""
    ledger_setup()
    for _ in range(5):
        credit(1, minutes=15, points=1)

    assert ledger.seal_pending(session, now=now, limit=2) == 2
    assert ledger.seal_pending(session, now=now, limit=2) == 2
    assert ledger.seal_pending(session, now=now, limit=2) == 1
    session.commit()

    assert ledger.seal_status(session).sealed == 5
    assert list(ledger.verify(session)) == []


def test_a_consistent_rewrite_of_a_sealed_transaction_is_named(session, sealed_credits):
    """Both legs, the stored balance and every later running balance rewritten: only the seal gives it away."""
    first = sealed_credits[0]
    vol = ledger.get_account(session, rules.volunteer_code(1, ledger.Commodity.HOUR)).id
    issuance = ledger.get_account(session, rules.ISSUANCE[ledger.Commodity.HOUR]).id
    tamper(
        session,
        ("UPDATE postings SET amount = 600 WHERE transaction_id = :t AND account_id = :a", {"t": first.id, "a": vol}),
        ("UPDATE postings SET amount = -600 WHERE transaction_id = :t AND account_id = :a", {"t": first.id, "a": issuance}),
        ("UPDATE postings SET balance_after = balance_after + 540 WHERE account_id = :a", {"a": vol}),
        ("UPDATE accounts SET balance = balance + 540 WHERE id = :a", {"a": vol}),
    )

    assert breaches(session) == [
        Breach("seal", f"sealed transaction {first.id} (seal 1) no longer matches its seal"),
        Breach("seal", f"sealed transaction {sealed_credits[1].id} (seal 2) no longer matches its seal"),
        Breach("seal", f"sealed transaction {sealed_credits[2].id} (seal 3) no longer matches its seal"),
    ]


def test_a_deleted_sealed_transaction_is_named(session, sealed_credits):
    """The whole last credit gone (postings, row, balances made to agree): its seal still names it."""
    last = sealed_credits[-1]
    tamper(session, *deletion_of(last.id))

    assert breaches(session) == [Breach("seal", f"sealed transaction {last.id} (seal 3) is missing")]


def test_a_deleted_seal_breaks_the_chain(session, sealed_credits):
    """Taking a seal out (with its trigger off) leaves a gap and a seal that no longer follows."""
    tamper(session, ("DELETE FROM ledger_seals WHERE seq = 2", {}))

    assert breaches(session) == [
        Breach("seal", "seals 2 to 2 are missing"),
        Breach("seal", "seal 3 does not follow the seal before it"),
    ]


def test_seals_are_append_only(session, sealed_credits):
    """The seal table refuses UPDATE and DELETE like the ledger's own tables."""
    for statement in ("UPDATE ledger_seals SET hash = 'x'", "DELETE FROM ledger_seals"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()


@pytest.mark.postgres
def test_a_lower_id_that_commits_after_a_higher_one_is_sealed_by_the_next_run(postgres_db, now):
    """Ids are handed out at insert: the chain follows sealing order, so the late one is never skipped."""
    with postgres_db.session() as session:
        rules.open_system_accounts(session, now=now)
        rules.open_volunteer_accounts(session, 1, categories=("elderly",), now=now)
        rules.open_volunteer_accounts(session, 2, categories=("elderly",), now=now)
        session.commit()

    def credit(session, volunteer):
        legs = rules.service_credit_legs(volunteer, minutes=60, category="elderly", points=6)
        return ledger.post(session, legs, kind="service_credit", idempotency_key=f"late:{volunteer}", actor=ACTOR, now=now).id

    with postgres_db.session() as slow, postgres_db.session() as quick, postgres_db.session() as sealer:
        lower = credit(slow, 1)
        higher = credit(quick, 2)
        quick.commit()
        assert lower < higher
        assert seal_all(sealer, now) == 1
        slow.commit()
        assert seal_all(sealer, now) == 1

        order = sealer.execute(select(Seal.seq, Seal.transaction_id).order_by(Seal.seq)).all()
        assert [tuple(row) for row in order] == [(1, higher), (2, lower)]
        assert list(ledger.verify(sealer)) == []


def test_ledger_seal_command_seals_everything_and_verify_reports_the_head(session, ledger_setup, credit, run_cli):
    """`timebank ledger seal` seals what is committed; `verify` prints the count and the head hash."""
    ledger_setup()
    credit(1), credit(2)
    session.rollback()

    sealed = run_cli("ledger", "seal")
    verified = run_cli("ledger", "verify")

    assert sealed.exit_code == 0, sealed.output
    head = session.scalar(select(Seal).order_by(Seal.seq.desc()).limit(1))
    assert sealed.stdout.startswith("2 transaction(s) sealed; ")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.splitlines()[-1] == f"seals: 2 transactions sealed, 0 unsealed; head seal 2 {head.hash}"
