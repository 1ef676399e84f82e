"""CsContact, CsContactBasic and CsAddress (reference §7.1): iMIS's standard contact panels,
GenericEntityData views over the contacts table, keyed by the party id.

Clients read them (`GET /api/CsContact/{id}`, `?IsCompany=false&Status=ne:A`,
`/api/CsContactBasic?email=eq:...`, `/api/CsAddress?ID=...`); the values are the party's own,
so a change to the party shows here at once. [I] Writes go through /api/Party: these views are
read-only in the mock. A member reads their own row.
"""

from sqlalchemy import select

from imis_mock.api.engine.entity import Entity, Prop
from imis_mock.api.engine.wire import GENERIC_ENTITY, generic_entity
from imis_mock.models import Contact

OWNER = ("party", Contact.id)
VERBS = frozenset({"list", "get", "haspermission"})


def _view(name: str, description: str, fields: list[tuple[str, str, object, object]]) -> Entity:
    """An entry whose Properties are `fields`: (name, type, column or None, value of a row)."""

    def to_wire(row: Contact) -> dict:
        values = [(field, read(row)) for field, _, _, read in fields]
        return generic_entity(name, [row.imis_id], values, parent=("Party", [row.imis_id]))

    return Entity(
        name=name,
        description=description,
        item_type=GENERIC_ENTITY,
        properties=tuple(
            Prop(field, kind, column=column, identity=field == "ID")
            for field, kind, column, _ in fields
        ),
        query=lambda: select(Contact),
        key=(Contact.imis_id,),
        order=(Contact.id,),
        identity="composite",
        verbs=VERBS,
        aliases={"PartyId": "ID"},
        owner=OWNER,
        metadata=False,
        object_type="Single",
        collections={"Properties": "attributes"},
        to_wire=to_wire,
    )


def _address(row: Contact) -> str:
    lines = [row.address_line, " ".join(p for p in (row.city, row.region, row.postal_code) if p)]
    return "\r".join(line for line in lines if line)


CS_CONTACT = _view(
    "CsContact",
    "A contact's main fields (iMIS's CsContact panel).",
    [
        ("ID", "String", Contact.imis_id, lambda r: r.imis_id),
        ("MemberType", "String", Contact.member_type, lambda r: r.member_type),
        ("FirstName", "String", Contact.first_name, lambda r: r.first_name),
        ("LastName", "String", Contact.last_name, lambda r: r.last_name),
        ("FullName", "String", None, lambda r: r.full_name),
        ("Company", "String", Contact.organization, lambda r: r.organization),
        ("Title", "String", Contact.title, lambda r: r.title),
        ("Email", "String", Contact.email, lambda r: r.email),
        ("Status", "String", Contact.status, lambda r: r.status),
        ("IsCompany", "Boolean", Contact.is_organization, lambda r: r.is_organization),
        ("Country", "String", Contact.country_code, lambda r: r.country_code),
        ("FullAddress", "String", None, _address),
        ("JoinDate", "Date", Contact.join_date, lambda r: r.join_date),
        ("LastUpdated", "Date", Contact.updated_at, lambda r: r.updated_at),
    ],
)
CS_CONTACT_BASIC = _view(
    "CsContactBasic",
    "A contact's name and email (iMIS's CsContactBasic panel).",
    [
        ("ID", "String", Contact.imis_id, lambda r: r.imis_id),
        ("MajorKey", "String", Contact.imis_id, lambda r: r.imis_id),
        ("FirstName", "String", Contact.first_name, lambda r: r.first_name),
        ("LastName", "String", Contact.last_name, lambda r: r.last_name),
        ("FullName", "String", None, lambda r: r.full_name),
        ("Email", "String", Contact.email, lambda r: r.email),
        ("Company", "String", Contact.organization, lambda r: r.organization),
        ("Status", "String", Contact.status, lambda r: r.status),
    ],
)
CS_ADDRESS = _view(
    "CsAddress",
    "A contact's address (iMIS's CsAddress panel).",
    [
        ("ID", "String", Contact.imis_id, lambda r: r.imis_id),
        ("AddressPurpose", "String", None, lambda r: "Address"),
        ("Address1", "String", Contact.address_line, lambda r: r.address_line),
        ("City", "String", Contact.city, lambda r: r.city),
        ("StateProvince", "String", Contact.region, lambda r: r.region),
        ("Zip", "String", Contact.postal_code, lambda r: r.postal_code),
        ("Country", "String", Contact.country_code, lambda r: r.country_code),
        ("FullAddress", "String", None, _address),
    ],
)

ENTITIES = (CS_CONTACT, CS_CONTACT_BASIC, CS_ADDRESS)
