"""Every page of every role, as people meet it, at phone, tablet and desktop sizes.

One demo-like database is built once, served once and visited by one
Chromium. Each page must fit its width (no sideways scrolling), keep its key
elements (headings, buttons, fields, figures, the header's links) from
overlapping, keep each figure ("0 小时") on one line, and show no internals: no untranslated English message, no
`None`/`null`, no JSON, no stored codes such as `planned_end_flagged`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

import timebank
from timebank.app import create_app
from timebank.certify.models import Programme
from timebank.db import Database
from timebank.demo import DEMO_PASSWORD
from timebank.events.models import Activity, Attendance, Phase
from timebank.needs.models import Need
from timebank.people.models import Person
from timebank.redeem.models import Redemption
from tests.browser.conftest import decode_qr, launch_chromium, serve, sign_in
from tests.conftest import NOW

SIZES = {"phone": (390, 844), "tablet": (820, 1180), "desktop": (1366, 768)}
VENUE_SIZES = {"TV": (1920, 1080), "tablet upright": (820, 1180), "tablet sideways": (1180, 820), "phone": (390, 844)}
SHOTS = os.environ.get("TIMEBANK_SCREENSHOTS")  # a folder to keep the screenshots in, to look at
CATALOG = Path(timebank.__file__).parent / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
STORED_CODE = re.compile(r"\b[a-z]{2,}(?:_[a-z]{2,})+\b")
INTERNALS = re.compile(r"\bNone\b|\bnull\b|\{\"|\"\s*:\s*[\[{\"\d]")

#: The page's visible text (outside <code>, whose content is a code by design) and overlapping key elements.
INSPECT = """() => {
  const visible = (el) => el.checkVisibility() && el.getClientRects().length > 0;
  const texts = [], broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('code, script, style, [hidden]') || !visible(parent)) continue;
    const text = node.textContent.trim();
    if (text) texts.push(text);
    for (const m of node.textContent.matchAll(/\\d[\\d,.]*\\s?(?:小时|分钟|积分)/g)) {
      // The unit split ("小/时") or the figure over three lines: what a phone showed as 0/小/时.
      const lines = (from, to) => {
        const range = document.createRange();
        range.setStart(node, from);
        range.setEnd(node, to);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
      };
      const end = m.index + m[0].length;
      if (lines(end - 2, end) > 1 || lines(m.index, end) > 2) broken.push(m[0]);
    }
  }
  const keys = [...document.querySelectorAll(
    'header a, header button, main h1, main h2, main button, main a.button, main input:not([type=hidden]), main select, main textarea, main .figures li, .venue-screen h1, .venue-when, .venue-code, .venue-count'
  )].filter(visible);
  const overlaps = [];
  const name = (el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).trim().split(/\\s+/).join('.') : '') + ' "' + (el.innerText || el.value || '').trim().slice(0, 30) + '"';
  for (let i = 0; i < keys.length; i++) {
    const a = keys[i].getBoundingClientRect();
    for (let j = i + 1; j < keys.length; j++) {
      if (keys[i].contains(keys[j]) || keys[j].contains(keys[i])) continue;
      const b = keys[j].getBoundingClientRect();
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 2 && h > 2) overlaps.push(name(keys[i]) + ' overlaps ' + name(keys[j]));
    }
  }
  const root = document.documentElement;
  const wide = [...document.querySelectorAll('body *')].filter((el) => visible(el) && el.getBoundingClientRect().right > root.clientWidth + 1).slice(-3).map(name);
  return {texts, broken, overlaps, overflow: root.scrollWidth > root.clientWidth + 1 ? wide : [], title: document.title};
}"""


@dataclass
class Demo:
    """The served demo: its address and who signs in to see which pages."""

    base: str
    pages: dict[str, list[str]]  # phone number ('' for nobody) -> paths
    screens: dict[str, str]  # the venue screens of the activity under way and of one long over


def _untranslated() -> re.Pattern[str]:
    """English msgids of two words or more: none may show on a Chinese page."""
    with CATALOG.open("rb") as handle:
        ids = {m.id for m in read_po(handle) if isinstance(m.id, str) and re.fullmatch(r"[A-Z][a-z]+(?: [a-z']+){1,4}", m.id)}
    return re.compile("|".join(sorted((re.escape(i) for i in ids), key=len, reverse=True)))


def _pages(session) -> tuple[dict[str, list[str]], str]:
    """Each role's pages in the demo, by the phone number that signs in to them."""
    def one(stmt):
        return session.scalars(stmt).first()

    activities = {a.title: a for a in session.scalars(select(Activity))}
    under_way = next(a for a in activities.values() if a.phase(NOW) is Phase.UNDER_WAY)
    finished = activities["“四点半课堂”作业辅导"]
    settled = activities["重阳节敬老院探访"]
    east = settled.organisation.parent_id
    # A volunteer of 东城社区 itself, who served at the settled visit: the upcoming activities are theirs to see.
    attendance = one(select(Attendance).join(Person, Person.id == Attendance.volunteer_id).where(
        Attendance.activity_id.in_([a.id for a in activities.values() if a.organisation_id in (east, settled.organisation_id)]),
        Attendance.status == "approved", Person.home_organisation_id == east))
    volunteer = session.get(Person, attendance.volunteer_id)
    person = one(select(Person).where(Person.home_organisation_id == settled.organisation.parent_id).order_by(Person.id.desc()))
    programme = one(select(Programme).order_by(Programme.id))
    redemption = one(select(Redemption).where(Redemption.station_id == 1).order_by(Redemption.id.desc()))
    pages = {
        "": ["/", "/register", "/sign-in", "/certify/verify"],
        volunteer.phone: [
            "/", "/workbench", "/me", "/me/edit", "/me/code", "/me/card", "/me/balances", "/me/family", "/activities",
            f"/activities/{attendance.activity_id}", "/me/attendances", f"/me/attendances/{attendance.id}/report", "/me/stations",
            "/certify/me", "/password", "/me/orders", "/grading/me",
            "/gifts/give", "/gifts/donate",  # gifts of hours and the community pool
        ],
        "13900000031": [
            "/stations", "/stations/1/counter", "/stations/1/day", "/stations/1/stock",
            f"/redemptions/{redemption.id}",
        ],
        "13900000022": [
            "/workbench", "/activities/manage", "/activities/new", f"/activities/{finished.id}", f"/activities/{under_way.id}",
            f"/activities/{finished.id}/edit", f"/activities/{under_way.id}/kiosk", f"/review/activities/{finished.id}",
            "/review/corrections", "/people", f"/people/{person.id}", "/certify/programmes", f"/certify/programmes/{programme.id}",
            f"/certify/people/{person.id}", "/orders", "/orders/follow-ups",
            "/grading/follow-ups", "/grading/supervision", "/grading/index", f"/grading/volunteers/{person.id}",
        ],
        "13900000012": [
            "/workbench", "/people/registrations", "/people/new", "/people/import", "/organisations", f"/organisations/{east}", "/devices",
            "/review/overdue", "/certify/programmes/new", f"/people/{person.id}/edit",
            "/redemptions/overview", "/certify/records", "/grading/", "/grading/index/team",
            "/pool", f"/pool/{east}", f"/pool/{east}/statement",  # gifts of hours and the community pool
        ],
        "13900000011": ["/stations/1/catalogue"],
        "13900000001": ["/", "/workbench", "/audit", f"/people/{person.id}", "/certify/continuing-education"],
    }
    # Residents' needs: the grid worker's and social worker's lists and forms, a waiting need's triage page, and asking for help.
    need = one(select(Need).where(Need.organisation_id == east, Need.status == "recorded").order_by(Need.id))
    pages[""].append("/needs/new")
    pages[volunteer.phone] += ["/needs/new", "/needs/mine"]
    pages["13900000041"] = ["/needs/", "/needs/new", "/needs/residents", f"/needs/residents/{need.resident_id}", "/needs/residents/new",
                            f"/needs/residents/{need.resident_id}/edit", "/needs/resources", "/needs/projects"]
    pages["13900000022"] += [f"/needs/{need.id}", "/needs/resources/new", "/needs/projects/new"]
    return pages, {"under way": f"/activities/{under_way.id}/screen", "over": f"/activities/{finished.id}/screen"}


