"""POST /token's two paths (oauth/server.py): the middleware in front of Flask answers the refresh
grant's success exactly as Flask would; both reach the same rules (services/tokens.py), on every
database; the redemption's guarded write stops what changed since the token was read."""

import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from imis_mock.extensions import db
from imis_mock.models import AccessToken, AuditEvent, RefreshToken
from imis_mock.oauth.server import TokenFastPath
from imis_mock.services import audit, clock, tokens
from tests.support.apps import make_app
from tests.support.data import create_client_application
from tests.support.oauth import SECRET, mint

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


@pytest.fixture
def answered(monkeypatch) -> list:
    """Which requests the middleware answered itself (True) or handed to Flask (False)."""
    seen = []
    real = TokenFastPath.answer

    def spy(self, environ):
        result = real(self, environ)
        seen.append(result is not None)
        return result

    monkeypatch.setattr(TokenFastPath, "answer", spy)
    return seen


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# As served in tests, and behind TLS (HSTS, security.use_tls_settings).
SETTINGS = [{}, {"EXPOSE_WORKER_PID": True}, {"PREFERRED_URL_SCHEME": "https"}]


@pytest.mark.parametrize("settings", SETTINGS, ids=["plain", "worker-pid", "tls"])
def test_the_answer_is_flasks_header_by_header(instance, monkeypatch, settings, answered):
    app = make_app(instance, monkeypatch, **settings)
    create_client_application(app, "MyApp", SECRET, lifetime=30)
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


@pytest.mark.parametrize("settings", SETTINGS, ids=["plain", "worker-pid", "tls"])
def test_a_locked_out_address_gets_flasks_429_header_by_header(
    instance, monkeypatch, settings, answered
):
    """The password grant of an address that must wait: the middleware's 429 is Flask's."""
    app = make_app(instance, monkeypatch, ADDRESS_ANSWER_DELAY_SECONDS=0, **settings)
    for index in range(app.config["ADDRESS_MAX_FAILURES"]):
        guess = {"grant_type": "password", "username": f"guess{index}", "password": "wrong"}
        assert post(app, guess, flask_only=True).status_code == 400
    guess = {"grant_type": "password", "username": "jsmith", "password": "wrong"}
    fast = post(app, guess)
    slow = post(app, guess, flask_only=True)
    assert answered == [True]
    assert fast.status == slow.status == "429 TOO MANY REQUESTS"
    assert [name for name, _ in fast.headers] == [name for name, _ in slow.headers]
    for name, value in slow.headers:
        if name != "Content-Length":
            assert fast.headers[name] == value, name
    assert fast.get_json() == slow.get_json()


def stored(app, raw: str, body: dict) -> tuple:
    """What a redemption left in the database, without ids, hashes or times."""
    audit.flush()
    with app.app_context():
        old = tokens.find_refresh_token(raw)
        new = tokens.find_refresh_token(body["refresh_token"])
        access = db.session.scalars(
            select(AccessToken).where(AccessToken.refresh_token_id == new.id)
        ).one()
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        return (
            (new.family == old.family, new.expires_at == old.expires_at, old.used_at is not None),
            (new.source, access.grant_type, access.user_id == old.user_id),
            (access.expires_at - access.issued_at, access.revoked_at),
            (event.action, event.outcome, event.actor, event.client_id, event.username),
            (event.error_code, event.ip, sorted(json.loads(event.detail))),
        )


def test_both_paths_store_alike(oauth_app, answered):
    results = []
    for flask_only in (False, True):
        raw = mint(oauth_app)
        response = post(oauth_app, form(raw), flask_only=flask_only)
        assert response.status_code == 200
        results.append(stored(oauth_app, raw, response.get_json()))
    assert answered == [True]
    assert results[0] == results[1]
    assert results[0][1] == ("refresh", "refresh_token", True)


def test_the_tokens_work_and_the_request_is_audited_with_its_address(oauth_app, answered):
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


