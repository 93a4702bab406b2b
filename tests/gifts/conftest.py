"""A family for gift tests: a mother with 3 h, her son linked and confirmed, and a coordinator of their community."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from timebank.people.access import Actor, actor_for
from timebank.people.models import Person
from tests.gifts.factories import fund, link_family


@dataclass
class Family:
    mother: Person
    son: Person
    stranger: Person
    coordinator: Person

    def actor(self, session, person: Person) -> Actor:
        return actor_for(session, person)


@pytest.fixture
def family(session, make_person) -> Family:
    mother = make_person(name="张奶奶", birth_date="1950-05-01")
    son = make_person(name="张小明", birth_date="1980-03-02")
    stranger = make_person(name="陌生人")
    coordinator = make_person("coordinator", name="王协调")
    fund(session, mother, 180)
    fund(session, son, 0 + 30)
    link_family(session, mother, son)
    return Family(mother, son, stranger, coordinator)
