"""The Party family: Party, Person, Organization and PartySummary (reference §3, behaviour §4).

Every one reads the contacts table. GET /api/Party/{id} answers the concrete subtype: PersonData
or OrganizationData. POST /api/Party takes ComboPartyData (and PersonData, OrganizationData, the
Combo* aliases [I]); the rules of a write are services.parties'.
"""

from sqlalchemy import DateTime, select, type_coerce

from imis_mock.api.engine import access, bodies
from imis_mock.api.engine.bodies import Body
from imis_mock.api.engine.entity import Changes, Entity, Prop
from imis_mock.api.engine.errors import ApiError
from imis_mock.api.engine.wire import (
    CORE,
    MEMBERSHIP,
    Shape,
    collection,
    compact,
    contract,
    generic_property,
    net_datetime,
    property_collection,
    typed,
)
from imis_mock.models import Contact
from imis_mock.models.base import UTCDateTime
from imis_mock.services import parties
from imis_mock.services.parties import PartyRecord

PARTY_DATA = contract(MEMBERSHIP, "PartyData")
PERSON_DATA = contract(MEMBERSHIP, "PersonData")
ORGANIZATION_DATA = contract(MEMBERSHIP, "OrganizationData")
PARTY_SUMMARY_DATA = contract(MEMBERSHIP, "PartySummaryData")
COMBO_PARTY = contract(MEMBERSHIP, "ComboPartyData")
# [I] Not in any source; accepted as aliases in case a client sends them (§3.4).
COMBO_PERSON = contract(MEMBERSHIP, "ComboPersonData")
COMBO_ORGANIZATION = contract(MEMBERSHIP, "ComboOrganizationData")

STATUS_NAMES = {"A": "Active", "I": "Inactive"}
COUNTRY_NAMES = {"CA": "Canada", "US": "United States", "GB": "United Kingdom", "AU": "Australia"}

# A party's shapes read its columns by name: a Contact (lists, writes) or a PartyRecord (the
# one-party GET, read with Core) serve alike.
Party = Contact | PartyRecord


# --- Shapes ----------------------------------------------------------------------------------
# Each shape is built from a party's leaf values (_values), so that a list page can write many
# records from a template of the shape (wire.Shape): the shapes place values, and test them for
# truth, but never read them.


def _values(contact: Party) -> dict:
    """The leaf values of a party's shapes, derived ones (names, dates as .NET writes them)
    included."""
    status = contact.status
    status_name = STATUS_NAMES.get(status, status)
    join_date = contact.join_date
    return {
        "imis_id": contact.imis_id,
        "uniform_id": contact.uniform_id,
        "status": status,
        "status_name": status_name,
        "name": party_name(contact),
        "sort": contact.sort_name,
        "first_name": contact.first_name,
        "informal_name": contact.informal_name,
        "last_name": contact.last_name,
        "middle_name": contact.middle_name,
        "prefix": contact.prefix,
        "suffix": contact.suffix,
        "full_name": contact.full_name,
        "organization": contact.organization,
        "employer_imis_id": contact.employer_imis_id,
        "title": contact.title,
        "email": contact.email,
        "phone": contact.phone,
        "address_line": contact.address_line,
        "city": contact.city,
        "region": contact.region,
        "postal_code": contact.postal_code,
        "country_code": contact.country_code,
        "country_name": country_name(contact),
        "member_type": contact.member_type,
        "is_member": contact.member_type == "M",
        "join_date": net_datetime(join_date) if join_date else None,
        "created_on": net_datetime(contact.created_at),
        "updated_on": net_datetime(contact.updated_at),
    }


def _status(v: dict) -> dict:
    return {
        "$type": contract(MEMBERSHIP, "PartyStatusData"),
        "PartyStatusId": v["status"],
        "Name": v["status_name"],
        "Description": v["status_name"],
    }


def _party_identity(v: dict) -> dict:
    """The properties PartySummaryData and PartyData both end with, in iMIS's order."""
    return {
        "PartyId": v["imis_id"],
        "Id": v["imis_id"],
        "UniformId": v["uniform_id"],
        "Status": _status(v),
        "Name": v["name"],
        "Sort": v["sort"],
    }


