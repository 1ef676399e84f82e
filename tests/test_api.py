"""The iMIS REST API: golden JSON shapes, access rules, paging and filter edges, the two ways in."""

import json
import re

import pytest
import requests
from sqlalchemy import select

from imis_mock.api import json_response
from imis_mock.api.catalog.party import party_data
from imis_mock.extensions import db
from imis_mock.models import AuditEvent, ClientApplication, Contact
from imis_mock.services import accounts, audit, clock, secrets, tokens
from tests.support.api import mint
from tests.support.data import create_client_application

DENIED = {"Message": "Authorization has been denied for this request."}
PAGED_KEYS = [
    "$type",
    "Items",
    "Offset",
    "Limit",
    "Count",
    "TotalCount",
    "NextPageLink",
    "HasNext",
    "NextOffset",
]
USER_PAGE = (
    "Asi.Soa.Core.DataContracts.PagedResult`1[[Asi.Soa.Membership.DataContracts.UserData, "
    "Asi.Contracts]], Asi.Contracts"
)
USER_LIST = (
    "System.Collections.Generic.List`1[[Asi.Soa.Membership.DataContracts.UserData, "
    "Asi.Contracts]], mscorlib"
)
FIND_BY_USERNAME = {
    "$type": "Asi.Soa.Core.DataContracts.GenericExecuteRequest, Asi.Contracts",
    "OperationName": "FindByUserName",
    "EntityTypeName": "User",
    "Parameters": {
        "$type": "System.Collections.ObjectModel.Collection`1[[System.Object, mscorlib]], mscorlib",
        "$values": [{"$type": "System.String", "$value": "jsmith"}],
    },
    "ParameterTypeName": {
        "$type": "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib",
        "$values": ["System.String"],
    },
    "UseJson": False,
}


@pytest.fixture
def api(app):
    """GET/POST helpers that send a bearer token for the named user."""

    class Api:
        client = app.test_client()

        def get(self, path, user="MANAGER", **kwargs):
            headers = {"Authorization": f"Bearer {mint(app, user)}"}
            return self.client.get(path, headers=headers, **kwargs)

        def post(self, path, user="MANAGER", **kwargs):
            headers = {"Authorization": f"Bearer {mint(app, user)}"}
            return self.client.post(path, headers=headers, **kwargs)

    return Api()


def contact_row(app, imis_id):
    with app.app_context():
        contact = db.session.scalar(select(Contact).filter_by(imis_id=imis_id))
        db.session.expunge(contact)
        return contact


def party_summary(contact) -> dict:
    return {
        "$type": "Asi.Soa.Membership.DataContracts.PartySummaryData, Asi.Contracts",
        "CityName": "Toronto",
        "CountryName": "Canada",
        "CountrySubEntityName": "ON",
        "Email": "jsmith@example.org",
        "Phone": "(416) 555-0100",
        "PartyId": "23179",
        "Id": "23179",
        "UniformId": contact.uniform_id,
        "Status": {
            "$type": "Asi.Soa.Membership.DataContracts.PartyStatusData, Asi.Contracts",
            "PartyStatusId": "A",
            "Name": "Active",
            "Description": "Active",
        },
        "Name": "Jane Smith",
        "Sort": "Smith, Jane",
        "IsMarkedForDelete": False,
    }


def jsmith_user_data(app) -> dict:
    contact = contact_row(app, "23179")
    with app.app_context():
        effective = accounts.get_user("jsmith").created_at.strftime("%Y-%m-%dT00:00:00")
    return {
        "$type": "Asi.Soa.Membership.DataContracts.UserData, Asi.Contracts",
        "EffectiveDate": effective,
        "ExpirationDate": "9999-12-31T00:00:00",
        "IsDisable": False,  # [C: PM-ENT 20.3.235]; the mock said IsDisabled before
        "IsAnonymous": False,
        "Roles": {
            "$type": "Asi.Soa.Membership.DataContracts.RoleDataCollection, Asi.Contracts",
            "$values": [
                {
                    "$type": "Asi.Soa.Membership.DataContracts.RoleData, Asi.Contracts",
                    "RoleName": "Member",
                    "Description": "Member",
                }
            ],
        },
        "UserId": "23179",
        "UserName": "jsmith",
        "Party": party_summary(contact),
    }


