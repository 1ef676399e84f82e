"""Entries served from business records (models/records.py): the contract as it was written.

`record_entity(...)` builds a catalog Entry whose rows are the BusinessRecords of one entity:
list, filters and paging are the engine's (filters compare JSON properties in SQL); the hooks
here only turn a body into a record and back. A summary (`summary_of=`) serves another entry's
rows without their nested collections, as iMIS's *SummaryData contracts do [I: §9.4].
Family modules (events.py, commerce.py, communications.py, longtail.py) declare the entries.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy import select

from imis_mock.api.engine import bodies
from imis_mock.api.engine.bodies import Body
from imis_mock.api.engine.entity import ALL_VERBS, Entity, Prop
from imis_mock.api.engine.errors import Invalid
from imis_mock.api.engine.wire import contract
from imis_mock.extensions import db
from imis_mock.models import BusinessRecord
from imis_mock.services import ServiceError, records

NUMERIC = ("Integer", "Decimal", "Monetary")
# [I] iMIS contracts nest a few levels (an event's function's item); far deeper is an attack
# on the JSON encoder's stack, refused with a message instead.
MAX_DEPTH = 32
# The verbs of an entity that is only read (summaries, computed answers).
READS = frozenset({"list", "get", "haspermission", "changelog", "metadata"})


def json_prop(name: str, type_: str = "String", path: str | None = None, **kw) -> Prop:
    """A property read from the record's JSON (`path` dotted), filterable in SQL."""
    parts = tuple((path or name).split("."))
    element = BusinessRecord.data[parts if len(parts) > 1 else parts[0]]
    column = element.as_float() if type_ in NUMERIC else element.as_string()
    return Prop(name, type_, column=column, **kw)


