"""Business records (models/records.py): find, store and number the contracts the API serves
from JSON. The family rules (events.py, commerce.py, communications.py) call these."""

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select

from imis_mock.extensions import db
from imis_mock.models import BusinessRecord, Contact
from imis_mock.services import ServiceError


def find(entity: str, key: str) -> BusinessRecord | None:
    """The record of `entity` whose URL id is `key`, in any letter case."""
    return db.session.scalar(
        select(BusinessRecord).where(
            BusinessRecord.entity == entity, func.lower(BusinessRecord.key) == key.strip().lower()
        )
    )


def find_by(entity: str, path: str, value: str) -> BusinessRecord | None:
    """The first record of `entity` whose JSON property `path` equals `value` (any case)."""
    element = BusinessRecord.data[path].as_string()
    return db.session.scalar(
        select(BusinessRecord)
        .where(BusinessRecord.entity == entity, func.lower(element) == value.strip().lower())
        .order_by(BusinessRecord.id)
        .limit(1)
    )


def children(entity: str, parent_key: str) -> list[BusinessRecord]:
    """The records of `entity` that belong to `parent_key` (an event's registrations ...)."""
    return list(
        db.session.scalars(
            select(BusinessRecord)
            .where(
                BusinessRecord.entity == entity,
                func.lower(BusinessRecord.parent_key) == parent_key.strip().lower(),
            )
            .order_by(BusinessRecord.id)
        )
    )


def of_contact(entities: Iterable[str], contact_id: int) -> list[BusinessRecord]:
    """A contact's records of the given entities, oldest first (staff tabs, My Account)."""
    return list(
        db.session.scalars(
            select(BusinessRecord)
            .where(BusinessRecord.entity.in_(list(entities)))
            .where(BusinessRecord.contact_id == contact_id)
            .order_by(BusinessRecord.id)
        )
    )


def of_entity(entity: str) -> list[BusinessRecord]:
    return list(
        db.session.scalars(
            select(BusinessRecord)
            .where(BusinessRecord.entity == entity)
            .order_by(BusinessRecord.id)
        )
    )


def party(party_id) -> Contact | None:
    """The contact a PartyId names, or None."""
    if party_id in (None, ""):
        return None
    return db.session.scalar(select(Contact).where(Contact.imis_id == str(party_id).strip()))


def require_party(party_id, label: str = "PartyId") -> Contact:
    contact = party(party_id)
    if contact is None:
        raise ServiceError(f"The party '{party_id}' was not found.", label)
    return contact


def next_number(entity: str, start: int) -> str:
    """The next numeric id of an entity whose ids are numbers (InvoiceId, ImportBatchId ...).

    The unique (entity, key) constraint turns a race between two writers into a 400, not a
    duplicate.
    """
    keys = db.session.scalars(select(BusinessRecord.key).where(BusinessRecord.entity == entity))
    numbers = [int(k) for k in keys if k.isdigit()]
    return str(max([start - 1, *numbers]) + 1)


def new_guid() -> str:
    return str(uuid.uuid4()).upper()


def put(
    entity: str,
    key: str,
    data: dict,
    *,
    contact: Contact | None = None,
    parent_key: str = "",
    status: str = "",
    row: BusinessRecord | None = None,
) -> BusinessRecord:
    """Store a record (a new one, or `row` replaced); the caller flushes and commits."""
    if row is None:
        row = BusinessRecord(entity=entity, key=key)
        db.session.add(row)
    row.data = data
    row.contact_id = contact.id if contact is not None else None
    row.parent_key = parent_key
    row.status = str(status)[:20]
    return row
