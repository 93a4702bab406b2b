"""Certification programmes, each volunteer's progress, issuing and revoking certificates, and verifying them.

A programme asks for certified hours per category, training hours, a number
of activities and the sign-off of a social worker of at least a given
certificate level. All of it is read from the ledger and the attendances; a
certificate records the figures it rested on when it was issued.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.audit.services import record
from timebank.certify.models import Certificate, CertificateKind, Programme
from timebank.certify.records import ServiceRecord, service_record
from timebank.notices.services import Notification, notify, notify_all
from timebank.certify.stars import person_thresholds
from timebank.certify.schemas import PeriodSchema, ProgrammeSchema, RevocationSchema, VerifyLookupSchema
from timebank.domain import Conflict, NotAllowed, NotFound
from timebank.events.models import Activity, Attendance, AttendanceStatus
from timebank.ledger.models import Account
from timebank.localtime import local_day
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation, home_policy, lineage
from timebank.people.access import CARERS, MANAGERS, Actor
from timebank.people.balances import VolunteerBalances, summary
from timebank.people.models import SOCIAL_WORKER_LEVELS, Person, Role, RoleGrant
from timebank.people.services import load, visible_person

#: Letters and digits that cannot be mistaken for one another when typed from paper.
CHECK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# -- programmes ----------------------------------------------------------------


def create_programme(session: Session, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Programme:
    """A coordinator defines a programme for their organisation (and everyone below it)."""
    values = load(ProgrammeSchema(), data)
    organisation = get_organisation(session, values["organisation_id"])
    actor.require(MANAGERS, organisation)
    programme = Programme(
        organisation_id=organisation.id,
        name=values["name"],
        description=values.get("description"),
        required_minutes_json=json.dumps({k: round(v * 60) for k, v in sorted(values["required_hours"].items()) if v}),
        required_training_minutes=round((values.get("required_training_hours") or 0) * 60),
        required_activities=values.get("required_activities") or 0,
        signoff_level=values["signoff_level"],
        validity_months=values["validity_months"],
        created_by=actor.id,
        created_at=now,
    )
    session.add(programme)
    session.flush()
    record(session, actor=actor.id, action="create_programme", target=("programme", programme.id), changes={"name": [None, programme.name]}, now=now)
    return programme


def retire_programme(session: Session, programme_id: int, *, actor: Actor, now: dt.datetime) -> Programme:
    """No more certificates under this programme; those issued stand."""
    programme = get_programme(session, programme_id)
    actor.require(MANAGERS, programme.organisation)
    if programme.retired_at is None:
        programme.retired_at = now
        record(session, actor=actor.id, action="retire_programme", target=("programme", programme.id), now=now)
    return programme


def get_programme(session: Session, programme_id: int) -> Programme:
    """The programme, or NotFound."""
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise NotFound("Unknown programme.")
    return programme


def _applies(programme: Programme, paths: list[str]) -> bool:
    """True if the programme is defined in one of the subtrees, or above one (it applies there too)."""
    where = programme.organisation.path
    return any(where.startswith(path) or path.startswith(where) for path in paths)


def managed_programme(session: Session, programme_id: int, *, actor: Actor) -> Programme:
    """The programme, if it applies where the actor is a social worker or coordinator."""
    programme = get_programme(session, programme_id)
    if not _applies(programme, actor.paths(CARERS)):
        raise NotAllowed()
    return programme


def managed_programmes(session: Session, *, actor: Actor) -> list[Programme]:
    """Programmes defined in the actor's subtrees, or above them (which apply there too)."""
    paths = actor.paths(CARERS)
    if not paths:
        return []
    stmt = select(Programme).join(Organisation, Organisation.id == Programme.organisation_id).order_by(Programme.retired_at.is_not(None), Programme.name)
    return [p for p in session.scalars(stmt) if _applies(p, paths)]


def programmes_for(session: Session, person: Person) -> list[Programme]:
    """The programmes open to a volunteer: those of their home organisation and the levels above it."""
    ids = [o.id for o in lineage(session, get_organisation(session, person.home_organisation_id))]
    stmt = select(Programme).where(Programme.organisation_id.in_(ids), Programme.retired_at.is_(None)).order_by(Programme.name)
    return list(session.scalars(stmt))


