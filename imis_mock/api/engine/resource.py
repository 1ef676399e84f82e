"""The standard operations on any catalog entry: list, get, create, replace, delete, validate,
execute, changelog. Views in api/routes.py call these; entries supply data and hooks.

Every write runs in the request's transaction and commits only when the stored row is one the
caller may hold (access.owns); any failure rolls back, so a refused or failed write stores nothing.
"""

import json
from functools import cache

from sqlalchemy import Boolean, Integer, and_, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BooleanClauseList, UnaryExpression

from imis_mock.api.engine import access, bodies, filters, wire
from imis_mock.api.engine.errors import (
    ApiError,
    Invalid,
    Malformed,
    NotFound,
    validation_results,
)
from imis_mock.api.engine.filters import Page
from imis_mock.extensions import db
from imis_mock.services import ServiceError, audit
from imis_mock.services.accounts import UserRecord

_CASE_BLIND = ("guid", "text", "slash")
PLUS = operators.custom_op("+")


# --- Identity --------------------------------------------------------------------------------


def key_parts(entity, key: str) -> list[str]:
    """Split a URL id into the identity's elements: `~23179|2` for a composite key (§1.6)."""
    key = key.strip()
    if entity.identity == "composite":
        if not key.startswith("~"):
            return [key] if len(entity.key) == 1 else []
        return key[1:].split("|")
    return [key]


def key_condition(entity, key: str):
    """The SQL condition selecting the row a URL id names; None when the id cannot name one."""
    parts = key_parts(entity, key)
    if len(parts) != len(entity.key) or not all(parts):
        return None
    if entity.identity in _CASE_BLIND:
        return and_(*(func.lower(c) == p.lower() for c, p in zip(entity.key, parts, strict=True)))
    return and_(*(c == p for c, p in zip(entity.key, parts, strict=True)))


def to_wire(entity, row) -> dict:
    if entity.to_wire is not None:
        return entity.to_wire(row)
    return plain_wire(entity, row)


def record_text(entity, row) -> str:
    """json_text(to_wire(entity, row)), written by the entry's to_text (from its shape's
    template) where it has one."""
    if entity.to_text is not None:
        return entity.to_text(row)
    return wire.json_text(to_wire(entity, row))


def plain_wire(entity, row) -> dict:
    """A plain entity's record: `$type`, then each top-level property with a column."""
    data = {"$type": entity.item_type}
    for prop in entity.properties:
        if prop.column is not None and "." not in prop.name:
            value = getattr(row, prop.column.key)
            data[prop.name] = wire.net_datetime(value) if prop.type == "Date" else value
    return wire.compact(data)


# --- Reads -----------------------------------------------------------------------------------


def list_text(
    entity, caller: UserRecord, args: dict[str, list[str]], *where
) -> tuple[str, list[str]]:
    """A PagedResult of the rows the caller may read that match the filters, as JSON text.

    Return it with the query keys that were ignored (no such property), for the journal.
    """
    rows, page, ignored = _list(entity, caller, args, where)
    page.items = [record_text(entity, r) for r in rows]
    items = page.items
    return wire.paged_text(entity.item_type, ",".join(items), len(items), page), ignored


def _list(entity, caller: UserRecord, args: dict[str, list[str]], where) -> tuple:
    """The page's rows, its Page (items still to write) and the ignored query keys.

    The count and the page select only primary keys (the filters' index suffices, whatever the
    table's size); then the page's rows are loaded by key.
    """
    conditions, ignored = filters.conditions(entity, args)
    order = filters.ordering(entity, args)
    offset, limit = filters.paging(args)
    readable = access.readable(entity, caller, entity.query()).where(*where)
    query = readable.where(*conditions)
    pk = _primary_key(query)
    keys = query.with_only_columns(*pk)
    if conditions and _walkable(pk, order):
        every = readable.with_only_columns(*pk)
        total, size = db.session.connection().execute(select(_count(keys), _count(every))).one()
        # Walking the table in key order reads about (offset + limit) * size / total rows to
        # fill the page, the filters' index every match (then they are sorted): for the first
        # page of a filter that one row in thirteen matches, on 100,000 rows, a sixth as many.
        if (offset + limit) * size < total * total:
            keys = every.where(*_unindexed(conditions))
    else:
        total = db.session.connection().scalar(select(_count(keys)))
    rows = []
    if offset < (total or 0):
        rows = _page_rows(entity, query, keys, order, offset, limit)
    # Page counts its items: the rows stand in until the caller writes them.
    return rows, Page(items=rows, offset=offset, limit=limit, total=total or 0), ignored


def _count(keys):
    return select(func.count()).select_from(keys.subquery()).scalar_subquery()


def _walkable(pk: tuple, order: list) -> bool:
    """Whether SQLite can walk the table in the page's order: its integer primary key (the
    rowid) is the order."""
    return (
        db.engine.dialect.name == "sqlite"
        and len(pk) == 1
        and isinstance(pk[0].type, Integer)
        and len(order) == 1
        and order[0].compare(pk[0])
    )


