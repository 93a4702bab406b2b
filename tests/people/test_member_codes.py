"""Member codes (我的码) as the services see them: who they name, for how long, and what they refuse."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from tests.conftest import NOW, SYSTEM
from timebank.auth.codes import (
    CARD_PREFIX,
    MemberCodeError,
    MemberCodeExpired,
    MemberCodeRevoked,
    card_code,
    issue_new_card,
    phone_code,
    resolve,
    typed_code,
)

SECRET = "test-only-secret"


def unbase64(part: str) -> bytes:
    """One dot-separated part of an itsdangerous token, decoded."""
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_a_phone_code_names_its_volunteer(session, make_person):
    volunteer = make_person(name="王秀英")
    code = phone_code(volunteer, SECRET, now=NOW)
    assert resolve(session, code, SECRET, now=NOW + dt.timedelta(seconds=119)).id == volunteer.id


def test_a_phone_code_is_refused_as_expired_after_two_minutes(session, make_person):
    code = phone_code(make_person(), SECRET, now=NOW)
    with pytest.raises(MemberCodeExpired):
        resolve(session, code, SECRET, now=NOW + dt.timedelta(seconds=121))


@pytest.mark.parametrize("kind", ["phone", "card"])
def test_an_altered_or_forged_code_is_refused(session, make_person, kind):
    volunteer, other = make_person(), make_person(name="李四")
    code = phone_code(volunteer, SECRET, now=NOW) if kind == "phone" else card_code(volunteer, SECRET)
    altered = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    forged = phone_code(other, "someone-elses-secret", now=NOW) if kind == "phone" else card_code(other, "someone-elses-secret")
    for bad in (altered, forged, "", "not a code", CARD_PREFIX, code.split(".")[0]):
        with pytest.raises(MemberCodeError) as refused:
            resolve(session, bad, SECRET, now=NOW)
        assert not isinstance(refused.value, (MemberCodeExpired, MemberCodeRevoked))


def test_a_card_code_works_until_a_new_card_is_issued(session, make_person):
    volunteer = make_person()
    old_card = card_code(volunteer, SECRET)
    assert resolve(session, old_card, SECRET, now=NOW + dt.timedelta(days=400)).id == volunteer.id

    issue_new_card(session, volunteer, actor=SYSTEM, now=NOW)
    session.commit()

    with pytest.raises(MemberCodeRevoked):
        resolve(session, old_card, SECRET, now=NOW)
    assert resolve(session, card_code(volunteer, SECRET), SECRET, now=NOW).id == volunteer.id


def test_a_phone_code_cannot_pass_as_a_card_code_nor_the_reverse(session, make_person):
    volunteer = make_person()
    phone, card = phone_code(volunteer, SECRET, now=NOW), card_code(volunteer, SECRET)
    with pytest.raises(MemberCodeError):
        resolve(session, CARD_PREFIX + phone, SECRET, now=NOW)
    with pytest.raises(MemberCodeError):
        resolve(session, card[len(CARD_PREFIX):], SECRET, now=NOW)


@pytest.mark.parametrize("status", ["suspended", "pending", "rejected"])
def test_the_code_of_someone_who_may_not_serve_is_refused(session, make_person, status):
    volunteer = make_person()
    phone, card = phone_code(volunteer, SECRET, now=NOW), card_code(volunteer, SECRET)
    volunteer.status = status
    session.commit()
    for code in (phone, card):
        with pytest.raises(MemberCodeError, match="not active"):
            resolve(session, code, SECRET, now=NOW)


def test_no_code_carries_the_database_id_or_other_personal_data(session, make_person):
    volunteer = make_person(name="王秀英")
    for code in (phone_code(volunteer, SECRET, now=NOW), card_code(volunteer, SECRET)):
        body = code.removeprefix(CARD_PREFIX)
        parts = [unbase64(part) for part in body.split(".")]
        payload = json.loads(parts[0])
        # The payload is the random member key (and the card version), nothing else.
        assert payload in (volunteer.member_key, [volunteer.member_key, volunteer.card_version])
        assert volunteer.member_key != str(volunteer.id) and len(volunteer.member_key) == 32
        decoded = b"".join(parts)
        for personal in (volunteer.volunteer_number, volunteer.phone, volunteer.real_name, f'"id": {volunteer.id}'):
            assert personal.encode() not in decoded and personal not in code


def test_the_typed_code_is_twelve_digits_in_three_groups_naming_its_volunteer_in_its_window_and_the_next(session, make_person):
    volunteer, other = make_person(name="王秀英"), make_person(name="李四")
    typed = typed_code(volunteer, SECRET, now=NOW)
    assert len(typed) == 14 and [len(group) for group in typed.split(" ")] == [4, 4, 4] and typed.replace(" ", "").isdigit()
    for as_typed in (typed, typed.replace(" ", ""), typed.replace(" ", "-"), f"  {typed} "):
        assert resolve(session, as_typed, SECRET, now=NOW + dt.timedelta(seconds=119)).id == volunteer.id
    assert typed_code(other, SECRET, now=NOW) != typed
    assert typed_code(volunteer, SECRET, now=NOW + dt.timedelta(minutes=5)) != typed  # it rotates
    assert str(volunteer.id).zfill(6) not in typed.replace(" ", "")
    with pytest.raises(MemberCodeExpired):
        resolve(session, typed, SECRET, now=NOW + dt.timedelta(minutes=6))


def test_a_mistyped_or_guessed_typed_code_names_nobody(session, make_person):
    volunteer = make_person()
    digits = typed_code(volunteer, SECRET, now=NOW).replace(" ", "")
    for bad in (
        digits[:-1] + str((int(digits[-1]) + 1) % 10),  # one digit wrong
        digits[1:] + digits[0],  # digits swapped round
        typed_code(volunteer, "someone-elses-secret", now=NOW),
        "000000000000",
        "123456789012",
    ):
        with pytest.raises(MemberCodeError) as refused:
            resolve(session, bad, SECRET, now=NOW)
        assert not isinstance(refused.value, (MemberCodeExpired, MemberCodeRevoked)), bad

