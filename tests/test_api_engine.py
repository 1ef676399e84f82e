"""The business-object engine over real HTTP: writes, filters, paging, errors, routing, access.

Every entity kind the catalog has is exercised through the same route set: the Party family
(numeric ids, subtypes, ComboPartyData), User (text ids, _execute), PartyStatus (a plain entity:
a catalog entry and a table, nothing else). Runs on SQLite and on PostgreSQL.
"""

import copy
import json

import pytest
import requests
from sqlalchemy import func, select

from imis_mock.api import catalog
from imis_mock.api.engine import filters
from imis_mock.extensions import db
from imis_mock.models import AuditEvent, Contact, PartyStatus
from imis_mock.services import audit
from tests.support.api import mint
from tests.support.apps import make_app, sign_in
from tests.support.data import MEMBER_PASSWORD, database_dump
from tests.support.servers import LiveServer

MEMBERSHIP = "Asi.Soa.Membership.DataContracts"
CORE = "Asi.Soa.Core.DataContracts"
INVALID = {"Message": "The request is invalid."}
DENIED = {"Message": "Authorization has been denied for this request."}

# Reference §3.2, trimmed: PM-V2.1's POST /api/Party body.
COMBO_PARTY = {
    "$type": f"{MEMBERSHIP}.ComboPartyData, Asi.Contracts",
    "OrganizationName": "Prodigy Makers International",
    "PersonName": {
        "$type": f"{MEMBERSHIP}.PersonNameData, Asi.Contracts",
        "FirstName": "Douglas",
        "InformalName": "Doug",
        "LastName": "Hunt",
        "MiddleName": "A.",
        "NamePrefix": "Mr.",
        "NameSuffix": "Jr.",
        "FullName": "Mr. Douglas A. Hunt, Jr.",
    },
    "PrimaryOrganization": {
        "$type": f"{MEMBERSHIP}.PrimaryOrganizationInformationData, Asi.Contracts",
        "Name": "Prodigy Makers International",
        "Title": "President",
    },
    "AdditionalAttributes": {
        "$type": f"{CORE}.GenericPropertyDataCollection, Asi.Contracts",
        "$values": [
            {
                "$type": f"{CORE}.GenericPropertyData, Asi.Contracts",
                "Name": "CustomerTypeCode",
                "Value": "CM",
            },
            {
                "$type": f"{CORE}.GenericPropertyData, Asi.Contracts",
                "Name": "JoinDate",
                "Value": {"$type": "System.DateTime", "$value": "2015-08-03T00:00:00"},
            },
        ],
    },
    "Addresses": {
        "$type": f"{MEMBERSHIP}.FullAddressDataCollection, Asi.Contracts",
        "$values": [
            {
                "$type": f"{MEMBERSHIP}.FullAddressData, Asi.Contracts",
                "Address": {
                    "$type": f"{MEMBERSHIP}.AddressData, Asi.Contracts",
                    "AddressLines": {
                        "$type": f"{MEMBERSHIP}.AddressLineDataCollection, Asi.Contracts",
                        "$values": ["P.O. Box 4564"],
                    },
                    "CityName": "Newark",
                    "CountryCode": "US",
                    "CountrySubEntityCode": "NJ",
                    "PostalCode": "07107-2564",
                },
                "AddressPurpose": "Address",
                "Email": "prodigymakers@imisdemo.com",
                "Phone": "(201) 898-9000",
            }
        ],
    },
    "Emails": {
        "$type": f"{MEMBERSHIP}.EmailDataCollection, Asi.Contracts",
        "$values": [
            {
                "$type": f"{MEMBERSHIP}.EmailData, Asi.Contracts",
                "Address": "prodigymakers@imisdemo.com",
                "EmailType": "Address",
            }
        ],
    },
    "Phones": {
        "$type": f"{MEMBERSHIP}.PhoneDataCollection, Asi.Contracts",
        "$values": [
            {
                "$type": f"{MEMBERSHIP}.PhoneData, Asi.Contracts",
                "Number": "(201) 898-9000",
                "PhoneType": "_Work Phone",
            }
        ],
    },
    "UniformId": "5a8151eb-a601-4230-84d1-fa95f63af7c8",
    "Status": {
        "$type": f"{MEMBERSHIP}.PartyStatusData, Asi.Contracts",
        "PartyStatusId": "A",
        "Name": "Active",
    },
    "Name": "Prodigy Makers International",
}


class Api:
    """requests against the live server, with a bearer token for the named user."""

    def __init__(self, app, url: str):
        self.app, self.url, self.tokens = app, url, {}

    def __call__(self, method: str, path: str, user: str = "MANAGER", **kwargs):
        if user not in self.tokens:
            self.tokens[user] = mint(self.app, user)
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **kwargs.pop("headers", {})}
        return requests.request(
            method, self.url + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )


@pytest.fixture
def api(app, live_server):
    return Api(app, live_server.url)


