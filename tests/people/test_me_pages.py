"""The volunteer's own pages, used through the browser client as a volunteer would."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
from html import unescape

import pytest
import zxingcpp
from PIL import Image

from tests.conftest import NOW, RESIDENT_ID, csrf_token, signed_in
from timebank.auth.codes import MemberCodeExpired, MemberCodeRevoked, card_code, resolve
from timebank.db import utcnow
from timebank.ledger import post, rules
from timebank.orgs.policy import DEFAULTS
from timebank.people.balances import summary
from timebank.people.models import FamilyLink, Person

PAGES = {
    "/me": "编辑我的资料",
    "/me/edit": "保存",
    "/me/code": "我的码",
    "/me/card": "志愿者卡",
    "/me/balances": "时间币",
    "/me/family": "我的家人",
}


def page_text(answer) -> str:
    return answer.get_data(as_text=True)


def qr_text(data_uri: str) -> str:
    """What the QR code in a PNG data URI says, as a camera would read it."""
    assert data_uri.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1]))) as image:
        found = zxingcpp.read_barcodes(image.convert("L"))
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text


def img_src(html: str, css_class: str) -> str:
    return unescape(re.search(rf'<img[^>]*class="{css_class}"[^>]*src="([^"]+)"', html).group(1))


def give_credit(session, person_id: int, *, minutes: int, points: int, memo: str, key: str) -> None:
    post(
        session,
        rules.service_credit_legs(person_id, minutes=minutes, category="elderly", points=points),
        kind="service_credit",
        idempotency_key=key,
        actor=person_id,
        memo=memo,
        now=NOW,
    )
    session.commit()


@pytest.mark.parametrize("path", PAGES)
def test_each_page_speaks_chinese_to_a_signed_in_volunteer(app, make_person, path):
    client = signed_in(app, make_person(name="王秀英"))
    answer = client.get(path)
    assert answer.status_code == 200
    assert PAGES[path] in page_text(answer)
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", [*PAGES, "/me/code.json"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    answer = client.get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/sign-in")


def test_the_code_json_refuses_anonymous_scripts_with_401(client):
    assert client.get("/me/code.json", headers={"Accept": "application/json"}).status_code == 401


def test_the_qr_on_my_code_page_reads_back_to_my_code(app, session, make_person):
    volunteer = make_person(name="王秀英")
    html = page_text(signed_in(app, volunteer).get("/me/code"))
    code = qr_text(img_src(html, "member-code-qr"))
    assert code not in html.replace(img_src(html, "member-code-qr"), "")  # the token is never printed as text
    assert re.search(r'<code id="member-code-typed">\d{4} \d{4} \d{4}</code>', html)  # twelve digits a clerk can type
    assert "王秀英" in html and volunteer.volunteer_number in html
    assert resolve(session, code, app.secret_key, now=utcnow()).id == volunteer.id


def test_the_code_json_gives_a_fresh_code_valid_for_two_minutes(app, session, make_person, monkeypatch):
    volunteer = make_person()
    client = signed_in(app, volunteer)
    later = NOW + dt.timedelta(minutes=30)
    monkeypatch.setattr("timebank.people.me_views.now", lambda: later)
    fresh = client.get("/me/code.json").get_json()
    assert fresh["expires_in"] == 120
    assert qr_text(fresh["png"]) == fresh["code"]
    assert resolve(session, fresh["code"], app.secret_key, now=later + dt.timedelta(seconds=119)).id == volunteer.id
    with pytest.raises(MemberCodeExpired):
        resolve(session, fresh["code"], app.secret_key, now=later + dt.timedelta(seconds=121))


def test_the_printed_card_carries_my_card_code(app, session, make_person):
    volunteer = make_person(name="王秀英")
    html = page_text(signed_in(app, volunteer).get("/me/card"))
    code = qr_text(img_src(html, "member-card-qr"))
    assert code == card_code(volunteer, app.secret_key)
    assert "王秀英" in html and volunteer.volunteer_number in html and "东城社区" in html
    assert resolve(session, code, app.secret_key, now=utcnow()).id == volunteer.id


def test_a_new_card_stops_the_old_one(app, session, make_person):
    volunteer = make_person()
    client = signed_in(app, volunteer)
    old = qr_text(img_src(page_text(client.get("/me/card")), "member-card-qr"))
    answer = client.post("/me/card/new", data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    new = qr_text(img_src(page_text(answer), "member-card-qr"))
    assert "旧卡已不能使用" in page_text(answer)
    session.expire_all()
    with pytest.raises(MemberCodeRevoked):
        resolve(session, old, app.secret_key, now=utcnow())
    assert resolve(session, new, app.secret_key, now=utcnow()).id == volunteer.id


def test_editing_my_details_saves_them_and_shows_the_id_masked(app, session, make_person):
    volunteer = make_person(name="王秀英")
    client = signed_in(app, volunteer)
    form = {
        "csrf_token": csrf_token(client),
        "real_name": "王秀英",
        "sex": "",
        "birth_date": "",
        "id_type": "resident_id",
        "id_number": RESIDENT_ID,
        "residence_area": "东城社区3号楼",
        "service_categories": ["elderly", "civility"],
        "skills": "理发",
        "emergency_contact_name": "王强",
        "emergency_contact_phone": "13900000000",
    }
    answer = client.post("/me/edit", data=form, follow_redirects=True)
    html = page_text(answer)
    assert answer.status_code == 200 and "已保存" in html
    assert RESIDENT_ID[:4] + "*" * 13 + RESIDENT_ID[-1:] in html and RESIDENT_ID not in html
    assert "东城社区3号楼" in html and "文明实践" in html and "1956-03-07" in html
    session.expire_all()
    saved = session.get(Person, volunteer.id)
    assert (saved.sex, saved.categories, saved.skills) == ("M", ["elderly", "civility"], "理发")


def test_a_wrong_id_check_digit_is_explained_in_chinese_and_changes_nothing(app, session, make_person):
    volunteer = make_person(name="王秀英")
    client = signed_in(app, volunteer)
    wrong = RESIDENT_ID[:-1] + ("7" if RESIDENT_ID[-1] != "7" else "8")
    answer = client.post(
        "/me/edit",
        data={"csrf_token": csrf_token(client), "real_name": "王改名", "id_type": "resident_id", "id_number": wrong, "skills": "做饭"},
    )
    assert answer.status_code == 422
    assert "校验位" in page_text(answer)
    session.expire_all()
    unchanged = session.get(Person, volunteer.id)
    assert (unchanged.real_name, unchanged.skills, unchanged.id_number_masked) == ("王秀英", None, None)


def test_a_name_with_markup_is_refused_on_the_form(app, make_person):
    client = signed_in(app, make_person())
    answer = client.post("/me/edit", data={"csrf_token": csrf_token(client), "real_name": "<script>alert(1)</script>"})
    assert answer.status_code == 422
    assert "姓名不能包含" in page_text(answer)
    assert "<script>alert(1)" not in page_text(answer)


def test_a_script_tag_in_a_stored_name_is_shown_as_text(app, session, make_person):
    volunteer, relative = make_person(), make_person(name="李四")
    session.add(FamilyLink(person_id=volunteer.id, relative_id=relative.id, relation="child", requested_at=NOW))
    volunteer.real_name = "<script>alert(1)</script>"
    session.commit()
    for client, path in [(signed_in(app, volunteer), p) for p in ("/me", "/me/code", "/me/card")] + [(signed_in(app, relative), "/me/family")]:
        html = page_text(client.get(path))
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert "<script>alert(1)" not in html, path


def test_balances_show_credited_hours_points_certified_hours_and_stars(app, session, make_person):
    volunteer = make_person(service_categories=["elderly"])
    rules.open_system_accounts(session, now=NOW)
    give_credit(session, volunteer.id, minutes=100 * 60 + 30, points=1005, memo="重阳节敬老活动", key="credit-1")
    client = signed_in(app, volunteer)

    html = page_text(client.get("/me/balances"))
    assert '<span class="value" id="hours-available">100 小时 30 分钟</span>' in html
    assert '<span class="value" id="points-available">1,005</span>' in html
    assert '<span class="value" id="certified-total">100 小时 30 分钟</span>' in html
    assert "助老服务" in html
    assert "★☆☆☆☆" in html and "199 小时 30 分钟" in html  # one star; 300 h is the next
    assert "重阳节敬老活动" in html and "+100 小时 30 分钟" in html and "2026-11-20 10:00" in html

    points = page_text(client.get("/me/balances?show=points"))
    assert "+1005" in points and "重阳节敬老活动" in points


def test_a_volunteer_without_accounts_sees_zeros(app, session, make_person):
    newcomer = make_person(status="pending")
    newcomer.status = "active"  # active, but no ledger accounts opened
    session.commit()
    answer = signed_in(app, newcomer).get("/me/balances")
    html = page_text(answer)
    assert answer.status_code == 200
    assert '<span class="value" id="hours-available">0 小时</span>' in html
    assert '<span class="value" id="points-available">0</span>' in html
    assert "☆☆☆☆☆" in html and "还没有记录" in html


def test_the_statement_pages_back_through_older_records(app, session, make_person):
    volunteer = make_person(service_categories=["elderly"])
    rules.open_system_accounts(session, now=NOW)
    for n in range(22):
        give_credit(session, volunteer.id, minutes=15, points=1, memo=f"活动{n:02d}", key=f"credit-{n}")
    client = signed_in(app, volunteer)

    first = page_text(client.get("/me/balances"))
    assert "活动21" in first and "活动02" in first and "活动01" not in first
    older = unescape(re.search(r'href="([^"]*before=\d+[^"]*)"', first).group(1))
    second = page_text(client.get(older))
    assert "活动01" in second and "活动00" in second and "活动02" not in second
    assert client.get("/me/balances?before=oops").status_code == 200


def test_family_links_are_asked_for_and_confirmed_by_the_relative(app, session, make_person):
    mother, son = make_person(name="王秀英"), make_person(name="李强")
    as_mother, as_son = signed_in(app, mother), signed_in(app, son)

    answer = as_mother.post("/me/family", data={"csrf_token": csrf_token(as_mother), "relative_phone": son.phone, "relation": "child"}, follow_redirects=True)
    assert "李强" in page_text(answer) and "等待对方确认" in page_text(answer)

    html = page_text(as_son.get("/me/family"))
    assert "王秀英" in html and "父母" in html and "请求与您关联" in html
    link_id = session.query(FamilyLink.id).filter_by(person_id=mother.id, relative_id=son.id).scalar()
    session.rollback()  # end the test's own transaction: on SQLite it would hold the write lock
    assert as_mother.post(f"/me/family/{link_id}/confirm", data={"csrf_token": csrf_token(as_mother)}).status_code == 403

    as_son.post(f"/me/family/{link_id}/confirm", data={"csrf_token": csrf_token(as_son)})
    assert "已确认" in page_text(as_mother.get("/me/family"))
    assert "子女 李强（已确认）" in page_text(as_mother.get("/me"))


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"relative_phone": "12345", "relation": "spouse"}, "11 位手机号"),
        ({"relative_phone": "13912345678", "relation": "spouse"}, "没有使用这个手机号"),
        ({"relative_phone": "13912345678"}, "此项必填"),
        ({"relative_phone": "13912345678", "relation": "cousin"}, "配偶、父母或子女"),
    ],
)
def test_a_bad_family_request_is_explained_and_records_nothing(app, session, make_person, form, problem):
    client = signed_in(app, make_person())
    answer = client.post("/me/family", data={"csrf_token": csrf_token(client), **form})
    assert answer.status_code == 422
    assert problem in page_text(answer)
    assert session.query(FamilyLink).count() == 0


@pytest.mark.parametrize(
    ("hours", "stars", "to_next"),
    [(0, 0, 100 * 60), (99.75, 0, 15), (100, 1, 200 * 60), (1499, 4, 60), (1500, 5, None)],
)
def test_star_levels_follow_the_default_thresholds(session, make_person, hours, stars, to_next):
    volunteer = make_person(service_categories=["elderly"])
    rules.open_system_accounts(session, now=NOW)
    if hours:
        give_credit(session, volunteer.id, minutes=int(hours * 60), points=1, memo="服务", key="stars")
    figures = summary(session, volunteer.id, DEFAULTS)
    assert (figures.star_level, figures.minutes_to_next_star) == (stars, to_next)
    assert 0.0 <= figures.star_progress <= 1.0


def test_star_levels_follow_an_organisations_own_thresholds(session, make_person):
    volunteer = make_person(service_categories=["elderly"])
    rules.open_system_accounts(session, now=NOW)
    give_credit(session, volunteer.id, minutes=150, points=1, memo="服务", key="stars")
    figures = summary(session, volunteer.id, {**DEFAULTS, "star_thresholds_hours": [5, 1, 2, 3, 4]})
    assert (figures.star_level, figures.minutes_to_next_star, figures.star_progress) == (2, 30, 0.5)


def test_the_top_star_level_is_thanked_on_the_balances_page(app, session, make_person):
    volunteer = make_person(service_categories=["elderly"])
    rules.open_system_accounts(session, now=NOW)
    give_credit(session, volunteer.id, minutes=1500 * 60, points=1, memo="服务", key="stars")
    html = page_text(signed_in(app, volunteer).get("/me/balances"))
    assert "★★★★★" in html and "已是最高星级" in html
