"""JSON API for people: oneself, registrations, search, records, approval, passwords, ID numbers, roles."""

from __future__ import annotations

import io

from flask import current_app, jsonify, request, url_for
from flask_babel import gettext
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from timebank.auth import codes
from timebank.auth import services as auth
from timebank.auth.login import current_actor, current_person, limiter, now, requires, vault
from timebank.auth.schemas import CardCodeSchema, MemberCodeSchema
from timebank.errors import error_response
from timebank.ledger.models import Commodity
from timebank.openapi import api_blueprint, documented, json_body
from timebank.orgs.services import home_policy
from timebank.people import background_imports, services
from timebank.people.access import CARERS, MANAGERS
from timebank.people.api_schemas import (
    PER_PAGE,
    BackgroundImportSchema,
    BalancesSchema,
    IdNumberSchema,
    ImportInSchema,
    ImportReportSchema,
    MeSchema,
    PeopleQuerySchema,
    PersonPageSchema,
    PersonRecordSchema,
    RejectionSchema,
    RoleGrantOutSchema,
    StatementPageSchema,
    StatementQuerySchema,
    TemporaryPasswordSchema,
)
from timebank.people.balances import VolunteerBalances, history, summary
from timebank.people.import_views import in_background
from timebank.people.importing import WEB_MAX_ROWS, ImportReport, import_volunteers, read_rows
from timebank.people.models import PeopleImport, Person
from timebank.people.registers import managed_person
from timebank.people.schemas import PersonOutSchema, ProfileSchema, RegistrationSchema, RoleGrantSchema
from timebank.people.tasks import background_rows
from timebank.web import db_session

bp = api_blueprint("people_api", __name__)


def balances_of(session: Session, person: Person) -> VolunteerBalances:
    """The person's balances under their home organisation's policy."""
    return summary(session, person.id, home_policy(session, person))


@bp.get("/me")
@documented(response=MeSchema)
@requires()
def me() -> ResponseReturnValue:
    """The signed-in person's profile, roles and balances."""
    person = current_person()
    balances = balances_of(db_session(), person)
    return jsonify(MeSchema().dump({"person": person, "roles": person.roles, "balances": balances}))


@bp.patch("/me")
@documented(body=ProfileSchema, response=PersonOutSchema)
@requires()
def update_me() -> ResponseReturnValue:
    """Edit one's own profile; only the fields sent change."""
    person = services.update_profile(db_session(), current_person().id, json_body(), actor=current_actor(), vault=vault(), now=now())
    db_session().commit()
    return jsonify(PersonOutSchema().dump(person))


@bp.get("/me/member-code")
@documented(response=MemberCodeSchema)
@requires()
def member_code() -> ResponseReturnValue:
    """A fresh member code (我的码) for the phone screen, valid for two minutes."""
    code = codes.phone_code(current_person(), current_app.config["SECRET_KEY"], now=now())
    return jsonify(MemberCodeSchema().dump({"code": code, "expires_in": codes.PHONE_CODE_SECONDS}))


@bp.get("/me/statement")
@documented(query=StatementQuerySchema, response=StatementPageSchema)
@requires()
def statement() -> ResponseReturnValue:
    """One's statement of hours or points, newest first, a page at a time."""
    query = services.load(StatementQuerySchema(), request.args)
    commodity = Commodity.PTS if query["show"] == "points" else Commodity.HOUR
    page = history(db_session(), current_person().id, commodity, before=query["before"])
    return jsonify(StatementPageSchema().dump(page))


@bp.get("/me/card")
@documented(response=CardCodeSchema)
@requires()
def my_card() -> ResponseReturnValue:
    """The code of one's own printed card, for those who print it themselves."""
    return _card(current_person())


@bp.post("/registrations")
@documented(body=RegistrationSchema, response=PersonOutSchema, status=201)
@limiter.limit("10 per hour")
def register() -> ResponseReturnValue:
    """Register oneself as a volunteer; a coordinator approves before one can sign in."""
    person = services.register(db_session(), json_body(), actor=None, vault=vault(), now=now())
    db_session().commit()
    return jsonify(PersonOutSchema().dump(person)), 201


