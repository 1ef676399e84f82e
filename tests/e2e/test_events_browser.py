"""Staff see in Chromium what a client wrote through the API on sdk-demo: a registration made
with RegisterEvent shows on the event's page, and on the registrant's Registrations and
Orders/Invoices tabs."""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.support.chromium import screenshot
from tests.support.chromium_flows import staff_nav, staff_sign_in, unnamed_controls
from tests.support.data import STAFF_PASSWORD
from tests.support.servers import Server, flask_cli, mock_env

NewPage = Callable[[str], Page]


@pytest.fixture
def sdk_mock(tmp_path: Path, template_instance: Path):
    instance = tmp_path / "sdk-demo"
    shutil.copytree(template_instance, instance)
    flask_cli(instance, "load-demo", "--scenario", "sdk-demo", env=mock_env(instance))
    server = Server("app:app", mock_env(instance), log=tmp_path / "sdk-mock.log")
    with server:
        yield server


def register(url: str, event: str, party: str, option: str) -> dict:
    token = requests.post(
        url + "/token",
        data={"grant_type": "password", "username": "MANAGER", "password": STAFF_PASSWORD},
        timeout=30,
    ).json()["access_token"]
    body = {
        "$type": "Asi.Soa.Events.DataContracts.EventRegistrationRequest, Asi.Contracts",
        "EntityTypeName": "EventRegistration",
        "OperationName": "RegisterEvent",
        "EventId": event,
        "RegistrationOptionFunctionId": option,
        "RegistrantId": party,
    }
    response = requests.post(
        url + "/api/EventRegistration/_execute",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["Result"]


def test_staff_see_a_registration_made_through_the_api(
    new_page: NewPage, sdk_mock: Server, artifacts: Path
):
    result = register(sdk_mock.url, "ANNCONF", "101", "ANNCONF/REGOPTION2")
    invoice = result["AdditionalAttributes"]["$values"][0]["Value"]

    staff = new_page("staff")
    staff_sign_in(staff, sdk_mock.url)
    staff_nav(staff).get_by_role("link", name="Events").click()
    staff.get_by_role("link", name="ANNCONF").click()
    expect(staff.get_by_role("heading", name="Annual Conference", level=1)).to_be_visible()
    expect(staff.get_by_role("row").filter(has_text="ANNCONF-147")).to_contain_text("Erica Taber")
    row = staff.get_by_role("row").filter(has_text="ANNCONF-101")
    expect(row).to_contain_text("Registered")
    expect(row).to_contain_text(invoice)
    assert unnamed_controls(staff) == []
    screenshot(staff, artifacts, "event-registrants")

    row.get_by_role("link").click()
    tabs = staff.get_by_role("navigation", name="Contact")
    tabs.get_by_role("link", name="Registrations").click()
    expect(staff.get_by_role("row").filter(has_text="ANNCONF-101")).to_contain_text("Registered")
    tabs.get_by_role("link", name="Orders/Invoices").click()
    expect(staff.get_by_role("row").filter(has_text=invoice)).to_contain_text("395.0")
    tabs.get_by_role("link", name="Notes").click()
    expect(staff.get_by_role("row").filter(has_text="Renewal call")).to_be_visible()
    screenshot(staff, artifacts, "contact-invoices")