def _unindexed(conditions: list) -> list:
    """The conditions' terms, each behind a unary `+` (SQLite's documented way to keep a term
    off the indexes), so that the planner walks the rowid in order and stops at the page's end.
    Term by term: `+(a AND b)` would evaluate both sides of every row, at twice the cost."""
    terms = []
    for condition in conditions:
        if isinstance(condition, BooleanClauseList) and condition.operator is operators.and_:
            terms.extend(_unindexed(list(condition.clauses)))
        else:
            terms.append(UnaryExpression(condition.self_group(), operator=PLUS, type_=Boolean()))
    return terms


def _primary_key(query) -> tuple:
    return tuple(inspect(query.column_descriptions[0]["entity"]).primary_key)


def _page_rows(entity, query, keys, order: list, offset: int, limit: int) -> list:
    """The page's rows: the keys of the page (the filters' index and the order, nothing else),
    joined back to the full rows, in one statement."""
    pk = _primary_key(query)
    page = keys.order_by(*order).offset(offset).limit(limit).subquery()
    on = and_(*(c == page.c[c.key] for c in pk))
    if entity.records is not None:
        statement, record = entity.records
        # Core rows on the session's connection: the ORM's result machinery, which these
        # plain rows do not need, cost more than the rows (about 7 us a row).
        result = db.session.connection().execute(statement.join(page, on).order_by(*order))
        names = tuple(result.keys())
        # All the rows at once: iterating the result fetches them one by one (about 2 us a
        # row). A dict made by zip: a quarter of the cost of row._mapping's, per row.
        return [record(dict(zip(names, row, strict=True))) for row in result.all()]
    return db.session.scalars(query.join(page, on).order_by(*order)).all()


def fetch(entity, caller: UserRecord, key: str):
    """The ORM row a URL id names, with the 403/404 rule."""
    where = key_condition(entity, key)

    def one(visible_only: bool):
        if where is None:
            return None
        query = entity.query().where(where)
        if visible_only:
            query = query.where(access.visible(entity, caller))
        return db.session.scalars(query.limit(1)).first()

    return access.by_key(caller, one, entity.name, key)


def get_one_text(entity, caller: UserRecord, key: str, args: dict[str, list[str]]) -> str:
    """GET /api/{Entity}/{key}'s JSON text: the record, written by the entry's to_text (from its
    shape's template, as list pages are) where it has one."""
    if entity.lists_by_first_key and len(entity.key) > 1 and not key.strip().startswith("~"):
        # The rows under one first key element, filtered and paged as a list is [I, §7.1].
        return list_text(entity, caller, args, entity.key[0] == key.strip())[0]
    row = entity.load(caller, key) if entity.load is not None else fetch(entity, caller, key)
    return record_text(entity, row)


# --- Writes ----------------------------------------------------------------------------------


def _body(raw: bytes, entity) -> bodies.Body:
    body = bodies.parse(raw)
    if body is None:
        raise Malformed()
    bodies.check_type(body, entity.write_types)
    return body


def _read(entity, body, row):
    if entity.read is not None:
        return entity.read(body, row)
    return plain_read(entity, body, row)