@bp.get("/people")
@documented(query=PeopleQuerySchema, response=PersonPageSchema)
@requires(*CARERS)
def search() -> ResponseReturnValue:
    """People of the actor's organisations, by name, phone, volunteer number or masked ID; newest first."""
    query = services.load(PeopleQuerySchema(), request.args)
    found, total = services.search(
        db_session(),
        actor=current_actor(),
        query=query["q"],
        status=query["status"],
        limit=PER_PAGE,
        offset=(query["page"] - 1) * PER_PAGE,
    )
    return jsonify(PersonPageSchema().dump({"items": found, "total": total, "page": query["page"], "per_page": PER_PAGE}))


@bp.post("/people")
@documented(body=RegistrationSchema, response=PersonOutSchema, status=201)
@requires(*MANAGERS)
def register_in_person() -> ResponseReturnValue:
    """Register someone in person; they are active at once (a password is optional)."""
    person = services.register(db_session(), json_body(), actor=current_actor(), vault=vault(), now=now())
    db_session().commit()
    return jsonify(PersonOutSchema().dump(person)), 201


@bp.get("/people/<int:person_id>")
@documented(response=PersonRecordSchema)
@requires()
def person(person_id: int) -> ResponseReturnValue:
    """One person's record and roles (oneself, or a carer of their organisation)."""
    found = services.visible_person(db_session(), person_id, actor=current_actor())
    return jsonify(PersonRecordSchema().dump(found))


@bp.patch("/people/<int:person_id>")
@documented(body=ProfileSchema, response=PersonRecordSchema)
@requires()
def update_person(person_id: int) -> ResponseReturnValue:
    """Edit a profile (oneself, or a coordinator of their organisation); only the fields sent change."""
    found = services.update_profile(db_session(), person_id, json_body(), actor=current_actor(), vault=vault(), now=now())
    db_session().commit()
    return jsonify(PersonRecordSchema().dump(found))


