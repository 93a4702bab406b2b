"""What gift, donation and pool forms and API calls take and give.

Pages ask in hours (a 70-year-old thinks in hours, 1.5 or 2); the API speaks
minutes, as the ledger does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from timebank.gifts.services import MOST_MINUTES

KEY = validate.Length(min=8, max=64, error="Reload the page: the form's key is missing.")
MINUTES = validate.Range(min=1, max=MOST_MINUTES, error="Enter an amount between 1 minute and 1,000 hours.")
HOURS = validate.Range(min=Decimal("0.25"), max=MOST_MINUTES // 60, error="Enter an amount between 0.25 and 1,000 hours.")
HOURS_MESSAGES = {"required": "Enter how many hours.", "invalid": "Enter a number of hours, such as 1.5."}
KEY_MESSAGES = {"required": "Reload the page: the form's key is missing."}


class _InHours(Schema):
    """A form's `hours` (0.25 h steps) read into `minutes`."""

    class Meta:
        unknown = EXCLUDE

    hours = fields.Decimal(required=True, places=2, validate=HOURS, error_messages=HOURS_MESSAGES)

    @post_load
    def to_minutes(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Hours to whole minutes."""
        data["minutes"] = int(data.pop("hours") * 60)
        return data


class GiftFormSchema(_InHours):
    """The gift page: to whom, how many hours, and the form's key (a retried form gives once)."""

    receiver_id = fields.Integer(required=True, strict=False, error_messages={"required": "Choose the family member.", "invalid": "Choose the family member."})
    key = fields.String(required=True, validate=KEY, error_messages=KEY_MESSAGES)


class DonationFormSchema(_InHours):
    """The donation page: how many hours, and the form's key."""

    key = fields.String(required=True, validate=KEY, error_messages=KEY_MESSAGES)


class AllocationFormSchema(_InHours):
    """The pool page's allocation to one need: hours and an optional note."""

    need_id = fields.Integer(required=True, error_messages={"required": "Choose the need.", "invalid": "Choose the need."})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200, error="Use at most 200 characters."))


class GiftSchema(Schema):
    """A gift of hours to a confirmed family member."""

    class Meta:
        unknown = EXCLUDE

    receiver_id = fields.Integer(required=True, strict=True, metadata={"description": "The family member's person id."})
    minutes = fields.Integer(required=True, strict=True, validate=MINUTES)
    idempotency_key = fields.String(required=True, validate=KEY, metadata={"description": "Retries with the same key give once."})


class DonationSchema(Schema):
    """A donation of hours to the donor's community pool."""

    class Meta:
        unknown = EXCLUDE

    minutes = fields.Integer(required=True, strict=True, validate=MINUTES)
    idempotency_key = fields.String(required=True, validate=KEY, metadata={"description": "Retries with the same key donate once."})


class MovedSchema(Schema):
    """What a gift or donation posted, and what the giver has left."""

    transaction_id = fields.Integer()
    kind = fields.String(metadata={"description": "transfer (a gift) or donation"})
    minutes = fields.Integer()
    receiver_id = fields.Integer(allow_none=True)
    organisation_id = fields.Integer(allow_none=True, metadata={"description": "The pool's organisation, for a donation."})
    available_minutes = fields.Integer(metadata={"description": "The giver's time credit left to spend."})
    created_at = fields.DateTime()


class AllocationSchema(Schema):
    """Pool hours set aside for a need."""

    class Meta:
        unknown = EXCLUDE

    need_id = fields.Integer(required=True, strict=True)
    minutes = fields.Integer(required=True, strict=True, validate=MINUTES)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class AllocationOutSchema(Schema):
    """An allocation: how much, for which need, and what it still sets aside."""

    id = fields.Integer()
    organisation_id = fields.Integer()
    need_id = fields.Integer()
    minutes = fields.Integer()
    status = fields.String(metadata={"description": "open, spent (drawn by visits) or returned"})
    set_aside_minutes = fields.Integer()
    allocated_by = fields.Integer()
    allocated_at = fields.DateTime()
    note = fields.String(allow_none=True)


class PoolSchema(Schema):
    """A community pool's figures, in minutes."""

    organisation_id = fields.Integer()
    name = fields.String()
    balance = fields.Integer()
    held = fields.Integer()
    available = fields.Integer()


class WaitingNeedSchema(Schema):
    """A need waiting for pool hours, in the policy's priority order."""

    need_id = fields.Integer()
    organisation_id = fields.Integer()
    resident_name = fields.String()
    description = fields.String()
    colour = fields.String()
    recorded_at = fields.DateTime()
    group = fields.String(metadata={"description": "living_alone_over_80, hardship or others"})
    paid_by_pool = fields.Boolean(metadata={"description": "An order of the need is already to be paid by the pool."})


class PoolLineSchema(Schema):
    """One movement of a pool's hours."""

    posting_id = fields.Integer()
    transaction_id = fields.Integer()
    movement = fields.String(metadata={"description": "donation, over_cap, spent, correction or other"})
    who = fields.String()
    amount = fields.Integer(metadata={"description": "Minutes, signed."})
    balance_after = fields.Integer()
    at = fields.DateTime()
    memo = fields.String(allow_none=True)


class PoolStatementSchema(Schema):
    """A pool's figures and a page of its movements, newest first."""

    pool = fields.Nested(PoolSchema)
    totals = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "Minutes per movement."})
    allocated = fields.Integer(metadata={"description": "Minutes open allocations set aside."})
    held_for_visits = fields.Integer(metadata={"description": "Minutes accepted visits set aside."})
    returned = fields.Integer(metadata={"description": "Minutes given back from allocations."})
    lines = fields.List(fields.Nested(PoolLineSchema))
    next_before = fields.Integer(allow_none=True)


class StatementQuerySchema(Schema):
    """Paging through a statement: the posting id to read on from."""

    class Meta:
        unknown = EXCLUDE

    before = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))


class PoolExportSchema(Schema):
    """The pool statement workbook: which pool."""

    class Meta:
        unknown = EXCLUDE

    organisation_id = fields.Integer(required=True, error_messages={"required": "Choose an organisation.", "invalid": "Choose an organisation."})