def stored(app) -> list[str]:
    """Every row but the journal's and the tokens' (API calls add those): what a write changes."""
    audit.flush()
    skip = ("audit_events:", "access_tokens:")
    return [line for line in database_dump(app).splitlines() if not line.startswith(skip)]


def party_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Contact.id)))


def last_api_call(app) -> dict:
    audit.flush()
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).filter_by(action="api.call").order_by(AuditEvent.id.desc())
        ).first()
        return {"outcome": event.outcome, "code": event.error_code, **json.loads(event.detail)}


# --- Party family: create, read back, replace, delete -----------------------------------------


def test_create_combo_party_then_read_it_back_everywhere(app, api):
    before = party_count(app)
    response = api("POST", "/api/Party", json=COMBO_PARTY)
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    created = response.json()
    assert created["$type"] == f"{MEMBERSHIP}.PersonData, Asi.Contracts"
    party_id = created["Id"]
    assert party_id.isdigit() and created["PartyId"] == party_id
    # iMIS assigns a new UniformId [I, §3.2]; the name parts and address are stored.
    assert created["UniformId"] != COMBO_PARTY["UniformId"]
    assert created["PersonName"]["FullName"] == "Mr. Douglas A. Hunt, Jr."
    assert created["PersonName"]["MiddleName"] == "A."
    address = created["Addresses"]["$values"][0]["Address"]
    assert (address["CityName"], address["PostalCode"]) == ("Newark", "07107-2564")
    attributes = {a["Name"]: a["Value"] for a in created["AdditionalAttributes"]["$values"]}
    assert attributes["JoinDate"] == "2015-08-03T00:00:00"
    assert created["PrimaryOrganization"]["Title"] == "President"
    assert party_count(app) == before + 1
    # Read back: the same record from /api/Party, /api/Person and the summary.
    assert api("GET", f"/api/Party/{party_id}").json() == created
    assert api("GET", f"/api/Person/{party_id}").json() == created
    summary = api("GET", f"/api/PartySummary/{party_id}").json()
    assert summary["Name"] == "Douglas Hunt" and summary["Email"] == "prodigymakers@imisdemo.com"
    found = api("GET", "/api/Party?lastname=eq:HUNT").json()
    assert [p["Id"] for p in found["Items"]["$values"]] == [party_id]
    # The staff site reads the same rows.
    staff = app.test_client()
    sign_in(staff, "MANAGER", "Staff-Demo-2026", site="staff")
    page = staff.get(f"/staff/Contacts/{party_id}").get_data(as_text=True)
    assert "Mr. Douglas A. Hunt, Jr." in page


def test_organization_with_staff(api):
    organization = {
        "$type": f"{MEMBERSHIP}.OrganizationData, Asi.Contracts",
        "OrganizationName": "Harbour Trust",
        "emails": {"$values": [{"address": "info@harbour.example.org"}]},
    }
    response = api("POST", "/api/Party", json=organization)
    assert response.status_code == 201, response.text
    org = response.json()
    assert org["$type"] == f"{MEMBERSHIP}.OrganizationData, Asi.Contracts"
    assert org["Name"] == org["OrganizationName"] == "Harbour Trust"
    assert "PersonName" not in org
    person = {
        "$type": f"{MEMBERSHIP}.PersonData, Asi.Contracts",
        # No $type below the top level [C: iMIS-bits example.py].
        "PersonName": {"FirstName": "Ann", "LastName": "Lee"},
        "PrimaryOrganization": {"OrganizationPartyId": org["Id"], "Title": "Teacher"},
        "Email": "ann.lee@example.org",
    }
    response = api("POST", "/api/Person", json=person)
    assert response.status_code == 201, response.text
    employer = response.json()["PrimaryOrganization"]
    assert employer["OrganizationPartyId"] == org["Id"]
    assert employer["Name"] == "Harbour Trust" and employer["Title"] == "Teacher"
    # /api/Person holds no organizations; the demo's Versaton employs jsmith and Liam Ortiz.
    assert api("GET", f"/api/Person/{org['Id']}").status_code == 404
    versaton = api("GET", "/api/Party?Organization=Versaton&IsOrganization=false").json()
    assert sorted(p["Id"] for p in versaton["Items"]["$values"]) == ["23179", "23183"]
    bad = dict(person, PrimaryOrganization={"OrganizationPartyId": "23179"})
    response = api("POST", "/api/Person", json=bad)
    assert response.status_code == 400
    assert "no organization" in response.json()["Errors"]["$values"][0]["Message"]


