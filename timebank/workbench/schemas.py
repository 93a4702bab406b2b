"""The workbench's query filters and its JSON figures."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from timebank.inputs import INT64_MAX


class ProgrammeQuerySchema(Schema):
    """The coordinator's filters: one organisation within reach (default: all of it) and local days (default: a year)."""

    class Meta:
        unknown = EXCLUDE

    organisation_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=INT64_MAX, error="Choose an organisation."))
    start = fields.Date(load_default=None, metadata={"description": "first local day (default: the first of the month eleven months ago)"})
    end = fields.Date(load_default=None, metadata={"description": "last local day (default: today)"})


class ReportQuerySchema(Schema):
    """The monthly report: one organisation within reach (default: all of it) and a month (default: this one)."""

    class Meta:
        unknown = EXCLUDE

    organisation_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=INT64_MAX, error="Choose an organisation."))
    month = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Use a month as 2026-11."),
                          metadata={"description": "YYYY-MM"})


class MonthMinutesSchema(Schema):
    """Approved credited minutes of one month, per service category."""

    month = fields.String()
    minutes = fields.Dict(keys=fields.String(), values=fields.Integer())


class MonthCountSchema(Schema):
    """A count for one month."""

    month = fields.String()
    count = fields.Integer()
    points = fields.Integer(metadata={"description": "redemptions only: points redeemed"})


class ResponseTimeSchema(Schema):
    """Hours from recorded to triaged, for needs of one colour triaged in the range."""

    colour = fields.String()
    triaged = fields.Integer()
    median_hours = fields.Float(allow_none=True)
    p90_hours = fields.Float(allow_none=True)


class ProgrammeSchema(Schema):
    """The coordinator's figures for a scope."""

    organisation_id = fields.Integer(allow_none=True, metadata={"description": "None: every subtree within reach"})
    start = fields.Date()
    end = fields.Date()
    hours_by_month = fields.List(fields.Nested(MonthMinutesSchema))
    total_minutes = fields.Integer()
    registered_volunteers = fields.Integer()
    active_volunteers = fields.Integer()
    new_volunteers = fields.Integer()
    new_by_month = fields.List(fields.Nested(MonthCountSchema))
    needs = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                        metadata={"description": "colour -> state -> needs recorded in the range"})
    response_times = fields.List(fields.Nested(ResponseTimeSchema))
    grades = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "current grade colour -> volunteers"})
    redemptions_by_month = fields.List(fields.Nested(MonthCountSchema))
    points_outstanding = fields.Integer(metadata={"description": "points volunteers hold: the programme's liability"})
    certificates = fields.Dict(keys=fields.String(), values=fields.Integer())


class BalancesSchema(Schema):
    """A volunteer's balances and star progress."""

    hour_minutes = fields.Integer()
    points = fields.Integer()
    certified_minutes = fields.Integer()
    star_level = fields.Integer()
    next_star_minutes = fields.Integer(allow_none=True)
    star_progress = fields.Float()


class NextActivitySchema(Schema):
    """An activity the volunteer signed up for."""

    id = fields.Integer()
    title = fields.String()
    starts_at = fields.DateTime()
    signup = fields.String(metadata={"description": "signed_up or waiting"})


class NextOrderSchema(Schema):
    """An order visit the volunteer holds."""

    order_id = fields.Integer()
    category = fields.String()
    status = fields.String()
    window_start = fields.DateTime()
    respond_by = fields.DateTime(allow_none=True)


class VolunteerFiguresSchema(Schema):
    """The volunteer's section."""

    activities = fields.List(fields.Nested(NextActivitySchema))
    orders = fields.List(fields.Nested(NextOrderSchema))
    balances = fields.Nested(BalancesSchema)
    grade = fields.String(allow_none=True, metadata={"description": "current grade colour, if graded"})


class CarerFiguresSchema(Schema):
    """What waits for a social worker."""

    undecided = fields.Integer(metadata={"description": "attendances to approve"})
    overdue_reviews = fields.Integer()
    due_soon = fields.Integer()
    to_triage = fields.Integer()
    overdue_needs = fields.Integer()
    overdue_offers = fields.Integer()
    low_ratings = fields.Integer()
    flagged_volunteers = fields.Dict(keys=fields.String(), values=fields.Integer())
    index_score = fields.Integer(allow_none=True, metadata={"description": "the newest supervision index"})
    index_month = fields.Date(allow_none=True)


class SystemFiguresSchema(Schema):
    """The system's health."""

    jobs = fields.Dict(keys=fields.String(), values=fields.Integer())
    sealed = fields.Integer()
    unsealed = fields.Integer()
    outbox_held = fields.Integer()
    outbox_failed = fields.Integer()
    healthy = fields.Boolean()


class WorkbenchSchema(Schema):
    """The signed-in person's workbench: the sections of their roles, most senior first."""

    sections = fields.List(fields.String())
    volunteer = fields.Nested(VolunteerFiguresSchema)
    social_worker = fields.Nested(CarerFiguresSchema, allow_none=True)
    coordinator = fields.Nested(ProgrammeSchema, allow_none=True)
    admin = fields.Nested(SystemFiguresSchema, allow_none=True)
