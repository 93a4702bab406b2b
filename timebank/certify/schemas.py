"""Input shapes of certification: programmes, periods, revocations, social workers' training (forms and API alike)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from timebank.categories import SERVICE_CATEGORIES
from timebank.people.models import SOCIAL_WORKER_LEVELS
from timebank.people.schemas import name_field

SERVICE = tuple(k for k in SERVICE_CATEGORIES if k != "training")
#: The longest period one certificate or batch may cover.
LONGEST_PERIOD_DAYS = 366 * 10


def _hours(message: str = "Enter a number of hours from 0 to 10000.") -> fields.Float:
    return fields.Float(
        load_default=0,
        allow_none=True,
        validate=validate.Range(min=0, max=10000, error=message),
        error_messages={"invalid": "Enter a number of hours, e.g. 100."},
    )


class ProgrammeSchema(Schema):
    """A certification programme: what certified hours, training and activities it asks for, and whose sign-off."""

    class Meta:
        unknown = EXCLUDE

    organisation_id = fields.Integer(required=True, error_messages={"required": "Choose an organisation.", "invalid": "Choose an organisation."})
    name = name_field(100, missing="Enter the programme's name.")
    description = fields.String(allow_none=True, validate=validate.Length(max=2000, error="Use at most 2000 characters."))
    required_hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SERVICE, error="Choose a service category from the list.")),
        values=fields.Float(validate=validate.Range(min=0, max=10000, error="Enter a number of hours from 0 to 10000.")),
        load_default=dict,
    )
    required_training_hours = _hours()
    required_activities = fields.Integer(
        load_default=0, allow_none=True, strict=False,
        validate=validate.Range(min=0, max=10000, error="Enter a whole number from 0 to 10000."),
        error_messages={"invalid": "Enter a whole number."},
    )
    signoff_level = fields.String(
        required=True,
        validate=validate.OneOf(SOCIAL_WORKER_LEVELS, error="Choose a social worker certificate level."),
        error_messages={"required": "Choose a social worker certificate level."},
    )
    validity_months = fields.Integer(
        load_default=36, strict=False,
        validate=validate.Range(min=1, max=120, error="Use 1 to 120 months."),
        error_messages={"invalid": "Enter a whole number."},
    )

    @pre_load
    def hours_from_form(self, data: Any, **_: Any) -> Any:
        """A form sends `hours_<category>` fields; the API sends `required_hours` as an object."""
        if not hasattr(data, "items"):
            return data
        data = dict(data)
        from_form = {key[6:]: value for key, value in data.items() if key.startswith("hours_") and value not in (None, "")}
        if from_form:
            data["required_hours"] = {**from_form, **(data.get("required_hours") or {})}
        return {key: value for key, value in data.items() if not key.startswith("hours_")}

    @validates_schema
    def something_required(self, data: dict[str, Any], **_: Any) -> None:
        """A programme asks for at least some certified service."""
        if not any((data.get("required_hours") or {}).values()):
            raise ValidationError("Ask for certified hours in at least one service category.", "required_hours")


class PeriodSchema(Schema):
    """A period of service, from and to (local dates, both included)."""

    class Meta:
        unknown = EXCLUDE

    start = fields.Date(required=True, error_messages={"required": "Enter the first day of the period.", "invalid": "Enter a date as YYYY-MM-DD."})
    end = fields.Date(required=True, error_messages={"required": "Enter the last day of the period.", "invalid": "Enter a date as YYYY-MM-DD."})

    @validates_schema
    def in_order(self, data: dict[str, Any], **_: Any) -> None:
        """The period runs forwards and is not endless."""
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise ValidationError("The period ends before it starts.", "end")
        if start and end and (end - start) > dt.timedelta(days=LONGEST_PERIOD_DAYS):
            raise ValidationError("Choose a period of at most ten years.", "end")


class BatchSchema(PeriodSchema):
    """A batch of service record certificates: an organisation and a period."""

    organisation_id = fields.Integer(required=True, error_messages={"required": "Choose an organisation.", "invalid": "Choose an organisation."})


class RevocationSchema(Schema):
    """Why a certificate is revoked."""

    class Meta:
        unknown = EXCLUDE

    reason = fields.String(
        required=True,
        validate=validate.Length(min=2, max=200, error="Say why, in 2 to 200 characters."),
        error_messages={"required": "Say why the certificate is revoked.", "null": "Say why the certificate is revoked."},
    )


class TrainingSchema(Schema):
    """A training a social worker took, counted toward continuing education."""

    class Meta:
        unknown = EXCLUDE

    person_id = fields.Integer(required=True, error_messages={"required": "Choose a social worker.", "invalid": "Choose a social worker."})
    title = name_field(100, missing="Enter the training's name.")
    organiser = name_field(100, missing="Enter who organised the training.")
    hours = fields.Float(
        required=True,
        validate=validate.Range(min=0.25, max=200, error="Enter 0.25 to 200 hours."),
        error_messages={"required": "Enter the hours of training.", "invalid": "Enter a number of hours, e.g. 6."},
    )
    taken_on = fields.Date(required=True, error_messages={"required": "Enter the date of the training.", "invalid": "Enter a date as YYYY-MM-DD."})


class VerifyLookupSchema(Schema):
    """A certificate looked up by the serial and check code printed on it."""

    class Meta:
        unknown = EXCLUDE

    serial = fields.String(required=True, validate=validate.Regexp(r"^\s*TB-\d{4}-\d{6}\s*$", error="Enter the serial number as printed, e.g. TB-2026-000123."),
                           error_messages={"required": "Enter the serial number as printed, e.g. TB-2026-000123."})
    check_code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9 ]{1,20}$", error="Enter the check code printed under the QR code."),
                               error_messages={"required": "Enter the check code printed under the QR code."})
