"""`timebank demo`'s data: a real tree, stations and people behind a clean ledger, and accounts a newcomer can sign in to."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.auth.services import SignInRefused, authenticate
from timebank.demo import DEMO_PASSWORD, make_resident_id
from timebank.certify import records
from timebank.certify.records import SUPERVISION_REF
from timebank.events import review
from timebank.events.checkin import presence
from timebank.events.models import Activity, Attendance, CorrectionRequest, Flag, Phase, SignUp
from timebank.grading.models import SupervisionAttendee
from timebank.ledger import Account, Kind, OwnerType, Transaction
from timebank.localtime import local_day
from timebank.orgs.models import Organisation
from timebank.people.access import actor_for
from timebank.people.idnumbers import normalise
from timebank.people.models import FamilyLink, Person, Role, RoleGrant
from timebank.redeem import catalogue, counter, reports
from timebank.redeem.models import MovementReason, Redemption, RedemptionStatus, Station, StockMovement
from tests.conftest import NOW, RESIDENT_ID

SIGN_IN_LINE = re.compile(r"^  (admin|coordinator|social worker|station staff|volunteer|pending) +(1\d{10})  ", re.M)


@pytest.fixture
def db(demo_db):
    """These tests read the shared demo (tests/conftest.py), each from a copy of its own."""
    return demo_db[0]


@pytest.fixture
def demo(demo_db) -> str:
    """What `timebank demo` printed when it built the shared demo."""
    return demo_db[1]


def test_make_resident_id_gives_a_number_with_a_correct_check_digit():
    assert make_resident_id("110101", dt.date(1956, 3, 7), 123) == RESIDENT_ID


def test_the_demo_ledger_verifies_clean(session, demo):
    assert demo.startswith("demo ready: 40 volunteers, ")
    assert list(ledger.verify(session)) == []


def test_every_role_has_a_person_who_signs_in_with_the_printed_phone_and_the_demo_password(session, demo):
    printed = SIGN_IN_LINE.findall(demo)
    assert f"every demo account's password: {DEMO_PASSWORD}" in demo
    roles = {"admin": Role.ADMIN, "coordinator": Role.COORDINATOR, "social worker": Role.SOCIAL_WORKER, "station staff": Role.STATION_STAFF, "volunteer": Role.VOLUNTEER}
    assert {label for label, _ in printed} == set(roles) | {"pending"}

    for label, phone in printed:
        if label == "pending":
            with pytest.raises(SignInRefused, match="waiting for a coordinator"):
                authenticate(session, phone, DEMO_PASSWORD, now=NOW)
            continue
        person = authenticate(session, phone, DEMO_PASSWORD, now=NOW)
        assert actor_for(session, person).has(roles[label]), (label, phone)


def test_the_demo_builds_the_county_tree_and_the_two_real_stations(session, demo):
    tree = {o.name: o for o in session.scalars(select(Organisation))}
    assert tree["大营镇"].path == f"{tree['陕县'].path}{tree['大营镇'].id}/"
    assert tree["东城社区"].parent_id == tree["西关社区"].parent_id == tree["大营镇"].id
    assert {o.level for o in tree.values()} == {"district", "street", "community", "team"}
    stations = dict(session.execute(select(Station.id, Station.name)).all())
    assert stations == {1: "26度万家驿站", 2: "东城社区爱心超市"}
    staff = session.execute(select(RoleGrant.station_id, RoleGrant.person_id).where(RoleGrant.role == "station_staff")).all()
    assert {station for station, _ in staff} == {1, 2}
    levels = set(session.scalars(select(RoleGrant.certificate_level).where(RoleGrant.role == "social_worker")))
    assert levels == {"助理社会工作师", "社会工作师", "高级社会工作师"}


def test_the_ledger_history_belongs_to_real_people(session, demo):
    """Every volunteer account is an active volunteer's; every transaction was made by a real person in a fitting role."""
    owners = set(session.scalars(select(Account.owner_id).where(Account.owner_type == OwnerType.VOLUNTEER.value)))
    active = set(session.scalars(select(Person.id).where(Person.status == "active")))
    assert owners <= active
    grants: dict[int, set[str]] = {}
    for person_id, role in session.execute(select(RoleGrant.person_id, RoleGrant.role).where(RoleGrant.revoked_at.is_(None))):
        grants.setdefault(person_id, set()).add(role)
    by_kind: dict[str, set[int]] = {}
    for kind, actor in session.execute(select(Transaction.kind, Transaction.actor_id)):
        by_kind.setdefault(kind, set()).add(actor)
    assert by_kind[Kind.SERVICE_CREDIT.value] and all("social_worker" in grants[a] for a in by_kind[Kind.SERVICE_CREDIT.value])
    assert all("station_staff" in grants[a] for a in by_kind[Kind.REDEMPTION.value])
    assert all(a in active for actors in by_kind.values() for a in actors)
    pool_owners = set(session.scalars(select(Account.owner_id).where(Account.owner_type == OwnerType.ORGANISATION.value)))
    assert {session.get(Organisation, o).name for o in pool_owners} == {"东城社区", "西关社区"}


