"""Issue 7's masking promise: no client secret and no whole token is ever rendered or logged.

Full flows run over real HTTP (set-up through the Staff site, hand-offs, /token successes and
failures, API calls, fault injection, the QA console's own forms), once against the in-thread server
with the app's logging captured, once against serve.py with its access and error log. Then every
QA console page, every audit row, the log output and a dump of the database are searched for every
secret, token and password that went over the wire. Simulate SSO is left out: showing its freshly
minted token once is its purpose.
"""

import hashlib
import logging
import re
import secrets as random

import pytest
import requests
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import AuditEvent
from imis_mock.services import audit
from tests.support import databases
from tests.support.apps import TEST_SECRET
from tests.support.browser import Browser
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD, database_dump
from tests.support.flows import api_get, member_opens_sso_page, redeem, sign_in, staff_sets_up_sso
from tests.support.servers import LiveServer, Server

QA_PAGES = [
    "/staff/QA/Activity",
    "/staff/QA/Activity?outcome=failure",
    "/staff/QA/Activity?client=MaskApp",
    "/staff/QA/Activity.json",
    "/staff/QA/Tokens",
    "/staff/QA/Faults",
    "/staff/QA/Clock",
    "/staff/QA/Simulate",
]
STAFF_PAGES = ["/staff/RiSE/Maintenance/ClientApplications"]


def run_flows(base: str, *, query_strings: bool) -> tuple[list[str], list[str]]:
    """Drive every flow that carries a secret; return (the secrets seen, the pages rendered).

    query_strings: also put a token and a secret in URLs (refused, but seen by the access log).
    """
    seen = [STAFF_PASSWORD, MEMBER_PASSWORD]
    old_secret, secret = (
        "Mask-old-secret-3xq9-Zq7Lm3Vx9Rt",
        "Mask-new-secret-8vw2-Zq7Lm3Vx9Rt",
    )
    seen += [old_secret, secret]
    setup = staff_sets_up_sso(base, client_id="MaskApp", secret=old_secret, file_name="Mask")

    # Staff replace the secret through the edit form.
    staff = Browser(base)
    sign_in(staff, "MANAGER", STAFF_PASSWORD, site="staff")
    page = staff.get("/staff/RiSE/Maintenance/ClientApplications")
    page = staff.get(page.link("Edit"))
    page = staff.submit(page, page.form_with("client_secret"), "Save", client_secret=secret)
    assert page.status == 200 and "was saved" in page.text
    setup.secret = secret

    # Hand-offs, and the refresh grant.
    handoff = member_opens_sso_page(base, setup.page_path)
    seen.append(handoff.refresh_token)
    body = redeem(base, setup, handoff.refresh_token).json()
    seen += [body["access_token"], body["refresh_token"]]
    body = redeem(base, setup, body["refresh_token"]).json()  # a renewal
    seen += [body["access_token"], body["refresh_token"]]
    access = body["access_token"]

    # /token refusals, each with something secret in it.
    made_up = random.token_urlsafe(32)
    wrong_secret = "Mask-wrong-secret-5tz1"
    wrong_password = "Wrong-Password-2026"
    seen += [made_up, wrong_secret, wrong_password]
    refusals = [
        (redeem(base, setup, made_up), "invalid_grant"),
        (redeem(base, setup, handoff.refresh_token, client_secret=old_secret), "invalid_client"),
        (redeem(base, setup, handoff.refresh_token, client_secret=wrong_secret), "invalid_client"),
        (redeem(base, setup, handoff.refresh_token, client_id="NoSuchApp"), "invalid_client"),
        (redeem(base, setup, access), "invalid_grant"),  # an access token as refresh token
        (redeem(base, setup, ""), "invalid_request"),
        (redeem(base, setup, made_up, grant_type="implicit"), "unsupported_grant_type"),
    ]
    password = {"grant_type": "password", "username": "jsmith"}
    for value, error in [(MEMBER_PASSWORD, None), (wrong_password, "invalid_grant")]:
        response = requests.post(f"{base}/token", data={**password, "password": value}, timeout=30)
        if error is None:
            seen.append(response.json()["access_token"])
        else:
            refusals.append((response, error))
    both = requests.post(
        f"{base}/token",
        data={"grant_type": "refresh_token", "refresh_token": made_up, "client_secret": secret},
        auth=("MaskApp", secret),
        timeout=30,
    )
    refusals.append((both, "invalid_request"))
    if query_strings:
        url = f"{base}/token?refresh_token={made_up}&client_secret={secret}"
        refusals.append(
            (requests.post(url, data={"grant_type": "refresh_token"}), "invalid_request")
        )
    for response, error in refusals:
        assert response.json()["error"] == error, (response.text, error)
        assert not any(value in response.text for value in seen)

    # The REST API, with good and bad bearer tokens.
    assert api_get(base, "/api/User", access, UserName="jsmith").status_code == 200
    assert api_get(base, "/api/Party/23179", access).status_code == 200
    assert api_get(base, "/api/query", access, QueryName="$/OAuth2/userInfo").status_code == 200
    assert api_get(base, "/api/Party/23180", access).status_code == 403
    for bad in (made_up, handoff.refresh_token, access + "x"):
        assert api_get(base, "/api/User", bad).status_code == 401
    if query_strings:
        response = requests.get(f"{base}/api/User", params={"access_token": access}, timeout=30)
        assert response.status_code == 401

    # Fault injection from the QA console, as the client sees it.
    page = staff.get("/staff/QA/Faults")
    form = page.form_posting_to("/staff/QA/Faults/1")
    page = staff.submit(page, form, "Turn on", mode="invalid_grant", count="1")
    assert page.status == 200 and "Fault turned on for MaskApp" in page.text
    handoff = member_opens_sso_page(base, setup.page_path, "rjones")
    seen.append(handoff.refresh_token)
    assert redeem(base, setup, handoff.refresh_token).json()["error"] == "invalid_grant"
    body = redeem(base, setup, handoff.refresh_token).json()
    seen += [body["access_token"], body["refresh_token"]]

    # Simulate SSO shows its fresh token once, on its own answer only; then it is used.
    page = staff.get("/staff/QA/Simulate")
    form = page.form_with("username")
    page = staff.submit(page, form, "Simulate SSO", username="apatel", client="MaskApp")
    simulated = re.search(r"refresh_token=([A-Za-z0-9_-]{43})", page.response.text).group(1)
    body = redeem(base, setup, simulated).json()
    seen += [simulated, body["access_token"], body["refresh_token"]]

    # The QA console's Tokens page: Expire now and Revoke, through its forms.
    page = staff.get("/staff/QA/Tokens")
    form = next(f for f in page.forms if f.action.endswith("/expire"))
    assert staff.submit(page, form, "Expire now").status == 200
    form = next(f for f in page.forms if f.action.endswith("/revoke"))
    assert staff.submit(page, form, "Revoke").status == 200

    pages = []
    for path in QA_PAGES + STAFF_PAGES + ["/staff/RiSE/Maintenance/ClientApplications/1/Edit"]:
        page = staff.get(path)
        assert page.status == 200, path
        pages.append(page.response.text)
    assert "MaskApp" in pages[0] and "invalid_client" in pages[0]  # the flows did show up
    return seen, pages


