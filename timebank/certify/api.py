"""JSON API for certification: certified hours and stars, programmes and progress, issuing, revoking, verifying, batches."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from timebank.auth.login import current_actor, current_person, now, requires
from timebank.auth.schemas import masked_name
from timebank.certify import batch as batches
from timebank.certify import services, stars
from timebank.certify.models import Certificate
from timebank.certify.records_views import send_batch
from timebank.certify.schemas import BatchSchema, ProgrammeSchema, RevocationSchema
from timebank.localtime import local_day
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.access import CARERS, MANAGERS
from timebank.people.models import Person, Role
from timebank.people.services import load, visible_person
from timebank.web import db_session

bp = api_blueprint("certify_api", __name__)


class ProgrammeOutSchema(Schema):
    """A certification programme and what it asks for."""

    id = fields.Integer()
    organisation_id = fields.Integer()
    name = fields.String()
    description = fields.String(allow_none=True)
    required_minutes = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "Certified minutes per category."})
    required_training_minutes = fields.Integer()
    required_activities = fields.Integer()
    signoff_level = fields.String()
    validity_months = fields.Integer()
    retired_at = fields.DateTime(allow_none=True)


class CertificateOutSchema(Schema):
    """An issued certificate as its holder and their carers see it."""

    id = fields.Integer()
    serial = fields.String()
    kind = fields.String(metadata={"description": "programme or service_record"})
    person_id = fields.Integer()
    programme_id = fields.Integer(allow_none=True)
    organisation_id = fields.Integer()
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    issued_at = fields.DateTime()
    valid_until = fields.Date(allow_none=True)
    certified_minutes = fields.Integer()
    training_minutes = fields.Integer()
    activities = fields.Integer()
    basis = fields.Dict(keys=fields.String(), values=fields.Integer())
    revoked_at = fields.DateTime(allow_none=True)
    revoke_reason = fields.String(allow_none=True)
    verify_url = fields.Function(lambda c: url_for("certify.verify", key=c.verify_key, _external=True))


class RequirementSchema(Schema):
    """One requirement: what is needed, what the volunteer has, what is missing."""

    kind = fields.String(metadata={"description": "category, training or activities"})
    category = fields.String(allow_none=True)
    needed = fields.Integer()
    have = fields.Integer()
    missing = fields.Integer()
    met = fields.Boolean()


class ProgressSchema(Schema):
    """A volunteer against one programme."""

    programme = fields.Nested(ProgrammeOutSchema)
    requirements = fields.List(fields.Nested(RequirementSchema))
    met = fields.Boolean(metadata={"description": "Every requirement but the sign-off is met."})
    certificate = fields.Nested(CertificateOutSchema, allow_none=True)


class StarEventSchema(Schema):
    """A star level reached, and lost if a correction took it away."""

    level = fields.Integer()
    reached_at = fields.DateTime()
    lost_at = fields.DateTime(allow_none=True)


class CertificationSchema(Schema):
    """A volunteer's certified hours by category, training, star level and progress, programmes and certificates."""

    person_id = fields.Integer()
    certified_by_category = fields.Dict(keys=fields.String(), values=fields.Integer())
    certified_minutes = fields.Integer()
    training_minutes = fields.Integer()
    star_level = fields.Integer()
    minutes_to_next_star = fields.Integer(allow_none=True)
    star_events = fields.List(fields.Nested(StarEventSchema))
    progress = fields.List(fields.Nested(ProgressSchema))
    certificates = fields.List(fields.Nested(CertificateOutSchema))


class VerificationSchema(Schema):
    """What anyone may learn of a certificate: valid or not, programme, masked holder, issuer, dates."""

    serial = fields.String()
    status = fields.String(metadata={"description": "valid, revoked or expired"})
    programme = fields.String(allow_none=True)
    holder = fields.String()
    organisation = fields.String()
    issued_on = fields.Date()
    valid_until = fields.Date(allow_none=True)


class IssueSchema(Schema):
    """Whom the certificate is for."""

    person_id = fields.Integer(required=True, strict=True)


class BatchOutSchema(Schema):
    """A batch of certificates: how far it is."""

    id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    done = fields.Integer()
    total = fields.Integer()
    error = fields.String(allow_none=True)


