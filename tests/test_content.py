"""Manage content (Staff site): records, items, Save vs Save & Publish, deletion."""

import re

from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import ClientApplication, ContentRecord
from imis_mock.services import content, demo
from tests.support.apps import csrf_token_from, sign_in
from tests.support.content import (
    EDITOR,
    add_client_application,
    audit_actions,
    count_records,
    html_item,
    make_folder,
    make_record,
    sso,
)


def record_by_path(app, key: str) -> ContentRecord | None:
    with app.app_context():
        record = db.session.scalar(select(ContentRecord).where(ContentRecord.path_key == key))
        if record is not None:
            db.session.expunge(record)
        return record


def assert_labelled(html: str, label: str) -> None:
    """The page has <label for=X>label</label> and an input, select or textarea with id X."""
    match = re.search(r'<label for="([^"]+)">' + re.escape(label) + "</label>", html)
    assert match, f"no label {label!r}"
    assert re.search(r'<(input|select|textarea)[^>]* id="' + re.escape(match.group(1)) + '"', html)


# --- The tree and New > Website Content --------------------------------------------------------


def test_manage_content_shows_the_tree_and_the_new_menu(staff_client):
    html = staff_client.get(EDITOR).get_data(as_text=True)
    assert "Manage content" in html
    assert "<summary" in html and ">New</summary>" in html
    assert f'href="{EDITOR}/New">Website Content</a>' in html
    assert "/Members" in html and "/Members/Benefits.aspx" in html and "/About.aspx" in html
    # Linked from the navigation and from the Page Builder tiles.
    assert f'href="{EDITOR}"' in staff_client.get("/staff/RiSE/PageBuilder").get_data(as_text=True)


def test_new_website_content_creates_a_draft(app, staff_client):
    response = staff_client.post(
        f"{EDITOR}/New", data={"title": "Video library", "publish_file_name": "Videos", "folder": 0}
    )
    assert response.status_code == 303
    record = record_by_path(app, "videos")
    assert record.title == "Video library" and record.folder_id is None
    assert not record.is_published
    assert response.headers["Location"] == f"{EDITOR}/{record.id}"
    assert "Draft" in staff_client.get(response.headers["Location"]).get_data(as_text=True)
    # Members do not see a draft.
    assert staff_client.get("/Videos.aspx").status_code == 404
    assert ("success", "MANAGER") in audit_actions(app, "content.create")


def test_new_record_in_a_folder_and_an_aspx_suffix_typed_by_staff(app, staff_client):
    folder = make_folder(app, "Events")
    response = staff_client.post(
        f"{EDITOR}/New",
        data={"title": "Events", "publish_file_name": "Calendar.aspx", "folder": folder},
    )
    assert response.status_code == 303
    record = record_by_path(app, "events/calendar")
    assert record.publish_file_name == "Calendar" and record.folder_id == folder


def test_every_input_has_its_imis_label(app, staff_client):
    client_pk = add_client_application(app, "MyApp")
    record = make_record(app, "Page", "Page", items=[sso(client_pk)])
    pages = {
        f"{EDITOR}/New": ["Title", "Publish file name", "Folder"],
        f"{EDITOR}/{record}": [
            "Title",
            "Publish file name",
            "Folder",
            "Content is secure",
            "Content requires user to login",
        ],
        f"{EDITOR}/{record}/AddContent/sso": ["Name", "Client application"],
        f"{EDITOR}/{record}/AddContent/contact_sign_in": ["Name"],
        f"{EDITOR}/{record}/AddContent/content_html": ["Name", "Content Html"],
        f"{EDITOR}/NewFolder": ["Name", "Parent folder", "Content is secure"],
        "/staff/Settings": ["After sign-in, send members to"],
    }
    for url, labels in pages.items():
        html = staff_client.get(url).get_data(as_text=True)
        for label in labels:
            assert_labelled(html, label)
    editor = staff_client.get(f"{EDITOR}/{record}").get_data(as_text=True)
    for button in (
        'value="Save"',
        'value="Save &amp; Publish"',
        ">Add content<",
        "Generate Full URL",
    ):
        assert button in editor
    assert 'value="OK"' in staff_client.get(f"{EDITOR}/{record}/AddContent/sso").get_data(
        as_text=True
    )


