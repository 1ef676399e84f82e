"""What people do in Chromium (Playwright): fields found by their labels, buttons by their text."""

import re

from playwright.sync_api import Page, expect

from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD

MEMBER = "jsmith"
# What the sample app shows once iMIS has told it who signed in.
SIGNED_IN_AS_JANE = "Signed in as Jane Smith (23179)"
SESSION_EXPIRED = "Your iMIS session has expired"
BACK_TO_IMIS = "Go back to iMIS and click the link again"

# Roles of form controls that must carry an accessible name.
CONTROL_ROLES = (
    "button",
    "checkbox",
    "combobox",
    "listbox",
    "radio",
    "searchbox",
    "slider",
    "spinbutton",
    "switch",
    "textbox",
)


def fill_sign_in(page: Page, username: str, password: str) -> None:
    """Fill iMIS's sign-in form (member or staff) and press Sign In."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign In", exact=True).click()


def staff_sign_in(page: Page, mock_url: str) -> None:
    """Open the Staff site and sign in as the demo staff user MANAGER."""
    page.goto(mock_url + "/staff/")
    expect(page.get_by_role("heading", name="Staff Sign In")).to_be_visible()
    fill_sign_in(page, "MANAGER", STAFF_PASSWORD)
    expect(staff_nav(page)).to_be_visible()


def member_sign_in(page: Page, mock_url: str) -> None:
    """Sign in to the member site as jsmith from its Sign In page."""
    page.goto(mock_url + "/SignIn")
    fill_sign_in(page, MEMBER, MEMBER_PASSWORD)
    expect(page.get_by_role("button", name="Sign Out")).to_be_visible()


def staff_nav(page: Page):
    return page.get_by_role("navigation", name="Staff navigation")


def open_qa_tab(page: Page, tab: str) -> None:
    """Staff site > QA console > one of its tabs."""
    staff_nav(page).get_by_role("link", name="QA console").click()
    page.get_by_role("navigation", name="QA console").get_by_role("link", name=tab).click()
    expect(page.get_by_role("heading", name=tab, level=1)).to_be_visible()


def launch_sample_app(page: Page, mock_url: str, sample_url: str) -> None:
    """A signed-in member opens the SampleApp record and lands in the sample app, signed in."""
    page.goto(mock_url + "/SampleApp.aspx")
    expect_signed_in_to_sample(page, sample_url)


def expect_signed_in_to_sample(page: Page, sample_url: str) -> None:
    expect(page).to_have_url(sample_url + "/")
    expect(page.get_by_role("heading", name=SIGNED_IN_AS_JANE)).to_be_visible()


def unnamed_controls(page: Page) -> list[str]:
    """Return the lines of the page's accessibility tree for form controls that have no name."""
    pattern = re.compile(r"^\s*- (" + "|".join(CONTROL_ROLES) + r")\b(.*)$")
    unnamed = []
    for line in page.locator("body").aria_snapshot().splitlines():
        match = pattern.match(line)
        if match and not match.group(2).lstrip().startswith(('"', "/")):
            unnamed.append(line.strip())
    return unnamed


def tab_to(page: Page, role: str, name: str, *, limit: int = 40) -> None:
    """Press Tab until the focus is on the control with this role and exact name."""
    target = page.get_by_role(role, name=name, exact=True)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate_all("(els) => els.includes(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached the {role} {name!r} on {page.url}")