def test_renaming_an_organization_renames_it_for_its_staff(api):
    body = api("GET", "/api/Party/23100").json()
    body["OrganizationName"] = body["Name"] = "Versaton Group"
    response = api("PUT", "/api/Party/23100", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["OrganizationName"] == "Versaton Group"
    for person in ("23179", "23183"):
        employer = api("GET", f"/api/Party/{person}").json()["PrimaryOrganization"]
        assert employer["OrganizationPartyId"] == "23100"
        assert employer["Name"] == "Versaton Group"


def test_member_replaces_own_party_and_my_account_shows_it(app, api):
    body = api("GET", "/api/Party/23179", user="jsmith").json()
    changed = copy.deepcopy(body)
    changed["PersonName"]["InformalName"] = "Janie"
    changed["Emails"]["$values"][0]["Address"] = "jane.smith@example.org"
    response = api("PUT", "/api/Party/23179", user="jsmith", json=changed)
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["PersonName"]["InformalName"] == "Janie"
    assert api("GET", "/api/Party/23179", user="jsmith").json() == stored
    # Everything else survived the round trip (the address repeats the primary email).
    for key in ("AdditionalAttributes", "PrimaryOrganization", "Status", "UniformId"):
        assert stored[key] == body[key], key
    address = stored["Addresses"]["$values"][0]
    assert address["Email"] == "jane.smith@example.org"
    assert address["Address"] == body["Addresses"]["$values"][0]["Address"]
    member = app.test_client()
    assert sign_in(member, "jsmith", MEMBER_PASSWORD).status_code == 303
    assert "jane.smith@example.org" in member.get("/MyAccount").get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/Party/23180", "other"),  # another member's party
        ("PUT", "/api/Person/23100", "other"),
        ("POST", "/api/Party", "new"),  # a new party is not the member's own
        ("DELETE", "/api/Party/23179", None),  # members may not delete even their own
        ("DELETE", "/api/Party/23180", None),
        ("POST", "/api/PartyStatus", "status"),  # shared data: staff only
        ("POST", "/api/User", "user"),
    ],
)
def test_member_writes_to_others_are_refused_and_change_nothing(app, api, method, path, body):
    before = stored(app)
    payloads = {
        "other": api("GET", "/api/Party/23180").json(),
        "new": COMBO_PARTY,
        "status": {"PartyStatusId": "X", "Name": "Gone"},
        "user": {"UserName": "lortiz", "Party": {"PartyId": "23183"}},
        None: None,
    }
    response = api(method, path, user="jsmith", json=payloads[body])
    assert response.status_code == 403
    assert response.json() == DENIED
    assert stored(app) == before


def test_member_cannot_move_own_party_to_another_id(api):
    body = api("GET", "/api/Party/23179", user="jsmith").json()
    response = api("PUT", "/api/Party/23180", user="jsmith", json=body)
    assert response.status_code == 403


def test_put_with_a_conflicting_id_is_a_validation_error(app, api):
    body = api("GET", "/api/Party/23180").json()
    body["PersonName"]["LastName"] = "Changed"
    before = stored(app)
    for key in ("PartyId", "Id"):
        response = api("PUT", "/api/Party/23180", json=dict(body, **{key: "23181"}))
        assert response.status_code == 400
        message = response.json()["Errors"]["$values"][0]["Message"]
        assert message == f"The {key} in the body (23181) does not match the URL (23180)."
    assert stored(app) == before


def test_delete_party(app, api):
    assert api("GET", "/api/Party/23182", user="mchen").status_code == 200
    response = api("DELETE", "/api/Party/23182")
    assert response.status_code == 200 and response.content == b""
    assert api("GET", "/api/Party/23182").status_code == 404
    assert api("DELETE", "/api/Party/23182").status_code == 404
    # The login went with it: mchen's account and token no longer work.
    assert api("GET", "/api/Party?limit=1", user="mchen").status_code == 401


def test_validation_errors_store_nothing(app, api):
    before = stored(app)
    no_last_name = {"$type": f"{MEMBERSHIP}.PersonData, Asi.Contracts", "PersonName": {}}
    response = api("POST", "/api/Person", json=no_last_name)
    assert response.status_code == 400
    body = response.json()
    assert body["$type"] == f"{CORE}.ValidationResultsData, Asi.Contracts"
    assert body["Errors"]["$values"][0]["Message"] == "Last name is required."
    assert body["Warnings"]["$values"] == []
    bad = [
        {"PersonName": {"LastName": "x" * 61}},
        {"PersonName": {"LastName": "Lee"}, "Email": "not an address"},
        {"PersonName": {"LastName": "Lee"}, "Status": {"PartyStatusId": "Q"}},
        {"PersonName": {"LastName": ["Lee"]}},
        {
            "PersonName": {"LastName": "Lee"},
            "AdditionalAttributes": [{"Name": "JoinDate", "Value": "yesterday"}],
        },
    ]
    for payload in bad:
        response = api("POST", "/api/Party", json=payload)
        assert response.status_code == 400, payload
        assert response.json()["Errors"]["$values"][0]["Message"], payload
    assert stored(app) == before


