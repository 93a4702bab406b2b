"""Signing in and out through the real forms."""

from tests.conftest import PASSWORD


def test_an_approved_volunteer_signs_in_and_sees_their_page(client, make_person, sign_in):
    person = make_person(name="王秀英")
    sign_in(person)
    page = client.get("/me").get_data(as_text=True)
    assert "王秀英" in page and person.volunteer_number in page


def test_a_pending_registration_cannot_sign_in_yet(client, make_person):
    person = make_person(status="pending")
    from tests.conftest import csrf_token

    answer = client.post("/sign-in", data={"phone": person.phone, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert answer.status_code == 401
    assert "等待协调员审核" in answer.get_data(as_text=True) or "approval" in answer.get_data(as_text=True)
