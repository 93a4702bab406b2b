"""Organisation pages: the tree, policies set here or inherited, new nodes and stations."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.conftest import send, signed_in, text
from timebank.audit.models import AuditEntry
from timebank.orgs.models import Organisation
from timebank.orgs.services import effective_policy
from timebank.redeem.models import Station


def overrides(session, organisation) -> dict:
    """The policies set at a node, read afresh (the transaction ended so the app can write)."""
    try:
        raw = session.scalar(select(Organisation.policies).where(Organisation.id == organisation.id))
        return json.loads(raw)
    finally:
        session.commit()


def count(session, model) -> int:
    try:
        return session.scalar(select(func.count()).select_from(model))
    finally:
        session.commit()


@pytest.fixture
def coordinator(app, make_person):
    """A client signed in as the east community's coordinator."""
    return signed_in(app, make_person("coordinator", name="东城协调员"))


def test_the_tree_shows_only_the_subtrees_one_manages(coordinator):
    page = text(coordinator.get("/organisations"))
    assert "东城社区" in page and "东城助老服务队" in page
    assert "西关社区" not in page and "大营镇" not in page


def test_an_admin_sees_the_whole_tree_indented(app, make_person):
    admin = signed_in(app, make_person("admin", org="county"))
    page = text(admin.get("/organisations"))
    assert page.index("陕县") < page.index("大营镇") < page.index("东城社区") < page.index("东城助老服务队") < page.index("西关社区")
    assert "--depth: 3" in page


def test_a_policy_set_here_applies_below_and_clearing_it_inherits_again(coordinator, org_tree, session):
    east, team = org_tree["east"], org_tree["east_team"]

    answer = send(coordinator, f"/organisations/{east.id}/policies", points_per_hour="20", family_transfers="no")

    assert answer.status_code == 302
    assert overrides(session, east) == {"points_per_hour": 20, "family_transfers": False}
    session.expire_all()
    assert effective_policy(session, team)["points_per_hour"] == 20
    session.commit()
    page = text(coordinator.get(f"/organisations/{team.id}"))
    assert "沿用上级（20）" in page
    assert "本级设置" in text(coordinator.get(f"/organisations/{east.id}"))

    send(coordinator, f"/organisations/{east.id}/policies", points_per_hour="", family_transfers="")

    assert overrides(session, east) == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("points_per_hour", "十", "请输入整数"),
        ("points_per_hour", "-5", "超出了旁边注明的范围"),
        ("min_attendance_share", "2", "超出了旁边注明的范围"),
        ("min_attendance_share", "六成", "请输入数字"),
        ("family_transfers", "maybe", "请选择“是”或“否”"),
        ("star_thresholds_hours", "100, 50", "请输入 5 个从小到大的整数"),
        ("category_multipliers", "gardening=2", "类别=倍数"),
        ("forgotten_checkout", "<script>", "请从选项中选择一项"),
        ("hour_cap_minutes", "一千五", "请输入小时数"),
        ("category_multipliers.elderly", "20", "倍数须大于 0"),
    ],
)
def test_bad_policy_values_are_refused_clearly_and_nothing_changes(coordinator, org_tree, session, field, value, message):
    east = org_tree["east"]

    answer = send(coordinator, f"/organisations/{east.id}/policies", **{"reviewers_required": "2", field: value})

    assert answer.status_code == 422
    assert message in text(answer) and "<script>" not in text(answer)
    assert overrides(session, east) == {}


def test_thresholds_are_read_from_plain_text_and_multipliers_from_a_field_per_category(coordinator, org_tree, session):
    east = org_tree["east"]
    send(coordinator, f"/organisations/{east.id}/policies", **{
        "star_thresholds_hours": "50，150, 300 600 1000", "category_multipliers.elderly": "1.5", "category_multipliers.children": "2",
        "category_multipliers.emergency": "",
    })
    assert overrides(session, east) == {"star_thresholds_hours": [50, 150, 300, 600, 1000], "category_multipliers": {"elderly": 1.5, "children": 2.0}}
    page = text(coordinator.get(f"/organisations/{east.id}"))
    assert 'name="category_multipliers.elderly" value="1.5"' in page and 'name="category_multipliers.children" value="2"' in page
    assert "助老服务 ×1.5" in page


def test_the_storage_cap_is_typed_in_hours_and_the_forgotten_check_out_rule_is_a_choice(coordinator, org_tree, session):
    east = org_tree["east"]
    page = text(coordinator.get(f"/organisations/{east.id}"))
    assert "1,500 小时" in page and "90000" not in page and "planned_end_flagged</" not in page
    assert '<option value="no_credit_flagged">暂不计时长，标记后由审核人决定</option>' in page

    send(coordinator, f"/organisations/{east.id}/policies", hour_cap_minutes="1000", forgotten_checkout="no_credit_flagged")

    assert overrides(session, east) == {"hour_cap_minutes": 60_000, "forgotten_checkout": "no_credit_flagged"}
    assert 'name="hour_cap_minutes" value="1000"' in text(coordinator.get(f"/organisations/{east.id}"))


def test_every_policy_value_gets_a_widget_from_its_definition(monkeypatch):
    from timebank.orgs import management, policy

    monkeypatch.setitem(policy.DEFAULTS, "late_flag_minutes", 15)
    monkeypatch.setitem(policy.DEFAULTS, "hours_over_cap", "refuse")
    monkeypatch.setitem(policy.CHOICES, "hours_over_cap", {"refuse": "Choose one of the options.", "to_pool": "Open"})

    assert management.widget("late_flag_minutes") == "number" and management.widget("hours_over_cap") == "choice"
    assert management.policies_from_form({"late_flag_minutes": "20", "hours_over_cap": "to_pool"}) == {"late_flag_minutes": 20, "hours_over_cap": "to_pool"}


def test_a_coordinator_adds_a_team_below_their_community(coordinator, org_tree, session):
    answer = send(coordinator, f"/organisations/{org_tree['east'].id}/children", child_name="东城文明实践队", child_level="team")

    assert answer.status_code == 302
    assert "东城文明实践队" in text(coordinator.get(answer.location))
    refused = send(coordinator, f"/organisations/{org_tree['east'].id}/children", child_name="", child_level="district")
    assert refused.status_code == 422 and "请输入名称" in text(refused)


def test_a_coordinator_opens_a_station_and_it_is_audited(coordinator, org_tree, session):
    east = org_tree["east"]

    answer = send(coordinator, f"/organisations/{east.id}/stations", station_name="26度万家驿站", station_address="东城路26号", station_opening_hours="9:00-17:00")

    assert answer.status_code == 302
    page = text(coordinator.get(f"/organisations/{east.id}"))
    assert "26度万家驿站" in page and "东城路26号" in page
    try:
        station = session.scalar(select(Station).where(Station.name == "26度万家驿站"))
        assert station.organisation_id == east.id
        assert session.scalar(select(AuditEntry.action).where(AuditEntry.target_type == "station", AuditEntry.target_id == station.id)) == "create_station"
    finally:
        session.commit()


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"station_name": ""}, "此项必填"), ({"station_name": "驿" * 101}, "最多 100 个字"), ({"station_name": "驿站", "station_address": "路" * 201}, "最多 200 个字")],
    ids=["no name", "long name", "long address"],
)
def test_bad_station_input_is_refused_and_nothing_is_written(coordinator, org_tree, session, fields, message):
    answer = send(coordinator, f"/organisations/{org_tree['east'].id}/stations", **fields)
    assert answer.status_code == 422 and message in text(answer)
    assert count(session, Station) == 0


def test_another_communitys_coordinator_can_neither_see_nor_change_the_node(app, make_person, org_tree, session):
    west = signed_in(app, make_person("coordinator", org="west"))
    east = org_tree["east"]

    assert west.get(f"/organisations/{east.id}").status_code == 404
    assert send(west, f"/organisations/{east.id}/policies", points_per_hour="99").status_code == 404
    assert send(west, f"/organisations/{east.id}/stations", station_name="冒名驿站").status_code == 404
    assert send(west, f"/organisations/{east.id}/children", child_name="冒名服务队", child_level="team").status_code == 404
    assert overrides(session, east) == {} and count(session, Station) == 0


def test_an_unknown_organisation_is_not_found(coordinator):
    assert coordinator.get("/organisations/99999").status_code == 404


def test_a_social_worker_cannot_open_the_organisation_pages(app, make_person):
    assert signed_in(app, make_person("social_worker")).get("/organisations").status_code == 403