BAD_RECORD_INPUT = [
    ("", "Fine", "title", "Enter a title."),
    ("   ", "Fine", "title", "Enter a title."),
    ("Fine", "", "publish_file_name", "Enter a publish file name."),
    (
        "Fine",
        "about",
        "publish_file_name",
        "Another content record",
    ),  # the demo /About.aspx, other case
    ("Fine", "a/b", "publish_file_name", "no spaces, slashes"),
    ("Fine", "..", "publish_file_name", "no spaces, slashes"),
    ("Fine", "../etc", "publish_file_name", "no spaces, slashes"),
    ("Fine", "a..b", "publish_file_name", "no spaces, slashes"),
    ("Fine", "my page", "publish_file_name", "no spaces, slashes"),
    ("Fine", "Café", "publish_file_name", "no spaces, slashes"),
    ("Fine", "ｆｕｌｌ", "publish_file_name", "no spaces, slashes"),
    ("Fine", "a\\b", "publish_file_name", "no spaces, slashes"),
    ("Fine", "x" * 101, "publish_file_name", "at most 100"),
    ("x" * 201, "Fine", "title", "at most 200"),
]


def field_error(response, field: str) -> str:
    """Return the error printed next to a field ("" if none)."""
    html = response.get_data(as_text=True)
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else ""


def test_bad_record_input_is_refused_next_to_its_field(app, staff_client, subtests):
    before = count_records(app)
    for title, name, field, message in BAD_RECORD_INPUT:
        with subtests.test(title=title[:20], name=name[:20]):
            response = staff_client.post(
                f"{EDITOR}/New", data={"title": title, "publish_file_name": name, "folder": 0}
            )
            assert response.status_code == 200
            assert message in field_error(response, field)
            assert count_records(app) == before


def test_same_publish_file_name_is_allowed_in_another_folder(app, staff_client):
    folder = make_folder(app, "Archive")
    response = staff_client.post(
        f"{EDITOR}/New", data={"title": "Old about", "publish_file_name": "About", "folder": folder}
    )
    assert response.status_code == 303
    assert record_by_path(app, "archive/about") is not None


def test_tampered_folder_is_refused(app, staff_client):
    before = count_records(app)
    response = staff_client.post(
        f"{EDITOR}/New", data={"title": "T", "publish_file_name": "T", "folder": 9999}
    )
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert count_records(app) == before


def test_editing_to_a_taken_name_changes_nothing(app, staff_client):
    record = make_record(app, "Second", "Second", items=[html_item("<p>two</p>")])
    response = staff_client.post(
        f"{EDITOR}/{record}",
        data={"title": "Renamed", "publish_file_name": "ABOUT", "folder": 0, "publish": "1"},
    )
    assert response.status_code == 200
    assert "Another content record in this folder" in response.get_data(as_text=True)
    saved = record_by_path(app, "second")
    assert saved.title == "Second" and saved.published_title == "Second"


# --- Folders ---------------------------------------------------------------------------------


def test_new_folder_nested(app, staff_client):
    parent = make_folder(app, "Committees")
    response = staff_client.post(
        f"{EDITOR}/NewFolder", data={"name": "Board", "parent": parent, "is_secure": "y"}
    )
    assert response.status_code == 303
    assert "/Committees/Board" in staff_client.get(EDITOR).get_data(as_text=True)
    assert ("success", "MANAGER") in audit_actions(app, "content.folder_create")


BAD_FOLDER_NAMES = [
    ("", "Enter a folder name."),
    ("a/b", "no spaces, slashes"),
    ("..", "no spaces, slashes"),
    ("two words", "no spaces, slashes"),
    ("Über", "no spaces, slashes"),
    ("members", "already"),  # the demo Members folder, other case
    ("Staff", "used by the site"),
    ("static", "used by the site"),
]


def test_bad_folder_names_are_refused(staff_client, subtests):
    for name, message in BAD_FOLDER_NAMES:
        with subtests.test(name=name):
            response = staff_client.post(f"{EDITOR}/NewFolder", data={"name": name, "parent": 0})
            assert response.status_code == 200
            assert message in field_error(response, "name")


# --- Content items ---------------------------------------------------------------------------


def test_add_content_picker_groups_items_by_folder(app, staff_client):
    record = make_record(app, "Page", "Page")
    html = staff_client.get(f"{EDITOR}/{record}/AddContent").get_data(as_text=True)
    contact = html.index(">Contact<")
    general = html.index(">General<")
    assert contact < html.index(">Single Sign-On<") < general
    assert contact < html.index(">Contact Sign In<") < general
    assert general < html.index(">Content Html<")


