"""Flask glue shared by every blueprint: the request's database session and content negotiation."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from babel import Locale
from flask import Flask, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape
from flask_babel import gettext
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from timebank.db import Database
from timebank.domain import Conflict, DomainError, NotAllowed, NotFound
from timebank.inputs import INT64_MAX

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOCALE_COOKIE = "timebank_lang"


def _digits_at_most(bound: str) -> str:
    """A regex for the digit strings as long as `bound` that are not above it."""
    choices = [f"{bound[:i]}[0-{int(d) - 1}]\\d{{{len(bound) - i - 1}}}" for i, d in enumerate(bound) if d != "0"]
    return "|".join(choices + [bound])


class RecordIdConverter(IntegerConverter):
    """`<int:...>` in every URL rule: only numbers a BIGINT id can hold, so anything larger is a plain 404.

    The bound is in the pattern itself rather than a check after matching:
    Werkzeug would otherwise answer 405 for a PATCH to /people/<2⁶³> because
    the GET rule's pattern matched.
    """

    regex = rf"(?:\d{{1,18}}|{_digits_at_most(str(INT64_MAX))})"


def record_id(text: str) -> int:
    """An id or count from a form or query: ASCII digits that fit 64 bits, else ValueError.

    As `request.args.get(name, type=record_id)` it gives the default instead,
    where `type=int` would pass 2⁶³ on to the database (a 500) and '²' to int().
    """
    if not (text.isascii() and text.isdigit()) or int(text) > INT64_MAX:
        raise ValueError(f"not an id: {text!r}")
    return int(text)


def record_ids(texts: list[str]) -> list[int]:
    """The ids among submitted values (anything else is left out, as a form's stray value)."""
    ids = []
    for text in texts:
        try:
            ids.append(record_id(text))
        except ValueError:
            continue
    return ids


def database() -> Database:
    """The app's database."""
    return current_app.extensions["timebank.database"]


def db_session() -> Session:
    """The request's one session: the view commits it; teardown rolls back whatever it did not."""
    if "db_session" not in g:
        write = request.method not in SAFE_METHODS
        view = current_app.view_functions.get(request.endpoint) if write else None
        g.db_session = database().session(write=write, reads_first=getattr(view, "reads_first", False))
    return g.db_session


def reads_first(view: T) -> T:
    """Mark a view that writes after reading who asks and what about: on SQLite its request holds the
    write lock only from its first write (or the service's `start_writing`) to its commit, not while
    the signed-in person, the device and the records in question are read (see `timebank.db`)."""
    view.reads_first = True  # type: ignore[attr-defined]
    return view


def close_db_session(_exc: BaseException | None = None) -> None:
    """Roll back anything uncommitted and give the connection back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def wants_json() -> bool:
    """True for the JSON API and for clients that prefer JSON to HTML."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def select_locale() -> Locale:
    """The chosen language: ?lang=, then the language cookie, then the browser's; Chinese first."""
    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    for choice in (request.args.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        if choice in languages:
            return parsed_locale(choice)
    return parsed_locale(request.accept_languages.best_match(languages, default=default) or default)


@functools.cache
def parsed_locale(identifier: str) -> Locale:
    """A Babel locale, parsed once per language rather than on every request."""
    return Locale.parse(identifier)


def form_data(*, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The submitted form as a dict; `lists` name the multi-valued fields; empty strings become None."""
    data: dict[str, Any] = {}
    for key in request.form:
        if key == "csrf_token":
            continue
        if key in lists:
            data[key] = [v for v in request.form.getlist(key) if v]
        else:
            value = request.form.get(key, "").strip()
            data[key] = value or None
    for key in lists:
        data.setdefault(key, [])
    return data


def done(message: str, endpoint: str, **values: Any) -> ResponseReturnValue:
    """Commit, say what happened, and go to the next page (POST/redirect/GET)."""
    db_session().commit()
    flash(message)
    return redirect(url_for(endpoint, **values))


def translated_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each field's problems in the user's language."""
    return {field: [gettext(problem) for problem in problems] for field, problems in errors.items()}


def submit(action: Callable[[], T], *, template: str, **context: Any) -> T | ResponseReturnValue:
    """Run a form's service call; on refused input, roll back and show the form again with each problem."""
    try:
        return action()
    except DomainError as exc:
        if not exc.errors:
            raise
        db_session().rollback()
        status = 409 if isinstance(exc, Conflict) else 422
        message = gettext(exc.template, **exc.params)
        page = render_template(
            template, errors=translated_errors(exc.errors), message=message, form=request.form, **context
        )
        return page, status


def refusable(action: Callable[[], ResponseReturnValue], page: Callable[[], tuple[str, dict[str, Any]]]) -> ResponseReturnValue:
    """Run a POST; if the service or the ledger refuses, roll back and show the page again with the problem.

    Unknown records and other people's records are not pages to show again:
    they go to the error page (404/403).
    """
    from timebank.errors import status_for
    from timebank.ledger import LedgerError

    try:
        return action()
    except (DomainError, LedgerError) as exc:
        if isinstance(exc, (NotFound, NotAllowed)):
            raise
        db_session().rollback()
        status, _code = status_for(exc)
        template, context = page()
        message = gettext(exc.template, **exc.params)
        errors = translated_errors(getattr(exc, "errors", {}))
        return render_template(template, message=message, errors=errors, form=request.form, **context), status


#: The header's menu: (endpoint, label msgid, group msgid), in the order shown. Who sees a link is who its
#: view admits (`requires`), so nobody is shown a page that answers 403; endpoints not in this app are left out.
NAV = (
    ("workbench.index", "Workbench", "Mine"),
    ("me.profile", "Me", "Mine"),
    ("me.code", "My code", "Mine"),
    ("me.balances", "Balances", "Mine"),
    ("volunteering.browse", "Activities", "Mine"),
    ("volunteering.my_attendances", "My service", "Mine"),
    ("orders.mine", "My orders", "Mine"),
    ("needs.mine", "My requests", "Mine"),
    ("needs.new", "Ask for help", "Mine"),
    ("redeem.near_me", "Where to redeem", "Mine"),
    ("gifts.give", "Give hours", "Mine"),
    ("gifts.donate", "Donate hours", "Mine"),
    ("certify.mine", "Certification", "Mine"),
    ("grading.mine", "My grade", "Mine"),
    ("events.manage", "Manage activities", "Activities and review"),
    ("review.corrections", "Correction requests", "Activities and review"),
    ("review.overdue", "Overdue reviews", "Activities and review"),
    ("needs.index", "Needs", "Needs and orders"),
    ("orders.index", "Service orders", "Needs and orders"),
    ("needs.residents_index", "Residents", "Needs and orders"),
    ("orders.follow_ups", "Rating follow-ups", "Needs and orders"),
    ("needs.resources_index", "Resources", "Needs and orders"),
    ("needs.projects_index", "Service projects", "Needs and orders"),
    ("grading.organisations", "Volunteer grades", "Needs and orders"),
    ("grading.follow_ups", "Grade follow-ups", "Needs and orders"),
    ("grading.supervision_sessions", "Supervision records", "Needs and orders"),
    ("grading.my_index", "Supervision index", "Needs and orders"),
    ("grading.team_index", "Team supervision index", "Needs and orders"),
    ("redeem.index", "Stations", "Stations"),
    ("pool.index", "Community pools", "Stations"),
    ("certify.programmes", "Certification programmes", "Certification"),
    ("people.registrations", "Registrations", "People and organisations"),
    ("people.search", "Volunteers", "People and organisations"),
    ("imports.upload", "Import volunteers", "People and organisations"),
    ("orgs.index", "Organisations", "People and organisations"),
    ("devices.index", "Devices", "People and organisations"),
    ("audit.index", "Audit log", "System"),
    ("jobs.index", "Background jobs", "System"),
    ("notices.outbox", "Outbox", "System"),
)


def admits(view: Callable[..., Any], holds: Callable[..., bool]) -> bool:
    """Whether the view lets in someone for whom `holds(*roles)` says yes: unguarded views are public (the
    authorisation matrix holds every view to `requires` or PUBLIC), guarded ones need one of their roles."""
    required = getattr(view, "required_roles", None)
    return not required or holds(*required)


def nav_groups(view_functions: dict[str, Callable[..., Any]], holds: Callable[..., bool]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The menu's groups in order, each with the (endpoint, label msgid) its holder may open."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for endpoint, label, group in NAV:
        view = view_functions.get(endpoint)
        if view is not None and admits(view, holds):
            groups.setdefault(group, []).append((endpoint, label))
    return list(groups.items())


def number(value: float | int | None, digits: int = 0) -> str:
    """A count, points or balance with thousands separators: `66,955`, `1,500.5` (`—` for none)."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


#: A figure and its unit, which a narrow screen must never break apart ("94 小/时").
FIGURE_WITH_UNIT = re.compile(r"\d[\d,.]*\s?(?:小时|分钟|积分|hours?|minutes?|points?|min\b|h\b)")


def keep_figures(text: str) -> Markup:
    """Text, escaped, with every figure held together with its unit on one line."""
    return Markup(FIGURE_WITH_UNIT.sub(lambda m: Markup('<span class="figure-unit">%s</span>') % m[0], str(escape(text))))


def init_templates(app: Flask) -> None:
    """Helpers every template can call: choices for forms and the navigation for this person."""
    from flask_login import current_user

    from timebank.categories import SERVICE_CATEGORIES

    id_types = (
        ("resident_id", "Resident ID card"),
        ("passport", "Passport"),
        ("hk_macao_permit", "Mainland travel permit for Hong Kong and Macao residents"),
        ("taiwan_permit", "Mainland travel permit for Taiwan residents"),
        ("foreign_permanent", "Foreigner's permanent residence ID card"),
    )

    def nav_menu() -> list[tuple[str, list[tuple[str, str]]]]:
        """The signed-in person's menu: (group, [(href, label)]), translated."""
        if not current_user.is_authenticated:
            return []
        from timebank.auth.login import current_actor

        return [
            (gettext(group), [(url_for(endpoint), gettext(label)) for endpoint, label in links])
            for group, links in nav_groups(app.view_functions, current_actor().has)
        ]

    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["keep_figures"] = keep_figures
    app.jinja_env.globals.update(
        nav_menu=nav_menu,
        category_options=lambda: [(k, v) for k, v in SERVICE_CATEGORIES.items() if k != "training"],
        category_name=lambda slug: SERVICE_CATEGORIES.get(slug, slug),
        id_type_options=lambda: [(key, gettext(label)) for key, label in id_types],
    )
