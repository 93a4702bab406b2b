"""Which activities a volunteer sees, from a home at every depth of the tree: their street, everything in it, and above."""

from __future__ import annotations

import pytest

from timebank.events import services
from timebank.orgs.services import create_organisation
from tests.conftest import NOW, SYSTEM

EVERYWHERE = ("county", "street", "east", "west", "east_team", "west_team", "north", "north_team")
#: 大营镇 and all below it, and the county above it; not the other street, 北关.
DAYING = {"county", "street", "east", "west", "east_team", "west_team"}


@pytest.fixture
def seen_from(session, org_tree, make_activity, make_person):
    """An activity at every node of a county with two streets; `seen_from(home)` is where the ones a volunteer there sees are held."""
    north = create_organisation(session, name="北关街道", level="street", parent_id=org_tree["county"].id, actor=SYSTEM, now=NOW)
    org_tree["north"] = create_organisation(session, name="北关社区", level="community", parent_id=north.id, actor=SYSTEM, now=NOW)
    org_tree["north_team"] = create_organisation(session, name="北关巡逻队", level="team", parent_id=org_tree["north"].id, actor=SYSTEM, now=NOW)
    session.commit()
    held = {make_activity(org=key, title=f"{key} 活动").id: key for key in EVERYWHERE}

    def seen(home: str) -> set[str]:
        volunteer = make_person(org=home)
        return {held[a.id] for a in services.browse(session, volunteer, now=NOW)}

    return seen


@pytest.mark.parametrize(
    ("home", "expected"),
    [
        ("county", set(EVERYWHERE)),  # registered at the district: there is no street above, so the whole district
        ("street", DAYING),
        ("east", DAYING),
        ("east_team", DAYING),  # a team member sees the other community of the street, not only their own
        ("north_team", {"county", "north", "north_team"}),
    ],
)
def test_a_volunteer_sees_their_street_everything_in_it_and_what_is_above_it(seen_from, home, expected):
    assert seen_from(home) == expected
