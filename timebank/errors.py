"""One mapping from domain errors to HTTP answers: JSON for the API, pages for people.

Every error body has the same shape: {"code", "status", "message", "errors"}.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError

from timebank import domain, ledger
from timebank.auth.codes import MemberCodeError
from timebank.auth.services import PasswordChangeRequired, SignInRefused
from timebank.events import checkin
from timebank.events.review import CreditSpent
from timebank.events.tokens import ActivityCodeError
from timebank.redeem import counter
from timebank.web import translated_errors, wants_json

#: Domain error -> (HTTP status, stable machine-readable code). Subclasses
#: inherit their nearest ancestor's entry.
DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    ledger.UnknownAccount: (404, "unknown_account"),
    ledger.UnbalancedTransaction: (422, "unbalanced_transaction"),
    ledger.InvalidAmount: (422, "invalid_amount"),
    ledger.MissingActor: (422, "missing_actor"),
    ledger.InsufficientBalance: (409, "insufficient_balance"),
    ledger.BalanceCapExceeded: (409, "balance_cap_exceeded"),
    ledger.AccountClosed: (409, "account_closed"),
    ledger.IdempotencyConflict: (409, "idempotency_conflict"),
    ledger.AlreadyReversed: (409, "already_reversed"),
    ledger.HoldNotOpen: (409, "hold_not_open"),
    ledger.LedgerError: (422, "ledger_error"),
    domain.InvalidInput: (422, "invalid_input"),
    domain.OutOfReach: (404, "not_found"),
    domain.NotFound: (404, "not_found"),
    domain.NotAllowed: (403, "forbidden"),
    domain.Conflict: (409, "conflict"),
    SignInRefused: (401, "sign_in_refused"),
    PasswordChangeRequired: (403, "password_change_required"),
    MemberCodeError: (422, "invalid_member_code"),
    ActivityCodeError: (422, "invalid_activity_code"),
    checkin.CodeExpired: (422, "code_expired"),
    checkin.CheckOutCodeAtCheckIn: (422, "check_out_code_at_check_in"),
    checkin.CheckInCodeAtCheckOut: (422, "check_in_code_at_check_out"),
    checkin.WrongActivity: (422, "wrong_activity"),
    checkin.PosterNotAllowed: (422, "poster_not_allowed"),
    checkin.NotOpen: (409, "activity_not_open"),
    checkin.NotStarted: (409, "check_in_not_open_yet"),
    checkin.Ended: (409, "activity_ended"),
    checkin.CheckOutClosed: (409, "check_out_closed"),
    checkin.AlreadyCheckedIn: (409, "already_checked_in"),
    checkin.AlreadyCheckedOut: (409, "already_checked_out"),
    checkin.NotCheckedIn: (409, "not_checked_in"),
    checkin.NotSignedUp: (409, "not_signed_up"),
    checkin.OnWaitingList: (409, "on_waiting_list"),
    checkin.AccountPending: (409, "account_pending"),
    CreditSpent: (409, "credit_spent"),
    counter.NotEnoughPoints: (409, "not_enough_points"),
    counter.NotEnoughHours: (409, "not_enough_hours"),
    counter.OutOfStock: (409, "out_of_stock"),
    counter.OverDailyLimit: (409, "over_daily_limit"),
    counter.OverMonthlyLimit: (409, "over_monthly_limit"),
    counter.NotEligible: (409, "not_eligible"),
    counter.ItemUnavailable: (409, "item_unavailable"),
    counter.StationClosed: (409, "station_closed"),
    counter.BasketKeyReused: (409, "idempotency_conflict"),
    counter.AlreadyVoided: (409, "already_voided"),
    counter.VoidTooLate: (403, "void_too_late"),
    counter.SelfRedemption: (403, "own_redemption"),
    counter.NoClerkOnDuty: (403, "no_clerk_on_duty"),
    counter.VisitExpired: (422, "visit_expired"),
    domain.DomainError: (422, "refused"),
}

HTTP_TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Cannot process this request",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Service unavailable",
}


HTTP_EXPLANATIONS = {
    400: "The request could not be understood. If you were filling in a form, reload the page and try again.",
    403: "Your account is not allowed to do this.",
    404: "The page or record you asked for does not exist. Check the address, or go back to the front page.",
    405: "This address does not accept that kind of request.",
    413: "What was sent is too large.",
    429: "Too many attempts in a short time. Please wait a minute and try again.",
    500: "The error has been logged. Please try again in a moment.",
    503: "The service cannot reach its database right now. Please try again in a moment.",
}


def status_for(error: Exception) -> tuple[int, str]:
    """The status and code of a domain error, by its nearest mapped class."""
    for cls in type(error).__mro__:
        if cls in DOMAIN_ERRORS:
            return DOMAIN_ERRORS[cls]
    raise LookupError(f"{type(error).__name__} is not a mapped domain error")


def error_response(
    status: int, code: str, message: str, errors: dict[str, Any] | None = None
) -> ResponseReturnValue:
    """The error as JSON or as a page, whichever the client wants."""
    if wants_json():
        body = {"code": code, "status": status, "message": message, "errors": errors or {}}
        return jsonify(body), status
    title = gettext(HTTP_TITLES.get(status, "Error"))
    return render_template("errors/error.html", status=status, title=title, message=message, errors=errors or {}), status


def handle_domain_error(error: Exception) -> ResponseReturnValue:
    """A refused domain operation, in the user's language."""
    status, code = status_for(error)
    params = getattr(error, "params", {})
    message = gettext(error.template, **params) if hasattr(error, "template") else str(error)
    return error_response(status, code, message, translated_errors(getattr(error, "errors", {})))


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    """404s, 405s and friends, in the same shape."""
    status = error.code or 500
    code = (error.name or "error").lower().replace(" ", "_").replace("'", "")
    explanation = HTTP_EXPLANATIONS.get(status) or HTTP_TITLES.get(status) or error.name or "Error"
    body, status = error_response(status, code, gettext(explanation))
    # The error's own headers (Allow on a 405, Retry-After, ...) go along; its HTML content type does not.
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return body, status, headers


def handle_unexpected(error: Exception) -> ResponseReturnValue:
    """A bug: logged with its traceback, answered without internals."""
    current_app.logger.exception("unhandled error", exc_info=error)
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    """Register the handlers."""
    for error_class in DOMAIN_ERRORS:
        app.register_error_handler(error_class, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
