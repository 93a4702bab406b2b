"""The workbench's kept tallies (workbench/tallies.py) equal the figures counted afresh from the rows, whatever happened.

Every writer goes through the services (registration, approval, rejection, the
ledger's credits and gifts, holds and their expiry, the counter's redemptions
and voids); the triggers write the moves, the fold folds them, and the figures
read both.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, inspect, select, text

from timebank.ledger import expire_holds, hold, post, rules
from timebank.ledger.models import Account, Commodity
from timebank.migrate import downgrade, upgrade
from timebank.orgs.models import Organisation
from timebank.people.models import Person
from timebank.people.services import approve, reject, register
from timebank.redeem import counter
from timebank.workbench import programme as figures, tallies
from tests.conftest import ACTOR, NOW, SECRET, SYSTEM
from tests.redeem import conftest as counter_fixtures
from tests.redeem.conftest import basket, visit_ticket
from tests.workbench.test_rollup_demo import people_from_rows, redemptions_from_rows

_keys = itertools.count(1)
#: The counter's fixtures: a station in `east` with its clerk and catalogue, and points for a volunteer.
shop, fund = counter_fixtures.shop, counter_fixtures.fund
OPERATIONS = ("register", "approve", "reject", "credit", "redeem", "void", "gift", "hold_and_expire", "fold")


def points_from_balances(session) -> int:
    """Every volunteer's PTS balance, summed account by account."""
    return int(session.scalar(select(func.coalesce(func.sum(Account.balance), 0)).where(
        Account.owner_type == "volunteer", Account.commodity == "PTS")) or 0)


def scopes(session):
    """The whole programme over the default year, and over a range that starts and ends within months."""
    return [figures.programme_scope(session, actor=SYSTEM, now=NOW),
            figures.programme_scope(session, actor=SYSTEM, now=NOW, start=dt.date(2026, 9, 12), end=dt.date(2026, 11, 19))]


def assert_tallies_count_what_the_rows_say(session) -> None:
    for scope in scopes(session):
        assert figures.volunteer_counts(session, scope) == people_from_rows(session, scope)
        assert figures.redemptions_by_month(session, scope) == redemptions_from_rows(session, scope)
        assert figures.points_outstanding(session, scope) == points_from_balances(session)
    assert list(tallies.check_tallies(session)) == []


class Programme:
    """What the random operations act on: people pending and active, and the redemptions that stand."""

    def __init__(self, session, shop, make_person):
        self.session, self.shop = session, shop
        self.pending: list[int] = []
        self.active: list[Person] = [make_person(name="志愿者甲"), make_person(org="west", name="志愿者乙")]
        self.redemptions: list = []
        for number in range(len(self.active)):
            self.apply("credit", 90 + number)  # points enough for a few haircuts

    def apply(self, operation: str, number: int) -> None:
        session, when = self.session, NOW - dt.timedelta(days=number % 120)
        if operation == "register":
            org = self.shop.station.organisation_id if number % 2 else self.active[1].home_organisation_id
            person = register(session, {"phone": f"139{next(_keys):08d}", "password": "密码-足够长-123", "real_name": "新志愿者",
                                         "home_organisation_id": org, "privacy_consent": True}, actor=None, vault=None, now=when)
            self.pending.append(person.id)
        elif operation in ("approve", "reject") and self.pending:
            person_id = self.pending.pop(number % len(self.pending))
            if operation == "approve":
                self.active.append(approve(session, person_id, actor=SYSTEM, now=when))
            else:
                reject(session, person_id, actor=SYSTEM, reason="信息不全", now=when)
        elif operation == "credit":
            volunteer = self.active[number % len(self.active)]
            rules.open_volunteer_accounts(session, volunteer.id, categories=("elderly",), now=NOW)
            post(session, rules.service_credit_legs(volunteer.id, minutes=60, category="elderly", points=10 + number % 50),
                 kind="service_credit", idempotency_key=f"tally-credit:{next(_keys)}", actor=ACTOR, now=NOW)
        elif operation == "redeem":
            volunteer = self.active[number % len(self.active)]
            if points_of(session, volunteer.id) >= self.shop.haircut.price:
                at = NOW - dt.timedelta(days=number % 90)
                redemption, _ = counter.redeem(session, self.shop.counter(session),
                                               basket(visit_ticket(session, self.shop, volunteer, at=at), (self.shop.haircut, 1)), SECRET, now=at)
                self.redemptions.append(redemption)
        elif operation == "void" and self.redemptions:
            redemption = self.redemptions.pop(number % len(self.redemptions))
            counter.void_redemption(session, redemption, self.shop.counter(session), {"reason": "扫错了"},
                                    now=redemption.created_at + dt.timedelta(minutes=5))
        elif operation == "gift" and len(self.active) > 1:
            giver, receiver = self.active[number % len(self.active)], self.active[(number + 1) % len(self.active)]
            if giver.id != receiver.id and minutes_of(session, giver.id) >= 30:
                rules.open_volunteer_accounts(session, receiver.id, now=NOW)
                post(session, rules.family_transfer_legs(giver.id, receiver.id, 30), kind="transfer",
                     idempotency_key=f"tally-gift:{next(_keys)}", actor=ACTOR, now=NOW)
        elif operation == "hold_and_expire":
            volunteer = self.active[number % len(self.active)]
            if points_of(session, volunteer.id) > 0:
                hold(session, rules.volunteer_code(volunteer.id, Commodity.PTS), 1, actor=ACTOR, now=NOW,
                     expires_at=NOW + dt.timedelta(minutes=1), idempotency_key=f"tally-hold:{next(_keys)}")
                expire_holds(session, actor=ACTOR, now=NOW + dt.timedelta(minutes=2))
        elif operation == "fold":
            tallies.fold(session)
        session.commit()