# --- Golden shapes ----------------------------------------------------------------------------


def test_user_by_username_golden(app, api):
    response = api.get("/api/User?username=JSMITH", user="jsmith")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == PAGED_KEYS
    assert body == {
        "$type": USER_PAGE,
        "Items": {"$type": USER_LIST, "$values": [jsmith_user_data(app)]},
        "Offset": 0,
        "Limit": 100,
        "Count": 1,
        "TotalCount": 1,
        "NextPageLink": None,
        "HasNext": False,
        "NextOffset": 0,
    }


def test_user_by_id_and_execute_find_by_username(app, api):
    expected = jsmith_user_data(app)
    assert api.get("/api/User/23179", user="jsmith").get_json() == expected
    response = api.post("/api/User/_execute", user="jsmith", json=FIND_BY_USERNAME)
    assert response.status_code == 200
    assert response.get_json() == {"Result": expected}


def test_party_golden(app, api):
    contact = contact_row(app, "23179")
    ns = "Asi.Soa.Membership.DataContracts"
    core = "Asi.Soa.Core.DataContracts"
    status = party_summary(contact)["Status"]
    expected = {
        "$type": f"{ns}.PersonData, Asi.Contracts",
        "PersonName": {
            "$type": f"{ns}.PersonNameData, Asi.Contracts",
            "FirstName": "Jane",
            "InformalName": "Jane",
            "LastName": "Smith",
            "NamePrefix": "Ms.",
            "FullName": "Ms. Jane Smith",
        },
        "PrimaryOrganization": {
            "$type": f"{ns}.PrimaryOrganizationInformationData, Asi.Contracts",
            # The demo organization Versaton employs jsmith (behaviour §4's example has the key).
            "OrganizationPartyId": "23100",
            "Name": "Versaton",
            "Title": "Analyst",
        },
        "AdditionalAttributes": {
            "$type": f"{core}.GenericPropertyDataCollection, Asi.Contracts",
            "$values": [
                {
                    "$type": f"{core}.GenericPropertyData, Asi.Contracts",
                    "Name": "CustomerTypeCode",
                    "Value": "M",
                },
                {
                    "$type": f"{core}.GenericPropertyData, Asi.Contracts",
                    "Name": "IsMember",
                    "Value": {"$type": "System.Boolean", "$value": True},
                },
                {
                    "$type": f"{core}.GenericPropertyData, Asi.Contracts",
                    "Name": "JoinDate",
                    "Value": "2000-06-18T00:00:00",
                },
            ],
        },
        "Addresses": {
            "$type": f"{ns}.FullAddressDataCollection, Asi.Contracts",
            "$values": [
                {
                    "$type": f"{ns}.FullAddressData, Asi.Contracts",
                    "AddressPurpose": "Address",
                    "Email": "jsmith@example.org",
                    "Phone": "(416) 555-0100",
                    "FullAddressId": "23179",
                    "Address": {
                        "$type": f"{ns}.AddressData, Asi.Contracts",
                        "AddressId": "23179",
                        "AddressLines": {
                            "$type": f"{ns}.AddressLineDataCollection, Asi.Contracts",
                            "$values": ["1 Main St"],
                        },
                        "CityName": "Toronto",
                        "CountryCode": "CA",
                        "CountryName": "Canada",
                        "CountrySubEntityCode": "ON",
                        "PostalCode": "M5V 1A1",
                        "VerificationStatus": 0,
                    },
                }
            ],
        },
        "AlternateIds": {
            "$type": f"{core}.AlternateIdDataCollection, Asi.Contracts",
            "$values": [],
        },
        "Emails": {
            "$type": f"{ns}.EmailDataCollection, Asi.Contracts",
            "$values": [
                {
                    "$type": f"{ns}.EmailData, Asi.Contracts",
                    "Address": "jsmith@example.org",
                    "EmailType": "_Primary",
                    "IsPrimary": True,
                }
            ],
        },
        "Phones": {
            "$type": f"{ns}.PhoneDataCollection, Asi.Contracts",
            "$values": [
                {
                    "$type": f"{ns}.PhoneData, Asi.Contracts",
                    "Number": "(416) 555-0100",
                    "PhoneType": "Address",
                }
            ],
        },
        "Salutations": {
            "$type": f"{ns}.PartySalutationDataCollection, Asi.Contracts",
            "$values": [],
        },
        "SocialNetworks": {
            "$type": f"{ns}.PartySocialNetworkDataCollection, Asi.Contracts",
            "$values": [],
        },
        "CommunicationTypePreferences": {
            "$type": f"{ns}.PartyCommunicationTypePreferenceDataCollection, Asi.Contracts",
            "$values": [],
        },
        "SortIsOverridden": False,
        "UpdateInformation": {
            "$type": f"{core}.EntityUpdateInformationData, Asi.Contracts",
            "CreatedOn": contact.created_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "UpdatedOn": contact.updated_at.strftime("%Y-%m-%dT%H:%M:%S"),
        },
        "PartyId": "23179",
        "Id": "23179",
        "UniformId": contact.uniform_id,
        "Status": status,
        "Name": "Jane Smith",
        "Sort": "Smith, Jane",
    }
    for path in ("/api/Party/23179", "/api/Person/23179"):
        response = api.get(path, user="jsmith")
        assert response.status_code == 200
        assert response.get_json() == expected
    summary = api.get("/api/PartySummary/23179", user="jsmith").get_json()
    assert summary == party_summary(contact)


