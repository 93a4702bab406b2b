"""Input and output shapes of device tokens and member codes (marshmallow)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from timebank.people.schemas import PersonOutSchema, name_field


def masked_name(name: str) -> str:
    """`王秀英` -> `王**`: enough for station staff to greet the volunteer, not to identify them."""
    return name[:1] + "*" * (len(name) - 1)


class MemberCodeSchema(Schema):
    """A member code for the phone screen and how many seconds it stays valid."""

    code = fields.String()
    expires_in = fields.Integer(metadata={"description": "Seconds until the code expires."})


class CardCodeSchema(Schema):
    """The static code printed on a volunteer's card; a new card (a higher version) revokes every earlier one."""

    code = fields.String()
    card_version = fields.Integer()


class MemberCodeScanSchema(Schema):
    """A scanned member code: from a phone screen or a printed card."""

    class Meta:
        unknown = EXCLUDE

    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500, error="Scan or type a member code."),
        error_messages={"required": "Scan or type a member code."},
    )


class ResolvedMemberSchema(Schema):
    """The volunteer a member code names, as a station sees them: masked, with what they can spend."""

    id = fields.Integer(attribute="person.id")
    volunteer_number = fields.String(attribute="person.volunteer_number")
    masked_name = fields.Function(lambda member: masked_name(member["person"].real_name))
    id_number_masked = fields.String(attribute="person.id_number_masked", allow_none=True)
    hours_available = fields.Integer(attribute="balances.hours.available", metadata={"description": "Minutes."})
    points_available = fields.Integer(attribute="balances.points.available")
    star_level = fields.Integer(attribute="balances.star_level")


class DeviceTokenInSchema(Schema):
    """A new device token: a name and the station it works for."""

    class Meta:
        unknown = EXCLUDE

    name = name_field(100, missing="Enter a name of at most 100 characters.")
    scope_type = fields.String(
        load_default="station",
        validate=validate.OneOf(["station", "activity"], error="Choose a station or an activity."),
    )
    scope_id = fields.Integer(required=True, error_messages={"required": "Choose what the device is for."})


class DeviceTokenSchema(Schema):
    """A device token as lists show it: never the token itself, only its first characters."""

    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    scope_type = fields.String()
    scope_id = fields.Integer()
    organisation_id = fields.Integer()
    created_by = fields.Integer()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class DeviceTokenCreatedSchema(Schema):
    """A new device token and, this once, the token to enter on the device."""

    device_token = fields.Nested(DeviceTokenSchema)
    token = fields.String(metadata={"description": "Shown once; only its hash is kept."})


class SignInSchema(Schema):
    """Signing in from an app: phone number and password; `remember` keeps the app signed in for 30 days."""

    class Meta:
        unknown = EXCLUDE

    phone = fields.String(required=True, validate=validate.Length(max=20), error_messages={"required": "Enter your phone number."})
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=128), error_messages={"required": "Enter your password."})
    remember = fields.Boolean(load_default=False)


class SignedInSchema(Schema):
    """Who is now signed in, and whether they must choose their own password before anything else."""

    person = fields.Nested(PersonOutSchema)
    password_change_required = fields.Boolean(attribute="person.must_change_password")