@pytest.mark.parametrize(
    "data",
    [
        b"{not json",
        b"[]",
        b'"text"',
        b"",
        b'{"$type": "Asi.Soa.Commerce.DataContracts.ComboOrderData, Asi.Contracts"}',
        b"\xff\xfe",
    ],
)
def test_malformed_bodies(app, api, data):
    before = stored(app)
    for method, path in (("POST", "/api/Party"), ("PUT", "/api/Party/23180")):
        response = api(method, path, data=data, headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json() == INVALID
    assert stored(app) == before


def test_bodies_read_like_json_net(api):
    """Property names in any case, $type optional, typed scalars and string booleans coerced."""
    body = {
        "personname": {"firstname": "Ola", "LASTNAME": "Berg"},
        "emails": {
            "$values": [
                {"address": "second@example.org"},
                {"Address": "primary@example.org", "IsPrimary": {"$value": "true"}},
            ]
        },
        "ADDITIONALATTRIBUTES": {
            "$values": [
                {
                    "name": "JoinDate",
                    "value": {"$type": "System.DateTime", "$value": "2020-02-03T00:00:00"},
                }
            ]
        },
        "Status": {"PartyStatusId": "i"},
    }
    response = api("POST", "/api/Party", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["PersonName"]["LastName"] == "Berg"
    assert created["Emails"]["$values"][0]["Address"] == "primary@example.org"
    assert created["Status"]["PartyStatusId"] == "I"
    dates = [a for a in created["AdditionalAttributes"]["$values"] if a["Name"] == "JoinDate"]
    assert dates[0]["Value"] == "2020-02-03T00:00:00"


def test_validate_stores_nothing(app, api):
    before = stored(app)
    response = api("POST", "/api/Party/_validate", json=COMBO_PARTY)
    assert response.status_code == 200
    body = response.json()
    assert body["IsValid"] is True
    assert body["Entity"]["PersonName"]["LastName"] == "Hunt"
    response = api("POST", "/api/Party/_validate", json={"PersonName": {}})
    assert response.json()["IsValid"] is False
    errors = response.json()["ValidationResults"]["Errors"]["$values"]
    assert errors[0]["Message"] == "Last name is required."
    assert stored(app) == before


# --- User -------------------------------------------------------------------------------------


def test_create_a_login_for_a_party(app, api):
    body = {
        "$type": f"{MEMBERSHIP}.UserData, Asi.Contracts",
        "UserName": "lortiz",
        "Party": {"PartyId": "23183"},
        "IsDisable": {"$type": "System.Boolean", "$value": "false"},
    }
    response = api("POST", "/api/User", json=body)
    assert response.status_code == 201, response.text
    user = response.json()
    assert (user["UserId"], user["UserName"], user["IsDisable"]) == ("23183", "lortiz", False)
    assert user["Party"]["Name"] == "Liam Ortiz"
    assert api("GET", "/api/User/23183").json() == user
    again = api("POST", "/api/User", json=dict(body, UserName="other"))
    assert again.status_code == 400
    assert again.json()["Errors"]["$values"][0]["Message"] == (
        "The party '23183' already has a user."
    )
    taken = api("POST", "/api/User", json=dict(body, UserName="JSMITH", Party={"PartyId": "23100"}))
    assert taken.status_code == 400
    execute = {
        "OperationName": "findbyusername",
        "Parameters": {"$values": [{"$type": "System.String", "$value": "LORTIZ"}]},
    }
    assert api("POST", "/api/user/_EXECUTE", json=execute).json() == {"Result": user}


# --- A plain entity: PartyStatus ---------------------------------------------------------------


def test_plain_entity_needs_only_a_catalog_entry(app, api):
    entry = catalog.find("partystatus")
    assert entry.to_wire is entry.read is entry.write is entry.load is None
    listed = api("GET", "/api/PartyStatus", user="jsmith").json()  # everyone reads lookups
    assert [s["PartyStatusId"] for s in listed["Items"]["$values"]] == ["A", "D", "I"]
    assert listed["$type"].endswith("PartyStatusData, Asi.Contracts]], Asi.Contracts")
    new = {"PartyStatusId": "S", "Name": "Suspended", "ActiveStatus": "Inactive"}
    response = api("POST", "/api/PartyStatus", json=new)
    assert response.status_code == 201
    assert response.json() == {
        "$type": f"{MEMBERSHIP}.PartyStatusData, Asi.Contracts",
        "PartyStatusId": "S",
        "Name": "Suspended",
        "ActiveStatus": "Inactive",
    }
    assert api("GET", "/api/partystatus/s").json()["Name"] == "Suspended"
    assert api("POST", "/api/PartyStatus", json=new).status_code == 400  # already there
    too_long = api("POST", "/api/PartyStatus", json={"PartyStatusId": "SS", "Name": "x"})
    assert too_long.json()["Errors"]["$values"][0]["Message"] == (
        "PartyStatusId has at most 1 characters."
    )
    replaced = api("PUT", "/api/PartyStatus/S", json=dict(new, Name="On hold"))
    assert replaced.status_code == 200 and replaced.json()["Name"] == "On hold"
    assert api("GET", "/api/PartyStatus?Name=on%20HOLD").json()["Count"] == 1
    # A party can now have the new status.
    body = api("GET", "/api/Party/23181").json()
    body["Status"] = {"PartyStatusId": "S"}
    assert api("PUT", "/api/Party/23181", json=body).json()["Status"]["PartyStatusId"] == "S"
    assert api("DELETE", "/api/PartyStatus/D").status_code == 200
    with app.app_context():
        assert db.session.get(PartyStatus, "D") is None


# --- Verbs an entity lacks, missing rows and routes ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/User/23179", {"GET"}),
        ("PUT", "/api/User/23179", {"GET"}),
        ("PUT", "/api/PartySummary/23179", {"GET"}),
        ("POST", "/api/PartySummary", {"GET"}),
        ("GET", "/api/Party/_execute", None),  # a GET is a read of the party "_execute"
        ("GET", "/api/User/_execute", None),
        ("PATCH", "/api/Party/23179", {"GET", "PUT", "DELETE"}),
        ("GET", "/api/Party/_validate", None),
    ],
)
def test_verbs_an_entity_lacks_are_405(api, method, path, allowed):
    response = api(method, path)
    if allowed is None:
        assert response.status_code == 404
        return
    assert response.status_code == 405
    assert response.json() == {
        "Message": f"The requested resource does not support http method '{method}'."
    }
    assert allowed <= set(response.headers["Allow"].split(", "))


