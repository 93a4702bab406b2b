"""Printed certificates carry their own font: every renderer draws every character, not only Chrome's reader.

poppler (pdftoppm, pdffonts) and Ghostscript come from Debian's poppler-utils
and ghostscript; without them these tests skip with a reason, except in CI,
where TIMEBANK_REQUIRE_BROWSER=1 makes them mandatory.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import ImageChops
from reportlab.pdfbase import pdfmetrics

from timebank.certify.batch import batch_certificates, holder
from timebank.certify.models import Certificate
from timebank.certify.pdf import draw_service_record, single_pdf
from timebank.certify.records import service_record
from timebank.certify.stream import StreamingPdf
from timebank.fonts import FONT, SharedSubset, a4_canvas, register_font
from timebank.orgs.services import get_organisation
from timebank.people.access import actor_for
from tests.certify.pdfs import fonts_listed, ink, page_count, pdf_text, qr_on_page, rendered, text_positions, where
from tests.certify.test_programmes import define
from tests.conftest import NOW, RESIDENT_ID, send, signed_in

#: Characters of names that a font covering only the common Chinese would miss.
RARE_NAME_CHARACTERS = "堃昶珺琮淼垚犇喆玥彧婳翀曌鑫燚靓"
RENDERERS = ("pdftoppm", "gs")


@pytest.fixture
def db(sqlite_db):
    """Rendering does not depend on the database: the embedded default serves."""
    return sqlite_db


@pytest.fixture
def printed(app, db, session, make_person, org_tree, serve) -> dict[str, bytes]:
    """A professional certificate and a service record certificate, as their holders download them."""
    programme_id, _ = define(app, make_person, org_tree)
    volunteer = make_person(name="欧阳秀英", id_type="resident_id", id_number=RESIDENT_ID)
    for days_ago in (30, 31):
        serve(volunteer, minutes=90, days_ago=days_ago)
    serve(volunteer, minutes=60, category="training", days_ago=20)
    supervisor = signed_in(app, make_person("social_worker", name="孙督导"))
    issued = send(supervisor, f"/certify/programmes/{programme_id}/people/{volunteer.id}/issue")
    assert issued.status_code == 302
    holder = signed_in(app, volunteer)
    assert send(holder, f"/certify/people/{volunteer.id}/records", start="2026-01-01", end="2026-11-20").status_code == 302
    with db.session(write=False) as reader:
        record_id = reader.query(Certificate).filter_by(person_id=volunteer.id, kind="service_record").one().id
    return {"programme": supervisor.get(issued.location + ".pdf").data, "record": holder.get(f"/certify/certificates/{record_id}.pdf").data}


def test_every_font_of_a_certificate_is_embedded(printed, tmp_path):
    for kind, data in printed.items():
        fonts = fonts_listed(data, tmp_path)
        assert fonts, kind
        assert all(embedded for _, embedded in fonts), (kind, fonts)
        assert all(name.endswith("+" + FONT) for name, _ in fonts), (kind, fonts)


def _grid(characters: str, subset: SharedSubset | None = None) -> bytes:
    """Each character alone in a 40-point cell of an A4 page, 12 to a row, from the top left."""
    buffer = io.BytesIO()
    pdf = a4_canvas(buffer)
    if subset is not None:
        subset.attach(pdf)
    pdf.setFont(FONT, 24)
    for index, character in enumerate(characters):
        row, column = divmod(index, 12)
        pdf.drawString(40 + column * 40 + 8, 800 - row * 40 - 24, character)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.mark.parametrize("renderer", RENDERERS)
def test_each_character_a_certificate_prints_is_drawn_by_poppler_and_ghostscript(printed, renderer, tmp_path):
    characters = sorted({c for data in printed.values() for c in pdf_text(data) if not c.isspace()} | set(RARE_NAME_CHARACTERS))
    assert {"0", "9", "欧", "证"} <= set(characters)
    for start in range(0, len(characters), 12 * 19):  # one page holds 19 rows of 12
        chunk = characters[start:start + 12 * 19]
        page = rendered(_grid("".join(chunk)), tmp_path, renderer, dpi=72)
        blank = []
        for index, character in enumerate(chunk):
            row, column = divmod(index, 12)
            left, top = 40 + column * 40, 42 + row * 40  # 72 dpi: a point is a pixel; the page is 842 points high
            if ink(page, (left, top, left + 40, top + 40)) < 4:
                blank.append(character)
        assert not blank, f"{renderer} drew these blank: {''.join(blank)}"


def test_poppler_and_ghostscript_draw_the_same_certificate(printed, tmp_path):
    for kind, data in printed.items():
        poppler, ghostscript = (rendered(data, tmp_path, renderer) for renderer in RENDERERS)
        width, height = min(poppler.width, ghostscript.width), min(poppler.height, ghostscript.height)  # they round A4 apart
        for top in range(0, height, 12):  # band by band: a line of text blank in one shows here
            band = (0, top, width, min(top + 12, height))
            drawn = ink(poppler, band), ink(ghostscript, band)
            assert (drawn[0] > 0) == (drawn[1] > 0), (kind, top, drawn)
        total = ink(poppler, (0, 0, width, height)), ink(ghostscript, (0, 0, width, height))
        assert 0.6 < total[0] / total[1] < 1.67, (kind, total)


def test_the_professional_certificate_fills_one_framed_page_from_title_to_seal(printed):
    data = printed["programme"]
    assert page_count(data) == 1
    positions = text_positions(data)
    height = 842
    title, name, seal, check = (where(positions, t)[1] for t in ("专业志愿者证书", "欧阳秀英", "盖章", "校验码"))
    assert title > 0.8 * height and 0.5 * height < name < title  # the title on top, then the holder
    assert seal < 0.3 * height and check < 0.3 * height  # the seal's place and the check code at the foot, not in the top 40 %
    statement = " ".join(p for p, _, _ in positions)
    assert "兹证明" in statement and "督导社工" in statement and "校验码" in statement and "参加志愿服务活动 2 次" in statement
    assert qr_on_page(data)


def test_the_service_record_sets_its_lines_in_a_table_above_the_seal(printed):
    data = printed["record"]
    positions = text_positions(data)
    heading, line, seal = (where(positions, t)[1] for t in ("负责人", "敬老院探访", "盖章"))
    assert where(positions, "志愿服务记录证明")[1] > heading > line > seal
    assert seal < 0.35 * 842


def test_a_batch_embeds_one_font_and_draws_each_certificate_as_its_own_download(db, session, make_person, serve, org_tree, tmp_path):
    # Names of characters no other certificate of the batch has: each adds glyphs to the one subset, a chunk at a time.
    people = [make_person(name=name) for name in ("欧阳秀英", "堃昶珺", "淼垚犇喆", "婳翀曌")]
    for person in people:
        serve(person, minutes=90)
    coordinator = actor_for(session, make_person("coordinator"))
    url, start, end = (lambda key: f"https://tb.example.org/certify/verify/{key}"), dt.date(2026, 1, 1), dt.date(2026, 11, 20)
    out = io.BytesIO()
    for _ in batch_certificates(session, org_tree["east"], start, end, out, verify_url=url, actor=coordinator, now=NOW, chunk=2):
        session.commit()
    data = out.getvalue()
    assert fonts_listed(data, tmp_path) == [(fonts_listed(data, tmp_path)[0][0], True)]  # one font in the file, embedded
    page = 0
    for certificate in session.query(Certificate).filter_by(kind="service_record").order_by(Certificate.person_id):
        person = certificate.person
        alone = single_pdf(draw_service_record, service_record(session, person, start, end), holder(person), certificate,
                           get_organisation(session, person.home_organisation_id).name, url(certificate.verify_key))
        page += 1
        for renderer in RENDERERS:
            in_batch, downloaded = rendered(data, tmp_path, renderer, page=page), rendered(alone, tmp_path, renderer)
            assert ImageChops.difference(in_batch, downloaded).getbbox() is None, (renderer, person.real_name)
        assert page_count(alone) == 1 and person.real_name in pdf_text(alone)
    assert page == page_count(data) >= len(people)


def test_documents_sharing_a_subset_past_its_256_codes_draw_as_each_draws_alone(tmp_path):
    chinese = [chr(code) for code in sorted(pdfmetrics.getFont(register_font()).face.charToGlyph) if code >= 0x4E00][:3 * 228]
    pages = ["".join(chinese[start:start + 228]) for start in range(0, len(chinese), 228)]  # a page holds 19 rows of 12
    out, subset = io.BytesIO(), SharedSubset()
    document = StreamingPdf(out)
    for characters in pages:
        document.add(_grid(characters, subset))
    document.close("grid", embedding=subset.embedding())
    fonts = fonts_listed(out.getvalue(), tmp_path)
    assert len(fonts) >= 3 and all(embedded for _, embedded in fonts)  # 684 characters need three subsets of 256 codes or more
    for number, characters in enumerate(pages, start=1):
        for renderer in RENDERERS:
            shared, alone = rendered(out.getvalue(), tmp_path, renderer, page=number), rendered(_grid(characters), tmp_path, renderer)
            assert ImageChops.difference(shared, alone).getbbox() is None, (renderer, number)
