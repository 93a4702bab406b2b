"""Browser tests: the real app served on loopback, driven by Playwright in Debian's Chromium.

Chromium is never downloaded: /usr/bin/chromium is Debian's. Without it these
tests skip with a reason, except in CI, where TIMEBANK_REQUIRE_BROWSER=1
turns its absence into a failure.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
TABLET = {"viewport": {"width": 1024, "height": 768}, "locale": "zh-CN"}


def serve(app) -> Iterator[str]:
    """Serve `app` on a free loopback port in a thread; yield its base URL, then stop."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def db(sqlite_db):
    """Browser tests run on the embedded default, a SQLite file."""
    return sqlite_db


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app served on a free loopback port in a thread; yields its base URL."""
    yield from serve(app)


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright."""
    yield from launch_chromium()


def launch_chromium() -> Iterator[object]:
    """Start Debian's Chromium (or skip, or fail where CI requires it); yield it, then close it."""
    if not CHROMIUM.exists():
        if os.environ.get("TIMEBANK_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (TIMEBANK_REQUIRE_BROWSER=1) but /usr/bin/chromium is missing")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


#: The start of the activities the browser tests use: 09:00 in Shanghai on NOW's day.
START = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc)


class Clock:
    """The server's time, moved by the test."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Every view's `now()` reads this clock."""
    clock = Clock(START - dt.timedelta(minutes=10))
    monkeypatch.setattr("timebank.auth.login.utcnow", clock)
    return clock


def sign_in(context, base: str, phone: str, password: str = PASSWORD):
    """A page of `context`, signed in as the person with this phone."""
    page = context.new_page()
    page.goto(f"{base}/sign-in")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/sign-in" not in url)  # each role lands on its workbench (station staff: the counter)
    return page


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in a screenshot, read by a real decoder."""
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert codes, "no QR code found on the screen"
    return codes[0].text
