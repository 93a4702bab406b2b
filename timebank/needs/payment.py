"""Services paid with hours: who may pay, the hold at acceptance, and its capture, release or refund.

An order's `payer` says whose time credit pays its visits: the resident's own
(`resident`), a family member's (`family`), the community pool's (`pool`), or
nobody's (`none`: the visit is credited from issuance as an attendance is).
Each assignment of a paid order holds `expected_minutes` on the payer's
account when the volunteer accepts; approval captures what was served to the
volunteer (`settle`), cancellation or a no-show releases it (`release`), and a
correction of a settled visit reverses the payment (`refund`) and pays the
corrected minutes from the same payer (`repay`). Each hold resolves once;
calling any of these again returns what the first call did.

The volunteer's certified hours and points for a paid visit still come from
issuance with the visit's approval; only the time credit comes from the payer,
so the approval's own service credit must post no HOUR for it
(`rules.service_credit_legs(..., deposit=0)`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from timebank import ledger
from timebank.events.deposits import community_of
from timebank.gifts.eligibility import (
    NotYetEligible,
    SpendingRefused,
    hours,
    require_family,
    require_hours,
    require_may_spend,
    short_of_hours,
)
from timebank.ledger import rules
from timebank.ledger.models import SYSTEM_ACTOR, Commodity, Hold, HoldStatus, Kind, Transaction
from timebank.needs import pool
from timebank.needs.models import Assignment, Need, Order
from timebank.orgs.services import get_organisation, home_policy
from timebank.people.models import Person

PAYERS = ("none", "resident", "family", "pool")
#: How long after the order's window a visit's hold waits for approval (the recording deadline, and time to correct).
HOLD_GRACE = dt.timedelta(days=30)


class PaymentRefused(SpendingRefused):
    """A visit cannot be paid with hours as the order says."""

    template = "This service cannot be paid with hours."


class PoolShort(PaymentRefused):
    """The community pool cannot cover the visit."""

    template = (
        "The community pool of %(pool)s has %(available)s h available (%(allocated)s h of it set aside for this need); "
        "%(required)s h are needed, %(missing)s h missing."
    )


class CorrectionShort(PaymentRefused):
    """A correction upward asks more of the paying person than they have."""

    template = (
        "%(name)s has %(available)s h of time credit available; correcting this visit to %(minutes)s h takes "
        "%(more)s h more from them, %(missing)s h missing. Nothing was changed."
    )


class PoolCorrectionShort(CorrectionShort):
    """A correction upward asks more of the paying pool than it has."""

    template = (
        "The community pool of %(pool)s has %(available)s h available; correcting this visit to %(minutes)s h takes "
        "%(more)s h more from it, %(missing)s h missing. Nothing was changed."
    )


class RefundRefused(PaymentRefused):
    """The volunteer already spent what a refund would take back."""

    template = (
        "%(name)s has already spent the time credit from this visit: %(available)s h of the %(required)s h to take back are left. "
        "A coordinator must decide on a recorded write-off."
    )


def check_payer(
    session: Session,
    *,
    need: Need,
    payer: str,
    payer_person_id: int | None = None,
    payer_organisation_id: int | None = None,
    minutes: int,
    now: dt.datetime,
) -> None:
    """Refuse, in words, a payer who may not pay `minutes` for this need or whose hours fall short; nothing is booked."""
    if payer not in PAYERS:
        raise PaymentRefused("Unknown payer %(payer)s.", payer=payer)
    if payer == "none":
        return
    if payer == "pool":
        _check_pool(session, need, payer_organisation_id, minutes)
        return
    person = _paying_person(session, need, payer, payer_person_id)
    require_may_spend(session, person, home_policy(session, person), now=now)
    require_hours(session, person, minutes)


def reserve(session: Session, assignment: Assignment, *, actor: int, now: dt.datetime) -> Hold | None:
    """At acceptance: hold the order's expected minutes on the payer's account, on `assignment.hold_id`; None if unpaid."""
    order = assignment.order
    if order.payer == "none":
        return None
    if assignment.hold_id is not None:
        return session.get(Hold, assignment.hold_id)
    minutes = order.expected_minutes
    check_payer(
        session, need=order.need, payer=order.payer, payer_person_id=order.payer_person_id,
        payer_organisation_id=order.payer_organisation_id, minutes=minutes, now=now,
    )
    expires_at = max(order.window_end, now) + HOLD_GRACE
    if order.payer == "pool":
        # The need's allocation, if any, gives up the minutes the visit takes; the rest stays set aside.
        pool.draw(session, order.need, minutes, actor=actor, now=now, key=f"assignment:{assignment.id}")
        account = rules.pool_code(_pool_id(order.need, order.payer_organisation_id))
    else:
        account = rules.volunteer_code(order.payer_person_id or order.need.resident.person_id, Commodity.HOUR)
    try:
        held = ledger.hold(
            session, account, minutes, actor=actor, now=now, expires_at=expires_at,
            idempotency_key=f"assignment:{assignment.id}:hold", memo=f"点单 #{order.need_id}：服务 {hours(minutes)} 小时",
            ref=("assignment", assignment.id),
        )
    except ledger.InsufficientBalance as exc:
        # Someone spent the hours between the check and the hold: say so as the check would have.
        raise _shortfall(session, order, exc) from exc
    assignment.hold_id = held.id
    return held


def settle(session: Session, assignment: Assignment, minutes: int, *, actor: int, now: dt.datetime) -> Transaction | None:
    """At approval: pay up to the held minutes to the volunteer, under their storage cap, and free the rest.

    Minutes above the volunteer's cap go to their community pool where their
    policy says so, as an attendance's do; otherwise the payer keeps them.
    None when the order is not paid in hours, or when nothing fits under the cap.
    """
    held = _locked_hold(session, assignment)
    if held is None:
        return None
    if held.status == HoldStatus.CAPTURED.value:
        return session.get(Transaction, held.transaction_id)
    if held.status != HoldStatus.OPEN.value:
        raise PaymentRefused(
            "The hours set aside for this visit were already given back (%(status)s); it cannot be paid from them.",
            status=held.status,
        )
    take = payable(held, rules.positive(minutes))
    legs = _purchase_legs(session, assignment, held.account.code, take, now=now)
    if legs is None:
        ledger.release(session, held, actor=actor, now=now)
        return None
    return ledger.capture(
        session, held, legs=legs, amount=-legs[0].amount, kind=Kind.SERVICE_PURCHASE, actor=actor, now=now,
        memo=_memo(session, assignment, take),
    )


def release(session: Session, assignment: Assignment, *, actor: int | None, now: dt.datetime) -> Hold | None:
    """On cancellation or a no-show: give the held hours back to the payer; harmless if already given back.

    `actor` None is the service itself (an offer timing out), recorded as the system actor.
    """
    actor = SYSTEM_ACTOR if actor is None else actor
    held = _locked_hold(session, assignment)
    if held is None or held.status in (HoldStatus.RELEASED.value, HoldStatus.EXPIRED.value):
        return held
    if held.status == HoldStatus.CAPTURED.value:
        raise PaymentRefused("This visit was already paid; a correction refunds it instead.")
    return ledger.release(session, held, actor=actor, now=now)


def refund(session: Session, assignment: Assignment, *, actor: int, now: dt.datetime, version: int | None = None) -> Transaction | None:
    """A corrected visit: reverse its payment standing now (once per correction `version`); refused in words if the volunteer already spent it."""
    try:
        return _reverse_payment(session, assignment, actor=actor, now=now, version=version)
    except ledger.InsufficientBalance as exc:
        volunteer = session.get(Person, assignment.volunteer_id)
        available, required = exc.params["available"], exc.params["required"]
        raise RefundRefused(name=volunteer.real_name, available=hours(available), required=hours(required)) from exc


def repay(session: Session, assignment: Assignment, minutes: int, *, version: int, actor: int, now: dt.datetime) -> Transaction | None:
    """A corrected visit: reverse what it paid and pay `minutes` from the same payer, under the volunteer's cap.

    As at approval (`settle`), the payer pays at most what was set aside for the visit: the hold's minutes are
    what they agreed to, and a visit corrected to run longer than that does not charge them more.

    The refund goes first, so the payer is asked only for the difference; if
    the volunteer has spent what the refund takes back, the new payment goes
    first, so the volunteer gives back only the difference. A payer short of
    the difference is refused in words (CorrectionShort); a volunteer short
    of it meets the ledger's InsufficientBalance, which the correction says
    in words and a coordinator may write off. Returns the new payment, or
    None when nothing is paid (corrected to zero, or no room under the cap).
    """
    held = _locked_hold(session, assignment)
    if held is None:
        return None
    if held.status == HoldStatus.OPEN.value:
        raise PaymentRefused("This visit has not been paid yet; approve it first.")
    source = held.account.code
    corrected, minutes = minutes, payable(held, minutes)
    earlier = current_payment(session, assignment)
    refunded = _volunteer_leg(earlier, assignment.volunteer_id)

    def pay(freed: int) -> Transaction | None:
        legs = _purchase_legs(session, assignment, source, minutes, freed=freed, now=now) if minutes > 0 else None
        if legs is None:
            return None
        return ledger.post(
            session, legs, kind=Kind.SERVICE_PURCHASE, idempotency_key=f"assignment:{assignment.id}:pay:v{version}",
            actor=actor, memo=_memo(session, assignment, minutes, corrected=True), ref=("assignment", assignment.id), now=now,
        )

    def reverse() -> None:
        _reverse_payment(session, assignment, actor=actor, now=now, version=version, payment=earlier)

    try:
        with session.begin_nested():
            reverse()
            return pay(0)
    except ledger.InsufficientBalance as exc:
        if exc.params["account"] == source:
            raise _correction_short(session, held, exc, corrected, earlier) from exc
        spent = exc
    try:
        with session.begin_nested():
            paid = pay(refunded)
            reverse()
            return paid
    except ledger.InsufficientBalance as exc:
        # The payer cannot pay before the refund and the volunteer cannot give back before the new payment:
        # what the volunteer spent is the shortfall either way.
        raise (spent if exc.params["account"] == source else exc) from None


def current_payment(session: Session, assignment: Assignment) -> Transaction | None:
    """The payment of the visit that stands now: its latest service purchase not reversed, or None."""
    reversal = aliased(Transaction)
    return session.scalar(
        select(Transaction)
        .where(Transaction.ref_type == "assignment", Transaction.ref_id == assignment.id,
               Transaction.kind == Kind.SERVICE_PURCHASE.value,
               ~exists().where(reversal.reverses_id == Transaction.id))
        .order_by(Transaction.id.desc())
        .limit(1)
    )


def volunteer_short(session: Session, assignment: Assignment, minutes: int) -> int:
    """Minutes of the visit's payment the volunteer has spent and a correction to `minutes` cannot take back: what to write off."""
    held = session.get(Hold, assignment.hold_id) if assignment.hold_id else None
    earlier = current_payment(session, assignment)
    given = _volunteer_leg(earlier, assignment.volunteer_id)
    if held is None or not given:
        return 0
    available = ledger.balance(session, rules.volunteer_code(assignment.volunteer_id, Commodity.HOUR)).available
    if available >= given:
        return 0  # the refund goes first
    minutes = payable(held, minutes)
    legs = _purchase_legs(session, assignment, held.account.code, minutes, freed=given, now=None) if minutes > 0 else None
    paid = -legs[0].amount if legs else 0
    if ledger.balance(session, held.account.code).available < paid:
        return given - available  # the payer cannot pay first: the refund must go through on its own
    return max(0, given - _volunteer_leg_of(legs, assignment.volunteer_id) - available)


