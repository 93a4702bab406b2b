"""Posting, reversing and reading: the rules of DESIGN.md "The ledger", on both databases."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from timebank import ledger
from timebank.ledger import Commodity, Leg, Posting, Transaction
from timebank.ledger.rules import (
    donation_legs,
    family_transfer_legs,
    pool_code,
    redemption_legs,
    service_credit_legs,
    volunteer_code,
)
from tests.conftest import ACTOR, NOW

HOUR1, PTS1, CERT1 = "vol:1:HOUR", "vol:1:PTS", "vol:1:CERT:elderly"
ROOT = Path(__file__).resolve().parents[2]


def counts(session) -> tuple[int, int]:
    """How many transactions and postings are stored."""
    return (
        session.scalar(select(func.count()).select_from(Transaction)),
        session.scalar(select(func.count()).select_from(Posting)),
    )


def spend(session, amount=10, key="spend", volunteer=1):
    """A redemption of `amount` points at station 7."""
    return ledger.post(
        session,
        redemption_legs(volunteer, 7, amount),
        kind="redemption",
        idempotency_key=key,
        actor=ACTOR,
        now=NOW,
    )


def test_approved_attendance_posts_hours_certified_hours_and_points_in_one_transaction(
    session, ledger_setup
):
    ledger_setup()
    txn = ledger.post(
        session,
        service_credit_legs(1, minutes=90, category="elderly", points=15),
        kind="service_credit",
        idempotency_key="attendance:1",
        actor=ACTOR,
        memo="社区助老",
        ref=("attendance", 1),
        now=NOW,
    )
    session.commit()
    assert len(txn.postings) == 6
    assert (txn.actor_id, txn.ref_type, txn.ref_id, txn.memo) == (ACTOR, "attendance", 1, "社区助老")
    assert ledger.balance(session, HOUR1).posted == 90
    assert ledger.balance(session, CERT1).posted == 90
    assert ledger.balance(session, PTS1).posted == 15
    assert ledger.balance(session, "sys:issuance:HOUR").posted == -90
    assert counts(session) == (1, 6)


def test_each_posting_records_the_balance_after_it(session, ledger_setup, credit):
    ledger_setup()
    credit(1, minutes=60, points=30)
    spend(session, 10, "a")
    spend(session, 5, "b")
    session.commit()
    page = ledger.statement(session, PTS1)
    assert [(line.amount, line.balance_after) for line in page.lines] == [(-5, 15), (-10, 20), (30, 30)]


def test_event_time_and_recording_time_are_both_kept(session, ledger_setup):
    ledger_setup()
    served = NOW - dt.timedelta(days=3)
    txn = ledger.post(
        session,
        service_credit_legs(1, minutes=60, category="elderly", points=0),
        kind="service_credit",
        idempotency_key="offline",
        actor=ACTOR,
        event_at=served,
        now=NOW,
    )
    session.commit()
    session.expire_all()
    stored = session.get(Transaction, txn.id)
    assert (stored.event_at, stored.created_at) == (served, NOW)


@pytest.mark.parametrize(
    ("legs", "error"),
    [
        ([Leg(PTS1, -10), Leg("station:7:PTS", 9)], ledger.UnbalancedTransaction),
        ([Leg(PTS1, 10)], ledger.UnbalancedTransaction),
        ([], ledger.UnbalancedTransaction),
        ([Leg(PTS1, 0), Leg("station:7:PTS", 0)], ledger.InvalidAmount),
        ([Leg(PTS1, -1.5), Leg("station:7:PTS", 1.5)], ledger.InvalidAmount),
        ([Leg(PTS1, -True), Leg("station:7:PTS", True)], ledger.InvalidAmount),
        ([Leg("vol:99:PTS", -1), Leg("station:7:PTS", 1)], ledger.UnknownAccount),
        ([Leg(HOUR1, -10), Leg("station:7:PTS", 10)], ledger.UnbalancedTransaction),
        ([Leg(PTS1, -100), Leg("station:7:PTS", 100)], ledger.InsufficientBalance),
    ],
    ids=["unbalanced", "one-leg", "no-legs", "zero", "float", "bool", "unknown-account", "mixed-commodity", "overdraft"],
)
def test_bad_postings_raise_a_typed_error_and_leave_nothing_written(session, ledger_setup, credit, legs, error):
    ledger_setup()
    credit(1, minutes=60, points=10)
    before = counts(session), ledger.balance(session, PTS1)
    with pytest.raises(error):
        ledger.post(session, legs, kind="redemption", idempotency_key="bad", actor=ACTOR, now=NOW)
    session.rollback()
    assert (counts(session), ledger.balance(session, PTS1)) == before


def test_a_transaction_without_an_actor_is_refused(session, ledger_setup, credit):
    ledger_setup()
    credit(1)
    with pytest.raises(ledger.MissingActor):
        ledger.post(session, redemption_legs(1, 7, 1), kind="redemption", idempotency_key="k", actor=None, now=NOW)


def test_mixed_commodity_error_names_each_commodity_that_is_off(session, ledger_setup, credit):
    ledger_setup()
    credit(1)
    with pytest.raises(ledger.UnbalancedTransaction, match=r"HOUR -10, PTS \+10"):
        ledger.post(
            session, [Leg(HOUR1, -10), Leg("station:7:PTS", 10)], kind="x", idempotency_key="k", actor=ACTOR, now=NOW
        )


def test_overdraft_message_says_what_is_available_and_required(session, ledger_setup, credit):
    ledger_setup()
    credit(1, points=10)
    with pytest.raises(ledger.InsufficientBalance) as refused:
        spend(session, 25)
    assert refused.value.params == {"account": PTS1, "available": 10, "required": 25}


def test_a_retry_with_the_same_key_returns_the_first_transaction_and_posts_nothing_more(session, ledger_setup, credit):
    ledger_setup()
    credit(1, points=30)
    first = spend(session, 10, "counter-basket-1")
    session.commit()
    again = spend(session, 10, "counter-basket-1")
    session.commit()
    assert again.id == first.id
    assert ledger.balance(session, PTS1).posted == 20


def test_the_same_key_with_different_content_is_an_idempotency_conflict(session, ledger_setup, credit):
    ledger_setup()
    credit(1, points=30)
    spend(session, 10, "counter-basket-1")
    session.commit()
    with pytest.raises(ledger.IdempotencyConflict):
        spend(session, 11, "counter-basket-1")


def test_a_closed_account_refuses_postings(session, ledger_setup, credit):
    ledger_setup(volunteers=(1, 2))
    ledger.close_account(session, "vol:2:HOUR", now=NOW)
    session.commit()
    credit(1)
    with pytest.raises(ledger.AccountClosed):
        ledger.post(session, family_transfer_legs(1, 2, 30), kind="transfer", idempotency_key="t", actor=ACTOR, now=NOW)


def test_an_account_with_a_balance_cannot_be_closed(session, ledger_setup, credit):
    ledger_setup()
    credit(1)
    with pytest.raises(ledger.LedgerError, match="cannot be closed"):
        ledger.close_account(session, HOUR1, now=NOW)


def test_the_storage_cap_refuses_credits_beyond_it(session, ledger_setup, credit):
    ledger_setup(cap=120)
    credit(1, minutes=90)
    with pytest.raises(ledger.BalanceCapExceeded):
        credit(1, minutes=60)
    session.rollback()
    assert ledger.balance(session, HOUR1).posted == 90


def test_family_transfer_and_donation_move_hours_between_people_and_the_pool(session, ledger_setup, credit, now):
    ledger_setup(volunteers=(1, 2))
    ledger.open_account(session, pool_code(3), commodity=Commodity.HOUR, owner_type="org", owner_id=3, now=now)
    credit(1, minutes=120)
    ledger.post(session, family_transfer_legs(1, 2, 60), kind="transfer", idempotency_key="f", actor=ACTOR, now=now)
    ledger.post(session, donation_legs(1, 3, 30), kind="donation", idempotency_key="d", actor=ACTOR, now=now)
    session.commit()
    assert [ledger.balance(session, c).posted for c in (HOUR1, "vol:2:HOUR", pool_code(3))] == [30, 60, 30]
    assert ledger.balance(session, CERT1).posted == 120  # certified hours never move


def test_reversal_undoes_the_original_exactly_once(session, ledger_setup, credit):
    ledger_setup()
    original = credit(1, minutes=60, points=10)
    reversal = ledger.reverse(session, original, actor=ACTOR, now=NOW, memo="签退时间有误")
    session.commit()
    assert reversal.reverses_id == original.id
    assert sorted((p.account.code, p.amount) for p in reversal.postings) == sorted(
        (p.account.code, -p.amount) for p in original.postings
    )
    assert [ledger.balance(session, c).posted for c in (HOUR1, CERT1, PTS1)] == [0, 0, 0]
    assert ledger.reverse(session, original, actor=ACTOR, now=NOW).id == reversal.id  # a retry
    with pytest.raises(ledger.AlreadyReversed):
        ledger.reverse(session, original, actor=ACTOR, now=NOW, idempotency_key="another-reviewer")


def test_a_reversal_cannot_itself_be_reversed(session, ledger_setup, credit):
    ledger_setup()
    reversal = ledger.reverse(session, credit(1), actor=ACTOR, now=NOW)
    with pytest.raises(ledger.LedgerError, match="itself a reversal"):
        ledger.reverse(session, reversal, actor=ACTOR, now=NOW)


def test_reversing_credit_that_was_already_spent_is_refused_with_a_clear_message(session, ledger_setup, credit):
    ledger_setup()
    original = credit(1, minutes=60, points=10)
    spend(session, 8)
    session.commit()
    with pytest.raises(ledger.InsufficientBalance, match="already spent; a coordinator must decide"):
        ledger.reverse(session, original, actor=ACTOR, now=NOW)
    session.rollback()
    assert ledger.balance(session, PTS1).posted == 2


def test_statement_pages_run_newest_first_without_gaps_or_repeats(session, ledger_setup, credit):
    ledger_setup()
    for _ in range(7):
        credit(1, minutes=15, points=1)
    seen, before = [], None
    while True:
        page = ledger.statement(session, PTS1, limit=3, before=before)
        seen += [line.posting_id for line in page.lines]
        if page.next_before is None:
            break
        before = page.next_before
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)


def test_issuance_accounts_keep_no_running_balance_row(session, ledger_setup, credit):
    ledger_setup(volunteers=(1, 2))
    credit(1, minutes=60)
    credit(2, minutes=30)
    row = session.execute(text("SELECT balance, held FROM accounts WHERE code = 'sys:issuance:HOUR'")).one()
    assert tuple(row) == (0, 0)
    assert ledger.balance(session, "sys:issuance:HOUR").posted == -90


def test_get_or_create_returns_the_existing_account(session, now):
    first = ledger.open_account(session, volunteer_code(5, Commodity.PTS), commodity="PTS", owner_type="volunteer", owner_id=5, now=now)
    again = ledger.open_account(session, volunteer_code(5, Commodity.PTS), commodity="PTS", owner_type="volunteer", owner_id=5, now=now)
    assert first.id == again.id
    with pytest.raises(ledger.LedgerError, match="exists in PTS"):
        ledger.open_account(session, volunteer_code(5, Commodity.PTS), commodity="HOUR", owner_type="volunteer", now=now)


# -- the database itself holds the line, whatever the code does ---------------


def test_the_database_refuses_to_update_or_delete_postings_and_transactions(session, ledger_setup, credit):
    ledger_setup()
    credit(1)
    for statement in (
        "UPDATE postings SET amount = amount + 1",
        "DELETE FROM postings",
        "UPDATE transactions SET memo = 'edited'",
        "DELETE FROM transactions",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()


def test_the_database_refuses_a_person_below_zero(session, ledger_setup, credit):
    ledger_setup()
    credit(1, points=10)
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE accounts SET balance = -1 WHERE code = :c"), {"c": PTS1})
        session.flush()
    session.rollback()


def test_the_database_refuses_a_person_account_that_may_go_negative(session, now):
    with pytest.raises(IntegrityError):
        ledger.open_account(session, "vol:9:PTS", commodity="PTS", owner_type="volunteer", allow_negative=True, now=now)


def test_the_database_refuses_a_posting_in_another_commodity_than_its_account(session, ledger_setup, credit):
    ledger_setup()
    txn = credit(1)
    account_id = session.scalar(select(ledger.Account.id).where(ledger.Account.code == PTS1))
    with pytest.raises(IntegrityError):
        session.execute(
            text(
                "INSERT INTO postings (transaction_id, account_id, commodity, amount) "
                "VALUES (:t, :a, 'HOUR', 5)"
            ),
            {"t": txn.id, "a": account_id},
        )
    session.rollback()


@pytest.mark.postgres
def test_postgres_refuses_an_unbalanced_transaction_at_commit(postgres_db, now):
    with postgres_db.session() as session:
        ledger.open_account(session, "station:1:PTS", commodity="PTS", owner_type="station", now=now)
        ledger.open_account(session, "station:2:PTS", commodity="PTS", owner_type="station", now=now)
        session.commit()
        session.execute(
            text(
                "INSERT INTO transactions (id, kind, idempotency_key, fingerprint, actor_id, event_at, created_at) "
                "VALUES (1000, 'adjustment', 'sneaky', '', 1, now(), now())"
            )
        )
        session.execute(
            text(
                "INSERT INTO postings (transaction_id, account_id, commodity, amount) "
                "SELECT 1000, id, 'PTS', 5 FROM accounts WHERE code IN ('station:1:PTS', 'station:2:PTS')"
            )
        )
        with pytest.raises(IntegrityError, match="does not balance"):
            session.commit()


def test_balances_equal_the_sum_of_postings_after_mixed_activity(session, ledger_setup, credit):
    ledger_setup(volunteers=(1, 2))
    credit(1, minutes=120, points=40)
    credit(2, minutes=60, points=10)
    spend(session, 15, "s1")
    ledger.post(session, family_transfer_legs(1, 2, 45), kind="transfer", idempotency_key="t1", actor=ACTOR, now=NOW)
    session.commit()
    sums = dict(
        session.execute(
            select(ledger.Account.code, func.sum(Posting.amount))
            .join(Posting, Posting.account_id == ledger.Account.id)
            .group_by(ledger.Account.code)
        ).all()
    )
    for code, total in sums.items():
        assert ledger.balance(session, code).posted == total
    assert list(ledger.verify(session)) == []


def test_only_the_guarded_update_moves_balances(session, ledger_setup, credit):
    """Balances change only through post(); a plain ORM update cannot bypass the CHECK."""
    ledger_setup()
    credit(1, points=5)
    with pytest.raises(IntegrityError):
        session.execute(update(ledger.Account).where(ledger.Account.code == PTS1).values(held=6))
        session.flush()



@pytest.mark.parametrize(
    "build",
    [
        lambda amount: family_transfer_legs(1, 2, amount),
        lambda amount: donation_legs(1, 3, amount),
        lambda amount: redemption_legs(1, 7, amount),
        lambda amount: service_credit_legs(1, minutes=amount, category="elderly", points=10),
        lambda amount: ledger.rules.training_credit_legs(1, minutes=amount),
    ],
    ids=["family_transfer", "donation", "redemption", "credit", "training"],
)
@pytest.mark.parametrize("amount", [-30, 0])
def test_rules_refuse_amounts_that_would_turn_their_direction_around(build, amount):
    """A negative gift would take hours from the receiver; each rule refuses it rather than reversing quietly."""
    with pytest.raises(ledger.InvalidAmount):
        build(amount)


def test_a_credit_refuses_negative_points_and_posts_no_points_legs_for_none():
    with pytest.raises(ledger.InvalidAmount):
        service_credit_legs(1, minutes=60, category="elderly", points=-6)
    assert {leg.code for leg in service_credit_legs(1, minutes=60, category="elderly", points=0)} == {
        "sys:issuance:HOUR", HOUR1, "sys:issuance:CERT", CERT1,
    }



FIRST_USE = """
import datetime as dt
import sys
from timebank import ledger
from timebank.db import Database
from timebank.ledger.rules import service_credit_legs