def test_add_a_single_sign_on_item(app, staff_client):
    zed = add_client_application(app, "ZedApp")
    mine = add_client_application(app, "MyApp")
    record = make_record(app, "Video library", "MyApp", publish=False)
    page = staff_client.get(f"{EDITOR}/{record}/AddContent/sso").get_data(as_text=True)
    # The drop-down lists the registered client applications by Client ID.
    assert page.index(f'value="{mine}">MyApp<') < page.index(f'value="{zed}">ZedApp<')
    response = staff_client.post(
        f"{EDITOR}/{record}/AddContent/sso", data={"name": "MyApp", "client_application": mine}
    )
    assert response.status_code == 303
    editor = staff_client.get(f"{EDITOR}/{record}").get_data(as_text=True)
    assert "Single Sign-On" in editor and "Client application: MyApp" in editor
    with app.app_context():
        saved = db.session.get(ContentRecord, record)
        assert [(i.kind, i.name, i.client_application.client_id) for i in saved.draft_items] == [
            ("sso", "MyApp", "MyApp")
        ]


BAD_SSO_ITEMS = [
    ({"name": "", "client_application": "CLIENT"}, "name", "Enter a name."),
    ({"name": "SSO", "client_application": "0"}, "client_application", "Choose a client"),
    ({"name": "SSO", "client_application": "9999"}, "client_application", "Not a valid"),
    ({"name": "SSO", "client_application": "abc"}, "client_application", "Invalid Choice"),
]


def test_bad_single_sign_on_item_is_refused(app, staff_client, subtests):
    client_pk = add_client_application(app, "MyApp")
    record = make_record(app, "Page", "Page", publish=False)
    for data, field, message in BAD_SSO_ITEMS:
        if data["client_application"] == "CLIENT":
            data = {**data, "client_application": client_pk}
        with subtests.test(data=data):
            response = staff_client.post(f"{EDITOR}/{record}/AddContent/sso", data=data)
            assert response.status_code == 200
            assert message in field_error(response, field)
            with app.app_context():
                assert db.session.get(ContentRecord, record).items == []


def test_sso_form_without_any_client_application_says_so(app, staff_client):
    record = make_record(app, "Page", "Page", publish=False)
    html = staff_client.get(f"{EDITOR}/{record}/AddContent/sso").get_data(as_text=True)
    assert "No client application is registered yet" in html


def test_unknown_item_kind_or_foreign_item_is_404(app, staff_client):
    one = make_record(app, "One", "One", items=[html_item("<p>1</p>")], publish=False)
    two = make_record(app, "Two", "Two", publish=False)
    assert staff_client.get(f"{EDITOR}/{one}/AddContent/script").status_code == 404
    with app.app_context():
        item_id = db.session.get(ContentRecord, one).items[0].id
    # An item id that belongs to another record (a tampered hidden id) is not found.
    assert staff_client.get(f"{EDITOR}/{two}/Items/{item_id}").status_code == 404
    assert staff_client.post(f"{EDITOR}/{two}/Items/{item_id}/Remove").status_code == 404
    assert staff_client.get(f"{EDITOR}/9999").status_code == 404


def test_edit_an_item(app, staff_client):
    record = make_record(app, "Page", "Page", items=[html_item("<p>old</p>")], publish=False)
    with app.app_context():
        item_id = db.session.get(ContentRecord, record).items[0].id
    form = staff_client.get(f"{EDITOR}/{record}/Items/{item_id}").get_data(as_text=True)
    assert "&lt;p&gt;old&lt;/p&gt;" in form
    response = staff_client.post(
        f"{EDITOR}/{record}/Items/{item_id}", data={"name": "Body", "html": "<p>new</p>"}
    )
    assert response.status_code == 303
    with app.app_context():
        item = db.session.get(ContentRecord, record).items[0]
        assert (item.name, item.html) == ("Body", "<p>new</p>")


# --- Save vs Save & Publish ------------------------------------------------------------------


