"""The organisations API: the actor's subtrees, new nodes, and policies inherited downward."""

from __future__ import annotations

from timebank.orgs.models import Organisation
from tests.api.conftest import ZH


def names(nodes):
    """The tree as nested (name, children) pairs."""
    return [(node["name"], names(node["children"])) for node in nodes]


def test_a_coordinator_sees_their_own_subtree_nested(client, make_person, sign_in):
    sign_in(make_person("coordinator", org="east"))
    answer = client.get("/api/v1/organisations")
    assert answer.status_code == 200
    assert names(answer.json) == [("东城社区", [("东城助老服务队", [])])]


def test_an_admin_of_the_county_sees_the_whole_tree(client, make_person, sign_in):
    sign_in(make_person("admin", org="county"))
    tree = client.get("/api/v1/organisations").json
    assert names(tree) == [
        ("陕县", [("大营镇", [("东城社区", [("东城助老服务队", [])]), ("西关社区", [("西关应急服务队", [])])])])
    ]


def test_a_coordinator_adds_a_team_below_their_community(client, org_tree, make_person, sign_in, count):
    sign_in(make_person("coordinator", org="east"))
    answer = client.post(f"/api/v1/organisations/{org_tree['east'].id}/children", json={"name": "东城文明实践队", "level": "team"})
    assert answer.status_code == 201, answer.json
    assert answer.json["parent_id"] == org_tree["east"].id
    assert answer.json["path"] == f"{org_tree['east'].path}{answer.json['id']}/"
    assert count(Organisation, Organisation.name == "东城文明实践队") == 1


def test_nobody_adds_nodes_outside_their_subtree_or_above_its_level(client, org_tree, make_person, sign_in, count):
    sign_in(make_person("coordinator", org="east"))
    west = org_tree["west"].id
    assert client.post(f"/api/v1/organisations/{west}/children", json={"name": "外来队", "level": "team"}).status_code == 404
    assert client.post("/api/v1/organisations/999999/children", json={"name": "无", "level": "team"}).status_code == 404
    answer = client.post(f"/api/v1/organisations/{org_tree['east'].id}/children", json={"name": "新区", "level": "district"})
    assert answer.status_code == 422 and set(answer.json["errors"]) == {"level"}
    answer = client.post(f"/api/v1/organisations/{org_tree['east'].id}/children", json={"name": "队" * 101, "level": "planet"}, headers=ZH)
    assert answer.status_code == 422
    assert answer.json["errors"]["level"] == ["请选择区县、街道、社区或服务队。"]
    assert "100" in answer.json["errors"]["name"][0]
    assert count(Organisation) == 6


def test_a_volunteer_may_not_add_organisations(client, org_tree, make_person, sign_in):
    sign_in(make_person())
    assert client.post(f"/api/v1/organisations/{org_tree['east'].id}/children", json={"name": "队", "level": "team"}).status_code == 403


def test_a_policy_set_on_a_community_applies_to_its_teams(client, org_tree, make_person, sign_in):
    sign_in(make_person("coordinator", org="east"))
    answer = client.patch(f"/api/v1/organisations/{org_tree['east'].id}/policies", json={"points_per_hour": 12, "min_attendance_share": 0.5})
    assert answer.status_code == 200, answer.json
    assert answer.json["overrides"] == {"points_per_hour": 12, "min_attendance_share": 0.5}
    team = client.get(f"/api/v1/organisations/{org_tree['east_team'].id}/policies").json
    assert team["effective"]["points_per_hour"] == 12 and team["overrides"] == {}
    assert team["effective"]["hour_cap_minutes"] == 1500 * 60
    answer = client.patch(f"/api/v1/organisations/{org_tree['east'].id}/policies", json={"points_per_hour": None})
    assert answer.json["overrides"] == {"min_attendance_share": 0.5}
    assert answer.json["effective"]["points_per_hour"] == 10


def test_bad_policies_are_refused_per_field_and_nothing_changes(client, org_tree, make_person, sign_in):
    sign_in(make_person("coordinator", org="east"))
    url = f"/api/v1/organisations/{org_tree['east'].id}/policies"
    answer = client.patch(url, json={"points_per_hour": "many", "min_attendance_share": 3, "free_lunch": True}, headers=ZH)
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"points_per_hour", "min_attendance_share"}
    answer = client.patch(url, json={"free_lunch": True}, headers=ZH)
    assert answer.status_code == 422
    assert answer.json["errors"] == {"free_lunch": ["没有这项政策设置。"]}
    assert client.get(url).json["overrides"] == {}


def test_policies_of_another_subtree_can_be_neither_read_nor_changed(client, org_tree, make_person, sign_in):
    west = org_tree["west"].id
    sign_in(make_person("coordinator", org="east"))
    assert client.get(f"/api/v1/organisations/{west}/policies").status_code == 404
    assert client.patch(f"/api/v1/organisations/{west}/policies", json={"points_per_hour": 99}).status_code == 404
    sign_in(make_person("admin", org="county"))
    assert client.get(f"/api/v1/organisations/{west}/policies").json["overrides"] == {}