def test_organization_has_only_its_own_routes(api):
    assert api("GET", "/api/Organization").status_code == 404
    assert api("POST", "/api/Organization/_haspermission/read").json() is True
    assert api("POST", "/api/Organization/_haspermission/delete").json() is False
    changes = api("GET", "/api/Organization/23100/changelog").json()
    assert [c["ChangeType"] for c in changes["Items"]["$values"]] == ["Add"]  # the demo's load
    assert api("GET", "/api/metadata/Organization").json()["EntityTypeName"] == "Organization"


def test_missing_rows_and_routes(api):
    assert api("GET", "/api/Party/99999").status_code == 404
    assert api("PUT", "/api/Party/99999", json=COMBO_PARTY).status_code == 404
    assert api("GET", "/api/PartyStatus/Z").status_code == 404
    assert api("GET", "/api/Party/99999/changelog").status_code == 404
    response = api("GET", "/api/NoSuchEntity")
    assert response.status_code == 404
    assert response.json()["Message"].startswith("No HTTP resource was found")
    # Members get 403 for rows that are not theirs, even missing ones (ids cannot be probed).
    assert api("GET", "/api/Party/99999", user="jsmith").status_code == 403


def test_haspermission(api):
    assert api("POST", "/api/Party/_haspermission/update", user="jsmith").json() is True
    assert api("POST", "/api/Party/_haspermission/insert", user="jsmith").json() is False
    assert api("POST", "/api/Party/_haspermission/delete").json() is True
    assert api("POST", "/api/PartyStatus/_haspermission/read", user="jsmith").json() is True
    response = api("POST", "/api/Party/_haspermission/read", data=b"{bad")
    assert response.status_code == 400


def test_changelog_is_a_paged_result(api):
    body = api("GET", "/api/Party/23179/changelog", user="jsmith").json()
    assert body["$type"] == f"{CORE}.PagedResult`1[[{CORE}.ChangeLogData, Asi.Contracts]], " + (
        "Asi.Contracts"
    )
    assert body["Count"] == 0 and body["HasNext"] is False and body["NextOffset"] == 0
    assert api("GET", "/api/Party/23180/changelog", user="jsmith").status_code == 403
    assert api("GET", "/api/Organization/23100/changelog", user="jsmith").status_code == 403
    assert api("GET", "/api/PartySummary/99999/changelog", user="jsmith").status_code == 403


def changes(response) -> list[tuple]:
    assert response.status_code == 200, response.text
    return [
        (c["ChangeType"], c["UserName"], c["Changes"]["$values"])
        for c in response.json()["Items"]["$values"]
    ]


def test_changelog_shows_the_writes_to_a_party(api):
    created = api("POST", "/api/Party", json=COMBO_PARTY).json()
    party_id = created["Id"]
    body = copy.deepcopy(created)
    body["PersonName"]["InformalName"] = "Dougie"
    body["Emails"]["$values"][0]["Address"] = "doug@example.org"
    assert api("PUT", f"/api/Party/{party_id}", json=body).status_code == 200
    # A PUT that changes nothing records nothing.
    assert api("PUT", f"/api/Party/{party_id}", json=body).status_code == 200
    log = api("GET", f"/api/Party/{party_id}/changelog")
    assert changes(log) == [
        ("Add", "MANAGER", []),
        ("Change", "MANAGER", ["PersonName.InformalName", "Emails.Address"]),
    ]
    page = log.json()
    assert (page["Count"], page["TotalCount"], page["HasNext"]) == (2, 2, False)
    [added, _] = page["Items"]["$values"]
    assert added["$type"] == f"{CORE}.ChangeLogData, Asi.Contracts"
    assert added["Identity"]["EntityTypeName"] == "Party"
    assert added["Identity"]["IdentityElements"]["$values"] == [party_id]
    assert added["ChangeDate"][:4].isdigit() and added["ChangeLogId"].isdigit()
    # The same rows through the family's other entities, each naming its own properties (the
    # summary shows no InformalName), and paged as a list is.
    assert changes(api("GET", f"/api/person/{party_id}/changelog")) == changes(log)
    second = api("GET", f"/api/PartySummary/{party_id}/changelog?limit=1&offset=1")
    assert changes(second) == [("Change", "MANAGER", ["Email"])]
    assert (second.json()["TotalCount"], second.json()["HasNext"]) == (2, False)
    first = api("GET", f"/api/Party/{party_id}/CHANGELOG?Limit=1").json()
    assert (first["Count"], first["HasNext"], first["NextOffset"]) == (1, True, 1)
    # A person has no Organization changelog; a missing party none at all.
    assert api("GET", f"/api/Organization/{party_id}/changelog").status_code == 404
    assert api("GET", "/api/Party/99999/changelog").status_code == 404


