"""Findings of the attacker's probe outside the /token path, over real HTTP.

Each test failed on the code before its fix. They run on SQLite and on PostgreSQL.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import AuditEvent, Contact, RefreshToken, UserSession
from imis_mock.services import accounts, clients, clock, secrets, sso, tokens
from tests.support.apps import make_app
from tests.support.browser import Browser
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD, create_client_application
from tests.support.servers import LiveServer


def signed_in(base_url: str, username: str, password: str, *, site: str = "member", **extra):
    """A requests session signed in over HTTP (the test app has CSRF switched off)."""
    browser = requests.Session()
    path = "/staff/SignIn" if site == "staff" else "/SignIn"
    data = {"username": username, "password": password, **extra}
    response = browser.post(base_url + path, data=data, allow_redirects=False, timeout=30)
    assert response.status_code == 303, response.text[:300]
    return browser


@pytest.fixture
def staff(live_server) -> requests.Session:
    return signed_in(live_server.url, "MANAGER", STAFF_PASSWORD, site="staff")


@pytest.fixture
def member(live_server) -> requests.Session:
    return signed_in(live_server.url, "jsmith", MEMBER_PASSWORD)


def access_token(app, username: str = "jsmith") -> str:
    with app.app_context():
        raw, _ = tokens.issue_access_token(accounts.get_user(username), None, grant_type="password")
        db.session.commit()
        return raw


# --- 6. An id above the database's integer range in a staff URL: 404, not 500 ----------------

CONTENT = "/staff/RiSE/PageBuilder/ManageContent"
CLIENTS = "/staff/RiSE/Maintenance/ClientApplications"
ID_ROUTES = [
    ("GET", CONTENT + "/{id}"),
    ("POST", CONTENT + "/{id}"),
    ("POST", CONTENT + "/{id}/Delete"),
    ("GET", CONTENT + "/{id}/AddContent"),
    ("GET", CONTENT + "/{id}/AddContent/sso"),
    ("POST", CONTENT + "/{id}/AddContent/sso"),
    ("GET", CONTENT + "/1/Items/{id}"),
    ("POST", CONTENT + "/{id}/Items/1"),
    ("POST", CONTENT + "/1/Items/{id}/Remove"),
    ("POST", "/staff/QA/Tokens/refresh/{id}/expire"),
    ("POST", "/staff/QA/Tokens/access/{id}/revoke"),
    ("POST", "/staff/QA/Faults/{id}"),
    ("POST", "/staff/QA/Faults/{id}/clear"),
    ("GET", CLIENTS + "/{id}/Edit"),
    ("POST", CLIENTS + "/{id}/Edit"),
    ("GET", CLIENTS + "/{id}/Delete"),
    ("POST", CLIENTS + "/{id}/Delete"),
]


@pytest.mark.parametrize(("method", "route"), ID_ROUTES)
@pytest.mark.parametrize("big", [2**63, 10**30, 2**31])
def test_id_out_of_range_is_404(live_server, staff, method, route, big):
    url = live_server.url + route.format(id=big)
    response = staff.request(method, url, data={"x": "1"}, allow_redirects=False, timeout=30)
    assert response.status_code == 404, response.text[:300]
    assert "does not exist" in response.text


def test_id_at_the_top_of_the_range_still_reaches_the_view(app, live_server, staff):
    """The largest id every database holds is routed to the view, which answers its own 404."""
    client_pk = create_client_application(app)
    edit = staff.get(f"{live_server.url}{CLIENTS}/{client_pk}/Edit", timeout=30)
    assert edit.status_code == 200
    response = staff.get(f"{live_server.url}{CLIENTS}/{2**31 - 1}/Edit", timeout=30)
    assert response.status_code == 404


# --- 7. Cache-Control: no-store on every page built for a signed-in person, and all of /api ---


def assert_no_store(response: requests.Response) -> None:
    assert "no-store" in response.headers.get("Cache-Control", ""), (
        response.request.url,
        response.headers.get("Cache-Control"),
    )


@pytest.mark.parametrize(
    "path",
    [
        "/staff/",
        "/staff/Contacts/",
        "/staff/Contacts/23179",
        "/staff/QA/Tokens",
        "/staff/QA/Activity",
        "/staff/QA/Activity.json",
        "/staff/QA/Simulate",
        CLIENTS,
    ],
)
def test_staff_pages_are_not_stored(live_server, staff, path):
    response = staff.get(live_server.url + path, timeout=30)
    assert response.status_code == 200
    assert_no_store(response)


def test_simulate_sso_result_is_not_stored(app, live_server, staff):
    create_client_application(app, "QAApp", redirect_url="http://localhost:5001/sso")
    response = staff.post(
        live_server.url + "/staff/QA/Simulate",
        data={"username": "jsmith", "client": "QAApp"},
        timeout=30,
    )
    assert response.status_code == 200
    assert re.search(r"refresh_token=[A-Za-z0-9_-]{43}", response.text)
    assert_no_store(response)


def test_my_account_is_not_stored(live_server, member):
    response = member.get(live_server.url + "/MyAccount", timeout=30)
    assert response.status_code == 200
    assert "Smith" in response.text
    assert_no_store(response)


def test_api_json_is_not_stored(app, live_server):
    url = live_server.url + "/api/User"
    ok = requests.get(url, headers={"Authorization": f"Bearer {access_token(app)}"}, timeout=30)
    assert ok.status_code == 200 and ok.json()["Items"]
    refused = requests.get(url, timeout=30)
    assert refused.status_code == 401
    missing = requests.get(live_server.url + "/api/NoSuchThing", timeout=30)
    for response in (ok, refused, missing):
        assert response.headers["Content-Type"].startswith("application/json")
        assert_no_store(response)


def test_anonymous_static_files_stay_cacheable(live_server):
    """The rule is about who is signed in: a file for nobody in particular stays cacheable."""
    response = requests.get(live_server.url + "/static/css/site.css", timeout=30)
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


# --- 8. A session without "Keep me signed in" ends after an absolute lifetime ---------------


def test_busy_session_ends_after_its_absolute_lifetime(app, live_server, member):
    """Active every 100 minutes (under the 120-minute idle limit), yet over 12 hours it ends."""
    hours = app.config["SESSION_ABSOLUTE_HOURS"]
    assert hours == 12
    my_account = live_server.url + "/MyAccount"
    elapsed = timedelta(0)
    while elapsed + timedelta(minutes=100) < timedelta(hours=hours):
        with app.app_context():
            clock.advance(100)
        elapsed += timedelta(minutes=100)
        response = member.get(my_account, allow_redirects=False, timeout=30)
        assert response.status_code == 200, elapsed
    with app.app_context():
        clock.advance(100)
    response = member.get(my_account, allow_redirects=False, timeout=30)
    assert response.status_code == 302
    assert "/SignIn" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(UserSession)) is None


def test_absolute_lifetime_is_a_setting(instance, monkeypatch):
    app = make_app(instance, monkeypatch, SESSION_ABSOLUTE_HOURS=1)
    with LiveServer(app) as server:
        browser = signed_in(server.url, "jsmith", MEMBER_PASSWORD)
        with app.app_context():
            clock.advance(59)
        assert browser.get(server.url + "/MyAccount", allow_redirects=False).status_code == 200
        with app.app_context():
            clock.advance(2)
        assert browser.get(server.url + "/MyAccount", allow_redirects=False).status_code == 302


def test_kept_session_is_not_cut_by_the_absolute_lifetime(app, live_server):
    """ "Keep me signed in" lasts REMEMBER_COOKIE_DURATION (14 days), as before."""
    browser = signed_in(live_server.url, "jsmith", MEMBER_PASSWORD, remember="y")
    with app.app_context():
        clock.advance(13 * 60)
    response = browser.get(live_server.url + "/MyAccount", allow_redirects=False, timeout=30)
    assert response.status_code == 200


# --- 9. Under TLS: HSTS, and __Host- cookies -----------------------------------------------


def set_cookies(response: requests.Response) -> dict[str, str]:
    """The Set-Cookie headers by cookie name (requests drops Secure cookies on plain http)."""
    headers = response.raw.headers.getlist("Set-Cookie")
    return {header.split("=", 1)[0]: header for header in headers}


@pytest.fixture
def tls_server(instance, monkeypatch):
    """The app as deployed behind a TLS-terminating proxy: PREFERRED_URL_SCHEME = https."""
    app = make_app(instance, monkeypatch, PREFERRED_URL_SCHEME="https")
    with LiveServer(app) as server:
        yield server


def test_tls_sends_hsts_and_host_prefixed_cookies(tls_server):
    url = tls_server.url
    page = requests.get(url + "/SignIn", timeout=30)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    response = requests.post(
        url + "/SignIn",
        data={"username": "jsmith", "password": MEMBER_PASSWORD, "remember": "y"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 303
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    cookies = set_cookies(response)
    assert set(cookies) == {"__Host-imis_session", "__Host-imis_remember"}
    for header in cookies.values():
        # What browsers require of a __Host- cookie: Secure, Path=/ and no Domain.
        attributes = [a.strip().lower() for a in header.split(";")[1:]]
        assert "secure" in attributes and "httponly" in attributes
        assert "path=/" in attributes
        assert not any(a.startswith("domain=") for a in attributes)
    # The renamed cookie is the one the app reads back.
    session_cookie = cookies["__Host-imis_session"].split(";")[0]
    account = requests.get(
        url + "/MyAccount", headers={"Cookie": session_cookie}, allow_redirects=False, timeout=30
    )
    assert account.status_code == 200


def test_plain_http_has_no_hsts_and_plain_cookie_names(live_server):
    response = requests.post(
        live_server.url + "/SignIn",
        data={"username": "jsmith", "password": MEMBER_PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    assert "Strict-Transport-Security" not in response.headers
    assert set(set_cookies(response)) == {"imis_session"}


# --- 11. A member on a staff page is audited; audit times are real time -----------------------


def activity(staff: requests.Session, base_url: str) -> list[dict]:
    response = staff.get(base_url + "/staff/QA/Activity.json", timeout=30)
    assert response.status_code == 200
    return response.json()


def test_member_on_staff_page_is_audited_in_real_time_order(app, live_server, member, staff):
    # The QA clock is 100 minutes ahead when the first refusal happens, back at real time for the
    # second: the second is the newer event and must be listed first.
    with app.app_context():
        clock.advance(100)
    first = member.get(live_server.url + "/staff/Contacts/", timeout=30)
    with app.app_context():
        clock.reset()
    second = member.post(live_server.url + CLIENTS + "/New", data={"client_id": "x"}, timeout=30)
    assert first.status_code == second.status_code == 403
    rows = [r for r in activity(staff, live_server.url) if r["action"] == "staff.forbidden"]
    outcomes = [(r["user"], r["outcome"], r["error"]) for r in rows]
    assert outcomes == [("jsmith", "failure", "403")] * 2
    assert [r["detail"] for r in rows] == [
        {"method": "POST", "path": CLIENTS + "/New"},
        {"method": "GET", "path": "/staff/Contacts/"},
    ]
    with app.app_context():
        times = db.session.scalars(
            select(AuditEvent.at).where(AuditEvent.action == "staff.forbidden")
        ).all()
    for at in times:
        assert abs(datetime.now(UTC) - at) < timedelta(minutes=5)


def test_anonymous_on_staff_page_is_sent_to_sign_in_not_audited(app, live_server):
    response = requests.get(live_server.url + "/staff/Contacts/", allow_redirects=False)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).filter_by(action="staff.forbidden")) is None


# --- 12. Contact names refuse control characters --------------------------------------------

CONTACT_FORM = {
    "first_name": "Janet",
    "last_name": "Smythe",
    "email": "janet@example.org",
    "phone": "",
    "organization": "",
    "member_type": "M",
}


def contact_names(app, imis_id: str = "23179") -> tuple[str, str]:
    with app.app_context():
        row = db.session.scalar(select(Contact).filter_by(imis_id=imis_id))
        return row.first_name, row.last_name


@pytest.mark.parametrize("field", ["first_name", "last_name", "organization"])
@pytest.mark.parametrize(
    "bad", ["Ja\x1b[31mnet", "Jan\net", "Jan\ret", "Ja\tnet", "Ja\x7fnet", "Ja\u2028net"]
)
def test_contact_form_refuses_control_characters(app, live_server, staff, field, bad):
    before = contact_names(app)
    response = staff.post(
        live_server.url + "/staff/Contacts/23179",
        data={**CONTACT_FORM, field: bad},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 200
    assert "cannot contain control characters" in response.text
    assert contact_names(app) == before


def test_contact_form_accepts_ordinary_names(app, live_server, staff):
    data = {**CONTACT_FORM, "first_name": "Zoë-Anne", "last_name": "O'Brien Núñez"}
    response = staff.post(
        live_server.url + "/staff/Contacts/23179", data=data, allow_redirects=False, timeout=30
    )
    assert response.status_code == 303
    assert contact_names(app) == ("Zoë-Anne", "O'Brien Núñez")


def test_creating_a_contact_refuses_control_characters(app, runner):
    result = runner.invoke(
        args=["create-user", "newbie", "--member", "--first-name", "Ne\x1bw", "--last-name", "B"],
        input="pw-123456\npw-123456\n",
    )
    assert result.exit_code != 0
    assert "cannot contain control characters" in result.output
    with app.app_context():
        assert accounts.get_user("newbie") is None


# --- 13. A bearer token in both the header and the query string: 400 invalid_request ---------


def test_token_in_header_and_query_is_invalid_request(app, live_server):
    raw = access_token(app)
    response = requests.get(
        live_server.url + "/api/User",
        params={"access_token": raw},
        headers={"Authorization": f"Bearer {raw}"},
        timeout=30,
    )
    assert response.status_code == 400
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="iMIS", error="invalid_request"')
    assert response.json() == {"Message": "The request is invalid."}
    assert_no_store(response)


def test_token_in_header_and_form_body_is_invalid_request(app, live_server):
    raw = access_token(app)
    response = requests.post(
        live_server.url + "/api/User/_execute",
        data={"access_token": raw},
        headers={"Authorization": f"Bearer {raw}"},
        timeout=30,
    )
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_token_in_query_only_is_not_accepted(app, live_server):
    response = requests.get(
        live_server.url + "/api/User", params={"access_token": access_token(app)}, timeout=30
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="iMIS"'


def test_basic_header_and_query_token_is_not_two_bearer_methods(app, live_server):
    """Only a Bearer header counts as a way of sending the token: Basic is just refused (401)."""
    response = requests.get(
        live_server.url + "/api/User",
        params={"access_token": access_token(app)},
        headers={"Authorization": "Basic dXNlcjpwdw=="},
        timeout=30,
    )
    assert response.status_code == 401


# --- Matrix rows with no test before (docs/security-matrix.md): they pass on the code as it was --


def test_audit_encodes_line_breaks_in_a_username(app, live_server):
    """Row 72: a CR/LF typed as a username cannot forge a line in the audit trail."""
    response = requests.post(
        live_server.url + "/SignIn",
        data={"username": "eve\r\nstaff.sign_in success", "password": "x"},
        timeout=30,
    )
    assert response.status_code == 200
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="member.sign_in"))
    assert event.outcome == "failure"
    assert event.username == "eve\\r\\nstaff.sign_in success"
    assert abs(datetime.now(UTC) - event.at) < timedelta(minutes=5) and event.ip == "127.0.0.1"


def test_sign_in_and_sign_out_are_audited(app, live_server, member):
    """Row 72: a successful sign-in is an audit entry too (time, actor, address, outcome)."""
    page = member.get(live_server.url + "/MyAccount", timeout=30)
    assert page.status_code == 200
    assert member.post(live_server.url + "/SignOut", timeout=30).status_code == 200
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.actor == "jsmith").order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.outcome, e.ip) for e in events] == [
        ("member.sign_in", "success", "127.0.0.1"),
        ("sign_out", "success", "127.0.0.1"),
    ]


def test_same_password_gets_different_salted_hashes(app):
    """Row 61."""
    with app.app_context():
        first = accounts.hash_password("Same-password-1")
        second = accounts.hash_password("Same-password-1")
    assert first != second
    assert first.split("$")[0] == app.config["PASSWORD_HASH_METHOD"]


@pytest.mark.parametrize("password", ["p" * 63 + "X", "pässwörd-日本語-🔑", "x" * 200])
def test_long_and_unicode_passwords_are_checked_exactly(app, live_server, password):
    """Row 62: no truncation, no normalisation."""
    with app.app_context():
        accounts.create_user("longpw", password, staff=False, first_name="L", last_name="P")
        db.session.commit()
    url = live_server.url + "/SignIn"
    for wrong in (password[:-1], password[:-1] + "Y", password.upper()):
        data = {"username": "longpw", "password": wrong}
        assert requests.post(url, data=data, allow_redirects=False).status_code == 200
    right = {"username": "longpw", "password": password}
    assert requests.post(url, data=right, allow_redirects=False).status_code == 303


def hand_off(app, client_id: str = "MyApp") -> str:
    """A refresh token for jsmith, minted as the SSO page mints it."""
    with app.app_context():
        raw = sso.start_handoff(accounts.get_user("jsmith"), clients.find_client(client_id))
        db.session.commit()
        return raw


def lifetime_of(app, raw: str) -> timedelta:
    with app.app_context():
        token = db.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == secrets.token_hash(raw))
        )
        return token.expires_at - token.issued_at


def test_a_changed_lifetime_applies_to_new_refresh_tokens_only(app, live_server):
    """Row 24: "Refresh token lifetime (minutes)" is the expiry of newly generated tokens."""
    client_pk = create_client_application(app, lifetime=30)
    before = hand_off(app)
    browser = Browser(live_server.url)
    page = browser.get("/staff/SignIn")
    browser.submit(
        page, page.form_with("password"), "Sign In", username="MANAGER", password=STAFF_PASSWORD
    )
    page = browser.get(f"{CLIENTS}/{client_pk}/Edit")
    saved = browser.submit(
        page, page.form_with("refresh_token_lifetime"), "Save", refresh_token_lifetime="5"
    )
    assert saved.status == 200 and saved.url.endswith(CLIENTS), saved.text[:300]
    after = hand_off(app)
    assert lifetime_of(app, before) == timedelta(minutes=30)
    assert lifetime_of(app, after) == timedelta(minutes=5)


def test_token_endpoint_does_not_take_a_signed_in_cookie_as_client_credentials(app, live_server):
    """Row 65: a member's session cookie is no client authentication at /token."""
    create_client_application(app)
    raw = hand_off(app)
    member = signed_in(live_server.url, "jsmith", MEMBER_PASSWORD)
    response = member.post(
        live_server.url + "/token",
        data={"grant_type": "refresh_token", "refresh_token": raw},
        timeout=30,
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.text
