"""The reviewers' pages, used through the client as a social worker on a Friday afternoon would."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from timebank import ledger
from timebank.events import corrections
from timebank.events.models import Attendance, CorrectionRequest
from timebank.ledger.models import Transaction
from timebank.orgs.policy import DEFAULTS
from timebank.orgs.services import set_policies
from timebank.people.balances import summary
from tests.conftest import END, NOW, START, SYSTEM, attend, send, signed_in, text

AFTER = END + dt.timedelta(hours=3)
MINUTE = dt.timedelta(minutes=1)


def fresh(session, statement):
    """Rows as the app left them: the test's earlier read ended first, so SQLite shows the app's writes."""
    session.commit()
    try:
        return session.execute(statement.execution_options(populate_existing=True)).scalars().all()
    finally:
        session.commit()


def status_of(session, attendance) -> str:
    return fresh(session, select(Attendance.status).where(Attendance.id == attendance.id))[0]


def credits_posted(session) -> int:
    return fresh(session, select(func.count()).select_from(Transaction).where(Transaction.kind == "service_credit"))[0]


def balances(session, volunteer):
    session.commit()
    try:
        return summary(session, volunteer.id, DEFAULTS)
    finally:
        session.commit()


@pytest.fixture
def clock(monkeypatch):
    """Sets the review pages' clock; three hours after the activity unless moved."""

    def set_to(moment: dt.datetime) -> None:
        monkeypatch.setattr("timebank.events.review_views.now", lambda: moment)

    set_to(AFTER)
    return set_to


@pytest.fixture
def reviewer(app, make_person, clock):
    """A client signed in as a social worker of the east community (not the activity's leader)."""
    return signed_in(app, make_person("social_worker", name="李社工"))


def review_url(activity) -> str:
    return f"/review/activities/{activity.id}"


def approve_url(attendance) -> str:
    return f"/review/attendances/{attendance.id}/approve"


# -- the review page --------------------------------------------------------------


def test_the_review_page_shows_minutes_points_and_flags_in_words(session, make_activity, make_person, reviewer):
    activity = make_activity()
    attend(session, activity, make_person(name="准时者"))
    attend(session, activity, make_person(name="迟到者"), at=START + 30 * MINUTE)
    attend(session, activity, make_person(name="忘签退者"), out=None)

    page = text(reviewer.get(review_url(activity)))

    assert "准时者" in page and "迟到者" in page and "忘签退者" in page
    assert '<span class="flag flag-late">迟到</span>' in page
    assert '<span class="flag flag-forgotten_checkout">未签退</span>' in page
    assert "120 分钟" in page and "20 积分" in page and "90 分钟" in page
    assert '<span class="value" id="count-total">3</span>' in page
    assert '<span class="value" id="count-flagged">2</span>' in page
    assert "2026-12-04" in page  # ten working days after Friday 20 November
    assert "通过全部未标记（1）" in page


def test_an_activity_still_under_way_is_shown_without_actions(session, make_activity, make_person, reviewer, clock):
    activity = make_activity()
    attendance = attend(session, activity, make_person(name="张三"))
    clock(NOW)

    page = text(reviewer.get(review_url(activity)))

    assert "张三" in page and "活动尚未结束" in page
    assert approve_url(attendance) not in page and "approve-unflagged" not in page


