"""Staff site: its own sign-in (staff accounts only), the guard, the navigation shell."""

import pytest

from tests.support.apps import sign_in
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD

FAILED = "The username or password you entered is incorrect."


def test_staff_sign_in_and_shell(client):
    response = sign_in(client, "MANAGER", STAFF_PASSWORD, site="staff")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"
    html = client.get("/staff/").get_data(as_text=True)
    assert "RiSE" in html and "Maintenance" in html and "Page Builder" in html
    assert client.get("/staff/RiSE/Maintenance").status_code == 200
    assert client.get("/staff/RiSE/PageBuilder").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("jsmith", MEMBER_PASSWORD), ("MANAGER", "wrong"), ("ghost", STAFF_PASSWORD)],
)
def test_staff_sign_in_refuses_with_generic_message(client, username, password):
    response = sign_in(client, username, password, site="staff")
    assert response.status_code == 200
    assert FAILED in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize("path", ["/staff/", "/staff/RiSE/Maintenance", "/staff/RiSE/PageBuilder"])
def test_anonymous_goes_to_staff_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/SignIn?next=")


@pytest.mark.parametrize("path", ["/staff/", "/staff/RiSE/Maintenance"])
def test_member_is_refused_on_staff_site(member_client, path):
    response = member_client.get(path)
    assert response.status_code == 403
    assert "RiSE" not in response.get_data(as_text=True)


def test_staff_next_is_followed_only_on_site(client):
    response = client.post(
        "/staff/SignIn?next=/staff/RiSE/Maintenance",
        data={"username": "MANAGER", "password": STAFF_PASSWORD},
    )
    assert response.headers["Location"] == "/staff/RiSE/Maintenance"
    client.post("/staff/SignOut")
    response = client.post(
        "/staff/SignIn?next=//evil.example",
        data={"username": "MANAGER", "password": STAFF_PASSWORD},
    )
    assert response.headers["Location"] == "/staff/"


def test_staff_sign_out(staff_client):
    response = staff_client.post("/staff/SignOut")
    assert response.status_code == 303
    assert staff_client.get("/staff/").status_code == 302