def test_person_without_address_or_organization_leaves_them_out(api):
    body = api.get("/api/Party/23182").get_json()  # mchen: a city but no street, no employer
    assert "PrimaryOrganization" not in body
    address = body["Addresses"]["$values"][0]["Address"]
    assert address["AddressLines"]["$values"] == []
    assert "PostalCode" not in address
    attributes = {a["Name"]: a["Value"] for a in body["AdditionalAttributes"]["$values"]}
    assert attributes == {
        "CustomerTypeCode": "NM",
        "IsMember": {"$type": "System.Boolean", "$value": False},
    }


def test_user_info_query_golden(app, api):
    contact = contact_row(app, "23179")
    response = api.get("/api/query?QueryName=$/OAuth2/userInfo", user="jsmith")
    assert response.status_code == 200
    assert response.get_json() == {
        "$type": "Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts",
        "Items": {
            "$type": "System.Collections.Generic.List`1[[System.Object, mscorlib]], mscorlib",
            "$values": [
                {
                    "$type": "System.Dynamic.ExpandoObject, System.Core",
                    "sub": contact.uniform_id,
                    "username": "jsmith",
                    "email": "jsmith@example.org",
                    "given_name": "Jane",
                    "family_name": "Smith",
                }
            ],
        },
        "Offset": 0,
        "Limit": 100,
        "Count": 1,
        "TotalCount": 1,
        "NextPageLink": None,
        "HasNext": False,
        "NextOffset": 0,
    }
    # The query name is matched regardless of case; /api/iqa answers the same rows as
    # GenericEntityData (reference §8.1), its Properties from ResultRow.
    other = api.get("/api/iqa?queryname=$/oauth2/USERINFO", user="jsmith").get_json()
    bag = [
        (p["Name"], p.get("Value")) for p in other["Items"]["$values"][0]["Properties"]["$values"]
    ]
    assert bag[:3] == [("ResultRow", "1"), ("sub", contact.uniform_id), ("username", "jsmith")]