def test_approving_from_the_page_credits_once_even_when_sent_twice(app, session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person(name="张三")
    attendance = attend(session, activity, volunteer)

    first = send(reviewer, approve_url(attendance))
    second = send(reviewer, approve_url(attendance))

    assert first.status_code == second.status_code == 302
    assert first.location.endswith(f"{review_url(activity)}#attendance-{attendance.id}")
    assert credits_posted(session) == 1
    page = text(reviewer.get(first.location))
    assert "已通过：张三 120 分钟，20 积分" in page
    assert '<span class="value" id="count-approved">1</span>' in page
    mine = text(signed_in(app, volunteer).get("/me/balances"))
    assert '<span class="value" id="points-available">20</span>' in mine


def test_approve_all_unflagged_approves_only_the_unflagged(session, make_activity, make_person, reviewer):
    activity = make_activity()
    good = [attend(session, activity, make_person(name=f"志愿者{n}")) for n in range(3)]
    late = attend(session, activity, make_person(name="迟到者"), at=START + 30 * MINUTE)
    assert "通过全部未标记（3）" in text(reviewer.get(review_url(activity)))

    answer = send(reviewer, f"{review_url(activity)}/approve-unflagged")

    assert answer.status_code == 302
    assert [status_of(session, a) for a in good] == ["approved"] * 3
    assert status_of(session, late) == "checked_out"
    assert credits_posted(session) == 3
    page = text(reviewer.get(answer.location))
    assert "已通过并存入 3 条签到记录" in page and "通过全部未标记（0）" in page


def test_two_reviewers_are_shown_and_the_second_approval_credits(session, app, org_tree, make_activity, make_person, reviewer):
    set_policies(session, org_tree["east"].id, {"reviewers_required": 2}, actor=SYSTEM, now=NOW)
    session.commit()
    activity = make_activity()
    attendance = attend(session, activity, make_person(name="张三"))

    send(reviewer, approve_url(attendance))

    page = text(reviewer.get(review_url(activity)))
    assert "1/2 位审核人" in page and "审核人：李社工" in page
    assert credits_posted(session) == 0
    second = signed_in(app, make_person("coordinator", name="赵协调员"))
    assert send(second, approve_url(attendance)).status_code == 302
    assert status_of(session, attendance) == "approved" and credits_posted(session) == 1


def test_rejecting_without_a_reason_is_refused_and_changes_nothing(session, make_activity, make_person, reviewer):
    activity = make_activity()
    attendance = attend(session, activity, make_person(name="张三"))

    answer = send(reviewer, f"/review/attendances/{attendance.id}/reject", reason="   ")

    assert answer.status_code == 422
    page = text(answer)
    assert f'<tr id="attendance-{attendance.id}" tabindex="-1" class="has-problem">' in page
    assert status_of(session, attendance) == "checked_out"
    with_reason = send(reviewer, f"/review/attendances/{attendance.id}/reject", reason="未到现场")
    assert with_reason.status_code == 302 and status_of(session, attendance) == "rejected"
    assert "已驳回：张三（未到现场）" in text(reviewer.get(with_reason.location))


def test_adjusting_after_approval_reverses_the_credit_and_posts_the_new_figure(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person(name="张三")
    attendance = attend(session, activity, volunteer)
    send(reviewer, approve_url(attendance))
    first = fresh(session, select(Attendance.transaction_id).where(Attendance.id == attendance.id))[0]

    answer = send(reviewer, f"/review/attendances/{attendance.id}/adjust", minutes="90", reason="提前离开半小时")

    assert answer.status_code == 302
    mine = balances(session, volunteer)
    assert (mine.hours.posted, mine.points.posted, mine.certified_minutes) == (90, 15, 90)
    reversal = fresh(session, select(Transaction).where(Transaction.reverses_id == first))
    assert len(reversal) == 1 and "提前离开半小时" in reversal[0].memo
    page = text(reviewer.get(answer.location))
    assert "已更正：张三" in page and "存入：90 分钟，15 积分" in page


def test_a_correction_of_spent_credit_is_refused_and_a_coordinator_writes_it_off_from_the_refusal(app, session, make_activity, make_person, reviewer):
    """The social worker sees why and who can decide; the coordinator gets the write-off form on the same row, and it posts."""
    activity, volunteer = make_activity(), make_person(name="张三")
    attendance = attend(session, activity, volunteer)
    send(reviewer, approve_url(attendance))
    session.commit()
    ledger.open_account(session, "station:1:PTS", commodity="PTS", owner_type="station", owner_id=1, now=AFTER)
    ledger.post(session, ledger.rules.redemption_legs(volunteer.id, 1, 20), kind="redemption", idempotency_key="r1", actor=volunteer.id, now=AFTER)
    session.commit()
    write_off_url = f"/review/attendances/{attendance.id}/write-off"

    answer = send(reviewer, f"/review/attendances/{attendance.id}/adjust", minutes="0", reason="未到场")

    assert answer.status_code == 409
    page = text(answer)
    assert "更正为 0 分钟将短缺 0 分钟、20 积分" in page and "协调员可登记原因核销短缺部分" in page and "张三" in page
    assert write_off_url not in answer.get_data(as_text=True)
    assert (balances(session, volunteer).points.posted, status_of(session, attendance)) == (0, "approved")

    coordinator = signed_in(app, make_person("coordinator", name="陈协调员"))
    refused = send(coordinator, f"/review/attendances/{attendance.id}/adjust", minutes="0", reason="未到场")
    assert refused.status_code == 409 and write_off_url in refused.get_data(as_text=True)
    written_off = send(coordinator, write_off_url, minutes="0", reason="未到场，积分已兑换")

    assert written_off.status_code == 302
    assert "已核销并更正：张三 现为 0 分钟、0 积分" in text(coordinator.get(written_off.location))
    mine = balances(session, volunteer)
    assert (mine.hours.posted, mine.points.posted) == (0, 0)
    kinds = fresh(session, select(Transaction.kind).where(Transaction.ref_type == "attendance").order_by(Transaction.id))
    assert kinds == ["service_credit", "write_off", "reversal"]


def test_a_social_worker_of_another_community_is_refused(app, session, make_activity, make_person, clock):
    activity = make_activity()
    attendance = attend(session, activity, make_person())
    outsider = signed_in(app, make_person("social_worker", org="west", name="西关社工"))

    assert outsider.get(review_url(activity)).status_code in (403, 404)
    assert send(outsider, approve_url(attendance)).status_code in (403, 404)
    assert send(outsider, f"{review_url(activity)}/approve-unflagged").status_code in (403, 404)
    assert credits_posted(session) == 0 and status_of(session, attendance) == "checked_out"


# -- overdue reviews -------------------------------------------------------------------


def test_the_overdue_list_shows_an_activity_only_after_its_deadline(app, session, make_activity, make_person, clock):
    activity = make_activity()
    attend(session, activity, make_person())
    coordinator = signed_in(app, make_person("coordinator", name="东城协调员"))

    clock(NOW + dt.timedelta(days=14))
    on_time = text(coordinator.get("/review/overdue"))
    clock(NOW + dt.timedelta(days=15))
    late = text(coordinator.get("/review/overdue"))

    assert 'id="nothing-overdue"' in on_time and "敬老院探访" not in on_time
    assert "敬老院探访" in late and "2026-12-04" in late and "王社工" in late and "东城社区" in late
    assert f'href="{review_url(activity)}"' in late


# -- correction requests ----------------------------------------------------------------


def test_a_reviewer_accepts_a_reported_error_and_the_credit_is_corrected(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person(name="张三")
    attendance = attend(session, activity, volunteer, out=END - 45 * MINUTE)
    send(reviewer, approve_url(attendance))
    request = corrections.report_error(session, attendance.id, {"message": "我一直在，忘了按时签退", "claimed_minutes": 120}, volunteer=volunteer, now=AFTER)
    session.commit()

    page = text(reviewer.get("/review/corrections"))
    assert "我一直在，忘了按时签退" in page and "张三" in page
    assert "存入：75 分钟，12 积分" in page and 'value="120"' in page

    answer = send(reviewer, f"/review/corrections/{request.id}/answer", accept="accept", minutes="120", answer="核实无误")

    assert answer.status_code == 302 and answer.location.endswith("/review/corrections")
    assert fresh(session, select(CorrectionRequest.status).where(CorrectionRequest.id == request.id)) == ["accepted"]
    assert balances(session, volunteer).hours.posted == 120
    after = text(reviewer.get("/review/corrections"))
    assert "已接受张三的更正申请" in after and 'id="no-requests"' in after


def test_a_reviewer_declines_a_reported_error_with_an_answer(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person(name="张三")
    attendance = attend(session, activity, volunteer)
    request = corrections.report_error(session, attendance.id, {"message": "时长不对"}, volunteer=volunteer, now=AFTER)
    session.commit()

    undecided = send(reviewer, f"/review/corrections/{request.id}/answer", answer="签到记录无误")
    assert undecided.status_code == 422 and 'class="request has-problem"' in text(undecided)
    assert fresh(session, select(CorrectionRequest.status).where(CorrectionRequest.id == request.id)) == ["open"]

    answer = send(reviewer, f"/review/corrections/{request.id}/answer", accept="decline", answer="签到记录无误")

    assert answer.status_code == 302
    stored = fresh(session, select(CorrectionRequest).where(CorrectionRequest.id == request.id))[0]
    assert (stored.status, stored.answer) == ("declined", "签到记录无误")
    assert fresh(session, select(Attendance.adjusted_minutes).where(Attendance.id == attendance.id)) == [None]
    assert "已驳回张三的更正申请" in text(reviewer.get(answer.location))
