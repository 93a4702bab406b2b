"""Builders for gift, pool and payment tests: hours on an account, family links, residents, needs, orders, visits."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets

from sqlalchemy.orm import Session

from timebank import ledger
from timebank.ledger import rules
from timebank.needs.models import Assignment, Need, Order, Resident
from timebank.people.models import FamilyLink, Person
from tests.conftest import NOW

_keys = itertools.count(1)


def fund(session: Session, person: Person | int, minutes: int, *, points: int = 0) -> None:
    """Credit a volunteer `minutes` of time credit as an approved attendance would, and commit."""
    person_id = person if isinstance(person, int) else person.id
    rules.open_system_accounts(session, now=NOW)
    rules.open_volunteer_accounts(session, person_id, categories=("elderly",), now=NOW)
    ledger.post(
        session, rules.service_credit_legs(person_id, minutes=minutes, category="elderly", points=points),
        kind="service_credit", idempotency_key=f"test-fund:{next(_keys)}", actor=1, now=NOW,
    )
    session.commit()


def fill_pool(session: Session, organisation_id: int, minutes: int, *, donor: Person) -> None:
    """Put `minutes` in an organisation's community pool, as a donation from `donor`, and commit."""
    fund(session, donor, minutes)
    rules.open_pool_account(session, organisation_id, now=NOW)
    ledger.post(session, rules.donation_legs(donor.id, organisation_id, minutes), kind="donation",
                idempotency_key=f"test-donation:{next(_keys)}", actor=donor.id, now=NOW)
    session.commit()


def link_family(session: Session, person: Person, relative: Person, *, relation: str = "child", confirmed: bool = True) -> FamilyLink:
    """A family link from `person` to `relative` (confirmed unless said otherwise), committed."""
    link = FamilyLink(person_id=person.id, relative_id=relative.id, relation=relation, requested_at=NOW,
                      confirmed_at=NOW if confirmed else None, confirmed_by=relative.id if confirmed else None)
    session.add(link)
    session.commit()
    return link


def make_resident(session: Session, organisation_id: int, *, name: str = "张奶奶", person: Person | None = None,
                  born: dt.date | None = None, groups: str = "") -> Resident:
    """A resident of a community, committed."""
    resident = Resident(organisation_id=organisation_id, real_name=name, phone="13900000000", birth_date=born, groups=groups,
                        person_id=person.id if person else None, card_key=secrets.token_hex(16), created_at=NOW)
    session.add(resident)
    session.commit()
    return resident


def make_need(session: Session, resident: Resident, *, colour: str = "blue", status: str = "recorded",
              recorded_at: dt.datetime = NOW) -> Need:
    """A need of the resident, recorded in their community, committed."""
    need = Need(resident_id=resident.id, organisation_id=resident.organisation_id, channel="hotline", description="买菜送菜",
                contact_phone=resident.phone, colour=colour, status=status, recorded_at=recorded_at)
    session.add(need)
    session.commit()
    return need


def make_order(session: Session, need: Need, *, payer: str = "none", payer_person_id: int | None = None,
               payer_organisation_id: int | None = None, minutes: int = 60, slots: int = 1) -> Order:
    """An order serving the need tomorrow, paid as said, committed."""
    order = Order(need_id=need.id, organisation_id=need.organisation_id, category="elderly", slots=slots,
                  window_start=NOW + dt.timedelta(days=1), window_end=NOW + dt.timedelta(days=1, hours=2),
                  expected_minutes=minutes, payer=payer, payer_person_id=payer_person_id,
                  payer_organisation_id=payer_organisation_id, created_by=1, created_at=NOW)
    session.add(order)
    session.commit()
    return order


def make_assignment(session: Session, order: Order, volunteer: Person, *, slot: int = 1) -> Assignment:
    """A volunteer who accepted a slot of the order, committed."""
    assignment = Assignment(order_id=order.id, slot=slot, volunteer_id=volunteer.id, status="accepted", offered_at=NOW)
    session.add(assignment)
    session.commit()
    return assignment
