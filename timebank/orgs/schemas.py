"""Input and output shapes of organisations and their policies (marshmallow)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, Schema, fields, validate

from timebank.orgs.models import LEVELS, Organisation
from timebank.orgs.policy import ORDERINGS
from timebank.people.schemas import name_field

COUNT = validate.Range(min=0, error="Use a whole number, 0 or more.")


class OrganisationNodeSchema(Schema):
    """An organisation and the ones below it."""

    id = fields.Integer()
    name = fields.String()
    level = fields.String()
    parent_id = fields.Integer(allow_none=True)
    path = fields.String()
    children = fields.List(fields.Nested(lambda: OrganisationNodeSchema()))


class OrganisationInSchema(Schema):
    """A new organisation below another: its name and level (街道, 社区 or 服务队)."""

    class Meta:
        unknown = EXCLUDE

    name = name_field(100, missing="Enter a name of at most 100 characters.")
    level = fields.String(
        required=True,
        validate=validate.OneOf(LEVELS, error="Choose district, street, community or team."),
        error_messages={"required": "Choose district, street, community or team."},
    )


class PolicySchema(Schema):
    """The programme settings (DESIGN.md "Policies"); in a change, null removes an override here."""

    class Meta:
        unknown = INCLUDE  # the service names each unknown policy

    points_per_hour = fields.Integer(strict=True, allow_none=True, validate=COUNT)
    category_multipliers = fields.Dict(keys=fields.String(), values=fields.Float(), allow_none=True)
    hour_cap_minutes = fields.Integer(strict=True, allow_none=True, validate=COUNT)
    hours_over_cap_to_pool = fields.Boolean(allow_none=True)
    family_transfers = fields.Boolean(allow_none=True)
    donations = fields.Boolean(allow_none=True)
    min_star_to_spend_hours = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=5, error="Choose 0 to 5 stars.")
    )
    min_age_to_spend_hours = fields.Integer(strict=True, allow_none=True, validate=COUNT)
    checkin_opens_minutes = fields.Integer(strict=True, allow_none=True, validate=COUNT)
    min_attendance_share = fields.Float(
        allow_none=True, validate=validate.Range(min=0, max=1, error="Use a share from 0 to 1, e.g. 0.6.")
    )
    rounding_minutes = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=60, error="Use 1 to 60 minutes.")
    )
    flag_threshold_minutes = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=240, error="Use 0 to 240 minutes.")
    )
    reviewers_required = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=5, error="Use 1 to 5 reviewers.")
    )
    record_deadline_working_days = fields.Integer(strict=True, allow_none=True, validate=COUNT)
    forgotten_checkout = fields.String(allow_none=True, validate=validate.Length(max=40, error="Use at most 40 characters."))
    star_thresholds_hours = fields.List(fields.Integer(strict=True, validate=COUNT), allow_none=True)
    continuing_education_hours = fields.Integer(strict=True, allow_none=True, validate=COUNT)
    continuing_education_period_years = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=10, error="Use 1 to 10 years.")
    )
    need_red_response_hours = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=72, error="Use 1 to 72 hours.")
    )
    need_yellow_response_working_days = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=3, max=5, error="Use 3 to 5 working days.")
    )
    need_blue_response_working_days = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=60, error="Use 1 to 60 working days.")
    )
    pool_priority = fields.List(
        fields.String(validate=validate.OneOf(list(ORDERINGS["pool_priority"]), error="Use living_alone_over_80, hardship or others.")),
        allow_none=True, metadata={"description": "Whom the community pool serves first: each group once, in order."},
    )


class PoliciesSchema(Schema):
    """An organisation's policies: those in force there, and those set at this node."""

    organisation_id = fields.Integer(attribute="organisation.id")
    effective = fields.Nested(PolicySchema)
    overrides = fields.Dict(metadata={"description": "The settings overridden at this node."})


def nest(organisations: Iterable[Organisation]) -> list[dict[str, Any]]:
    """Organisations in tree order as nested nodes: each one under its parent when the parent is listed."""
    nodes: dict[int, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for organisation in organisations:
        node = {
            "id": organisation.id,
            "name": organisation.name,
            "level": organisation.level,
            "parent_id": organisation.parent_id,
            "path": organisation.path,
            "children": [],
        }
        nodes[organisation.id] = node
        parent = nodes.get(organisation.parent_id)
        (parent["children"] if parent else roots).append(node)
    return roots
