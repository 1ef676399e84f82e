"""The bearer check that the REST API uses (exercised through a probe route)."""

import pytest
from authlib.integrations.flask_oauth2 import current_token
from flask import jsonify

from imis_mock.extensions import db
from imis_mock.oauth.bearer import require_bearer
from imis_mock.services import accounts, clock, secrets, tokens
from tests.support.api import mint

DENIED = {"Message": "Authorization has been denied for this request."}


@pytest.fixture
def probe_app(app):
    @require_bearer()
    def probe():
        return jsonify({"user": current_token.user.username})

    app.add_url_rule("/api/_probe", "probe", probe)
    return app


def test_valid_token_any_scheme_case(probe_app):
    raw = mint(probe_app)
    client = probe_app.test_client()
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = client.get("/api/_probe", headers={"Authorization": f"{scheme} {raw}"})
        assert response.status_code == 200
        assert response.get_json() == {"user": "jsmith"}


def test_missing_token(probe_app):
    response = probe_app.test_client().get("/api/_probe")
    assert response.status_code == 401
    assert response.get_json() == DENIED
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="iMIS"'


@pytest.mark.parametrize(
    "header",
    ["Bearer garbage", "Bearer a b", "BearerX abc", "Basic dXNlcjpwdw==", "Token abc", "Bearer"],
)
def test_bad_tokens(probe_app, header):
    response = probe_app.test_client().get("/api/_probe", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json() == DENIED
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_garbage_token_says_invalid_token(probe_app):
    response = probe_app.test_client().get(
        "/api/_probe", headers={"Authorization": "Bearer garbage"}
    )
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_token_in_query_string_is_not_accepted(probe_app):
    raw = mint(probe_app)
    response = probe_app.test_client().get("/api/_probe", query_string={"access_token": raw})
    assert response.status_code == 401


def test_expired_token(probe_app):
    raw = mint(probe_app)
    client = probe_app.test_client()
    with probe_app.test_request_context():
        clock.advance(19.9)
    assert client.get("/api/_probe", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    with probe_app.test_request_context():
        clock.advance(0.2)
    response = client.get("/api/_probe", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_disabled_user_token_stops_working(probe_app):
    raw = mint(probe_app)
    with probe_app.app_context():
        accounts.get_user("jsmith").is_disabled = True
        db.session.commit()
    response = probe_app.test_client().get(
        "/api/_probe", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 401


def test_only_hash_is_stored(probe_app):
    raw = mint(probe_app)
    with probe_app.app_context():
        token = tokens.find_access_token(raw)
        assert token.token_hash == secrets.token_hash(raw) != raw
        assert len(raw) >= 43 and "." not in raw
