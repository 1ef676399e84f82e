"""The Single Sign-On set-up and hand-off as people do them in a browser, over real HTTP.

Shared by the whole-flow, sample-app and masking tests. Every step follows the links and posts the
forms of the pages (CSRF tokens included), as the iMIS help describes the set-up.
"""

import re
from dataclasses import dataclass
from urllib.parse import urljoin

import requests

from tests.support.browser import Browser, Page
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD


def sign_in(browser: Browser, username: str, password: str, *, site: str = "member") -> Page:
    page = browser.get("/staff/SignIn" if site == "staff" else "/SignIn")
    form = page.form_with("password")
    page = browser.submit(page, form, "Sign In", username=username, password=password)
    assert page.status == 200 and "password" not in page.forms[-1].names(), page.text[:500]
    return page


@dataclass
class SsoSetup:
    client_id: str
    secret: str
    redirect_url: str
    lifetime: int
    page_path: str  # the published record, e.g. /Members/Launch.aspx


def staff_sets_up_sso(
    base_url: str,
    *,
    client_id: str = "FlowApp",
    secret: str = "Flow-App-secret-7f3k-Zq7Lm3Vx9Rt",
    redirect_url: str = "https://flow.example.com/sso",
    lifetime: int = 30,
    title: str = "Launch Flow App",
    file_name: str = "LaunchFlowApp",
    requires_login: bool = True,
) -> SsoSetup:
    """Staff register a client application and publish a record with its Single Sign-On item."""
    staff = Browser(base_url)
    home = sign_in(staff, "MANAGER", STAFF_PASSWORD, site="staff")

    # RiSE > Maintenance > Client applications > Add client application.
    page = staff.get(home.link("Client applications"))
    page = staff.get(page.link("Add client application"))
    form = page.form_with("client_id")
    page = staff.submit(
        page,
        form,
        "Save",
        client_id=client_id,
        client_secret=secret,
        refresh_token_lifetime=str(lifetime),
        redirect_url=redirect_url,
    )
    assert page.status == 200 and f"Client application {client_id} was saved." in page.text

    # RiSE > Page Builder > Manage content > New > Website Content.
    page = staff.get(home.link("Manage content"))
    page = staff.get(page.link("Website Content"))
    page = staff.submit(
        page, page.form_with("title"), "OK", title=title, publish_file_name=file_name
    )
    assert page.status == 200 and "(a draft)" in page.text
    editor_url = page.url

    # Add content > Contact > Single Sign-On: Name, Client application, OK.
    picker = staff.get(page.link("Add content"))
    assert picker.text.index("Contact") < picker.text.index("Single Sign-On")
    page = staff.get(picker.link("Single Sign-On"))
    form = page.form_with("client_application")
    page = staff.submit(page, form, "OK", name="Flow SSO", client_application=client_id)
    assert page.status == 200 and page.url == editor_url, page.text[:500]

    # Properties, then Save & Publish.
    form = page.form_with("title")
    page = staff.submit(
        page, form, "Save & Publish", is_secure=requires_login, requires_login=requires_login
    )
    assert page.status == 200 and "Saved and published." in page.text
    # Generate Full URL: the address staff link to.
    page = staff.get(page.link("Generate Full URL"))
    full_url = re.search(r'id="full-url" value="([^"]+)"', page.response.text).group(1)
    assert full_url.startswith(base_url + "/"), full_url
    return SsoSetup(client_id, secret, redirect_url, lifetime, full_url[len(base_url) :])


@dataclass
class Handoff:
    action: str
    fields: list[tuple[str, str]]  # what the browser POSTs to the action
    response: requests.Response

    @property
    def refresh_token(self) -> str:
        return dict(self.fields)["refresh_token"]


def open_sso_page(browser: Browser, path: str) -> Handoff:
    """GET the published record and read its auto-POST form, as the browser's script would."""
    page = browser.get(path)
    assert page.status == 200, page.text[:500]
    [form] = [form for form in page.forms if "SignOut" not in form.action]
    assert form.method == "post"
    return Handoff(urljoin(page.url, form.action), form.fields, page.response)


def member_opens_sso_page(base_url: str, path: str, username: str = "jsmith") -> Handoff:
    browser = Browser(base_url)
    sign_in(browser, username, MEMBER_PASSWORD)
    return open_sso_page(browser, path)


def redeem(base_url: str, setup: SsoSetup, refresh_token: str, **extra) -> requests.Response:
    """POST /token as a third-party application does (no cookies, credentials in the body)."""
    data = {
        "grant_type": "refresh_token",
        "client_id": setup.client_id,
        "client_secret": setup.secret,
        "refresh_token": refresh_token,
        **extra,
    }
    return requests.post(
        f"{base_url}/token", data=data, headers={"Accept": "application/json"}, timeout=30
    )


def api_get(base_url: str, path: str, access_token: str, **params) -> requests.Response:
    return requests.get(
        f"{base_url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=30,
    )
