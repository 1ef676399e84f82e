"""Staff site > RiSE > Maintenance > Client applications: list, add, edit, delete."""

import html
import re

import pytest
from authlib.integrations.flask_oauth2 import current_token
from flask import jsonify
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import AccessToken, AuditEvent, ClientApplication, RefreshToken
from imis_mock.oauth.bearer import require_bearer
from imis_mock.services import ServiceError, accounts, clients, clock, secrets, tokens
from tests.support.apps import csrf_token_from
from tests.support.data import STAFF_PASSWORD, database_dump

BASE = "/staff/RiSE/Maintenance/ClientApplications"
SECRET = "Existing-Secret-2026-Zq7Lm3Vx9Rt"
NEW_SECRET = "MyApp-Secret-Value-9-Zq7Lm3Vx9Rt"
URL_2001 = "https://app.example.com/" + "a" * (2001 - len("https://app.example.com/"))
LIFETIME_ERROR = clients.LIFETIME_MESSAGE


def form(**overrides) -> dict:
    data = {
        "client_id": "MyApp",
        "client_secret": NEW_SECRET,
        "refresh_token_lifetime": "30",
        "redirect_url": "https://app.example.com/sso",
        "submit": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def add_client(app, client_id="Existing", secret=SECRET, lifetime=30, url="https://e.example/"):
    with app.app_context():
        client = clients.create_client(client_id, secret, lifetime, url, actor="test")
        return client.id


def saved(app) -> dict[str, dict]:
    """Every client application, by Client ID, as plain values."""
    with app.app_context():
        rows = db.session.scalars(select(ClientApplication)).all()
        return {
            c.client_id: {
                "lifetime": c.refresh_token_lifetime,
                "url": c.redirect_url,
                "secret_hash": c.secret_hash,
                "updated_at": c.updated_at,
            }
            for c in rows
        }


def audit_rows(app, prefix="client_application.") -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def secret_matches(app, client_id: str, secret: str) -> bool:
    with app.app_context():
        client = clients.find_client(client_id)
        return secrets.client_secret_matches(secret, client.secret_hash)


def field_error(page: str, field: str) -> str:
    """Return the error text printed next to a field ("" if none)."""
    match = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


def input_value(page: str, field: str) -> str:
    match = re.search(rf'<input [^>]*id="{field}"[^>]*>', page)
    assert match, f"no input {field}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""


# --- The list, the form and its labels ------------------------------------------------------


def test_list_counts_each_clients_active_tokens_apart(app):
    """One grouped count for the list: revoked tokens and other clients' tokens do not count."""
    first, second = add_client(app, "First"), add_client(app, "Second")
    add_client(app, "Unused")
    with app.app_context():
        jsmith = accounts.get_user("jsmith")
        one, two = (
            db.session.get(ClientApplication, first),
            db.session.get(ClientApplication, second),
        )
        for _ in range(3):
            tokens.issue_refresh_token(jsmith, one, source="sso")
        tokens.issue_refresh_token(jsmith, two, source="sso")
        db.session.flush()
        revoked = db.session.scalars(
            select(RefreshToken).where(RefreshToken.client_application_id == first)
        ).first()
        revoked.revoked_at = clock.now()
        db.session.commit()
        counts = {row.client.client_id: row.active_refresh_tokens for row in clients.list_clients()}
    assert counts == {"First": 2, "Second": 1, "Unused": 0}


def test_list_shows_clients_and_counts(app, staff_client):
    pk = add_client(app)
    with app.app_context():
        client = db.session.get(ClientApplication, pk)
        tokens.issue_refresh_token(accounts.get_user("jsmith"), client, source="sso")
        tokens.issue_refresh_token(accounts.get_user("rjones"), client, source="sso")
        db.session.commit()
    page = staff_client.get(BASE).get_data(as_text=True)
    assert "Add client application" in page
    for heading in ("Client ID", "Login redirect URL", "Refresh token lifetime (minutes)"):
        assert f'<th scope="col">{heading}</th>' in page
    assert "Single Sign-On content items" in page and "Active refresh tokens" in page
    row = re.search(r"<tr>\s*<td>Existing</td>(.*?)</tr>", page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[:4] == ["https://e.example/", "30", "0", "2"]
    assert f"{BASE}/{pk}/Edit" in row and f"{BASE}/{pk}/Delete" in row
    # Expired refresh tokens are not active.
    with app.test_request_context():
        clock.advance(31)
    page = staff_client.get(BASE).get_data(as_text=True)
    row = re.search(r"<tr>\s*<td>Existing</td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[3] == "0"


def test_reached_from_maintenance_and_nav(staff_client):
    page = staff_client.get("/staff/RiSE/Maintenance").get_data(as_text=True)
    assert page.count(f'href="{BASE}"') == 2  # the tile and the navigation link
    assert "Nothing to maintain yet" not in page


LABELS = {
    "client_id": "Client ID",
    "client_secret": "Client secret",
    "refresh_token_lifetime": "Refresh token lifetime (minutes)",
    "redirect_url": "Login redirect URL",
}


@pytest.mark.parametrize("page_url", ["/New", "/{pk}/Edit"])
def test_form_labels(app, staff_client, page_url):
    pk = add_client(app)
    page = staff_client.get(BASE + page_url.format(pk=pk)).get_data(as_text=True)
    for field, label in LABELS.items():
        assert f'<label for="{field}">{label}</label>' in page
        assert re.search(rf'<input [^>]*id="{field}"', page)
    save = '<input class="button primary" id="submit" name="submit" type="submit" value="Save">'
    assert save in page
    assert 'value="Generate"' in page


def test_new_form_defaults(staff_client):
    response = staff_client.get(BASE + "/New")
    page = response.get_data(as_text=True)
    assert input_value(page, "refresh_token_lifetime") == "30"
    assert input_value(page, "client_id") == "" and input_value(page, "client_secret") == ""
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in page


# --- Adding ----------------------------------------------------------------------------------


def test_add_client(app, staff_client):
    response = staff_client.post(BASE + "/New", data=form(client_id="  MyApp  "))
    assert response.status_code == 303
    assert response.headers["Location"] == BASE
    row = saved(app)["MyApp"]
    assert row["lifetime"] == 30 and row["url"] == "https://app.example.com/sso"
    # Only the keyed hash is stored: not the secret, and not a plain SHA-256 of it.
    assert re.fullmatch(r"[0-9a-f]{64}", row["secret_hash"])
    assert row["secret_hash"] != secrets.token_hash(NEW_SECRET)
    assert secret_matches(app, "MyApp", NEW_SECRET)
    assert not secret_matches(app, "MyApp", NEW_SECRET + " ")
    assert not secret_matches(app, "MyApp", NEW_SECRET.lower())
    with app.app_context():
        assert clients.find_client("myapp").client_id_key == "myapp"
    page = staff_client.get(BASE).get_data(as_text=True)
    assert "Client application MyApp was saved." in page
    [event] = audit_rows(app)
    assert (event.action, event.outcome, event.actor, event.client_id) == (
        "client_application.create",
        "success",
        "MANAGER",
        "MyApp",
    )
    assert NEW_SECRET not in repr(vars(event))


def test_secret_is_never_shown_after_saving(app, staff_client):
    staff_client.post(BASE + "/New", data=form())
    pk = saved_pk(app, "MyApp")
    pages = [BASE, f"{BASE}/{pk}/Edit", f"{BASE}/{pk}/Delete", "/staff/RiSE/Maintenance"]
    for url in pages:
        page = staff_client.get(url).get_data(as_text=True)
        assert NEW_SECRET not in page, url
    # Replacing it: the new one is not shown either.
    edit = form(
        client_secret="Replacement-Secret-77-Zq7Lm3Vx9R",
        version=version(app, pk),
    )
    assert staff_client.post(f"{BASE}/{pk}/Edit", data=edit).status_code == 303
    for url in pages:
        assert "Replacement-Secret-77-Zq7Lm3Vx9R" not in staff_client.get(url).get_data(
            as_text=True
        )
    dump = database_dump(app)
    assert "MyApp" in dump  # the dump does hold the saved client
    assert NEW_SECRET not in dump and "Replacement-Secret-77-Zq7Lm3Vx9R" not in dump


def saved_pk(app, client_id: str) -> int:
    with app.app_context():
        return clients.find_client(client_id).id


def version(app, pk: int) -> str:
    with app.app_context():
        return clients.version_of(db.session.get(ClientApplication, pk))


# The issue's list of bad inputs, each tried through the page.
BAD_INPUTS = [
    ("client_id", "", "Enter a Client ID."),
    ("client_id", "x" * 51, "A Client ID has at most 50 characters."),
    ("client_id", "existing", clients.DUPLICATE_MESSAGE),
    ("client_id", "EXISTING", clients.DUPLICATE_MESSAGE),
    ("client_secret", "", "Enter a Client secret."),
    ("client_secret", "x" * 201, "A Client secret has at most 200 characters."),
    *[
        ("refresh_token_lifetime", value, LIFETIME_ERROR)
        for value in ["0", "61", "-1", "abc", "1.5", "", "1e9"]
    ],
    ("redirect_url", "", "Enter the Login redirect URL."),
    ("redirect_url", "javascript:alert(1)", clients.URL_MESSAGE),
    ("redirect_url", "data:text/html;base64,PGI+aGk8L2I+", clients.URL_MESSAGE),
    ("redirect_url", "/sso", clients.URL_MESSAGE),
    ("redirect_url", "//evil.example/sso", clients.URL_MESSAGE),
    ("redirect_url", "https://app.example.com/sso#frag", "cannot have a fragment"),
    ("redirect_url", "https://user:pass@app.example.com/", "user name or password"),
    ("redirect_url", "https://app.example.com/a b", "spaces or control characters"),
    ("redirect_url", 'https://app.example.com/"><script>', "That is not a valid URL"),
    ("redirect_url", URL_2001, "A URL has at most 2,000 characters."),
]

# More bad values, checked against the rule itself (the page calls the same function).
MORE_BAD_VALUES = [
    (clients.clean_client_id, "   ", "Enter a Client ID."),
    (clients.clean_client_id, None, "Enter a Client ID."),
    (clients.clean_client_id, "Bad\x00Id", "A Client ID cannot contain control characters."),
    (clients.clean_client_id, "Bad\tId", "A Client ID cannot contain control characters."),
    (clients.clean_secret, " padded", "A Client secret cannot start or end with a space."),
    (clients.clean_secret, "padded ", "A Client secret cannot start or end with a space."),
    (clients.clean_secret, "line\nbreak", "A Client secret cannot contain control characters."),
    *[
        (clients.clean_lifetime, value, LIFETIME_ERROR)
        for value in [" ", "10^12", "+5", "1_0", "٣٠", "9" * 30, "30 minutes", None, True, 0, 61]
    ],
    (clients.clean_redirect_url, None, "Enter the Login redirect URL."),
    (clients.clean_redirect_url, "JavaScript://app.example.com/%0aalert(1)", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "data:text/html,<b>hi</b>", "That is not a valid URL"),
    (clients.clean_redirect_url, "sso/callback", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "ftp://app.example.com/", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "http:app.example.com", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "https:///sso", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "https://", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "https://:443/sso", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "https://app.example.com:99999/", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "https://app.example.com:port/", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "http://[::1/sso", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "http://[:::::]/sso", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "http://[::1]x/sso", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "https://-bad-.example/", clients.URL_MESSAGE),
    (clients.clean_redirect_url, "https://app.example.com/#", "cannot have a fragment"),
    (clients.clean_redirect_url, "https://app.example.com@evil.example/", "user name or"),
    (clients.clean_redirect_url, "https://user@evil.example/", "user name or password"),
    (clients.clean_redirect_url, " https://app.example.com/", "spaces or control"),
    (clients.clean_redirect_url, "https://app.example.com/\r\nX: y", "spaces or control"),
    (clients.clean_redirect_url, "https://app.example.com/\x7f", "spaces or control"),
    (clients.clean_redirect_url, "https://app.example.com/\u00a0", "spaces or control"),
    (clients.clean_redirect_url, "https:\\\\evil.example\\", "That is not a valid URL"),
    (clients.clean_redirect_url, "https://app.example.com/%zz", "That is not a valid URL"),
]


@pytest.mark.parametrize(("rule", "value", "message"), MORE_BAD_VALUES)
def test_rules_refuse_more_bad_values(rule, value, message):
    with pytest.raises(ServiceError, match=re.escape(message)) as caught:
        rule(value)
    assert caught.value.field in {
        "client_id",
        "client_secret",
        "refresh_token_lifetime",
        "redirect_url",
    }


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:3000/sso",
        "http://127.0.0.1/callback",
        "http://app.example.com/sso",
        "https://app.example.com/sso?next=%2Fhome&x=1",
        "HTTPS://APP.EXAMPLE.COM/",
        "http://[::1]:8080/sso",
        "https://bücher.example/sso",
        "https://my_host.example./",
        URL_2001[:-1],
    ],
)
def test_rules_accept_good_urls(url):
    assert clients.clean_redirect_url(url) == url


@pytest.mark.parametrize(
    ("value", "minutes"), [("1", 1), ("60", 60), (" 45 ", 45), ("07", 7), (30, 30)]
)
def test_rules_accept_good_lifetimes(value, minutes):
    assert clients.clean_lifetime(value) == minutes


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUTS)
def test_add_refuses_bad_input(app, staff_client, field, value, message):
    add_client(app)
    before, events = saved(app), len(audit_rows(app))
    response = staff_client.post(BASE + "/New", data=form(**{field: value}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in field_error(page, field)
    others = {"client_id", "client_secret", "refresh_token_lifetime", "redirect_url"} - {field}
    assert all(field_error(page, other) == "" for other in others)
    assert saved(app) == before
    assert len(audit_rows(app)) == events


def test_add_shows_every_error_at_once(app, staff_client):
    bad = form(client_id="", client_secret="", refresh_token_lifetime="61", redirect_url="/x")
    page = staff_client.post(BASE + "/New", data=bad).get_data(as_text=True)
    assert field_error(page, "client_id") == "Enter a Client ID."
    assert field_error(page, "client_secret") == "Enter a Client secret."
    assert field_error(page, "refresh_token_lifetime") == LIFETIME_ERROR
    assert field_error(page, "redirect_url") == clients.URL_MESSAGE
    # The typed values come back (so nothing is lost), escaped.
    assert input_value(page, "refresh_token_lifetime") == "61"
    assert saved(app) == {}


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("redirect_url", "http://localhost:3000/sso", "http://localhost:3000/sso"),
        ("redirect_url", URL_2001[:-1], URL_2001[:-1]),
        ("refresh_token_lifetime", "1", 1),
        ("refresh_token_lifetime", "60", 60),
    ],
)
def test_add_accepts_boundaries(app, staff_client, field, value, stored):
    response = staff_client.post(BASE + "/New", data=form(**{field: value}))
    assert response.status_code == 303
    row = saved(app)["MyApp"]
    assert row["url" if field == "redirect_url" else "lifetime"] == stored


