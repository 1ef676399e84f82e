"""The JSON iMIS's REST API sends: Json.NET with `$type` annotations (TypeNameHandling.Auto).

Collections are `{"$type": ..., "$values": [...]}`, typed scalars `{"$type": "System.Boolean",
"$value": true}`, strings bare; dates are .NET's `2019-03-01T00:00:00`. Properties without a value
are left out, as Json.NET does with NullValueHandling.Ignore [I]. Shapes follow
shared/reference/imis-behaviour.md section 4: what it marks [I] is a guess kept in one place here.
"""

from datetime import date, datetime

from imis_mock.models import Contact, User
from imis_mock.services.parties import Page, PartyRecord

# The shapes read a party's columns by name: a Contact (lists, UserData) or a PartyRecord (the
# one-party GET, read with Core) serve alike.
Party = Contact | PartyRecord

CONTRACTS = "Asi.Contracts"
MEMBERSHIP = "Asi.Soa.Membership.DataContracts"
CORE = "Asi.Soa.Core.DataContracts"

USER_DATA = f"{MEMBERSHIP}.UserData, {CONTRACTS}"
PERSON_DATA = f"{MEMBERSHIP}.PersonData, {CONTRACTS}"
PARTY_SUMMARY_DATA = f"{MEMBERSHIP}.PartySummaryData, {CONTRACTS}"
EXPANDO = "System.Dynamic.ExpandoObject, System.Core"

# [I] Roles: iMIS gives each user security roles; the mock gives staff "SysAdmin", every other
# account "Member", and GUEST none.
STAFF_ROLES = ("SysAdmin",)
MEMBER_ROLES = ("Member",)
STATUS_NAMES = {"A": "Active", "I": "Inactive"}
COUNTRY_NAMES = {"CA": "Canada", "US": "United States", "GB": "United Kingdom", "AU": "Australia"}
FAR_FUTURE = "9999-12-31T00:00:00"


def net_type(name: str, assembly: str = CONTRACTS) -> str:
    return f"{name}, {assembly}"


def generic_list(item_type: str) -> str:
    """.NET's name for List<T>, as Json.NET writes it."""
    return f"System.Collections.Generic.List`1[[{item_type}]], mscorlib"


def collection(type_name: str, values: list) -> dict:
    return {"$type": type_name, "$values": values}


def typed(type_name: str, value) -> dict:
    return {"$type": type_name, "$value": value}