def party_name(contact: Party) -> str:
    if contact.is_organization:
        return contact.organization
    return f"{contact.first_name} {contact.last_name}".strip()


def country_name(contact: Party) -> str:
    return COUNTRY_NAMES.get(contact.country_code, contact.country_code)


def _summary_shape(v: dict) -> dict:
    return compact(
        {
            "$type": PARTY_SUMMARY_DATA,
            "CityName": v["city"],
            "CountryName": v["country_name"],
            "CountrySubEntityName": v["region"],
            "Email": v["email"],
            "Phone": v["phone"],
            **_party_identity(v),
            "IsMarkedForDelete": False,
        }
    )


def party_summary(contact: Party) -> dict:
    """PartySummaryData: what UserData.Party and /api/PartySummary carry."""
    return _summary_shape(_values(contact))


def _address(v: dict) -> dict | None:
    if not any((v["address_line"], v["city"], v["region"], v["postal_code"])):
        return None
    address = compact(
        {
            "$type": contract(MEMBERSHIP, "AddressData"),
            "AddressId": v["imis_id"],
            "AddressLines": collection(
                contract(MEMBERSHIP, "AddressLineDataCollection"),
                [v["address_line"]] if v["address_line"] else [],
            ),
            "CityName": v["city"],
            "CountryCode": v["country_code"],
            "CountryName": v["country_name"],
            "CountrySubEntityCode": v["region"],
            "PostalCode": v["postal_code"],
            "VerificationStatus": 0,
        }
    )
    return compact(
        {
            "$type": contract(MEMBERSHIP, "FullAddressData"),
            "AddressPurpose": "Address",
            "Email": v["email"],
            "Phone": v["phone"],
            "FullAddressId": v["imis_id"],
            "Address": address,
        }
    )


def _common(v: dict) -> dict:
    """The PartyData properties persons and organizations share, in iMIS's order."""
    attributes = [
        generic_property("CustomerTypeCode", v["member_type"]),
        generic_property("IsMember", typed("System.Boolean", v["is_member"])),
    ]
    if v["join_date"]:
        attributes.append(generic_property("JoinDate", v["join_date"]))
    address = _address(v)
    emails = []
    if v["email"]:
        emails.append(
            {
                "$type": contract(MEMBERSHIP, "EmailData"),
                "Address": v["email"],
                "EmailType": "_Primary",
                "IsPrimary": True,
            }
        )
    phones = []
    if v["phone"]:
        phones.append(
            {
                "$type": contract(MEMBERSHIP, "PhoneData"),
                "Number": v["phone"],
                "PhoneType": "Address",
            }
        )
    return {
        "AdditionalAttributes": property_collection(attributes),
        "Addresses": collection(
            contract(MEMBERSHIP, "FullAddressDataCollection"), [address] if address else []
        ),
        "AlternateIds": collection(contract(CORE, "AlternateIdDataCollection"), []),
        "Emails": collection(contract(MEMBERSHIP, "EmailDataCollection"), emails),
        "Phones": collection(contract(MEMBERSHIP, "PhoneDataCollection"), phones),
        "Salutations": collection(contract(MEMBERSHIP, "PartySalutationDataCollection"), []),
        "SocialNetworks": collection(contract(MEMBERSHIP, "PartySocialNetworkDataCollection"), []),
        "CommunicationTypePreferences": collection(
            contract(MEMBERSHIP, "PartyCommunicationTypePreferenceDataCollection"), []
        ),
        "SortIsOverridden": False,
        "UpdateInformation": {
            "$type": contract(CORE, "EntityUpdateInformationData"),
            "CreatedOn": v["created_on"],
            "UpdatedOn": v["updated_on"],
        },
        **_party_identity(v),
    }


def _person_shape(v: dict) -> dict:
    organization = None
    if v["organization"]:
        organization = compact(
            {
                "$type": contract(MEMBERSHIP, "PrimaryOrganizationInformationData"),
                "OrganizationPartyId": v["employer_imis_id"],
                "Name": v["organization"],
                "Title": v["title"],
            }
        )
    person_name = compact(
        {
            "$type": contract(MEMBERSHIP, "PersonNameData"),
            "FirstName": v["first_name"],
            "InformalName": v["informal_name"],
            "LastName": v["last_name"],
            "MiddleName": v["middle_name"],
            "NamePrefix": v["prefix"],
            "NameSuffix": v["suffix"],
            "FullName": v["full_name"],
        }
    )
    return compact(
        {
            "$type": PERSON_DATA,
            "PersonName": person_name,
            "PrimaryOrganization": organization,
            **_common(v),
        }
    )