def test_any_name_is_a_client_id_and_is_escaped(app, staff_client):
    name = '<script>alert("x")</script>'
    assert staff_client.post(BASE + "/New", data=form(client_id=name)).status_code == 303
    page = staff_client.get(BASE).get_data(as_text=True)
    assert name not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    for client_id in ("x" * 50, "Video Library (Staging) / v2", "Ünïcödé"):
        assert staff_client.post(BASE + "/New", data=form(client_id=client_id)).status_code == 303
    assert len(saved(app)) == 4


def test_duplicate_from_a_concurrent_add_is_refused(app, staff_client, monkeypatch):
    """Two staff adding the same Client ID at once: the unique key refuses the second."""
    add_client(app, "MyApp")
    monkeypatch.setattr(clients, "find_client", lambda client_id: None)
    response = staff_client.post(BASE + "/New", data=form(client_id="MYAPP"))
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "client_id") == clients.DUPLICATE_MESSAGE
    assert list(saved(app)) == ["MyApp"]


# --- Generate --------------------------------------------------------------------------------


def test_generate_proposes_a_secret_without_script(app, staff_client):
    data = form(client_secret="", submit=None, generate="Generate", refresh_token_lifetime="45")
    first = staff_client.post(BASE + "/New", data=data)
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    proposed = input_value(page, "client_secret")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", proposed)
    assert input_value(page, "client_id") == "MyApp"
    assert input_value(page, "refresh_token_lifetime") == "45"
    assert input_value(page, "redirect_url") == "https://app.example.com/sso"
    assert "Copy it now" in page and 'class="field-error"' not in page
    assert first.headers["Cache-Control"] == "no-store"
    second = input_value(
        staff_client.post(BASE + "/New", data=data).get_data(as_text=True), "client_secret"
    )
    assert second != proposed
    assert saved(app) == {} and audit_rows(app) == []
    # Saving the proposed secret works like a typed one.
    assert staff_client.post(BASE + "/New", data=form(client_secret=proposed)).status_code == 303
    assert secret_matches(app, "MyApp", proposed)