@dataclass
class Spec:
    """What differs between record entities; see record_entity()."""

    name: str
    contract: str
    id_prop: str
    description: str
    identity: str = "text"
    # (name, type, path) filterable properties besides the id.
    filters: tuple[tuple[str, str, str], ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    # Dotted paths in the body: the party the record belongs to, its parent record, a status.
    party: str | None = None
    parent: str | None = None
    status: str | None = None
    # The key a new record gets: from its body (key_of) or made up ("guid" or a first number).
    key_of: Callable[[Body], str] | None = None
    new_key: str | int | None = "guid"
    verbs: frozenset[str] = ALL_VERBS
    operations: dict[str, Callable] = field(default_factory=dict)
    # Called after a write with the stored row, and before a delete (may refuse).
    after_write: Callable | None = None
    before_remove: Callable | None = None
    # Serve another entity's rows (a summary): its name, and the keys to leave out.
    summary_of: str | None = None
    summary_drops: tuple[str, ...] = ()
    member_writes: frozenset[str] = frozenset()
    replace_status: int = 200
    validate: Callable | None = None


def spec(
    name: str,
    namespace: str,
    id_prop: str,
    description: str,
    filters: tuple = (),
    **options,
) -> Spec:
    """A Spec whose contract is `{namespace}.{name}Data`. A filter is a property name (a text
    property of that name) or (name, type, dotted path)."""
    return Spec(
        name=name,
        contract=contract(namespace, f"{name}Data"),
        id_prop=id_prop,
        description=description,
        filters=tuple((f, "String", f) if isinstance(f, str) else f for f in filters),
        **options,
    )


def summary(source: Spec, name: str, description: str, **options) -> Spec:
    """A read-only *Summary entity over `source`'s records (its deletes, if any, too)."""
    namespace = source.contract.split(",")[0].rsplit(".", 1)[0]
    values = {"verbs": READS, "operations": {}, "after_write": None, "validate": None}
    return replace(
        source,
        name=name,
        contract=contract(namespace, f"{name}Data"),
        description=description,
        summary_of=source.name,
        **{**values, **options},
    )


def _key(spec: Spec, body: Body, row: BusinessRecord | None) -> str:
    if row is not None:
        return row.key
    key = spec.key_of(body) if spec.key_of else body.get(spec.id_prop)
    if key in (None, ""):
        if spec.new_key is None:
            raise Invalid(f"{spec.id_prop} is required.")
        if spec.new_key == "guid":
            return records.new_guid()
        return records.next_number(spec.name, int(spec.new_key))
    key = bodies.text(key, spec.id_prop, limit=200, required=True)
    if "/" in key and spec.identity != "slash":
        # The URL could never name it: only slash-id entities take the rest of the path.
        raise Invalid(f"{spec.id_prop} cannot contain '/'.")
    return key


def _depth(value) -> int:
    """How deep objects and arrays nest in a JSON value (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def _check_values(spec: Spec, data: dict) -> None:
    """Refuse what the database could not filter on later: a NUL anywhere (PostgreSQL's ->>
    cannot return it) and a numeric filter property that is not a number; numbers are stored
    as numbers, whatever form they came in (typed scalar, text)."""
    if _depth(data) > MAX_DEPTH:
        raise Invalid(f"The body is nested more than {MAX_DEPTH} levels deep.")
    if "\\u0000" in json.dumps(data):
        raise Invalid("The body contains a character that is not allowed.")
    for name, type_, path in spec.filters:
        if type_ in NUMERIC and path in data:
            value = bodies.wrap(data[path])
            number = bodies.decimal(value, name)
            if number is not None:
                data[path] = int(number) if type_ == "Integer" else float(number)


def reader(spec: Spec) -> Callable:
    """The entry's read hook: a write body as the record to store, checked."""

    def read(body: Body, row: BusinessRecord | None) -> dict:
        key = _key(spec, body, row)
        if row is None and records.find(spec.name, key) is not None:
            raise Invalid(f"A {spec.name} with the id '{key}' already exists.")
        data = {"$type": spec.contract}
        data.update({k: v for k, v in body.data.items() if k != "$type"})
        _check_values(spec, data)
        if spec.key_of is None:
            data[spec.id_prop] = key
        if spec.validate is not None:
            spec.validate(body, data)
        values = {"key": key, "data": data}
        for name in ("party", "parent", "status"):
            path = getattr(spec, name)
            value = body.get(path) if path else None
            values[name] = "" if value is None or isinstance(value, Body) else str(value)
        return values

    return read


def writer(spec: Spec) -> Callable:
    """The entry's write hook: store the record, linked to its party and parent."""

    def write(values: dict, row: BusinessRecord | None, caller) -> BusinessRecord:
        # A PUT whose body leaves out the party, parent or status keeps the stored ones (a
        # PM-V2.1 registration body names its party only inside Registrant) [I].
        contact = row.contact if row is not None else None
        if values["party"]:
            contact = records.party(values["party"])
            if contact is None:
                raise Invalid(f"The party '{values['party']}' was not found.")
        stored = records.put(
            spec.name,
            values["key"],
            values["data"],
            contact=contact,
            parent_key=values["parent"] or (row.parent_key if row is not None else ""),
            status=values["status"] or (row.status if row is not None else ""),
            row=row,
        )
        if spec.after_write is not None:
            spec.after_write(stored)
        return stored

    return write


def _remover(spec: Spec) -> Callable:
    def remove(row: BusinessRecord, caller) -> None:
        if spec.before_remove is not None:
            try:
                spec.before_remove(row)
            except ServiceError as error:
                raise Invalid(error.message) from None
        db.session.delete(row)

    return remove


def _summary_wire(spec: Spec) -> Callable:
    def to_wire(row: BusinessRecord) -> dict:
        data = {"$type": spec.contract}
        data.update(
            (k, v) for k, v in row.data.items() if k != "$type" and k not in spec.summary_drops
        )
        return data

    return to_wire


def record_wire(row: BusinessRecord) -> dict:
    return row.data


def record_entity(spec: Spec) -> Entity:
    """A catalog entry over the business records of `spec.name` (or of `spec.summary_of`)."""
    source = spec.summary_of or spec.name
    properties = (
        json_prop(spec.id_prop, identity=True),
        *(json_prop(n, t, p) for n, t, p in spec.filters),
    )
    writes = not spec.summary_of
    return Entity(
        name=spec.name,
        description=spec.description,
        item_type=spec.contract,
        properties=properties,
        query=lambda: select(BusinessRecord).where(BusinessRecord.entity == source),
        key=(BusinessRecord.key,),
        order=(BusinessRecord.id,),
        identity=spec.identity,
        verbs=spec.verbs,
        aliases=spec.aliases,
        owner=("party", BusinessRecord.contact_id) if spec.party else None,
        member_writes=spec.member_writes,
        id_properties=(spec.id_prop,) if spec.key_of is None else (),
        operations=spec.operations,
        replace_status=spec.replace_status,
        to_wire=_summary_wire(spec) if spec.summary_of else record_wire,
        read=reader(spec) if writes else None,
        write=writer(spec) if writes else None,
        remove=_remover(spec),
    )


# --- Scenario files ------------------------------------------------------------------------------


def record_entries() -> dict[str, Entity]:
    """The catalog's entries that store business records (lower-case name -> entry)."""
    from imis_mock.api.catalog import ENTITIES

    return {e.name.lower(): e for e in ENTITIES if e.write is not None and e.to_wire is record_wire}


def load_section(section: dict[str, list[dict]], where: str) -> int:
    """Load a scenario's `business_records` (entity -> contracts) through the entries' own
    read and write hooks, as a POST would; return how many were stored."""
    entries, count = record_entries(), 0
    for name, items in section.items():
        entry = entries.get(name.lower())
        if entry is None:
            raise ServiceError(f"'{name}' is not an entity stored as business records", name)
        for index, item in enumerate(items):
            try:
                entry.write(entry.read(Body(item), None), None, None)
                db.session.flush()
            except ServiceError as error:
                raise ServiceError(error.message, f"{name}[{index}]") from None
            count += 1
    return count


def export_section() -> dict[str, list[dict]]:
    """Every stored record by entity, in the order load_section() reads them back (functions
    are left out: they come with their events)."""
    entries = record_entries()
    section: dict[str, list[dict]] = {}
    for row in db.session.scalars(select(BusinessRecord).order_by(BusinessRecord.id)):
        entry = entries.get(row.entity.lower())
        if entry is not None and row.entity != "EventFunction":
            section.setdefault(entry.name, []).append(row.data)
    return section
