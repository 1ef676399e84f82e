"""Single Sign-On as people click through it in Chromium: staff, a member, QA.

Each test starts from a fresh copy of the demo database, with the mock on http://127.0.0.1:PORT
and the sample app on http://localhost:PORT2. Screenshots go to test-artifacts/e2e/.
"""

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.support.chromium import screenshot
from tests.support.chromium_flows import (
    BACK_TO_IMIS,
    MEMBER,
    MEMBER_PASSWORD,
    SESSION_EXPIRED,
    expect_signed_in_to_sample,
    fill_sign_in,
    launch_sample_app,
    member_sign_in,
    open_qa_tab,
    staff_nav,
    staff_sign_in,
    tab_to,
    unnamed_controls,
)
from tests.support.servers import Server

NewPage = Callable[[str], Page]


def test_staff_sets_up_single_sign_on(
    new_page: NewPage, mock: Server, start_sample, sample_port: int, artifacts: Path
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
    new_page: NewPage, mock: Server, sample: Server, artifacts: Path
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


@pytest.mark.parametrize("how", ["Expire now", "Clock"])
def test_expired_session_signs_in_again_from_imis(
    how: str, new_page: NewPage, mock: Server, sample: Server, artifacts: Path
):
    """Scenario 3: tokens expire; the app sends the member back to iMIS; no password is typed."""
    member = new_page("member")
    member_sign_in(member, mock.url)
    launch_sample_app(member, mock.url, sample.url)

    staff = new_page("staff")
    staff_sign_in(staff, mock.url)
    if how == "Expire now":
        open_qa_tab(staff, "Tokens")
        name = re.compile(rf"^Expire now: (refresh|access) token of {MEMBER} for SampleApp$")
        expire = staff.get_by_role("button", name=name)
        # The handed-off refresh token, the one the app got back from /token, its access token.
        for left in (3, 2, 1):
            expect(expire).to_have_count(left)
            expire.first.click()
        expect(expire).to_have_count(0)
    else:
        open_qa_tab(staff, "Clock")
        staff.get_by_label("Move the clock forward by (minutes)").fill("31")
        staff.get_by_role("button", name="Move forward").click()
        expect(staff.get_by_text("31.0 minutes ahead of real time")).to_be_visible()

    member.reload()
    expect(member.get_by_role("heading", name=SESSION_EXPIRED)).to_be_visible()
    screenshot(member, artifacts, "sample-app-session-expired")
    pages: list[str] = []
    member.on("request", lambda r: pages.append(r.url) if r.resource_type == "document" else None)
    member.get_by_role("link", name=BACK_TO_IMIS).click()
    expect_signed_in_to_sample(member, sample.url)
    assert [url.split("?")[0] for url in pages] == [
        mock.url + "/SampleApp.aspx",
        sample.url + "/sso",
        sample.url + "/",
    ]


def test_sample_app_shows_the_error_the_mock_was_told_to_give(
    new_page: NewPage, mock: Server, sample: Server, artifacts: Path
):
    """Scenario 4: QA console > Fault injection makes /token fail; the app shows iMIS's error."""
    member = new_page("member")
    member_sign_in(member, mock.url)
    staff = new_page("staff")
    staff_sign_in(staff, mock.url)
    open_qa_tab(staff, "Fault injection")
    panel = staff.get_by_role("region", name="SampleApp")
    expect(panel).to_contain_text("No fault.")

    shown = {
        "Answer invalid_grant": "iMIS answered HTTP 400: invalid_grant: "
        "The refresh token is invalid or has expired.",
        "Answer invalid_client": "iMIS answered HTTP 400: invalid_client: "
        "The client credentials are invalid.",
        "Answer HTTP 500": "iMIS answered HTTP 500: http_500",
    }
    for fault, error in shown.items():
        panel.get_by_label("Fault", exact=True).select_option(label=fault)
        panel.get_by_label("For the next N requests").fill("1")
        panel.get_by_role("button", name="Turn on").click()
        expect(panel).to_contain_text("for the next 1 request(s)")
        if fault == "Answer invalid_grant":
            screenshot(staff, artifacts, "qa-fault-injection")

        member.goto(mock.url + "/SampleApp.aspx")
        expect(member.get_by_role("heading", name="iMIS refused the sign-in")).to_be_visible()
        expect(member.get_by_text(error)).to_be_visible()
        if fault == "Answer invalid_grant":
            screenshot(member, artifacts, "sample-app-imis-error")
        staff.reload()
        expect(panel).to_contain_text("No fault.")

    # A delay only slows /token down: the member gets in, and the fault is used up.
    panel.get_by_label("Fault", exact=True).select_option(label="Delay the answer")
    panel.get_by_label("Delay (seconds)").fill("1")
    panel.get_by_label("For the next N requests").fill("1")
    panel.get_by_role("button", name="Turn on").click()
    expect(panel).to_contain_text("delay (1 s), for the next 1 request(s)")
    member.get_by_role("link", name=BACK_TO_IMIS).click()
    expect_signed_in_to_sample(member, sample.url)
    staff.reload()
    expect(panel).to_contain_text("No fault.")


def test_member_signs_in_and_launches_the_app_with_the_keyboard_only(
    new_page: NewPage, mock: Server, sample: Server, artifacts: Path
):
    """Scenario 5: Tab, Enter and Space only; every form control on the way has a name."""
    member = new_page("member")
    unnamed: dict[str, list[str]] = {}

    def check_names() -> None:
        if found := unnamed_controls(member):
            unnamed[member.url] = found

    member.goto(mock.url + "/")
    check_names()
    tab_to(member, "link", "Sign In")
    member.keyboard.press("Enter")
    expect(member.get_by_role("heading", name="Sign In")).to_be_visible()
    check_names()
    expect(member.get_by_label("Username")).to_be_focused()
    member.keyboard.type(MEMBER)
    member.keyboard.press("Tab")
    expect(member.get_by_label("Password", exact=True)).to_be_focused()
    member.keyboard.type(MEMBER_PASSWORD)
    member.keyboard.press("Tab")
    expect(member.get_by_label("Keep me signed in")).to_be_focused()
    member.keyboard.press("Space")
    expect(member.get_by_label("Keep me signed in")).to_be_checked()
    member.keyboard.press("Tab")
    expect(member.get_by_role("button", name="Sign In", exact=True)).to_be_focused()
    member.keyboard.press("Enter")

    expect(member.get_by_role("button", name="Sign Out")).to_be_visible()
    check_names()
    tab_to(member, "link", "Launch Sample App")
    member.keyboard.press("Enter")
    expect_signed_in_to_sample(member, sample.url)
    check_names()
    tab_to(member, "button", "Sign out of Sample App")
    member.keyboard.press("Enter")
    expect(member.get_by_role("heading", name="Not signed in")).to_be_visible()
    check_names()
    assert unnamed == {}


def test_every_form_control_has_an_accessible_name(new_page: NewPage, mock: Server, sample: Server):
    """Scenario 5, continued: every page a member or staff can reach by links names its controls."""
    member = new_page("member")
    member_sign_in(member, mock.url)
    launch_sample_app(member, mock.url, sample.url)  # so the QA console lists tokens
    staff = new_page("staff")
    staff.goto(mock.url + "/staff/SignIn")
    unnamed: dict[str, list[str]] = {}
    if found := unnamed_controls(staff):
        unnamed[staff.url] = found
    staff_sign_in(staff, mock.url)

    for page, start in [(member, "/"), (staff, "/staff/")]:
        for url in crawl(page, mock.url, start):
            if found := unnamed_controls(page):
                unnamed[url] = found
    assert unnamed == {}


def crawl(page: Page, origin: str, start: str, *, limit: int = 60) -> Iterator[str]:
    """Visit each kind of page linked from `start` (GET only: GETs change nothing here)."""
    seen = {origin + start}
    queue = [origin + start]
    while queue:
        url = queue.pop(0)
        page.goto(url)
        yield url
        if not page.url.startswith(origin):
            continue  # a hand-off took the browser to the sample app
        hrefs = page.locator("a[href]").evaluate_all("(links) => links.map((a) => a.href)")
        for href in hrefs:
            href = href.split("#")[0]
            shape = re.sub(r"/\d+", "/N", href)  # one page of each kind: records, items ...
            if href.startswith(origin) and shape not in seen and "/static/" not in href:
                seen.add(shape)
                queue.append(href)
        assert len(seen) <= limit, f"more than {limit} pages: {sorted(seen)}"