def test_generate_on_edit_changes_nothing(app, staff_client):
    pk = add_client(app)
    before = saved(app)
    data = form(client_id="Existing", submit=None, generate="Generate", version=version(app, pk))
    page = staff_client.post(f"{BASE}/{pk}/Edit", data=data).get_data(as_text=True)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", input_value(page, "client_secret"))
    assert saved(app) == before


# --- Editing ---------------------------------------------------------------------------------


def test_edit_page_shows_saved_values_and_a_read_only_client_id(app, staff_client):
    pk = add_client(app, lifetime=15, url="http://localhost:8000/sso")
    response = staff_client.get(f"{BASE}/{pk}/Edit")
    page = response.get_data(as_text=True)
    assert re.search(r'<input [^>]*id="client_id"[^>]*readonly[^>]*value="Existing"', page)
    assert input_value(page, "client_secret") == ""
    assert input_value(page, "refresh_token_lifetime") == "15"
    assert input_value(page, "redirect_url") == "http://localhost:8000/sso"
    assert "Leave blank to keep the current secret" in page
    assert response.headers["Cache-Control"] == "no-store"


def test_edit_with_blank_secret_keeps_it(app, staff_client):
    pk = add_client(app)
    with app.app_context():
        client = db.session.get(ClientApplication, pk)
        raw, _ = tokens.issue_access_token(accounts.get_user("jsmith"), client, grant_type="x")
        db.session.commit()
    data = form(
        client_id="Existing",
        client_secret="",
        refresh_token_lifetime="60",
        redirect_url="http://localhost:5173/sso",
        version=version(app, pk),
    )
    response = staff_client.post(f"{BASE}/{pk}/Edit", data=data)
    assert response.status_code == 303
    row = saved(app)["Existing"]
    assert (row["lifetime"], row["url"]) == (60, "http://localhost:5173/sso")
    assert secret_matches(app, "Existing", SECRET)
    with app.app_context():
        assert tokens.access_token_is_usable(tokens.find_access_token(raw))
    event = audit_rows(app)[-1]
    assert (event.action, event.outcome, event.actor) == (
        "client_application.update",
        "success",
        "MANAGER",
    )
    assert '"refresh_token_lifetime": {"from": 30, "to": 60}' in event.detail
    assert "client_secret" not in event.detail