def test_the_fast_path_follows_the_shared_clock(oauth_app, answered):
    raw = mint(oauth_app)
    with oauth_app.test_request_context():
        clock.advance(10)
    body = post(oauth_app, form(raw)).get_json()
    assert answered == [True]
    issued = datetime.strptime(body[".issued"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert issued > datetime.now(UTC) + timedelta(minutes=9)
    with oauth_app.app_context():
        new = db.session.scalars(select(RefreshToken).where(RefreshToken.source == "refresh"))
        assert new.one().issued_at.replace(microsecond=0) == issued


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
    oauth_app, answered, request_kwargs, status, error
):
    data = form(mint(oauth_app))
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
def test_refusals_are_flasks_with_the_body_replayed(oauth_app, answered, changes, status, error):
    response = post(oauth_app, form(mint(oauth_app), **changes))
    assert answered == [False]  # looked at, then handed to Flask, which read the same body
    assert response.status_code == status
    assert response.get_json()["error"] == error


def test_a_refused_token_changes_nothing_before_flask_answers(oauth_app, answered):
    raw = mint(oauth_app)
    with oauth_app.test_request_context():
        clock.advance(31)
    before = count(oauth_app, RefreshToken)
    response = post(oauth_app, form(raw))
    assert answered == [False]
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert count(oauth_app, RefreshToken) == before and count(oauth_app, AccessToken) == 0


def test_a_repeated_parameter_goes_to_flask(oauth_app, answered):
    body = urlencode([*form(mint(oauth_app)).items(), ("Client_Secret", SECRET)])
    response = oauth_app.test_client().post(
        "/token", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert answered == [False]
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_an_oversized_body_is_not_read_and_flask_refuses_it(oauth_app, answered):
    response = post(oauth_app, form(mint(oauth_app), padding="x" * 20_000))
    assert answered == [False]
    assert response.status_code == 413


def test_letter_case_of_names_is_ignored_as_flask_does(oauth_app, answered):
    raw = mint(oauth_app)
    data = {"Grant_type": "refresh_token", "Client_ID": "MyApp", "CLIENT_SECRET": SECRET}
    response = post(oauth_app, {**data, "Refresh_Token": raw, "scope": "ignored"})
    assert answered == [True] and response.status_code == 200


# The redemption itself (tokens.redeem), called as both paths call it: with the client and the
# token read before, and another request changing things in between.


def read(app, raw: str) -> tokens.RefreshRequest:
    with app.app_context():
        return tokens.read_refresh_request("MyApp", raw, "127.0.0.1")


def redeem(app, request: tokens.RefreshRequest) -> dict:
    with app.test_request_context():
        return tokens.redeem(request.token, request.client)


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE refresh_tokens SET revoked_at = issued_at",
        "UPDATE users SET is_disabled = TRUE",
        "UPDATE client_applications SET secret_hash = 'replaced'",
    ],
    ids=["token revoked", "user disabled", "secret replaced"],
)
def test_a_change_between_the_read_and_the_write_stops_the_write(oauth_app, change):
    request = read(oauth_app, mint(oauth_app))
    before = count(oauth_app, RefreshToken)
    with oauth_app.app_context():
        db.session.execute(text(change))
        db.session.commit()
    with pytest.raises(tokens.TokenError) as refused:
        redeem(oauth_app, request)
    assert refused.value.error == "invalid_grant"
    assert count(oauth_app, RefreshToken) == before
    assert count(oauth_app, AccessToken) == 0


def test_under_strict_rotation_a_token_read_twice_is_redeemed_once(oauth_app):
    oauth_app.config["STRICT_REFRESH_TOKEN_ROTATION"] = True
    raw = mint(oauth_app)
    first, second = read(oauth_app, raw), read(oauth_app, raw)
    body = redeem(oauth_app, first)
    with pytest.raises(tokens.TokenReused):
        redeem(oauth_app, second)
    with oauth_app.app_context():
        rotated = tokens.find_refresh_token(body["refresh_token"])
        assert rotated.revoked_at is not None  # reuse revoked the whole family
    assert count(oauth_app, AccessToken) == 1


def test_under_default_rotation_a_token_read_twice_is_redeemed_twice(oauth_app):
    raw = mint(oauth_app)
    first, second = read(oauth_app, raw), read(oauth_app, raw)
    assert first.token.used_at is None and second.token.used_at is None
    redeem(oauth_app, first)
    redeem(oauth_app, second)
    assert count(oauth_app, AccessToken) == 2
    with oauth_app.app_context():
        used = db.session.scalar(select(func.count()).where(RefreshToken.used_at.is_not(None)))
        assert used == 1  # only the presented token's first use is recorded


def test_a_failed_write_keeps_nothing(oauth_app):
    """The rotated refresh token is not kept without its access token."""
    request = read(oauth_app, mint(oauth_app))
    broken = tokens.RefreshRequest(
        request.client, request.token._replace(user_id=None), False, None
    )
    before = count(oauth_app, RefreshToken)
    with pytest.raises(IntegrityError):
        redeem(oauth_app, broken)  # the access token cannot be stored without its user
    assert count(oauth_app, RefreshToken) == before
    assert count(oauth_app, AccessToken) == 0


def test_concurrent_redemptions_all_succeed(oauth_app, answered):
    """Eight threads at once through the fast path: every one answered, nothing lost."""
    raws = [mint(oauth_app) for _ in range(8)]
    start = threading.Barrier(len(raws))
    results = []

    def redeem_one(raw):
        start.wait()
        results.append(oauth_app.test_client().post("/token", data=form(raw)).status_code)

    threads = [threading.Thread(target=redeem_one, args=(raw,)) for raw in raws]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * len(raws)
    assert answered == [True] * len(raws)
    assert count(oauth_app, AccessToken) == len(raws)


def test_the_schema_has_no_triggers_or_views(oauth_app):
    """The rules live in services/tokens.py, not in the database."""
    post(oauth_app, form(mint(oauth_app)))
    with oauth_app.app_context():
        if db.engine.dialect.name == "sqlite":
            found = db.session.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type IN ('trigger', 'view') "
                    "UNION SELECT name FROM sqlite_temp_master"
                )
            ).all()
        else:
            found = db.session.execute(
                text(
                    "SELECT trigger_name FROM information_schema.triggers "
                    "UNION SELECT table_name FROM information_schema.views "
                    "WHERE table_schema = current_schema()"
                )
            ).all()
    assert found == []
