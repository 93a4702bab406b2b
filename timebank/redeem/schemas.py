"""Input and output shapes of stations, the catalogue, stock and redemptions: forms and the API share them."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from timebank.people.schemas import name_field
from timebank.redeem.models import ItemKind

HHMM = validate.Regexp(r"^([01]\d|2[0-4]):[0-5]\d$", error="Enter a time such as 08:30.")


def _whole(minimum: int, maximum: int, message: str, **kwargs: Any) -> fields.Integer:
    return fields.Integer(
        strict=False,
        validate=validate.Range(min=minimum, max=maximum, error=message),
        error_messages={"invalid": "Enter a whole number.", "required": message},
        **kwargs,
    )


def _reason(missing: str) -> fields.String:
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=200, error="Give a reason of at most 200 characters."),
            validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Line breaks and control characters are not allowed."),
        ],
        error_messages={"required": missing},
    )


class StationHoursSchema(Schema):
    """A station's opening hours: which weekdays, from when to when (local time)."""

    class Meta:
        unknown = EXCLUDE

    open_days = fields.String(
        allow_none=True,
        validate=validate.Regexp(r"^(?!.*(.).*\1)[1-7]{1,7}$", error="Tick the days the station opens."),
    )
    opens_at = fields.String(allow_none=True, validate=HHMM)
    closes_at = fields.String(allow_none=True, validate=HHMM)
    opening_hours = fields.String(allow_none=True, validate=validate.Length(max=100, error="Use at most 100 characters."))

    @pre_load
    def days_from_boxes(self, data: Any, **_: Any) -> Any:
        """A form sends ticked days as a list; the record keeps them as one string of digits."""
        if isinstance(data, dict) and isinstance(data.get("open_days"), list):
            data = {**data, "open_days": "".join(sorted(str(d) for d in data["open_days"])) or None}
        return data

    @validates_schema
    def times_in_order(self, data: dict[str, Any], **_: Any) -> None:
        """Both times or neither, the opening before the closing."""
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if bool(opens) != bool(closes):
            raise ValidationError("Give both the opening and the closing time, or neither.", "closes_at")
        if opens and closes and opens >= closes:
            raise ValidationError("The station must close after it opens.", "closes_at")


class StationSchema(Schema):
    """A station to open: where (the organisation), its name, address, and opening hours in words."""

    class Meta:
        unknown = EXCLUDE

    organisation_id = fields.Integer(required=True, strict=False, error_messages={"required": "This field is required."})
    name = fields.String(required=True, metadata={"description": "At most 100 characters."})
    address = fields.String(allow_none=True, metadata={"description": "At most 200 characters."})
    opening_hours = fields.String(allow_none=True, metadata={"description": "As shown to volunteers, e.g. 周一至周六 9:00–17:00."})


class ItemSchema(Schema):
    """A catalogue item as a coordinator enters it."""

    class Meta:
        unknown = EXCLUDE

    name = name_field(100, missing="Give the item a name.")
    description = fields.String(allow_none=True, validate=validate.Length(max=500, error="Use at most 500 characters."))
    kind = fields.String(
        required=True,
        validate=validate.OneOf([k.value for k in ItemKind], error="Choose goods, a voucher or a service."),
        error_messages={"required": "Choose goods, a voucher or a service."},
    )
    commodity = fields.String(
        load_default="PTS", validate=validate.OneOf(["PTS", "HOUR"], error="Choose points or hours.")
    )
    price = _whole(1, 1_000_000, "Enter a price between 1 and 1000000.", required=True)
    organisation_id = fields.Integer(allow_none=True, strict=False, error_messages={"invalid": "Choose an organisation."})
    station_id = fields.Integer(allow_none=True, strict=False, error_messages={"invalid": "Choose a station."})
    limit_per_day = _whole(1, 1000, "Enter a limit between 1 and 1000, or leave it empty.", allow_none=True)
    limit_per_month = _whole(1, 10_000, "Enter a limit between 1 and 10000, or leave it empty.", allow_none=True)
    active_from = fields.Date(allow_none=True, error_messages={"invalid": "Enter a date, e.g. 2026-12-01."})
    active_to = fields.Date(allow_none=True, error_messages={"invalid": "Enter a date, e.g. 2026-12-31."})

    @validates_schema
    def dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        """An item cannot stop being offered before it starts."""
        start, end = data.get("active_from"), data.get("active_to")
        if start and end and end < start:
            raise ValidationError("The last day cannot come before the first.", "active_to")


