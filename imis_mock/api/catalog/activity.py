"""Activity (reference §5): a party's history as GenericEntityData, keyed by its SEQN.

`GET /api/Activity?PartyId=...&ACTIVITY_TYPE=...&EFFECTIVE_DATE=ge:...`, `GET /api/Activity/{id}`,
`POST` (a bare Properties bag: ACTIVITY_TYPE and PartyId are enough [C: PM-V2.1]) and `PUT` [I].
The rules are in services/activities.py; this module maps its fields to iMIS's property names.
A member's token reads and writes its own party's activities; staff all (owner below).
"""

from sqlalchemy import String, cast, select

from imis_mock.api.engine.bodies import Body
from imis_mock.api.engine.entity import Entity, Prop
from imis_mock.api.engine.wire import GENERIC_ENTITY, generic_entity
from imis_mock.models import Activity, Contact
from imis_mock.services import activities

# iMIS property name -> (model attribute, metadata type), in the order the Properties bag lists
# them: §5.3's example first, then the rest of iMIS's Activity columns the mock keeps.
PROPERTIES = {
    "ACTIVITY_TYPE": ("activity_type", "String"),
    "PartyId": (None, "String"),
    "EFFECTIVE_DATE": ("effective_date", "Date"),
    "AMOUNT": ("amount", "Decimal"),
    "SEQN": ("id", "Integer"),
    "THRU_DATE": ("thru_date", "Date"),
    "TRANSACTION_DATE": ("transaction_date", "Date"),
    "DESCRIPTION": ("description", "String"),
    "SOURCE_SYSTEM": ("source_system", "String"),
    "SOURCE_CODE": ("source_code", "String"),
    "PRODUCT_CODE": ("product_code", "String"),
    "OTHER_CODE": ("other_code", "String"),
    "CATEGORY": ("category", "String"),
    "UNITS": ("units", "Decimal"),
    "NOTE": ("note", "String"),
    "RECURRING_REQUEST": ("recurring_request", "Boolean"),
}
# Body names (any case) that carry the party: iMIS's PartyId, and ID, the Activity table's column.
PARTY_NAMES = ("partyid", "id")
WRITABLE = {
    name.lower(): attr for name, (attr, _) in PROPERTIES.items() if attr in activities.FIELDS
}


def activity_wire(row: Activity) -> dict:
    """The activity as GenericEntityData, its Identity the SEQN and its parent the party."""
    party_id = row.contact.imis_id
    values = [
        (name, party_id if attr is None else getattr(row, attr))
        for name, (attr, _) in PROPERTIES.items()
    ]
    return generic_entity("Activity", [str(row.id)], values, parent=("Party", [party_id]))


def read(body: Body, row: Activity | None) -> dict:
    """The Properties bag as service fields; unknown names are ignored, as Json.NET does [I].

    A property with no Value clears the field. The party comes from PartyId (or ID) in the bag,
    else from PrimaryParentIdentity; PUT keeps what the bag leaves out.
    """
    fields, party_id = {}, None
    for prop in body.items("Properties"):
        if not isinstance(prop, Body) or not isinstance(prop.get("Name"), str):
            continue
        name, value = prop.get("Name").strip().lower(), prop.get("Value")
        if name in PARTY_NAMES:
            party_id = value
        elif name in WRITABLE:
            fields[WRITABLE[name]] = value
    if party_id is None:
        parent = body.items("PrimaryParentIdentity.IdentityElements")
        party_id = parent[0] if parent else None
    return {"party_id": party_id, "fields": fields}


def write(values: dict, row: Activity | None, caller) -> Activity:
    if row is None:
        return activities.create_activity(
            values["party_id"], actor=caller.username, **values["fields"]
        )
    activities.update_activity(
        row, actor=caller.username, party_id=values["party_id"], **values["fields"]
    )
    return row


PARTY_ID = Prop("PartyId", column=Contact.imis_id)
# The URL id is text; compared with the integer SEQN as text, so "abc" finds nothing (404) on
# every database instead of failing on PostgreSQL's integer = varchar. TODO(engine): coerce
# numeric key parts in resource.key_condition, then key on Activity.id and its index.
SEQN_TEXT = cast(Activity.id, String)

ACTIVITY = Entity(
    name="Activity",
    description="A party's history: dues, meetings, courses completed (GenericEntityData).",
    item_type=GENERIC_ENTITY,
    properties=tuple(
        Prop(
            name,
            kind,
            column=Contact.imis_id if attr is None else getattr(Activity, attr),
            identity=name == "SEQN",
        )
        for name, (attr, kind) in PROPERTIES.items()
    ),
    query=lambda: select(Activity).join(Activity.contact),
    key=(SEQN_TEXT,),
    order=(Activity.id,),
    identity="composite",
    verbs=frozenset({"list", "get", "create", "replace", "validate", "haspermission", "metadata"}),
    aliases={"ID": PARTY_ID, "ActivityId": "SEQN"},
    owner=("party", Activity.contact_id),
    member_writes=frozenset({"create", "replace"}),
    # iMIS answers 501 for this BO-backed source's metadata (reference §5.4, §11.3 item 8) [I].
    metadata=False,
    object_type="Multi",
    collections={"Properties": "attributes"},
    to_wire=activity_wire,
    read=read,
    write=write,
)

ENTITIES = (ACTIVITY,)
