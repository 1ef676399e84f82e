"""The Single Sign-On hand-off page, and the whole flow over real HTTP."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
import requests
from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import AuditEvent, RefreshToken
from imis_mock.services import secrets, tokens
from tests.support.apps import sign_in
from tests.support.data import MEMBER_PASSWORD, create_client_application
from tests.support.oauth import SECRET, add_test_routes

REDIRECT = "https://app.example.com:8443/sso/callback?tenant=7"


class FormParser(HTMLParser):
    """Collect the forms, their inputs and buttons, and the scripts of a page."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.scripts: list[dict] = []
        self.inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"attrs": attrs, "inputs": [], "buttons": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(attrs)
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append(attrs)
        elif tag == "script":
            self.scripts.append(attrs)
            self.inline_script = self.inline_script or "src" not in attrs
        if any(name.startswith("on") for name in attrs):
            self.inline_script = True


def parse(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


@pytest.fixture
def sso_app(app):
    create_client_application(app, "MyApp", SECRET, lifetime=45, redirect_url=REDIRECT)
    return add_test_routes(app)


@pytest.fixture
def member(sso_app):
    client = sso_app.test_client()
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    return client


def count_tokens(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(RefreshToken.id)))


def test_page_posts_one_refresh_token_to_the_redirect_url(sso_app, member):
    response = member.get("/_test/sso/MyApp")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    [form] = page.forms
    assert form["attrs"]["method"] == "post"
    assert form["attrs"]["action"] == REDIRECT
    [field] = form["inputs"]
    assert field["name"] == "refresh_token" and field["type"] == "hidden"
    assert "Continue" in response.get_data(as_text=True) and form["buttons"]
    assert page.scripts == [{"src": "/static/js/handoff.js", "defer": None}]
    assert not page.inline_script
    with sso_app.app_context():
        token = tokens.find_refresh_token(field["value"])
        assert token.user.username == "jsmith"
        assert token.client.client_id == "MyApp"
        assert token.token_hash == secrets.token_hash(field["value"]) != field["value"]
        assert token.expires_at - token.issued_at == timedelta(minutes=45)


def test_headers(member):
    headers = member.get("/_test/sso/MyApp").headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    csp = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert csp["form-action"] == "'self' https://app.example.com:8443"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["script-src"] == "'self'"


def test_the_script_is_a_static_file(client):
    with client.get("/static/js/handoff.js") as response:
        assert response.status_code == 200
        assert "sso-handoff" in response.get_data(as_text=True)


def test_each_visit_issues_a_new_token(sso_app, member):
    values = set()
    for _ in range(3):
        page = parse(member.get("/_test/sso/MyApp").get_data(as_text=True))
        values.add(page.forms[0]["inputs"][0]["value"])
    assert len(values) == 3
    assert count_tokens(sso_app) == 3


def test_request_cannot_change_the_target(member):
    response = member.get(
        "/_test/sso/MyApp",
        query_string={"redirect_uri": "https://evil.example", "ReturnUrl": "https://evil.example"},
    )
    html = response.get_data(as_text=True)
    assert parse(html).forms[0]["attrs"]["action"] == REDIRECT
    assert "evil" not in html and "evil" not in response.headers["Content-Security-Policy"]


def test_anonymous_visitor_gets_a_guest_token(sso_app):
    page = parse(sso_app.test_client().get("/_test/sso/MyApp").get_data(as_text=True))
    with sso_app.app_context():
        token = tokens.find_refresh_token(page.forms[0]["inputs"][0]["value"])
        assert token.user.username == "GUEST"


def test_two_members_get_their_own_tokens(sso_app, member):
    other = sso_app.test_client()
    sign_in(other, "rjones", MEMBER_PASSWORD)
    users = []
    for client in (member, other):
        page = parse(client.get("/_test/sso/MyApp").get_data(as_text=True))
        with sso_app.app_context():
            users.append(tokens.find_refresh_token(page.forms[0]["inputs"][0]["value"]))
            users[-1] = users[-1].user.username
    assert users == ["jsmith", "rjones"]


def test_deleted_client_gives_an_error_page_and_no_token(sso_app, member):
    response = member.get("/_test/sso/NoLongerThere")
    assert response.status_code == 404
    assert "client application no longer exists" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert count_tokens(sso_app) == 0
    with sso_app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sso.handoff"))
        assert (event.outcome, event.error_code, event.username) == (
            "failure",
            "client_missing",
            "jsmith",
        )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "/relative", "https://bad host/x", "https://a;b.example/"]
)
def test_unusable_redirect_url_gives_an_error_page_and_no_token(sso_app, member, url):
    create_client_application(sso_app, "BadApp", "bad-secret", redirect_url=url)
    response = member.get("/_test/sso/BadApp")
    assert response.status_code == 404
    assert "Login redirect URL" in response.get_data(as_text=True)
    assert count_tokens(sso_app) == 0


def test_handoff_is_audited_without_the_token(sso_app, member):
    page = parse(member.get("/_test/sso/MyApp").get_data(as_text=True))
    raw = page.forms[0]["inputs"][0]["value"]
    with sso_app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sso.handoff"))
        assert (event.outcome, event.client_id, event.username) == ("success", "MyApp", "jsmith")
        assert raw not in event.detail and secrets.fingerprint(raw) in event.detail


def test_whole_flow_over_real_http(sso_app, live_server):
    # Staff configuration: the client application is registered by the sso_app fixture (the
    # Client applications screen is another area); the test route stands in for the record page.
    browser = requests.Session()
    response = browser.post(
        f"{live_server.url}/SignIn",
        data={"username": "jsmith", "password": MEMBER_PASSWORD},
        allow_redirects=False,
    )
    assert response.status_code == 303

    page = browser.get(f"{live_server.url}/_test/sso/MyApp")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    [form] = parse(page.text).forms
    assert form["attrs"]["action"] == REDIRECT
    fields = {i["name"]: i["value"] for i in form["inputs"]}
    assert list(fields) == ["refresh_token"]

    # The third-party application: a fresh HTTP client with no cookies.
    app_side = requests.Session()
    token = app_side.post(
        f"{live_server.url}/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "MyApp",
            "client_secret": SECRET,
            "refresh_token": fields["refresh_token"],
        },
        headers={"Accept": "application/json"},
    )
    assert token.status_code == 200
    assert token.headers["Cache-Control"] == "no-store"
    assert token.headers["Pragma"] == "no-cache"
    body = token.json()
    assert body["userName"] == "jsmith" and body["as:client_id"] == "MyApp"

    api = app_side.get(
        f"{live_server.url}/api/_probe",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert api.status_code == 200 and api.json() == {"user": "jsmith"}
    denied = app_side.get(f"{live_server.url}/api/_probe")
    assert denied.status_code == 401 and denied.headers["WWW-Authenticate"].startswith("Bearer")