def test_member_reads_the_changelog_of_own_party_only(app, api):
    body = api("GET", "/api/Party/23179", user="jsmith").json()
    body["PersonName"]["InformalName"] = "Janie"
    assert api("PUT", "/api/Party/23179", user="jsmith", json=body).status_code == 200
    mine = api("GET", "/api/Party/23179/changelog", user="jsmith")
    assert changes(mine) == [("Change", "jsmith", ["PersonName.InformalName"])]
    # A change made on the Staff site is in it too.
    staff = app.test_client()
    sign_in(staff, "MANAGER", "Staff-Demo-2026", site="staff")
    form = {"first_name": "Jane", "last_name": "Smith", "email": "js@example.org"}
    form.update(phone="(416) 555-0100", organization="Versaton", member_type="M")
    assert staff.post("/staff/Contacts/23179", data=form).status_code == 303
    log = changes(api("GET", "/api/Party/23179/changelog", user="jsmith"))
    assert log[-1] == ("Change", "MANAGER", ["Emails.Address"])
    # Another party's changelog is refused, as its GET is, whether it changed or not.
    api("PUT", "/api/Party/23180", json=api("GET", "/api/Party/23180").json())
    assert api("GET", "/api/Party/23180/changelog", user="jsmith").status_code == 403
    assert api("GET", "/api/Party/23180", user="jsmith").status_code == 403


def test_a_reused_party_id_starts_a_new_changelog(api):
    first = api("POST", "/api/Party", json=COMBO_PARTY).json()["Id"]
    assert api("DELETE", f"/api/Party/{first}").status_code == 200
    # The mock gives the largest id plus one, so the id comes round again.
    second = api("POST", "/api/Party", json=dict(COMBO_PARTY, Name="Again")).json()["Id"]
    assert second == first
    assert changes(api("GET", f"/api/Party/{second}/changelog")) == [("Add", "MANAGER", [])]


def test_organization_changelog_shows_a_staff_site_rename(app, api):
    staff = app.test_client()
    sign_in(staff, "MANAGER", "Staff-Demo-2026", site="staff")
    form = {"organization": "Versaton Group", "email": "info@versaton.example.org"}
    form.update(phone="(416) 555-0190", member_type="CM")
    assert staff.post("/staff/Contacts/23100", data=form).status_code == 303
    log = changes(api("GET", "/api/Organization/23100/changelog"))
    # The demo data made it under its own id, then the Staff site renamed it.
    assert log == [("Add", "scenario", []), ("Change", "MANAGER", ["OrganizationName"])]


# --- Lists: operators, aliases, ordering, paging -----------------------------------------------


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["PartyId"] for p in response.json()["Items"]["$values"]]


CANONICAL_CASES = {
    "eq": ("lastname", "smith", ["23179"]),
    "ne": ("lastname", "smith", ["23001", "23180", "23181", "23182", "23100", "23183"]),
    "gt": ("lastname", "reyes", ["23179"]),
    "ge": ("lastname", "reyes", ["23001", "23179"]),
    "lt": ("lastname", "chen", ["23100"]),
    "le": ("lastname", "chen", ["23182", "23100"]),
    "contains": ("lastname", "ONE", ["23180"]),
    "notcontain": ("lastname", "e", ["23179", "23100", "23183"]),
    "startswith": ("lastname", "S", ["23179"]),
    "endswith": ("email", "VERSATON.EXAMPLE.ORG", ["23100", "23183"]),
    "between": ("partyid", "23180|23181", ["23180", "23181"]),
    "in": ("partyid", "23179,23182", ["23179", "23182"]),
    "isempty": ("lastname", "", ["23100"]),
    "notempty": ("organization", "", ["23001", "23179", "23180", "23181", "23100", "23183"]),
    "istrue": ("isorganization", "", ["23100"]),
    "isfalse": ("isorganization", "", ["23001", "23179", "23180", "23181", "23182", "23183"]),
}


