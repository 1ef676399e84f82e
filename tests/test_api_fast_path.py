"""GET /api/{Entity}/{id}'s two paths (api/fast_path.py): the middleware in front of Flask answers
a read's success byte for byte and header by header as Flask does, journals it alike, and hands
every other request to Flask, having changed nothing."""

import pytest
import requests
from sqlalchemy import func, update
from sqlalchemy.exc import OperationalError

from imis_mock.extensions import db
from imis_mock.models import AccessToken
from imis_mock.services import tokens
from tests.support.api import mint
from tests.support.apps import make_app
from tests.support.fast_path import get, journal

# Entities of every kind the item rule serves: the Party family's fast read (two spellings of
# the path, which routing.py makes canonical; a person, an organization, a summary, each written
# from its shape's template), the User, a panel source (the catch-all rule) and a plain entity
# read through the ORM session.
READS = [
    ("jsmith", "/api/Party/23179"),
    ("jsmith", "/api/party//23179/"),
    ("MANAGER", "/api/Person/23180"),
    ("MANAGER", "/api/Party/23100"),
    ("jsmith", "/api/PartySummary/23179"),
    ("jsmith", "/api/User/23179"),
    ("MANAGER", "/api/Name_Demo/23179"),
    ("MANAGER", "/api/PartyStatus/A"),
]


# As served in tests, and behind TLS (HSTS, security.use_tls_settings).
SETTINGS = [{}, {"EXPOSE_WORKER_PID": True}, {"PREFERRED_URL_SCHEME": "https"}]


@pytest.mark.parametrize("settings", SETTINGS, ids=["plain", "worker-pid", "tls"])
@pytest.mark.parametrize(("user", "path"), READS)
def test_the_answer_is_flasks_byte_for_byte(instance, monkeypatch, answered, settings, user, path):
    app = make_app(instance, monkeypatch, **settings)
    fast = get(app, path, user)
    slow = get(app, path, user, flask_only=True)
    assert answered == [True]
    assert fast.status == slow.status == "200 OK"
    assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()
    assert fast.data == slow.data
    assert fast.data.startswith(b'{"$type":"')
    # Journalled alike: one entry each, the same but for nothing.
    first, second = journal(app)[-2:]
    assert first == second
    assert first[:2] == ("success", user) and first[6]["method"] == "GET"


def test_over_http_too(app, live_server, answered):
    token = mint(app, "jsmith")
    response = requests.get(
        live_server.url + "/api/Party/23179",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200 and answered == [True]
    assert response.json()["Id"] == "23179"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("user", "path", "headers", "status", "journalled"),
    [
        (None, "/api/Party/23179", {"Authorization": "Bearer not-a-token"}, 401, False),
        ("jsmith", "/api/Party/23180", {}, 403, True),  # another member's party
        ("MANAGER", "/api/Party/99999", {}, 404, True),
        ("MANAGER", "/api/NoSuchThing/1", {}, 404, False),  # no such resource, whoever asks
        ("MANAGER", "/api/Party/23179?access_token=x", {}, 400, False),  # two ways at once
        ("MANAGER", "/api/Party/23179/changelog", {}, 200, True),  # not an item route
        ("jsmith", "/api/Party/23179", {"Cookie": "session=x"}, 200, True),  # cookies: Flask's
    ],
)
def test_everything_else_goes_to_flask(app, answered, user, path, headers, status, journalled):
    before = len(journal(app))
    response = get(app, path, user, **headers)
    assert response.status_code == status, response.data
    assert not any(answered)
    # Flask's own entry for a call past the guard, none from the middleware.
    assert len(journal(app)) == before + journalled


def test_a_revoked_token_is_refused(app, answered):
    raw = mint(app, "jsmith")
    assert get(app, "/api/Party/23179", Authorization=f"Bearer {raw}").status_code == 200
    with app.app_context():
        db.session.execute(update(AccessToken).values(revoked_at=func.now()))
        db.session.commit()
    response = get(app, "/api/Party/23179", Authorization=f"Bearer {raw}")
    assert response.status_code == 401
    assert answered == [True, False]


def test_a_database_error_is_answered_503_without_a_second_try(app, answered, monkeypatch):
    raw = mint(app, "jsmith")
    calls = []

    def unreachable(value):
        calls.append(value)
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(tokens, "find_bearer_token", unreachable)
    response = get(app, "/api/Party/23179", Authorization=f"Bearer {raw}")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert answered == [False] and len(calls) == 1  # Flask raised what the middleware met


def test_with_a_server_name_flask_answers_every_read(instance, monkeypatch, answered):
    """A SERVER_NAME makes the Host part of matching, which the middleware does not do."""
    app = make_app(instance, monkeypatch, SERVER_NAME="imis.example")
    response = app.test_client().get(
        "/api/Party/23179", headers={"Authorization": f"Bearer {mint(app, 'jsmith')}"}
    )
    assert response.status_code == 200 and answered == []