def points_of(session, volunteer_id: int) -> int:
    return int(session.scalar(select(Account.balance - Account.held).where(Account.code == rules.volunteer_code(volunteer_id, Commodity.PTS))) or 0)


def minutes_of(session, volunteer_id: int) -> int:
    return int(session.scalar(select(Account.balance - Account.held).where(Account.code == rules.volunteer_code(volunteer_id, Commodity.HOUR))) or 0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 1000)), min_size=1, max_size=12))
def test_the_tallies_equal_the_rows_after_any_mix_of_writes_before_and_after_a_fold(session, shop, make_person, steps):
    world = Programme(session, shop, make_person)
    for operation, number in steps:
        world.apply(operation, number)
    assert_tallies_count_what_the_rows_say(session)
    tallies.fold(session)
    session.commit()
    assert session.scalar(select(func.count()).select_from(text("tally_moves"))) == 0
    assert_tallies_count_what_the_rows_say(session)


def kept(session) -> list[tuple]:
    return session.execute(text("SELECT measure, organisation_id, month, amount FROM tallies ORDER BY 1, 2, 3")).all()


def test_folding_twice_changes_nothing_and_a_rebuild_gives_the_same_tallies(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.haircut, 1)), SECRET, now=NOW)
    session.commit()
    assert session.scalar(select(func.count()).select_from(text("tally_moves"))) > 0
    tallies.fold(session)
    session.commit()
    folded = kept(session)
    assert tallies.fold(session) == 0
    session.commit()
    assert kept(session) == folded
    tallies.rebuild(session)
    session.commit()
    assert [row for row in kept(session) if row[3]] == [row for row in folded if row[3]]
    assert_tallies_count_what_the_rows_say(session)


def test_ledger_verify_reports_a_points_tally_that_disagrees_with_the_balances(session, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=40)
    session.execute(text("INSERT INTO tally_moves (measure, organisation_id, month, amount) VALUES ('points', :org, '', 5)"),
                    {"org": volunteer.home_organisation_id})
    breaches = list(tallies.check_tallies(session))
    assert [b.check for b in breaches] == ["workbench_tally"] and "off by -5" in breaches[0].detail


def test_a_fold_loses_nothing_that_commits_while_it_runs(db, make_person, session):
    """A writer credits points on its own connection while folds run on another: every posting is counted once.

    On PostgreSQL the fold's one statement folds the moves its snapshot sees and leaves those committed meanwhile;
    on SQLite the fold's write transaction and the writer's take turns."""
    volunteers = [make_person(name=f"志愿者{i}") for i in range(3)]
    rules.open_system_accounts(session, now=NOW)
    for volunteer in volunteers:
        rules.open_volunteer_accounts(session, volunteer.id, categories=("elderly",), now=NOW)
    session.commit()
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(60):
                with db.session() as writer:
                    post(writer, rules.service_credit_legs(volunteers[i % 3].id, minutes=1, category="elderly", points=1 + i % 7),
                         kind="service_credit", idempotency_key=f"race:{i}", actor=ACTOR, now=NOW)
                    writer.commit()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    folds = 0
    while not done.is_set() or folds < 3:
        with db.session() as folder:
            tallies.fold(folder)
            folder.commit()
        folds += 1
    writer.join()
    assert errors == []
    assert folds >= 3
    assert list(tallies.check_tallies(session)) == []
    assert figures.points_outstanding(session, scopes(session)[0]) == points_from_balances(session) == sum(1 + i % 7 for i in range(60))


def test_a_volunteer_moving_home_takes_their_count_and_points_along(session, org_tree, make_person, fund):
    volunteer = make_person(org="east")
    fund(volunteer, points=40)
    volunteer.home_organisation_id = org_tree["west"].id  # the app never does it; the triggers follow it anyway
    session.commit()
    assert list(tallies.check_tallies(session)) == []
    assert tallies.points_outstanding(session, [org_tree["west"].id]) == 40
    assert tallies.points_outstanding(session, [org_tree["east"].id]) == 0


def test_the_migration_backfills_the_tallies_from_the_rows_and_drops_them_going_down(db, session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.haircut, 1)), SECRET, now=NOW)
    session.commit()
    before = tallies.sums(session, select(Organisation.id), (tallies.POINTS, tallies.VOLUNTEERS, tallies.REDEMPTIONS), ("", "2026-11"))
    session.close()
    downgrade(db.engine, "e3a7c5b9d1f4")
    with db.engine.connect() as conn:
        assert not {"tallies", "tally_moves"} & set(inspect(conn).get_table_names())
    upgrade(db.engine)
    with db.session() as fresh:
        assert fresh.scalar(select(func.count()).select_from(text("tally_moves"))) == 0
        assert tallies.sums(fresh, select(Organisation.id), (tallies.POINTS, tallies.VOLUNTEERS, tallies.REDEMPTIONS), ("", "2026-11")) == before
        assert list(tallies.check_tallies(fresh)) == []