@pytest.mark.parametrize(
    ("spelling", "operation"),
    sorted(filters.OPERATIONS.items()) + [("STARTSWITH", "startswith"), ("Eq", "eq")],
)
def test_every_operator_spelling(api, spelling, operation):
    key, value, expected = CANONICAL_CASES[operation]
    response = api("GET", "/api/Party", params={key: f"{spelling}:{value}"})
    assert ids(response) == expected


def test_aliases_dotted_paths_and_repeated_keys(api):
    assert ids(api("GET", "/api/Party?PersonName.LastName=Smith")) == ["23179"]
    assert ids(api("GET", "/api/Party?Status.PartyStatusId=a&LASTNAME=smith")) == ["23179"]
    # A key twice is ANDed [I, §2.2].
    assert ids(api("GET", "/api/Party?lastname=ne:smith&LastName=ne:jones&id=le:23181")) == [
        "23001",
        "23181",
        "23100",
    ]
    assert ids(api("GET", "/api/Party?UpdatedOn=ge:2000-01-01T00:00:00%2B00:00&limit=2")) == [
        "23001",
        "23179",
    ]
    assert ids(api("GET", "/api/Party?UpdatedOn=lt:2000-01-01")) == []
    assert api("GET", "/api/Party?UpdatedOn=ge:notadate").status_code == 400
    assert ids(api("GET", "/api/Party?OrderBy=PersonName.LastName:Descending&limit=3")) == [
        "23179",
        "23001",
        "23181",
    ]


def test_paging_rules(api):
    first = api("GET", "/api/Party?limit=3").json()
    assert (first["Count"], first["TotalCount"], first["HasNext"], first["NextOffset"]) == (
        3,
        7,
        True,
        3,
    )
    last = api("GET", "/api/Party?limit=3&offset=6").json()
    assert (last["Count"], last["HasNext"], last["NextOffset"]) == (1, False, 0)
    empty = api("GET", "/api/Party?lastname=nobody").json()
    assert (empty["Count"], empty["TotalCount"], empty["Items"]["$values"]) == (0, 0, [])
    assert api("GET", "/api/Party?limit=100000").json()["Limit"] == 500
    assert api("GET", "/api/Party").json()["Limit"] == 100


# --- Routing like IIS --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/party/23179",
        "/API/PARTY/23179",
        "/api/Party/23179/",
        "/api//Party/23179",
        "//api///party//23179//",
    ],
)
def test_path_case_and_slashes_are_served_in_place(api, path):
    response = api("GET", path, user="jsmith")
    assert response.status_code == 200
    assert response.json()["PartyId"] == "23179"


@pytest.mark.parametrize(
    "path",
    [
        "/api//Party?LastName=Smith",
        "/api/party/?LASTNAME=smith",
        "/api/Metadata/party",
        "/api//metadata/Party",
        "/api/BOEntityDefinition",
        "/api/user?USERNAME=jsmith",
        "/api/IQA?queryname=$/OAuth2/userInfo",
    ],
)
def test_lists_and_descriptions_in_any_spelling(api, path):
    response = api("GET", path, user="jsmith")
    assert response.status_code == 200, response.text
    assert "Location" not in response.headers