def test_family_transfers_follow_confirmed_family_links(session, demo):
    links = session.execute(select(FamilyLink.person_id, FamilyLink.relative_id).where(FamilyLink.confirmed_at.is_not(None))).all()
    linked = {frozenset(pair) for pair in links}
    assert linked and session.scalar(select(func.count()).select_from(FamilyLink).where(FamilyLink.confirmed_at.is_(None))) == 1
    for txn in session.scalars(select(Transaction).where(Transaction.kind == Kind.TRANSFER.value)):
        pair = frozenset(int(code.split(":")[1]) for code in session.scalars(
            select(Account.code).join(ledger.Posting, ledger.Posting.account_id == Account.id).where(ledger.Posting.transaction_id == txn.id)
        ))
        assert pair in linked


def test_volunteers_have_realistic_records_and_valid_sealed_id_numbers(session, demo, vault):
    volunteers = session.scalars(select(Person).join(RoleGrant, RoleGrant.person_id == Person.id).where(RoleGrant.role == "volunteer")).all()
    assert len(volunteers) >= 40
    for person in volunteers:
        number = vault.open(person.id_number_sealed)
        assert normalise("resident_id", number) == number
        assert re.fullmatch(r"1[3-9]\d{9}", person.phone)
        assert 2 <= len(person.real_name) <= 4 and person.categories
    assert session.scalar(select(func.count()).select_from(Person).where(Person.status == "pending")) >= 1


def test_the_stations_have_hours_and_catalogues_and_a_counter_history_with_voids_that_reconciles(session, demo):
    """Redemptions went through the counter inside opening hours, voids the same day with a reason; each station agrees to the point."""
    assert "stations' counters: 26度万家驿站 (每天 8:00–20:00): " in demo and "/stations/2/counter" in demo
    for station in session.scalars(select(Station).order_by(Station.id)):
        assert station.opens_at and station.closes_at and station.open_days
        items = [offer.item for offer in catalogue.catalogue(session, station)]
        assert {item.kind for item in items} == {"goods", "voucher", "service"}
        assert any(item.commodity == "HOUR" for item in items)
        assert any(item.station_id is None for item in items) and any(item.station_id == station.id for item in items)
        assert any(item.limit_per_day for item in items) and any(item.limit_per_month for item in items)
        redemptions = session.scalars(select(Redemption).where(Redemption.station_id == station.id)).all()
        assert redemptions and {r.clerk_id for r in redemptions} == set(session.scalars(
            select(RoleGrant.person_id).where(RoleGrant.role == "station_staff", RoleGrant.station_id == station.id)))
        for redemption in redemptions:
            counter.check_open(station, redemption.created_at)  # raises StationClosed outside opening hours
            assert redemption.number and redemption.lines and redemption.created_at < NOW
        reasons = set(session.scalars(select(StockMovement.reason).where(StockMovement.station_id == station.id)))
        assert {MovementReason.RECEIVED, MovementReason.REDEEMED} <= reasons
        assert reports.reconcile(session, station).agrees
    voided = session.scalars(select(Redemption).where(Redemption.status == RedemptionStatus.VOIDED.value)).all()
    assert voided
    for redemption in voided:
        assert redemption.void_reason and local_day(redemption.voided_at) == local_day(redemption.created_at)
        assert session.get(Transaction, redemption.void_transaction_id).reverses_id == redemption.transaction_id
    assert list(ledger.verify(session)) == []


def activity(session: Session, title: str) -> Activity:
    return session.scalar(select(Activity).where(Activity.title == title))