def test_unknown_query_and_missing_name(api):
    response = api.get("/api/query?QueryName=$/Nope/Nothing")
    assert response.status_code == 404
    assert response.get_json() == {"Message": "The query '$/Nope/Nothing' was not found."}
    response = api.get("/api/query")
    assert response.status_code == 400
    assert response.get_json() == {"Message": "The parameter 'QueryName' is required."}


@pytest.mark.parametrize(
    ("entity", "name"),
    [
        ("Party", "PersonName"),
        ("person", "PersonName"),
        ("PARTYSUMMARY", "Name"),
        ("User", "UserName"),
    ],
)
def test_metadata(api, entity, name):
    """Metadata describes the records the API returns (reference §5.4): PersonName is a nested
    EntityDefinitionData, not the flat filter list the mock served before."""
    response = api.get(f"/api/metadata/{entity}", user="jsmith")
    assert response.status_code == 200
    body = response.get_json()
    assert body["$type"] == "Asi.Soa.Core.DataContracts.EntityDefinitionData, Asi.Contracts"
    assert body["EntityTypeName"].lower() == entity.lower()
    properties = {p["Name"]: p for p in body["Properties"]["$values"]}
    assert name in properties
    if name == "PersonName":
        nested = properties[name]["EntityDefinition"]["Properties"]["$values"]
        assert {"Name": "LastName", "PropertyTypeName": "String"}.items() <= nested[3].items()


def test_metadata_unknown_entity(api):
    response = api.get("/api/metadata/Nothing")
    assert response.status_code == 404
    assert response.get_json() == {"Message": "No metadata was found for the entity 'Nothing'."}


def test_wire_bytes_over_http(app, live_server):
    token = mint(app, "jsmith")
    response = requests.get(
        f"{live_server.url}/api/Party/23179", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    # Json.NET writes $type first and no whitespace.
    assert response.text.startswith('{"$type":"Asi.Soa.Membership.DataContracts.PersonData, ')
    assert '", "' not in response.text and '": ' not in response.text


def test_party_read_with_core_is_byte_for_byte_the_orm_contacts_shape(app, api):
    """GET /api/Party/{id} reads the row with Core; the JSON is the Contact's, byte for byte."""
    with app.test_request_context():
        contacts = db.session.scalars(select(Contact).order_by(Contact.id)).all()
        expected = {c.imis_id: json_response(party_data(c)).get_data() for c in contacts}
    assert len(expected) == 7  # five people with logins, Versaton and its Liam Ortiz
    for imis_id, body in expected.items():
        assert api.get(f"/api/Party/{imis_id}").get_data() == body
    assert api.get("/api/Party/23179", user="jsmith").get_data() == expected["23179"]
    assert api.get("/api/Person/23179", user="jsmith").get_data() == expected["23179"]


# --- Access rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/User/23180",
        "/api/User/99999",
        "/api/Party/23180",
        "/api/Party/23001",
        "/api/Party/99999",
        "/api/Person/23180",
        "/api/PartySummary/23180",
    ],
)
def test_member_reads_only_own_records(app, api, path):
    response = api.get(path, user="jsmith")
    assert response.status_code == 403
    assert response.get_json() == DENIED
    audit.flush()  # API calls are audited by the write-behind thread
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).filter_by(action="api.call"))
        assert event.outcome == "failure" and event.actor == "jsmith"
        assert event.error_code == "403"
        assert json.loads(event.detail)["path"] == path


def test_member_lists_hold_only_own_records(api):
    parties = api.get("/api/Party", user="jsmith").get_json()
    assert [p["PartyId"] for p in parties["Items"]["$values"]] == ["23179"]
    users = api.get("/api/User?UserName=rjones", user="jsmith").get_json()
    assert users["TotalCount"] == 0 and users["Items"]["$values"] == []


def test_member_find_by_username_of_another_is_403(api):
    body = dict(FIND_BY_USERNAME, Parameters={"$values": ["rjones"]})
    response = api.post("/api/User/_execute", user="jsmith", json=body)
    assert response.status_code == 403
    assert response.get_json() == DENIED