class StockChangeSchema(Schema):
    """Stock received, or a count adjusted, with the reason."""

    class Meta:
        unknown = EXCLUDE

    item_id = fields.Integer(required=True, strict=False, error_messages={"required": "Choose an item.", "invalid": "Choose an item."})
    change = fields.Integer(
        required=True, strict=False,
        validate=[validate.Range(min=-100_000, max=100_000, error="Enter a change between -100000 and 100000."),
                  validate.NoneOf([0], error="Enter a change other than zero.")],
        error_messages={"required": "Enter how many.", "invalid": "Enter a whole number."},
    )
    reason = fields.String(load_default="received", validate=validate.OneOf(["received", "adjusted"], error="Choose received or adjusted."))
    note = fields.String(allow_none=True, validate=validate.Length(max=200, error="Use at most 200 characters."))

    @validates_schema
    def adjustments_say_why(self, data: dict[str, Any], **_: Any) -> None:
        """Received stock only adds; an adjustment must say why."""
        if data.get("reason") == "received" and data.get("change", 0) < 0:
            raise ValidationError("Received stock adds; record a removal as an adjustment with a reason.", "change")
        if data.get("reason") == "adjusted" and not (data.get("note") or "").strip():
            raise ValidationError("Say why the count changed.", "note")


class BasketLineSchema(Schema):
    """One item and how many."""

    class Meta:
        unknown = EXCLUDE

    item_id = fields.Integer(required=True, strict=False, error_messages={"required": "Choose an item.", "invalid": "Choose an item."})
    quantity = _whole(1, 100, "Enter a quantity between 1 and 100.", required=True)


class RedemptionRequestSchema(Schema):
    """What the counter sends to redeem a basket."""

    class Meta:
        unknown = EXCLUDE

    visit = fields.String(required=True, error_messages={"required": "Scan the volunteer's code first."})
    idempotency_key = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{8,64}$", error="The basket key must be 8 to 64 letters, digits or -_.:"),
        error_messages={"required": "The basket key is missing; reload the page."},
    )
    lines = fields.List(fields.Nested(BasketLineSchema), required=True, validate=validate.Length(min=1, max=50, error="Choose at least one item."),
                        error_messages={"required": "Choose at least one item."})


class VoidSchema(Schema):
    """Why a redemption is voided."""

    class Meta:
        unknown = EXCLUDE

    reason = _reason("Say why the redemption is voided.")


class MemberScanSchema(Schema):
    """A scanned member code at the counter."""

    class Meta:
        unknown = EXCLUDE

    member_code = fields.String(required=True, validate=validate.Length(min=1, max=500, error="Scan a member code."),
                                error_messages={"required": "Scan a member code."})


class DutyInSchema(Schema):
    """The clerk at the counter signing in on the station's device for their shift."""

    class Meta:
        unknown = EXCLUDE

    phone = fields.String(required=True, error_messages={"required": "This field is required."})
    password = fields.String(required=True, load_only=True, error_messages={"required": "This field is required."})


# -- answers ---------------------------------------------------------------------------


class StationOutSchema(Schema):
    """A station: where it is, when its counter opens."""

    id = fields.Integer()
    organisation_id = fields.Integer()
    name = fields.String()
    address = fields.String(allow_none=True)
    opening_hours = fields.String(allow_none=True)
    open_days = fields.String(allow_none=True, metadata={"description": "ISO weekdays the counter opens, e.g. 123456; null: every day."})
    opens_at = fields.String(allow_none=True, metadata={"description": "Local time, e.g. 08:00."})
    closes_at = fields.String(allow_none=True)


