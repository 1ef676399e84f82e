"""What the QA console's Expire now, Revoke and Clock do, as /token and the REST API see them.

The console's forms (and the CLI's twins) act on the database; a third-party application only
notices through /token (invalid_grant) and the API (401), over real HTTP.
"""

import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import requests
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import User
from imis_mock.services import qa, tokens
from imis_mock.services.clients import find_client
from tests.support.data import create_client_application
from tests.support.oauth import SECRET, mint


@pytest.fixture
def qa_app(app):
    create_client_application(app, "MyApp", SECRET, lifetime=30)
    return app


def redeem(url: str, refresh_token: str) -> requests.Response:
    data = {
        "grant_type": "refresh_token",
        "client_id": "MyApp",
        "client_secret": SECRET,
        "refresh_token": refresh_token,
    }
    return requests.post(f"{url}/token", data=data, timeout=30)


def call_api(url: str, access_token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(
        f"{url}/api/User", params={"UserName": "jsmith"}, headers=headers, timeout=30
    )


def token_id(app, kind: str, raw: str) -> int:
    find = tokens.find_refresh_token if kind == "refresh" else tokens.find_access_token
    with app.app_context():
        return find(raw).id


def act(how: str, action: str, kind: str, token: int, staff_client, runner) -> None:
    """Expire or revoke one token from the QA console's Tokens page, or all of jsmith's by CLI."""
    if how == "console":
        response = staff_client.post(f"/staff/QA/Tokens/{kind}/{token}/{action}")
        assert response.status_code == 303
    else:
        result = runner.invoke(args=["tokens", action, "--user", "jsmith", "--kind", kind])
        assert result.exit_code == 0, result.output


def assert_invalid_grant(response: requests.Response) -> None:
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["Cache-Control"] == "no-store"


def assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("how", ["console", "cli"])
@pytest.mark.parametrize("action", ["expire", "revoke"])
def test_refresh_token_expired_or_revoked_gives_invalid_grant(
    qa_app, live_server, staff_client, runner, how, action
):
    raw = mint(qa_app)
    other = mint(qa_app, "rjones")
    act(how, action, "refresh", token_id(qa_app, "refresh", raw), staff_client, runner)
    assert_invalid_grant(redeem(live_server.url, raw))
    assert redeem(live_server.url, other).status_code == 200  # only that token was touched


@pytest.mark.parametrize("how", ["console", "cli"])
@pytest.mark.parametrize("action", ["expire", "revoke"])
def test_access_token_expired_or_revoked_gives_401(
    qa_app, live_server, staff_client, runner, how, action
):
    raw = mint(qa_app)
    access = redeem(live_server.url, raw).json()["access_token"]
    assert call_api(live_server.url, access).status_code == 200
    act(how, action, "access", token_id(qa_app, "access", access), staff_client, runner)
    assert_invalid_token(call_api(live_server.url, access))
    # The refresh token was not touched: the application renews and carries on.
    renewed = redeem(live_server.url, raw).json()["access_token"]
    assert call_api(live_server.url, renewed).status_code == 200


def move_clock(staff_client, minutes: int) -> None:
    response = staff_client.post("/staff/QA/Clock", data={"minutes": str(minutes)})
    assert response.status_code == 303


def test_the_clock_as_token_and_the_api_see_it(qa_app, live_server, staff_client):
    raw = mint(qa_app)  # the client's refresh tokens live 30 minutes
    body = redeem(live_server.url, raw).json()
    access, rotated = body["access_token"], body["refresh_token"]

    move_clock(staff_client, 19)
    assert call_api(live_server.url, access).status_code == 200
    move_clock(staff_client, 2)  # 21 minutes: past the access token's 20
    assert_invalid_token(call_api(live_server.url, access))

    move_clock(staff_client, 8)  # 29 minutes: the refresh tokens still work
    body = redeem(live_server.url, rotated).json()
    issued = parsedate_to_datetime(body[".issued"])
    assert abs(issued - (datetime.now(UTC) + timedelta(minutes=29))) < timedelta(minutes=2)
    assert parsedate_to_datetime(body[".expires"]) - issued == timedelta(minutes=20)
    assert call_api(live_server.url, body["access_token"]).status_code == 200

    move_clock(staff_client, 2)  # 31 minutes: the hand-off's lifetime is over, for every copy
    for token in (raw, rotated, body["refresh_token"]):
        assert_invalid_grant(redeem(live_server.url, token))
    assert call_api(live_server.url, body["access_token"]).status_code == 200  # its own 20 min

    # Back to real time: a token handed off now starts a full lifetime of its own.
    assert staff_client.post("/staff/QA/Clock/reset").status_code == 303
    assert redeem(live_server.url, mint(qa_app)).status_code == 200


@pytest.mark.parametrize("how", ["console", "cli"])
@pytest.mark.parametrize("action", ["expire", "revoke"])
def test_putting_the_clock_back_does_not_revive_a_token(
    qa_app, live_server, staff_client, runner, how, action
):
    raw = mint(qa_app)
    access = redeem(live_server.url, raw).json()["access_token"]
    move_clock(staff_client, 10)  # both tokens still live
    for kind, value in (("refresh", raw), ("access", access)):
        act(how, action, kind, token_id(qa_app, kind, value), staff_client, runner)
    assert staff_client.post("/staff/QA/Clock/reset").status_code == 303
    assert_invalid_grant(redeem(live_server.url, raw))
    assert_invalid_token(call_api(live_server.url, access))


@pytest.mark.database("sqlite", reason="SQLite's write lock and its read snapshots")
@pytest.mark.parametrize(
    "change",
    [
        lambda: qa.change_tokens("revoke", username="jsmith", actor="cli"),
        lambda: qa.simulate_sso("jsmith", find_client("MyApp"), actor="cli"),
    ],
    ids=["tokens", "simulate"],
)
def test_a_command_that_read_first_is_not_refused_when_another_worker_wrote(qa_app, change):
    """A CLI command reads (the user, the client) before it writes. Another worker's commit in
    between must not make SQLite refuse the write at once with "database is locked"."""
    mint(qa_app)
    with qa_app.app_context():
        # The command's first read through the session begins its read snapshot.
        assert db.session.scalar(select(User.id).where(User.username == "jsmith"))
        other = sqlite3.connect(db.engine.url.database)
        other.execute("UPDATE users SET username = 'rjones2' WHERE username = 'rjones'")
        other.commit()
        other.close()
        change()
        assert tokens.find_refresh_token(mint(qa_app)) is not None  # the database still works