def _organization_shape(v: dict) -> dict:
    """OrganizationData [I: the `$type` follows §3.4; the fields are PartyData's]."""
    return compact(
        {
            "$type": ORGANIZATION_DATA,
            "OrganizationName": v["organization"],
            "IsOrganization": True,
            **_common(v),
        }
    )


def person_data(contact: Party) -> dict:
    """PersonData: what /api/Party/{id} and /api/Person/{id} answer for a person."""
    return _person_shape(_values(contact))


def organization_data(contact: Party) -> dict:
    """OrganizationData: what /api/Party/{id} answers for an organization."""
    return _organization_shape(_values(contact))


def party_data(contact: Party) -> dict:
    """The concrete subtype iMIS answers for a party."""
    return organization_data(contact) if contact.is_organization else person_data(contact)


# The same shapes as JSON text, for list pages (wire.Shape: json_text of the shapes above).
PERSON_SHAPE = Shape(_person_shape)
ORGANIZATION_SHAPE = Shape(_organization_shape)
SUMMARY_SHAPE = Shape(_summary_shape)


def person_text(contact: Party) -> str:
    return PERSON_SHAPE.text(_values(contact))


def party_text(contact: Party) -> str:
    shape = ORGANIZATION_SHAPE if contact.is_organization else PERSON_SHAPE
    return shape.text(_values(contact))


def party_summary_text(contact: Party) -> str:
    return SUMMARY_SHAPE.text(_values(contact))


# --- Reads -----------------------------------------------------------------------------------


def _loader(kind: str | None):
    """GET one party through the Core fast path (services.parties.party_row), with the 403/404
    rule of engine/access.py; `kind` "person"/"organization" hides the other kind (as missing)."""

    def load(caller, key: str) -> PartyRecord:
        imis_id = key.strip()
        own = None if caller.is_guest else caller.contact_id

        def fetch(visible_only: bool) -> PartyRecord | None:
            if visible_only and own is None:
                return None
            row = parties.party_row(imis_id, own_contact_id=own if visible_only else None)
            if row is not None and kind is not None:
                if row.is_organization != (kind == "organization"):
                    return None
            return row

        return access.by_key(caller, fetch, "Party", key)

    return load


# --- Writes ----------------------------------------------------------------------------------


def _first(items: list, flag: str | None = None):
    """The item marked `flag` (IsPrimary), else the first; None for an empty collection."""
    objects = [i for i in items if isinstance(i, Body)]
    if flag:
        for item in objects:
            if bodies.boolean(item.get(flag), flag):
                return item
    return objects[0] if objects else None


def _attributes(body: Body) -> dict:
    found = {}
    for item in body.items("AdditionalAttributes"):
        if isinstance(item, Body) and isinstance(item.get("Name"), str):
            found[item.get("Name").lower()] = item.get("Value")
    return found


def _is_organization(body: Body, row, kind: str | None) -> bool:
    if kind is not None:
        return kind == "organization"
    short = bodies.short_type(body.type_name) if body.type_name else ""
    if short in ("organizationdata", "comboorganizationdata"):
        return True
    if short in ("persondata", "combopersondata"):
        return False
    flag = body.get("IsOrganization")
    if flag is not None:
        return bodies.boolean(flag, "IsOrganization")
    if row is not None:
        return row.is_organization
    # ComboPartyData carries OrganizationName on persons too (their employer): a body without
    # a PersonName is an organization.
    return not body.has("PersonName") and body.has("OrganizationName")


