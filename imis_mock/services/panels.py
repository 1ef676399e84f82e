"""Panel sources (iMIS's Panel designer) and their rows.

A panel source is a custom table that belongs to a party (single instance: one row per party,
created empty with the party; multi instance: rows numbered by SEQN within the party) or stands
alone. Its name is an API entity at once (api/catalog/panels.py). Functions flush; the caller
commits, so a failed save changes nothing.
"""

import re
from datetime import datetime

from sqlalchemy import Select, delete, func, insert, select

from imis_mock.extensions import db
from imis_mock.models import Contact, IqaQuery, PanelRow, PanelSource
from imis_mock.services import ServiceError, audit, values

# type code: the Panel designer's label
TYPES = {
    "text": "Text",
    "integer": "Integer",
    "decimal": "Decimal",
    "yesno": "Yes/No",
    "date": "Date",
    "list": "List of values",
}
PARENTS = ("Party", "Standalone")
# Names iMIS gives every panel row itself: a property may not take them [I].
RESERVED = {"partyid", "seqn", "id", "ordinal"}
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,59}")
TEXT_LIMIT = 4000


def get_source(name: str) -> PanelSource | None:
    """The panel source of that name, in any letter case."""
    return db.session.scalar(select(PanelSource).where(PanelSource.name_key == name.lower()))


def list_sources() -> list[PanelSource]:
    return list(db.session.scalars(select(PanelSource).order_by(PanelSource.name_key)))


def _check_definition(name: str, parent: str, properties: list[dict], taken) -> list[dict]:
    if not NAME.fullmatch(name or ""):
        raise ServiceError(
            "Name must start with a letter and hold only letters, digits and _ (60 at most).",
            "name",
        )
    if taken(name):
        raise ServiceError(f"The name '{name}' is already used by another source.", "name")
    if parent not in PARENTS:
        raise ServiceError("Parent must be Party or Standalone.", "parent")
    checked, seen = [], set()
    for prop in properties:
        prop_name = (prop.get("name") or "").strip()
        if not prop_name:
            continue
        if not NAME.fullmatch(prop_name):
            raise ServiceError(f"The property name '{prop_name}' is not valid.", "properties")
        key = prop_name.lower()
        if key in RESERVED or key in seen:
            raise ServiceError(
                f"The property name '{prop_name}' clashes with another property.", "properties"
            )
        seen.add(key)
        kind = prop.get("type") or "text"
        if kind not in TYPES:
            raise ServiceError(f"The type of '{prop_name}' is not valid.", "properties")
        choices = [v.strip() for v in prop.get("values") or [] if v and v.strip()]
        if kind == "list" and not choices:
            raise ServiceError(f"The list '{prop_name}' needs at least one value.", "properties")
        checked.append({"name": prop_name, "type": kind, "values": choices})
    if not checked:
        raise ServiceError("A panel source needs at least one property.", "properties")
    return checked


def save_source(
    source: PanelSource | None,
    *,
    name: str,
    parent: str,
    multi_instance: bool,
    properties: list[dict],
    replace_status: int = 201,
    actor: str,
    entity_taken=lambda name: False,
) -> PanelSource:
    """Create or change a panel source; `entity_taken(name)` says if the API already has it.

    A new single-instance source over parties gets an empty row for every existing party.
    """
    name = (name or "").strip()

    def taken(candidate: str) -> bool:
        other = get_source(candidate)
        return (other is not None and other is not source) or entity_taken(candidate)

    checked = _check_definition(name, parent, properties, taken)
    if source is not None and source.name_key != name.lower() and used_by(source.name):
        raise ServiceError(
            f"{source.name} is used by the query {', '.join(used_by(source.name))}: "
            "it cannot be renamed.",
            "name",
        )
    if source is not None and (source.parent != parent or source.multi_instance != multi_instance):
        if count_rows(source):
            raise ServiceError(
                "Parent and instances cannot change while the source has rows.", "parent"
            )
    created = source is None
    if created:
        source = PanelSource(revision=0)
        db.session.add(source)
    source.name, source.name_key = name, name.lower()
    source.parent, source.multi_instance = parent, bool(multi_instance)
    source.properties, source.replace_status = checked, replace_status
    source.revision = (source.revision or 0) + 1
    db.session.flush()
    if created and parent == "Party" and not multi_instance:
        ids = db.session.scalars(select(Contact.id)).all()
        if ids:
            rows = [{"source_id": source.id, "contact_id": i, "seqn": 1, "data": {}} for i in ids]
            db.session.execute(insert(PanelRow), rows)
    audit.record(
        "panel.create" if created else "panel.update", "success", actor=actor, detail={"name": name}
    )
    return source


