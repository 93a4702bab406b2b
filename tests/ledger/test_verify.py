"""Verification finds a clean ledger clean and names every breach made behind the database's back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.db import Database
from timebank.ledger import Breach, Posting, Transaction, rules
from timebank.ledger.reports import totals
from tests.conftest import demo_copy

# What the migration installs, restored by hand on SQLite after a test drops it.
SQLITE_POSTINGS_NO_UPDATE = (
    "CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings "
    "BEGIN SELECT RAISE(ABORT, 'ledger table postings is append-only: UPDATE refused'); END"
)
PG_POSTINGS_TRIGGERS = ("postings_append_only", "postings_balanced", "postings_no_truncate")


def dialect(session: Session) -> str:
    """'sqlite' or 'postgresql'."""
    return session.get_bind().dialect.name


def disable_postings_triggers(session: Session) -> list[Breach]:
    """Switch off the guard on postings the way an intruder with DDL rights would; returns the breaches that causes."""
    if dialect(session) == "postgresql":
        session.execute(text("ALTER TABLE postings DISABLE TRIGGER USER"))
        names = PG_POSTINGS_TRIGGERS
    else:
        session.execute(text("DROP TRIGGER postings_no_update"))
        names = ("postings_no_update",)
    return [Breach("triggers", f"ledger trigger {name} is missing or disabled") for name in names]


def restore_postings_triggers(session: Session) -> None:
    """Put the guard on postings back."""
    if dialect(session) == "postgresql":
        session.execute(text("ALTER TABLE postings ENABLE TRIGGER USER"))
    else:
        session.execute(text(SQLITE_POSTINGS_NO_UPDATE))


def hour_posting(session: Session, txn: Transaction) -> int:
    """The id of the transaction's posting on volunteer 1's HOUR account."""
    account = ledger.get_account(session, rules.volunteer_code(1, ledger.Commodity.HOUR))
    return session.scalar(
        select(Posting.id).where(Posting.transaction_id == txn.id, Posting.account_id == account.id)
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """Every test here starts from a copy of the shared demo: a month of history posted by the services."""
    with demo_copy(request, request.param, tmp_path) as database:
        yield database


@pytest.fixture
def demo_ledger(session: Session, ledger_setup, credit, now: dt.datetime) -> tuple[Transaction, Transaction]:
    """The demo's history plus two credits to person 1 (60 then 30 minutes); returns the two credits."""
    ledger_setup()
    return credit(1, minutes=60, points=6), credit(1, minutes=30, points=3)


@pytest.fixture
def edited_posting(session: Session, demo_ledger) -> tuple[list[Breach], list[Breach]]:
    """The first credit's 60 minutes turned into 61 behind the triggers' back (left disabled).

    Returns the trigger breaches that causes and the data breaches it must cause.
    """
    first, second = demo_ledger
    edited, later = hour_posting(session, first), hour_posting(session, second)
    trigger_breaches = disable_postings_triggers(session)
    session.execute(text("UPDATE postings SET amount = amount + 1 WHERE id = :id"), {"id": edited})
    session.commit()
    data_breaches = [
        Breach("balance", "account vol:1:HOUR says 90 but its postings sum to 91"),
        Breach("unbalanced", f"transaction {first.id} does not balance in HOUR: off by 1"),
        Breach("balance_after", f"posting {edited} on vol:1:HOUR records balance 60, but the running total is 61"),
        Breach("balance_after", f"posting {later} on vol:1:HOUR records balance 90, but the running total is 91"),
    ]
    return trigger_breaches, data_breaches


def test_a_demo_ledger_has_no_breaches(session):
    """Everything the services post, holds and reversals included, passes every check."""
    assert session.scalar(select(ledger.Hold.id).where(ledger.Hold.status == "captured")) is not None
    assert session.scalar(select(Transaction.id).where(Transaction.reverses_id.is_not(None))) is not None

    assert list(ledger.verify(session)) == []


def test_editing_a_posting_behind_the_triggers_back_is_named_in_every_check_it_breaks(session, edited_posting):
    """The unbalanced transaction, the account's balance, each balance_after and the disabled trigger are all reported."""
    trigger_breaches, data_breaches = edited_posting

    breaches = list(ledger.verify(session))

    assert breaches == trigger_breaches + data_breaches


def test_an_edited_posting_is_still_caught_after_the_triggers_are_restored(session, edited_posting):
    """Putting the trigger back hides nothing: the data itself gives the edit away."""
    _trigger_breaches, data_breaches = edited_posting
    restore_postings_triggers(session)
    session.commit()

    breaches = list(ledger.verify(session))

    assert breaches == data_breaches


def test_disabling_the_append_only_triggers_is_itself_a_breach(session, demo_ledger):
    """Even before anything is edited, a ledger whose guard is off is not clean."""
    expected = disable_postings_triggers(session)
    session.commit()

    assert list(ledger.verify(session)) == expected


def test_a_tampered_balance_column_is_a_balance_breach(session, demo_ledger):
    """A stored balance that disagrees with its postings is named, with both figures."""
    session.execute(text("UPDATE accounts SET balance = balance + 5 WHERE code = 'vol:1:HOUR'"))
    session.commit()

    assert list(ledger.verify(session)) == [
        Breach("balance", "account vol:1:HOUR says 95 but its postings sum to 90")
    ]


def test_a_tampered_held_column_is_a_held_breach(session, demo_ledger):
    """A held amount that no open hold accounts for is named."""
    session.execute(text("UPDATE accounts SET held = held + 1 WHERE code = 'vol:1:PTS'"))
    session.commit()

    assert list(ledger.verify(session)) == [
        Breach("held", "account vol:1:PTS says 1 held but its open holds sum to 0")
    ]


def test_a_transaction_without_postings_is_a_legs_breach(session, demo_ledger, now):
    """A journal entry slipped in with no legs is named by its id."""
    expected = []
    if dialect(session) == "postgresql":  # its commit-time trigger would refuse the entry
        session.execute(text("ALTER TABLE transactions DISABLE TRIGGER USER"))
        expected += [
            Breach("triggers", f"ledger trigger {name} is missing or disabled")
            for name in ("transactions_append_only", "transactions_balanced", "transactions_no_truncate")
        ]
    forged = Transaction(
        kind="adjustment", idempotency_key="forged", fingerprint="0" * 64, actor_id=1,
        event_at=now, created_at=now,
    )
    session.add(forged)
    session.commit()

    assert list(ledger.verify(session)) == expected + [
        Breach("legs", f"transaction {forged.id} has 0 posting(s); at least two are required")
    ]


def test_ledger_verify_command_says_clean_and_exits_zero(session, demo_ledger, run_cli):
    """On a clean ledger the command prints its size and succeeds."""
    figures = totals(session)
    session.rollback()

    result = run_cli("ledger", "verify")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"ledger clean: {figures.accounts} accounts, {figures.transactions} transactions, "
        f"{figures.postings} postings\nseals: 0 transactions sealed, {figures.transactions} unsealed\n"
    )
    assert result.stderr == ""


def test_ledger_verify_command_prints_one_breach_line_each_and_exits_non_zero(session, edited_posting, run_cli):
    """After tampering the command names every breach on its own line and fails."""
    trigger_breaches, data_breaches = edited_posting
    expected = [f"BREACH {breach}" for breach in trigger_breaches + data_breaches]
    session.rollback()

    result = run_cli("ledger", "verify")

    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("BREACH ")] == expected
    assert lines[-1].startswith(f"Error: {len(expected)} breach(es) found in ")
    assert "ledger clean" not in result.output