# -- helpers ----------------------------------------------------------------


def payable(held: Hold, minutes: int) -> int:
    """What the payer pays for a visit credited `minutes`: at most what was set aside for it."""
    return min(minutes, held.amount)


def _paying_person(session: Session, need: Need, payer: str, payer_person_id: int | None) -> Person:
    """The person whose hours pay: the resident (with an account of their own) or a confirmed family member."""
    resident = need.resident
    if resident.person_id is None:
        raise NotYetEligible(
            "%(name)s has no time bank account of their own, so neither their hours nor their family's can pay.",
            name=resident.real_name,
        )
    if payer == "resident":
        if payer_person_id not in (None, resident.person_id):
            raise PaymentRefused("The resident pays with their own hours only.")
        return session.get(Person, resident.person_id)
    if payer_person_id is None:
        raise PaymentRefused("Say which family member pays.")
    person = session.get(Person, payer_person_id)
    if person is None:
        raise PaymentRefused("The family member who should pay is not registered.")
    require_family(session, person, session.get(Person, resident.person_id))
    return person


def _pool_id(need: Need, payer_organisation_id: int | None) -> int:
    """The pool that pays for a need: its community's (the need's organisation)."""
    if payer_organisation_id not in (None, need.organisation_id):
        raise PaymentRefused("A need is paid only from its own community's pool.")
    return need.organisation_id