# -- progress ------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One requirement of a programme and how far the volunteer is: `kind` is category, training or activities."""

    kind: str
    needed: int  # minutes, or a count of activities
    have: int
    category: str | None = None

    @property
    def met(self) -> bool:
        return self.have >= self.needed

    @property
    def missing(self) -> int:
        return max(0, self.needed - self.have)


@dataclass(frozen=True)
class Progress:
    """A volunteer against a programme: each requirement, and the certificate that stands, if any."""

    programme: Programme
    requirements: list[Requirement]
    certificate: Certificate | None

    @property
    def met(self) -> bool:
        """Every requirement but the sign-off is met."""
        return all(r.met for r in self.requirements)


def activities_served(session: Session, person_id: int) -> int:
    """Approved service attendances that credited something (training not counted)."""
    stmt = (
        select(func.count())
        .select_from(Attendance)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(
            Attendance.volunteer_id == person_id,
            Attendance.status == AttendanceStatus.APPROVED.value,
            Attendance.credited_minutes > 0,
            Activity.category != "training",
        )
    )
    return int(session.scalar(stmt) or 0)


def balances_of(session: Session, person: Person) -> VolunteerBalances:
    """The volunteer's balances and star level under their home organisation's policy."""
    return summary(session, person.id, home_policy(session, person))


def progress(session: Session, person: Person, programme: Programme, *, now: dt.datetime, balances: VolunteerBalances | None = None, activities: int | None = None) -> Progress:
    """Requirement by requirement, what the volunteer has and what is missing."""
    balances = balances or balances_of(session, person)
    activities = activities_served(session, person.id) if activities is None else activities
    requirements = [
        Requirement("category", needed, balances.certified_by_category.get(category, 0), category)
        for category, needed in programme.required_minutes.items()
    ]
    if programme.required_training_minutes:
        requirements.append(Requirement("training", programme.required_training_minutes, balances.training_minutes))
    if programme.required_activities:
        requirements.append(Requirement("activities", programme.required_activities, activities))
    return Progress(programme, requirements, standing_certificate(session, person.id, programme.id, today=local_day(now)))


def progress_all(session: Session, person: Person, *, now: dt.datetime) -> list[Progress]:
    """The volunteer's progress against every programme open to them."""
    balances, activities = balances_of(session, person), activities_served(session, person.id)
    return [progress(session, person, p, now=now, balances=balances, activities=activities) for p in programmes_for(session, person)]


def standing_certificate(session: Session, person_id: int, programme_id: int, *, today: dt.date) -> Certificate | None:
    """The volunteer's valid certificate of the programme, if one stands."""
    stmt = select(Certificate).where(
        Certificate.person_id == person_id, Certificate.programme_id == programme_id, Certificate.revoked_at.is_(None)
    ).order_by(Certificate.issued_at.desc())
    return next((c for c in session.scalars(stmt) if c.is_valid(today)), None)


# -- issuing, revoking, verifying ---------------------------------------------


def signoff_level(session: Session, actor: Actor, organisation: Organisation) -> str | None:
    """The highest social worker certificate level the actor holds over `organisation`."""
    rows = session.execute(
        select(RoleGrant.certificate_level, Organisation.path)
        .join(Organisation, Organisation.id == RoleGrant.organisation_id)
        .where(RoleGrant.person_id == actor.id, RoleGrant.role == Role.SOCIAL_WORKER.value, RoleGrant.revoked_at.is_(None))
    ).all()
    levels = [SOCIAL_WORKER_LEVELS.index(level) for level, path in rows if level in SOCIAL_WORKER_LEVELS and organisation.path.startswith(path)]
    return SOCIAL_WORKER_LEVELS[max(levels)] if levels else None


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day where it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def numbered(session: Session, certificate: Certificate, *, now: dt.datetime) -> Certificate:
    """Give the certificate the year's next serial number and its random verification key, and store it."""
    return numbered_all(session, [certificate], now=now)[0]


def numbered_all(session: Session, certificates: Sequence[Certificate], *, now: dt.datetime) -> Sequence[Certificate]:
    """Give the certificates the year's next serial numbers in their order, and random verification keys; store them in one flush."""
    year = local_day(now).year
    remembered = session.info.setdefault("certificate_sequences", {})
    for _ in range(5):
        # In a batch the last number this session gave is the year's last; one look-up serves them all.
        last = remembered.get(year)
        if last is None:
            last = session.scalar(select(func.max(Certificate.sequence)).where(Certificate.year == year)) or 0
        for offset, certificate in enumerate(certificates, start=1):
            certificate.year, certificate.sequence = year, last + offset
            certificate.verify_key = secrets.token_urlsafe(18)
            certificate.check_code = "".join(secrets.choice(CHECK_ALPHABET) for _ in range(8))
        remembered[year] = last + len(certificates)
        try:
            with session.begin_nested():
                session.add_all(certificates)
                session.flush()
            return certificates
        except IntegrityError:
            remembered.pop(year, None)  # another issue took a number at the same moment: look again
            continue
    raise Conflict("Certificates are being issued at this very moment; please try again.")


