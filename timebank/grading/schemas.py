"""What the grading pages and API read and give: overrides, follow-ups, supervision sessions, grades, indices."""

from __future__ import annotations

import json

from marshmallow import Schema, fields, validate

from timebank.events.schemas import LocalDateTime, StrippedSchema
from timebank.grading.index import indicators
from timebank.grading.rules import ORDER
from timebank.grading.services import FOLLOW_UP_METHODS, FOLLOW_UP_OUTCOMES
from timebank.people.schemas import name_field


class OverrideSchema(StrippedSchema):
    """A coordinator's colour for a volunteer or team, with the reason."""

    colour = fields.String(required=True, validate=validate.OneOf(ORDER, error="Choose a colour."), error_messages={"required": "Choose a colour."})
    reason = name_field(200, missing="Say why.")


class FollowUpSchema(StrippedSchema):
    """A follow-up (回访): how the volunteer was reached, what came of it, notes."""

    method = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_METHODS, error="Choose how you reached them."),
                           error_messages={"required": "Choose how you reached them."})
    outcome = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_OUTCOMES, error="Choose what came of it."),
                            error_messages={"required": "Choose what came of it."})
    notes = fields.String(validate=validate.Length(max=2000, error="Enter at most 2,000 characters."), load_default=None)


class SupervisionSchema(StrippedSchema):
    """A supervision session: when, how long, the topic, the volunteers or team supervised."""

    organisation_id = fields.Integer(strict=False, load_default=None, metadata={"description": "Where it was held; default: the team's or the social worker's."})
    team_id = fields.Integer(strict=False, load_default=None, metadata={"description": "The team supervised; with no volunteers named, its members attend."})
    volunteer_ids = fields.List(fields.Integer(strict=False), load_default=list)
    held_at = LocalDateTime(required=True, error_messages={"required": "Say when it was held."})
    minutes = fields.Integer(strict=False, required=True, validate=validate.Range(min=1, max=24 * 60, error="Enter between 1 and 1440 minutes."),
                             error_messages={"required": "Say how long it lasted.", "invalid": "Enter a whole number of minutes."})
    topic = name_field(100, missing="Give the topic.")
    notes = fields.String(validate=validate.Length(max=5000, error="Enter at most 5,000 characters."), load_default=None)


class RegradeSchema(Schema):
    """Which subtree to grade now."""

    organisation_id = fields.Integer(required=True, strict=True)


class GradeOutSchema(Schema):
    """A grade: the colour that stands, what the rules gave, the figures, the explanation, an override."""

    id = fields.Integer()
    subject_type = fields.String(metadata={"description": "volunteer or team"})
    subject_id = fields.Integer()
    organisation_id = fields.Integer()
    graded_on = fields.Date(metadata={"description": "The day (Asia/Shanghai) this colour began."})
    colour = fields.String(metadata={"description": "green, blue, yellow or red: what stands"})
    computed_colour = fields.String()
    figures = fields.Function(lambda g: json.loads(g.figures_json), metadata={"description": "The signals that produced it."})
    explanation = fields.String()
    computed_at = fields.DateTime()
    overridden = fields.Function(lambda g: g.overridden_by is not None)
    overridden_by = fields.Integer(allow_none=True)
    overridden_at = fields.DateTime(allow_none=True)
    override_reason = fields.String(allow_none=True)


class MyGradeSchema(Schema):
    """The signed-in volunteer's grade, kindly put."""

    grade = fields.Nested(GradeOutSchema, allow_none=True)
    word = fields.String(allow_none=True)
    next_step = fields.String(allow_none=True)


class FollowUpOutSchema(Schema):
    """A recorded follow-up."""

    id = fields.Integer()
    volunteer_id = fields.Integer()
    grade_id = fields.Integer(allow_none=True)
    social_worker_id = fields.Integer()
    at = fields.DateTime()
    method = fields.String()
    outcome = fields.String()
    notes = fields.String(allow_none=True)


class WaitingSchema(Schema):
    """A volunteer on the follow-up list."""

    volunteer_id = fields.Function(lambda i: i.person.id)
    name = fields.Function(lambda i: i.person.real_name)
    phone = fields.Function(lambda i: i.person.phone)
    grade = fields.Function(lambda i: GradeOutSchema().dump(i.grade))
    last_follow_up = fields.Function(lambda i: FollowUpOutSchema().dump(i.last) if i.last else None)


class SupervisionOutSchema(Schema):
    """A recorded supervision session."""

    id = fields.Integer()
    social_worker_id = fields.Integer()
    organisation_id = fields.Integer()
    team_id = fields.Integer(allow_none=True)
    held_at = fields.DateTime()
    minutes = fields.Integer()
    topic = fields.String()
    notes = fields.String(allow_none=True)
    volunteer_ids = fields.List(fields.Integer())


class IndicatorSchema(Schema):
    """One indicator of the month: figure, score, normalised weight, what to improve (null score: no data, left out)."""

    name = fields.String()
    figure = fields.String(allow_none=True)
    score = fields.Integer(allow_none=True)
    weight = fields.Float()
    text = fields.String()


class IndexOutSchema(Schema):
    """A social worker's index for one month."""

    social_worker_id = fields.Integer()
    organisation_id = fields.Integer()
    month = fields.Date(metadata={"description": "The month's first day."})
    score = fields.Integer()
    computed_at = fields.DateTime()
    indicators = fields.Function(lambda i: [{"name": n, **v} for n, v in indicators(i)],
                                 metadata={"description": "Each indicator's figure, score, weight and advice."})
