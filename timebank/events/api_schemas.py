"""Shapes the events API adds to events/schemas.py: activities as listed, scans, attendances, corrections."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from timebank.auth.schemas import masked_name
from timebank.categories import SERVICE_CATEGORIES


class ActivityOutSchema(Schema):
    """An activity's record: what, where, when, and how it credits."""

    id = fields.Integer()
    title = fields.String()
    category = fields.String()
    category_name = fields.Function(lambda a: SERVICE_CATEGORIES.get(a.category, a.category))
    is_training = fields.Boolean(metadata={"description": "Training credits training hours, not service hours."})
    description = fields.String(allow_none=True)
    organisation_id = fields.Integer()
    organisation_name = fields.String(attribute="organisation.name")
    address = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    radius_m = fields.Integer(allow_none=True)
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    capacity = fields.Integer(allow_none=True)
    person_in_charge_id = fields.Integer()
    credit_mode = fields.String()
    fixed_minutes = fields.Integer(allow_none=True)
    points_per_hour = fields.Integer(allow_none=True, metadata={"description": "None: the policy's rate."})
    points_multiplier = fields.Float(allow_none=True, metadata={"description": "None: the policy's for the category."})
    signup_required = fields.Boolean()
    poster_allowed = fields.Boolean()
    status = fields.String(metadata={"description": "As stored: draft, published, settled or cancelled."})
    published_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)


class ExpectedCreditSchema(Schema):
    """What full attendance credits under the organisation's policy."""

    minutes = fields.Integer()
    points = fields.Integer()


class SignUpCountsSchema(Schema):
    """How many hold a place and how many wait."""

    signed_up = fields.Integer()
    waiting = fields.Integer()


class ActivityDetailSchema(Schema):
    """An activity with where it stands now, what it credits, its sign-ups and the caller's own."""

    activity = fields.Nested(ActivityOutSchema)
    phase = fields.String(metadata={"description": "draft, published, under_way, finished, settled or cancelled."})
    expected_credit = fields.Nested(ExpectedCreditSchema)
    signups = fields.Nested(SignUpCountsSchema)
    my_signup = fields.String(allow_none=True, metadata={"description": "signed_up, waiting, or null."})


class SignUpOutSchema(Schema):
    """The caller's place on an activity."""

    activity_id = fields.Integer()
    status = fields.String(metadata={"description": "signed_up, waiting or cancelled."})
    created_at = fields.DateTime(allow_none=True)


class ActivityCodeScanSchema(Schema):
    """A venue code the volunteer's phone read, and where the phone is if it shared that."""

    class Meta:
        unknown = EXCLUDE

    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500, error="Scan the code on the venue screen."),
        error_messages={"required": "Scan the code on the venue screen."},
    )
    activity_id = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "The activity the page expects; a code of another one is refused."},
        error_messages={"invalid": "Unknown activity."},
    )
    latitude = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=-90, max=90, error="A latitude lies between -90 and 90."),
        error_messages={"invalid": "Enter a number."},
    )
    longitude = fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=-180, max=180, error="A longitude lies between -180 and 180."),
        error_messages={"invalid": "Enter a number."},
    )


class ScanOutSchema(Schema):
    """What a scan recorded, and the sentence to show the volunteer."""

    action = fields.String(metadata={"description": "in or out."})
    at = fields.DateTime()
    local_time = fields.String(metadata={"description": "HH:MM in Asia/Shanghai."})
    attendance_id = fields.Integer(attribute="attendance.id")
    message = fields.String()
    activity = fields.Nested(ActivityOutSchema, attribute="attendance.activity")


class KioskScanSchema(Schema):
    """A member code read at the kiosk, and whether it checks the volunteer in or out."""

    class Meta:
        unknown = EXCLUDE

    # Not required here: the service checks who may scan before it reads the code.
    member_code = fields.String(load_default="", metadata={"description": "A phone (我的码) or printed card code."})
    action = fields.String(
        load_default="in", validate=validate.OneOf(["in", "out"], error="Choose check-in or check-out.")
    )


class ScannedVolunteerSchema(Schema):
    """The volunteer a kiosk scan recorded, masked as the organiser's screen shows them."""

    id = fields.Integer()
    volunteer_number = fields.String()
    masked_name = fields.Function(lambda person: masked_name(person.real_name))


class PresenceSchema(Schema):
    """The venue's live count."""

    inside = fields.Integer(data_key="in", attribute="in", metadata={"description": "Checked in, not yet out."})
    total = fields.Integer(metadata={"description": "Checked in at all."})


class VenueCodeSchema(Schema):
    """One of the venue's codes as the screen shows it."""

    url = fields.String(metadata={"description": "What the QR code carries: the check-in (or check-out) address with its signed token."})
    svg = fields.String(metadata={"description": "The QR code, labelled, as an SVG image."})


class ScreenSchema(Schema):
    """What the venue screen shows now: the two rotating codes, when they turn, who is in."""

    check_in = fields.Nested(VenueCodeSchema)
    check_out = fields.Nested(VenueCodeSchema)
    refresh_in = fields.Integer(metadata={"description": "Seconds until the next code; each is accepted in its 30-second window and the next."})
    presence = fields.Nested(PresenceSchema)
    phase = fields.String(metadata={"description": "draft, published, under_way, finished, settled or cancelled."})
    now = fields.Integer(metadata={"description": "The server's clock, in milliseconds since 1970, for the countdown."})


