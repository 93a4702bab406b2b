"""Review and posting, through the services: what is credited, once, and how corrections reverse."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from timebank import ledger
from timebank.domain import Conflict, InvalidInput, NotAllowed
from timebank.events import corrections, review
from timebank.events.models import AttendanceStatus, Flag
from timebank.events.refusals import CreditRefused
from timebank.ledger.models import Transaction
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from timebank.people.balances import summary
from timebank.orgs.policy import DEFAULTS
from tests.conftest import END, NOW, START, SYSTEM, attend

AFTER = END + dt.timedelta(hours=3)
MINUTE = dt.timedelta(minutes=1)


def balances(session, volunteer):
    return summary(session, volunteer.id, DEFAULTS)


def credits_posted(session):
    return session.scalar(select(func.count()).select_from(Transaction).where(Transaction.kind.in_(["service_credit", "training_credit"])))


def test_approval_posts_hours_certified_hours_and_points_in_one_transaction(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    session.commit()
    mine = balances(session, volunteer)
    assert (mine.hours.posted, mine.points.posted, mine.certified_by_category) == (120, 20, {"elderly": 120})
    transaction = session.get(Transaction, attendance.transaction_id)
    assert transaction.actor_id == reviewer.id and (transaction.ref_type, transaction.ref_id) == ("attendance", attendance.id)
    assert list(ledger.verify(session)) == []


def test_approving_twice_posts_once(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer)
    other = actor_for(session, make_person("coordinator"))
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    review.approve_attendance(session, attendance.id, actor=other, now=AFTER)
    session.commit()
    assert credits_posted(session) == 1


def test_minutes_are_clipped_to_the_activity_and_rounded_down(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer, at=START - 40 * MINUTE, out=END - 7 * MINUTE)
    credit = review.review_list(session, activity.id, actor=reviewer)[0].credit
    assert (credit.attended_minutes, credit.minutes, credit.points) == (113, 105, 17)
    assert credit.flags == ()
    assert attendance.status == AttendanceStatus.CHECKED_OUT


def test_too_short_an_attendance_earns_nothing_and_cannot_be_approved_as_is(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer, at=START, out=START + 60 * MINUTE)  # 50 % < 60 %
    item = review.review_list(session, activity.id, actor=reviewer)[0]
    assert item.credit.minutes == 0 and Flag.SHORT in item.credit.flags
    with pytest.raises(Conflict, match="Nothing to credit"):
        review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)


def test_a_forgotten_check_out_is_credited_to_the_planned_end_and_flagged(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person()
    attend(session, activity, volunteer, out=None)
    item = review.review_list(session, activity.id, actor=reviewer)[0]
    assert item.credit.minutes == 120 and Flag.FORGOTTEN_CHECKOUT in item.credit.flags


def test_approve_all_unflagged_leaves_the_flagged_for_a_closer_look(session, make_activity, make_person, reviewer):
    activity = make_activity()
    good = [attend(session, activity, make_person()) for _ in range(3)]
    late = attend(session, activity, make_person(), at=START + 30 * MINUTE)
    approved = review.approve_unflagged(session, activity.id, actor=reviewer, now=AFTER).approved
    session.commit()
    assert {a.id for a in approved} == {a.id for a in good}
    assert late.status == AttendanceStatus.CHECKED_OUT
    assert activity.status == "published"
    review.reject_attendance(session, late.id, "迟到超过半小时", actor=reviewer, now=AFTER)
    session.commit()
    assert activity.status == "settled"


def test_two_reviewers_are_needed_where_the_policy_says_so(session, make_activity, make_person, reviewer, org_tree):
    set_policies(session, org_tree["east"].id, {"reviewers_required": 2}, actor=SYSTEM, now=NOW)
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    assert attendance.status == AttendanceStatus.CHECKED_OUT and credits_posted(session) == 0
    with pytest.raises(Conflict, match="another reviewer"):
        review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    second = actor_for(session, make_person("coordinator"))
    review.approve_attendance(session, attendance.id, actor=second, now=AFTER)
    session.commit()
    assert attendance.status == AttendanceStatus.APPROVED and credits_posted(session) == 1


def test_attendances_are_reviewed_only_after_the_activity_and_never_by_oneself(session, make_activity, make_person, reviewer):
    activity = make_activity()
    attendance = attend(session, activity, make_person())
    with pytest.raises(Conflict, match="finished"):
        review.approve_attendance(session, attendance.id, actor=reviewer, now=NOW)
    own = attend(session, activity, session.get(type(activity.person_in_charge), reviewer.id))
    with pytest.raises(NotAllowed):
        review.approve_attendance(session, own.id, actor=reviewer, now=AFTER)


def test_a_reviewer_elsewhere_is_not_allowed(session, make_activity, make_person):
    activity = make_activity()
    attendance = attend(session, activity, make_person())
    outsider = actor_for(session, make_person("social_worker", org="west"))
    with pytest.raises(NotAllowed):
        review.approve_attendance(session, attendance.id, actor=outsider, now=AFTER)


def test_rejecting_needs_a_reason(session, make_activity, make_person, reviewer):
    activity = make_activity()
    attendance = attend(session, activity, make_person())
    with pytest.raises(InvalidInput):
        review.reject_attendance(session, attendance.id, "  ", actor=reviewer, now=AFTER)


def test_a_correction_after_approval_reverses_and_posts_the_new_figure(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    first = attendance.transaction_id
    review.adjust_minutes(session, attendance.id, {"minutes": 90, "reason": "提前离开半小时"}, actor=reviewer, now=AFTER)
    session.commit()
    mine = balances(session, volunteer)
    assert (mine.hours.posted, mine.points.posted, mine.certified_minutes) == (90, 15, 90)
    reversal = session.scalar(select(Transaction).where(Transaction.reverses_id == first))
    assert "提前离开半小时" in reversal.memo and attendance.transaction_id != first
    assert list(ledger.verify(session)) == []


def test_a_correction_is_refused_when_the_points_were_spent(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    ledger.open_account(session, "station:1:PTS", commodity="PTS", owner_type="station", owner_id=1, now=AFTER)
    ledger.post(session, ledger.rules.redemption_legs(volunteer.id, 1, 20), kind="redemption", idempotency_key="r1", actor=volunteer.id, now=AFTER)
    session.commit()
    with pytest.raises(CreditRefused, match="write-off"):
        review.adjust_minutes(session, attendance.id, {"minutes": 0, "reason": "未到场"}, actor=reviewer, now=AFTER)


def test_training_credits_training_hours_only(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(category="training", title="急救培训"), make_person()
    attendance = attend(session, activity, volunteer)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    session.commit()
    mine = balances(session, volunteer)
    assert (mine.hours.posted, mine.points.posted, mine.certified_minutes, mine.training_minutes) == (0, 0, 0, 120)


def test_the_points_rule_can_be_overridden_per_activity(session, make_activity, make_person, reviewer, org_tree):
    set_policies(session, org_tree["east"].id, {"category_multipliers": {"elderly": 1.5}}, actor=SYSTEM, now=NOW)
    plain, doubled = make_activity(), make_activity(points_per_hour=20, points_multiplier=2)
    assert review.review_list(session, plain.id, actor=reviewer) == []
    attend(session, plain, make_person())
    attend(session, doubled, make_person())
    assert review.review_list(session, plain.id, actor=reviewer)[0].credit.points == 30
    assert review.review_list(session, doubled.id, actor=reviewer)[0].credit.points == 80


def test_fixed_credit_gives_everyone_who_stayed_enough_the_same(session, make_activity, make_person, reviewer):
    activity = make_activity(credit_mode="fixed", fixed_minutes=180)
    attend(session, activity, make_person(), at=START + 20 * MINUTE)
    assert review.review_list(session, activity.id, actor=reviewer)[0].credit.minutes == 180


def test_undecided_attendances_past_ten_working_days_are_overdue(session, make_activity, make_person):
    activity = make_activity()
    attend(session, activity, make_person())
    coordinator = actor_for(session, make_person("coordinator"))
    # NOW is a Friday: ten working days later is the Friday two weeks on.
    assert review.overdue(session, actor=coordinator, now=NOW + dt.timedelta(days=14)) == []
    late = review.overdue(session, actor=coordinator, now=NOW + dt.timedelta(days=15))
    assert [due.isoformat() for _, due in late] == ["2026-12-04"]


def test_a_reported_error_accepted_corrects_the_posted_credit(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer, out=END - 45 * MINUTE)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    request = corrections.report_error(session, attendance.id, {"message": "我一直在，忘了签退时间", "claimed_minutes": 120}, volunteer=volunteer, now=AFTER)
    with pytest.raises(Conflict):
        corrections.report_error(session, attendance.id, {"message": "再次提交"}, volunteer=volunteer, now=AFTER)
    corrections.answer_correction(session, request.id, {"accept": "accept", "answer": "核实无误", "minutes": 120}, actor=reviewer, now=AFTER)
    session.commit()
    assert balances(session, volunteer).hours.posted == 120 and request.status == "accepted"


def test_a_declined_report_changes_nothing_and_says_why(session, make_activity, make_person, reviewer):
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer)
    request = corrections.report_error(session, attendance.id, {"message": "时长不对"}, volunteer=volunteer, now=AFTER)
    corrections.answer_correction(session, request.id, {"accept": "decline", "answer": "签到记录无误"}, actor=reviewer, now=AFTER)
    assert (request.status, request.answer) == ("declined", "签到记录无误")
    assert attendance.adjusted_minutes is None


def test_a_volunteer_cannot_report_someone_elses_attendance(session, make_activity, make_person):
    from timebank.domain import NotFound

    activity = make_activity()
    attendance = attend(session, activity, make_person())
    with pytest.raises(NotFound):
        corrections.report_error(session, attendance.id, {"message": "x"}, volunteer=make_person(), now=AFTER)


def test_being_in_charge_without_a_carers_role_here_does_not_let_one_approve(session, make_activity, make_person, org_tree):
    outsider = make_person("social_worker", org="west")
    activity = make_activity(person_in_charge_id=outsider.id)
    attendance = attend(session, activity, make_person())
    with pytest.raises(NotAllowed):
        review.approve_attendance(session, attendance.id, actor=actor_for(session, outsider), now=AFTER)
    assert credits_posted(session) == 0
