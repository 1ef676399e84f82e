"""The sample third-party application (sample_app/) against a live mock, over real HTTP.

Two live servers, as `make run` has them: the mock on 127.0.0.1 and the sample app on localhost
(two sites). One Browser plays the member's browser on both; the hand-off POST goes from the mock's
page to the sample app's /sso exactly as the page's form says.
"""

import sqlite3

import pytest
from sqlalchemy import select

import sample_app
from imis_mock.extensions import db
from imis_mock.models import AuditEvent
from imis_mock.services import audit, clock, demo, qa
from imis_mock.services.clients import find_client
from tests.support.browser import Browser
from tests.support.content import make_record, sso
from tests.support.data import MEMBER_PASSWORD
from tests.support.flows import open_sso_page, sign_in
from tests.support.servers import LiveServer

SIGNED_IN = "Signed in as Jane Smith (23179)"


@pytest.fixture
def sample_server(app, live_server, tmp_path, monkeypatch):
    """The sample app served on localhost, registered in the mock as the demo data does."""
    monkeypatch.setenv("SAMPLE_INSTANCE_PATH", str(tmp_path / "sample"))
    sample = sample_app.create_app(
        {"TESTING": True, "SAMPLE_IMIS_URL": live_server.url, "SAMPLE_SECRET_KEY": "test-key"}
    )
    with LiveServer(sample) as server:
        server.url = server.url.replace("127.0.0.1", "localhost")
        app.config["DEMO_SAMPLE_APP_URL"] = server.url + "/sso"
        with app.app_context():
            demo.load_sample_app()
            db.session.commit()
        yield server


def launch(browser: Browser, path: str = "/SampleApp.aspx"):
    """Open the mock's Single Sign-On page and let its form POST to the sample app."""
    handoff = open_sso_page(browser, path)
    return browser.post(handoff.action, data=handoff.fields)


@pytest.fixture
def signed_in(live_server, sample_server):
    """A browser signed in to the mock as jsmith that has launched the sample app."""
    browser = Browser(live_server.url)
    sign_in(browser, "jsmith", MEMBER_PASSWORD)
    page = launch(browser)
    assert page.status == 200, page.text[:500]
    return browser


def mock_audit(app, action: str) -> list[tuple[str, str]]:
    audit.flush()
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.outcome, AuditEvent.error_code)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return [tuple(row) for row in rows]


def test_member_is_signed_in(signed_in, sample_server, app):
    home = signed_in.get(sample_server.url + "/")
    assert home.status == 200
    assert SIGNED_IN in home.text
    assert "jsmith" in home.text and "jsmith@example.org" in home.text
    assert mock_audit(app, "oauth.token") == [("success", "")]
    # The sample app's cookie holds a random id only; the tokens stay on its server.
    [cookie] = [c for c in signed_in.session.cookies if c.name == "sample_session"]
    assert len(cookie.value) < 200 and cookie.has_nonstandard_attr("HttpOnly")


def test_the_sample_app_is_launched_from_the_member_home_page(live_server, sample_server):
    browser = Browser(live_server.url)
    home = sign_in(browser, "jsmith", MEMBER_PASSWORD)
    handoff = open_sso_page(browser, home.link("Launch Sample App"))
    assert handoff.action == sample_server.url + "/sso"
    assert SIGNED_IN in browser.post(handoff.action, data=handoff.fields).text


def test_launching_again_replaces_the_stored_tokens(signed_in, sample_server):
    assert SIGNED_IN in launch(signed_in).text
    with sqlite3.connect(sample_server.app.config["SAMPLE_DATABASE"]) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)


def test_guest_is_refused(app, live_server, sample_server):
    with app.app_context():
        client_pk = find_client("SampleApp").id
    make_record(app, "Public launch", "PublicLaunch", items=(sso(client_pk),))
    browser = Browser(live_server.url)  # an anonymous visitor
    page = launch(browser, "/PublicLaunch.aspx")
    assert page.status == 403
    assert "Please sign in to iMIS first" in page.text and "GUEST" in page.text
    assert SIGNED_IN not in browser.get(sample_server.url + "/").text


