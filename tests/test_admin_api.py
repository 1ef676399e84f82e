"""The HTTP admin API under /qa/api, over real HTTP (and the Flask client for staff sessions)."""

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from imis_mock.extensions import db
from imis_mock.services import demo
from tests.support.apps import csrf_token_from, make_app, sign_in
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD, database_dump
from tests.support.servers import LiveServer

TOKEN = "admin-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def admin_app(instance, monkeypatch):
    return make_app(instance, monkeypatch, QA_ADMIN_TOKEN=TOKEN)


@pytest.fixture
def server(admin_app):
    with LiveServer(admin_app) as live:
        yield live


@pytest.fixture
def api(server):
    """A requests session that carries the admin token; api.url(path) is under /qa/api."""
    session = requests.Session()
    session.headers.update(AUTH)
    session.base = f"{server.url}/qa/api"
    yield session
    session.close()


def url(api, path: str) -> str:
    return api.base + path


def make_client(api, client_id="Lms", redirect_url="https://lms.example/sso", **extra):
    body = {
        "client_id": client_id,
        "secret": "lms-secret-1-Zq7Lm3Vx9Rt2Wp8Kc5H",
        "redirect_url": redirect_url,
    }
    response = api.post(url(api, "/clients"), json={**body, **extra})
    assert response.status_code == 201, response.text
    return response.json()


# --- Switched off, and who may use it ----------------------------------------------------------