def test_save_keeps_a_draft_and_save_and_publish_publishes(app, staff_client, client):
    record = make_record(app, "News", "News", items=[html_item("<p>first</p>")], publish=False)
    fields = {"title": "News", "publish_file_name": "News", "folder": 0}
    assert (
        staff_client.post(f"{EDITOR}/{record}", data={**fields, "save": "Save"}).status_code == 303
    )
    anonymous = app.test_client()
    assert anonymous.get("/News.aspx").status_code == 404

    response = staff_client.post(f"{EDITOR}/{record}", data={**fields, "publish": "Save & Publish"})
    assert response.status_code == 303
    page = anonymous.get("/News.aspx")
    assert page.status_code == 200 and "<p>first</p>" in page.get_data(as_text=True)
    assert ("success", "MANAGER") in audit_actions(app, "content.publish")

    # Draft changes to the items and title stay unseen until the next publish.
    with app.app_context():
        item_id = db.session.get(ContentRecord, record).draft_items[0].id
    staff_client.post(
        f"{EDITOR}/{record}/Items/{item_id}", data={"name": "Text", "html": "<p>second</p>"}
    )
    staff_client.post(f"{EDITOR}/{record}", data={**fields, "title": "Latest news", "save": "1"})
    html = anonymous.get("/News.aspx").get_data(as_text=True)
    assert "<p>first</p>" in html and "<p>second</p>" not in html and "Latest news" not in html
    assert "unpublished changes" in staff_client.get(EDITOR).get_data(as_text=True)

    staff_client.post(f"{EDITOR}/{record}", data={**fields, "title": "Latest news", "publish": "1"})
    html = anonymous.get("/News.aspx").get_data(as_text=True)
    assert "<p>second</p>" in html and "Latest news" in html and "<p>first</p>" not in html


def test_generate_full_url(app, staff_client):
    folder = make_folder(app, "Apps", "Video")
    record = make_record(app, "Videos", "Library", folder_id=folder)
    html = staff_client.get(f"{EDITOR}/{record}").get_data(as_text=True)
    assert "/Apps/Video/Library.aspx" in html
    assert "http://localhost/Apps/Video/Library.aspx" not in html
    html = staff_client.get(f"{EDITOR}/{record}?show=url").get_data(as_text=True)
    assert 'value="http://localhost/Apps/Video/Library.aspx" readonly' in html


# --- Deletion --------------------------------------------------------------------------------


def test_delete_a_record(app, staff_client):
    record = make_record(app, "Gone", "Gone", items=[html_item("<p>x</p>")])
    response = staff_client.post(f"{EDITOR}/{record}/Delete")
    assert response.status_code == 303 and response.headers["Location"] == EDITOR
    assert record_by_path(app, "gone") is None
    assert staff_client.get("/Gone.aspx").status_code == 404
    assert ("success", "MANAGER") in audit_actions(app, "content.delete")


