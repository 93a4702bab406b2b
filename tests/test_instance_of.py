"""A row read by a Core statement becomes the session's object as if the ORM had loaded it (timebank.db.instance_of)."""

from __future__ import annotations

from sqlalchemy import inspect, select

from timebank.db import instance_of
from timebank.people.models import Person


def _row(session, person_id: int) -> dict:
    people = Person.__table__
    return session.connection().execute(select(*people.c).where(people.c.id == person_id)).one()._asdict()


def test_a_row_becomes_a_persistent_unchanged_object_whose_changes_are_written(db, make_person, session):
    person_id = make_person("volunteer", name="李桂兰").id
    session.commit()
    with db.session() as fresh:
        person = instance_of(fresh, Person, _row(fresh, person_id))
        assert inspect(person).persistent and person in fresh and not fresh.dirty
        assert fresh.get(Person, person_id) is person  # the identity map holds it: no second object, no query
        assert instance_of(fresh, Person, _row(fresh, person_id)) is person
        assert [grant.role for grant in person.roles] == ["volunteer"]  # relationships load on first use
        person.real_name = "李秀兰"
        assert person in fresh.dirty
        fresh.commit()
    with db.session() as later:
        assert later.get(Person, person_id).real_name == "李秀兰"


def test_an_object_the_session_holds_already_is_the_one_returned_and_keeps_its_changes(db, make_person, session):
    person_id = make_person(name="张建华").id
    session.commit()
    with db.session() as fresh:
        held = fresh.get(Person, person_id)
        held.real_name = "张建国"
        assert instance_of(fresh, Person, _row(fresh, person_id)) is held
        assert held.real_name == "张建国" and held in fresh.dirty