def test_staff_reads_everything(api):
    assert api.get("/api/Party/23180").get_json()["PersonName"]["InformalName"] == "Bob"
    assert api.get("/api/User/23181").get_json()["UserName"] == "apatel"
    staff = api.get("/api/User/23001").get_json()
    assert staff["Roles"]["$values"][0]["RoleName"] == "SysAdmin"
    assert api.get("/api/Party").get_json()["TotalCount"] == 7
    body = dict(FIND_BY_USERNAME, Parameters={"$values": ["RJONES"]})
    assert api.post("/api/User/_execute", json=body).get_json()["Result"]["UserId"] == "23180"


def test_staff_find_by_unknown_username_is_null(api):
    body = dict(FIND_BY_USERNAME, Parameters={"$values": ["nobody"]})
    response = api.post("/api/User/_execute", json=body)
    assert response.status_code == 200
    assert response.get_json() == {"Result": None}


@pytest.mark.parametrize("path", ["/api/Party/99999", "/api/User/99999", "/api/Person/abc"])
def test_staff_missing_record_is_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert set(response.get_json()) == {"Message"}


def test_guest_reads_only_the_anonymous_user(api):
    user = api.get("/api/User/GUEST", user="GUEST").get_json()
    assert user["IsAnonymous"] is True and user["UserName"] == "GUEST"
    assert "Party" not in user and user["Roles"]["$values"] == []
    body = dict(FIND_BY_USERNAME, Parameters={"$values": ["GUEST"]})
    result = api.post("/api/User/_execute", user="GUEST", json=body).get_json()["Result"]
    assert result["IsAnonymous"] is True
    assert api.get("/api/Party/23179", user="GUEST").status_code == 403
    assert api.get("/api/User/23179", user="GUEST").status_code == 403
    assert api.get("/api/Party", user="GUEST").get_json()["TotalCount"] == 0
    rows = api.get("/api/query?QueryName=$/OAuth2/userInfo", user="GUEST").get_json()
    assert rows["Count"] == 0 and rows["Items"]["$values"] == []


def test_members_are_not_anonymous(api):
    assert api.get("/api/User/23179", user="jsmith").get_json()["IsAnonymous"] is False


def test_disabled_users_token_is_refused(app, api):
    token = mint(app, "jsmith")
    with app.app_context():
        accounts.get_user("jsmith").is_disabled = True
        db.session.commit()
    response = api.client.get("/api/User/23179", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    # Staff still see the account, flagged.
    assert api.get("/api/User/23179").get_json()["IsDisable"] is True


def test_client_token_on_party_read_audited_then_revoked_then_client_deleted(app, api):
    """The bearer check's one query: the client's ID reaches the audit; revoked and
    deleted-client tokens are refused with invalid_token."""
    client_pk = create_client_application(app, "MyApp", "s3cret")
    with app.app_context():
        client_app = db.session.get(ClientApplication, client_pk)
        user = accounts.get_user("jsmith")
        revoked, _ = tokens.issue_access_token(user, client_app, grant_type="refresh_token")
        kept, _ = tokens.issue_access_token(user, client_app, grant_type="refresh_token")
        db.session.commit()
    for raw in (revoked, kept):
        response = api.client.get("/api/Party/23179", headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 200
    audit.flush()
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).filter_by(action="api.call")).first()
        assert (event.client_id, event.username, event.outcome) == ("MyApp", "jsmith", "success")
        tokens.find_access_token(revoked).revoked_at = clock.now()
        db.session.commit()
    response = api.client.get("/api/Party/23179", headers={"Authorization": f"Bearer {revoked}"})
    assert response.status_code == 401 and response.get_json() == DENIED
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    with app.app_context():
        db.session.delete(db.session.scalar(select(ClientApplication).filter_by(client_id="MyApp")))
        db.session.commit()
    response = api.client.get("/api/Party/23179", headers={"Authorization": f"Bearer {kept}"})
    assert response.status_code == 401 and response.get_json() == DENIED


