"""The one JSON loader for request bodies: bounded in size and depth, and only values the database can store.

Python's json module takes anything: a body of any size, nesting until the
interpreter's recursion limit, integers of any length, lone UTF-16 surrogates,
NaN. Each of those either exhausts a worker or fails deep in the database as a
500. Here they are refused up front, with the field they came in.
"""

from __future__ import annotations

import json
import re
from typing import Any

from timebank.inputs import INT64_MAX, INT64_MIN

#: The largest JSON body the API reads (the biggest real one, a basket or an activity, is a few KB).
MAX_BYTES = 256 * 1024
#: Deeper than any schema of the API; a deeper body is an attack on the parser.
MAX_DEPTH = 16
STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
BRACKETS = re.compile(rb"[\[\]{}]")


class BodyRefused(ValueError):
    """The body cannot be taken: a msgid for the message, and per-field problems (msgids)."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        #: Not JSON at all (400), rather than JSON that cannot be taken (422).
        self.malformed = malformed


def _refuse_constant(name: str) -> Any:
    raise BodyRefused("The request body is not a valid JSON object.", malformed=True)


def _depth(raw: bytes) -> int:
    """How deep the brackets nest, strings aside (checked before parsing, so the parser never recurses far)."""
    depth = deepest = 0
    for bracket in BRACKETS.findall(STRINGS.sub(b"", raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def loads_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or BodyRefused saying what is wrong with it."""
    if _depth(raw) > MAX_DEPTH:
        raise BodyRefused("The request body nests too deep.")
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, BodyRefused):
            raise
        raise BodyRefused("The request body is not a valid JSON object.", malformed=True) from None
    if not isinstance(value, dict):
        raise BodyRefused("The request body is not a valid JSON object.", malformed=True)
    problems = {key: [problem] for key, item in value.items() if (problem := _problem(item))}
    if problems:
        raise BodyRefused("Some fields need attention.", problems)
    return value


def _problem(value: Any) -> str | None:
    """What no field can hold in this value (walked without recursion), or None."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not _storable(item):
                return "This text contains characters that cannot be stored."
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                return "This number is too large."
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _storable(text: str) -> bool:
    """False for a lone surrogate or a NUL, which no UTF-8 text column (PostgreSQL's least of all) stores."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
