"""The storage cap on time credit: the policy's as it stands, for everyone under it; CERT and points never capped."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from timebank import ledger
from timebank.events import review
from timebank.ledger import rules
from timebank.ledger.models import Account, Commodity
from timebank.orgs.policy import DEFAULTS
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from timebank.people.balances import summary
from tests.conftest import ACTOR, END, NOW, START, SYSTEM, attend, send, signed_in, text
from tests.ledger.test_concurrency import race

AFTER = END + dt.timedelta(hours=3)
MINUTE = dt.timedelta(minutes=1)


def holds(session, volunteer) -> tuple[int, int, int]:
    """Time credit, certified minutes and points the volunteer holds."""
    mine = summary(session, volunteer.id, DEFAULTS)
    return mine.hours.posted, mine.certified_minutes, mine.points.posted


def cap(session, org_tree, minutes: int, *, where: str = "county", **more) -> None:
    set_policies(session, org_tree[where].id, {"hour_cap_minutes": minutes, **more}, actor=SYSTEM, now=NOW)
    session.commit()


def serve(session, make_activity, volunteer, reviewer):
    """One two-hour activity attended in full and approved."""
    attendance = attend(session, make_activity(), volunteer)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    session.commit()
    return attendance


def test_a_cap_changed_after_registration_holds_both_ways(session, org_tree, make_activity, make_person, reviewer):
    volunteer = make_person(name="张秀英")  # registered under the default cap of 1,500 hours
    cap(session, org_tree, 180)
    serve(session, make_activity, volunteer, reviewer)
    serve(session, make_activity, volunteer, reviewer)
    assert holds(session, volunteer) == (180, 240, 40)  # 60 minutes above the cap not deposited

    cap(session, org_tree, 300)  # raised: the account takes more at once
    serve(session, make_activity, volunteer, reviewer)
    assert holds(session, volunteer) == (300, 360, 60)

    cap(session, org_tree, 240)  # lowered below what they hold: they keep it, and take no more
    serve(session, make_activity, volunteer, reviewer)
    assert holds(session, volunteer) == (300, 480, 80)
    assert list(ledger.verify(session)) == []


def test_time_credit_spent_below_a_lowered_cap_is_earned_again_only_up_to_it(session, org_tree, make_activity, make_person, reviewer):
    volunteer = make_person()
    serve(session, make_activity, volunteer, reviewer)
    serve(session, make_activity, volunteer, reviewer)
    cap(session, org_tree, 180)
    ledger.open_account(session, rules.station_code(7, Commodity.HOUR), commodity="HOUR", owner_type="station", owner_id=7, now=NOW)
    ledger.post(session, rules.redemption_legs(volunteer.id, 7, 150, Commodity.HOUR), kind="redemption", idempotency_key="spend", actor=ACTOR, now=AFTER)
    session.commit()
    serve(session, make_activity, volunteer, reviewer)
    assert holds(session, volunteer)[0] == 180  # 90 left after spending, 90 more up to the cap


def test_the_cap_is_the_volunteers_own_wherever_they_serve(session, org_tree, make_activity, make_person, reviewer):
    cap(session, org_tree, 120, where="west")  # the volunteer's home
    cap(session, org_tree, 100_000, where="east")  # where the activity is
    volunteer = make_person(org="west")
    serve(session, make_activity, volunteer, reviewer)
    serve(session, make_activity, volunteer, reviewer)
    assert holds(session, volunteer) == (120, 240, 40)


def test_accounts_opened_at_approval_carry_no_copy_of_the_cap(session, make_person):
    volunteer = make_person()
    code = rules.volunteer_code(volunteer.id, Commodity.HOUR)
    assert session.scalar(select(Account.max_balance).where(Account.code == code)) is None


def test_above_the_cap_time_credit_goes_to_the_community_pool_where_the_policy_says_so(session, org_tree, make_activity, make_person, reviewer):
    cap(session, org_tree, 90, hours_over_cap_to_pool=True)
    volunteer = make_person(org="east_team")  # a team's volunteer: the pool of the community above the team
    serve(session, make_activity, volunteer, reviewer)
    assert holds(session, volunteer) == (90, 120, 20)
    assert ledger.balance(session, rules.pool_code(org_tree["east"].id)).posted == 30
    assert list(ledger.verify(session)) == []


def test_bulk_approval_credits_a_volunteer_at_the_cap_and_lists_what_it_left(session, org_tree, make_activity, make_person, reviewer):
    cap(session, org_tree, 120)
    at_cap, fresh, late = make_person(name="满额者"), make_person(name="新人"), make_person(name="迟到者")
    serve(session, make_activity, at_cap, reviewer)
    activity = make_activity()
    attendances = {p.id: attend(session, activity, p) for p in (at_cap, fresh)}
    late_one = attend(session, activity, late, at=START + 30 * MINUTE)

    result = review.approve_unflagged(session, activity.id, actor=reviewer, now=AFTER)
    session.commit()

    assert {a.id for a in result.approved} == {a.id for a in attendances.values()}
    assert [(left.attendance.id, left.reason, left.flags) for left in result.left_out] == [(late_one.id, "flagged", ("late",))]
    deposit = result.at_cap[attendances[at_cap.id].id]
    assert (deposit.deposited, deposit.over_cap, deposit.pool_id) == (0, 120, None)
    assert holds(session, at_cap) == (120, 240, 40)  # certified hours and points in full
    assert holds(session, fresh) == (120, 120, 20)


def test_one_refused_attendance_does_not_hold_back_the_rest(session, make_activity, make_person, reviewer):
    closed, other = make_person(name="销户者"), make_person(name="在册者")
    ledger.close_account(session, rules.volunteer_code(closed.id, Commodity.PTS), now=NOW)
    session.commit()
    activity = make_activity()
    refused, fine = attend(session, activity, closed), attend(session, activity, other)

    result = review.approve_unflagged(session, activity.id, actor=reviewer, now=AFTER)
    session.commit()

    assert [a.id for a in result.approved] == [fine.id]
    (left,) = result.left_out
    assert left.attendance.id == refused.id and left.reason == "refused"
    assert left.refusal.params == {"name": "销户者", "activity": "敬老院探访"}
    assert refused.status == "checked_out" and fine.status == "approved"


@pytest.fixture
def reviewer_client(app, make_person, monkeypatch):
    monkeypatch.setattr("timebank.events.review_views.now", lambda: AFTER)
    monkeypatch.setattr("timebank.events.api.now", lambda: AFTER)
    return signed_in(app, make_person("social_worker", name="李社工"))


def test_the_review_page_and_the_api_say_who_met_the_cap_and_who_was_left(session, org_tree, make_activity, make_person, reviewer, reviewer_client):
    cap(session, org_tree, 120)
    full, late = make_person(name="满额者"), make_person(name="迟到者")
    serve(session, make_activity, full, reviewer)
    activity = make_activity()
    attend(session, activity, full)
    attend(session, activity, late, at=START + 30 * MINUTE)

    answer = send(reviewer_client, f"/review/activities/{activity.id}/approve-unflagged")
    page = text(reviewer_client.get(answer.location))
    assert "已通过并存入 1 条签到记录" in page
    assert "未通过：迟到者（迟到）" in page
    assert "已达存储上限，时间币未存入（认证时长和积分已全额记入）：满额者 120 分钟" in page

    again = make_activity()
    attend(session, again, full)
    body = reviewer_client.post(f"/api/v1/activities/{again.id}/approve-unflagged", json={}, headers={"Accept-Language": "zh-CN"}).json
    (capped,) = body["at_cap"]
    assert (capped["minutes_deposited"], capped["minutes_over_cap"], capped["pool_organisation_id"]) == (0, 120, None)
    assert "满额者已达存储上限：120 分钟时间币未存入" in capped["message"]

    mine = signed_in(reviewer_client.application, full)
    assert "2 小时时间币超出您的存储上限，未存入" in text(mine.get("/me/attendances"))
    (first, *_) = mine.get("/api/v1/me/attendances").json
    assert first["at_cap"]["minutes_over_cap"] == 120


def test_four_approvals_at_once_fill_the_room_under_the_cap_once(db, session, org_tree, make_activity, make_person):
    cap(session, org_tree, 150)
    volunteer = make_person()
    attendances = [attend(session, make_activity(), volunteer).id for _ in range(4)]
    reviewers = [actor_for(session, make_person("social_worker")) for _ in range(4)]
    session.commit()  # the test's own session must not hold SQLite's write lock during the race

    results = race(db, 4, lambda s, i: review.approve_attendance(s, attendances[i], actor=reviewers[i], now=AFTER).status, ())

    assert results == ["approved"] * 4
    session.expire_all()
    assert holds(session, volunteer) == (150, 480, 80)
    assert list(ledger.verify(session)) == []