NOW = dt.datetime.fromisoformat(sys.argv[2])

database = Database(sys.argv[1])
with database.session() as session:
    txn = ledger.post(session, service_credit_legs(1, minutes=60, category="elderly", points=10),
                      kind="service_credit", idempotency_key="first-use", actor=int(sys.argv[3]), now=NOW)
    session.commit()
    print(txn.id)
"""


def test_a_fresh_process_can_post_before_it_has_run_any_query(db, ledger_setup, session):
    # A worker's first request may be a posting: its transaction object is then made before any query has
    # configured the ORM's mappers.
    ledger_setup()
    url = db.engine.url.render_as_string(hide_password=False)
    done = subprocess.run([sys.executable, "-c", FIRST_USE, url, NOW.isoformat(), str(ACTOR)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    session.expire_all()
    assert session.scalar(select(Transaction.id).where(Transaction.idempotency_key == "first-use")) == int(done.stdout)
    assert ledger.balance(session, HOUR1).posted == 60


def test_a_posting_after_a_rolled_back_savepoint_returns_its_own_transaction(session, ledger_setup):
    # On SQLite the rolled-back transaction's id is given again to the next one; the session still holds the
    # object of the first, which must not be handed back for the second.
    ledger_setup()
    with pytest.raises(RuntimeError):
        with session.begin_nested():
            first = ledger.post(session, service_credit_legs(1, minutes=30, category="elderly", points=5),
                                kind="service_credit", idempotency_key="rolled-back", actor=ACTOR, memo="撤回", now=NOW)
            raise RuntimeError("the step after the posting failed")
    second = ledger.post(session, service_credit_legs(2, minutes=60, category="elderly", points=10),
                         kind="service_credit", idempotency_key="kept", actor=ACTOR, memo="保留", now=NOW)
    session.commit()
    assert (second.idempotency_key, second.memo) == ("kept", "保留")
    stored = session.execute(select(Transaction.id, Transaction.idempotency_key)).all()
    assert [(row.id, row.idempotency_key) for row in stored] == [(second.id, "kept")]
    assert first.id <= second.id