@pytest.fixture
def probe_app(app):
    """An /api route behind the bearer check, as the REST API will be."""

    @require_bearer()
    def probe():
        return jsonify({"user": current_token.user.username})

    app.add_url_rule("/api/_probe", "probe", probe)
    return app


def test_replacing_the_secret_revokes_access_tokens(probe_app, staff_client):
    app = probe_app
    pk = add_client(app)
    with app.app_context():
        client = db.session.get(ClientApplication, pk)
        user = accounts.get_user("jsmith")
        raw_rt, rt = tokens.issue_refresh_token(user, client, source="sso")
        raw_at, _ = tokens.issue_access_token(user, client, grant_type="refresh_token")
        raw_pw, _ = tokens.issue_access_token(user, None, grant_type="password")
        db.session.commit()
    api = app.test_client()
    auth = {"Authorization": f"Bearer {raw_at}"}
    assert api.get("/api/_probe", headers=auth).status_code == 200

    data = form(
        client_id="Existing",
        client_secret="Brand-New-Secret-Zq7Lm3Vx9Rt2Wp8",
        version=version(app, pk),
    )
    assert staff_client.post(f"{BASE}/{pk}/Edit", data=data).status_code == 303

    assert not secret_matches(app, "Existing", SECRET)
    assert secret_matches(app, "Existing", "Brand-New-Secret-Zq7Lm3Vx9Rt2Wp8")
    assert api.get("/api/_probe", headers=auth).status_code == 401
    # Other clients' (and client-less) tokens are untouched; the refresh token needs the new secret.
    assert api.get("/api/_probe", headers={"Authorization": f"Bearer {raw_pw}"}).status_code == 200
    with app.app_context():
        assert tokens.refresh_token_is_usable(tokens.find_refresh_token(raw_rt))
    event = audit_rows(app)[-1]
    assert event.action == "client_application.update" and '"client_secret": "replaced"' in (
        event.detail
    )
    assert "Brand-New-Secret-Zq7Lm3Vx9Rt2Wp8" not in repr(vars(event)) and SECRET not in repr(
        vars(event)
    )