# --- 401 and the session path -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/User", "/api/Party/23179", "/api/query", "/api/metadata/x"])
@pytest.mark.parametrize("header", [None, "Bearer garbage", "Basic dXNlcjpwdw=="])
def test_401_shape(client, path, header):
    headers = {"Authorization": header} if header else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == DENIED
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="iMIS"')


def test_execute_without_token_is_401(client):
    assert client.post("/api/User/_execute", json=FIND_BY_USERNAME).status_code == 401


def verification_token(client, path="/MyAccount") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(
        r'id="__RequestVerificationToken" name="__RequestVerificationToken" '
        r'value="([^"]+)"',
        html,
    )
    assert match, "no __RequestVerificationToken on the page"
    return match.group(1)


def test_cookie_alone_grants_nothing(member_client):
    response = member_client.get("/api/User/23179")
    assert response.status_code == 401
    assert response.get_json() == DENIED


def test_cookie_with_verification_token(member_client):
    token = verification_token(member_client)
    headers = {"RequestVerificationToken": token}
    response = member_client.get("/api/User/23179", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["UserName"] == "jsmith"
    response = member_client.post("/api/User/_execute", headers=headers, json=FIND_BY_USERNAME)
    assert response.get_json()["Result"]["UserId"] == "23179"
    # The same rules apply: another member's party is refused.
    assert member_client.get("/api/Party/23180", headers=headers).status_code == 403


@pytest.mark.parametrize("value", ["", "forged", "IjEyMyI.aaaa.bbbb"])
def test_cookie_with_bad_verification_token(member_client, value):
    verification_token(member_client)  # the session holds a real one
    response = member_client.get("/api/User/23179", headers={"RequestVerificationToken": value})
    assert response.status_code == 401


def test_verification_token_from_another_session_is_refused(app, member_client):
    token = verification_token(member_client)
    stranger = app.test_client()
    stranger.get("/")
    response = stranger.get("/api/User/23179", headers={"RequestVerificationToken": token})
    assert response.status_code == 401


def test_anonymous_page_caller_is_guest(client):
    token = verification_token(client, "/")
    response = client.get("/api/User/GUEST", headers={"RequestVerificationToken": token})
    assert response.status_code == 200
    assert response.get_json()["IsAnonymous"] is True
    assert (
        client.get("/api/Party/23179", headers={"RequestVerificationToken": token}).status_code
        == 403
    )


def test_staff_pages_carry_the_token_and_client_context(staff_client):
    html = staff_client.get("/staff/").get_data(as_text=True)
    assert 'id="__RequestVerificationToken"' in html
    assert 'id="__ClientContext"' in html and "&#34;baseUrl&#34;" not in html
    token = verification_token(staff_client, "/staff/")
    response = staff_client.get("/api/Party/23180", headers={"RequestVerificationToken": token})
    assert response.status_code == 200


def test_bearer_wins_over_cookie(app, member_client):
    token = verification_token(member_client)
    response = member_client.get(
        "/api/User/23179",
        headers={"RequestVerificationToken": token, "Authorization": "Bearer garbage"},
    )
    assert response.status_code == 401


# --- Paging -----------------------------------------------------------------------------------


def page(api, query):
    response = api.get(f"/api/Party?{query}")
    return response.status_code, response.get_json()


def ids(body):
    return [p["PartyId"] for p in body["Items"]["$values"]]


def test_paging_walks_the_list(api):
    status, first = page(api, "limit=2")
    assert status == 200
    assert (first["Offset"], first["Limit"], first["Count"], first["TotalCount"]) == (0, 2, 2, 7)
    assert first["HasNext"] is True and first["NextOffset"] == 2
    _, second = page(api, "limit=2&offset=2")
    _, third = page(api, "limit=2&offset=4")
    _, last = page(api, "LIMIT=2&Offset=6")
    assert last["Count"] == 1 and last["HasNext"] is False and last["NextOffset"] == 0
    assert ids(first) + ids(second) + ids(third) + ids(last) == [
        "23001",
        "23179",
        "23180",
        "23181",
        "23182",
        "23100",
        "23183",
    ]


@pytest.mark.parametrize(
    ("query", "limit"),
    [("", 100), ("limit=0", 100), ("limit=500", 500), ("limit=100000", 500), ("limit=+3", 3)],
)
def test_limit_defaults_and_cap(api, query, limit):
    status, body = page(api, query)
    assert status == 200 and body["Limit"] == limit


def test_offset_past_the_end(api):
    status, body = page(api, "offset=99")
    assert status == 200
    assert body["Items"]["$values"] == [] and body["Count"] == 0
    assert body["TotalCount"] == 7 and body["Offset"] == 99
    assert body["HasNext"] is False and body["NextOffset"] == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=-1", "The parameter 'limit' cannot be negative."),
        ("offset=-5", "The parameter 'offset' cannot be negative."),
        ("limit=abc", "The value 'abc' is not valid for the parameter 'limit'."),
        ("limit=1.5", "The value '1.5' is not valid for the parameter 'limit'."),
        ("offset=1e3", "The value '1e3' is not valid for the parameter 'offset'."),
        (
            "limit=1000000000000",
            "The value '1000000000000' is not valid for the parameter 'limit'.",
        ),
        ("offset=" + "9" * 5000, None),
        ("limit=%D9%A5", "The value '\u0665' is not valid for the parameter 'limit'."),
    ],
)
def test_bad_paging_values(api, query, message):
    status, body = page(api, query)
    assert status == 400
    assert set(body) == {"Message"}
    if message:
        assert body["Message"] == message


