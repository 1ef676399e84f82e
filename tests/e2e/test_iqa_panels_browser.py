"""Staff define a panel source and a query in Chromium, an app writes a row through the API,
and the query's Run tab shows it (issue 16)."""

from collections.abc import Callable
from pathlib import Path

import requests
from playwright.sync_api import Page, expect

from tests.support.chromium import screenshot
from tests.support.chromium_flows import staff_nav, staff_sign_in, unnamed_controls
from tests.support.data import STAFF_PASSWORD
from tests.support.servers import Server

NewPage = Callable[[str], Page]
CORE = "Asi.Soa.Core.DataContracts"


def prop(name, value):
    return {"$type": f"{CORE}.GenericPropertyData, Asi.Contracts", "Name": name, "Value": value}


def test_define_a_panel_and_a_query_then_run_it(new_page: NewPage, mock: Server, artifacts: Path):
    staff = new_page("staff")
    staff_sign_in(staff, mock.url)

    # RiSE > Panel designer: a multi-instance panel over parties, with two typed properties.
    staff_nav(staff).get_by_role("link", name="Panel designer").click()
    staff.get_by_role("link", name="New panel source").click()
    staff.get_by_label("Name", exact=True).fill("Volunteer")
    staff.get_by_label("Parent").select_option(label="Party")
    staff.get_by_label("Multi instance").check()
    staff.get_by_label("Property name").fill("Role")
    staff.get_by_role("button", name="Add property").click()
    staff.get_by_label("Property name").nth(1).fill("Hours")
    staff.get_by_label("Type").nth(1).select_option(label="Decimal")
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_text("Panel source Volunteer saved")).to_be_visible()
    assert unnamed_controls(staff) == []

    # RiSE > Intelligent Query Architect: a query over it, with a prompt.
    staff_nav(staff).get_by_role("link", name="Intelligent Query Architect").click()
    staff.get_by_role("link", name="New query", exact=True).click()
    staff.get_by_label("Name", exact=True).fill("Volunteers")
    staff.get_by_label("Folder").fill("$/Sites/Volunteering")
    staff.get_by_label("Source").select_option(label="Volunteer")
    staff.get_by_role("button", name="Add column").click()
    staff.get_by_label("Column", exact=True).nth(0).select_option("PartyId")
    staff.get_by_label("Alias").nth(0).fill("ID")
    staff.get_by_label("Column", exact=True).nth(1).select_option("Role")
    staff.get_by_role("button", name="Add column").click()
    staff.get_by_label("Column", exact=True).nth(2).select_option("Hours")
    staff.get_by_role("button", name="Add filter").click()
    staff.get_by_label("Property", exact=True).select_option("Role")
    staff.get_by_label("Operator").select_option(label="StartsWith")
    staff.get_by_label("Prompt").fill("Role starts with")
    staff.get_by_label("Required").check()
    staff.get_by_role("button", name="Save").click()
    expect(staff.get_by_text("Query $/Sites/Volunteering/Volunteers saved.")).to_be_visible()
    assert unnamed_controls(staff) == []

    # An app writes a row through the API, with a token from /token.
    token = requests.post(
        mock.url + "/token",
        data={
            "grant_type": "password",
            "username": "MANAGER",
            "password": STAFF_PASSWORD,
        },
        timeout=30,
    ).json()["access_token"]
    body = {
        "$type": f"{CORE}.GenericEntityData, Asi.Contracts",
        "EntityTypeName": "Volunteer",
        "PrimaryParentEntityTypeName": "Party",
        "Properties": {
            "$type": f"{CORE}.GenericPropertyDataCollection, Asi.Contracts",
            "$values": [
                prop("PartyId", "23179"),
                prop("Role", "Usher"),
                prop("Hours", {"$type": "System.Decimal", "$value": 4.5}),
            ],
        },
    }
    created = requests.post(
        mock.url + "/api/Volunteer",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    assert created.json()["Identity"]["IdentityElements"]["$values"] == ["23179", "1"]

    # The Run tab shows it, with the URLs to call.
    staff.get_by_role("navigation", name="Query").get_by_role("link", name="Run").click()
    expect(staff.get_by_role("alert")).to_contain_text(
        "The parameter 'Role starts with' is required."
    )
    staff.get_by_label("Role starts with").fill("ush")
    staff.get_by_role("button", name="Run").click()
    row = staff.get_by_role("row").filter(has_text="Usher")
    expect(row).to_contain_text("23179")
    expect(row).to_contain_text("4.5")
    expect(staff.get_by_label("/api/query", exact=True)).to_have_value(
        f"{mock.url}/api/query?QueryName=$/Sites/Volunteering/Volunteers&parameter=ush&limit=20&offset=0"
    )
    assert unnamed_controls(staff) == []
    # README's "Define your iMIS" shows this page (screenshots/iqa-run.png is copied from here).
    screenshot(staff, artifacts, "iqa-run")

    # The contact page's Panels tab shows the same row.
    staff.goto(mock.url + "/staff/Contacts/23179/Panels")
    expect(staff.get_by_label("Role").first).to_have_value("Usher")
