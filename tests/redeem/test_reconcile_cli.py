"""`timebank stations reconcile`: quiet when every station agrees, loud and non-zero when one does not."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from timebank.ledger import post, rules
from timebank.redeem.models import RedemptionLine, StationStock, StockMovement
from timebank.redeem import counter
from tests.conftest import ACTOR, NOW, SECRET
from tests.redeem.conftest import basket, visit_ticket


def test_reconcile_passes_when_the_station_account_matches_its_redemptions(run_cli, session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.rice, 1)), SECRET, now=NOW)
    session.commit()
    result = run_cli("stations", "reconcile")
    assert result.exit_code == 0, result.output
    assert "reconciled to the point" in result.output


def test_points_posted_to_a_station_without_a_redemption_make_reconcile_fail_loudly(run_cli, session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    post(session, rules.redemption_legs(volunteer.id, shop.station.id, 7), kind="redemption", idempotency_key="off-the-books", actor=ACTOR, now=NOW)
    session.commit()
    result = run_cli("stations", "reconcile")
    assert result.exit_code == 1
    assert "MISMATCH" in result.output and "off by +7" in result.output
    assert run_cli("stations", "reconcile", "--day", "2026-11-20").exit_code == 1
    assert run_cli("stations", "reconcile", "--day", "2026-11-21").exit_code == 0


def test_a_stock_count_edited_behind_the_counters_back_makes_reconcile_fail(run_cli, session, shop):
    session.execute(update(StationStock).where(StationStock.item_id == shop.rice.id).values(quantity=99))
    session.commit()
    result = run_cli("stations", "reconcile")
    assert result.exit_code == 1
    assert "stock of 大米 5kg: counted 99, movements add up to 10" in result.output


def test_stock_movements_and_redemption_lines_cannot_be_edited_or_deleted(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.rice, 1)), SECRET, now=NOW)
    session.commit()
    for statement in (update(StockMovement).values(change=1), delete(StockMovement), update(RedemptionLine).values(quantity=1), delete(RedemptionLine)):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)
        session.rollback()
