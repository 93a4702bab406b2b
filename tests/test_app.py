"""The web shell: health, errors in one shape and the user's language, secrets, cookies, CSRF."""

from __future__ import annotations

import ast
import stat
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import request
from flask_wtf.csrf import generate_csrf

from tests.conftest import signed_in

import timebank
from timebank import ledger
from timebank.app import create_app

CATALOG = Path(timebank.__file__).parent / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def test_healthz_says_the_database_is_reachable(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json["database"] == "reachable"


def test_healthz_says_503_when_the_database_is_down(tmp_path, monkeypatch):
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path))
    app = create_app({"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none", "SECRET_KEY": "x"})
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.json == {"status": "unavailable", "database": "unreachable", "version": timebank.__version__}


def test_api_errors_have_one_json_shape_in_chinese_by_default(client):
    answer = client.get("/api/v1/no-such-thing")
    assert answer.status_code == 404
    assert answer.json == {
        "code": "not_found",
        "status": 404,
        "message": "您要找的页面或记录不存在。请检查网址，或返回首页。",
        "errors": {},
    }


def test_api_errors_speak_english_when_the_client_asks(client):
    answer = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert answer.json["message"].startswith("The page or record you asked for does not exist.")


def test_html_errors_are_pages_in_the_chosen_language(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "页面不存在" in page.get_data(as_text=True)
    client.get("/lang/en")
    assert "Not found" in client.get("/no-such-page").get_data(as_text=True)


@pytest.fixture
def failing_app(app):
    """The app with two extra routes that fail the ways views will."""

    def refuse():
        raise ledger.InsufficientBalance(account="vol:1:PTS", available=3, required=10)

    def crash():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/v1/_refuse", view_func=refuse)
    app.add_url_rule("/_refuse", view_func=refuse)
    app.add_url_rule("/api/v1/_crash", view_func=crash)
    return app


def test_a_domain_error_maps_to_its_status_and_a_translated_message(failing_app):
    client = failing_app.test_client()
    answer = client.get("/api/v1/_refuse")
    assert answer.status_code == 409
    assert answer.json["code"] == "insufficient_balance"
    assert answer.json["message"] == "账户 vol:1:PTS 余额不足：可用 3，需要 10。"
    page = client.get("/_refuse?lang=en")
    assert page.status_code == 409
    assert "Not enough balance on vol:1:PTS: 3 available, 10 required." in page.get_data(as_text=True)


def test_an_unexpected_error_is_a_500_without_internals(failing_app):
    failing_app.testing = False  # let the handler answer instead of re-raising in tests
    answer = failing_app.test_client().get("/api/v1/_crash")
    assert answer.status_code == 500
    assert answer.json["code"] == "internal_server_error"
    assert "secret internals" not in answer.get_data(as_text=True)


def test_forms_without_a_csrf_token_are_refused(app):
    app.add_url_rule("/_form", view_func=lambda: generate_csrf() if request.method == "GET" else "saved", methods=["GET", "POST"])
    client = app.test_client()
    refused = client.post("/_form", data={"name": "x"})
    assert refused.status_code == 400
    assert "请求有误" in refused.get_data(as_text=True)
    token = client.get("/_form").get_data(as_text=True)
    assert client.post("/_form", data={"name": "x", "csrf_token": token}).get_data(as_text=True) == "saved"


def test_the_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("TIMEBANK_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first, second = create_app({"DATABASE_URL": url}), create_app({"DATABASE_URL": url})
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 40
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    monkeypatch.setenv("TIMEBANK_SECRET_KEY", "from-the-environment")
    assert create_app({"DATABASE_URL": url}).secret_key == "from-the-environment"


def test_session_cookies_are_hardened(tmp_path, monkeypatch):
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("TIMEBANK_SECURE_COOKIES", "1")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_front_page_tells_a_visitor_what_this_is_and_where_to_start_without_ledger_figures(client, ledger_setup, credit):
    ledger_setup()
    credit(1, minutes=90, points=15)
    page = client.get("/").get_data(as_text=True)
    assert "时间银行" in page and 'href="/register"' in page and 'href="/activities"' in page
    assert ">1.5<" not in page and "只增不改" not in page and "冻结" not in page


def test_front_page_shows_administrators_the_whole_programme_with_thousands_separators(app, make_person, ledger_setup, credit):
    ledger_setup()
    credit(1, minutes=90, points=12_345)
    page = signed_in(app, make_person("admin", org="county")).get("/").get_data(as_text=True)
    assert ">1.5<" in page and ">12,345<" in page and "含培训时长" in page


def _ledger_messages() -> set[str]:
    """Every message template the ledger can raise: class templates and inline ones."""
    package = Path(ledger.__file__).parent
    names = {name for name in dir(ledger) if isinstance(getattr(ledger, name), type) and issubclass(getattr(ledger, name), ledger.LedgerError)}
    found = {getattr(ledger, name).template for name in names}
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def test_every_ledger_message_has_a_chinese_translation():
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    translated = {message.id for message in catalog if message.id and message.string}
    missing = _ledger_messages() - translated
    assert not missing, f"untranslated ledger messages: {sorted(missing)}"