# --- Filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lastname=eq:smith", ["23179"]),
        ("LastName=SMITH", ["23179"]),
        ("lastname=Equal:Smith", ["23179"]),
        ("firstname=startsWith:a", ["23181"]),
        ("email=endsWith:@EXAMPLE.ORG&lastname=ne:smith", ["23001", "23180", "23181", "23182"]),
        ("lastname=contains:e", ["23001", "23180", "23181", "23182"]),
        ("lastname=notContain:E", ["23179", "23100", "23183"]),  # the organization: no last name
        ("partyid=between:23180|23181", ["23180", "23181"]),
        ("id=in:23179|23182|nope", ["23179", "23182"]),
        ("organization=isEmpty:", ["23182"]),
        ("postalcode=notEmpty:", ["23179", "23180", "23181", "23100"]),
        ("customertypecode=NM", ["23182", "23183"]),
        ("lastname=gt:r&lastname=le:smith", ["23001", "23179"]),
        ("lastname=contains:%25", []),
        ("firstname=eq:jane&firstname=eq:anika", []),
        ("OrderBy=LastName:Descending&limit=2", ["23179", "23001"]),
        (
            "orderby=firstname",
            ["23100", "23181", "23179", "23183", "23182", "23001", "23180"],
        ),
    ],
)
def test_filters(api, query, expected):
    status, body = page(api, query)
    assert status == 200, body
    assert ids(body) == expected


