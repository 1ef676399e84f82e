"""Staff contacts pages: search, edit what the API returns, disable sign-in."""

import json

import pytest
import requests
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import AuditEvent, Contact, UserSession
from imis_mock.services import accounts
from tests.support.api import mint
from tests.support.apps import csrf_token_from, sign_in
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD, database_dump
from tests.support.servers import LiveServer

VALID = {
    "first_name": "Janet",
    "last_name": "Smythe",
    "email": "janet@example.org",
    "phone": "(416) 555-0199",
    "organization": "Acme",
    "member_type": "NM",
}


def contact(app, imis_id="23179") -> dict:
    with app.app_context():
        row = db.session.scalar(select(Contact).filter_by(imis_id=imis_id))
        return {name: getattr(row, name) for name in VALID}


def audit_events(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).filter_by(action=action)))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("", ["23182", "23180", "23181", "23001", "23179"]),
        ("smith", ["23179"]),
        ("JANE SMITH", ["23179"]),
        ("23180", ["23180"]),
        ("anika.patel@", ["23181"]),
        ("nobody-at-all", []),
        ("%", []),
    ],
)
def test_search(staff_client, q, expected):
    html = staff_client.get("/staff/Contacts/", query_string={"q": q}).get_data(as_text=True)
    found = [i for i in ["23001", "23179", "23180", "23181", "23182"] if f">{i}</td>" in html]
    assert sorted(found) == sorted(expected)
    order = sorted(expected, key=html.index)
    assert order == expected
    if not expected:
        assert "No contacts match." in html


def test_nav_and_tile_link_to_contacts(staff_client):
    assert 'href="/staff/Contacts/"' in staff_client.get("/staff/RiSE/Maintenance").get_data(
        as_text=True
    )


@pytest.mark.parametrize("path", ["/staff/Contacts/", "/staff/Contacts/23179"])
def test_staff_only(client, member_client, path):
    assert member_client.get(path).status_code == 403
    if path != "/staff/Contacts/":
        assert member_client.post(path, data=VALID).status_code == 403
    anonymous = client.application.test_client()
    response = anonymous.get(path)
    assert response.status_code == 302 and "/staff/SignIn" in response.headers["Location"]


def test_edit_page_labels(staff_client):
    html = staff_client.get("/staff/Contacts/23179").get_data(as_text=True)
    for field, label in [
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("email", "Email"),
        ("phone", "Phone"),
        ("organization", "Organization"),
        ("member_type", "Member type"),
    ]:
        assert f'<label for="{field}">{label}</label>' in html
    assert 'value="jsmith@example.org"' in html


def test_edit_changes_what_the_api_returns(app, staff_client):
    response = staff_client.post("/staff/Contacts/23179", data=VALID)
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/Contacts/23179"
    assert contact(app) == VALID
    [event] = audit_events(app, "contact.update")
    assert event.actor == "MANAGER" and event.username == "jsmith"
    assert set(json.loads(event.detail)["changed"]) == set(VALID)
    token = mint(app, "jsmith")
    party = app.test_client().get("/api/Party/23179", headers={"Authorization": f"Bearer {token}"})
    body = party.get_json()
    assert body["PersonName"]["FirstName"] == "Janet"
    assert body["Emails"]["$values"][0]["Address"] == "janet@example.org"
    assert body["PrimaryOrganization"]["Name"] == "Acme"
    assert body["AdditionalAttributes"]["$values"][0]["Value"] == "NM"