def test_token_and_pages_in_any_spelling(app, live_server):
    for path in ("/TOKEN", "/token/", "//Token"):
        response = requests.post(
            live_server.url + path,
            data={"grant_type": "password", "username": "jsmith", "password": MEMBER_PASSWORD},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 200, (path, response.text)
        assert response.json()["token_type"] == "bearer"
    for path in ("/signin", "/SIGNIN/", "/SignIn", "/staff/signin", "/STAFF/SIGNIN/"):
        response = requests.get(live_server.url + path, allow_redirects=False, timeout=30)
        assert response.status_code == 200, path
    # Query keys too: ?NEXT= is read as ?next= (without it a member lands on the home page).
    member = app.test_client()
    response = member.post(
        "/signin?NEXT=/MyAccount", data={"username": "jsmith", "password": MEMBER_PASSWORD}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/MyAccount")


def test_application_root(tmp_path, template_instance, monkeypatch):
    from tests.support import databases

    databases.clone(template_instance, tmp_path)
    app = make_app(tmp_path, monkeypatch, IMIS_APP_ROOT="/Asi.Scheduler_SDKDemo")
    try:
        with LiveServer(app) as server:
            root = server.url + "/Asi.Scheduler_SDKDemo"
            token = requests.post(
                server.url + "/asi.scheduler_sdkdemo/Token",
                data={"grant_type": "password", "username": "jsmith", "password": MEMBER_PASSWORD},
                timeout=30,
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for url in (root + "/api/Party/23179", server.url + "/api/Party/23179"):
                response = requests.get(url, headers=headers, timeout=30)
                assert response.status_code == 200 and response.json()["Id"] == "23179"
            # Only /token and /api are mounted there; the pages stay at the site root.
            assert requests.get(root + "/SignIn", timeout=30).status_code == 404
    finally:
        databases.close_connections()
        databases.release(tmp_path)


# --- 500 ---------------------------------------------------------------------------------------


def test_unhandled_failure_is_web_apis_500(tmp_path, template_instance, monkeypatch, caplog):
    from imis_mock.api.catalog import party
    from tests.support import databases

    databases.clone(template_instance, tmp_path)
    app = make_app(tmp_path, monkeypatch, PROPAGATE_EXCEPTIONS=False)

    def broken(row):
        raise ZeroDivisionError("secret internals")

    # Both ways the record is written: its dict, and its text from the shape's template (what
    # the read fast path and list pages use).
    monkeypatch.setattr(party.PARTY_SUMMARY, "to_wire", broken)
    monkeypatch.setattr(party.PARTY_SUMMARY, "to_text", broken)
    try:
        with LiveServer(app) as server:
            before = stored(app)
            response = Api(app, server.url)("GET", "/api/PartySummary/23179")
            assert response.status_code == 500
            assert response.json() == {"Message": "An error has occurred."}
            assert "secret" not in response.text and "Traceback" not in response.text
            assert stored(app) == before
            journal = last_api_call(app)
            assert journal["code"] == "500"
            assert journal["error"].startswith("ZeroDivisionError: secret internals at ")
    finally:
        databases.close_connections()
        databases.release(tmp_path)
    assert "ZeroDivisionError" in caplog.text  # the traceback is in the log


# --- Descriptions ------------------------------------------------------------------------------


def test_bo_entity_definition_lists_the_catalog(api):
    body = api("GET", "/api/BoEntityDefinition?limit=500").json()
    names = [e["EntityTypeName"] for e in body["Items"]["$values"]]
    # The declared entries, then the panel sources staff defined (the demo has two).
    assert names == [e.name for e in catalog.ENTITIES] + ["Name_CEU", "Name_Demo"]
    party = body["Items"]["$values"][0]
    identity = [p["Name"] for p in party["Properties"]["$values"] if p.get("IsIdentity")]
    assert identity == ["PartyId"]
    one = api("GET", "/api/BoEntityDefinition?EntityTypeName=partystatus").json()
    assert [e["EntityTypeName"] for e in one["Items"]["$values"]] == ["PartyStatus"]


def test_metadata_describes_the_returned_record(api):
    body = api("GET", "/api/metadata/Party").json()
    properties = {p["Name"]: p for p in body["Properties"]["$values"]}
    emails = properties["Emails"]["ItemEntityPropertyDefinition"]["EntityDefinition"]
    assert {p["Name"] for p in emails["Properties"]["$values"]} >= {"Address", "IsPrimary"}
    attributes = properties["AdditionalAttributes"]["GenericPropertyDefinitions"]["$values"]
    assert {"Name": "JoinDate", "PropertyTypeName": "Date"}.items() <= attributes[2].items()
    record = api("GET", "/api/Party/23179").json()
    assert set(properties) <= set(record) | {"IsOrganization", "OrganizationName"}


def test_member_keeps_membership_fields_and_nul_is_refused(app, api):
    body = api("GET", "/api/Party/23179", user="jsmith").json()
    body["AdditionalAttributes"]["$values"][0]["Value"] = "STAFF"
    body["Status"]["PartyStatusId"] = "I"
    stored = api("PUT", "/api/Party/23179", user="jsmith", json=body).json()
    attributes = {a["Name"]: a["Value"] for a in stored["AdditionalAttributes"]["$values"]}
    assert attributes["CustomerTypeCode"] == "M" and stored["Status"]["PartyStatusId"] == "A"
    response = api("POST", "/api/Person", json={"PersonName": {"LastName": "Le\x00e"}})
    assert response.status_code == 400
    assert "not allowed" in response.json()["Errors"]["$values"][0]["Message"]


def test_journal_on_the_qa_console(app, api):
    api("GET", "/api/Party?shoesize=9&LastName=smith")
    staff = app.test_client()
    sign_in(staff, "MANAGER", "Staff-Demo-2026", site="staff")
    page = staff.get("/staff/QA/Activity").get_data(as_text=True)
    assert "ignored=[&#39;shoesize&#39;]" in page


def test_party_find_by_alternate_id(api):
    generic = {
        "$type": "Asi.Soa.Core.DataContracts.GenericExecuteRequest, Asi.Contracts",
        "OperationName": "FindByAlternateId",
        "EntityTypeName": "Party",
        "Parameters": {
            "$values": [
                {"$type": "System.String", "$value": "Id"},
                {"$type": "System.String", "$value": "23180"},
            ]
        },
        "UseJson": False,
    }
    response = api("POST", "/api/Party/_execute", json=generic)
    assert response.status_code == 200
    assert response.json()["Result"]["PartyId"] == "23180"
    typed = {"OperationName": "FindByAlternateId", "AlternateId": {"IdType": "Id", "Id": "23179"}}
    assert api("POST", "/api/Party/_execute", user="jsmith", json=typed).status_code == 200
    assert api("POST", "/api/Party/_execute", user="jsmith", json=generic).status_code == 403
    unknown = dict(generic, OperationName="Merge")
    assert api("POST", "/api/Party/_execute", json=unknown).status_code == 400
