"""Dispatch suggestions: each factor moves a volunteer the way the README says, and red grades are never suggested."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.conftest import NOW, PASSWORD
from tests.needs.order_world import WINDOW_START, World, world  # noqa: F401
from timebank.grading.models import Grade
from timebank.needs import orders, suggestions
from timebank.auth.services import authenticate
from timebank.needs.models import Assignment, Rating
from timebank.people.access import actor_for
from timebank.people.models import VolunteerCategory
from timebank.people.services import update_profile


def ranked(session, order) -> list[int]:
    return [s.volunteer_id for s in suggestions.suggest(session, order, now=NOW)]


def grade(session, volunteer, colour: str, org_id: int, day: dt.date) -> None:
    session.add(Grade(subject_type="volunteer", subject_id=volunteer.id, organisation_id=org_id, graded_on=day, computed_colour=colour,
                      colour=colour, figures_json="{}", explanation="", computed_at=NOW))


def test_category_skills_and_the_same_community_rank_first_with_reasons(session, world: World, make_person):
    order = world.make_order(skills="陪诊,理发")
    other_street = make_person(org="west", name="吴志愿", service_categories=["children"])
    result = suggestions.suggest(session, order, now=NOW)
    ids = [s.volunteer_id for s in result]
    assert set(ids[:3]) == {v.id for v in world.volunteers}
    assert ids.index(other_street.id) > 2
    reasons = [str(r) for r in result[0].reasons]
    assert any("elderly" in r or "助老" in r or "Offers" in r for r in reasons)


def test_a_clash_a_no_show_and_a_low_rating_move_a_volunteer_down(session, world: World):
    busy, unreliable, good = world.volunteers
    other = world.make_order(slots=2)
    orders.dispatch(session, other.id, {"volunteer_ids": [busy.id]}, actor=world.staff, now=NOW)
    orders.accept(session, other.assignments[0].id, volunteer=busy, now=NOW)
    past = Assignment(order_id=other.id, slot=2, volunteer_id=unreliable.id, status="no_show", offered_at=NOW - dt.timedelta(days=10))
    session.add(past)
    session.flush()
    session.add(Rating(assignment_id=past.id, volunteer_id=unreliable.id, stars=1, rated_at=NOW))
    session.commit()
    order = world.make_order()
    assert [i for i in ranked(session, order) if i in (busy.id, unreliable.id, good.id)] == [good.id, unreliable.id, busy.id]


def test_grades_rank_green_first_and_red_never(session, world: World, org_tree):
    first, second, third = world.volunteers
    east = org_tree["east"].id
    grade(session, first, "red", east, NOW.date())
    grade(session, third, "green", east, NOW.date())
    grade(session, second, "red", east, NOW.date() - dt.timedelta(days=30))  # an old red no longer counts
    grade(session, second, "blue", east, NOW.date())
    session.commit()
    order = world.make_order()
    found = ranked(session, order)
    assert found[:2] == [third.id, second.id] and first.id not in found


def test_volunteers_already_on_the_order_are_not_suggested_again(session, world: World):
    order = world.make_order(slots=2)
    orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    session.commit()
    assert world.volunteers[0].id not in ranked(session, order)
    assert WINDOW_START > NOW


def indexed(session, person) -> set[tuple[str, int]]:
    """The (category, organisation) rows the walks see for a person."""
    return {(row.category, row.organisation_id) for row in session.scalars(select(VolunteerCategory).where(VolunteerCategory.person_id == person.id))}


def test_the_category_index_follows_registration_edits_and_sign_in(session, world: World, org_tree, vault):
    volunteer = world.volunteers[0]
    above = [org_tree[key].id for key in ("county", "street", "east")]
    assert indexed(session, volunteer) == {(category, org) for category in ("*", "elderly") for org in above}
    update_profile(session, volunteer.id, {"service_categories": ["children", "emergency"]}, actor=actor_for(session, volunteer), vault=vault, now=NOW)
    session.commit()
    assert indexed(session, volunteer) == {(category, org) for category in ("*", "children", "emergency") for org in above}
    later = NOW + dt.timedelta(hours=1)
    authenticate(session, volunteer.phone, PASSWORD, now=later)
    session.commit()
    assert set(session.scalars(select(VolunteerCategory.active_at).where(VolunteerCategory.person_id == volunteer.id))) == {later}


def test_a_volunteer_who_stops_offering_the_category_is_no_longer_ranked_as_offering_it(session, world: World, vault):
    leaving = world.volunteers[0]
    order = world.make_order()
    before = {s.volunteer_id: s for s in suggestions.suggest(session, order, now=NOW)}
    update_profile(session, leaving.id, {"service_categories": ["children"]}, actor=actor_for(session, leaving), vault=vault, now=NOW)
    session.commit()
    after = {s.volunteer_id: s for s in suggestions.suggest(session, order, now=NOW)}
    assert any("Offers" in str(r) or "提供" in str(r) for r in before[leaving.id].reasons)
    assert not any("Offers" in str(r) or "提供" in str(r) for r in after[leaving.id].reasons)
    assert after[leaving.id].score == before[leaving.id].score - 30
    assert ranked(session, order).index(leaving.id) > max(ranked(session, order).index(v.id) for v in world.volunteers[1:])