@pytest.mark.parametrize("how", ["clock", "console", "local"])
def test_expired_access_token_is_renewed(signed_in, sample_server, app, staff_client, how):
    if how == "clock":  # past the access token's 20 minutes, within the refresh token's 30
        with app.test_request_context():
            clock.advance(21)
    elif how == "console":  # QA console > Tokens > Expire now
        with app.app_context():
            [token] = qa.active_tokens("access")
        response = staff_client.post(f"/staff/QA/Tokens/access/{token.id}/expire")
        assert response.status_code == 303
    else:  # the sample app's own record of the expiry says it has passed
        path = sample_server.app.config["SAMPLE_DATABASE"]
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE sessions SET access_expires_at = 0")
    home = signed_in.get(sample_server.url + "/")
    assert home.status == 200, home.text[:500]
    assert SIGNED_IN in home.text
    assert "renewed with the refresh token" in home.text
    assert mock_audit(app, "oauth.token") == [("success", ""), ("success", "")]
    # The renewed token keeps working without another renewal.
    assert SIGNED_IN in signed_in.get(sample_server.url + "/").text
    assert len(mock_audit(app, "oauth.token")) == 2


@pytest.mark.parametrize("how", ["clock", "console"])
def test_expired_refresh_token_sends_the_user_back_to_imis(
    signed_in, live_server, sample_server, app, staff_client, how
):
    if how == "clock":
        with app.test_request_context():
            clock.advance(31)  # past the client's 30-minute refresh token lifetime
    else:
        with app.app_context():
            live = [(k, t.id) for k in ("access", "refresh") for t in qa.active_tokens(k)]
        for kind, token_id in live:  # Expire now the access token, Revoke the refresh tokens
            action = "expire" if kind == "access" else "revoke"
            staff_client.post(f"/staff/QA/Tokens/{kind}/{token_id}/{action}")
    page = signed_in.get(sample_server.url + "/")
    assert page.status == 401
    assert "Your iMIS session has expired" in page.text
    assert "Go back to iMIS and click the link again" in page.text
    link = page.link("Go back to iMIS and click the link again")
    assert link == live_server.url + "/SampleApp.aspx"
    assert mock_audit(app, "oauth.token")[-1] == ("failure", "invalid_grant")

    # The sample app forgot the tokens; following its link signs the member in again.
    assert "Not signed in" in signed_in.get(sample_server.url + "/").text
    handoff = open_sso_page(signed_in, link)
    assert SIGNED_IN in signed_in.post(handoff.action, data=handoff.fields).text


def test_a_refused_token_request_is_explained(signed_in, live_server, sample_server, app):
    with app.test_request_context():
        qa.set_fault(find_client("SampleApp"), "http_500", count=1, actor="test")
    page = launch(signed_in)
    assert page.status == 502
    assert "iMIS refused the sign-in" in page.text and "HTTP 500" in page.text
    assert page.link("Go back to iMIS and click the link again") == (
        live_server.url + "/SampleApp.aspx"
    )


def test_sso_without_a_token_is_refused(sample_server):
    page = Browser(sample_server.url).post("/sso", data={})
    assert page.status == 400 and "No refresh token" in page.text


def test_an_unreachable_imis_is_explained(tmp_path, monkeypatch):
    from tests.support.servers import free_port

    monkeypatch.setenv("SAMPLE_INSTANCE_PATH", str(tmp_path / "sample"))
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    sample = sample_app.create_app({"SAMPLE_IMIS_URL": url, "SAMPLE_SECRET_KEY": "test-key"})
    response = sample.test_client().post("/sso", data={"refresh_token": "x" * 43})
    assert response.status_code == 502
    assert "iMIS did not answer" in response.get_data(as_text=True)
