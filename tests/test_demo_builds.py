"""Building the demo: the same seed gives the same people, real records are never overwritten, the default size builds."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from timebank import ledger
from timebank.demo import DemoRefused, build_demo, reset_demo_database
from timebank.people.models import Person
from tests.conftest import NOW


def test_the_same_seed_builds_the_same_people(db, vault):
    """Two builds on fresh databases give the same names, phones and summary."""
    summaries, people = [], []
    for _ in range(2):
        reset_demo_database(db)
        with db.session() as session:
            summaries.append(build_demo(session, volunteers=10, days=5, seed=11, now=NOW, vault=vault))
            session.commit()
            people.append(session.execute(select(Person.id, Person.real_name, Person.phone).order_by(Person.id)).all())
    assert summaries[0] == summaries[1] and people[0] == people[1]


def test_the_demo_refuses_a_database_holding_real_people(db, org_tree, make_person):
    make_person(name="真实志愿者")

    with pytest.raises(DemoRefused):
        reset_demo_database(db)


@pytest.mark.slow
def test_the_default_demo_of_the_readme_builds_a_clean_ledger(sqlite_db, vault):
    """The size `timebank demo` builds by default (its time is a figure of bench, not a test's)."""
    with sqlite_db.session() as session:
        summary = build_demo(session, volunteers=300, days=180, seed=2026, now=NOW, vault=vault)
        session.commit()
        assert summary.startswith("demo ready: 300 volunteers, ")
        assert list(ledger.verify(session)) == []