def test_saving_unchanged_form_audits_nothing(app, staff_client):
    same = contact(app)
    response = staff_client.post("/staff/Contacts/23179", data=same)
    assert response.status_code == 303
    assert audit_events(app, "contact.update") == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "", "Required"),
        ("last_name", "   ", "Required"),
        ("email", "not-an-email", "Enter an email address like name@example.org."),
        ("email", "a@b", "Enter an email address like name@example.org."),
        ("phone", "9" * 41, "Field cannot be longer than 40 characters."),
        ("organization", "x" * 121, "Field cannot be longer than 120 characters."),
        ("member_type", "BOSS", "Not a valid choice."),
    ],
)
def test_bad_input_shows_error_by_field_and_changes_nothing(
    app, staff_client, field, value, message
):
    before = contact(app)
    response = staff_client.post("/staff/Contacts/23179", data=dict(VALID, **{field: value}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
    assert contact(app) == before
    assert audit_events(app, "contact.update") == []


def test_markup_is_escaped(app, staff_client):
    staff_client.post(
        "/staff/Contacts/23179", data=dict(VALID, organization='"><script>x</script>')
    )
    html = staff_client.get("/staff/Contacts/23179").get_data(as_text=True)
    assert "<script>x" not in html and "&lt;script&gt;" in html


def test_unknown_contact_is_404(staff_client):
    assert staff_client.get("/staff/Contacts/99999").status_code == 404
    assert (
        staff_client.post("/staff/Contacts/99999/SignIn", data={"disable": "1"}).status_code == 404
    )


def test_disable_sign_in_ends_sessions_and_tokens(app, staff_client):
    member = app.test_client()
    assert sign_in(member, "jsmith", MEMBER_PASSWORD).status_code == 303
    token = mint(app, "jsmith")
    response = staff_client.post("/staff/Contacts/23179/SignIn", data={"disable": "1"})
    assert response.status_code == 303
    with app.app_context():
        user = accounts.get_user("jsmith")
        assert user.is_disabled
        assert db.session.scalar(select(UserSession).filter_by(user_id=user.id)) is None
    assert member.get("/MyAccount").status_code == 302
    api = app.test_client().get("/api/User/23179", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    assert sign_in(app.test_client(), "jsmith", MEMBER_PASSWORD).status_code == 200
    assert "Disabled" in staff_client.get("/staff/Contacts/23179").get_data(as_text=True)
    [event] = audit_events(app, "user.disable")
    assert event.actor == "MANAGER" and event.username == "jsmith"

    staff_client.post("/staff/Contacts/23179/SignIn", data={"disable": "0"})
    assert sign_in(app.test_client(), "jsmith", MEMBER_PASSWORD).status_code == 303
    assert len(audit_events(app, "user.enable")) == 1


def test_staff_cannot_disable_themselves(app, staff_client):
    response = staff_client.post(
        "/staff/Contacts/23001/SignIn", data={"disable": "1"}, follow_redirects=True
    )
    assert "You cannot disable your own sign-in." in response.get_data(as_text=True)
    with app.app_context():
        assert not accounts.get_user("MANAGER").is_disabled


def test_sign_in_toggle_is_post_only(staff_client):
    assert staff_client.get("/staff/Contacts/23179/SignIn").status_code == 405


def test_csrf_is_required(csrf_app):
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/staff/SignIn").get_data(as_text=True))
    client.post(
        "/staff/SignIn",
        data={"username": "MANAGER", "password": STAFF_PASSWORD, "csrf_token": token},
    )
    before = contact(csrf_app)
    assert client.post("/staff/Contacts/23179", data=VALID).status_code == 400
    assert client.post("/staff/Contacts/23179/SignIn", data={"disable": "1"}).status_code == 400
    assert contact(csrf_app) == before
    token = csrf_token_from(client.get("/staff/Contacts/23179").get_data(as_text=True))
    response = client.post("/staff/Contacts/23179", data=dict(VALID, csrf_token=token))
    assert response.status_code == 303
    assert contact(csrf_app) == VALID


# --- Organizations: their own name, no person names ------------------------------------------

ORGANIZATION = {
    "organization": "Versaton Holdings",
    "email": "hello@versaton.example.org",
    "phone": "(416) 555-0111",
    "member_type": "CM",  # the demo organization's code, which the mock has no name for
}
ORGANIZATION_COLUMNS = (*ORGANIZATION, "first_name", "last_name")


def organization(app, imis_id="23100") -> dict:
    with app.app_context():
        row = db.session.scalar(select(Contact).filter_by(imis_id=imis_id))
        return {name: getattr(row, name) for name in ORGANIZATION_COLUMNS}


def test_organization_page_shows_its_name_and_hides_person_fields(staff_client):
    html = staff_client.get("/staff/Contacts/23100").get_data(as_text=True)
    assert "<h2>Edit organization</h2>" in html
    for field, label in [
        ("organization", "Organization name"),
        ("email", "Email"),
        ("phone", "Phone"),
        ("member_type", "Member type"),
    ]:
        assert f'<label for="{field}">{label}</label>' in html
    for person_only in ("first_name", "last_name"):
        assert f'id="{person_only}"' not in html
    assert 'value="Versaton"' in html
    assert '<option selected value="CM">CM</option>' in html
    # A person's page keeps the person's fields.
    person = staff_client.get("/staff/Contacts/23179").get_data(as_text=True)
    assert 'id="first_name"' in person and "Organization name" not in person


def test_edit_organization_through_the_form_changes_what_the_api_returns(csrf_app):
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/staff/SignIn").get_data(as_text=True))
    client.post(
        "/staff/SignIn",
        data={"username": "MANAGER", "password": STAFF_PASSWORD, "csrf_token": token},
    )
    page = client.get("/staff/Contacts/23100").get_data(as_text=True)
    # Person fields sent anyway are ignored: an organization has no person names.
    data = dict(ORGANIZATION, first_name="Nobody", last_name="Here")
    response = client.post(
        "/staff/Contacts/23100", data=dict(data, csrf_token=csrf_token_from(page))
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/Contacts/23100"
    assert organization(csrf_app) == dict(ORGANIZATION, first_name="", last_name="")
    [event] = audit_events(csrf_app, "contact.update")
    assert event.actor == "MANAGER"
    assert set(json.loads(event.detail)["changed"]) == {"organization", "email", "phone"}
    flashed = client.get("/staff/Contacts/23100").get_data(as_text=True)
    assert "Contact saved." in flashed and "<h1>Versaton Holdings</h1>" in flashed

    headers = {"Authorization": f"Bearer {mint(csrf_app, 'MANAGER')}"}
    with LiveServer(csrf_app) as server:
        org = requests.get(f"{server.url}/api/Party/23100", headers=headers, timeout=30).json()
        assert org["$type"].startswith("Asi.Soa.Membership.DataContracts.OrganizationData")
        assert org["OrganizationName"] == org["Name"] == "Versaton Holdings"
        assert org["Emails"]["$values"][0]["Address"] == "hello@versaton.example.org"
        assert org["Phones"]["$values"][0]["Number"] == "(416) 555-0111"
        assert "PersonName" not in org
        summary = requests.get(
            f"{server.url}/api/PartySummary/23100", headers=headers, timeout=30
        ).json()
        assert summary["Name"] == "Versaton Holdings"
        # Its staff repeat the organization's name.
        person = requests.get(f"{server.url}/api/Party/23179", headers=headers, timeout=30).json()
        assert person["PrimaryOrganization"]["OrganizationPartyId"] == "23100"
        assert person["PrimaryOrganization"]["Name"] == "Versaton Holdings"


def test_organization_member_type_can_be_changed_to_a_known_one(app, staff_client):
    response = staff_client.post("/staff/Contacts/23100", data=dict(ORGANIZATION, member_type="M"))
    assert response.status_code == 303
    assert organization(app)["member_type"] == "M"
    # Once changed, the unnamed code is no longer offered.
    html = staff_client.get("/staff/Contacts/23100").get_data(as_text=True)
    assert 'value="CM"' not in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("organization", "", "Required"),
        ("organization", "   ", "Required"),
        ("organization", "x" * 121, "Field cannot be longer than 120 characters."),
        (
            "organization",
            "Versaton\nHoldings",
            "Organization cannot contain control characters such as tabs or line breaks.",
        ),
        ("email", "not-an-email", "Enter an email address like name@example.org."),
        ("phone", "9" * 41, "Field cannot be longer than 40 characters."),
        ("member_type", "BOSS", "Not a valid choice."),
    ],
)
def test_bad_organization_input_shows_error_by_field_and_changes_nothing(
    app, staff_client, field, value, message
):
    before = database_dump(app)
    response = staff_client.post("/staff/Contacts/23100", data=dict(ORGANIZATION, **{field: value}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
    assert database_dump(app) == before
