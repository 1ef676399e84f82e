"""Staff look at a contact's activities and groups, and at a group's members, in Chromium."""

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.chromium import screenshot
from tests.support.chromium_flows import staff_nav, staff_sign_in, unnamed_controls
from tests.support.servers import Server

NewPage = Callable[[str], Page]


def test_staff_see_activities_and_group_members(new_page: NewPage, mock: Server, artifacts: Path):
    staff = new_page("staff")
    staff_sign_in(staff, mock.url)

    # A contact's Activities tab shows the course completion an LMS wrote.
    staff_nav(staff).get_by_role("link", name="Contacts").click()
    staff.get_by_label("Find contacts by name, ID or email").fill("Jane Smith")
    staff.get_by_role("button", name="Find").click()
    staff.get_by_role("link", name="Smith, Jane").click()
    tabs = staff.get_by_role("navigation", name="Contact")
    tabs.get_by_role("link", name="Activities").click()
    expect(tabs.get_by_role("link", name="Activities")).to_have_attribute("aria-current", "page")
    course = staff.get_by_role("row").filter(has_text="Course completed: Ethics in Practice")
    expect(course).to_contain_text("2026-11-20")
    expect(course).to_contain_text("LMS")
    expect(course).to_contain_text("ETHICS101")
    assert unnamed_controls(staff) == []
    screenshot(staff, artifacts, "contact-activities")

    # Her Groups tab leads to the group's own page, which lists its members and their roles.
    tabs.get_by_role("link", name="Groups").click()
    expect(staff.get_by_role("row").filter(has_text="Board of Directors")).to_contain_text("Chair")
    staff.get_by_role("link", name="Board of Directors").click()
    expect(staff.get_by_role("heading", name="Board of Directors", level=1)).to_be_visible()
    vice_chair = staff.get_by_role("row").filter(has_text="Jones, Robert")
    expect(vice_chair).to_contain_text("Vice Chair (2022-01-15 to …), Member")

    # Staff add a member in a role; the page shows them at once.
    staff.get_by_label("iMIS ID").fill("23181")
    staff.get_by_label("Role").select_option(label="Secretary")
    staff.get_by_role("button", name="Add member").click()
    expect(staff.get_by_text("Member added.")).to_be_visible()
    expect(staff.get_by_role("row").filter(has_text="Patel, Anika")).to_contain_text("Secretary")
    assert unnamed_controls(staff) == []
    screenshot(staff, artifacts, "group-members")
