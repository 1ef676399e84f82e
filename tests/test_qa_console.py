"""Staff site > QA console: activity, tokens, faults, clock, Simulate SSO, and their CLI twins."""

import re

import pytest
from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import AuditEvent, ClientApplication, ClientFault, RefreshToken
from imis_mock.services import accounts, audit, clock, qa, secrets, tokens
from tests.support.data import create_client_application

PAGES = [
    "/staff/QA/Activity",
    "/staff/QA/Activity.json",
    "/staff/QA/Tokens",
    "/staff/QA/Faults",
    "/staff/QA/Clock",
    "/staff/QA/Simulate",
]


@pytest.fixture
def client_app(app) -> int:
    return create_client_application(
        app,
        "QAApp",
        "qa-secret-Zq7Lm3Vx9Rt2Wp8Kc5Hn4J",
        redirect_url="http://localhost:5001/sso",
    )


def mint_refresh(app, client_pk: int, username: str = "jsmith") -> str:
    with app.app_context():
        raw, _ = tokens.issue_refresh_token(
            accounts.get_user(username), db.session.get(ClientApplication, client_pk), source="sso"
        )
        db.session.commit()
        return raw


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_staff_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/staff/SignIn" in response.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
def test_member_is_refused(member_client, path):
    assert member_client.get(path).status_code == 403


def test_member_cannot_post_to_console(member_client, app, client_app):
    raw = mint_refresh(app, client_app)
    with app.app_context():
        token_id = tokens.find_refresh_token(raw).id
    response = member_client.post(f"/staff/QA/Tokens/refresh/{token_id}/revoke")
    assert response.status_code == 403
    with app.app_context():
        assert tokens.find_refresh_token(raw).revoked_at is None


def test_tokens_page_shows_fingerprints_not_tokens(staff_client, app, client_app):
    raw = mint_refresh(app, client_app)
    html = staff_client.get("/staff/QA/Tokens").get_data(as_text=True)
    assert raw not in html
    assert secrets.token_hash(raw) not in html  # not even the whole hash
    assert f"…{secrets.token_hash(raw)[:8]}" in html
    assert "QAApp" in html and "jsmith" in html


@pytest.mark.parametrize("action", ["expire", "revoke"])
def test_expire_and_revoke_from_the_console(staff_client, app, client_app, action):
    raw = mint_refresh(app, client_app)
    with app.app_context():
        token_id = tokens.find_refresh_token(raw).id
    response = staff_client.post(f"/staff/QA/Tokens/refresh/{token_id}/{action}")
    assert response.status_code == 303
    with app.test_request_context():
        token = tokens.find_refresh_token(raw)
        assert not tokens.refresh_token_is_usable(token)
        assert (token.revoked_at is not None) == (action == "revoke")
    html = staff_client.get("/staff/QA/Tokens").get_data(as_text=True)
    assert f"…{secrets.token_hash(raw)[:8]}" not in html


def test_expired_access_token_is_refused_by_the_bearer_check(staff_client, app):
    from tests.support.api import mint  # the same minting helper as the bearer tests

    raw = mint(app)
    with app.app_context():
        token_id = tokens.find_access_token(raw).id
    staff_client.post(f"/staff/QA/Tokens/access/{token_id}/expire")
    with app.test_request_context():
        assert not tokens.access_token_is_usable(tokens.find_access_token(raw))


def test_unknown_token_action_is_404(staff_client):
    assert staff_client.post("/staff/QA/Tokens/refresh/999/expire").status_code == 303
    assert staff_client.post("/staff/QA/Tokens/other/1/expire").status_code == 404
    assert staff_client.post("/staff/QA/Tokens/refresh/1/delete").status_code == 404
    assert staff_client.get("/staff/QA/Tokens/refresh/1/expire").status_code == 405


