"""Refusals reach reviewers in the domain's words: whose account, what it holds, which activity; never a ledger code."""

from __future__ import annotations

import datetime as dt

from timebank import ledger
from timebank.events import review
from timebank.ledger import rules
from tests.conftest import END, attend, send, signed_in, text

AFTER = END + dt.timedelta(hours=3)


def spend_points(session, volunteer, points: int) -> None:
    ledger.open_account(session, rules.station_code(1), commodity="PTS", owner_type="station", owner_id=1, now=AFTER)
    ledger.post(session, rules.redemption_legs(volunteer.id, 1, points), kind="redemption", idempotency_key=f"spend:{volunteer.id}", actor=volunteer.id, now=AFTER)
    session.commit()


def test_correcting_spent_points_names_the_volunteer_the_activity_and_what_is_left(app, session, make_activity, make_person, reviewer, monkeypatch):
    activity, volunteer = make_activity(title="敬老院探访"), make_person(name="张秀英")
    attendance = attend(session, activity, volunteer)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    session.commit()
    spend_points(session, volunteer, 15)
    monkeypatch.setattr("timebank.events.review_views.now", lambda: AFTER)
    client = signed_in(app, make_person("social_worker", name="李社工"))

    answer = send(client, f"/review/attendances/{attendance.id}/adjust", minutes="30", reason="提前离开")

    page = text(answer)
    assert answer.status_code == 409
    assert "张秀英 已用掉“敬老院探访”存入的一部分：更正为 30 分钟将短缺 0 分钟、10 积分。协调员可登记原因核销短缺部分，更正随即生效。" in page
    assert "vol:" not in page and "账目" not in page