def issue_certificate(session: Session, programme_id: int, person_id: int, *, actor: Actor, now: dt.datetime) -> Certificate:
    """The supervising social worker signs off and the certificate is issued, if every requirement is met."""
    programme = get_programme(session, programme_id)
    person = visible_person(session, person_id, actor=actor)
    home = get_organisation(session, person.home_organisation_id)
    if programme.organisation_id not in {o.id for o in lineage(session, home)}:
        raise NotFound("Unknown programme.")
    if not actor.may((Role.SOCIAL_WORKER,), home):
        raise NotAllowed("Only a supervising social worker of the volunteer's organisation signs off a certificate.")
    level = signoff_level(session, actor, home)
    if level is None or SOCIAL_WORKER_LEVELS.index(level) < SOCIAL_WORKER_LEVELS.index(programme.signoff_level):
        raise NotAllowed("This programme needs the sign-off of a %(level)s or higher.", level=programme.signoff_level)
    if person.id == actor.id:
        raise NotAllowed("You cannot sign off your own certificate.")
    if programme.retired_at is not None:
        raise Conflict("This programme is retired: it issues no more certificates.")
    found = progress(session, person, programme, now=now)
    if found.certificate is not None:
        raise Conflict("A certificate of this programme already stands for the volunteer: %(serial)s.", serial=found.certificate.serial)
    if not found.met:
        raise Conflict("Not every requirement is met yet.")
    balances = balances_of(session, person)
    today = local_day(now)
    certificate = numbered(session, Certificate(
        kind=CertificateKind.PROGRAMME.value, person_id=person.id, organisation_id=programme.organisation_id,
        programme_id=programme.id, issued_at=now, valid_until=add_months(today, programme.validity_months),
        issued_by=actor.id, signed_off_by=actor.id, certified_minutes=balances.certified_minutes,
        training_minutes=balances.training_minutes, activities=activities_served(session, person.id),
        basis_json=json.dumps(balances.certified_by_category, sort_keys=True),
    ), now=now)
    record(session, actor=actor.id, action="issue_certificate", target=("certificate", certificate.id), changes={"serial": [None, certificate.serial]}, now=now)
    certificate_issued(session, certificate, now=now)
    return certificate


def issue_service_record(
    session: Session, person_id: int, period: Mapping[str, Any], *, actor: Actor, now: dt.datetime
) -> tuple[Certificate, ServiceRecord]:
    """A service record certificate (志愿服务记录证明) for one volunteer and a period: the volunteer, or a carer of theirs."""
    values = load(PeriodSchema(), period)
    person = visible_person(session, person_id, actor=actor)
    return record_certificate(session, person, values["start"], values["end"], actor=actor, now=now)


def record_certificate(
    session: Session, person: Person, start: dt.date, end: dt.date, *, actor: Actor, now: dt.datetime, thresholds: Sequence[int] | None = None,
) -> tuple[Certificate, ServiceRecord]:
    """Number and store a service record certificate (the caller has checked who may ask)."""
    thresholds = person_thresholds(session, person) if thresholds is None else thresholds
    found = service_record(session, person, start, end, thresholds=thresholds)
    return record_certificates(session, [(person, found)], actor=actor, now=now)[0], found


def record_certificates(
    session: Session, records: Sequence[tuple[Person, ServiceRecord]], *, actor: Actor, now: dt.datetime, batch_id: int | None = None,
) -> list[Certificate]:
    """Number and store the service record certificates of several people's records at once (a batch's chunk), each holder told."""
    certificates = [
        Certificate(
            kind=CertificateKind.SERVICE_RECORD.value, person_id=person.id, organisation_id=person.home_organisation_id,
            period_start=found.start, period_end=found.end, issued_at=now, issued_by=actor.id,
            certified_minutes=found.service_minutes, training_minutes=found.training_minutes, activities=len(found.service),
            basis_json=json.dumps(found.by_category, sort_keys=True), batch_id=batch_id,
        )
        for person, found in records
    ]
    numbered_all(session, certificates, now=now)
    notify_all(session, [
        Notification(certificate.person_id, "certificate_issued", {"serial": certificate.serial}, key=str(certificate.id), link=f"/certify/certificates/{certificate.id}")
        for certificate in certificates
    ], now=now)
    return certificates


