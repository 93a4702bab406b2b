"""Input rules every page, the API and the import share: digits of any script, visible names, masks that stay masked."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import stat

import pytest

from timebank.db import Database
from timebank.domain import Conflict, InvalidInput
from timebank.people.idnumbers import WEIGHTS, CHECK_CODES, mask, resident_id_birth_date
from timebank.people.services import register
from tests.conftest import NOW, RESIDENT_ID
from tests.people.test_importing import coordinator, csv_file, run_import  # noqa: F401 (fixtures)

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _candidates(masked: str, born: dt.date) -> int:
    """How many valid resident ID numbers fit a mask and a birth date shown beside it."""
    birth = born.strftime("%Y%m%d")
    known = {i: c for i, c in enumerate(masked) if c != "*"} | {6 + i: d for i, d in enumerate(birth)}
    hidden = [i for i in range(18) if i not in known]
    count = 0
    for digits in itertools.product("0123456789", repeat=len(hidden)):
        number = dict(known) | dict(zip(hidden, digits))
        if CHECK_CODES[sum(int(number[i]) * w for i, w in enumerate(WEIGHTS)) % 11] == number[17]:
            count += 1
    return count


def test_a_masked_resident_id_beside_its_birth_date_leaves_thousands_of_candidates():
    masked = mask(RESIDENT_ID)
    assert masked == RESIDENT_ID[:4] + "*" * 13 + RESIDENT_ID[-1]
    assert _candidates(masked, resident_id_birth_date(RESIDENT_ID)) >= 5000


def test_other_documents_keep_at_most_two_characters_at_each_end():
    assert mask("E12345678") == "E1*****78"


def _registration(org_tree, **fields):
    return {"phone": "13912345678", "real_name": "王秀英", "home_organisation_id": org_tree["east"].id, "privacy_consent": True, **fields}


@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic-indic"])
def test_id_and_phone_numbers_in_other_digits_are_read_as_ascii_and_found_as_duplicates(session, org_tree, vault, digits):
    first = register(session, _registration(org_tree, id_type="resident_id", id_number=RESIDENT_ID.translate(digits),
                                            phone="13912345678".translate(digits), password="long enough 1"), actor=None, vault=vault, now=NOW)
    assert first.phone == "13912345678" and first.birth_date == dt.date(1956, 3, 7)
    assert vault.open(first.id_number_sealed) == RESIDENT_ID
    with pytest.raises(Conflict) as clash:
        register(session, _registration(org_tree, phone="13912345679", id_type="resident_id", id_number=RESIDENT_ID, password="long enough 1"),
                 actor=None, vault=vault, now=NOW)
    assert "id_number" in clash.value.errors
    with pytest.raises(Conflict):
        register(session, _registration(org_tree, password="long enough 1"), actor=None, vault=vault, now=NOW)


def test_the_api_reads_full_width_digits_too(client, org_tree):
    body = _registration(org_tree, phone="１３９１２３４５６７８", password="long enough 1", id_type="resident_id", id_number=RESIDENT_ID.translate(FULL_WIDTH))
    assert client.post("/api/v1/registrations", json=body).status_code == 201
    again = client.post("/api/v1/registrations", json=_registration(org_tree, phone="13912345678", password="long enough 1"))
    assert again.status_code == 409


def test_an_import_row_in_full_width_digits_is_the_same_volunteer(session, run_import, make_person):  # noqa: F811
    make_person(name="李秀英", phone="13700000001")
    report = run_import(csv_file([["李秀英", "１３７００００００01", "", "", "", "", ""]]))
    assert not report.ok and [p.field for p in report.problems] == ["phone"]


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u200d\ufeff ", "王\u202e英秀"], ids=["zero-width", "joiners", "bidi override"])
def test_a_name_of_invisible_characters_or_with_a_direction_override_is_refused(session, org_tree, vault, name):
    with pytest.raises(InvalidInput) as refused:
        register(session, _registration(org_tree, real_name=name, password="long enough 1"), actor=None, vault=vault, now=NOW)
    assert list(refused.value.errors) == ["real_name"]


def test_a_new_sqlite_database_file_is_readable_by_its_owner_only(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'fresh' / 'timebank.db'}")
    with database.session() as session:
        session.connection()
        session.commit()
    database.dispose()
    for path in (tmp_path / "fresh").iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name