def test_off_unless_configured(client):
    assert client.get("/qa/api/clock", headers=AUTH).status_code == 404
    assert client.post("/qa/api/reset", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Authorization": "Bearer wrong-token"}, 403),
        ({"Authorization": f"Bearer {TOKEN}x"}, 403),
        (AUTH, 200),
        ({"Authorization": f"bearer {TOKEN}"}, 200),
    ],
)
def test_the_admin_token(server, headers, status):
    response = requests.get(f"{server.url}/qa/api/clock", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "error" in response.json()


def test_refusals_change_nothing(server, admin_app):
    before = database_dump(admin_app)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = requests.post(f"{server.url}/qa/api/reset", headers=headers)
        assert response.status_code in (401, 403)
    assert database_dump(admin_app) == before


def test_a_member_session_is_forbidden_and_a_staff_session_allowed(instance, monkeypatch):
    app = make_app(instance, monkeypatch, QA_ADMIN_API=True)
    member = app.test_client()
    assert member.get("/qa/api/clock").status_code == 401
    sign_in(member, "jsmith", MEMBER_PASSWORD)
    assert member.get("/qa/api/clock").status_code == 403
    staff = app.test_client()
    sign_in(staff, "MANAGER", STAFF_PASSWORD, site="staff")
    assert staff.get("/qa/api/clock").status_code == 200
    # With no token configured, no token is right.
    assert staff.get("/qa/api/clock", headers={"Authorization": "Bearer x"}).status_code == 403


def test_a_staff_session_needs_the_csrf_token_to_change_things(instance, monkeypatch):
    app = make_app(instance, monkeypatch, QA_ADMIN_API=True, WTF_CSRF_ENABLED=True)
    staff = app.test_client()
    token = csrf_token_from(staff.get("/staff/SignIn").get_data(as_text=True))
    data = {"username": "MANAGER", "password": STAFF_PASSWORD, "csrf_token": token}
    assert staff.post("/staff/SignIn", data=data).status_code == 303
    body = {"advance_minutes": 5}
    refused = staff.post("/qa/api/clock", json=body)
    assert refused.status_code == 400 and "CSRF" in refused.json["error"]
    page = staff.get("/staff/QA/Clock").get_data(as_text=True)
    allowed = staff.post("/qa/api/clock", json=body, headers={"X-CSRFToken": csrf_token_from(page)})
    assert allowed.status_code == 200
    assert allowed.json["offset_seconds"] == 300


# --- The whole site -----------------------------------------------------------------------------


def test_reset_empties_the_site_or_loads_the_demo(api, admin_app):
    make_client(api)
    assert api.post(url(api, "/reset")).json() == {"reset": True, "demo": False}
    site = api.get(url(api, "/scenario")).json()
    assert site["contacts"] == site["staff"] == site["client_applications"] == []
    api.post(url(api, "/reset"), json={"demo": True})
    site = api.get(url(api, "/scenario")).json()
    assert [s["username"] for s in site["staff"]] == ["MANAGER"]
    assert [c["client_id"] for c in site["client_applications"]] == ["SampleApp"]


def test_reset_to_a_scenario_and_load_one(api):
    document = {"version": 1, "contacts": [{"username": "a1", "first_name": "A", "last_name": "B"}]}
    response = api.post(url(api, "/reset"), json={"scenario": document})
    assert response.json()["loaded"] == {"contacts": 1}
    assert [c["username"] for c in api.get(url(api, "/scenario")).json()["contacts"]] == ["a1"]
    yaml_text = (
        "version: 1\nclient_applications:\n- {client_id: Y, redirect_url: 'https://y.example/'}\n"
    )
    response = api.post(
        url(api, "/scenario") + "?merge=1",
        data=yaml_text,
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text
    assert list(response.json()["client_secrets"]) == ["Y"]
    site = api.get(url(api, "/scenario")).json()
    assert [c["username"] for c in site["contacts"]] == ["a1"]
    assert "secret_hash" not in site["client_applications"][0]
    with_secrets = api.get(url(api, "/scenario"), params={"include_secrets": "1"}).json()
    assert re.fullmatch(r"[0-9a-f]{64}", with_secrets["client_applications"][0]["secret_hash"])


def test_a_bad_scenario_is_refused_with_its_problems(api, admin_app):
    before = database_dump(admin_app)
    document = {"version": 1, "contacts": [{"username": "x", "first_name": 3, "last_name": "Y"}]}
    response = api.post(url(api, "/scenario"), json=document)
    assert response.status_code == 400
    assert response.json()["problems"] == ['contacts[0].first_name: 3 is not of type "string"']
    response = api.post(
        url(api, "/scenario"), data="version: [", headers={"Content-Type": "text/yaml"}
    )
    assert response.status_code == 400 and "line 1" in response.json()["error"]
    rotation = {"version": 1, "settings": {"strict_refresh_token_rotation": True}}
    response = api.post(url(api, "/scenario"), json=rotation)
    assert response.status_code == 400
    assert "settings.strict_refresh_token_rotation" in response.json()["error"]
    assert database_dump(admin_app) == before


# --- Contacts, logins and client applications ---------------------------------------------------


def test_create_a_contact_with_its_login(api, server):
    body = {"username": "newbie", "password": "Newbie-pass-1", "first_name": "N", "last_name": "B"}
    response = api.post(url(api, "/contacts"), json=body)
    assert response.status_code == 201
    assert response.json()["username"] == "newbie" and response.json()["staff"] is False
    browser = requests.Session()
    signed_in = browser.post(
        f"{server.url}/SignIn",
        data={"username": "newbie", "password": "Newbie-pass-1"},
        allow_redirects=False,
    )
    assert signed_in.status_code == 303
    generated = api.post(
        url(api, "/contacts"),
        json={"username": "s2", "first_name": "S", "last_name": "T", "staff": True},
    ).json()
    assert generated["staff"] is True and len(generated["password"]) >= 20


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "jsmith", "first_name": "J", "last_name": "S"}, "username"),
        ({"username": "x y", "first_name": "J", "last_name": "S"}, "username"),
        ({"username": "ok1", "last_name": "S"}, "first_name"),
        ({"username": 5, "first_name": "J", "last_name": "S"}, "username"),
    ],
)
def test_a_bad_contact_is_refused_by_field(api, admin_app, body, field):
    before = database_dump(admin_app)
    response = api.post(url(api, "/contacts"), json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert database_dump(admin_app) == before


def test_create_a_client_application(api):
    created = make_client(api)
    assert created == {
        "client_id": "Lms",
        "refresh_token_lifetime": 30,
        "redirect_url": "https://lms.example/sso",
    }
    generated = api.post(
        url(api, "/clients"), json={"client_id": "Gen", "redirect_url": "https://g.example/"}
    ).json()
    assert len(generated["secret"]) >= 32
    duplicate = api.post(
        url(api, "/clients"),
        json={"client_id": "LMS", "secret": "s" * 32, "redirect_url": "https://x.example/"},
    )
    assert duplicate.status_code == 400 and duplicate.json()["field"] == "client_id"
    bad = api.post(url(api, "/clients"), json={"client_id": "B", "redirect_url": "javascript:x"})
    assert bad.status_code == 400 and bad.json()["field"] == "redirect_url"
    assert api.post(url(api, "/clients"), data="nope").status_code == 400


# --- The hand-off -------------------------------------------------------------------------------


def test_mint_a_handoff_the_client_can_redeem(api, server):
    make_client(api)
    response = api.post(url(api, "/handoffs"), json={"username": "jsmith", "client_id": "lms"})
    assert response.status_code == 201
    handoff = response.json()
    assert handoff["form"] == {
        "method": "POST",
        "action": "https://lms.example/sso",
        "enctype": "application/x-www-form-urlencoded",
        "fields": {"refresh_token": handoff["refresh_token"]},
    }
    token = requests.post(
        f"{server.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": handoff["refresh_token"],
            "client_id": "Lms",
            "client_secret": "lms-secret-1-Zq7Lm3Vx9Rt2Wp8Kc5H",
        },
    )
    assert token.status_code == 200
    assert token.json()["userName"] == "jsmith"


