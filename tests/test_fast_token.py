"""The refresh grant answered before Flask (oauth/fast_token.py): the same answer as Flask's, and
everything it does not answer exactly so goes to Flask."""

import json
import sqlite3
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import AuditEvent
from imis_mock.oauth import fast_token
from imis_mock.services import audit, fast_refresh
from tests.conftest import create_client_application, make_app
from tests.oauth_helpers import SECRET, mint

pytestmark = pytest.mark.database("sqlite", reason="the fast path serves SQLite only")

TOKEN_FIELDS = ["access_token", "token_type", "expires_in", "refresh_token", "userName"]
TOKEN_FIELDS += ["as:client_id", ".issued", ".expires"]


@pytest.fixture
def oauth_app(app):
    create_client_application(app, "MyApp", SECRET, lifetime=30)
    return app


def form(raw: str, **changes) -> dict:
    fields = {
        "grant_type": "refresh_token",
        "client_id": "MyApp",
        "client_secret": SECRET,
        "refresh_token": raw,
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def post(app, data, *, flask_only: bool = False, **kwargs):
    """POST /token through the middleware, or straight to Flask's own WSGI app."""
    client = app.test_client()
    if flask_only:
        original = app.wsgi_app
        app.wsgi_app = original.wsgi_app
        try:
            return client.post("/token", data=data, **kwargs)
        finally:
            app.wsgi_app = original
    return client.post("/token", data=data, **kwargs)


def answered_by_middleware(monkeypatch) -> list:
    """Record which requests the middleware answered itself."""
    answered = []
    real = fast_token.FastToken._answer

    def spy(self, environ):
        result = real(self, environ)
        answered.append(result is not None)
        return result

    monkeypatch.setattr(fast_token.FastToken, "_answer", spy)
    return answered


@pytest.mark.parametrize("expose_pid", [False, True])
def test_the_answer_is_flasks_header_by_header(instance, monkeypatch, expose_pid):
    app = make_app(instance, monkeypatch, EXPOSE_WORKER_PID=expose_pid)
    create_client_application(app, "MyApp", SECRET, lifetime=30)
    answered = answered_by_middleware(monkeypatch)
    fast = post(app, form(mint(app)))
    slow = post(app, form(mint(app)), flask_only=True)
    assert answered == [True]  # the Flask-only request never reached the middleware
    assert fast.status == slow.status == "200 OK"
    names = [name for name, _ in fast.headers]
    assert names == [name for name, _ in slow.headers]
    for name, value in slow.headers:
        if name != "Content-Length":
            assert fast.headers[name] == value, name
    fast_body, slow_body = json.loads(fast.data), json.loads(slow.data)
    assert list(fast_body) == list(slow_body) == TOKEN_FIELDS
    assert fast.data.startswith(b'{"access_token":"')  # compact, in OWIN's order
    same = ["token_type", "expires_in", "userName", "as:client_id"]
    assert [fast_body[key] for key in same] == [slow_body[key] for key in same]


def test_the_tokens_work_and_the_request_is_audited_with_its_address(oauth_app, monkeypatch):
    answered = answered_by_middleware(monkeypatch)
    response = post(oauth_app, form(mint(oauth_app)), environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert answered == [True] and response.status_code == 200
    body = response.get_json()
    again = post(oauth_app, form(body["refresh_token"]))
    assert again.status_code == 200
    probe = oauth_app.test_client().get(
        "/api/Party/23179", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert probe.status_code == 200
    audit.flush()
    with oauth_app.app_context():
        event = db.session.scalars(select(AuditEvent).filter_by(action="oauth.token")).first()
        assert (event.outcome, event.client_id, event.ip) == ("success", "MyApp", "192.0.2.7")


@pytest.mark.parametrize(
    ("request_kwargs", "status", "error"),
    [
        ({"query_string": "client_secret=x"}, 400, "invalid_request"),
        ({"headers": {"Authorization": "Basic TXlBcHA6TXlBcHAtc2VjcmV0LTE="}}, 400, None),
        ({"content_type": "application/json"}, 400, "invalid_request"),
    ],
    ids=["query string", "Basic authentication", "JSON body"],
)
def test_requests_it_does_not_answer_go_to_flask(
    oauth_app, monkeypatch, request_kwargs, status, error
):
    answered = answered_by_middleware(monkeypatch)
    raw = mint(oauth_app)
    data = form(raw)
    if "content_type" in request_kwargs:
        data = json.dumps(data)
    response = post(oauth_app, data, **request_kwargs)
    assert answered in ([], [False])
    assert response.status_code == status
    if error:
        assert response.get_json()["error"] == error


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_secret": "wrong-secret"}, 400, "invalid_client"),
        ({"client_id": "Nobody"}, 400, "invalid_client"),
        ({"refresh_token": "not-a-token"}, 400, "invalid_grant"),
        ({"refresh_token": ""}, 400, "invalid_request"),
        ({"grant_type": "password"}, 400, "invalid_request"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ],
)
def test_refusals_are_flasks_with_the_body_replayed(oauth_app, monkeypatch, changes, status, error):
    answered = answered_by_middleware(monkeypatch)
    response = post(oauth_app, form(mint(oauth_app), **changes))
    assert answered == [False]  # looked at, then handed to Flask, which read the same body
    assert response.status_code == status
    assert response.get_json()["error"] == error


def test_a_repeated_parameter_goes_to_flask(oauth_app, monkeypatch):
    answered = answered_by_middleware(monkeypatch)
    raw = mint(oauth_app)
    body = urlencode([*form(raw).items(), ("Client_Secret", SECRET)])
    response = oauth_app.test_client().post(
        "/token", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert answered == [False]
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_an_oversized_body_is_not_read_and_flask_refuses_it(oauth_app, monkeypatch):
    answered = answered_by_middleware(monkeypatch)
    response = post(oauth_app, form(mint(oauth_app), padding="x" * 20_000))
    assert answered == [False]
    assert response.status_code == 413


def test_letter_case_of_names_is_ignored_as_flask_does(oauth_app, monkeypatch):
    answered = answered_by_middleware(monkeypatch)
    raw = mint(oauth_app)
    data = {"Grant_type": "refresh_token", "Client_ID": "MyApp", "CLIENT_SECRET": SECRET}
    response = post(oauth_app, {**data, "Refresh_Token": raw, "scope": "ignored"})
    assert answered == [True] and response.status_code == 200


def test_a_database_error_goes_to_flask(oauth_app, monkeypatch):
    answered = answered_by_middleware(monkeypatch)

    real_redeem, calls = fast_refresh.redeem, []

    def locked_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        return real_redeem(*args, **kwargs)

    monkeypatch.setattr(fast_refresh, "redeem", locked_once)
    response = post(oauth_app, form(mint(oauth_app)))
    assert answered == [False] and len(calls) == 2  # the middleware's try, then Flask's
    assert response.status_code == 200