def net_datetime(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def compact(obj: dict) -> dict:
    """Drop properties without a value (None or an empty string)."""
    return {k: v for k, v in obj.items() if v is not None and v != ""}


def paged_result(item_type: str | None, items: list, page: Page) -> dict:
    """iMIS's PagedResult; `item_type` None gives the non-generic one that IQA answers with."""
    if item_type is None:
        result_type = f"{CORE}.PagedResult, {CONTRACTS}"
        list_type = generic_list("System.Object, mscorlib")
    else:
        result_type = f"{CORE}.PagedResult`1[[{item_type}]], {CONTRACTS}"
        list_type = generic_list(item_type)
    return {
        "$type": result_type,
        "Items": collection(list_type, items),
        "Offset": page.offset,
        "Limit": page.limit,
        "Count": len(items),
        "TotalCount": page.total,
        "NextPageLink": None,
        "HasNext": page.has_next,
        "NextOffset": page.next_offset,
    }


def party_status(contact: Party) -> dict:
    name = STATUS_NAMES.get(contact.status, contact.status)
    return {
        "$type": f"{MEMBERSHIP}.PartyStatusData, {CONTRACTS}",
        "PartyStatusId": contact.status,
        "Name": name,
        "Description": name,
    }


def party_name(contact: Party) -> str:
    return f"{contact.first_name} {contact.last_name}".strip()


def country_name(contact: Party) -> str:
    return COUNTRY_NAMES.get(contact.country_code, contact.country_code)


def party_summary(contact: Party) -> dict:
    """PartySummaryData: what UserData.Party and /api/PartySummary carry."""
    return compact(
        {
            "$type": PARTY_SUMMARY_DATA,
            "CityName": contact.city,
            "CountryName": country_name(contact),
            "CountrySubEntityName": contact.region,
            "Email": contact.email,
            "Phone": contact.phone,
            "PartyId": contact.imis_id,
            "Id": contact.imis_id,
            "UniformId": contact.uniform_id,
            "Status": party_status(contact),
            "Name": party_name(contact),
            "Sort": contact.sort_name,
            "IsMarkedForDelete": False,
        }
    )


def roles(user: User) -> list[str]:
    if user.is_guest:
        return []
    return list(STAFF_ROLES if user.is_staff else MEMBER_ROLES)


def user_data(user: User) -> dict:
    """UserData. GUEST has IsAnonymous true and no Party."""
    role_values = [
        {"$type": f"{MEMBERSHIP}.RoleData, {CONTRACTS}", "RoleName": name, "Description": name}
        for name in roles(user)
    ]
    data = {
        "$type": USER_DATA,
        "EffectiveDate": net_datetime(user.created_at.date()),
        "ExpirationDate": FAR_FUTURE,
        "IsDisabled": user.is_disabled,
        "IsAnonymous": user.is_guest,
        "Roles": collection(f"{MEMBERSHIP}.RoleDataCollection, {CONTRACTS}", role_values),
        "UserId": user.imis_id,
        "UserName": user.username,
    }
    if user.contact is not None and not user.is_guest:
        data["Party"] = party_summary(user.contact)
    return data


def _generic_property(name: str, value) -> dict:
    return {"$type": f"{CORE}.GenericPropertyData, {CONTRACTS}", "Name": name, "Value": value}


def _address(contact: Party) -> dict | None:
    if not any((contact.address_line, contact.city, contact.region, contact.postal_code)):
        return None
    address = compact(
        {
            "$type": f"{MEMBERSHIP}.AddressData, {CONTRACTS}",
            "AddressId": contact.imis_id,
            "AddressLines": collection(
                f"{MEMBERSHIP}.AddressLineDataCollection, {CONTRACTS}",
                [contact.address_line] if contact.address_line else [],
            ),
            "CityName": contact.city,
            "CountryCode": contact.country_code,
            "CountryName": country_name(contact),
            "CountrySubEntityCode": contact.region,
            "PostalCode": contact.postal_code,
            "VerificationStatus": 0,
        }
    )
    return compact(
        {
            "$type": f"{MEMBERSHIP}.FullAddressData, {CONTRACTS}",
            "AddressPurpose": "Address",
            "Email": contact.email,
            "Phone": contact.phone,
            "FullAddressId": contact.imis_id,
            "Address": address,
        }
    )


def person_data(contact: Party) -> dict:
    """PersonData: what /api/Party/{id} and /api/Person/{id} answer for a person."""
    attributes = [
        _generic_property("CustomerTypeCode", contact.member_type),
        _generic_property("IsMember", typed("System.Boolean", contact.member_type == "M")),
    ]
    if contact.join_date:
        attributes.append(_generic_property("JoinDate", net_datetime(contact.join_date)))
    address = _address(contact)
    emails = []
    if contact.email:
        emails.append(
            {
                "$type": f"{MEMBERSHIP}.EmailData, {CONTRACTS}",
                "Address": contact.email,
                "EmailType": "_Primary",
                "IsPrimary": True,
            }
        )
    phones = []
    if contact.phone:
        phones.append(
            {
                "$type": f"{MEMBERSHIP}.PhoneData, {CONTRACTS}",
                "Number": contact.phone,
                "PhoneType": "Address",
            }
        )
    organization = None
    if contact.organization:
        organization = compact(
            {
                "$type": f"{MEMBERSHIP}.PrimaryOrganizationInformationData, {CONTRACTS}",
                "Name": contact.organization,
                "Title": contact.title,
            }
        )
    person_name = compact(
        {
            "$type": f"{MEMBERSHIP}.PersonNameData, {CONTRACTS}",
            "FirstName": contact.first_name,
            "InformalName": contact.informal_name,
            "LastName": contact.last_name,
            "NamePrefix": contact.prefix,
            "FullName": contact.full_name,
        }
    )
    return compact(
        {
            "$type": PERSON_DATA,
            "PersonName": person_name,
            "PrimaryOrganization": organization,
            "AdditionalAttributes": collection(
                f"{CORE}.GenericPropertyDataCollection, {CONTRACTS}", attributes
            ),
            "Addresses": collection(
                f"{MEMBERSHIP}.FullAddressDataCollection, {CONTRACTS}",
                [address] if address else [],
            ),
            "AlternateIds": collection(f"{CORE}.AlternateIdDataCollection, {CONTRACTS}", []),
            "Emails": collection(f"{MEMBERSHIP}.EmailDataCollection, {CONTRACTS}", emails),
            "Phones": collection(f"{MEMBERSHIP}.PhoneDataCollection, {CONTRACTS}", phones),
            "Salutations": collection(
                f"{MEMBERSHIP}.PartySalutationDataCollection, {CONTRACTS}", []
            ),
            "SocialNetworks": collection(
                f"{MEMBERSHIP}.PartySocialNetworkDataCollection, {CONTRACTS}", []
            ),
            "CommunicationTypePreferences": collection(
                f"{MEMBERSHIP}.PartyCommunicationTypePreferenceDataCollection, {CONTRACTS}", []
            ),
            "SortIsOverridden": False,
            "UpdateInformation": {
                "$type": f"{CORE}.EntityUpdateInformationData, {CONTRACTS}",
                "CreatedOn": net_datetime(contact.created_at),
                "UpdatedOn": net_datetime(contact.updated_at),
            },
            "PartyId": contact.imis_id,
            "Id": contact.imis_id,
            "UniformId": contact.uniform_id,
            "Status": party_status(contact),
            "Name": party_name(contact),
            "Sort": contact.sort_name,
        }
    )


def expando(row: dict) -> dict:
    """An IQA result row: an ExpandoObject with the query's display aliases."""
    return {"$type": EXPANDO, **row}


def execute_result(result: dict | None) -> dict:
    """The answer to POST /api/{Entity}/_execute [C-client: clients read `Result`]."""
    return {"Result": result}


# [I] /api/metadata/{Entity}: the shape of BOEntityDefinitionData, which iMIS uses to describe
# business objects, with the properties the mock can filter on.
PROPERTY_TYPES = {
    "string": ("PropertyTypeStringData", "String"),
    "boolean": ("PropertyTypeBooleanData", "Boolean"),
}


def entity_definition(entity: str, description: str, fields) -> dict:
    properties = []
    for field in fields:
        contract, type_name = PROPERTY_TYPES[field.kind]
        properties.append(
            {
                "$type": f"{CORE}.{contract}, {CONTRACTS}",
                "Name": field.name,
                "PropertyTypeName": type_name,
                "Caption": field.name,
                "Visible": True,
            }
        )
    return {
        "$type": f"{CORE}.BOEntityDefinitionData, {CONTRACTS}",
        "EntityTypeName": entity,
        "ObjectTypeName": entity,
        "Description": description,
        "Properties": collection(
            f"{CORE}.PropertyDefinitionDataCollection, {CONTRACTS}", properties
        ),
    }