def _check_pool(session: Session, need: Need, payer_organisation_id: int | None, minutes: int) -> None:
    """PoolShort unless the need's allocation and the pool's available hours together cover `minutes`."""
    pool_id = _pool_id(need, payer_organisation_id)
    figures = pool.figures(session, pool_id)
    allocated = pool.set_aside(session, need.id)
    if allocated + figures.available < minutes:
        raise PoolShort(
            pool=get_organisation(session, pool_id).name, available=hours(figures.available), allocated=hours(allocated),
            required=hours(minutes), missing=hours(minutes - allocated - figures.available),
        )


def _shortfall(session: Session, order: Order, exc: ledger.InsufficientBalance) -> SpendingRefused:
    """The refusal a hold met, in the words `check_payer` uses."""
    if order.payer == "pool":
        pool_id = _pool_id(order.need, order.payer_organisation_id)
        available = exc.params["available"]
        return PoolShort(
            pool=get_organisation(session, pool_id).name, available=hours(available), allocated="0",
            required=hours(order.expected_minutes), missing=hours(order.expected_minutes - available),
        )
    person = session.get(Person, order.payer_person_id or order.need.resident.person_id)
    return short_of_hours(person, exc.params["available"], order.expected_minutes)


def _purchase_legs(
    session: Session, assignment: Assignment, source: str, minutes: int, *, freed: int = 0, now: dt.datetime | None
) -> list[ledger.Leg] | None:
    """The legs paying `minutes` from `source` to the volunteer under their storage cap, or None if nothing fits.

    Minutes above the cap go to their community pool where their policy says
    so, as an attendance's do; otherwise the payer keeps them. `freed` is what
    a refund still to come will take off the volunteer's balance. `now` None
    only plans: no account is opened.
    """
    volunteer = session.get(Person, assignment.volunteer_id)
    policy = home_policy(session, volunteer)
    if now is not None:
        rules.open_volunteer_accounts(session, volunteer.id, now=now)
    deposit = min(minutes, rules.hour_room(session, volunteer.id, cap=int(policy["hour_cap_minutes"]) + freed))
    over_cap_pool = None
    if deposit < minutes and policy["hours_over_cap_to_pool"]:
        over_cap_pool = community_of(session, volunteer).id
        if now is not None:
            rules.open_pool_account(session, over_cap_pool, now=now)
    if not deposit and (over_cap_pool is None or rules.pool_code(over_cap_pool) == source):
        return None
    return rules.service_purchase_legs(source, volunteer.id, minutes, deposit=deposit, pool=over_cap_pool)


