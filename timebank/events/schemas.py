"""Input and output shapes of activities and attendances: the same schemas validate forms and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from timebank.categories import SERVICE_CATEGORIES
from timebank.events.models import CreditMode
from timebank.localtime import LOCAL_TZ
from timebank.people.schemas import name_field


class LocalDateTime(fields.DateTime):
    """A date and time; without an offset it is read as Asia/Shanghai (a form's datetime-local), stored in UTC."""

    default_error_messages = {"invalid": "Enter a date and time, e.g. 2026-11-22 09:00."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if isinstance(value, str):
            value = value.strip().replace(" ", "T")
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=LOCAL_TZ)
        return moment.astimezone(dt.timezone.utc)


def _whole(minimum: int, maximum: int, message: str) -> fields.Integer:
    return fields.Integer(
        allow_none=True,
        strict=False,
        validate=validate.Range(min=minimum, max=maximum, error=message),
        error_messages={"invalid": "Enter a whole number."},
    )


class ActivitySchema(Schema):
    """What a coordinator or social worker fills in to create or edit an activity."""

    class Meta:
        unknown = EXCLUDE

    title = name_field(100, missing="Give the activity a title.")
    category = fields.String(
        required=True,
        validate=validate.OneOf(list(SERVICE_CATEGORIES), error="Choose a service category."),
        error_messages={"required": "Choose a service category."},
    )
    description = fields.String(
        allow_none=True, validate=validate.Length(max=2000, error="Use at most 2000 characters.")
    )
    organisation_id = fields.Integer(
        required=True, strict=False, error_messages={"required": "Choose the organising unit.", "invalid": "Choose the organising unit."}
    )
    address = name_field(200, missing="Say where the activity takes place.")
    latitude = fields.Float(
        allow_none=True, validate=validate.Range(min=-90, max=90, error="A latitude lies between -90 and 90."),
        error_messages={"invalid": "Enter a number."},
    )
    longitude = fields.Float(
        allow_none=True, validate=validate.Range(min=-180, max=180, error="A longitude lies between -180 and 180."),
        error_messages={"invalid": "Enter a number."},
    )
    radius_m = _whole(10, 100_000, "Enter a distance between 10 and 100000 metres.")
    starts_at = LocalDateTime(required=True, error_messages={"required": "Say when the activity starts."})
    ends_at = LocalDateTime(required=True, error_messages={"required": "Say when the activity ends."})
    capacity = _whole(1, 100_000, "Enter a capacity between 1 and 100000, or leave it empty for no limit.")
    person_in_charge_id = fields.Integer(allow_none=True, strict=False, error_messages={"invalid": "Choose the person in charge."})
    credit_mode = fields.String(
        load_default=CreditMode.ACTUAL.value,
        validate=validate.OneOf([m.value for m in CreditMode], error="Choose how hours are credited."),
    )
    fixed_minutes = _whole(1, 24 * 60, "Enter between 1 and 1440 minutes.")
    points_per_hour = _whole(0, 1000, "Enter between 0 and 1000 points per hour.")
    points_multiplier = fields.Float(
        allow_none=True, validate=validate.Range(min=0, max=10, error="Enter a multiplier between 0 and 10."),
        error_messages={"invalid": "Enter a number."},
    )
    signup_required = fields.Boolean(load_default=False, truthy={"on", "1", "true", "yes", True}, falsy={"", "0", "off", "false", "no", None, False})
    poster_allowed = fields.Boolean(load_default=False, truthy={"on", "1", "true", "yes", True}, falsy={"", "0", "off", "false", "no", None, False})

    @validates_schema
    def check_together(self, data: dict[str, Any], **_: Any) -> None:
        """The end after the start, a fixed amount when fixed, and coordinates in pairs."""
        problems: dict[str, list[str]] = {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends:
            if ends <= starts:
                problems["ends_at"] = ["The end must come after the start."]
            elif ends - starts > dt.timedelta(hours=24):
                problems["ends_at"] = ["An activity lasts at most 24 hours; split a longer one into days."]
        if data.get("credit_mode") == CreditMode.FIXED.value and not data.get("fixed_minutes"):
            problems["fixed_minutes"] = ["Say how many minutes each attendance credits."]
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            problems["longitude"] = ["Give both latitude and longitude, or neither."]
        if data.get("radius_m") is not None and data.get("latitude") is None:
            problems["radius_m"] = ["A distance check needs the venue's coordinates."]
        if problems:
            raise ValidationError(problems)


class StrippedSchema(Schema):
    """Text fields with surrounding blanks removed, so a reason of spaces is no reason."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def strip(self, data: Any, **_: Any) -> Any:
        """Strip every string; blank ones become missing."""
        if not isinstance(data, dict):
            return data
        cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in cleaned.items() if v != ""}


class ReasonSchema(StrippedSchema):
    """A required short reason (rejecting, adjusting, cancelling, declining)."""

    reason = name_field(200, missing="Give a reason.")


class AdjustmentSchema(ReasonSchema):
    """A reviewer's figure for an attendance, with the reason."""

    minutes = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=0, max=24 * 60, error="Enter between 0 and 1440 minutes."),
        error_messages={"required": "Enter the minutes to credit.", "invalid": "Enter a whole number of minutes."},
    )


class CorrectionRequestSchema(StrippedSchema):
    """A volunteer's report that an attendance is recorded wrongly."""

    message = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500, error="Say what is wrong, in at most 500 characters."),
        error_messages={"required": "Say what is wrong."},
    )
    claimed_minutes = _whole(0, 24 * 60, "Enter between 0 and 1440 minutes.")


class CorrectionAnswerSchema(StrippedSchema):
    """The organisation's answer: accepted (with the minutes to credit) or declined with a reason."""

    accept = fields.Boolean(required=True, truthy={"accept", "1", "true", "yes", True}, falsy={"decline", "0", "false", "no", False}, error_messages={"required": "Accept or decline."})
    answer = name_field(500, missing="Give your answer to the volunteer.")
    minutes = _whole(0, 24 * 60, "Enter between 0 and 1440 minutes.")

    @validates_schema
    def minutes_when_accepted(self, data: dict[str, Any], **_: Any) -> None:
        """Accepting says what the record becomes."""
        if data.get("accept") and data.get("minutes") is None:
            raise ValidationError({"minutes": ["Enter the minutes the attendance should credit."]})


class PositionSchema(Schema):
    """Where the phone says it is, if it shared its position."""

    class Meta:
        unknown = EXCLUDE

    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))