def test_the_minted_form_is_the_one_the_content_item_sends(api, server, admin_app):
    with admin_app.app_context():
        demo.load_sample_app()
        db.session.commit()
    browser = requests.Session()
    browser.post(f"{server.url}/SignIn", data={"username": "jsmith", "password": MEMBER_PASSWORD})
    page = browser.get(f"{server.url}/SampleApp.aspx").text
    form = re.search(r'<form id="sso-handoff" method="(\w+)" action="([^"]+)">', page)
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="[^"]*">', page)
    minted = api.post(
        url(api, "/handoffs"), json={"username": "jsmith", "client_id": "SampleApp"}
    ).json()["form"]
    assert (minted["method"], minted["action"]) == (form.group(1).upper(), form.group(2))
    assert sorted(minted["fields"]) == sorted(fields)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "nobody", "client_id": "Lms"}, "username"),
        ({"username": "jsmith", "client_id": "Nope"}, "client_id"),
        ({"username": "jsmith"}, "client_id"),
        ({"username": ["jsmith"], "client_id": "Lms"}, "username"),
    ],
)
def test_a_bad_handoff_request_is_refused(api, body, field):
    make_client(api)
    response = api.post(url(api, "/handoffs"), json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field


# --- Clock and faults ---------------------------------------------------------------------------


def test_set_move_and_reset_the_clock(api, server):
    make_client(api, refresh_token_lifetime=5)
    refresh = api.post(
        url(api, "/handoffs"), json={"username": "jsmith", "client_id": "Lms"}
    ).json()["refresh_token"]
    assert api.post(url(api, "/clock"), json={"advance_minutes": 6}).json()["offset_seconds"] == 360
    now = datetime.fromisoformat(api.get(url(api, "/clock")).json()["now"])
    assert now - datetime.now(UTC) > timedelta(minutes=5)
    expired = requests.post(
        f"{server.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": "Lms",
            "client_secret": "lms-secret-1-Zq7Lm3Vx9Rt2Wp8Kc5H",
        },
    )
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"
    assert api.post(url(api, "/clock"), json={"offset_seconds": 60}).json()["offset_seconds"] == 60
    assert api.post(url(api, "/clock"), json={"reset": True}).json()["offset_seconds"] == 0
    for bad in ({}, {"advance_minutes": -1}, {"advance_minutes": "5"}, {"offset_seconds": None}):
        assert api.post(url(api, "/clock"), json=bad).status_code == 400


def test_set_and_clear_a_fault(api, server):
    make_client(api)

    def token_status() -> int:
        refresh = api.post(
            url(api, "/handoffs"), json={"username": "jsmith", "client_id": "Lms"}
        ).json()["refresh_token"]
        return requests.post(
            f"{server.url}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": "Lms",
                "client_secret": "lms-secret-1-Zq7Lm3Vx9Rt2Wp8Kc5H",
            },
        ).status_code

    response = api.put(url(api, "/faults/Lms"), json={"mode": "http_500", "count": 1})
    assert response.status_code == 200
    assert api.get(url(api, "/faults")).json() == [
        {"client": "Lms", "mode": "http_500", "count": 1}
    ]
    assert token_status() == 500
    assert token_status() == 200  # the count ran out
    api.put(url(api, "/faults/Lms"), json={"mode": "invalid_grant"})
    assert token_status() == 400
    assert api.delete(url(api, "/faults/Lms")).status_code == 204
    assert api.get(url(api, "/faults")).json() == []
    assert token_status() == 200


