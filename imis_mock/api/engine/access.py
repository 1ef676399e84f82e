"""Who may read or write a row through the API: staff everything, a member their own rows.

One rule, from the catalog entry's `owner` declaration, in two forms: `visible()` as SQL (lists
and one-row reads; `readable()` applies it to a statement) and `owns()` in Python (a row just
written). GUEST owns nothing but its own
user record. A row the caller may not see answers 403 to a member, even when it does not exist
(so ids cannot be probed); staff get 404 for a missing row.
"""

from sqlalchemy import ColumnElement, Select, false, true
from sqlalchemy.sql.elements import True_

from imis_mock.api.engine.errors import AccessDenied, NotFound
from imis_mock.services.accounts import UserRecord


def is_staff(caller: UserRecord) -> bool:
    return caller.is_staff and not caller.is_guest


def _mine(kind: str, caller: UserRecord) -> int | None:
    if kind == "user":
        return caller.id
    return None if caller.is_guest else caller.contact_id


def visible(entity, caller: UserRecord) -> ColumnElement[bool]:
    """The SQL condition for the rows of `entity` the caller may read."""
    if is_staff(caller) or entity.owner is None:
        return true()
    kind, column = entity.owner
    mine = _mine(kind, caller)
    return false() if mine is None else column == mine


def readable(entity, caller: UserRecord, statement: Select) -> Select:
    """`statement` narrowed to the rows of `entity` the caller may read (visible())."""
    condition = visible(entity, caller)
    # Every row: no WHERE at all. SQLite counts a table without a WHERE from its b-tree
    # (`count(*)` of 10,000 contacts: about 10 us), but steps through every row for `WHERE 1 = 1`
    # (about 180 us).
    return statement if isinstance(condition, True_) else statement.where(condition)


def owns(entity, caller: UserRecord, row) -> bool:
    """Whether the caller may hold this row: the Python form of visible()."""
    if is_staff(caller):
        return True
    if entity.owner is None:
        return False
    kind, column = entity.owner
    mine = _mine(kind, caller)
    return mine is not None and getattr(row, column.key) == mine


def check_write(entity, caller: UserRecord, verb: str) -> None:
    """Refuse a write the caller may make to no row of this entity (before reading the body)."""
    if is_staff(caller):
        return
    if entity.owner is None or verb not in entity.member_writes:
        raise AccessDenied()


def may(entity, caller: UserRecord, operation: str) -> bool:
    """_haspermission: may the caller perform this operation on the entity at all?"""
    operation = operation.lower()
    if operation in ("read", "select", "get", "list", "view"):
        return True
    verb = {"add": "create", "insert": "create", "update": "replace", "edit": "replace"}.get(
        operation, operation
    )
    if verb not in ("create", "replace", "delete"):
        return is_staff(caller)
    if not entity.has(verb):
        return False
    try:
        check_write(entity, caller, verb)
    except AccessDenied:
        return False
    return True


def by_key(caller: UserRecord, fetch, what: str, key: str):
    """Run a one-row lookup with the 403/404 rule.

    `fetch(visible_only)` returns the row or None; with visible_only, only a row the caller may
    read, so that a row the caller may not see and a missing row look alike (one query).
    """
    if not is_staff(caller):
        row = fetch(True)
        if row is None:
            raise AccessDenied()
        return row
    row = fetch(False)
    if row is None:
        raise NotFound(f"No {what} was found with the id '{key}'.")
    return row