@pytest.mark.parametrize("posted", ["Other", "existing", "EXISTING", "", "Existing2", None])
def test_edit_refuses_a_changed_client_id(app, staff_client, posted):
    pk = add_client(app)
    before = saved(app)
    data = form(client_id=posted, refresh_token_lifetime="45", version=version(app, pk))
    if posted is None:
        data.pop("client_id", None)
    response = staff_client.post(f"{BASE}/{pk}/Edit", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "client_id") == (
        "The Client ID cannot be changed after the client application is saved."
    )
    assert input_value(page, "client_id") == "Existing"
    assert saved(app) == before
    assert secret_matches(app, "Existing", SECRET)


def test_posting_to_another_clients_edit_url(app, staff_client):
    a = add_client(app, "AppA", secret="secret-a-Zq7Lm3Vx9Rt2Wp8Kc5Hn4Jd")
    b = add_client(app, "AppB", secret="secret-b-Zq7Lm3Vx9Rt2Wp8Kc5Hn4Jd")
    before = saved(app)
    data = form(
        client_id="AppA",
        client_secret="stolen-Zq7Lm3Vx9Rt2Wp8Kc5Hn4Jd6F",
        version=version(app, b),
    )
    response = staff_client.post(f"{BASE}/{b}/Edit", data=data)
    assert response.status_code == 400
    assert "cannot be changed" in field_error(response.get_data(as_text=True), "client_id")
    assert saved(app) == before
    # A's version on B's URL is just as stale.
    data = form(client_id="AppB", version=version(app, a))
    assert staff_client.post(f"{BASE}/{b}/Edit", data=data).status_code == 409
    assert saved(app) == before


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("action", ["Edit", "Delete"])
def test_unknown_client_is_404(staff_client, method, action):
    response = getattr(staff_client, method)(f"{BASE}/9999/{action}", data=form())
    assert response.status_code == 404


