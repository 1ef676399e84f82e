"""POST /token: the refresh and password grants, their refusals, rotation, audit, concurrency."""

import base64
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select

from imis_mock.database import writing
from imis_mock.extensions import db
from imis_mock.models import AccessToken, AuditEvent, ClientApplication, RefreshToken
from imis_mock.services import accounts, audit, clients, clock, secrets, tokens
from tests.support import databases
from tests.support.data import MEMBER_PASSWORD, create_client_application
from tests.support.oauth import OTHER_SECRET, SECRET, add_test_routes, mint
from tests.support.servers import LiveServer

OWIN_FIELDS = [
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "userName",
    "as:client_id",
    ".issued",
    ".expires",
]
RFC1123 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")


@pytest.fixture
def oauth_app(app):
    create_client_application(app, "MyApp", SECRET, lifetime=30)
    create_client_application(
        app, "OtherApp", OTHER_SECRET, redirect_url="https://other.example.net/sso"
    )
    return add_test_routes(app)


@pytest.fixture
def client(oauth_app):
    return oauth_app.test_client()


def refresh_form(raw: str, client_id: str = "MyApp", secret: str = SECRET, **extra) -> dict:
    form = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": secret,
        "refresh_token": raw,
    }
    form.update(extra)
    return {k: v for k, v in form.items() if v is not None}


def basic(client_id: str, secret: str) -> dict:
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def assert_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == error
    assert set(body) <= {"error", "error_description"}
    return body


def probe(client, access_token: str) -> int:
    return client.get(
        "/api/_probe", headers={"Authorization": f"Bearer {access_token}"}
    ).status_code


# --- Success ---------------------------------------------------------------------------------


def test_refresh_grant_answers_as_owin(oauth_app, client):
    raw = mint(oauth_app)
    response = client.post("/token", data=refresh_form(raw))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = json.loads(response.get_data(as_text=True))
    assert list(body) == OWIN_FIELDS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1199
    assert body["userName"] == "jsmith"
    assert body["as:client_id"] == "MyApp"
    assert RFC1123.match(body[".issued"]) and RFC1123.match(body[".expires"])
    fmt = "%a, %d %b %Y %H:%M:%S GMT"
    issued = datetime.strptime(body[".issued"], fmt)
    assert datetime.strptime(body[".expires"], fmt) - issued == timedelta(minutes=20)
    assert body["refresh_token"] != raw
    for token in (body["access_token"], body["refresh_token"]):
        assert len(token) >= 43 and "." not in token  # 256 random bits, opaque, not a JWT
    assert probe(client, body["access_token"]) == 200


def test_capitalised_path_and_letter_case_of_names(oauth_app, client):
    raw = mint(oauth_app)
    form = {
        "Grant_type": "refresh_token",
        "Client_Id": "MyApp",
        "CLIENT_SECRET": SECRET,
        "Refresh_Token": raw,
    }
    assert client.post("/Token", data=form).status_code == 200
    password = {"Grant_type": "password", "Username": "jsmith", "Password": MEMBER_PASSWORD}
    assert client.post("/Token", data=password).status_code == 200


def test_client_id_matches_in_any_letter_case(oauth_app, client):
    raw = mint(oauth_app)
    response = client.post("/token", data=refresh_form(raw, client_id="myapp"))
    assert response.get_json()["as:client_id"] == "MyApp"


def test_unknown_fields_are_ignored(oauth_app, client):
    raw = mint(oauth_app)
    extra = {"code": "abc", "redirect_uri": "https://evil.example", "scope": "openid everything"}
    assert client.post("/token", data=refresh_form(raw, **extra)).status_code == 200


def test_guest_token_says_guest(oauth_app, client):
    raw = mint(oauth_app, "GUEST")
    body = client.post("/token", data=refresh_form(raw)).get_json()
    assert body["userName"] == "GUEST"
    assert probe(client, body["access_token"]) == 200