def assert_nothing_leaks(where: str, text: str, seen: list[str]) -> None:
    leaked = [value for value in seen if value in text]
    assert not leaked, f"{where} shows {len(leaked)} secret value(s), e.g. {leaked[0][:6]}…"


def audit_rows(app) -> list[str]:
    audit.flush()
    with app.app_context():
        return [repr(tuple(row)) for row in db.session.execute(select(AuditEvent.__table__))]


@pytest.fixture
def csrf_server(csrf_app):
    with LiveServer(csrf_app) as server:
        yield server


def test_nothing_secret_in_pages_audit_logs_or_database(csrf_server, csrf_app, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: the app's, Authlib's, werkzeug's
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # every statement and parameter
    seen, pages = run_flows(csrf_server.url, query_strings=False)
    assert len(seen) > 15
    for page in pages:
        assert_nothing_leaks("a QA console page", page, seen)
    rows = audit_rows(csrf_app)
    assert any("oauth.token" in row for row in rows) and any("api.call" in row for row in rows)
    assert_nothing_leaks("an audit row", "\n".join(rows), seen)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /token" in logged and "INSERT INTO audit_events" in logged  # the capture works
    assert_nothing_leaks("the log", logged, seen)
    dump = database_dump(csrf_app)
    assert_nothing_leaks("the database", dump, seen)
    assert sum(hashlib.sha256(value.encode()).hexdigest() in dump for value in seen) >= 6


def test_nothing_secret_in_the_server_logs(app, instance, tmp_path):
    log = tmp_path / "server.log"
    env = {**databases.instance_env(instance), "FLASK_SECRET_KEY": TEST_SECRET}
    with Server("app:app", env, workers=2, log=log) as server:
        seen, pages = run_flows(server.url, query_strings=True)
    for page in pages:
        assert_nothing_leaks("a QA console page", page, seen)
    text = log.read_text()
    assert '"POST /token HTTP/1.1" 400' in text  # access log lines are there
    assert_nothing_leaks("the server log", text, seen)
    assert_nothing_leaks("the database", database_dump(app), seen)
