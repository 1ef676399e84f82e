"""Panel sources (reference §7): catalog entries built from what staff define in the Panel
designer (services/panels.py), served by the same engine as every other entity.

`GET /api/{Source}` (filters on any property), `GET`/`PUT`/`DELETE /api/{Source}/{PartyId}` for a
single-instance source, `.../~{PartyId}|{SEQN}` for a row of a multi-instance one (whose
`GET /api/{Source}/{PartyId}` is a PagedResult of the party's rows), `POST` to
create (201). PUT answers the source's own status (201 by default, as clients of custom panels
expect, §3.1). Rows over parties are a member's own when they are the member's party's.

The entry is rebuilt when the definition changes, so a panel saved in the Staff
site is an API entity at the next request.
"""

from sqlalchemy import String, cast, select

from imis_mock.api.engine.bodies import Body
from imis_mock.api.engine.entity import Entity, Prop
from imis_mock.api.engine.errors import Invalid
from imis_mock.api.engine.wire import GENERIC_ENTITY, generic_entity
from imis_mock.extensions import db
from imis_mock.models import Contact, PanelRow, PanelSource
from imis_mock.services import panels

# Panel designer type -> (metadata type, how a filter reads the JSON value). Dates are ISO
# text, so they compare as text; typing them "String" keeps operands as given [I].
KINDS = {
    "text": ("String", "as_string"),
    "list": ("String", "as_string"),
    "date": ("String", "as_string"),
    "integer": ("Integer", "as_integer"),
    "decimal": ("Decimal", "as_float"),
    "yesno": ("Boolean", "as_boolean"),
}
PARTY_NAMES = ("partyid", "id")
SEQN_TEXT = cast(PanelRow.seqn, String)
_ENTRIES: dict[tuple, Entity] = {}


def property_column(name: str, kind: str):
    """The SQL expression for one property's value in a row's JSON."""
    return getattr(PanelRow.data[name], KINDS[kind][1])()


def _wire_value(prop: dict, value):
    if value is None:
        return None
    if prop["type"] == "decimal":
        return float(value)
    return value


def entry(source: PanelSource) -> Entity:
    """The catalog entry for a panel source, cached on its whole definition: a revision number
    alone is not enough, since a reset database (or another app in the same process) starts
    its revisions again with a different definition behind the same name."""
    key = (
        source.id,
        source.name,
        source.parent,
        source.multi_instance,
        source.replace_status,
        repr(source.properties),
    )
    cached = _ENTRIES.get(key)
    if cached is None:
        cached = _ENTRIES[key] = _build(source)
    return cached


def _build(source: PanelSource) -> Entity:
    name, source_id = source.name, source.id
    props = list(source.properties)
    party = source.parent == "Party"
    multi = source.multi_instance or not party

    def to_wire(row: PanelRow) -> dict:
        party_id = row.contact.imis_id if party and row.contact is not None else None
        values = [(p["name"], _wire_value(p, row.data.get(p["name"]))) for p in props]
        key = []
        if party:
            values.append(("PartyId", party_id))
            key.append(party_id)
        if multi:
            values.append(("SEQN", row.seqn))
            key.append(str(row.seqn))
        parent = ("Party", [party_id]) if party else None
        return generic_entity(name, key, values, parent=parent)

    def read(body: Body, row: PanelRow | None) -> dict:
        given, party_id = {}, None
        for prop in body.items("Properties"):
            if not isinstance(prop, Body) or not isinstance(prop.get("Name"), str):
                continue
            key, value = prop.get("Name").strip(), prop.get("Value")
            if key.lower() in PARTY_NAMES:
                party_id = value
            elif key.lower() != "seqn":
                given[key] = value
        if party_id is None:
            parent = body.items("PrimaryParentIdentity.IdentityElements")
            party_id = parent[0] if parent else None
        contact = None
        if party and row is None:
            if party_id in (None, ""):
                raise Invalid("PartyId is required.")
            contact = db.session.scalar(select(Contact).where(Contact.imis_id == str(party_id)))
            if contact is None:
                raise Invalid(f"The party '{party_id}' was not found.")
        return {"contact": contact, "values": given}

    def write(values: dict, row: PanelRow | None, caller) -> PanelRow:
        current = db.session.get(PanelSource, source_id)
        if row is None:
            return panels.create_row(
                current, values["contact"], values["values"], actor=caller.username
            )
        return panels.update_row(current, row, values["values"], actor=caller.username)

    def remove(row: PanelRow, caller) -> None:
        panels.delete_row(row, actor=caller.username)

    properties = [
        Prop(p["name"], KINDS[p["type"]][0], column=property_column(p["name"], p["type"]))
        for p in props
    ]
    key = []
    if party:
        properties.append(Prop("PartyId", column=Contact.imis_id, identity=True))
        key.append(Contact.imis_id)
    if multi:
        properties.append(Prop("SEQN", "Integer", column=PanelRow.seqn, identity=True))
        key.append(SEQN_TEXT)

    def query():
        statement = select(PanelRow).where(PanelRow.source_id == source_id)
        if party:
            statement = statement.join(PanelRow.contact)
        return statement

    return Entity(
        name=name,
        description=f"Panel source ({'multi' if multi else 'single'} instance).",
        item_type=GENERIC_ENTITY,
        properties=tuple(properties),
        query=query,
        key=tuple(key),
        order=(PanelRow.contact_id, PanelRow.seqn) if party else (PanelRow.seqn,),
        identity="composite",
        verbs=frozenset({"list", "get", "create", "replace", "delete", "validate", "metadata"}),
        aliases={"ID": "PartyId"} if party else {},
        owner=("party", PanelRow.contact_id) if party else None,
        member_writes=frozenset({"replace"}),
        metadata=False,
        object_type="Multi" if multi else "Single",
        lists_by_first_key=party and multi,
        collections={"Properties": "attributes"},
        replace_status=source.replace_status,
        to_wire=to_wire,
        read=read,
        write=write,
        remove=remove,
    )


def find(name: str) -> Entity | None:
    """The entry of the panel source named `name` (any case), or None."""
    source = panels.get_source(name)
    return None if source is None else entry(source)


def all_entries() -> list[Entity]:
    return [entry(s) for s in panels.list_sources()]