class ClerkSchema(Schema):
    """The clerk on duty (name masked)."""

    id = fields.Integer()
    masked_name = fields.String()


class DutyOutSchema(Schema):
    """The duty ticket a station's device sends as X-Counter-Duty with each visit, redemption and void."""

    duty = fields.String(metadata={"description": "Send as the X-Counter-Duty header; valid for a 12-hour shift on this device."})
    clerk = fields.Nested(ClerkSchema)



class OfferSchema(Schema):
    """An item as a station offers it."""

    id = fields.Integer(attribute="item.id")
    name = fields.String(attribute="item.name")
    kind = fields.String(attribute="item.kind")
    unit = fields.String(attribute="item.commodity", metadata={"description": "PTS (points) or HOUR (minutes of time credit)."})
    price = fields.Integer(attribute="item.price")
    stock = fields.Integer(allow_none=True, metadata={"description": "How many are left here; null for services."})
    limit_per_day = fields.Integer(attribute="item.limit_per_day", allow_none=True)
    limit_per_month = fields.Integer(attribute="item.limit_per_month", allow_none=True)


class VisitSchema(Schema):
    """The volunteer at the counter (name masked), what they can spend, and the ticket a basket carries."""

    visit = fields.String(attribute="ticket", metadata={"description": "Send it with the basket; valid 20 minutes at this station."})
    masked_name = fields.String()
    points_available = fields.Integer(attribute="balances.points.available")
    minutes_available = fields.Integer(attribute="balances.hours.available")
    star_level = fields.Integer(attribute="balances.star_level")


class RedemptionLineOutSchema(Schema):
    """One line of a receipt."""

    item_id = fields.Integer()
    item_name = fields.String()
    unit = fields.String(attribute="commodity")
    quantity = fields.Integer()
    unit_price = fields.Integer()
    amount = fields.Integer()


class RedemptionOutSchema(Schema):
    """A redemption as its receipt shows it."""

    id = fields.Integer()
    number = fields.String()
    station_id = fields.Integer()
    points = fields.Integer()
    minutes = fields.Integer()
    status = fields.String(metadata={"description": "completed or voided."})
    created_at = fields.DateTime()
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)
    transaction_id = fields.Integer()
    clerk_id = fields.Integer(metadata={"description": "The clerk who served: the person signed in, or the clerk on duty at the device."})
    device_id = fields.Integer(allow_none=True, metadata={"description": "The station device it was made on, if any."})
    lines = fields.List(fields.Nested(RedemptionLineOutSchema))


class DifferenceSchema(Schema):
    """Ledger against redemptions, for one unit."""

    unit = fields.String()
    ledger = fields.Integer()
    redemptions = fields.Integer()
    off_by = fields.Integer()


class ItemTotalSchema(Schema):
    """How many of an item went, for how much."""

    name = fields.String()
    unit = fields.String()
    quantity = fields.Integer()
    amount = fields.Integer()


class StationDaySchema(Schema):
    """A station's day: redemptions, voids, totals per item and unit, stock at close, reconciliation."""

    station_id = fields.Integer(attribute="station.id")
    day = fields.Date()
    redemptions = fields.List(fields.Nested(RedemptionOutSchema))
    voided = fields.List(fields.Nested(RedemptionOutSchema))
    items = fields.List(fields.Nested(ItemTotalSchema))
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    stock_at_close = fields.Function(lambda day: [{"item": name, "quantity": quantity} for name, quantity in day.stock_at_close])
    reconciled = fields.Boolean(attribute="reconciliation.agrees")
    differences = fields.List(fields.Nested(DifferenceSchema), attribute="reconciliation.differences")


class StockMovementOutSchema(Schema):
    """One recorded change of stock."""

    id = fields.Integer()
    item_id = fields.Integer()
    change = fields.Integer()
    quantity_after = fields.Integer()
    reason = fields.String()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class DayQuerySchema(Schema):
    """Which local day."""

    class Meta:
        unknown = EXCLUDE

    day = fields.Date(load_default=None, error_messages={"invalid": "Enter a date, e.g. 2026-12-01."})
