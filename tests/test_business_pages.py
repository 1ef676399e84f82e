"""The pages that show what clients wrote through the API on sdk-demo: the Staff site's Events
area and the contact's Registrations, Orders/Invoices and Notes tabs, the member's My Account,
the QA console's Communications ("would have sent"), and `flask load-demo --scenario`."""

import pytest

from imis_mock.extensions import db
from imis_mock.scenarios import SCENARIOS
from imis_mock.services import events, records, scenario
from tests.support.apps import sign_in
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD


@pytest.fixture
def sdk_app(app):
    text = SCENARIOS["sdk-demo"].read_text(encoding="utf-8")
    with app.app_context():
        scenario.load(scenario.parse(text), text=text)
    return app


@pytest.fixture
def staff(sdk_app):
    client = sdk_app.test_client()
    assert sign_in(client, "MANAGER", STAFF_PASSWORD, site="staff").status_code == 303
    return client


def test_events_list_and_event_page_show_registrants(staff, sdk_app):
    page = staff.get("/staff/Events/").get_data(as_text=True)
    assert "Annual Conference" in page and "OLDGALA" in page
    with sdk_app.app_context():
        events.register("ANNCONF", "101", option_id="REGOPTION1")
        db.session.commit()
    page = staff.get("/staff/Events/ANNCONF").get_data(as_text=True)
    assert "Erica Taber" in page and "Douglas Hunt" in page
    assert "ANNCONF/BREAK" in page and "Registered" in page
    assert staff.get("/staff/Events/NOSUCH").status_code == 404


def test_contact_tabs_list_registrations_invoices_notes(staff):
    registrations = staff.get("/staff/Contacts/147/Registrations").get_data(as_text=True)
    assert "ANNCONF-147" in registrations
    invoices = staff.get("/staff/Contacts/101/Invoices").get_data(as_text=True)
    assert "Regular membership dues" in invoices and "150.0" in invoices
    notes = staff.get("/staff/Contacts/101/Notes").get_data(as_text=True)
    assert "Renewal call" in notes
    overview = staff.get("/staff/Contacts/101").get_data(as_text=True)
    assert "Orders/Invoices" in overview and "Registrations" in overview
    assert "No notes." in staff.get("/staff/Contacts/147/Notes").get_data(as_text=True)


def test_member_pages_are_staff_only(sdk_app):
    client = sdk_app.test_client()
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    assert client.get("/staff/Events/").status_code in (302, 303, 403)
    assert client.get("/staff/QA/Communications").status_code in (302, 303, 403)


def test_my_account_shows_own_registrations_and_invoices(sdk_app):
    with sdk_app.app_context():
        events.register("ANNCONF", "101", option_id="ANNCONF/REGOPTION2")
        db.session.commit()
    client = sdk_app.test_client()
    assert sign_in(client, "dhunt", MEMBER_PASSWORD).status_code == 303
    page = client.get("/MyAccount").get_data(as_text=True)
    assert "Annual Conference" in page and "395.00" in page and "150.00" in page
    other = sdk_app.test_client()
    assert sign_in(other, "etaber", MEMBER_PASSWORD).status_code == 303
    page = other.get("/MyAccount").get_data(as_text=True)
    assert "Annual Conference" in page and "Regular membership dues" not in page


def test_qa_console_lists_communications_as_would_have_sent(staff, sdk_app):
    with sdk_app.app_context():
        records.put(
            "Communication",
            "C1",
            {
                "Name": "Renewal notice",
                "Subject": "Renew now",
                "Recipients": {"$values": [{"PartyId": "101"}, {"Email": "x@example.org"}]},
            },
        )
        db.session.commit()
    page = staff.get("/staff/QA/Communications").get_data(as_text=True)
    assert "Renewal notice" in page
    assert "Would have sent to" in page
    assert "Douglas Hunt &lt;prodigymakers@imisdemo.com&gt;" in page and "x@example.org" in page


def test_load_demo_scenario_sdk_demo(app, runner):
    result = runner.invoke(args=["load-demo", "--scenario", "sdk-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert records.find("EventRegistration", "annconf-147") is not None
        assert records.find("Item", "REGULAR_MEMBERSHIP_FEES/ACT") is not None
    result = runner.invoke(args=["load-demo", "--scenario", "nope"])
    assert result.exit_code != 0 and "sdk-demo" in result.output


def test_scenario_export_round_trips_business_records(sdk_app):
    with sdk_app.app_context():
        functions = len(records.of_entity("EventFunction"))
        document = scenario.export(include_secrets=True)
        assert document["business_records"]["Event"][0]["EventId"] == "ANNCONF"
        assert "EventFunction" not in document["business_records"]
        scenario.load(document)
        # ANNCONF's BREAK, REGOPTION1, REGOPTION2 and EDUQ4's SEMMAIN, made again from events.
        assert len(records.of_entity("EventFunction")) == functions == 4


def test_scenario_with_a_bad_record_loads_nothing(app):
    document = {
        "version": 1,
        "business_records": {
            "EventRegistration": [{"EventRegistrationId": "X-1", "PartyId": "424242"}]
        },
    }
    with app.app_context(), pytest.raises(scenario.ScenarioError) as error:
        scenario.load(document)
    assert "party '424242' was not found" in str(error.value)
    with app.app_context():
        assert records.of_entity("EventRegistration") == []
