"""Each role signs in and lands on its workbench, on a phone and a desktop; the coordinator's charts draw with
room for every label; the menu opens on a phone, its links large enough to tap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import sign_in
from tests.conftest import NOW
from tests.workbench.conftest import programme_world  # noqa: F401 - the programme the coordinator's charts draw

SHOTS = os.environ.get("TIMEBANK_SCREENSHOTS")
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}

#: Boxes of each chart and of the texts inside it, in page pixels; the texts that overlap, and page overflow.
CHARTS = """() => [...document.querySelectorAll('svg.chart')].map((svg) => {
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].map((t) => ({text: t.textContent, r: t.getBoundingClientRect()}));
  const overlaps = [];
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
    const a = texts[i].r, b = texts[j].r;
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 1 && h > 1) overlaps.push(texts[i].text + ' / ' + texts[j].text);
  }
  const outside = texts.filter((t) => t.r.left < box.left - 1 || t.r.right > box.right + 1).map((t) => t.text);
  const bars = [...svg.querySelectorAll('rect, circle, polyline')].filter((r) => r.getBoundingClientRect().width > 0 && r.getBoundingClientRect().height > 0).length;
  return {id: svg.closest('figure').id, width: box.width, height: box.height, texts: texts.length, smallest: Math.min(...texts.map((t) => t.r.height)),
          overlaps, outside, bars, labelled: svg.getAttribute('role') === 'img' && !!svg.querySelector('title')};
})"""
OVERFLOW = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"


@pytest.fixture
def server(app, programme_world, monkeypatch):  # noqa: F811 - the fixture imported above
    """The app on the programme's database, its clock at NOW."""
    from tests.browser.conftest import serve

    monkeypatch.setattr("timebank.auth.login.utcnow", lambda: NOW)
    yield from serve(app)


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        Path(SHOTS, f"workbench-{name}.png").write_bytes(page.screenshot(full_page=True))


@pytest.mark.parametrize("size", SIZES)
def test_each_role_signs_in_and_lands_on_its_workbench(browser, server, programme_world, make_person, size):  # noqa: F811
    people = programme_world["people"]
    clerk = make_person("station_staff", station_id=programme_world["station"].id, name="赵店员")
    expected = {"a": "/workbench", "social_worker": "/workbench", "coordinator": "/workbench", "admin": "/workbench",
                "clerk": f"/stations/{programme_world['station'].id}/counter"}
    for who, path in expected.items():
        person = clerk if who == "clerk" else people[who]
        context = browser.new_context(locale="zh-CN", viewport=SIZES[size], is_mobile=size == "phone", has_touch=size == "phone")
        page = sign_in(context, server, person.phone)
        assert page.url == server + path, who
        assert not page.evaluate(OVERFLOW), f"{who} ({size}): wider than the screen"
        brand = page.locator("header a.brand")
        assert brand.evaluate("(el) => el.getClientRects().length") == 1 and brand.bounding_box()["height"] < 40, f"{who}: the brand breaks"
        if who != "clerk":
            assert page.locator("h1").inner_text() == "工作台"
        _shot(page, f"{who}-{size}")
        context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_coordinators_charts_draw_with_every_label_clear(browser, server, programme_world, size):  # noqa: F811
    context = browser.new_context(locale="zh-CN", viewport=SIZES[size])
    page = sign_in(context, server, programme_world["people"]["coordinator"].phone)
    charts = page.evaluate(CHARTS)
    assert {c["id"] for c in charts} == {f"chart-{k}" for k in ("hours", "new", "needs", "response", "grades", "redemptions")}
    for chart in charts:
        assert chart["width"] > 200 and chart["height"] > 50 and chart["bars"] > 0 and chart["labelled"], chart
        assert not chart["overlaps"], f"{chart['id']} ({size}): {chart['overlaps']}"
        assert not chart["outside"], f"{chart['id']} ({size}): labels cut off: {chart['outside']}"
        assert chart["smallest"] >= 10, f"{chart['id']} ({size}): text {chart['smallest']:.1f} px high"
    assert not page.evaluate(OVERFLOW)
    # The table behind a chart opens for anyone who prefers the numbers.
    page.locator("#chart-hours summary").click()
    assert page.locator("#chart-hours table").is_visible()
    _shot(page, f"coordinator-charts-{size}")
    page.emulate_media(media="print")
    assert page.locator("details.menu").is_hidden() and page.locator("#chart-hours svg").is_visible()
    _shot(page, f"coordinator-print-{size}")
    context.close()


def test_the_menu_opens_on_a_phone_with_links_large_enough_to_tap(browser, server, programme_world):  # noqa: F811
    context = browser.new_context(locale="zh-CN", viewport=SIZES["phone"], is_mobile=True, has_touch=True)
    page = sign_in(context, server, programme_world["people"]["admin"].phone)
    panel = page.locator(".menu-panel")
    assert panel.is_hidden()
    summary = page.locator("details.menu > summary")
    assert summary.bounding_box()["height"] >= 44
    summary.click()
    assert panel.is_visible()
    groups = panel.locator(".menu-group h2").all_inner_texts()
    assert groups[:2] == ["我的", "活动与审核"] and "系统" in groups
    for link in panel.locator("a").all():
        box = link.bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 391, link.inner_text()
    assert not page.evaluate(OVERFLOW)
    _shot(page, "menu-phone")
    page.keyboard.press("Escape")
    assert panel.is_hidden()
    summary.click()
    page.locator("main h1").click()  # a tap outside closes it
    assert panel.is_hidden()
    context.close()