def _certification(person: Person) -> dict[str, Any]:
    session, at = db_session(), now()
    balances = services.balances_of(session, person)
    return {
        "person_id": person.id,
        "certified_by_category": balances.certified_by_category,
        "certified_minutes": balances.certified_minutes,
        "training_minutes": balances.training_minutes,
        "star_level": balances.star_level,
        "minutes_to_next_star": balances.minutes_to_next_star,
        "star_events": stars.star_events(session, person.id),
        "progress": services.progress_all(session, person, now=at),
        "certificates": services.certificates_of(session, person.id),
    }


@bp.get("/me/certification")
@documented(response=CertificationSchema)
@requires()
def mine() -> ResponseReturnValue:
    """The signed-in volunteer's certified hours, star level, programme progress and certificates."""
    return jsonify(CertificationSchema().dump(_certification(current_person())))


@bp.get("/people/<int:person_id>/certification")
@documented(response=CertificationSchema)
@requires(*CARERS)
def person(person_id: int) -> ResponseReturnValue:
    """A volunteer's certification, for their social workers and coordinators."""
    return jsonify(CertificationSchema().dump(_certification(visible_person(db_session(), person_id, actor=current_actor()))))


@bp.get("/programmes")
@documented(response=ProgrammeOutSchema, many=True)
@requires(*CARERS)
def programmes() -> ResponseReturnValue:
    """Programmes that apply where the actor works."""
    return jsonify(ProgrammeOutSchema(many=True).dump(services.managed_programmes(db_session(), actor=current_actor())))


@bp.post("/programmes")
@documented(body=ProgrammeSchema, response=ProgrammeOutSchema, status=201)
@requires(*MANAGERS)
def create_programme() -> ResponseReturnValue:
    """Define a programme (required hours as `{"elderly": 100}`)."""
    programme = services.create_programme(db_session(), json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(ProgrammeOutSchema().dump(programme)), 201


@bp.post("/programmes/<int:programme_id>/certificates")
@documented(body=IssueSchema, response=CertificateOutSchema, status=201)
@requires(Role.SOCIAL_WORKER)
def issue(programme_id: int) -> ResponseReturnValue:
    """The supervising social worker signs off and issues the certificate."""
    person_id = load(IssueSchema(), json_body())["person_id"]
    certificate = services.issue_certificate(db_session(), programme_id, person_id, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(CertificateOutSchema().dump(certificate)), 201


@bp.post("/certificates/<int:certificate_id>/revoke")
@documented(body=RevocationSchema, response=CertificateOutSchema)
@requires(*CARERS)
def revoke(certificate_id: int) -> ResponseReturnValue:
    """Revoke a certificate with a reason."""
    certificate = services.revoke_certificate(db_session(), certificate_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(CertificateOutSchema().dump(certificate))


def verification(certificate: Certificate) -> dict[str, Any]:
    """The public facts of a certificate."""
    today = local_day(now())
    status = "revoked" if certificate.revoked_at else "valid" if certificate.is_valid(today) else "expired"
    return {
        "serial": certificate.serial,
        "status": status,
        "programme": certificate.programme.name if certificate.programme else None,
        "holder": masked_name(certificate.person.real_name),
        "organisation": certificate.organisation.name,
        "issued_on": local_day(certificate.issued_at),
        "valid_until": certificate.valid_until,
    }


@bp.get("/certificates/verify/<key>")
@documented(response=VerificationSchema)
def verify(key: str) -> ResponseReturnValue:
    """Anyone: whether the certificate of this verification link stands (no other personal data)."""
    return jsonify(VerificationSchema().dump(verification(services.verified(db_session(), key))))


@bp.post("/certificate-batches")
@documented(body=BatchSchema, response=BatchOutSchema, status=201)
@requires(*MANAGERS)
def start_batch() -> ResponseReturnValue:
    """Queue service record certificates for an organisation and period; made in the background."""
    batch = batches.request_batch(db_session(), json_body(), actor=current_actor(), now=now())
    db_session().commit()
    send_batch(batch.id)
    return jsonify(BatchOutSchema().dump(batch)), 201


@bp.get("/certificate-batches/<int:batch_id>")
@documented(response=BatchOutSchema)
@requires(*MANAGERS)
def batch(batch_id: int) -> ResponseReturnValue:
    """How far a batch is."""
    return jsonify(BatchOutSchema().dump(batches.managed_batch(db_session(), batch_id, actor=current_actor())))