# --- Client authentication -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        ("MyApp", "wrong"),  # wrong secret
        ("NoSuchApp", SECRET),  # unknown client
        ("MyApp", OTHER_SECRET),  # another client's secret
        ("MyApp", SECRET + " "),  # no normalisation
        ("MyApp", SECRET.upper()),
    ],
)
def test_bad_client_credentials_in_body(oauth_app, client, client_id, secret):
    raw = mint(oauth_app)
    response = client.post("/token", data=refresh_form(raw, client_id, secret))
    body = assert_error(response, 400, "invalid_client")
    assert body["error_description"] == "The client credentials are invalid."
    assert "WWW-Authenticate" not in response.headers
    # The refused request did not use up or spoil the token.
    assert client.post("/token", data=refresh_form(raw)).status_code == 200


@pytest.mark.parametrize(("client_id", "secret"), [("MyApp", "wrong"), ("NoSuchApp", SECRET)])
def test_bad_client_credentials_in_basic(oauth_app, client, client_id, secret):
    raw = mint(oauth_app)
    form = {"grant_type": "refresh_token", "refresh_token": raw}
    response = client.post("/token", data=form, headers=basic(client_id, secret))
    assert_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_no_client_credentials_for_refresh_grant(oauth_app, client):
    raw = mint(oauth_app)
    response = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": raw})
    assert_error(response, 400, "invalid_client")


def test_basic_with_url_encoded_client_id_containing_colon(oauth_app, client):
    create_client_application(oauth_app, "Team:App %1", "p@ss:w%rd")
    raw = mint(oauth_app, client_id="Team:App %1")
    form = {"grant_type": "refresh_token", "refresh_token": raw}
    response = client.post("/token", data=form, headers=basic("Team:App %1", "p@ss:w%rd"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["as:client_id"] == "Team:App %1"


def test_both_authentication_methods_at_once(oauth_app, client):
    raw = mint(oauth_app)
    response = client.post("/token", data=refresh_form(raw), headers=basic("MyApp", SECRET))
    assert_error(response, 400, "invalid_request")


# --- Malformed requests ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"grant_type": None},
        {"grant_type": ""},
        {"refresh_token": None},
        {"refresh_token": ""},
    ],
)
def test_missing_or_empty_parameters(oauth_app, client, change):
    raw = mint(oauth_app)
    assert_error(client.post("/token", data=refresh_form(raw, **change)), 400, "invalid_request")


