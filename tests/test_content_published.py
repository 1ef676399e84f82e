"""Published content records on the member site: URLs, access rules, items, after-sign-in."""

import sqlite3

import pytest
from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import ClientApplication, ContentRecord, RefreshToken
from tests.support.apps import sign_in
from tests.support.content import (
    EDITOR,
    add_client_application,
    audit_actions,
    html_item,
    make_folder,
    make_record,
    sso,
)
from tests.support.data import MEMBER_PASSWORD

CONTACT_SIGN_IN = ("contact_sign_in", "Sign in", {})


# --- URL mapping -----------------------------------------------------------------------------


ROOT_URLS = [
    "/About.aspx",
    "/about.aspx",
    "/ABOUT.ASPX",
    "/About.aspx?client_id=MyApp&redirect_uri=https://evil.example&state=xyz&response_type=code",
    "/About.aspx?ReturnUrl=//evil.example",
    # IIS serves a trailing slash and repeated slashes in place (imis_mock/routing.py).
    "/About.aspx/",
    "/About.aspx//",
]


def test_root_record_url(client, subtests):
    for url in ROOT_URLS:
        with subtests.test(url=url):
            response = client.get(url)
            assert response.status_code == 200
            assert "About the Association" in response.get_data(as_text=True)


def test_nested_folder_urls(app, client):
    folder = make_folder(app, "Apps", "Video")
    make_record(app, "Library", "Library", folder_id=folder, items=[html_item("<p>videos</p>")])
    for url in [
        "/Apps/Video/Library.aspx",
        "/apps/VIDEO/library.Aspx",
        "/Apps/Video/Library.aspx?a=1",
    ]:
        response = client.get(url)
        assert response.status_code == 200 and "<p>videos</p>" in response.get_data(as_text=True)


NOT_FOUND_URLS = [
    "/About",  # no suffix
    "/About.html",
    "/About.aspxx",
    "/Apps/Library.aspx",  # a folder missing
    "/Video/Library.aspx",
    "/Apps/Video/Video/Library.aspx",
    "/Library.aspx",
    "/Apps/Video/../Video/Library.aspx",
    "/Nope.aspx",
]


def test_urls_that_match_no_record_are_404(app, client, subtests):
    folder = make_folder(app, "Apps", "Video")
    make_record(app, "Library", "Library", folder_id=folder, items=[html_item("<p>videos</p>")])
    for url in NOT_FOUND_URLS:
        with subtests.test(url=url):
            assert client.get(url).status_code == 404


def test_other_routes_keep_their_own_answers(member_client):
    # The .aspx route is not a catch-all: a GET to a POST-only URL is still 405.
    assert member_client.get("/SignOut").status_code == 405
    assert member_client.get("/no-such-page").status_code == 404


def test_a_draft_is_not_published(app, client):
    make_record(app, "Draft", "Draft", items=[html_item("<p>secret plan</p>")], publish=False)
    response = client.get("/Draft.aspx")
    assert response.status_code == 404 and "secret plan" not in response.get_data(as_text=True)


# --- Secure and requires login -----------------------------------------------------------------


