"""The header's menu: each role sees exactly the links it may open, grouped, and none of them answers 403."""

from __future__ import annotations

import re

import pytest

from timebank.web import NAV, admits, nav_groups
from tests.conftest import signed_in, text

MENU = re.compile(r'<nav class="menu-panel".*?</nav>', re.S)
GROUP = re.compile(r'<h2>(.*?)</h2>\s*<ul>(.*?)</ul>', re.S)


def menu_of(page: str) -> dict[str, list[str]]:
    """Group heading -> the links' paths, as the page shows them."""
    panel = MENU.search(page)
    return {} if panel is None else {title: re.findall(r'href="([^"]+)"', links) for title, links in GROUP.findall(panel.group(0))}


@pytest.fixture
def personas(make_person, session):
    from timebank.redeem.models import Station
    from tests.conftest import NOW

    station = Station(organisation_id=make_person().home_organisation_id, name="东城驿站", created_at=NOW)
    session.add(station)
    session.commit()
    return {
        "volunteer": make_person(),
        "station_staff_and_social_worker": make_person("station_staff", "social_worker", station_id=station.id),
        "social_worker": make_person("social_worker"),
        "coordinator": make_person("coordinator"),
        "admin": make_person("admin", org="county"),
    }


def test_each_role_sees_exactly_the_links_it_may_open_and_none_refuses_it(app, personas):
    from timebank.people.access import actor_for
    from timebank.web import database

    for name, person in personas.items():
        client = signed_in(app, person)
        page = text(client.get("/workbench"))
        shown = [href for links in menu_of(page).values() for href in links]
        with app.app_context():
            with database().session() as s:
                actor = actor_for(s, person.id)
            with app.test_request_context():
                from flask import url_for

                wanted = [url_for(endpoint) for _, links in nav_groups(app.view_functions, actor.has) for endpoint, _ in links]
        assert shown == wanted, name
        for href in shown:
            answer = client.get(href)
            answer.close()
            assert answer.status_code not in (401, 403), f"{name}: {href} answers {answer.status_code}"


def test_a_volunteer_sees_only_their_own_group_and_staff_see_theirs_grouped(app, personas):
    volunteer = menu_of(text(signed_in(app, personas["volunteer"]).get("/workbench")))
    assert list(volunteer) == ["我的"]
    admin = menu_of(text(signed_in(app, personas["admin"]).get("/workbench")))
    assert list(admin)[:2] == ["我的", "活动与审核"] and "系统" in admin and "人员与组织" in admin
    assert "/audit" in admin["系统"]
    coordinator = menu_of(text(signed_in(app, personas["coordinator"]).get("/workbench")))
    assert "/audit" not in [h for links in coordinator.values() for h in links]


def test_links_to_features_not_in_this_app_are_left_out_and_appear_once_registered(app):
    holds = lambda *roles: True  # noqa: E731 - someone holding every role
    endpoints = {endpoint for _, links in nav_groups(app.view_functions, holds) for endpoint, _ in links}
    missing = {endpoint for endpoint, _, _ in NAV if endpoint not in app.view_functions}
    assert endpoints == {endpoint for endpoint, _, _ in NAV} - missing

    def view():
        return ""

    view.required_roles = ()
    without = {k: v for k, v in app.view_functions.items() if k != "needs.mine"}
    assert ("needs.mine", "My requests") not in dict(nav_groups(without, holds))["Mine"]
    with_it = nav_groups({**without, "needs.mine": view}, holds)
    assert ("needs.mine", "My requests") in dict(with_it)["Mine"]


def test_a_resident_s_requests_are_one_entry_of_the_menu():
    assert [endpoint for endpoint, _, _ in NAV if endpoint in ("needs.mine", "orders.requests")] == ["needs.mine"]


def test_a_public_view_is_offered_to_everyone_and_a_guarded_one_to_its_roles():
    def guarded():
        return ""

    guarded.required_roles = ("coordinator",)
    assert admits(lambda: "", lambda *roles: False)
    assert admits(guarded, lambda *roles: "coordinator" in roles) and not admits(guarded, lambda *roles: False)