def test_a_record_holding_a_single_sign_on_item_cannot_be_deleted(app, staff_client):
    client_pk = add_client_application(app, "MyApp")
    record = make_record(app, "SSO", "MyApp", items=[sso(client_pk), html_item("<p>x</p>")])
    response = staff_client.post(f"{EDITOR}/{record}/Delete", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "it cannot be deleted" in html
    assert "Remove the Single Sign-On item first." in html
    assert record_by_path(app, "myapp") is not None
    assert ("failure", "MANAGER") in audit_actions(app, "content.delete")

    # Removing the item from the draft is not enough while the published copy holds it ...
    with app.app_context():
        item_id = next(
            i.id for i in db.session.get(ContentRecord, record).draft_items if i.kind == "sso"
        )
    assert staff_client.post(f"{EDITOR}/{record}/Items/{item_id}/Remove").status_code == 303
    html = staff_client.post(f"{EDITOR}/{record}/Delete", follow_redirects=True).get_data(True)
    assert "Save &amp; Publish it first" in html
    assert record_by_path(app, "myapp") is not None
    # ... after Save & Publish it can go.
    staff_client.post(
        f"{EDITOR}/{record}",
        data={"title": "SSO", "publish_file_name": "MyApp", "folder": 0, "publish": "1"},
    )
    assert staff_client.post(f"{EDITOR}/{record}/Delete").status_code == 303
    assert record_by_path(app, "myapp") is None


def test_a_never_published_record_with_sso_can_be_deleted_once_the_item_is_removed(
    app, staff_client
):
    client_pk = add_client_application(app, "MyApp")
    record = make_record(app, "SSO", "Draft", items=[sso(client_pk)], publish=False)
    assert staff_client.post(f"{EDITOR}/{record}/Delete").status_code == 303
    assert record_by_path(app, "draft") is not None
    with app.app_context():
        item_id = db.session.get(ContentRecord, record).items[0].id
    staff_client.post(f"{EDITOR}/{record}/Items/{item_id}/Remove")
    staff_client.post(f"{EDITOR}/{record}/Delete")
    assert record_by_path(app, "draft") is None


def test_sso_records_using_a_client(app):
    mine = add_client_application(app, "MyApp")
    other = add_client_application(app, "Other")
    published = make_record(app, "Live", "Live", items=[sso(mine)])
    draft = make_record(app, "Draft", "Draft", items=[sso(mine)], publish=False)
    make_record(app, "Elsewhere", "Elsewhere", items=[sso(other)])
    with app.app_context():
        client = db.session.get(ClientApplication, mine)
        assert [r.id for r in content.sso_records_using(client)] == [draft, published]


# --- Staff only, CSRF, POST only -------------------------------------------------------------


STAFF_PAGES = [EDITOR, f"{EDITOR}/New", f"{EDITOR}/1", f"{EDITOR}/1/AddContent", "/staff/Settings"]


def test_content_editor_is_staff_only(client, subtests):
    for path in STAFF_PAGES:
        with subtests.test(path=path):
            response = client.get(path)
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/staff/SignIn?next=")
    sign_in(client, "jsmith", "Member-Demo-2026")
    for path in STAFF_PAGES:
        with subtests.test(path=path, member=True):
            assert client.get(path).status_code == 403


def test_member_cannot_post_to_the_editor(app, member_client):
    before = count_records(app)
    response = member_client.post(
        f"{EDITOR}/New", data={"title": "x", "publish_file_name": "x", "folder": 0}
    )
    assert response.status_code == 403
    assert member_client.post(f"{EDITOR}/1/Delete").status_code == 403
    assert count_records(app) == before


def test_delete_and_remove_need_post(app, staff_client):
    record = make_record(app, "Page", "Page", items=[html_item("<p>x</p>")])
    assert staff_client.get(f"{EDITOR}/{record}/Delete").status_code == 405
    assert staff_client.get(f"{EDITOR}/{record}/Items/1/Remove").status_code == 405
    assert record_by_path(app, "page") is not None


def test_editor_forms_need_the_csrf_token(csrf_app):
    client = csrf_app.test_client()
    page = client.get("/staff/SignIn").get_data(as_text=True)
    client.post(
        "/staff/SignIn",
        data={
            "username": "MANAGER",
            "password": "Staff-Demo-2026",
            "csrf_token": csrf_token_from(page),
        },
    )
    data = {"title": "Forged", "publish_file_name": "Forged", "folder": 0}
    assert client.post(f"{EDITOR}/New", data=data).status_code == 400
    with csrf_app.app_context():
        about = db.session.scalar(select(ContentRecord.id).where(ContentRecord.path_key == "about"))
    assert client.post(f"{EDITOR}/{about}/Delete").status_code == 400
    assert client.get("/About.aspx").status_code == 200

    token = csrf_token_from(client.get(f"{EDITOR}/New").get_data(as_text=True))
    assert client.post(f"{EDITOR}/New", data={**data, "csrf_token": token}).status_code == 303


def test_demo_content_is_idempotent_and_has_one_sso_record(app):
    with app.app_context():
        demo.load()
        db.session.commit()
    before = count_records(app)
    assert before >= 3
    with app.app_context():
        demo.load()
        db.session.commit()
        folder = content.find_published("Members/Benefits.aspx").folder
        assert folder.name == "Members" and folder.is_secure
        clients = db.session.scalars(select(ClientApplication)).all()
        assert [c.client_id for c in clients] == ["SampleApp"]
        assert clients[0].redirect_url == "http://localhost:5001/sso"
        launch = content.find_published("SampleApp.aspx")
        assert launch.published_title == "Launch Sample App"
        assert launch.requires_login and content.holds_sso(launch)
        assert [r.title for r in content.all_records() if content.holds_sso(r)] == [
            "Launch Sample App"
        ]
    assert count_records(app) == before


def test_item_controls_are_named_and_a_secure_folder_says_so(app, staff_client):
    folder = make_folder(app, "Private", secure=True)
    record = make_record(
        app,
        "Notes",
        "Notes",
        folder_id=folder,
        items=(("content_html", "Intro text", {"html": "<p>x</p>"}),),
    )
    html = staff_client.get(f"{EDITOR}/{record}").get_data(as_text=True)
    assert 'aria-label="Edit Intro text"' in html
    assert 'aria-label="Remove Intro text"' in html
    assert "This record is secure anyway: its folder is secure." in html
    public = make_record(app, "Open", "Open")
    html = staff_client.get(f"{EDITOR}/{public}").get_data(as_text=True)
    assert "its folder is secure" not in html