def used_by(name: str) -> list[str]:
    """The paths of the queries whose source is `name`."""
    queries = db.session.scalars(
        select(IqaQuery).where(func.lower(IqaQuery.source) == name.lower())
    )
    return sorted(q.path for q in queries)


def delete_source(source: PanelSource, *, actor: str) -> None:
    """Delete a panel source and its rows; refused while a query uses it."""
    users = used_by(source.name)
    if users:
        raise ServiceError(f"{source.name} is used by the query {', '.join(users)}.")
    db.session.execute(delete(PanelRow).where(PanelRow.source_id == source.id))
    db.session.delete(source)
    db.session.flush()
    audit.record("panel.delete", "success", actor=actor, detail={"name": source.name})


def count_rows(source: PanelSource) -> int:
    return db.session.scalar(
        select(func.count()).select_from(PanelRow).where(PanelRow.source_id == source.id)
    )


# --- Rows ------------------------------------------------------------------------------------


def convert(prop: dict, value: object):
    """A property value as a row stores it (JSON): None, str, int, float, bool or ISO date."""
    name, kind = prop["name"], prop["type"]
    if value is None or (value == "" and kind != "text"):
        return None
    if kind == "integer":
        if isinstance(value, bool):
            raise ServiceError(f"{name} must be a whole number.", name)
        try:
            return int(str(value).strip())
        except ValueError:
            raise ServiceError(f"{name} must be a whole number.", name) from None
    if kind == "decimal":
        number = values.decimal(value, name, field=name)
        return None if number is None else float(number)
    if kind == "yesno":
        return values.boolean(value, name, field=name)
    if kind == "date":
        moment = values.naive_datetime(value, name, field=name)
        return moment.isoformat(timespec="seconds") if isinstance(moment, datetime) else None
    text = values.text(value, name, TEXT_LIMIT, field=name)
    if kind == "list" and text and text not in prop["values"]:
        raise ServiceError(f"{name} must be one of: {', '.join(prop['values'])}.", name)
    return text or None


def row_values(source: PanelSource, given: dict, old: dict | None = None) -> dict:
    """Check a row's values by property (names in any case); unknown names are ignored [I]."""
    by_key = {k.lower(): v for k, v in given.items()}
    data = dict(old or {})
    for prop in source.properties:
        key = prop["name"].lower()
        if key in by_key:
            data[prop["name"]] = convert(prop, by_key[key])
    return data


def rows_query(source: PanelSource, contact: Contact | None = None) -> Select:
    query = select(PanelRow).where(PanelRow.source_id == source.id)
    if contact is not None:
        query = query.where(PanelRow.contact_id == contact.id)
    return query.order_by(PanelRow.contact_id, PanelRow.seqn)


def create_row(source: PanelSource, contact: Contact | None, data: dict, *, actor: str) -> PanelRow:
    """Add a row: the next SEQN of the party (or of the source, standalone)."""
    if source.parent == "Party" and contact is None:
        raise ServiceError("PartyId is required.", "PartyId")
    if source.parent == "Standalone":
        contact = None
    seqn = 1
    if source.multi_instance or contact is None:
        last = select(func.max(PanelRow.seqn)).where(PanelRow.source_id == source.id)
        if contact is not None:
            last = last.where(PanelRow.contact_id == contact.id)
        seqn = (db.session.scalar(last) or 0) + 1
    elif db.session.scalar(rows_query(source, contact).limit(1)) is not None:
        raise ServiceError(f"The party {contact.imis_id} already has a {source.name} row.")
    row = PanelRow(source_id=source.id, contact=contact, seqn=seqn, data=row_values(source, data))
    db.session.add(row)
    db.session.flush()
    audit.record("panel.row.create", "success", actor=actor, detail={"source": source.name})
    return row


def update_row(source: PanelSource, row: PanelRow, data: dict, *, actor: str) -> PanelRow:
    """Replace the values the body names; the others are kept."""
    row.data = row_values(source, data, row.data)
    db.session.flush()
    audit.record("panel.row.update", "success", actor=actor, detail={"source": source.name})
    return row


def delete_row(row: PanelRow, *, actor: str) -> None:
    db.session.delete(row)
    db.session.flush()
    audit.record("panel.row.delete", "success", actor=actor, detail={"row": row.id})


def add_party_rows(contact: Contact) -> None:
    """Give a new party an empty row in every single-instance panel over parties [I, §7.1]."""
    sources = db.session.scalars(
        select(PanelSource.id).where(
            PanelSource.parent == "Party", PanelSource.multi_instance.is_(False)
        )
    ).all()
    for source_id in sources:
        db.session.add(PanelRow(source_id=source_id, contact_id=contact.id, seqn=1, data={}))