@pytest.mark.parametrize(
    ("client_id", "body", "status"),
    [
        ("Nope", {"mode": "http_500"}, 404),
        ("Lms", {"mode": "explode"}, 400),
        ("Lms", {"mode": "delay", "delay_seconds": 0}, 400),
        ("Lms", {"mode": "http_500", "count": 0}, 400),
        ("Lms", {"mode": "http_500", "count": "2"}, 400),
    ],
)
def test_a_bad_fault_is_refused(api, client_id, body, status):
    make_client(api)
    assert api.put(url(api, f"/faults/{client_id}"), json=body).status_code == status
    assert api.get(url(api, "/faults")).json() == []


# --- The request journal ------------------------------------------------------------------------


def test_the_journal_filters_by_client_path_and_time(api, server):
    make_client(api)
    make_client(api, client_id="Other", redirect_url="https://other.example/sso")
    for client_id in ("Lms", "Other"):
        refresh = api.post(
            url(api, "/handoffs"), json={"username": "jsmith", "client_id": client_id}
        ).json()["refresh_token"]
        token = requests.post(
            f"{server.url}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": client_id,
                "client_secret": "lms-secret-1-Zq7Lm3Vx9Rt2Wp8Kc5H",
            },
        ).json()["access_token"]
        if client_id == "Lms":
            time.sleep(0.01)
            middle = datetime.now(UTC)
            requests.get(
                f"{server.url}/api/Party/23179", headers={"Authorization": f"Bearer {token}"}
            )

    def journal(**params):
        response = api.get(url(api, "/journal"), params=params)
        assert response.status_code == 200, response.text
        return [(e["action"], e["client_id"], e["path"]) for e in response.json()]

    lms = journal(client_id="Lms")
    assert lms == [
        ("client_application.create", "Lms", ""),
        ("sso.handoff", "Lms", ""),
        ("oauth.token", "Lms", "/token"),
        ("api.call", "Lms", "/api/Party/23179"),
    ]
    assert journal(path="/token") == [
        ("oauth.token", "Lms", "/token"),
        ("oauth.token", "Other", "/token"),
    ]
    assert journal(path="/api/party") == [("api.call", "Lms", "/api/Party/23179")]
    since = journal(since=middle.isoformat())
    assert ("api.call", "Lms", "/api/Party/23179") in since
    assert ("oauth.token", "Lms", "/token") not in since
    assert journal(client_id="Lms", limit="1") == [("api.call", "Lms", "/api/Party/23179")]
    entry = api.get(url(api, "/journal"), params={"path": "/api"}).json()[0]
    assert entry["method"] == "GET" and entry["outcome"] == "success"


@pytest.mark.parametrize("params", [{"since": "yesterday"}, {"limit": "0"}, {"limit": "x"}])
def test_bad_journal_filters_are_refused(api, params):
    assert api.get(url(api, "/journal"), params=params).status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/reset"),
        ("GET", "/scenario"),
        ("POST", "/scenario"),
        ("POST", "/contacts"),
        ("POST", "/clients"),
        ("POST", "/handoffs"),
        ("GET", "/clock"),
        ("POST", "/clock"),
        ("GET", "/faults"),
        ("PUT", "/faults/SampleApp"),
        ("DELETE", "/faults/SampleApp"),
        ("GET", "/journal"),
        ("GET", "/openapi.json"),
    ],
)
def test_every_operation_is_absent_while_off_and_guarded_while_on(client, server, method, path):
    assert client.open(f"/qa/api{path}", method=method, headers=AUTH).status_code == 404
    response = requests.request(method, f"{server.url}/qa/api{path}")
    assert response.status_code == 401


def test_a_scenario_larger_than_a_form_loads_for_an_admin_only(api, server, admin_app):
    people = [
        {
            "username": f"m{i}",
            "first_name": "Member",
            "last_name": f"Number {i}",
            "email": f"member.number.{i}@example.org",
            "organization": "A" * 100,
        }
        for i in range(600)
    ]
    document = {"version": 1, "contacts": people}
    assert len(json.dumps(document)) > admin_app.config["MAX_CONTENT_LENGTH"]
    anonymous = requests.post(f"{server.url}/qa/api/scenario", json=document)
    assert anonymous.status_code == 401
    response = api.post(url(api, "/scenario"), json=document)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["loaded"] == {"contacts": 600}


def test_the_openapi_document_names_every_operation(api, admin_app):
    document = api.get(url(api, "/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/qa/api")), method)
        for rule in admin_app.url_map.iter_rules()
        if rule.endpoint.startswith("admin_api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served