def _reader(kind: str | None):
    def read(body: Body, row) -> dict:
        text = bodies.text
        organization = _is_organization(body, row, kind)
        name = body.get("PersonName")
        name = name if isinstance(name, Body) else Body({})
        employer = body.get("PrimaryOrganization")
        employer = employer if isinstance(employer, Body) else Body({})
        email = _first(body.items("Emails"), "IsPrimary")
        phone = _first(body.items("Phones"), "IsPrimary")
        full_address = _first(body.items("Addresses"))
        address = full_address.get("Address") if full_address else None
        address = address if isinstance(address, Body) else Body({})
        lines = [line for line in address.items("AddressLines") if isinstance(line, str)]
        attributes = _attributes(body)
        status = body.get("Status")
        status = status.get("PartyStatusId") if isinstance(status, Body) else status
        values = {
            "is_organization": organization,
            "prefix": text(name.get("NamePrefix"), "PersonName.NamePrefix"),
            "first_name": text(name.get("FirstName"), "PersonName.FirstName"),
            "middle_name": text(name.get("MiddleName"), "PersonName.MiddleName"),
            "last_name": text(name.get("LastName"), "PersonName.LastName"),
            "suffix": text(name.get("NameSuffix"), "PersonName.NameSuffix"),
            "informal_name": text(name.get("InformalName"), "PersonName.InformalName"),
            "title": text(employer.get("Title"), "PrimaryOrganization.Title"),
            "email": text(
                (email.get("Address") if email else None)
                or body.get("Email")
                or (full_address.get("Email") if full_address else None),
                "Emails.Address",
            ),
            "phone": text(
                (phone.get("Number") if phone else None)
                or body.get("Phone")
                or (full_address.get("Phone") if full_address else None),
                "Phones.Number",
            ),
            "address_line": text(next((x for x in lines if x), ""), "AddressLines"),
            "city": text(address.get("CityName"), "Address.CityName"),
            "region": text(address.get("CountrySubEntityCode"), "Address.CountrySubEntityCode"),
            "postal_code": text(address.get("PostalCode"), "Address.PostalCode"),
            "country_code": text(address.get("CountryCode"), "Address.CountryCode").upper(),
            "member_type": text(attributes.get("customertypecode"), "CustomerTypeCode"),
            "join_date": bodies.day(attributes.get("joindate"), "JoinDate"),
            "status": text(status, "Status.PartyStatusId").upper(),
        }
        if organization:
            values["organization"] = text(
                body.get("OrganizationName") or body.get("Name"), "OrganizationName"
            )
        else:
            values["organization"] = text(
                employer.get("Name") or body.get("OrganizationName"), "PrimaryOrganization.Name"
            )
        employer_id = text(employer.get("OrganizationPartyId"), "OrganizationPartyId")
        return {"values": values, "employer": employer_id or None}

    return read


def write(read: dict, row: Contact | None, caller) -> Contact:
    if row is not None and not access.is_staff(caller):
        # [I] A member changes their own details, not their membership: CustomerTypeCode and
        # the party status stay as staff set them.
        read["values"].update(member_type=row.member_type, status=row.status)
    if row is None:
        return parties.create_party(
            read["values"], employer_imis_id=read["employer"], actor=caller.username
        )
    return parties.replace_party(
        row, read["values"], employer_imis_id=read["employer"], actor=caller.username
    )


def remove(row: Contact, caller) -> None:
    parties.delete_party(row, actor=caller.username)


def find_by_alternate_id(caller, body: Body) -> dict:
    """FindByAlternateId (§10.1): Parameters ["Id", "101"], or a PartyFindByAlternateIdRequest
    with AlternateId {IdType, Id}. The mock knows one id type: the party id [I]."""
    alternate = body.get("AlternateId")
    if isinstance(alternate, Body):
        id_type, value = alternate.get("IdType"), alternate.get("Id")
    else:
        values = body.items("Parameters")
        id_type, value = (values + [None, None])[:2]
    if not isinstance(id_type, str) or not isinstance(value, str | int):
        raise ApiError("FindByAlternateId needs an id type and an id.")
    if id_type.strip().lower() not in ("id", "partyid"):
        raise ApiError(f"The alternate id type '{id_type}' is not supported.")
    return party_data(_loader(None)(caller, str(value)))


# --- Entries ---------------------------------------------------------------------------------

