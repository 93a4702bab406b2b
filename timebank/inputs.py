"""Input rules below every schema: digits in one script, whole numbers that are whole, text that can be seen.

Forms, the JSON API and the import all pass through these, so an ID number
typed in full-width digits is the same number as in ASCII, `1.5` is never
quietly a quantity of 1, and a name cannot be made of nothing visible.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields

#: What a BIGINT column holds, on SQLite and PostgreSQL alike.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Bidirectional embeddings, overrides and isolates: they reorder what is shown (a name reads other than it is).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def ascii_digits(text: str) -> str:
    """The text with every decimal digit of any script (full-width ０-９, Arabic-Indic ٠-٩, ...) as 0-9.

    Full-width letters and signs become their ASCII forms too (NFKC), so `１１０１０１…Ｘ` reads as `110101…X`.
    """
    normal = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and unicodedata.decimal(c, None) is not None else c
                   for c in normal)


def invisible_problem(text: str | None) -> str | None:
    """Why a name or title cannot be taken as written (a msgid), or None."""
    if not text:
        return None
    if any(c in BIDI_CONTROLS for c in text):
        return "Text direction controls are not allowed."
    if not any(unicodedata.category(c)[0] not in "CZ" for c in text):
        return "Enter something that can be seen, not only spaces or invisible characters."
    return None


def whole_number_problems(schema: Schema, data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Fields of `data` that an integer field of `schema` would misread: 1.5 as 1, true as 1, or a number past 64 bits."""
    problems: dict[str, list[str]] = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if not hasattr(data, "get") or key not in data:
            continue
        if any(_misread(field, value) for value in _values(data, key)):
            problems[key] = ["Enter a whole number."]
    return problems


def _values(data: Mapping[str, Any], key: str) -> list[Any]:
    """Every value given for a key (a form may repeat one)."""
    getlist = getattr(data, "getlist", None)
    return getlist(key) if getlist is not None else [data[key]]


def _misread(field: fields.Field, value: Any) -> bool:
    """True if the field (an integer, a list of them, or nested ones) would take the value wrongly."""
    if isinstance(field, fields.List):
        return isinstance(value, list) and any(_misread(field.inner, item) for item in value)
    if isinstance(field, fields.Nested):
        items = value if isinstance(value, list) else [value]
        return any(isinstance(item, Mapping) and whole_number_problems(field.schema, item) for item in items)
    if not isinstance(field, fields.Integer) or value is None:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, float):
        return not (math.isfinite(value) and value.is_integer() and INT64_MIN <= value <= INT64_MAX)
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("+-").isdecimal():
            return False  # not a number at all: the field says so in its own words
        if len(text) > 20:
            return True
        value = int(ascii_digits(text))
    return isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX
