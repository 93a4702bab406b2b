"""Input and output shapes of the audit log (marshmallow)."""

from __future__ import annotations

import json

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

PER_PAGE = 100


class AuditQuerySchema(Schema):
    """Reading the log: older than an entry id, optionally about one record."""

    class Meta:
        unknown = EXCLUDE

    before = fields.Integer(load_default=None, validate=validate.Range(min=1, error="Use an entry number from 1 on."))
    target_type = fields.String(load_default=None, validate=validate.Length(max=20, error="Use at most 20 characters."))
    target_id = fields.Integer(load_default=None)

    @validates_schema
    def whole_target(self, data, **kwargs):
        """A record is named by its type and its id together."""
        if (data.get("target_type") is None) != (data.get("target_id") is None):
            missing = "target_id" if data.get("target_id") is None else "target_type"
            raise ValidationError("Give the record's type and number together.", missing)


class AuditEntrySchema(Schema):
    """One recorded change or sensitive view; secret fields show as changed, never their values."""

    id = fields.Integer()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    target_type = fields.String()
    target_id = fields.Integer()
    changes = fields.Function(lambda entry: json.loads(entry.changes or "{}"), metadata={"description": "Field -> [before, after]."})
    at = fields.DateTime()


class AuditPageSchema(Schema):
    """A page of the log, newest first, and the `before` that fetches the next page (null at the end)."""

    items = fields.List(fields.Nested(AuditEntrySchema))
    next_before = fields.Integer(allow_none=True)
