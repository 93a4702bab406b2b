"""A notice in words: in the reader's language on the page, in Chinese (the default locale) when sent out."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import current_app
from flask_babel import force_locale, ngettext

from timebank.notices.kinds import kind_of
from timebank.notices.models import Notice

T = TypeVar("T")


def render(kind: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """(title, sentence) of a notice of this kind with these params."""
    spec = kind_of(kind)
    try:
        text = str(spec.text) % dict(params)
    except (KeyError, TypeError, ValueError):  # a notice written before its wording changed still shows its title
        text = str(spec.text)
    return str(spec.title), text


def render_notice(notice: Notice) -> tuple[str, str]:
    """(title, sentence) of a stored notice."""
    return render(notice.kind, json.loads(notice.params_json or "{}"))


def digest(parts: list[tuple[str, str]]) -> tuple[str, str]:
    """Several notices as one message: a count in the subject, one line each."""
    subject = ngettext("%(num)d new notice from the time bank", "%(num)d new notices from the time bank", len(parts))
    return subject, "\n".join(f"· {text}" for _title, text in parts)


def outbound(fn: Callable[..., T]) -> Callable[..., T]:
    """Run `fn` in the service's default language (messages leave without a reader's request)."""

    @functools.wraps(fn)
    def in_default_locale(*args: Any, **kwargs: Any) -> T:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            return fn(*args, **kwargs)

    return in_default_locale