IDENTITY = (
    Prop("PartyId", column=Contact.imis_id, identity=True),
    Prop("Id", column=Contact.imis_id),
    Prop("UniformId", column=Contact.uniform_id),
)
NAME = (
    Prop("Name"),
    Prop("Sort"),
    Prop("Status.PartyStatusId", column=Contact.status),
    Prop("Status.Name"),
)
PERSON_NAME = (
    Prop("PersonName.NamePrefix", column=Contact.prefix),
    Prop("PersonName.FirstName", column=Contact.first_name),
    Prop("PersonName.MiddleName", column=Contact.middle_name),
    Prop("PersonName.LastName", column=Contact.last_name),
    Prop("PersonName.NameSuffix", column=Contact.suffix),
    Prop("PersonName.InformalName", column=Contact.informal_name),
    Prop("PersonName.FullName"),
    Prop("PrimaryOrganization.OrganizationPartyId"),
    Prop("PrimaryOrganization.Name", column=Contact.organization),
    Prop("PrimaryOrganization.Title", column=Contact.title),
)
DETAILS = (
    Prop("Emails.Address", column=Contact.email),
    Prop("Emails.EmailType"),
    Prop("Emails.IsPrimary", "Boolean"),
    Prop("Phones.Number", column=Contact.phone),
    Prop("Phones.PhoneType"),
    Prop("Addresses.AddressPurpose"),
    Prop("Addresses.Address.AddressLines"),
    Prop("Addresses.Address.CityName", column=Contact.city),
    Prop("Addresses.Address.CountrySubEntityCode", column=Contact.region),
    Prop("Addresses.Address.PostalCode", column=Contact.postal_code),
    Prop("Addresses.Address.CountryCode", column=Contact.country_code),
    Prop("Addresses.Address.CountryName"),
    Prop("AdditionalAttributes.CustomerTypeCode", column=Contact.member_type),
    Prop("AdditionalAttributes.IsMember", "Boolean"),
    Prop("AdditionalAttributes.JoinDate", "Date", column=Contact.join_date),
    Prop("UpdateInformation.CreatedOn", "Date", column=Contact.created_at),
    Prop("UpdateInformation.UpdatedOn", "Date", column=Contact.updated_at),
)
ORGANIZATION = (
    Prop("OrganizationName", column=Contact.organization),
    Prop("IsOrganization", "Boolean", column=Contact.is_organization),
)
# The filter keys clients send (§2.2), which are not top-level JSON properties.
ALIASES = {
    "FirstName": "PersonName.FirstName",
    "LastName": "PersonName.LastName",
    "MiddleName": "PersonName.MiddleName",
    "InformalName": "PersonName.InformalName",
    "Email": "Emails.Address",
    "Phone": "Phones.Number",
    "City": "Addresses.Address.CityName",
    "CountryCode": "Addresses.Address.CountryCode",
    "PostalCode": "Addresses.Address.PostalCode",
    "Organization": "PrimaryOrganization.Name",
    "Title": "PrimaryOrganization.Title",
    "CustomerTypeCode": "AdditionalAttributes.CustomerTypeCode",
    "JoinDate": "AdditionalAttributes.JoinDate",
    "Status": "Status.PartyStatusId",
    "CreatedOn": "UpdateInformation.CreatedOn",
    "UpdatedOn": "UpdateInformation.UpdatedOn",
}
OWNER = ("party", Contact.id)
# The audit events services.parties and services.contacts record for a party's writes (API and
# Staff site alike), which its changelog serves. A deleted party has no changelog (404).
CHANGES = Changes(
    {"contact.create": ("Add", "imis_id"), "contact.update": ("Change", "imis_id")},
    since=Contact.created_at,
)
COLLECTIONS = {
    "Emails": "collection",
    "Phones": "collection",
    "Addresses": "collection",
    "AdditionalAttributes": "attributes",
}


# A list page's parties, as the one-party GET reads them but for the UTC dates: read as the naive
# UTC they are stored as, not through UTCDateTime (its conversion to aware, and .NET text from
# an aware value, cost about 2 us a row of a 100-party page). The shapes only write them as .NET
# text, whole seconds without an offset, the same from either.
LIST_RECORDS = (
    select(
        *(
            type_coerce(c, DateTime).label(c.name) if isinstance(c.type, UTCDateTime) else c
            for c in parties.CONTACTS.c
        ),
        parties.EMPLOYER_IMIS_ID,
    ),
    PartyRecord,
)


