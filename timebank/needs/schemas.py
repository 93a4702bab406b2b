"""Input and output shapes of needs, residents, resources and service projects (marshmallow).

The same input schemas read the pages' forms and the API's JSON; error messages
are English msgids the web layer translates.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from timebank.categories import SERVICE_CATEGORIES
from timebank.needs.models import BeneficiaryGroup, Channel, Colour, NeedStatus
from timebank.people.schemas import PhoneField, _plain_text, name_field

CATEGORIES = [c for c in SERVICE_CATEGORIES if c != "training"]
RESOURCE_KINDS = ("merchant", "organisation", "charity", "government")


def _text(max_length: int, *, required: bool = False, missing: str = "This field is required.") -> fields.String:
    """Free text of several lines (a need in the requester's words, notes)."""
    return fields.String(
        required=required,
        allow_none=not required,
        validate=validate.Length(min=1 if required else 0, max=max_length, error=f"Use at most {max_length} characters."),
        error_messages={"required": missing, "null": missing},
    )


def _one_of(values: list[str] | tuple[str, ...], error: str, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(list(values), error=error), error_messages={"required": error}, **kwargs)


def _id(error: str, **kwargs) -> fields.Integer:
    return fields.Integer(strict=False, error_messages={"invalid": error, "required": error, "null": error}, **kwargs)


class NeedSchema(Schema):
    """A need as its requester (or the staff member placing it) tells it: only what help, when, where and a phone are asked."""

    class Meta:
        unknown = EXCLUDE

    description = _text(2000, required=True, missing="Say what help is needed.")
    wanted_when = _plain_text(100)
    address = _plain_text(200)
    contact_phone = PhoneField(required=True, error_messages={"required": "Give a phone number we can call."})
    real_name = fields.String(allow_none=True, validate=validate.Length(max=50, error="Use at most 50 characters."))
    organisation_id = _id("Choose the community.", allow_none=True)
    # Whose need: an existing resident (staff), a relative linked as family, or else the requester themself.
    resident_id = _id("Choose the resident.", allow_none=True)
    relative_id = _id("Choose the family member.", allow_none=True)
    channel = _one_of([c.value for c in Channel], "Choose how the need came in.", allow_none=True)
    colour = _one_of([Colour.RED.value, Colour.YELLOW.value, Colour.BLUE.value], "Choose red, yellow or blue.", allow_none=True)
    category = _one_of(CATEGORIES, "Choose a service category.", allow_none=True)
    privacy_consent = fields.Boolean(load_default=False)


class ResidentSchema(Schema):
    """A resident's record as staff keep it."""

    class Meta:
        unknown = EXCLUDE

    real_name = name_field(50)
    phone = PhoneField(required=True, error_messages={"required": "This field is required."})
    address = _plain_text(200)
    organisation_id = _id("Choose the community.", required=True)
    birth_date = fields.Date(allow_none=True, error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
    groups = fields.List(_one_of([g.value for g in BeneficiaryGroup], "Unknown group."), load_default=list)
    notes = _text(2000)
    privacy_consent = fields.Boolean(load_default=False)


class AssessmentSchema(Schema):
    """The social worker's assessment: notes, category, difficulty and colour."""

    class Meta:
        unknown = EXCLUDE

    assessment = _text(2000)
    category = _one_of(CATEGORIES, "Choose a service category.", required=True)
    difficulty = fields.Integer(
        required=True, strict=False, validate=validate.Range(min=1, max=3, error="Choose a difficulty from 1 to 3."),
        error_messages={"required": "Choose a difficulty from 1 to 3.", "invalid": "Choose a difficulty from 1 to 3."},
    )
    colour = _one_of([Colour.RED.value, Colour.YELLOW.value, Colour.BLUE.value], "Choose red, yellow or blue.", required=True)


class ActivityDecisionSchema(Schema):
    """Fold a need into an activity: an existing one, or a new one made from these details."""

    class Meta:
        unknown = EXCLUDE

    activity_id = _id("Choose the activity.", allow_none=True)
    note = _plain_text(500)


class ReferralSchema(Schema):
    """Refer a need to an entry of the resources list."""

    class Meta:
        unknown = EXCLUDE

    resource_id = _id("Choose the resource.", required=True)
    note = _plain_text(500)


class NeedReasonSchema(Schema):
    """A decline or cancellation, with the reason the requester reads."""

    class Meta:
        unknown = EXCLUDE

    reason = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200, error="Give a reason of at most 200 characters."),
                  validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Line breaks and control characters are not allowed.")],
        error_messages={"required": "Give a reason.", "null": "Give a reason."},
    )


