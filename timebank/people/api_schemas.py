"""Shapes the people API adds to people/schemas.py: the signed-in person's page, records, queries, answers."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from timebank.people.models import Status
from timebank.people.schemas import PersonOutSchema

PER_PAGE = 50


class RoleGrantOutSchema(Schema):
    """One live role of a person, over an organisation subtree (station staff: at one station)."""

    id = fields.Integer()
    person_id = fields.Integer()
    role = fields.String()
    organisation_id = fields.Integer()
    organisation_name = fields.String(attribute="organisation.name")
    station_id = fields.Integer(allow_none=True)
    certificate_level = fields.String(allow_none=True)
    certificate_number = fields.String(allow_none=True)
    granted_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class PersonRecordSchema(PersonOutSchema):
    """One person's record as carers see it: the profile and the live roles."""

    roles = fields.List(fields.Nested(RoleGrantOutSchema))


class BalanceSchema(Schema):
    """One account: posted, held by open holds, and available to spend."""

    posted = fields.Integer()
    held = fields.Integer()
    available = fields.Integer()


class BalancesSchema(Schema):
    """A volunteer's balances: hours in minutes, points, certified minutes and star level."""

    hours = fields.Nested(BalanceSchema, metadata={"description": "Time credit, in minutes."})
    points = fields.Nested(BalanceSchema)
    certified_minutes = fields.Integer()
    certified_by_category = fields.Dict(keys=fields.String(), values=fields.Integer())
    training_minutes = fields.Integer(metadata={"description": "Approved training, in minutes; not service, so no star."})
    star_level = fields.Integer()
    minutes_to_next_star = fields.Integer(allow_none=True)


class MeSchema(Schema):
    """The signed-in person: profile, roles and balances."""

    person = fields.Nested(PersonOutSchema)
    roles = fields.List(fields.Nested(RoleGrantOutSchema))
    balances = fields.Nested(BalancesSchema)


class PeopleQuerySchema(Schema):
    """Searching people: a name, phone, volunteer number or masked-ID fragment; a status; a page."""

    class Meta:
        unknown = EXCLUDE

    q = fields.String(load_default="", validate=validate.Length(max=50, error="Use at most 50 characters."))
    status = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in Status], error="Choose a status from the list.")
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000, error="Choose a page from 1 on."))


class PersonPageSchema(Schema):
    """One page of search results."""

    items = fields.List(fields.Nested(PersonOutSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class RejectionSchema(Schema):
    """Why a registration is turned down."""

    class Meta:
        unknown = EXCLUDE

    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500, error="Say why in at most 500 characters."),
        error_messages={"required": "Say why, so the person knows what to do."},
    )


class TemporaryPasswordSchema(Schema):
    """A password set by a coordinator, shown once; the person must change it at the next sign-in."""

    temporary_password = fields.String()


class IdNumberSchema(Schema):
    """The whole ID number (every view of it is logged)."""

    id_number = fields.String()


class StatementQuerySchema(Schema):
    """Which statement, and where the page starts."""

    class Meta:
        unknown = EXCLUDE

    show = fields.String(load_default="hours", validate=validate.OneOf(["hours", "points"], error="Choose hours or points."),
                         metadata={"description": "hours (time credit, in minutes) or points."})
    before = fields.Integer(allow_none=True, load_default=None, error_messages={"invalid": "Enter a whole number."},
                            metadata={"description": "next_before of the previous page: the lines older than it."})


class StatementLineSchema(Schema):
    """One line of a statement: what moved, when, and the balance after it."""

    transaction_id = fields.Integer()
    kind = fields.String(metadata={"description": "service_credit, redemption, transfer, donation, reversal, ..."})
    memo = fields.String(allow_none=True)
    amount = fields.Integer(metadata={"description": "Minutes or points, signed."})
    balance_after = fields.Integer(allow_none=True)
    event_at = fields.DateTime()
    reverses_id = fields.Integer(allow_none=True)


class StatementPageSchema(Schema):
    """A page of one's statement, newest first."""

    lines = fields.List(fields.Nested(StatementLineSchema))
    next_before = fields.Integer(allow_none=True, metadata={"description": "Send as ?before= for the older lines; null at the first line."})


class ImportInSchema(Schema):
    """Volunteers to import: the import template's CSV, as text."""

    class Meta:
        unknown = EXCLUDE

    organisation_id = fields.Integer(required=True, strict=False, error_messages={"required": "Choose the organisation the volunteers join."})
    csv = fields.String(required=True, error_messages={"required": "This field is required."},
                        metadata={"description": "The file's text with the template's headings (姓名, 手机号, ...) in the first row."})


class ImportReportSchema(Schema):
    """What an import did: rows read and volunteers registered (all of them, or none)."""

    rows_read = fields.Integer()
    imported = fields.Integer()


class BackgroundImportSchema(Schema):
    """A large import, run in the background: its status, then its report (all written, or none and each row's problems)."""

    id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, done (every row written), refused (nothing written: see errors) or failed (see error)"})
    rows_read = fields.Integer(allow_none=True)
    imported = fields.Integer(allow_none=True)
    refused_rows = fields.Integer(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "each refused row's problems, by its row number in the file"})
    error = fields.String(allow_none=True)
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)
    status_url = fields.String()