def test_clock_moves_forward_and_back(staff_client, app):
    response = staff_client.post("/staff/QA/Clock", data={"minutes": "31"})
    assert response.status_code == 303
    with app.test_request_context():
        assert 30.9 * 60 < clock.offset().total_seconds() < 31.1 * 60
    assert "31.0 minutes ahead" in staff_client.get("/staff/QA/Clock").get_data(as_text=True)
    staff_client.post("/staff/QA/Clock/reset")
    with app.test_request_context():
        assert clock.offset().total_seconds() == 0


@pytest.mark.parametrize("minutes", ["0", "-5", "abc", "1.5", ""])
def test_clock_bad_input_changes_nothing(staff_client, app, minutes):
    response = staff_client.post("/staff/QA/Clock", data={"minutes": minutes})
    assert response.status_code == 200
    assert 'class="field-error"' in response.get_data(as_text=True)
    with app.test_request_context():
        assert clock.offset().total_seconds() == 0


def test_moving_the_clock_expires_refresh_tokens(staff_client, app, client_app):
    raw = mint_refresh(app, client_app)
    staff_client.post("/staff/QA/Clock", data={"minutes": "29"})
    with app.test_request_context():
        assert tokens.refresh_token_is_usable(tokens.find_refresh_token(raw))
    staff_client.post("/staff/QA/Clock", data={"minutes": "2"})
    with app.test_request_context():
        assert not tokens.refresh_token_is_usable(tokens.find_refresh_token(raw))


def test_simulate_sso_shows_the_post_and_curl(staff_client, app, client_app):
    page = staff_client.get("/staff/QA/Simulate").get_data(as_text=True)
    assert '<label for="username">Member</label>' in page
    assert '<label for="client">Client application</label>' in page
    response = staff_client.post(
        "/staff/QA/Simulate", data={"username": "rjones", "client": "QAApp"}
    )
    html = response.get_data(as_text=True)
    token = re.search(r"refresh_token=([A-Za-z0-9_-]{43})", html).group(1)
    assert "POST http://localhost:5001/sso" in html
    assert "curl -X POST http://localhost/token" in html
    assert "client_secret=&lt;the client secret&gt;" in html
    assert "qa-secret-Zq7Lm3Vx9Rt2Wp8Kc5Hn4J" not in html
    with app.test_request_context():
        record = tokens.find_refresh_token(token)
        assert record.user.username == "rjones" and record.source == "qa"
        assert record.token_hash != token


@pytest.mark.parametrize(
    "data", [{"username": "GUEST", "client": "QAApp"}, {"username": "jsmith", "client": "Nope"}]
)
def test_simulate_sso_bad_choice(staff_client, app, client_app, data):
    response = staff_client.post("/staff/QA/Simulate", data=data)
    assert 'class="field-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(RefreshToken.id))) == 0


def test_set_and_clear_fault(staff_client, app, client_app):
    page = staff_client.get("/staff/QA/Faults").get_data(as_text=True)
    assert f'<label for="c{client_app}-mode">Fault</label>' in page
    response = staff_client.post(
        f"/staff/QA/Faults/{client_app}", data={"mode": "invalid_grant", "count": "2"}
    )
    assert response.status_code == 303
    assert "for the next 2 request(s)" in staff_client.get("/staff/QA/Faults").get_data(
        as_text=True
    )
    staff_client.post(f"/staff/QA/Faults/{client_app}/clear")
    with app.app_context():
        assert db.session.scalar(select(ClientFault)) is None


@pytest.mark.parametrize(
    "data",
    [
        {"mode": "explode"},
        {"mode": "delay"},
        {"mode": "delay", "delay_seconds": "61"},
        {"mode": "invalid_grant", "count": "0"},
        {"mode": "invalid_grant", "count": "x"},
    ],
)
def test_fault_bad_input_changes_nothing(staff_client, app, client_app, data):
    response = staff_client.post(f"/staff/QA/Faults/{client_app}", data=data)
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ClientFault)) is None