class NeedQuerySchema(Schema):
    """The needs list's filters."""

    class Meta:
        unknown = EXCLUDE

    colour = _one_of([c.value for c in Colour], "Choose a colour from the list.", load_default=None, allow_none=True)
    status = _one_of([s.value for s in NeedStatus], "Choose a status from the list.", load_default=None, allow_none=True)
    organisation_id = _id("Choose the community.", load_default=None, allow_none=True)
    category = _one_of(CATEGORIES, "Choose a service category.", load_default=None, allow_none=True)
    channel = _one_of([c.value for c in Channel], "Choose a channel from the list.", load_default=None, allow_none=True)
    overdue = fields.Boolean(load_default=False)


class ResidentQuerySchema(Schema):
    """Finding residents by name or phone."""

    class Meta:
        unknown = EXCLUDE

    q = fields.String(load_default="", validate=validate.Length(max=50, error="Use at most 50 characters."))


class ResourceSchema(Schema):
    """An entry of the resources list (社会资源清单)."""

    class Meta:
        unknown = EXCLUDE

    name = name_field(100)
    kind = _one_of(RESOURCE_KINDS, "Choose what kind of partner it is.", required=True)
    offers = _text(2000, required=True, missing="Say what it offers.")
    contact_name = _plain_text(50)
    contact_phone = fields.String(
        allow_none=True, validate=validate.Regexp(r"^[0-9+\- ]{5,20}$", error="Enter a phone number (digits, + and -).")
    )
    address = _plain_text(200)
    organisation_id = _id("Choose the organisation.", required=True)


class ProjectSchema(Schema):
    """An entry of the service projects list (服务项目清单)."""

    class Meta:
        unknown = EXCLUDE

    name = name_field(100)
    category = _one_of(CATEGORIES, "Choose a service category.", required=True)
    description = _text(2000)
    resource_id = _id("Choose the resource.", allow_none=True)
    starts_on = fields.Date(allow_none=True, error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
    ends_on = fields.Date(allow_none=True, error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
    active = fields.Boolean(load_default=True)
    organisation_id = _id("Choose the organisation.", required=True)

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        """A project ends on or after the day it starts."""
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("The end comes before the start.", "ends_on")


# -- answers ---------------------------------------------------------------------


class NeedEventOutSchema(Schema):
    """One row of a need's history."""

    id = fields.Integer()
    action = fields.String()
    actor_id = fields.Integer(allow_none=True, metadata={"description": "None: the service itself."})
    at = fields.DateTime()
    order_id = fields.Integer(allow_none=True)
    assignment_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)


class NeedOutSchema(Schema):
    """A need as staff, or its requester, see it (the address only for those who may read it)."""

    id = fields.Integer()
    resident_id = fields.Integer()
    resident_name = fields.String(attribute="resident.real_name")
    organisation_id = fields.Integer()
    community = fields.String(attribute="organisation.name")
    channel = fields.String()
    description = fields.String()
    wanted_when = fields.String(allow_none=True)
    address = fields.String(allow_none=True, metadata={"description": "Null unless the caller may read the resident's address."})
    contact_phone = fields.String()
    colour = fields.String()
    status = fields.String()
    status_text = fields.String(metadata={"description": "The status in plain words, in the caller's language."})
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    recorded_at = fields.DateTime()
    recorded_by = fields.Integer(allow_none=True)
    category = fields.String(allow_none=True)
    difficulty = fields.Integer(allow_none=True)
    assessment = fields.String(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    resource_id = fields.Integer(allow_none=True)
    activity_id = fields.Integer(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class ResidentOutSchema(Schema):
    """A resident's record (the address only for those who may read it)."""

    id = fields.Integer()
    person_id = fields.Integer(allow_none=True)
    organisation_id = fields.Integer()
    community = fields.String(attribute="organisation.name")
    real_name = fields.String()
    phone = fields.String()
    address = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    groups = fields.List(fields.String(), attribute="group_list")
    notes = fields.String(allow_none=True)
    consent_version = fields.String(allow_none=True)
    consent_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class ResourceOutSchema(Schema):
    """An entry of the resources list."""

    id = fields.Integer()
    organisation_id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    offers = fields.String()
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    active = fields.Boolean()


class ProjectOutSchema(Schema):
    """An entry of the service projects list."""

    id = fields.Integer()
    organisation_id = fields.Integer()
    name = fields.String()
    category = fields.String()
    description = fields.String(allow_none=True)
    resource_id = fields.Integer(allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    active = fields.Boolean()