def _contacts(organization: bool | None):
    def query():
        statement = select(Contact)
        if organization is not None:
            statement = statement.where(Contact.is_organization.is_(organization))
        return statement

    return query


PARTY = Entity(
    name="Party",
    description="A person or an organization (PersonData or OrganizationData).",
    item_type=PARTY_DATA,
    properties=IDENTITY + NAME + PERSON_NAME + ORGANIZATION + DETAILS,
    query=_contacts(None),
    key=(Contact.imis_id,),
    order=(Contact.id,),
    aliases=ALIASES,
    owner=OWNER,
    changes=CHANGES,
    member_writes=frozenset({"replace"}),
    accepts=(PERSON_DATA, ORGANIZATION_DATA, COMBO_PARTY, COMBO_PERSON, COMBO_ORGANIZATION),
    id_properties=("PartyId", "Id"),
    collections=COLLECTIONS,
    operations={"findbyalternateid": find_by_alternate_id},
    records=LIST_RECORDS,
    to_wire=party_data,
    to_text=party_text,
    load=_loader(None),
    read=_reader(None),
    write=write,
    remove=remove,
)

PERSON = Entity(
    name="Person",
    description="A person.",
    item_type=PERSON_DATA,
    properties=IDENTITY + NAME + PERSON_NAME + DETAILS,
    query=_contacts(False),
    key=(Contact.imis_id,),
    order=(Contact.id,),
    aliases=ALIASES,
    owner=OWNER,
    changes=CHANGES,
    member_writes=frozenset({"replace"}),
    accepts=(COMBO_PARTY, COMBO_PERSON),
    id_properties=("PartyId", "Id"),
    collections=COLLECTIONS,
    records=LIST_RECORDS,
    to_wire=person_data,
    to_text=person_text,
    load=_loader("person"),
    read=_reader("person"),
    write=write,
    remove=remove,
)

# PM-CLOUD lists only these routes for Organization [C, §1.5]: organizations are created, read
# and changed through /api/Party.
ORGANIZATION_ENTITY = Entity(
    name="Organization",
    description="An organization (read and written through Party).",
    item_type=ORGANIZATION_DATA,
    properties=IDENTITY + NAME + ORGANIZATION + DETAILS,
    query=_contacts(True),
    key=(Contact.imis_id,),
    order=(Contact.id,),
    verbs=frozenset({"haspermission", "changelog", "metadata"}),
    aliases={
        key: target
        for key, target in ALIASES.items()
        if not target.startswith(("PersonName.", "PrimaryOrganization."))
    },
    owner=OWNER,
    changes=CHANGES,
    member_writes=frozenset(),
    collections=COLLECTIONS,
    to_wire=organization_data,
)

PARTY_SUMMARY = Entity(
    name="PartySummary",
    description="A summary of a party.",
    item_type=PARTY_SUMMARY_DATA,
    properties=(
        *IDENTITY,
        Prop("Name"),
        Prop("Sort"),
        Prop("CityName", column=Contact.city),
        Prop("CountryName"),
        Prop("CountrySubEntityName", column=Contact.region),
        Prop("Email", column=Contact.email),
        Prop("Phone", column=Contact.phone),
        Prop("Status.PartyStatusId", column=Contact.status),
        Prop("IsMarkedForDelete", "Boolean"),
    ),
    query=_contacts(None),
    key=(Contact.imis_id,),
    order=(Contact.id,),
    verbs=frozenset({"list", "get", "haspermission", "changelog", "metadata"}),
    aliases={
        "City": Prop("Addresses.Address.CityName", column=Contact.city),
        "FirstName": Prop("PersonName.FirstName", column=Contact.first_name),
        "LastName": Prop("PersonName.LastName", column=Contact.last_name),
        "Status": "Status.PartyStatusId",
        "UpdatedOn": Prop("UpdateInformation.UpdatedOn", "Date", column=Contact.updated_at),
    },
    owner=OWNER,
    changes=CHANGES,
    member_writes=frozenset(),
    records=LIST_RECORDS,
    to_wire=party_summary,
    to_text=party_summary_text,
    load=_loader(None),
)

ENTITIES = (PARTY, PERSON, ORGANIZATION_ENTITY, PARTY_SUMMARY)