def test_take_fault_counts_down_then_stops(app, client_app):
    with app.test_request_context():
        client = db.session.get(ClientApplication, client_app)
        qa.set_fault(client, "http_500", count=2, actor="test")
        assert qa.take_fault("qaapp").mode == "http_500"
        db.session.commit()
        assert qa.take_fault("QAApp").mode == "http_500"
        db.session.commit()
        assert qa.take_fault("QAApp") is None
        assert qa.take_fault("Unknown") is None
        qa.set_fault(client, "delay", delay_seconds=3, count=None, actor="test")
        for _ in range(5):
            assert qa.take_fault("QAApp") == qa.Fault("delay", 3)


def test_activity_lists_sso_events_masked_and_filtered(staff_client, app, client_app):
    raw = mint_refresh(app, client_app)
    with app.test_request_context():
        audit.record(
            "oauth.token",
            "failure",
            client_id="QAApp",
            username="jsmith",
            error_code="invalid_grant",
            detail={"refresh_token": raw, "grant_type": "refresh_token"},
        )
        audit.record("oauth.token", "success", client_id="", username="rjones")
        audit.record("member.sign_in", "success", username="apatel", commit=True)
    html = staff_client.get("/staff/QA/Activity").get_data(as_text=True)
    assert raw not in html
    assert f"refresh_token=…{secrets.fingerprint(raw)}" in html
    assert "invalid_grant" in html and "rjones" in html
    assert "apatel" not in html  # ordinary sign-ins are not SSO activity
    rows = staff_client.get("/staff/QA/Activity.json?outcome=failure").get_json()
    assert [r["user"] for r in rows] == ["jsmith"]
    rows = staff_client.get("/staff/QA/Activity.json?client=QAApp").get_json()
    assert {r["client"] for r in rows} == {"QAApp"}
    assert 'src="/static/js/qa-activity.js"' in html


def qa_events(app) -> int:
    with app.app_context():
        query = select(func.count(AuditEvent.id)).where(AuditEvent.action.startswith("qa."))
        return db.session.scalar(query)


def test_cli_issue_refresh_token_and_tokens(app, runner, client_app):
    before = qa_events(app)  # the demo's load is one
    result = runner.invoke(args=["issue-refresh-token", "--user", "jsmith", "--client", "qaapp"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip()
    with app.test_request_context():
        assert tokens.refresh_token_is_usable(tokens.find_refresh_token(raw))
    result = runner.invoke(args=["tokens", "expire", "--user", "jsmith"])
    assert "1 token(s) expired" in result.output
    with app.test_request_context():
        assert not tokens.refresh_token_is_usable(tokens.find_refresh_token(raw))
    raw2 = runner.invoke(args=["issue-refresh-token", "--user", "rjones", "--client", "QAApp"])
    result = runner.invoke(args=["tokens", "revoke", "--client", "QAApp", "--kind", "refresh"])
    assert "1 token(s) revoked" in result.output
    with app.test_request_context():
        assert tokens.find_refresh_token(raw2.output.strip()).revoked_at is not None
    assert qa_events(app) - before == 4


@pytest.mark.parametrize(
    "args",
    [
        ["issue-refresh-token", "--user", "jsmith", "--client", "Nope"],
        ["issue-refresh-token", "--user", "nobody", "--client", "QAApp"],
        ["tokens", "expire", "--user", "nobody"],
        ["tokens", "explode"],
        ["faults", "set", "QAApp", "explode"],
        ["faults", "set", "QAApp", "delay", "--delay", "0"],
        ["faults", "set", "Nope", "http_500"],
    ],
)
def test_cli_bad_input(app, runner, client_app, args):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count(RefreshToken.id))) == 0
        assert db.session.scalar(select(ClientFault)) is None


def test_cli_faults_set_and_clear(app, runner, client_app):
    result = runner.invoke(args=["faults", "set", "QAApp", "delay", "--delay", "2", "--count", "3"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        fault = db.session.scalar(select(ClientFault))
        assert (fault.mode, fault.delay_seconds, fault.remaining) == ("delay", 2, 3)
    assert runner.invoke(args=["faults", "clear", "QAApp"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(ClientFault)) is None