def test_non_numeric_id_is_404(staff_client):
    assert staff_client.get(f"{BASE}/Existing/Edit").status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("refresh_token_lifetime", "0", LIFETIME_ERROR),
        ("refresh_token_lifetime", "", LIFETIME_ERROR),
        ("redirect_url", "javascript:alert(1)", clients.URL_MESSAGE),
        ("redirect_url", "", "Enter the Login redirect URL."),
        ("client_secret", " new", "A Client secret cannot start or end with a space."),
    ],
)
def test_edit_refuses_bad_input(app, staff_client, field, value, message):
    pk = add_client(app)
    before = saved(app)
    data = form(client_id="Existing", client_secret="", version=version(app, pk))
    data[field] = value
    response = staff_client.post(f"{BASE}/{pk}/Edit", data=data)
    assert response.status_code == 400
    assert message in field_error(response.get_data(as_text=True), field)
    assert saved(app) == before


def test_concurrent_edit_is_refused_not_lost(app, staff_client):
    pk = add_client(app)
    opened = version(app, pk)
    # Another staff user saves first.
    other = form(
        client_id="Existing", client_secret="", refresh_token_lifetime="10", version=opened
    )
    assert staff_client.post(f"{BASE}/{pk}/Edit", data=other).status_code == 303
    # Our save, from the form opened before theirs, is refused and changes nothing.
    mine = form(
        client_id="Existing",
        client_secret="Mine-Secret-Zq7Lm3Vx9Rt2Wp8Kc5Hn",
        refresh_token_lifetime="50",
    )
    response = staff_client.post(f"{BASE}/{pk}/Edit", data={**mine, "version": opened})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Another staff user saved this client application" in page
    assert re.search(r"<dt>Refresh token lifetime \(minutes\)</dt><dd>10</dd>", page)
    assert input_value(page, "refresh_token_lifetime") == "50"
    assert saved(app)["Existing"]["lifetime"] == 10
    assert secret_matches(app, "Existing", SECRET)
    conflict = audit_rows(app)[-1]
    assert (conflict.outcome, conflict.error_code) == ("failure", "conflict")
    # Saving again from the refreshed page applies.
    fresh = input_value(page, "version")
    assert fresh == version(app, pk)
    assert (
        staff_client.post(f"{BASE}/{pk}/Edit", data={**mine, "version": fresh}).status_code == 303
    )
    assert saved(app)["Existing"]["lifetime"] == 50