class KioskScanOutSchema(ScanOutSchema):
    """A kiosk scan: what was recorded, for whom, and who is in now."""

    volunteer = fields.Nested(ScannedVolunteerSchema, attribute="attendance.volunteer")
    presence = fields.Nested(PresenceSchema)


class AttendanceOutSchema(Schema):
    """An attendance: the scans, the review's state and what was credited."""

    id = fields.Integer()
    activity_id = fields.Integer()
    volunteer_id = fields.Integer()
    status = fields.String(metadata={"description": "checked_in, checked_out, approved or rejected."})
    checked_in_at = fields.DateTime()
    checked_out_at = fields.DateTime(allow_none=True)
    check_in_method = fields.String()
    check_out_method = fields.String(allow_none=True)
    distance_m = fields.Integer(allow_none=True)
    adjusted_minutes = fields.Integer(allow_none=True)
    adjust_reason = fields.String(allow_none=True)
    credited_minutes = fields.Integer(allow_none=True)
    credited_points = fields.Integer(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    reviewers = fields.Function(lambda a: [r.reviewer_id for r in a.reviews], metadata={"description": "Who has approved so far."})


class OverdueAttendanceSchema(Schema):
    """An attendance still undecided after the recording deadline (10 working days, art. 11)."""

    attendance = fields.Nested(AttendanceOutSchema)
    activity_title = fields.String(attribute="attendance.activity.title")
    due = fields.Date(metadata={"description": "The last day it should have been decided."})


class ReviewedAttendanceSchema(Schema):
    """An attendance as the reviewer sees it: who, and the minutes, points and flags worked out."""

    attendance = fields.Nested(AttendanceOutSchema)
    volunteer_name = fields.String(attribute="attendance.volunteer.real_name")
    volunteer_number = fields.String(attribute="attendance.volunteer.volunteer_number")
    attended_minutes = fields.Integer(attribute="credit.attended_minutes", metadata={"description": "Inside the activity's time."})
    minutes = fields.Integer(attribute="credit.minutes", metadata={"description": "What approval credits."})
    points = fields.Integer(attribute="credit.points")
    flags = fields.List(fields.String(), attribute="credit.flags", metadata={"description": "late, early_leave, forgotten_checkout, outside_distance, short."})


class LeftOutSchema(Schema):
    """An undecided attendance that "approve all unflagged" did not approve, and why."""

    attendance_id = fields.Integer(attribute="attendance.id")
    volunteer_id = fields.Integer(attribute="attendance.volunteer_id")
    volunteer_name = fields.String(attribute="attendance.volunteer.real_name")
    reason = fields.String(
        metadata={"description": "own_attendance, flagged, nothing_to_credit, approved_by_you, or refused (the message says why)."}
    )
    flags = fields.List(fields.String())
    message = fields.String()


class AtCapSchema(Schema):
    """An approved attendance whose time credit met the volunteer's storage cap (certified hours and points are never capped)."""

    attendance_id = fields.Integer()
    minutes_deposited = fields.Integer(attribute="deposit.deposited")
    minutes_over_cap = fields.Integer(attribute="deposit.over_cap")
    pool_organisation_id = fields.Integer(
        attribute="deposit.pool_id", allow_none=True,
        metadata={"description": "The organisation whose community pool took the minutes over the cap; null: they were not deposited."},
    )
    message = fields.String()


class ApprovedSchema(Schema):
    """What one "approve all unflagged" did: the approved, each attendance left with why, the credits that met the cap."""

    approved = fields.List(fields.Integer())
    exceptions = fields.List(fields.Nested(LeftOutSchema))
    at_cap = fields.List(fields.Nested(AtCapSchema))


class CorrectionRequestOutSchema(Schema):
    """A volunteer's report of an error in an attendance, and the organisation's answer."""

    id = fields.Integer()
    attendance_id = fields.Integer()
    activity_id = fields.Integer(attribute="attendance.activity_id")
    activity_title = fields.String(attribute="attendance.activity.title")
    volunteer_id = fields.Integer()
    volunteer_name = fields.String(attribute="attendance.volunteer.real_name")
    credited_minutes = fields.Integer(attribute="attendance.credited_minutes", allow_none=True)
    message = fields.String()
    claimed_minutes = fields.Integer(allow_none=True)
    status = fields.String(metadata={"description": "open, accepted or declined."})
    created_at = fields.DateTime()
    answer = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)


class MyAttendanceSchema(Schema):
    """One of the volunteer's own attendances: the activity, what it credited, the latest report of an error."""

    attendance = fields.Nested(AttendanceOutSchema)
    activity = fields.Nested(ActivityOutSchema, attribute="attendance.activity")
    correction = fields.Nested(CorrectionRequestOutSchema, allow_none=True)
    at_cap = fields.Nested(AtCapSchema, allow_none=True, metadata={"description": "Set when the credit met the storage cap."})
