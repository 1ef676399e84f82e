"""Single Sign-On as people click through it in Chromium: staff, a member, QA.

Each test starts from a fresh copy of the demo database, with the mock on http://127.0.0.1:PORT
and the sample app on http://localhost:PORT2. Screenshots go to test-artifacts/e2e/.
"""

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, Request, expect

from tests.e2e.conftest import screenshot
from tests.e2e.flows import (
    MEMBER,
    MEMBER_PASSWORD,
    expect_signed_in_to_sample,
    fill_sign_in,
    staff_nav,
    staff_sign_in,
)
from tests.servers import Gunicorn

NewPage = Callable[[str], Page]


def test_staff_sets_up_single_sign_on(
    new_page: NewPage, mock: Gunicorn, start_sample, sample_port: int, artifacts: Path
):
    """Scenario 1: add a client application, publish an SSO record for it, copy its URL."""
    staff = new_page("staff")
    staff_sign_in(staff, mock.url)

    staff_nav(staff).get_by_role("link", name="Client applications").click()
    staff.get_by_role("link", name="Add client application").click()
    staff.get_by_label("Client ID").fill("MemberPortal")
    staff.get_by_role("button", name="Generate").click()
    secret = staff.get_by_label("Client secret").input_value()
    assert len(secret) >= 32
    staff.get_by_label("Refresh token lifetime (minutes)").fill("30")
    staff.get_by_label("Login redirect URL").fill(f"http://localhost:{sample_port}/sso")
    screenshot(staff, artifacts, "staff-add-client-application")
    staff.get_by_role("button", name="Save", exact=True).click()
    row = staff.get_by_role("row").filter(has_text="MemberPortal")
    expect(row).to_contain_text(f"http://localhost:{sample_port}/sso")

    staff_nav(staff).get_by_role("link", name="Manage content").click()
    staff.get_by_text("New", exact=True).click()
    staff.get_by_role("link", name="Website Content", exact=True).click()
    staff.get_by_label("Title").fill("Member Portal")
    staff.get_by_label("Publish file name").fill("MemberPortal")
    staff.get_by_label("Folder").select_option(label="/Members")
    staff.get_by_role("button", name="OK").click()
    expect(staff.get_by_role("heading", name="Member Portal", level=1)).to_be_visible()

    staff.get_by_role("link", name="Add content").click()
    staff.get_by_role("link", name="Single Sign-On").click()
    staff.get_by_label("Name").fill("MemberPortalLink")
    staff.get_by_label("Client application").select_option(label="MemberPortal")
    staff.get_by_role("button", name="OK").click()
    expect(staff.get_by_role("cell", name="Client application: MemberPortal")).to_be_visible()
    staff.get_by_label("Content requires user to login").check()
    staff.get_by_role("button", name="Save & Publish").click()
    expect(staff.get_by_text("Published.", exact=True)).to_be_visible()
    staff.get_by_role("link", name="Generate Full URL").click()
    url = staff.get_by_label("Full URL").input_value()
    assert url == mock.url + "/Members/MemberPortal.aspx"
    screenshot(staff, artifacts, "staff-content-record")

    # The developer configures the app with what staff registered; a member follows the link.
    sample = start_sample(
        client_id="MemberPortal", client_secret=secret, launch_path="/Members/MemberPortal.aspx"
    )
    member = new_page("member")
    member.goto(url)
    expect(member.get_by_role("heading", name="Sign In")).to_be_visible()
    fill_sign_in(member, MEMBER, MEMBER_PASSWORD)
    expect_signed_in_to_sample(member, sample.url)


def test_member_signs_in_and_lands_in_the_sample_app(
    new_page: NewPage, mock: Gunicorn, sample: Gunicorn, artifacts: Path
):
    """Scenario 2: signed out, open the SSO page, sign in, come back, get POSTed to the app."""
    member = new_page("member")
    requests: list[Request] = []
    member.on("request", lambda request: requests.append(request))

    # A redirect_uri in the link is ignored: the form goes to the registered URL only.
    member.goto(mock.url + "/SampleApp.aspx?redirect_uri=https://evil.example/sso")
    expect(member).to_have_url(re.compile(r"/SignIn\?next=/SampleApp\.aspx"))
    expect(member.get_by_role("heading", name="Sign In")).to_be_visible()
    screenshot(member, artifacts, "member-sign-in")
    fill_sign_in(member, MEMBER, MEMBER_PASSWORD)
    expect_signed_in_to_sample(member, sample.url)
    screenshot(member, artifacts, "sample-app-signed-in")

    documents = [r for r in requests if r.resource_type == "document"]
    paths = [(r.method, r.url.split("?")[0]) for r in documents]
    assert paths == [
        ("GET", mock.url + "/SampleApp.aspx"),
        ("GET", mock.url + "/SignIn"),
        ("POST", mock.url + "/SignIn"),
        ("GET", mock.url + "/SampleApp.aspx"),
        ("POST", sample.url + "/sso"),
        ("GET", sample.url + "/"),
    ]
    handoff = documents[4]
    form = parse_qs(handoff.post_data)
    assert list(form) == ["refresh_token"]
    token = form["refresh_token"][0]
    assert all(token not in r.url for r in requests)
    assert not any(urlsplit(r.url).hostname == "evil.example" for r in requests)

    # Two sites, two cookie jars: each session cookie is HttpOnly and SameSite=Lax.
    cookies = {c["name"]: c for c in member.context.cookies()}
    assert cookies["imis_session"]["domain"] == "127.0.0.1"
    assert cookies["sample_session"]["domain"] == "localhost"
    for name in ("imis_session", "sample_session"):
        assert cookies[name]["httpOnly"]
        assert cookies[name]["sameSite"] == "Lax"