@pytest.mark.parametrize("posted", [None, "", "yesterday", "2020-01-01T00:00:00"])
def test_edit_without_a_valid_version_is_refused(app, staff_client, posted):
    pk = add_client(app)
    before = saved(app)
    data = form(client_id="Existing", refresh_token_lifetime="50", version=posted)
    response = staff_client.post(f"{BASE}/{pk}/Edit", data=data)
    assert response.status_code == 409
    assert "out of date" in response.get_data(as_text=True)
    assert saved(app) == before


# --- Deleting --------------------------------------------------------------------------------


def test_delete_asks_then_deletes_and_revokes_tokens(probe_app, staff_client):
    app = probe_app
    pk = add_client(app)
    keep = add_client(app, "Keep")
    with app.app_context():
        client = db.session.get(ClientApplication, pk)
        user = accounts.get_user("jsmith")
        tokens.issue_refresh_token(user, client, source="sso")
        raw_at, _ = tokens.issue_access_token(user, client, grant_type="refresh_token")
        other = db.session.get(ClientApplication, keep)
        tokens.issue_refresh_token(user, other, source="sso")
        db.session.commit()
    confirm = staff_client.get(f"{BASE}/{pk}/Delete")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "Delete the client application <strong>Existing</strong>?" in page
    assert "1 active refresh token)" in page
    assert "Existing" in saved(app)  # a GET deletes nothing

    response = staff_client.post(f"{BASE}/{pk}/Delete")
    assert response.status_code == 303 and response.headers["Location"] == BASE
    assert list(saved(app)) == ["Keep"]
    with app.app_context():
        assert db.session.scalars(select(RefreshToken.client_application_id)).all() == [keep]
        assert db.session.scalars(select(AccessToken)).all() == []
    api = app.test_client()
    assert api.get("/api/_probe", headers={"Authorization": f"Bearer {raw_at}"}).status_code == 401
    assert "Client application Existing was deleted." in staff_client.get(BASE).get_data(
        as_text=True
    )
    event = audit_rows(app)[-1]
    assert (event.action, event.outcome, event.client_id, event.actor) == (
        "client_application.delete",
        "success",
        "Existing",
        "MANAGER",
    )
    assert '"active_refresh_tokens_revoked": 1' in event.detail
    assert SECRET not in repr(vars(event))