def certificate_issued(session: Session, certificate: Certificate, *, now: dt.datetime) -> None:
    """Tell the holder a certificate was issued to them."""
    notify(session, certificate.person_id, "certificate_issued", {"serial": certificate.serial}, key=str(certificate.id), link=f"/certify/certificates/{certificate.id}", now=now)


def get_certificate(session: Session, certificate_id: int, *, actor: Actor) -> Certificate:
    """A certificate, for its holder or a carer of the holder's organisation."""
    certificate = session.get(Certificate, certificate_id) if certificate_id else None
    if certificate is None:
        raise NotFound("Unknown certificate.")
    visible_person(session, certificate.person_id, actor=actor)
    return certificate


def revoke_certificate(session: Session, certificate_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Certificate:
    """Revoke a certificate with a reason: a social worker or coordinator of the holder's organisation."""
    certificate = get_certificate(session, certificate_id, actor=actor)
    actor.require(CARERS, get_organisation(session, certificate.person.home_organisation_id))
    reason = load(RevocationSchema(), data)["reason"]
    if certificate.revoked_at is not None:
        raise Conflict("This certificate was revoked already.")
    certificate.revoked_at, certificate.revoked_by, certificate.revoke_reason = now, actor.id, reason
    record(session, actor=actor.id, action="revoke_certificate", target=("certificate", certificate.id), changes={"reason": [None, reason]}, now=now)
    return certificate


def certificates_of(session: Session, person_id: int) -> list[Certificate]:
    """A volunteer's certificates, newest first."""
    stmt = select(Certificate).where(Certificate.person_id == person_id).order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    return list(session.scalars(stmt))


def programme_certificates(session: Session, programme_id: int) -> list[Certificate]:
    """Certificates issued under a programme, newest first."""
    stmt = select(Certificate).where(Certificate.programme_id == programme_id).order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    return list(session.scalars(stmt))


def verified(session: Session, key: str) -> Certificate:
    """The certificate whose verification link this is, or NotFound (anyone may ask)."""
    certificate = session.scalar(select(Certificate).where(Certificate.verify_key == key)) if key else None
    if certificate is None:
        raise NotFound("No certificate has this verification link. Check that the whole address was scanned or typed.")
    return certificate


def looked_up(session: Session, data: Mapping[str, Any]) -> Certificate:
    """The certificate with this serial number and check code, or NotFound."""
    values = load(VerifyLookupSchema(), data)
    _, year, sequence = values["serial"].strip().split("-")
    code = values["check_code"].strip().upper().replace(" ", "")
    certificate = session.scalar(select(Certificate).where(Certificate.year == int(year), Certificate.sequence == int(sequence)))
    if certificate is None or not secrets.compare_digest(certificate.check_code, code):
        raise NotFound("No certificate has this serial number and check code. Check both against the paper.")
    return certificate


def candidates(session: Session, programme: Programme, *, actor: Actor, now: dt.datetime, limit: int = 200) -> list[tuple[Person, Progress]]:
    """Volunteers the actor looks after, under the programme, who meet every requirement and hold no standing certificate."""
    prefix = programme.organisation.path
    paths = actor.paths(CARERS)
    if not paths:
        return []
    stmt = (
        select(Person).join(Organisation, Organisation.id == Person.home_organisation_id)
        .where(Organisation.path.startswith(prefix), or_(*[Organisation.path.startswith(p) for p in paths]), Person.status == "active")
        .order_by(Person.id)
    )
    if programme.required_minutes:
        # Only those whose largest required category already holds enough are worth a closer look.
        category, needed = max(programme.required_minutes.items(), key=lambda item: item[1])
        stmt = stmt.join(Account, Account.owner_id == Person.id).where(
            Account.owner_type == "volunteer", Account.commodity == "CERT", Account.code.endswith(f":CERT:{category}"), Account.balance >= needed
        )
    people = session.scalars(stmt)
    found = []
    for person in people:
        item = progress(session, person, programme, now=now)
        if item.met and item.certificate is None:
            found.append((person, item))
            if len(found) >= limit:
                break
    return found