@pytest.fixture(scope="module")
def demo(sqlite_demo_template: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A copy of the shared demo (tests/conftest.py), served for the whole module, the server's clock at the demo's `now`."""
    folder = tmp_path_factory.mktemp("screens")
    path = folder / "timebank.db"
    shutil.copyfile(sqlite_demo_template[0], path)
    database = Database(f"sqlite:///{path}")
    with database.session(write=False) as session:
        pages, screens = _pages(session)
    database.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIMEBANK_INSTANCE_PATH", str(folder / "instance"))
        patch.setattr("timebank.auth.login.utcnow", lambda: NOW)
        app = create_app({
            "TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "test-only-secret",
            "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": False,
        })
        for base in serve(app):
            yield Demo(base, pages, screens)
        app.extensions["timebank.database"].dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One browser for the whole sweep."""
    yield from launch_chromium()


def _signed_in(chromium, base: str, phone: str):
    """A desktop-sized page signed in as `phone` (or nobody)."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    return sign_in(context, base, phone, DEMO_PASSWORD) if phone else context.new_page()


def test_every_page_of_every_role_fits_phone_tablet_and_desktop_and_shows_no_internals(chromium, demo):
    untranslated = _untranslated()
    problems: list[str] = []
    for phone, paths in demo.pages.items():
        page = _signed_in(chromium, demo.base, phone)
        for path in paths:
            for size, (width, height) in SIZES.items():
                page.set_viewport_size({"width": width, "height": height})
                response = page.goto(demo.base + path)
                where = f"{path} ({size}, {phone or 'anonymous'})"
                if response is None or response.status != 200:
                    problems.append(f"{where}: status {response and response.status}")
                    continue
                seen = page.evaluate(INSPECT)
                if SHOTS:
                    name = f"{phone or 'anonymous'}{path.replace('/', '_')}-{size}.png"
                    Path(SHOTS, name).write_bytes(page.screenshot(full_page=True))
                text = "\n".join(seen["texts"])
                problems += [f"{where}: wider than the screen: {', '.join(seen['overflow'])}"] if seen["overflow"] else []
                problems += [f"{where}: {overlap}" for overlap in seen["overlaps"]]
                problems += [f"{where}: a figure broken across lines: {seen['broken'][:3]}"] if seen["broken"] else []
                for pattern, what in ((INTERNALS, "internals"), (STORED_CODE, "a stored code"), (untranslated, "untranslated")):
                    found = sorted(set(pattern.findall(text)))
                    if found:
                        problems.append(f"{where}: {what}: {found[:5]}")
        page.context.close()
    assert not problems, "\n".join(problems)


def _box(page, selector: str) -> dict[str, float]:
    return page.locator(selector).first.bounding_box()


def _apart(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x"] + a["width"] <= b["x"] + 1 or b["x"] + b["width"] <= a["x"] + 1 or a["y"] + a["height"] <= b["y"] + 1 or b["y"] + b["height"] <= a["y"] + 1


def _shot(page, name: str) -> bytes:
    png = page.screenshot()
    if SHOTS:
        Path(SHOTS, name.replace(" ", "-") + ".png").write_bytes(png)
    return png


def test_the_venue_screen_keeps_both_codes_clear_of_the_title_and_count_on_a_tv_a_tablet_either_way_up_and_a_phone(chromium, demo):
    page = _signed_in(chromium, demo.base, "13900000022")
    for size, (width, height) in VENUE_SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(demo.base + demo.screens["under way"])
        _shot(page, f"venue {size}")
        title, when, count = _box(page, ".venue-screen h1"), _box(page, ".venue-when"), _box(page, ".venue-count")
        for action in ("in", "out"):
            code = _box(page, f"[data-code={action}] svg")
            assert code["height"] >= min(width, height) / 4, (size, action, code)
            assert code["y"] + code["height"] <= height and code["x"] + code["width"] <= width, (size, action, code)
            for other, name in ((title, "title"), (when, "date"), (count, "count")):
                assert _apart(code, other), f"{size}: the {action} code covers the {name}"
            assert decode_qr(page.locator(f"[data-code={action}]").screenshot()).startswith(demo.base), (size, action)
        assert _apart(_box(page, "[data-code=in] svg"), _box(page, "[data-code=out] svg")), size
    page.context.close()


def test_the_venue_screen_of_an_activity_long_over_shows_no_live_code_but_says_why(chromium, demo):
    page = _signed_in(chromium, demo.base, "13900000022")
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(demo.base + demo.screens["over"])
    _shot(page, "venue over")
    assert page.locator("svg.qr").count() == 0
    assert page.locator(".venue-closed").count() == 2 and "签到已关闭" in page.inner_text(".venue-codes")
    state = page.evaluate("async (url) => (await fetch(url, {headers: {Accept: 'application/json'}})).json()", demo.base + demo.screens["over"] + ".json")
    assert state["check_in"]["url"] is None and state["check_out"]["url"] is None and "结束" in state["check_in"]["closed"]
    page.context.close()