def _memo(session: Session, assignment: Assignment, minutes: int, *, corrected: bool = False) -> str:
    volunteer = session.get(Person, assignment.volunteer_id)
    said = f"{volunteer.real_name} 服务 {hours(minutes)} 小时"
    return f"{'更正：' if corrected else ''}点单 #{assignment.order.need_id}：{said}"


def _volunteer_leg_of(legs: list[ledger.Leg] | None, volunteer_id: int) -> int:
    code = rules.volunteer_code(volunteer_id, Commodity.HOUR)
    return sum(leg.amount for leg in legs or () if leg.code == code)


def _volunteer_leg(payment: Transaction | None, volunteer_id: int) -> int:
    """What a payment gave the volunteer's time credit (0 for none)."""
    if payment is None:
        return 0
    return _volunteer_leg_of([ledger.Leg(p.account.code, p.amount) for p in payment.postings], volunteer_id)


def _reverse_payment(session: Session, assignment: Assignment, *, actor: int, now: dt.datetime, version: int | None,
                     payment: Transaction | None = None) -> Transaction | None:
    """Reverse the visit's standing payment (or `payment`), keyed on the correction version; None if nothing is paid."""
    _locked_hold(session, assignment)
    key = f"assignment:{assignment.id}:refund" + ("" if version is None else f":v{version}")
    done = session.scalar(select(Transaction).where(Transaction.idempotency_key == key))
    if done is not None:
        return done  # a second call: what the first did
    payment = payment or current_payment(session, assignment)
    if payment is None:
        return None
    return ledger.reverse(
        session, payment, actor=actor, now=now, idempotency_key=key, memo=f"更正：点单 #{assignment.order.need_id} 退回服务时间",
    )


def _correction_short(session: Session, held: Hold, exc: ledger.InsufficientBalance,
                      minutes: int, earlier: Transaction | None) -> CorrectionShort:
    """The refusal of a correction the payer cannot cover, naming the payer and the shortfall."""
    taken = -sum(p.amount for p in earlier.postings if p.account_id == held.account_id) if earlier else 0
    available, required = exc.params["available"] - taken, exc.params["required"] - taken
    figures = dict(available=hours(available), minutes=hours(minutes), more=hours(required), missing=hours(required - available))
    account = held.account
    if account.owner_type == ledger.OwnerType.ORGANISATION.value:
        return PoolCorrectionShort(pool=get_organisation(session, account.owner_id).name, **figures)
    return CorrectionShort(name=session.get(Person, account.owner_id).real_name, **figures)


def _locked_hold(session: Session, assignment: Assignment) -> Hold | None:
    """The assignment's hold, its row locked first (the ledger's lock order: hold, then accounts)."""
    if assignment.hold_id is None:
        return None
    session.execute(select(Hold.id).where(Hold.id == assignment.hold_id).with_for_update())
    return session.get(Hold, assignment.hold_id, populate_existing=True)
