"""Giving hours to a family member and donating hours to the community pool.

Both spend the giver's time credit, so both ask what spending asks (the
giver's star level and age under their policy) and the policy's switch for
each (`family_transfers`, `donations`). A gift also needs a confirmed family
link and room under the receiver's storage cap (the receiver's own policy's
`hour_cap_minutes`), read with the receiver's account row locked so two gifts
at once cannot both take the last room. The form's idempotency key makes a
retried form give once: the same key returns the first gift.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.audit.services import record
from timebank.domain import Conflict, InvalidInput, NotAllowed, NotFound
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
from timebank.ledger.models import Account, Commodity, Kind, OwnerType, Posting, Transaction
from timebank.notices.services import notify
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation, home_policy
from timebank.people.access import Actor
from timebank.people.models import INVERSE_RELATION, Person
from timebank.people.services import family_links

#: The most one gift or donation may move (a typing slip of 10,000 h is refused, not posted).
MOST_MINUTES = 1000 * 60


class ReceiverAtCap(SpendingRefused):
    """The receiver has too little room under their storage cap."""

    template = "%(name)s can take only %(room)s h more under the storage cap of %(cap)s h; %(required)s h were offered."


class FormSentTwice(Conflict):
    """The same form key came back with other figures."""

    template = "This form was already sent with other figures. Reload the page to start again."


@dataclass(frozen=True)
class Relative:
    """A confirmed family member one may give hours to."""

    person: Person
    relation: str  # what they are to the giver


def give(
    session: Session, receiver_id: int, minutes: int, *, actor: Actor, now: dt.datetime, key: str
) -> Transaction:
    """The actor gives `minutes` of their time credit to a confirmed family member; the same form key gives once."""
    giver = _person(session, actor.id)
    minutes = _amount(minutes)
    receiver = session.get(Person, receiver_id)
    if receiver is None or receiver.id == giver.id:
        raise NotFound()
    idempotency_key = f"gift:{giver.id}:{key}"
    legs = rules.family_transfer_legs(giver.id, receiver.id, minutes)
    link = require_family(session, giver, receiver)
    if _sent_before(session, idempotency_key):
        return _post(session, giver, legs, Kind.TRANSFER, idempotency_key, ("family_link", link.id), now, minutes)
    policy = home_policy(session, giver)
    if not policy["family_transfers"]:
        raise NotYetEligible(
            "Gifts of hours to family members are not part of the programme of %(organisation)s.",
            organisation=get_organisation(session, giver.home_organisation_id).name,
        )
    require_may_spend(session, giver, policy, now=now)
    rules.open_volunteer_accounts(session, receiver.id, now=now)
    _lock_in_id_order(session, [rules.volunteer_code(p.id, Commodity.HOUR) for p in (giver, receiver)])
    cap = int(home_policy(session, receiver)["hour_cap_minutes"])
    room = rules.hour_room(session, receiver.id, cap=cap)
    if room < minutes:
        raise ReceiverAtCap(name=receiver.real_name, room=hours(room), cap=hours(cap), required=hours(minutes))
    require_hours(session, giver, minutes)
    txn = _post(session, giver, legs, Kind.TRANSFER, idempotency_key, ("family_link", link.id), now, minutes)
    record(session, actor=giver.id, action="give_hours", target=("person", receiver.id),
           changes={"minutes": [None, minutes], "transaction_id": [None, txn.id]}, now=now)
    notify(session, receiver.id, "hours_received", {"giver": giver.real_name, "hours": hours(minutes)},
           key=str(txn.id), link="/me/balances", now=now)
    return txn


def donate(session: Session, minutes: int, *, actor: Actor, now: dt.datetime, key: str) -> Transaction:
    """The actor donates `minutes` of their time credit to their community's pool; the same form key donates once."""
    donor = _person(session, actor.id)
    minutes = _amount(minutes)
    pool = community_of(session, donor)
    idempotency_key = f"donation:{donor.id}:{key}"
    legs = rules.donation_legs(donor.id, pool.id, minutes)
    if _sent_before(session, idempotency_key):
        return _post(session, donor, legs, Kind.DONATION, idempotency_key, ("organisation", pool.id), now, minutes)
    policy = home_policy(session, donor)
    if not policy["donations"]:
        raise NotYetEligible(
            "Donations to the community pool are not part of the programme of %(organisation)s.",
            organisation=get_organisation(session, donor.home_organisation_id).name,
        )
    require_may_spend(session, donor, policy, now=now)
    require_hours(session, donor, minutes)
    rules.open_pool_account(session, pool.id, now=now)
    txn = _post(session, donor, legs, Kind.DONATION, idempotency_key, ("organisation", pool.id), now, minutes)
    record(session, actor=donor.id, action="donate_hours", target=("organisation", pool.id),
           changes={"minutes": [None, minutes], "transaction_id": [None, txn.id]}, now=now)
    return txn