@bp.post("/people/<int:person_id>/approve")
@documented(response=PersonOutSchema)
@requires(*MANAGERS)
def approve(person_id: int) -> ResponseReturnValue:
    """Approve a pending registration: the volunteer role and ledger accounts follow."""
    found = services.approve(db_session(), person_id, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(PersonOutSchema().dump(found))


@bp.post("/people/<int:person_id>/reject")
@documented(body=RejectionSchema, response=PersonOutSchema)
@requires(*MANAGERS)
def reject(person_id: int) -> ResponseReturnValue:
    """Turn down a pending registration, saying why."""
    reason = json_body().get("reason")  # checked by the service, after who may reject
    found = services.reject(db_session(), person_id, actor=current_actor(), reason=reason, now=now())
    db_session().commit()
    return jsonify(PersonOutSchema().dump(found))


@bp.post("/people/<int:person_id>/reset-password")
@documented(response=TemporaryPasswordSchema)
@requires(*MANAGERS)
def reset_password(person_id: int) -> ResponseReturnValue:
    """Set a temporary password, shown this once; the person must change it at the next sign-in."""
    temporary = auth.reset_password(db_session(), person_id, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(TemporaryPasswordSchema().dump({"temporary_password": temporary}))


@bp.post("/people/<int:person_id>/id-number")
@documented(response=IdNumberSchema)
@requires()
def id_number(person_id: int) -> ResponseReturnValue:
    """The whole ID number (oneself, or a coordinator of theirs); every view is logged."""
    number = services.reveal_id_number(db_session(), person_id, actor=current_actor(), vault=vault(), now=now())
    db_session().commit()
    return jsonify(IdNumberSchema().dump({"id_number": number}))


@bp.post("/people/<int:person_id>/roles")
@documented(body=RoleGrantSchema, response=RoleGrantOutSchema, status=201)
@requires(*MANAGERS)
def grant_role(person_id: int) -> ResponseReturnValue:
    """Give a person a role over an organisation subtree the actor manages."""
    grant = services.grant_role(db_session(), person_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(RoleGrantOutSchema().dump(grant)), 201


@bp.delete("/roles/<int:grant_id>")
@documented(response=RoleGrantOutSchema)
@requires(*MANAGERS)
def revoke_role(grant_id: int) -> ResponseReturnValue:
    """End a role grant; it is kept, marked revoked."""
    grant = services.revoke_role(db_session(), grant_id, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(RoleGrantOutSchema().dump(grant))


@bp.get("/people/<int:person_id>/balances")
@documented(response=BalancesSchema)
@requires(*MANAGERS)
def balances(person_id: int) -> ResponseReturnValue:
    """A volunteer's balances, for a coordinator over them: hours, points, certified minutes and star level."""
    person = managed_person(db_session(), person_id, actor=current_actor())
    return jsonify(BalancesSchema().dump(balances_of(db_session(), person)))


@bp.get("/people/<int:person_id>/card")
@documented(response=CardCodeSchema)
@requires(*MANAGERS)
def card(person_id: int) -> ResponseReturnValue:
    """The code of a volunteer's printed card, for the coordinator who prints it."""
    return _card(managed_person(db_session(), person_id, actor=current_actor()))


def _card(person: Person) -> ResponseReturnValue:
    return jsonify(CardCodeSchema().dump({"code": codes.card_code(person, current_app.secret_key), "card_version": person.card_version})), 200, {"Cache-Control": "no-store"}


@bp.post("/people/imports")
@documented(body=ImportInSchema, response=ImportReportSchema, status=201, accepted=BackgroundImportSchema)
@requires(*MANAGERS)
def import_people() -> ResponseReturnValue:
    """Register the volunteers of a CSV (the import template's columns): all of them, or none and each row's problems.

    A file of more than PEOPLE_IMPORT_BACKGROUND_ROWS rows (500) is imported in
    the background: 202, and its `status_url` (also `Location`) gives the report.
    """
    values = services.load(ImportInSchema(), json_body())
    content = values["csv"].encode("utf-8")
    if background_imports.more_rows_than(io.BytesIO(content), "volunteers.csv", background_rows()):
        record = in_background(io.BytesIO(content), "volunteers.csv", values["organisation_id"])
        body = _background(record)
        return jsonify(body), 202, {"Location": body["status_url"]}
    rows = read_rows(io.BytesIO(content), "volunteers.csv")
    report = import_volunteers(db_session(), rows, organisation_id=values["organisation_id"], actor=current_actor(),
                               vault=vault(), now=now(), max_rows=WEB_MAX_ROWS)
    if not report.ok:
        db_session().rollback()
        return _refused(report)
    db_session().commit()
    return jsonify(ImportReportSchema().dump(report)), 201


@bp.get("/people/imports/<int:import_id>")
@documented(response=BackgroundImportSchema)
@requires(*MANAGERS)
def background_import(import_id: int) -> ResponseReturnValue:
    """A large import's status, then its report (the one who asked for it, or an admin, only)."""
    record = background_imports.own_import(db_session(), import_id, actor=current_actor())
    return jsonify(_background(record)), 200, {"Cache-Control": "no-store"}


def _background(record: PeopleImport) -> dict:
    """What the API says of a background import."""
    report = background_imports.report_of(record)
    return BackgroundImportSchema().dump({
        "id": record.id, "status": record.status, "error": record.error,
        "rows_read": report and report.rows_read, "imported": report and report.imported, "refused_rows": report and report.refused_rows,
        "errors": _row_errors(report) if report else {},
        "created_at": record.created_at.isoformat(), "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "status_url": url_for("people_api.background_import", import_id=record.id),
    })


def _refused(report: ImportReport) -> ResponseReturnValue:
    """The refused import as the API's error: what happened, and each row's problems by its row number."""
    message = gettext("Nothing was imported: %(refused)d of %(read)d rows have problems. Correct them in the file and upload the whole file again.",
                      refused=report.refused_rows, read=report.rows_read)
    return error_response(422, "import_refused", message, _row_errors(report))


def _row_errors(report: ImportReport) -> dict[str, list[str]]:
    """Each refused row's problems in the user's language, by its row number."""
    errors: dict[str, list[str]] = {}
    for problem in report.problems:
        text = gettext(problem.message, **problem.params)
        errors.setdefault(f"row {problem.row}", []).append(f"{problem.column}: {text}" if problem.column else text)
    return errors
