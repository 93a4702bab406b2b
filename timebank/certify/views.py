"""Certification pages: a volunteer's stars and progress, programmes, issuing, certificates (HTML and PDF), verification."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from timebank.auth.login import current_actor, current_person, limiter, now, requires
from timebank.auth.schemas import masked_name
from timebank.categories import SERVICE_CATEGORIES
from timebank.certify import services, stars
from timebank.certify.batch import holder
from timebank.certify.models import Certificate, CertificateKind
from timebank.certify.pdf import certified_statement, draw_programme_certificate, draw_service_record, single_pdf
from timebank.certify.records import service_record
from timebank.domain import DomainError
from timebank.events.poster import qr_svg
from timebank.localtime import local_day
from timebank.orgs.services import get_organisation, tree
from timebank.people.access import CARERS, MANAGERS
from timebank.people.models import SOCIAL_WORKER_LEVELS, Person, Role
from timebank.people.services import visible_person
from timebank.web import db_session, done, form_data, submit

bp = Blueprint("certify", __name__, url_prefix="/certify")

REQUIREMENT_NAMES = {
    "training": lazy_gettext("Training hours"),
    "activities": lazy_gettext("Activities served"),
}


@bp.app_template_filter("hours_figure")
def hours_figure(minutes: int) -> str:
    """Minutes as a figure of hours: `2`, `1.5`."""
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


@bp.context_processor
def labels() -> dict[str, Any]:
    """How requirements read on the certification pages."""

    def requirement_name(requirement: services.Requirement) -> str:
        if requirement.kind == "category":
            return gettext("Certified hours: %(category)s", category=SERVICE_CATEGORIES.get(requirement.category, requirement.category))
        return str(REQUIREMENT_NAMES[requirement.kind])

    return {"requirement_name": requirement_name}


def verify_url(key: str) -> str:
    """The public verification address printed as the certificate's QR code."""
    return url_for("certify.verify", key=key, _external=True)


def _default_period() -> dict[str, str]:
    today = local_day(now())
    return {"start": today.replace(month=1, day=1).isoformat(), "end": today.isoformat()}


def _overview(person: Person) -> dict[str, Any]:
    """What a volunteer's certification page shows: balances, star levels reached, programmes, certificates."""
    session, at = db_session(), now()
    return {
        "person": person,
        "balances": services.balances_of(session, person),
        "star_events": stars.star_events(session, person.id),
        "progress": services.progress_all(session, person, now=at),
        "certificates": services.certificates_of(session, person.id),
        "period": _default_period(),
        "today": local_day(at),
    }


@bp.get("/me")
@requires()
def mine() -> ResponseReturnValue:
    """The volunteer's own certified hours, stars, programme progress and certificates."""
    return render_template("certify/person.html", own=True, may_issue=False, **_overview(current_person()))


@bp.get("/people/<int:person_id>")
@requires(*CARERS)
def person(person_id: int) -> ResponseReturnValue:
    """A volunteer's certification as their social worker or coordinator sees it, with sign-off where due."""
    found = visible_person(db_session(), person_id, actor=current_actor())
    actor = current_actor()
    return render_template("certify/person.html", own=found.id == actor.id, may_issue=actor.has(Role.SOCIAL_WORKER), **_overview(found))


@bp.post("/people/<int:person_id>/records")
@requires()
def make_record(person_id: int) -> ResponseReturnValue:
    """Issue a service record certificate for a period: the volunteer themself, or their carers."""
    session = db_session()
    found = visible_person(session, person_id, actor=current_actor())

    def issue() -> ResponseReturnValue:
        certificate, _ = services.issue_service_record(session, person_id, form_data(), actor=current_actor(), now=now())
        return done(gettext("The service record certificate %(serial)s is ready to print.", serial=certificate.serial), "certify.certificate", certificate_id=certificate.id)

    return submit(issue, template="certify/person.html", own=found.id == current_actor().id, may_issue=False, **_overview(found))


@bp.post("/programmes/<int:programme_id>/people/<int:person_id>/issue")
@requires(Role.SOCIAL_WORKER)
def issue(programme_id: int, person_id: int) -> ResponseReturnValue:
    """The supervising social worker signs off: the certificate is issued."""
    certificate = services.issue_certificate(db_session(), programme_id, person_id, actor=current_actor(), now=now())
    return done(gettext("Certificate %(serial)s issued.", serial=certificate.serial), "certify.certificate", certificate_id=certificate.id)


# -- certificates ----------------------------------------------------------------


def _document(certificate: Certificate) -> dict[str, Any]:
    """What the printed certificate shows."""
    session = db_session()
    address = verify_url(certificate.verify_key)
    context: dict[str, Any] = {
        "certificate": certificate,
        "holder": holder(certificate.person),
        "verify_url": address,
        "qr_svg": lambda url: qr_svg(url, gettext("Scan to check this certificate")),
    }
    if certificate.kind == CertificateKind.SERVICE_RECORD.value:
        context["record"] = service_record(session, certificate.person, certificate.period_start, certificate.period_end,
                                           thresholds=stars.person_thresholds(session, certificate.person))
    else:
        context["signer"] = session.get(Person, certificate.signed_off_by).real_name if certificate.signed_off_by else ""
        context["statement"] = certified_statement(certificate, context["holder"].name)
    return context


