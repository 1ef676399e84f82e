"""Fault injection as a client application sees it at /token (QA console > Fault injection)."""

import base64
import time

import pytest
import requests
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import AuditEvent
from imis_mock.services import qa
from imis_mock.services.clients import find_client
from tests.support.data import create_client_application
from tests.support.oauth import SECRET, mint


@pytest.fixture
def fault_app(app):
    create_client_application(app, "MyApp", SECRET)
    return app


def arm(app, mode: str, *, count: int | None = 1, delay: int = 0) -> None:
    with app.test_request_context():
        client = find_client("MyApp")
        qa.set_fault(client, mode, delay_seconds=delay, count=count, actor="test")


def redeem(url: str, refresh_token: str, *, basic: bool = False) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers = {}
    if basic:
        pair = base64.b64encode(f"MyApp:{SECRET}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    else:
        data.update(client_id="MyApp", client_secret=SECRET)
    return requests.post(f"{url}/token", data=data, headers=headers, timeout=30)


def test_invalid_grant_then_normal_again(fault_app, live_server):
    token = mint(fault_app)
    arm(fault_app, "invalid_grant", count=2)
    for _ in range(2):
        response = redeem(live_server.url, token)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
        assert response.headers["Cache-Control"] == "no-store"
    response = redeem(live_server.url, token)
    assert response.status_code == 200  # the fault is used up; the token was never spent
    assert response.json()["userName"] == "jsmith"


@pytest.mark.parametrize(("basic", "status"), [(False, 400), (True, 401)])
def test_invalid_client(fault_app, live_server, basic, status):
    token = mint(fault_app)
    arm(fault_app, "invalid_client")
    response = redeem(live_server.url, token, basic=basic)
    assert response.status_code == status
    assert response.json()["error"] == "invalid_client"
    if basic:
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert redeem(live_server.url, token, basic=basic).status_code == 200


def test_http_500_until_turned_off(fault_app, live_server):
    token = mint(fault_app)
    arm(fault_app, "http_500", count=None)
    for _ in range(3):
        response = redeem(live_server.url, token)
        assert response.status_code == 500
        assert response.json() == {"Message": "An error has occurred."}
    with fault_app.test_request_context():
        qa.clear_fault(find_client("MyApp"), actor="test")
    assert redeem(live_server.url, token).status_code == 200


def test_delay_then_a_real_answer(fault_app, live_server):
    token = mint(fault_app)
    arm(fault_app, "delay", delay=1)
    started = time.monotonic()
    response = redeem(live_server.url, token)
    assert time.monotonic() - started >= 1  # a lower bound only: slow machines pass too
    assert response.status_code == 200


def test_faults_are_recorded_for_the_activity_list(fault_app, live_server):
    token = mint(fault_app)
    arm(fault_app, "invalid_grant")
    redeem(live_server.url, token)
    with fault_app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.error_code == "invalid_grant")
        )
        assert event.action == "oauth.token" and event.client_id == "MyApp"
        assert "injected_fault" in event.detail
        assert token not in event.detail and SECRET not in event.detail


def test_other_clients_are_not_affected(fault_app, live_server):
    create_client_application(fault_app, "Other", "Other-secret-Zq7Lm3Vx9Rt2Wp8Kc5H")
    arm(fault_app, "http_500", count=None)
    token = mint(fault_app, client_id="Other")
    response = requests.post(
        f"{live_server.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": "Other",
            "client_secret": "Other-secret-Zq7Lm3Vx9Rt2Wp8Kc5H",
        },
        timeout=30,
    )
    assert response.status_code == 200
