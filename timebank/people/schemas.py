"""Input and output shapes of people (marshmallow): the same schemas validate forms and the API.

Error messages are English msgids; the web layer shows them in the user's language.
"""

from __future__ import annotations

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates, validates_schema

from timebank.categories import SERVICE_CATEGORIES
from timebank.inputs import ascii_digits, invisible_problem
from timebank.people.models import ID_TYPES, RELATIONS, SOCIAL_WORKER_LEVELS, Role

PHONE = re.compile(r"^1[3-9][0-9]{9}$")


def _plain_text(max_length: int) -> fields.String:
    """An optional single-line text field."""
    return fields.String(
        allow_none=True,
        validate=[
            # The number is written in, not left to marshmallow, so the msgid is whole.
            validate.Length(max=max_length, error=f"Use at most {max_length} characters."),
            validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Line breaks and control characters are not allowed."),
        ],
    )


def _visible(text: str) -> None:
    """A name is seen as written: not only invisible characters, no text direction controls."""
    problem = invisible_problem(text)
    if problem:
        raise ValidationError(problem)


def name_field(max_length: int, *, missing: str = "This field is required.") -> fields.String:
    """A required one-line name: no control characters, no < or >."""
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=max_length, error=f"Enter a name of at most {max_length} characters."),
            validate.Regexp(r"^[^\x00-\x1f\x7f<>]*$", error="Names cannot contain < > or control characters."),
            _visible,
        ],
        error_messages={"required": missing},
    )


class DigitsField(fields.String):
    """Text whose digits are read in ASCII, however they were typed (full-width, Arabic-Indic, ...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return ascii_digits(super()._deserialize(value, attr, data, **kwargs))


class PhoneField(DigitsField):
    """A mainland mobile number, 11 digits starting with 1."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = re.sub(r"[\s-]", "", super()._deserialize(value, attr, data, **kwargs))
        if not PHONE.match(value):
            raise ValidationError("Enter an 11-digit mobile number starting with 1.")
        return value


class ProfileSchema(Schema):
    """The national record's fields about a volunteer (志愿服务记录与证明出具办法, art. 5)."""

    class Meta:
        unknown = EXCLUDE

    real_name = name_field(50)
    sex = fields.String(allow_none=True, validate=validate.OneOf(["M", "F"], error="Choose 男 or 女."))
    birth_date = fields.Date(allow_none=True, error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
    id_type = fields.String(
        allow_none=True, validate=validate.OneOf(ID_TYPES, error="Choose a document type from the list.")
    )
    id_number = fields.String(allow_none=True, load_only=True)
    residence_area = _plain_text(200)
    skills = _plain_text(500)
    service_categories = fields.List(
        fields.String(validate=validate.OneOf(list(SERVICE_CATEGORIES), error="Unknown service category.")),
        load_default=list,
    )
    emergency_contact_name = _plain_text(50)
    emergency_contact_phone = DigitsField(
        allow_none=True,
        validate=validate.Regexp(r"^[0-9+\- ]{5,20}$", error="Enter a phone number (digits, + and -)."),
    )

    @validates_schema
    def id_needs_type(self, data, **kwargs):
        """An ID number needs its document type."""
        if data.get("id_number") and not data.get("id_type"):
            raise ValidationError("Choose the document type of this number.", "id_type")


class RegistrationSchema(ProfileSchema):
    """Self-registration on the phone, or a coordinator registering someone in person."""

    phone = PhoneField(required=True, error_messages={"required": "This field is required."})
    password = fields.String(
        load_only=True,
        allow_none=True,
        validate=validate.Length(min=8, max=128, error="Use 8 to 128 characters."),
    )
    home_organisation_id = fields.Integer(
        required=True, strict=False, error_messages={"required": "Choose your community or team."}
    )
    # The person agreed to the personal information notice (a coordinator confirms it for someone registered in person).
    privacy_consent = fields.Boolean(load_default=False)


class RoleGrantSchema(Schema):
    """A role to grant."""

    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role], error="Unknown role."))
    organisation_id = fields.Integer(required=True)
    station_id = fields.Integer(allow_none=True)
    certificate_level = fields.String(
        allow_none=True, validate=validate.OneOf(SOCIAL_WORKER_LEVELS, error="Choose a certificate level from the list.")
    )
    certificate_number = _plain_text(50)

    @validates_schema
    def role_details(self, data, **kwargs):
        """Station staff need a station; social workers a certificate."""
        if data.get("role") == Role.STATION_STAFF and not data.get("station_id"):
            raise ValidationError("Choose the station.", "station_id")
        if data.get("role") == Role.SOCIAL_WORKER and not data.get("certificate_level"):
            raise ValidationError("Choose the certificate level.", "certificate_level")


class FamilyLinkSchema(Schema):
    """A request to link a family member, by their phone number."""

    class Meta:
        unknown = EXCLUDE

    relative_phone = PhoneField(required=True)
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS, error="Choose spouse, parent or child."))


class PasswordChangeSchema(Schema):
    """Changing one's own password."""

    class Meta:
        unknown = EXCLUDE

    current_password = fields.String(required=True, load_only=True)
    new_password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=8, max=128, error="Use 8 to 128 characters.")
    )

    @validates("new_password")
    def not_trivial(self, value, **kwargs):
        """Refuse passwords that are all one character or all digits in order."""
        if len(set(value)) < 3 or value in "0123456789012345678901234567890":
            raise ValidationError("Choose a password that is harder to guess.")


class PersonOutSchema(Schema):
    """A person as lists and the API show them: ID masked, never sealed or hashed."""

    id = fields.Integer()
    volunteer_number = fields.String()
    real_name = fields.String()
    phone = fields.String()
    # What a volunteer leaves empty is null: the document says so (allow_none), as the answers do.
    sex = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    id_type = fields.String(allow_none=True)
    id_number_masked = fields.String(allow_none=True)
    residence_area = fields.String(allow_none=True)
    skills = fields.String(allow_none=True)
    service_categories = fields.Function(lambda p: p.categories)
    emergency_contact_name = fields.String(allow_none=True)
    emergency_contact_phone = fields.String(allow_none=True)
    home_organisation_id = fields.Integer()
    status = fields.String()
    created_at = fields.DateTime()
