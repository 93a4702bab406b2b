"""Input and output shapes of orders, assignments, visits and ratings: the same schemas validate forms and the API."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from timebank.categories import SERVICE_CATEGORIES
from timebank.events.schemas import LocalDateTime

PAYERS = ("none", "resident", "family", "pool")
CONFIRM_METHODS = ("member_code", "card", "one_time_code", "staff")


def _ids(message: str) -> fields.List:
    return fields.List(fields.Integer(strict=False), load_default=list, error_messages={"invalid": message})


class OrderSchema(Schema):
    """What a social worker sets when making an order from a need."""

    class Meta:
        unknown = EXCLUDE

    category = fields.String(
        required=True,
        validate=validate.OneOf([c for c in SERVICE_CATEGORIES if c != "training"], error="Choose a service category."),
        error_messages={"required": "Choose a service category."},
    )
    skills = fields.String(allow_none=True, validate=validate.Length(max=200, error="Use at most 200 characters."))
    slots = fields.Integer(
        load_default=1, strict=False,
        validate=validate.Range(min=1, max=50, error="Between 1 and 50 volunteers."),
        error_messages={"invalid": "Enter a whole number."},
    )
    recurrence = fields.String(allow_none=True, validate=validate.Length(max=100, error="Use at most 100 characters."))
    window_start = LocalDateTime(required=True, error_messages={"required": "Say from when the service may take place."})
    window_end = LocalDateTime(required=True, error_messages={"required": "Say until when the service may take place."})
    expected_minutes = fields.Integer(
        required=True, strict=False,
        validate=validate.Range(min=15, max=12 * 60, error="Between 15 minutes and 12 hours."),
        error_messages={"required": "Say how long the service should take.", "invalid": "Enter a whole number."},
    )
    open_for_claims = fields.Boolean(load_default=False, truthy={True, "1", "true", "on", "yes"}, falsy={False, "0", "false", "off", "no", None, ""})
    team_id = fields.Integer(allow_none=True, strict=False, error_messages={"invalid": "Choose a team."})
    payer = fields.String(load_default="none", validate=validate.OneOf(PAYERS, error="Choose who pays."))
    payer_person_id = fields.Integer(allow_none=True, strict=False, error_messages={"invalid": "Choose the family member who pays."})

    @validates_schema
    def _window(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("window_start") and data.get("window_end") and data["window_end"] <= data["window_start"]:
            raise ValidationError("The window must end after it starts.", "window_end")
        if data.get("payer") == "family" and not data.get("payer_person_id"):
            raise ValidationError("Choose the family member who pays.", "payer_person_id")


class DispatchSchema(Schema):
    """Volunteers named for an order's free slots."""

    class Meta:
        unknown = EXCLUDE

    volunteer_ids = _ids("Choose volunteers.")


class OrderReasonSchema(Schema):
    """A reason, required (a cancellation, a no-show, a withdrawal)."""

    class Meta:
        unknown = EXCLUDE

    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200, error="Give a reason (at most 200 characters)."),
        error_messages={"required": "Give a reason.", "null": "Give a reason."},
    )


class DeclineSchema(Schema):
    """A volunteer's decline of an offer; the reason is optional."""

    class Meta:
        unknown = EXCLUDE

    reason = fields.String(allow_none=True, validate=validate.Length(max=200, error="Use at most 200 characters."))


class ConfirmSchema(Schema):
    """The resident's confirmation of a visit's start or end: a scanned card or member code, or the spoken code."""

    class Meta:
        unknown = EXCLUDE

    method = fields.String(required=True, validate=validate.OneOf(CONFIRM_METHODS, error="Choose how the resident confirms."),
                           error_messages={"required": "Choose how the resident confirms."})
    code = fields.String(allow_none=True, validate=validate.Length(max=500, error="This code is too long."))


class RatingSchema(Schema):
    """The resident's stars and words for one visit."""

    class Meta:
        unknown = EXCLUDE

    stars = fields.Integer(
        required=True, strict=False,
        validate=validate.Range(min=1, max=5, error="Choose one to five stars."),
        error_messages={"required": "Choose one to five stars.", "invalid": "Choose one to five stars."},
    )
    comment = fields.String(allow_none=True, validate=validate.Length(max=500, error="Use at most 500 characters."))


class FollowUpSchema(Schema):
    """A social worker's call after a low rating."""

    class Meta:
        unknown = EXCLUDE

    notes = fields.String(
        required=True, validate=validate.Length(min=1, max=2000, error="Say what came of the call."),
        error_messages={"required": "Say what came of the call.", "null": "Say what came of the call."},
    )
    complaint_upheld = fields.Boolean(load_default=False, truthy={True, "1", "true", "on", "yes"}, falsy={False, "0", "false", "off", "no", None, ""})


# -- answers ----------------------------------------------------------------------


class AssignmentOutSchema(Schema):
    """One volunteer on one slot."""

    id = fields.Integer()
    order_id = fields.Integer()
    slot = fields.Integer()
    volunteer_id = fields.Integer()
    volunteer_name = fields.Function(lambda a: a.volunteer.real_name)
    status = fields.String()
    claimed = fields.Boolean()
    offered_at = fields.DateTime()
    respond_by = fields.DateTime(allow_none=True)
    responded_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    confirm_method = fields.String(allow_none=True)
    attendance_id = fields.Integer(allow_none=True)
    hold_id = fields.Integer(allow_none=True)


class OrderOutSchema(Schema):
    """An order as staff and its volunteers see it (the address only for those who may see it)."""

    id = fields.Integer()
    need_id = fields.Integer()
    organisation_id = fields.Integer()
    category = fields.String()
    skills = fields.String(allow_none=True)
    slots = fields.Integer()
    recurrence = fields.String(allow_none=True)
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    expected_minutes = fields.Integer()
    open_for_claims = fields.Boolean()
    team_id = fields.Integer(allow_none=True)
    status = fields.String()
    payer = fields.String()
    activity_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    description = fields.Function(lambda o: o.need.description)
    community = fields.Function(lambda o: o.need.organisation.name)
    address = fields.String(allow_none=True, dump_default=None)
    assignments = fields.List(fields.Nested(AssignmentOutSchema))


class SuggestionOutSchema(Schema):
    """A ranked volunteer for an order, with the reasons for their place."""

    volunteer_id = fields.Integer()
    name = fields.String()
    score = fields.Float()
    grade = fields.String(allow_none=True)
    reasons = fields.List(fields.String())


class RatingOutSchema(Schema):
    """A visit's rating and its follow-up."""

    id = fields.Integer()
    assignment_id = fields.Integer()
    volunteer_id = fields.Integer()
    stars = fields.Integer()
    comment = fields.String(allow_none=True)
    rated_at = fields.DateTime()
    followed_up_at = fields.DateTime(allow_none=True)
    follow_up_notes = fields.String(allow_none=True)
    complaint_upheld = fields.Boolean(allow_none=True)


class OneTimeCodeOutSchema(Schema):
    """The short code a resident reads out to the volunteer, and until when it works."""

    assignment_id = fields.Integer()
    step = fields.String()
    code = fields.String()
    valid_until = fields.DateTime()
