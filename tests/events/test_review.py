"""Review and posting, through the services: what is credited, once, and how corrections reverse."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from timebank import ledger
from timebank.domain import Conflict, InvalidInput, NotAllowed
from timebank.audit.services import entries
from timebank.events import corrections, review, writeoff
from timebank.events.ties import check_attendances
from timebank.events.models import AttendanceStatus, Flag
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


def spend_points(session, volunteer, points):
    """The volunteer spends points at station 1, and it is committed."""
    ledger.open_account(session, "station:1:PTS", commodity="PTS", owner_type="station", owner_id=1, now=AFTER)
    ledger.post(session, ledger.rules.redemption_legs(volunteer.id, 1, points), kind="redemption", idempotency_key=f"spend:{volunteer.id}:{points}", actor=volunteer.id, now=AFTER)
    session.commit()


def approved_and_spent(session, make_activity, make_person, reviewer, points):
    """An attendance approved at 120 minutes and 20 points, of which the volunteer spent `points`."""
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    session.commit()
    spend_points(session, volunteer, points)
    return attendance, volunteer


def test_an_upward_correction_goes_through_when_part_of_the_credit_was_spent(session, make_activity, make_person, reviewer):
    """Approve 120, spend 15 of the 20 points, correct to 150: the net is +30 minutes, never an overdraft."""
    attendance, volunteer = approved_and_spent(session, make_activity, make_person, reviewer, 15)

    review.adjust_minutes(session, attendance.id, {"minutes": 150, "reason": "签退漏记半小时"}, actor=reviewer, now=AFTER)
    session.commit()

    mine = balances(session, volunteer)
    assert (mine.hours.posted, mine.points.posted, mine.certified_minutes) == (150, 10, 150)
    assert (attendance.credited_minutes, attendance.credited_points) == (150, 25)
    assert list(ledger.verify(session, checks=[check_attendances])) == []


def test_a_downward_correction_the_rest_of_the_credit_covers_goes_through(session, make_activity, make_person, reviewer):
    """Approve 120 (20 points), spend 5, correct to 90 (15 points): taking back 5 of the 15 left is no overdraft."""
    attendance, volunteer = approved_and_spent(session, make_activity, make_person, reviewer, 5)

    review.adjust_minutes(session, attendance.id, {"minutes": 90, "reason": "提前离开"}, actor=reviewer, now=AFTER)
    session.commit()

    assert (balances(session, volunteer).points.posted, attendance.credited_points) == (10, 15)
    assert list(ledger.verify(session, checks=[check_attendances])) == []


def test_an_upward_correction_near_the_storage_cap_reverses_first(session, make_activity, make_person, reviewer, org_tree):
    """With a 150-minute cap, 120 then 150 would overshoot for a moment: the reversal goes first instead."""
    set_policies(session, org_tree["east"].id, {"hour_cap_minutes": 150}, actor=SYSTEM, now=NOW)
    session.commit()
    activity, volunteer = make_activity(), make_person()
    attendance = attend(session, activity, volunteer)
    review.approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)

    review.adjust_minutes(session, attendance.id, {"minutes": 150, "reason": "签退漏记"}, actor=reviewer, now=AFTER)
    session.commit()

    assert balances(session, volunteer).hours.posted == 150
    assert list(ledger.verify(session, checks=[check_attendances])) == []


def test_a_correction_the_volunteer_cannot_cover_is_refused_naming_the_shortfall(session, make_activity, make_person, reviewer):
    attendance, volunteer = approved_and_spent(session, make_activity, make_person, reviewer, 20)

    with pytest.raises(review.CreditSpent) as refused:
        review.adjust_minutes(session, attendance.id, {"minutes": 30, "reason": "只待了半小时"}, actor=reviewer, now=AFTER)
    session.rollback()

    assert refused.value.params == {"name": "测试志愿者", "activity": "敬老院探访", "minutes": 30, "short_minutes": 0, "short_points": 15}
    assert "write_off" in refused.value.errors
    assert balances(session, volunteer).points.posted == 0


def test_a_coordinator_writes_off_the_shortfall_and_the_correction_posts(session, make_activity, make_person, reviewer):
    """The write-off is its own transaction, with the coordinator and the reason; the ledger and its ties stay clean."""
    attendance, volunteer = approved_and_spent(session, make_activity, make_person, reviewer, 20)
    coordinator = actor_for(session, make_person("coordinator", name="陈协调员"))

    corrected, write_off = writeoff.write_off_and_correct(session, attendance.id, {"minutes": 0, "reason": "未到场，积分已兑换"}, actor=coordinator, now=AFTER)
    session.commit()

    assert (write_off.kind, write_off.actor_id, (write_off.ref_type, write_off.ref_id)) == ("write_off", coordinator.id, ("attendance", attendance.id))
    assert "未到场，积分已兑换" in write_off.memo
    assert (corrected.status, corrected.credited_minutes, corrected.credited_points) == ("approved", 0, 0)
    mine = balances(session, volunteer)
    assert (mine.hours.posted, mine.points.posted, mine.certified_minutes) == (0, 0, 0)
    assert ledger.balance(session, "sys:write-off:PTS").posted == -20
    assert [e.action for e in entries(session, target=("attendance", attendance.id))][:2] == ["write_off", "correct_attendance"]
    assert list(ledger.verify(session, checks=[check_attendances])) == []


def test_only_a_coordinator_writes_off_and_only_what_a_correction_cannot_cover(session, make_activity, make_person, reviewer):
    attendance, _ = approved_and_spent(session, make_activity, make_person, reviewer, 5)
    coordinator = actor_for(session, make_person("coordinator", name="陈协调员"))

    with pytest.raises(NotAllowed):
        writeoff.write_off_and_correct(session, attendance.id, {"minutes": 0, "reason": "未到场"}, actor=reviewer, now=AFTER)
    session.rollback()
    with pytest.raises(Conflict, match="Nothing to write off"):
        writeoff.write_off_and_correct(session, attendance.id, {"minutes": 90, "reason": "提前离开"}, actor=coordinator, now=AFTER)


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