@pytest.mark.parametrize(
    "repeated",
    [
        [("refresh_token", "x")],
        [("client_id", "OtherApp")],
        [("Grant_Type", "refresh_token")],  # the same name in another letter case
    ],
)
def test_repeated_parameters(oauth_app, client, repeated):
    raw = mint(oauth_app)
    pairs = list(refresh_form(raw).items()) + repeated
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    response = client.post("/token", data=body, content_type="application/x-www-form-urlencoded")
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "grant_type", ["client_credentials", "authorization_code", "REFRESH_TOKEN"]
)
def test_unsupported_grant(client, grant_type):
    assert_error(
        client.post("/token", data={"grant_type": grant_type}), 400, "unsupported_grant_type"
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/token", "/Token"])
def test_other_methods_are_405(client, method, path):
    response = client.open(path, method=method, query_string={"grant_type": "password"})
    assert_error(response, 405, "invalid_request")
    assert response.headers["Allow"] == "POST"


def test_json_body_is_refused(oauth_app, client):
    raw = mint(oauth_app)
    assert_error(client.post("/token", json=refresh_form(raw)), 400, "invalid_request")


@pytest.mark.parametrize("size", [20 * 1024, 10 * 1024 * 1024])
def test_oversized_body_is_refused(client, size):
    body = "grant_type=password&username=jsmith&password=" + "x" * size
    response = client.post("/token", data=body, content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "invalid_request")


def test_credentials_in_query_string_are_refused(oauth_app, client):
    raw = mint(oauth_app)
    response = client.post(
        "/token",
        query_string={"refresh_token": raw},
        data={"grant_type": "refresh_token", "client_id": "MyApp", "client_secret": SECRET},
    )
    assert_error(response, 400, "invalid_request")


# --- Refresh tokens that must be refused -----------------------------------------------------


@pytest.mark.parametrize("mangle", [lambda t: "garbage", lambda t: t[:-1], lambda t: t[::-1]])
def test_unknown_refresh_token(oauth_app, client, mangle):
    raw = mint(oauth_app)
    assert_error(client.post("/token", data=refresh_form(mangle(raw))), 400, "invalid_grant")


def test_another_clients_token(oauth_app, client):
    raw = mint(oauth_app, client_id="MyApp")
    response = client.post("/token", data=refresh_form(raw, "OtherApp", OTHER_SECRET))
    assert_error(response, 400, "invalid_grant")
    assert client.post("/token", data=refresh_form(raw)).status_code == 200


def test_expired_token_uses_the_client_lifetime(oauth_app, client):
    create_client_application(oauth_app, "ShortApp", "short-secret-Zq7Lm3Vx9Rt2Wp8Kc5H", lifetime=5)
    raw = mint(oauth_app, client_id="ShortApp")
    form = refresh_form(raw, "ShortApp", "short-secret-Zq7Lm3Vx9Rt2Wp8Kc5H")
    with oauth_app.test_request_context():
        stored = tokens.find_refresh_token(raw)
        issued_at, expires_at = stored.issued_at, stored.expires_at
    assert expires_at - issued_at == timedelta(minutes=5)
    # The clock set from the stored expiry just before each request, not advanced from the
    # mint: on a loaded machine more than a second may pass between the mint and the request.
    move_clock_to(oauth_app, expires_at - timedelta(seconds=1))  # one second before expiry
    assert client.post("/token", data=form).status_code == 200
    move_clock_to(oauth_app, expires_at + timedelta(seconds=1))  # one second after
    assert_error(client.post("/token", data=form), 400, "invalid_grant")


def move_clock_to(app, moment: datetime) -> None:
    """Set the app's clock so that it reads `moment` now."""
    with app.test_request_context():
        clock.set_offset(moment - datetime.now(UTC))


def test_disabled_user(oauth_app, client):
    raw = mint(oauth_app)
    access = client.post("/token", data=refresh_form(raw)).get_json()["access_token"]
    with oauth_app.app_context():
        accounts.get_user("jsmith").is_disabled = True
        db.session.commit()
    assert_error(client.post("/token", data=refresh_form(raw)), 400, "invalid_grant")
    assert probe(client, access) == 401


def test_deleted_client(oauth_app, client):
    raw = mint(oauth_app)
    access = client.post("/token", data=refresh_form(raw)).get_json()["access_token"]
    with oauth_app.app_context():
        # In a write transaction from its start: the audit writer may commit meanwhile.
        with writing():
            db.session.delete(clients.find_client("MyApp"))
        assert db.session.scalar(select(RefreshToken)) is None
    assert_error(client.post("/token", data=refresh_form(raw)), 400, "invalid_client")
    assert probe(client, access) == 401


def test_replaced_secret(oauth_app, client):
    raw = mint(oauth_app)
    access = client.post("/token", data=refresh_form(raw)).get_json()["access_token"]
    with oauth_app.app_context(), writing():
        # What the Client applications screen does when staff replace the secret.
        application = clients.find_client("MyApp")
        application.secret_hash = secrets.client_secret_hash("Replaced-secret-3-Zq7Lm3Vx9Rt2Wp")
        tokens.revoke_client_access_tokens(application)
    assert_error(client.post("/token", data=refresh_form(raw)), 400, "invalid_client")
    assert probe(client, access) == 401
    assert (
        client.post(
            "/token",
            data=refresh_form(raw, secret="Replaced-secret-3-Zq7Lm3Vx9Rt2Wp"),
        ).status_code
        == 200
    )


# --- Rotation --------------------------------------------------------------------------------


def test_default_rotation_keeps_the_old_token(oauth_app, client):
    raw = mint(oauth_app)
    first = client.post("/token", data=refresh_form(raw)).get_json()
    second = client.post("/token", data=refresh_form(raw)).get_json()
    assert first["access_token"] != second["access_token"]
    assert client.post("/token", data=refresh_form(first["refresh_token"])).status_code == 200
    with oauth_app.app_context():
        old = tokens.find_refresh_token(raw)
        new = tokens.find_refresh_token(first["refresh_token"])
        assert new.family == old.family
        assert new.expires_at == old.expires_at  # rotation does not extend the hand-off


def test_strict_rotation_refuses_reuse_and_revokes_the_family(oauth_app, client):
    oauth_app.config["STRICT_REFRESH_TOKEN_ROTATION"] = True
    raw = mint(oauth_app)
    first = client.post("/token", data=refresh_form(raw)).get_json()
    assert probe(client, first["access_token"]) == 200
    body = assert_error(client.post("/token", data=refresh_form(raw)), 400, "invalid_grant")
    assert "already been used" in body["error_description"]
    # The reuse revoked the whole family: the new refresh token and its access token.
    assert_error(
        client.post("/token", data=refresh_form(first["refresh_token"])), 400, "invalid_grant"
    )
    assert probe(client, first["access_token"]) == 401


def test_strict_rotation_new_token_works_once(oauth_app, client):
    oauth_app.config["STRICT_REFRESH_TOKEN_ROTATION"] = True
    token = mint(oauth_app)
    for _ in range(3):
        response = client.post("/token", data=refresh_form(token))
        assert response.status_code == 200
        token = response.get_json()["refresh_token"]


@pytest.mark.database("postgresql", reason="only a database server drops connections")
@pytest.mark.parametrize("when", ["between requests", "between the read and the write"])
def test_refresh_after_the_server_dropped_every_connection(oauth_app, client, monkeypatch, when):
    """No pre-ping on the redemption's connections: a dropped one is replaced and the redemption
    written once (strict rotation would refuse a second claim of the token as reuse)."""
    oauth_app.config["STRICT_REFRESH_TOKEN_ROTATION"] = True
    instance = Path(oauth_app.instance_path)
    token = client.post("/token", data=refresh_form(mint(oauth_app))).get_json()["refresh_token"]
    if when == "between requests":
        databases.terminate_connections(instance)
    else:
        real = tokens.write_grouped

        def dropped_first(work):
            databases.terminate_connections(instance)
            return real(work)

        monkeypatch.setattr(tokens, "write_grouped", dropped_first)
    response = client.post("/token", data=refresh_form(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    monkeypatch.undo()
    body = response.get_json()
    assert probe(client, body["access_token"]) == 200
    assert client.post("/token", data=refresh_form(body["refresh_token"])).status_code == 200


# --- Password grant --------------------------------------------------------------------------


def test_password_grant_without_client(client):
    form = {"grant_type": "password", "username": "JSMITH", "password": MEMBER_PASSWORD}
    response = client.post("/token", data=form)
    assert response.status_code == 200
    body = json.loads(response.get_data(as_text=True))
    assert list(body) == [
        "access_token",
        "token_type",
        "expires_in",
        "userName",
        ".issued",
        ".expires",
    ]
    assert body["userName"] == "jsmith"
    assert probe(client, body["access_token"]) == 200


def test_password_grant_with_client(oauth_app, client):
    form = {"grant_type": "password", "username": "jsmith", "password": MEMBER_PASSWORD}
    body = client.post("/token", data=form, headers=basic("MyApp", SECRET)).get_json()
    assert list(body) == OWIN_FIELDS
    assert client.post("/token", data=refresh_form(body["refresh_token"])).status_code == 200
    bad = client.post("/token", data=form, headers=basic("MyApp", "wrong"))
    assert_error(bad, 401, "invalid_client")


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("jsmith", "wrong"),
        ("nobody", MEMBER_PASSWORD),
        ("GUEST", "x"),
        ("jsmith", MEMBER_PASSWORD + " "),
    ],
)
def test_password_grant_refusals_look_alike(client, username, password):
    form = {"grant_type": "password", "username": username, "password": password}
    body = assert_error(client.post("/token", data=form), 400, "invalid_grant")
    assert body["error_description"] == "The user name or password is incorrect."


def test_password_grant_disabled_user(oauth_app, client):
    with oauth_app.app_context():
        accounts.get_user("jsmith").is_disabled = True
        db.session.commit()
    form = {"grant_type": "password", "username": "jsmith", "password": MEMBER_PASSWORD}
    assert_error(client.post("/token", data=form), 400, "invalid_grant")


@pytest.mark.parametrize("missing", ["username", "password"])
def test_password_grant_missing_fields(client, missing):
    form = {"grant_type": "password", "username": "jsmith", "password": MEMBER_PASSWORD}
    form[missing] = ""
    assert_error(client.post("/token", data=form), 400, "invalid_request")


# --- Audit and storage -----------------------------------------------------------------------


def test_audit_and_storage_hold_no_secret_or_token(oauth_app, client):
    raw = mint(oauth_app)
    ok = client.post("/token", data=refresh_form(raw)).get_json()
    client.post("/token", data=refresh_form(raw, secret="wrong-secret-zz"))
    client.post(
        "/token", data={"grant_type": "password", "username": "jsmith", "password": "pw-x1"}
    )
    audit.flush()  # successes are written behind, so order by the time of the request
    with oauth_app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "oauth.token")
            .order_by(AuditEvent.at, AuditEvent.id)
        ).all()
        summary = [(e.outcome, e.client_id, e.username, e.error_code) for e in events]
        assert summary == [
            ("success", "MyApp", "jsmith", ""),
            ("failure", "MyApp", "", "invalid_client"),
            ("failure", "", "jsmith", "invalid_grant"),
        ]
        assert json.loads(events[0].detail)["grant_type"] == "refresh_token"
        stored = " ".join(
            [str(vars(e)) for e in db.session.scalars(select(AuditEvent))]
            + [t.token_hash for t in db.session.scalars(select(RefreshToken))]
            + [t.token_hash for t in db.session.scalars(select(AccessToken))]
            + [c.secret_hash for c in db.session.scalars(select(ClientApplication))]
        )
    for plain in (raw, ok["access_token"], ok["refresh_token"], SECRET, "wrong-secret-zz", "pw-x1"):
        assert plain not in stored


