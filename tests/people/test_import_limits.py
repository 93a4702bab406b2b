"""What reading an import file may cost is bounded: its size however it is sent, its unpacked size, its rows."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from openpyxl import Workbook
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from timebank.people.import_views import MAX_UPLOAD_BYTES
from timebank.people.importing import MAX_SHEET_ROWS, FileRefused, read_rows
from tests.conftest import csrf_token, text
from tests.people.test_importing import HEADINGS, coordinator, people_count, xlsx_file  # noqa: F401 (fixture)


def _bomb() -> io.BytesIO:
    """An XLSX of a few KB whose sheet unpacks to 40 MB (of spaces, where rows belong)."""
    good = xlsx_file([["李秀英", "13700000001", "女", "", "", "", ""]])
    out = io.BytesIO()
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for part in source.infolist():
            data = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * (40 * 1024 * 1024))
            bomb.writestr(part.filename, data)
    out.seek(0)
    return out


def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked():
    bomb = _bomb()
    assert len(bomb.getvalue()) < 200 * 1024
    started = time.monotonic()
    with pytest.raises(FileRefused) as refused:
        list(read_rows(bomb, "名单.xlsx"))
    assert time.monotonic() - started < 2
    assert refused.value.template.startswith("This workbook unpacks to far more")


def test_a_workbook_that_reaches_far_down_is_refused_at_the_row_limit():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADINGS)
    sheet.cell(row=MAX_SHEET_ROWS * 4, column=1, value="李秀英")
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    with pytest.raises(FileRefused) as refused:
        list(read_rows(out, "名单.xlsx"))
    assert refused.value.params == {"limit": MAX_SHEET_ROWS}


def test_a_csv_with_too_many_rows_is_refused_at_the_row_limit():
    lines = ",".join(HEADINGS) + "\r\n" + "李秀英,13700000001\r\n" * (MAX_SHEET_ROWS + 1)
    with pytest.raises(FileRefused):
        list(read_rows(io.BytesIO(lines.encode()), "名单.csv"))


def test_the_page_refuses_a_chunked_upload_past_its_limit(app, client, sign_in, coordinator, org_tree, session):  # noqa: F811
    sign_in(coordinator)
    body = ("姓名,手机号\r\n" + "李秀英,13700000001\r\n" * (MAX_UPLOAD_BYTES // 20)).encode()
    assert len(body) > MAX_UPLOAD_BYTES
    data = {"csrf_token": csrf_token(client), "organisation_id": str(org_tree["east"].id), "file": (io.BytesIO(body), "名单.csv")}
    builder = EnvironBuilder(path="/people/import", method="POST", data=data)
    environ = builder.get_environ()
    del environ["CONTENT_LENGTH"]
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input_terminated"] = True
    try:
        answer = client.open(Request(environ))
    finally:
        environ["wsgi.input"].close()  # the encoded upload, spooled to a temporary file
        builder.close()
    assert answer.status_code == 422
    assert "文件太大" in text(answer)
    assert people_count(session) == 1