@bp.get("/certificates/<int:certificate_id>")
@requires()
def certificate(certificate_id: int) -> ResponseReturnValue:
    """The certificate as a print-ready A4 page, with its holder's carers' revocation form."""
    actor = current_actor()
    found = services.get_certificate(db_session(), certificate_id, actor=actor)
    may_revoke = found.revoked_at is None and actor.may(CARERS, get_organisation(db_session(), found.person.home_organisation_id))
    return render_template("certify/certificate.html", may_revoke=may_revoke, **_document(found))


@bp.get("/certificates/<int:certificate_id>.pdf")
@requires()
def certificate_pdf(certificate_id: int) -> ResponseReturnValue:
    """The certificate as a PDF (A4, its Chinese font embedded)."""
    found = services.get_certificate(db_session(), certificate_id, actor=current_actor())
    context = _document(found)
    if "record" in context:
        body = single_pdf(draw_service_record, context["record"], context["holder"], found, found.organisation.name, context["verify_url"])
    else:
        body = single_pdf(draw_programme_certificate, found, context["holder"], context["signer"], context["verify_url"])
    return Response(body, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{found.serial}.pdf"'})


@bp.post("/certificates/<int:certificate_id>/revoke")
@requires(*CARERS)
def revoke(certificate_id: int) -> ResponseReturnValue:
    """Revoke a certificate, saying why; its verification page says so from now on."""
    session = db_session()
    found = services.get_certificate(session, certificate_id, actor=current_actor())

    def revoke_it() -> ResponseReturnValue:
        services.revoke_certificate(session, certificate_id, form_data(), actor=current_actor(), now=now())
        return done(gettext("Certificate %(serial)s has been revoked.", serial=found.serial), "certify.certificate", certificate_id=certificate_id)

    return submit(revoke_it, template="certify/certificate.html", may_revoke=True, **_document(found))


# -- public verification -----------------------------------------------------------


def _verification(found: Certificate) -> dict[str, Any]:
    """Only what the public may know: valid or not, programme, masked name, issuing organisation, dates."""
    today = local_day(now())
    return {
        "found": found,
        "valid": found.is_valid(today),
        "expired": found.revoked_at is None and not found.is_valid(today),
        "masked": masked_name(found.person.real_name),
    }


@bp.get("/verify/<key>")
def verify(key: str) -> ResponseReturnValue:
    """The public page a certificate's QR code opens: valid or revoked, and no other personal data."""
    try:
        found = services.verified(db_session(), key)
    except DomainError as exc:
        return render_template("certify/verify.html", message=gettext(exc.template), form={}), 404
    return render_template("certify/verify.html", **_verification(found))


@bp.get("/verify")
@limiter.limit("30 per minute;300 per hour")  # serials are sequential: guessing check codes must stay slow
def lookup() -> ResponseReturnValue:
    """Check a paper certificate by its serial number and check code, where its code cannot be scanned."""
    if not request.args:
        return render_template("certify/verify.html", form={})
    try:
        found = services.looked_up(db_session(), request.args)
    except DomainError as exc:
        return render_template("certify/verify.html", message=gettext(exc.template), errors=exc.errors, form=request.args), 404 if not exc.errors else 422
    return render_template("certify/verify.html", form=request.args, **_verification(found))


# -- programmes ---------------------------------------------------------------------


def _programme_form() -> dict[str, Any]:
    actor = current_actor()
    paths = actor.paths(MANAGERS)
    organisations = tree(db_session(), root_paths=paths) if paths else []
    return {
        "organisations": [(o.id, o.name) for o in organisations],
        "levels": [(level, level) for level in SOCIAL_WORKER_LEVELS],
        "categories": [(k, v) for k, v in SERVICE_CATEGORIES.items() if k != "training"],
    }


@bp.get("/programmes")
@requires(*CARERS)
def programmes() -> ResponseReturnValue:
    """The programmes that apply where the actor works."""
    return render_template("certify/programmes.html", programmes=services.managed_programmes(db_session(), actor=current_actor()))


@bp.route("/programmes/new", methods=["GET", "POST"])
@requires(*MANAGERS)
def new_programme() -> ResponseReturnValue:
    """Define a programme: certified hours per category, training, activities, sign-off level, validity."""
    context = _programme_form()
    if request.method == "GET":
        return render_template("certify/programme_form.html", form={"validity_months": 36}, **context)

    def create() -> ResponseReturnValue:
        programme = services.create_programme(db_session(), form_data(), actor=current_actor(), now=now())
        return done(gettext("The programme has been saved."), "certify.programme", programme_id=programme.id)

    return submit(create, template="certify/programme_form.html", **context)


@bp.get("/programmes/<int:programme_id>")
@requires(*CARERS)
def programme(programme_id: int) -> ResponseReturnValue:
    """A programme: what it asks for, who meets it and awaits sign-off, and the certificates issued."""
    session, actor = db_session(), current_actor()
    found = services.managed_programme(session, programme_id, actor=actor)
    return render_template(
        "certify/programme.html",
        programme=found,
        candidates=services.candidates(session, found, actor=actor, now=now()) if found.retired_at is None else [],
        certificates=services.programme_certificates(session, found.id),
        may_issue=actor.has(Role.SOCIAL_WORKER),
        today=local_day(now()),
    )


@bp.post("/programmes/<int:programme_id>/retire")
@requires(*MANAGERS)
def retire(programme_id: int) -> ResponseReturnValue:
    """Issue no more certificates under the programme; those issued stand."""
    services.retire_programme(db_session(), programme_id, actor=current_actor(), now=now())
    return done(gettext("The programme is retired: it issues no more certificates."), "certify.programme", programme_id=programme_id)