def plain_read(entity, body, row) -> dict:
    """A plain entity's write body: each top-level column property, converted to its type."""
    values = {}
    for prop in entity.properties:
        if prop.column is None or "." in prop.name:
            continue
        raw = body.get(prop.name)
        if prop.identity and row is not None:
            continue
        if prop.identity and (raw is None or raw == ""):
            raise Invalid(f"{prop.name} is required.")
        value = bodies.coerce(prop.type, raw, prop.name)
        limit = getattr(prop.column.type, "length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            raise Invalid(f"{prop.name} has at most {limit} characters.")
        values[prop.column.key] = value
    if row is None:
        key = "|".join(str(values[p.column.key]) for p in entity.properties if p.identity)
        key = f"~{key}" if entity.identity == "composite" else key
        where = key_condition(entity, key)
        if where is not None and db.session.scalars(entity.query().where(where)).first():
            raise Invalid(f"A {entity.name} with the id '{key}' already exists.")
    return values


def _write(entity, values: dict, row, caller):
    if entity.write is not None:
        return entity.write(values, row, caller)
    if row is None:
        row = entity.model(**values)
        db.session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    return row


def _store(entity, caller: UserRecord, body, row):
    """Read, write and flush; refuse (403) a result the caller may not hold. Caller commits."""
    values = _read(entity, body, row)
    stored = _write(entity, values, row, caller)
    try:
        db.session.flush()
    except IntegrityError:
        # Two writers raced for one key, or a reference points nowhere: bad input, not a 500.
        raise Invalid(f"The {entity.name} conflicts with a stored record.") from None
    if not access.owns(entity, caller, stored):
        raise access.AccessDenied()
    return stored


def create(entity, caller: UserRecord, raw: bytes) -> dict:
    """POST /api/{E}: store a new row; answer it as GET would, its Identity filled in."""
    access.check_write(entity, caller, "create")
    body = _body(raw, entity)
    try:
        data = to_wire(entity, _store(entity, caller, body, None))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return data


def _check_body_id(entity, body, key: str) -> None:
    """PUT carries the full entity with its id: a different id than the URL's is a 400."""
    wanted = [p.lower() for p in key_parts(entity, key)]
    for name in entity.id_properties:
        value = body.get(name)
        if value not in (None, "") and str(value).strip().lower() not in wanted:
            raise Invalid(f"The {name} in the body ({value}) does not match the URL ({key}).")
    elements = body.items("Identity.IdentityElements")
    if elements and [str(e).strip().lower() for e in elements] != wanted:
        raise Invalid(f"The Identity in the body does not match the URL ({key}).")


def replace(entity, caller: UserRecord, key: str, raw: bytes) -> dict:
    """PUT /api/{E}/{id}: replace the row with the full entity in the body."""
    access.check_write(entity, caller, "replace")
    body = _body(raw, entity)
    try:
        row = fetch(entity, caller, key)
        _check_body_id(entity, body, key)
        data = to_wire(entity, _store(entity, caller, body, row))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return data


def delete(entity, caller: UserRecord, key: str) -> None:
    """DELETE /api/{E}/{id}: remove the row (200, empty body)."""
    access.check_write(entity, caller, "delete")
    try:
        row = fetch(entity, caller, key)
        if entity.remove is not None:
            entity.remove(row, caller)
        else:
            db.session.delete(row)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def validate(entity, caller: UserRecord, raw: bytes) -> dict:
    """POST /api/{E}/_validate: run the create without keeping it (§4.2)."""
    body = _body(raw, entity)
    results, normalised = validation_results([]), body.data
    try:
        if entity.has("create"):
            access.check_write(entity, caller, "create")
            normalised = to_wire(entity, _store(entity, caller, body, None))
        elif entity.read is not None:
            entity.read(body, None)
    except Invalid as error:
        results = validation_results(error.messages)
    except ServiceError as error:
        if isinstance(error, ApiError):
            raise
        results = validation_results([error.message])
    finally:
        db.session.rollback()
    return {
        "$type": wire.contract(wire.CORE, "ValidateResultsData"),
        "IsValid": not results["Errors"]["$values"],
        "ValidationResults": results,
        "Entity": normalised,
    }


def execute(entity, caller: UserRecord, raw: bytes) -> dict:
    """POST /api/{E}/_execute: dispatch on OperationName (§10.1); ParameterTypeName is ignored."""
    body = bodies.parse(raw)
    if body is None:
        raise Malformed()
    name = body.get("OperationName")
    operation = entity.operations.get(name.lower()) if isinstance(name, str) else None
    if operation is None:
        raise ApiError(f"The operation '{name}' is not supported for {entity.name}.")
    return wire.execute_result(operation(caller, body))


def changelog(entity, caller: UserRecord, key: str, args: dict[str, list[str]]) -> dict:
    """GET /api/{E}/{id}/changelog: a PagedResult of the row's changes, oldest first [I].

    The changes are the audit events the entry's `changes` names (what services record for
    each write, through the API or the staff pages); the row is read first, with GET's 403/404
    rule. An entry without `changes` answers an empty page.
    """
    offset, limit = filters.paging(args)
    items, total = [], 0
    if entity.changes is None and not (entity.has("get") or entity.has("list")):
        if key_condition(entity, key) is None:
            raise NotFound(f"No {entity.name} was found with the id '{key}'.")
    else:
        row = fetch(entity, caller, key)
        if entity.changes is not None:
            items, total = _changes(entity, row, offset, limit)
    page = Page(items=items, offset=offset, limit=limit, total=total)
    return wire.paged_result(wire.CHANGE_LOG, items, page)


def _changes(entity, row, offset: int, limit: int) -> tuple[list[dict], int]:
    changes = entity.changes
    row_id = getattr(row, entity.key[0].key)
    keys = {action: detail_key for action, (_, detail_key) in changes.actions.items()}
    since = getattr(row, changes.since.key) if changes.since is not None else None
    events = audit.events_about(keys, row_id, since=since)
    total = db.session.scalar(select(func.count()).select_from(events.subquery())) or 0
    names = _property_names(entity)
    items = []
    for event in db.session.scalars(events.offset(offset).limit(limit)):
        detail = json.loads(event.detail) if event.detail else {}
        changed = detail.get("changed", []) if isinstance(detail, dict) else []
        items.append(
            wire.change_log_row(
                entity.name,
                [str(row_id)],
                change_id=event.id,
                change_type=changes.actions[event.action][0],
                at=event.at,
                user=event.actor,
                changed=[names[c] for c in changed if c in names],
            )
        )
    return items, total


@cache
def _property_names(entity) -> dict[str, str]:
    """Column attribute -> the first property that shows it: how a change names what changed.

    A change names the entity's own properties; a column it does not show is left out [I].
    """
    names: dict[str, str] = {}
    for prop in entity.properties:
        column = getattr(prop.column, "key", None)
        if column is not None:
            names.setdefault(column, prop.name)
    return names