def test_person_by_email_and_user_filters(api):
    body = api.get("/api/Person?Email=RJONES@example.org&limit=2").get_json()
    assert ids(body) == ["23180"] and body["Limit"] == 2
    users = api.get("/api/User?IsDisabled=false&UserName=ne:GUEST").get_json()
    assert users["TotalCount"] == 5
    assert api.get("/api/User?IsDisabled=isTrue:").get_json()["TotalCount"] == 0
    guest = api.get("/api/User?UserId=guest").get_json()["Items"]["$values"]
    assert [u["UserName"] for u in guest] == ["GUEST"]
    summaries = api.get("/api/PartySummary?city=chicago").get_json()
    assert [s["Name"] for s in summaries["Items"]["$values"]] == ["Robert Jones"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/Party?lastname=foo:smith", "The operation 'foo' is not supported."),
        ("/api/Party?lastname=!like:smith", "The operation '!like' is not supported."),
        ("/api/Party?lastname=isTrue:", "The operation 'istrue' cannot be used with 'LastName'."),
        (
            "/api/Party?partyid=between:1",
            "'between' needs two values separated by '|' for 'PartyId'.",
        ),
        (
            "/api/User?IsDisabled=contains:t",
            "The operation 'contains' cannot be used with 'IsDisable'.",
        ),
        ("/api/User?IsDisabled=maybe", "The value 'maybe' is not valid for 'IsDisable'."),
        (
            "/api/Party?orderby=Shoe:Descending",
            "The property 'Shoe' cannot be used to order this list.",
        ),
    ],
)
def test_filter_errors(api, path, message):
    response = api.get(path)
    assert response.status_code == 400
    assert response.get_json() == {"Message": message}


def test_unknown_filter_keys_are_ignored_and_journalled(app, api):
    """Reference §2.4: unknown keys are ignored (clients send names that are not properties)
    and shown in the QA console's journal; the mock answered 400 before."""
    status, body = page(api, "shoesize=eq:9&lastname=smith")
    assert status == 200 and ids(body) == ["23179"]
    audit.flush()
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).filter_by(action="api.call").order_by(AuditEvent.id.desc())
        ).first()
        assert json.loads(event.detail)["ignored"] == ["shoesize"]
    assert api.get("/api/User?password=x").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/Party?shoesize=eq:9",
        "/api/User?password=x",
    ],
)
def test_strict_filters_refuse_unknown_keys(app, api, path):
    app.config["API_STRICT_FILTERS"] = True
    response = api.get(path)
    assert response.status_code == 400
    name = path.split("?")[1].split("=")[0]
    assert response.get_json() == {
        "Message": f"The property '{name}' cannot be used to filter this list."
    }


def test_value_with_colon_that_is_not_an_operation_is_literal(api):
    status, body = page(api, "phone=12:30")
    assert status == 200 and body["TotalCount"] == 0


# --- _execute errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"OperationName": "DeleteEverything", "Parameters": {"$values": ["jsmith"]}},
        {"OperationName": "FindByUserName"},
        {"OperationName": "FindByUserName", "Parameters": {"$values": []}},
        {"OperationName": "FindByUserName", "Parameters": {"$values": [{"$value": 5}]}},
    ],
)
def test_execute_bad_bodies(api, body):
    if body is None:
        response = api.post("/api/User/_execute", data="{not json", content_type="application/json")
    else:
        response = api.post("/api/User/_execute", json=body)
    assert response.status_code == 400
    assert set(response.get_json()) == {"Message"}


def test_expired_token_and_refresh_token_are_refused(app, api):
    token = mint(app, "jsmith")
    with app.app_context():
        client_app = ClientApplication(
            client_id="MyApp",
            client_id_key="myapp",
            secret_hash=secrets.client_secret_hash("s3cret"),
            refresh_token_lifetime=30,
            redirect_url="https://app.example/sso",
        )
        db.session.add(client_app)
        db.session.flush()
        refresh, _ = tokens.issue_refresh_token(
            accounts.get_user("jsmith"), client_app, source="sso"
        )
        db.session.commit()
    # A refresh token is for /token only, never a bearer token.
    response = api.client.get("/api/User/23179", headers={"Authorization": f"Bearer {refresh}"})
    assert response.status_code == 401
    headers = {"Authorization": f"Bearer {token}"}
    with app.test_request_context():
        clock.advance(19.9)
    assert api.client.get("/api/User/23179", headers=headers).status_code == 200
    with app.test_request_context():
        clock.advance(0.2)
    response = api.client.get("/api/User/23179", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == DENIED