# --- Over real HTTP --------------------------------------------------------------------------


def redeem_at_once(url: str, form: dict, n: int = 20) -> list[requests.Response]:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = requests.post(f"{url}/token", data=form)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("strict", [False, True])
def test_twenty_threads_redeem_one_token(oauth_app, strict):
    oauth_app.config["STRICT_REFRESH_TOKEN_ROTATION"] = strict
    raw = mint(oauth_app)
    with LiveServer(oauth_app) as server:
        results = redeem_at_once(server.url, refresh_form(raw))
    assert all(r.status_code in (200, 400) for r in results)
    assert all(r.headers["Cache-Control"] == "no-store" for r in results)
    bodies = [r.json() for r in results]
    ok = [b for b in bodies if "access_token" in b]
    refused = [b for b in bodies if "error" in b]
    if strict:
        assert len(ok) == 1 and len(refused) == 19
        assert {b["error"] for b in refused} == {"invalid_grant"}
    else:
        assert len(ok) == 20
        assert len({b["access_token"] for b in ok}) == 20
    audit.flush()
    with oauth_app.app_context():
        issued = db.session.scalars(select(AccessToken)).all()
        assert len(issued) == len(ok)  # nothing lost, nothing extra
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "oauth.token"))
        assert len(events.all()) == 20
