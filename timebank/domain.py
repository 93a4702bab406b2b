"""Errors every feature's services raise; the web layer maps them to HTTP (see errors.py).

Like the ledger's errors, each keeps an English message template (the msgid
the web layer translates) and its parameters apart, plus per-field problems.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused operation, with a message to show and per-field problems."""

    template = "The request was refused."

    def __init__(self, template: str | None = None, *, errors: dict[str, list[str]] | None = None, **params: Any) -> None:
        if template is not None:
            self.template = template
        self.params = params
        self.errors = errors or {}
        super().__init__(self.template % params if params else self.template)


class InvalidInput(DomainError):
    """What was sent does not pass the rules; `errors` says which field and why."""

    template = "Some fields need attention."


class NotFound(DomainError):
    """No such record, or none the actor may see."""

    template = "Not found."


class NotAllowed(DomainError):
    """The actor's roles do not allow this here."""

    template = "You are not allowed to do this."


class OutOfReach(NotFound, NotAllowed):
    """A record of another community, to someone whose roles reach only their own.

    It answers as NotFound, the same as an id that does not exist, so ids cannot
    be probed for what lies outside one's reach; code that handles NotAllowed
    (the command line, which names the refusal) still catches it.
    """

    template = "Not found."


class Conflict(DomainError):
    """The change clashes with what is already recorded."""

    template = "This clashes with an existing record."