def test_delete_is_refused_while_sso_content_uses_the_client(app, staff_client, monkeypatch):
    pk = add_client(app)
    monkeypatch.setattr(
        clients, "sso_content_titles", lambda client: ["Members SSO", "Video <Library>"]
    )
    page = staff_client.get(BASE).get_data(as_text=True)
    row = re.search(r"<tr>\s*<td>Existing</td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[2] == "2"

    confirm = staff_client.get(f"{BASE}/{pk}/Delete").get_data(as_text=True)
    expected = (
        "Existing cannot be deleted because a Single Sign-On content item uses it in these "
        "content records: “Members SSO”, “Video &lt;Library&gt;”. Remove those content items first."
    )
    assert expected in confirm
    assert '<button type="submit" class="button danger">Delete</button>' not in confirm

    response = staff_client.post(f"{BASE}/{pk}/Delete")
    assert response.status_code == 409
    assert expected in response.get_data(as_text=True)
    assert "Existing" in saved(app)
    event = audit_rows(app)[-1]
    assert (event.action, event.outcome, event.error_code) == (
        "client_application.delete",
        "failure",
        "in_use",
    )
    assert "Members SSO" in event.detail


def test_delete_service_names_content_records(app, monkeypatch):
    pk = add_client(app)
    monkeypatch.setattr(clients, "sso_content_titles", lambda client: ["Portal"])
    with app.app_context():
        client = db.session.get(ClientApplication, pk)
        with pytest.raises(ServiceError, match="content records: “Portal”"):
            clients.delete_client(client, actor="test")
        assert clients.get_client(pk) is not None


def test_sso_content_titles_is_empty_until_content_records_land(app):
    pk = add_client(app)
    with app.app_context():
        assert clients.sso_content_titles(db.session.get(ClientApplication, pk)) == []


def test_delete_by_get_changes_nothing(app, staff_client):
    pk = add_client(app)
    staff_client.get(f"{BASE}/{pk}/Delete?confirm=1")
    assert "Existing" in saved(app)
    assert staff_client.put(f"{BASE}/{pk}/Delete").status_code == 405


# --- CSRF and access -------------------------------------------------------------------------


def csrf_staff_client(csrf_app):
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/staff/SignIn").get_data(as_text=True))
    data = {"username": "MANAGER", "password": STAFF_PASSWORD, "csrf_token": token}
    assert client.post("/staff/SignIn", data=data).status_code == 303
    return client


def test_csrf_is_required_for_every_change(csrf_app):
    client = csrf_staff_client(csrf_app)
    pk = add_client(csrf_app)
    before = saved(csrf_app)
    attempts = [
        (BASE + "/New", form()),
        (f"{BASE}/{pk}/Edit", form(client_id="Existing", version=version(csrf_app, pk))),
        (f"{BASE}/{pk}/Delete", {}),
    ]
    for url, data in attempts:
        for token in (None, "forged-token"):
            posted = dict(data, csrf_token=token) if token else data
            response = client.post(url, data=posted)
            assert response.status_code == 400, url
            assert "security token" in response.get_data(as_text=True)
    assert saved(csrf_app) == before

    token = csrf_token_from(client.get(BASE + "/New").get_data(as_text=True))
    assert client.post(BASE + "/New", data=form(csrf_token=token)).status_code == 303
    token = csrf_token_from(client.get(f"{BASE}/{pk}/Delete").get_data(as_text=True))
    assert client.post(f"{BASE}/{pk}/Delete", data={"csrf_token": token}).status_code == 303
    assert list(saved(csrf_app)) == ["MyApp"]


ACCESS = [
    ("get", ""),
    ("get", "/New"),
    ("post", "/New"),
    ("get", "/{pk}/Edit"),
    ("post", "/{pk}/Edit"),
    ("get", "/{pk}/Delete"),
    ("post", "/{pk}/Delete"),
]


def test_anonymous_gets_the_staff_sign_in(app, client):
    pk = add_client(app, url="https://hidden.example/sso")
    before = saved(app)
    for method, path in ACCESS:
        url = BASE + path.format(pk=pk)
        response = getattr(client, method)(url, data=form(client_id="Existing"))
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/staff/SignIn?next=")
    assert saved(app) == before


def test_member_gets_403_and_no_data(app, member_client):
    pk = add_client(app, url="https://hidden.example/sso")
    before = saved(app)
    for method, path in ACCESS:
        url = BASE + path.format(pk=pk)
        response = getattr(member_client, method)(url, data=form(client_id="Existing"))
        assert response.status_code == 403, (method, url)
        page = response.get_data(as_text=True)
        assert "hidden.example" not in page and "Existing" not in page
    assert saved(app) == before


def test_delete_is_refused_while_a_content_record_uses_the_client(app, staff_client):
    """Wired for real: a Single Sign-On item on a content record blocks deletion, by title."""
    from tests.support.content import add_client_application, make_record

    pk = add_client_application(app, "UsedApp")
    make_record(
        app, "Launch Used App", "UsedApp", items=(("sso", "SSO", {"client_application_id": pk}),)
    )
    response = staff_client.post(f"/staff/RiSE/Maintenance/ClientApplications/{pk}/Delete")
    assert response.status_code == 409
    assert "Launch Used App" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ClientApplication, pk) is not None
    listing = staff_client.get("/staff/RiSE/Maintenance/ClientApplications").get_data(as_text=True)
    assert "UsedApp" in listing