def test_requires_login_sends_anonymous_visitors_to_sign_in_and_back(app, client):
    make_record(app, "Members only", "Club", items=[html_item("<p>club news</p>")], login=True)
    response = client.get("/Club.aspx?tab=2")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/SignIn?next=/Club.aspx?tab%3D2"
    assert "club news" not in response.get_data(as_text=True)
    response = client.post(location, data={"username": "jsmith", "password": MEMBER_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/Club.aspx?tab=2"
    page = client.get("/Club.aspx?tab=2")
    assert page.status_code == 200 and "<p>club news</p>" in page.get_data(as_text=True)
    assert "no-store" in page.headers["Cache-Control"]


def test_secure_without_requires_login_refuses_anonymous_visitors(app, client):
    make_record(app, "Secure", "Secure", items=[html_item("<p>inside</p>")], secure=True)
    response = client.get("/Secure.aspx")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "inside" not in html
    assert 'href="/SignIn?next=/Secure.aspx"' in html and "Sign In" in html
    sign_in(client, "rjones", MEMBER_PASSWORD)
    assert "<p>inside</p>" in client.get("/Secure.aspx").get_data(as_text=True)


def test_a_record_in_a_secure_folder_is_secure(app, client):
    folder = make_folder(app, "Private", "Deeper")
    with app.app_context():
        from imis_mock.models import ContentFolder

        db.session.get(ContentFolder, folder).parent.is_secure = True
        db.session.commit()
    make_record(app, "Deep", "Deep", folder_id=folder, items=[html_item("<p>deep</p>")])
    assert client.get("/Private/Deeper/Deep.aspx").status_code == 403
    sign_in(client, "jsmith", MEMBER_PASSWORD)
    assert client.get("/Private/Deeper/Deep.aspx").status_code == 200


def test_public_record_is_shown_to_everyone(app, client, member_client):
    make_record(app, "Open", "Open", items=[html_item("<p>hello</p>")])
    assert "<p>hello</p>" in app.test_client().get("/Open.aspx").get_data(as_text=True)
    assert "<p>hello</p>" in member_client.get("/Open.aspx").get_data(as_text=True)


def test_access_properties_change_on_publish_not_on_save(app, staff_client):
    record = make_record(app, "Open", "Open", items=[html_item("<p>hello</p>")])
    fields = {"title": "Open", "publish_file_name": "Open", "folder": 0, "is_secure": "y"}
    staff_client.post(f"{EDITOR}/{record}", data={**fields, "save": "1"})
    anonymous = app.test_client()
    assert anonymous.get("/Open.aspx").status_code == 200
    staff_client.post(f"{EDITOR}/{record}", data={**fields, "publish": "1"})
    assert anonymous.get("/Open.aspx").status_code == 403


def test_demo_members_page(client):
    assert client.get("/Members/Benefits.aspx").status_code == 302
    sign_in(client, "apatel", MEMBER_PASSWORD)
    assert "secure Members folder" in client.get("/Members/Benefits.aspx").get_data(as_text=True)


# --- Content items ---------------------------------------------------------------------------


def test_content_html_is_sanitised(app, client, staff_client):
    record = make_record(app, "Links", "Links", publish=False)
    dirty = (
        "<p>Hi</p><script>alert(1)</script>"
        '<img src="x.png" onerror="alert(2)">'
        '<a href="javascript:alert(3)">bad</a>'
        '<a href="JaVaScRiPt:alert(4)">bad2</a>'
        '<a href="https://example.org/" onclick="alert(5)">good</a>'
        '<a href="/About.aspx">local</a>'
    )
    staff_client.post(
        f"{EDITOR}/{record}/AddContent/content_html", data={"name": "Text", "html": dirty}
    )
    staff_client.post(
        f"{EDITOR}/{record}",
        data={"title": "Links", "publish_file_name": "Links", "folder": 0, "publish": "1"},
    )
    html = client.get("/Links.aspx").get_data(as_text=True).lower()
    for bad in ("<script", "alert(", "onerror", "onclick", "javascript:"):
        assert bad not in html
    assert "<p>hi</p>" in html and 'href="https://example.org/"' in html
    assert 'href="/about.aspx"' in html and '<img src="x.png">' in html


def test_titles_and_names_are_escaped_everywhere(app, client, staff_client):
    evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    record = make_record(app, evil, "Evil", items=[html_item("<p>x</p>", name=evil)])
    pages = [
        client.get("/Evil.aspx"),
        client.get("/"),
        staff_client.get(EDITOR),
        staff_client.get(f"{EDITOR}/{record}"),
        staff_client.get("/staff/Settings"),
    ]
    for response in pages:
        html = response.get_data(as_text=True)
        assert "<script>alert(2)" not in html and "<img src=x onerror" not in html
        assert "&lt;script&gt;" in html or "&#34;&gt;&lt;img" in html or "&lt;img" in html


def test_contact_sign_in_item(app, client):
    make_record(app, "Welcome", "Welcome", items=[CONTACT_SIGN_IN])
    html = client.get("/Welcome.aspx").get_data(as_text=True)
    assert 'action="/SignIn?next=/Welcome.aspx"' in html
    assert '<label for="username">Username</label>' in html
    assert '<label for="password">Password</label>' in html
    response = client.post(
        "/SignIn?next=/Welcome.aspx", data={"username": "jsmith", "password": MEMBER_PASSWORD}
    )
    assert response.headers["Location"] == "/Welcome.aspx"
    assert "signed in as jsmith" in client.get("/Welcome.aspx").get_data(as_text=True)


def test_single_sign_on_item_hands_off_and_wins_over_other_items(app, member_client):
    client_pk = add_client_application(app, "MyApp")
    make_record(app, "My App", "MyApp", items=[html_item("<p>other text</p>"), sso(client_pk)])
    # The Socialite provider's convention: {host}{client id}.aspx, plus OAuth parameters,
    # which cannot change where the token goes.
    response = member_client.get(
        "/MyApp.aspx?client_id=MyApp&response_type=code&state=s&redirect_uri=https://evil.example"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'method="post" action="http://localhost:5001/sso"' in html
    assert "evil.example" not in html
    assert "other text" not in html
    with app.app_context():
        [token] = db.session.scalars(select(RefreshToken)).all()
        assert token.user.username == "jsmith"
        assert token.client_application_id == client_pk


def test_public_single_sign_on_page_hands_a_guest_token_to_anonymous_visitors(app, client):
    client_pk = add_client_application(app, "MyApp")
    make_record(app, "My App", "MyApp", items=[sso(client_pk)])
    response = client.get("/MyApp.aspx")
    assert response.status_code == 200
    assert 'name="refresh_token"' in response.get_data(as_text=True)
    with app.app_context():
        [token] = db.session.scalars(select(RefreshToken)).all()
        assert token.user.username == "GUEST"


def test_single_sign_on_on_a_login_page_still_needs_sign_in(app, client):
    client_pk = add_client_application(app, "MyApp")
    make_record(app, "My App", "MyApp", items=[sso(client_pk)], secure=True, login=True)
    response = client.get("/MyApp.aspx")
    assert response.status_code == 302 and response.headers["Location"].startswith("/SignIn?next=")


def count_refresh_tokens(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(RefreshToken.id)))


def test_sso_item_whose_client_application_was_deleted(app, member_client, staff_client):
    client_pk = add_client_application(app, "MyApp")
    record = make_record(app, "My App", "MyApp", items=[sso(client_pk)])
    with app.app_context():
        db.session.delete(db.session.get(ClientApplication, client_pk))
        db.session.commit()
        # The foreign key set the items' client to NULL (draft and published copies).
        items = db.session.get(ContentRecord, record).items
        assert [i.client_application_id for i in items] == [None, None]
    response = member_client.get("/MyApp.aspx")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "its client application no longer exists" in html
    assert "refresh_token" not in html
    assert count_refresh_tokens(app) == 0
    # The editor says so too, and the record can be fixed or its item removed.
    editor = staff_client.get(f"{EDITOR}/{record}").get_data(as_text=True)
    assert "(deleted: choose another)" in editor


@pytest.mark.database("sqlite", reason="switches SQLite's foreign keys off to fake a hand edit")
def test_sso_item_whose_client_row_is_gone_without_the_foreign_key(app, instance, member_client):
    client_pk = add_client_application(app, "MyApp")
    make_record(app, "My App", "MyApp", items=[sso(client_pk)])
    with app.app_context():
        db.engine.dispose()
    # A database edited by hand, with foreign keys off: the item points at a missing row.
    connection = sqlite3.connect(instance / "imis.db")
    connection.execute("DELETE FROM client_applications WHERE id = ?", (client_pk,))
    connection.commit()
    connection.close()
    response = member_client.get("/MyApp.aspx")
    assert response.status_code == 404
    assert "no longer exists" in response.get_data(as_text=True)
    assert count_refresh_tokens(app) == 0


# --- After sign-in, send members to ----------------------------------------------------------


def set_landing(staff_client, record_id: int):
    return staff_client.post("/staff/Settings", data={"landing_record": record_id})


def test_after_sign_in_setting_sends_members_to_the_record(app, client, staff_client):
    client_pk = add_client_application(app, "MyApp")
    record = make_record(app, "My App", "MyApp", items=[sso(client_pk)], secure=True, login=True)
    response = set_landing(staff_client, record)
    assert response.status_code == 303
    assert ("success", "MANAGER") in audit_actions(app, "settings.update")
    page = staff_client.get("/staff/Settings").get_data(as_text=True)
    assert f'<option selected value="{record}">' in page

    member = app.test_client()
    response = sign_in(member, "jsmith", MEMBER_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/MyApp.aspx"
    assert "Connecting to MyApp" in member.get("/MyApp.aspx").get_data(as_text=True)


def test_an_explicit_next_still_wins(app, client, staff_client):
    record = make_record(app, "Landing", "Landing", items=[html_item("<p>x</p>")])
    set_landing(staff_client, record)
    response = client.post(
        "/SignIn?next=/MyAccount", data={"username": "jsmith", "password": MEMBER_PASSWORD}
    )
    assert response.headers["Location"] == "/MyAccount"
    # An unsafe next is ignored, and the setting applies.
    client.post("/SignOut")
    response = client.post(
        "/SignIn?next=//evil.example", data={"username": "jsmith", "password": MEMBER_PASSWORD}
    )
    assert response.headers["Location"] == "/Landing.aspx"


def test_after_sign_in_falls_back_to_home(app, client, staff_client):
    draft = make_record(app, "Draft", "Draft", publish=False)
    set_landing(staff_client, draft)
    assert "not published yet" in staff_client.get("/staff/Settings").get_data(as_text=True)
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).headers["Location"] == "/"
    # A deleted record falls back too.
    staff_client.post(f"{EDITOR}/{draft}/Delete")
    client.post("/SignOut")
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).headers["Location"] == "/"
    # Choosing the home page again.
    set_landing(staff_client, 0)
    client.post("/SignOut")
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).headers["Location"] == "/"


def test_after_sign_in_setting_refuses_a_tampered_value(app, staff_client, subtests):
    for value in ["9999", "abc", "-1"]:
        with subtests.test(value=value):
            response = staff_client.post("/staff/Settings", data={"landing_record": value})
            assert response.status_code == 200
            assert 'id="landing_record-error"' in response.get_data(as_text=True)
            assert audit_actions(app, "settings.update") == []


def test_member_cannot_change_settings(member_client):
    assert member_client.post("/staff/Settings", data={"landing_record": 1}).status_code == 403


# --- Member home page ------------------------------------------------------------------------


def test_home_page_links_to_the_demo_records(client):
    html = client.get("/").get_data(as_text=True)
    assert '<a href="/About.aspx">About the Association</a>' in html
    assert '<a href="/Members/Benefits.aspx">Member benefits</a>' in html