def relatives(session: Session, person_id: int) -> list[Relative]:
    """The person's confirmed family members, each with what they are to the person."""
    found = []
    for link in family_links(session, person_id):
        if link.confirmed_at is None:
            continue
        mine = link.person_id == person_id
        other = session.get(Person, link.relative_id if mine else link.person_id)
        found.append(Relative(other, link.relation if mine else INVERSE_RELATION[link.relation]))
    return found


def donation_pool(session: Session, person_id: int) -> Organisation:
    """The community whose pool the person's donations go to."""
    return community_of(session, _person(session, person_id))


def counterparts(session: Session, transaction_ids: Iterable[int], person_id: int) -> dict[int, str]:
    """For gifts and donations among these transactions: the other side's name (the relative, or the pool's community)."""
    ids = list(transaction_ids)
    if not ids:
        return {}
    own = rules.volunteer_code(person_id, Commodity.HOUR)
    rows = session.execute(
        select(Posting.transaction_id, Account.owner_type, Account.owner_id)
        .join(Account, Account.id == Posting.account_id)
        .join(Transaction, Transaction.id == Posting.transaction_id)
        .where(Posting.transaction_id.in_(ids), Transaction.kind.in_((Kind.TRANSFER.value, Kind.DONATION.value)),
               Account.code != own, Account.commodity == Commodity.HOUR.value)
    ).all()
    people = {r.owner_id for r in rows if r.owner_type == OwnerType.VOLUNTEER.value}
    places = {r.owner_id for r in rows if r.owner_type == OwnerType.ORGANISATION.value}
    names = dict(session.execute(select(Person.id, Person.real_name).where(Person.id.in_(people))).all()) if people else {}
    pools = dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(places))).all()) if places else {}
    return {
        r.transaction_id: (names if r.owner_type == OwnerType.VOLUNTEER.value else pools).get(r.owner_id, "")
        for r in rows if r.owner_type in (OwnerType.VOLUNTEER.value, OwnerType.ORGANISATION.value)
    }


# -- helpers ----------------------------------------------------------------


def _person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotAllowed()
    return person


def _amount(minutes: object) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= MOST_MINUTES:
        raise InvalidInput(errors={"hours": [f"Enter an amount between 0.25 and {MOST_MINUTES // 60:,} hours."]})
    return minutes


def _sent_before(session: Session, idempotency_key: str) -> bool:
    """True if a form with this key was already posted: its retry gets the first result, without asking again."""
    return session.scalar(select(Transaction.id).where(Transaction.idempotency_key == idempotency_key)) is not None


def _lock_in_id_order(session: Session, codes: list[str]) -> None:
    """Lock the accounts' rows, lowest id first, the order postings take: two opposite gifts cannot deadlock."""
    session.execute(select(Account.id).where(Account.code.in_(codes)).order_by(Account.id).with_for_update())


def _post(session: Session, spender: Person, legs: list, kind: Kind, key: str, ref: tuple[str, int], now: dt.datetime, minutes: int) -> Transaction:
    """Post a gift or donation; a balance spent a moment ago elsewhere is refused as `require_hours` would."""
    try:
        return ledger.post(session, legs, kind=kind, idempotency_key=key, actor=spender.id, ref=ref, now=now)
    except ledger.InsufficientBalance as exc:
        raise short_of_hours(spender, exc.params["available"], minutes) from exc
    except ledger.IdempotencyConflict as exc:
        raise FormSentTwice() from exc