def test_the_demo_has_activities_in_every_phase_an_upcoming_one_full_with_a_waiting_list_one_with_volunteers_in(session, demo):
    phases = {a.phase(NOW) for a in session.scalars(select(Activity))}
    assert phases == set(Phase)
    settled = re.search(r"activities: 1 draft, 1 published, 1 under way, 3 finished, (\d+) settled, 1 cancelled;", demo)
    assert settled and int(settled[1]) > 2  # the two built through the pages, and the ledger history's
    upcoming = activity(session, "教老年人用智能手机")
    statuses = sorted(session.scalars(select(SignUp.status).where(SignUp.activity_id == upcoming.id)))
    assert statuses.count("signed_up") == upcoming.capacity == 5
    assert statuses.count("waiting") == 2 and statuses.count("cancelled") == 1
    under_way = activity(session, "楼院环境整治志愿行动")
    assert under_way.phase(NOW) is Phase.UNDER_WAY and presence(session, under_way.id)["in"] == 6


def test_approved_attendances_were_credited_by_review_and_corrected_by_reversal_and_reposting(session, demo):
    approved = session.scalars(select(Attendance).where(Attendance.status == "approved")).all()
    assert approved and activity(session, "志愿者应急救护知识培训").status == "settled"
    for attendance in approved:
        posted = session.get(Transaction, attendance.transaction_id)
        assert (posted.ref_type, posted.ref_id) == ("attendance", attendance.id)
        assert posted.idempotency_key == f"attendance:{attendance.id}:v{attendance.credit_version}"
        assert posted.kind == (Kind.TRAINING_CREDIT if attendance.activity.is_training else Kind.SERVICE_CREDIT)
        assert attendance.credited_minutes > 0
    rejected = session.scalars(select(Attendance).where(Attendance.status == "rejected")).one()
    assert rejected.transaction_id is None and rejected.reject_reason
    requests = {r.status: r for r in session.scalars(select(CorrectionRequest))}
    assert set(requests) == {"open", "accepted"}
    corrected = requests["accepted"].attendance
    assert corrected.credit_version == 1 and corrected.credited_minutes == 150
    memo = f"correction of attendance {corrected.id}:%"
    assert session.scalar(select(Transaction).where(Transaction.kind == Kind.REVERSAL.value, Transaction.memo.like(memo)))


def test_every_service_credited_in_the_demos_months_is_an_approved_attendance_or_supervision_its_volunteer_sees(session, demo):
    """Only the long-serving volunteers' earlier years, from before the service was used, are credits without an attendance."""
    credits = session.execute(select(Transaction.ref_type, Transaction.ref_id).where(
        Transaction.kind.in_([Kind.SERVICE_CREDIT.value, Kind.TRAINING_CREDIT.value]), Transaction.reverses_id.is_(None),
        Transaction.event_at >= NOW - dt.timedelta(days=30))).all()
    assert len(credits) > 40 and {ref_type for ref_type, _ in credits} == {"attendance", SUPERVISION_REF}
    for ref_type, ref_id in credits:
        if ref_type == SUPERVISION_REF:
            # A supervision session's training credit: each attendee sees it as training on their service record.
            attendees = session.scalars(select(SupervisionAttendee.volunteer_id).where(SupervisionAttendee.session_id == ref_id)).all()
            assert attendees and all(
                any(credit.supervision_id == ref_id for credit in records.credits(session, volunteer_id)) for volunteer_id in attendees
            )
            continue
        attendance = session.get(Attendance, ref_id)
        assert attendance is not None and attendance in review.attendances_of(session, attendance.volunteer_id, limit=1000)


def test_finished_activities_wait_for_review_flagged_for_a_second_reviewer_or_overdue(session, demo):
    west_worker = session.scalar(select(Person).where(Person.phone == "13900000023"))
    items = review.review_list(session, activity(session, "垃圾分类入户宣传").id, actor=actor_for(session, west_worker))
    assert {Flag.LATE, Flag.FORGOTTEN_CHECKOUT, Flag.OUTSIDE_DISTANCE} <= {flag for item in items for flag in item.credit.flags}
    assert all(item.attendance.status in ("checked_in", "checked_out") for item in items)
    drill = session.scalars(select(Attendance).where(Attendance.activity_id == activity(session, "汛期应急物资清点演练").id))
    assert sorted((len(a.reviews), a.status) for a in drill) == [(0, "checked_out"), (1, "checked_out"), (2, "approved"), (2, "approved")]
    coordinator = session.scalar(select(Person).where(Person.phone == "13900000011"))
    overdue = review.overdue(session, actor=actor_for(session, coordinator), now=NOW)
    assert {a.activity.title for a, _ in overdue} == {"“四点半课堂”作业辅导"}
