"""Who may read which user and party through the REST API, and the iMIS query-string language.

iMIS filters lists with `?Property=operation:value` (developer.imis.com "Advanced query
operations"), pages them with `limit` and `offset`, and compares text without regard to letter
case (SQL Server's default collation). Query-string names are matched regardless of case too.
Everything here takes plain values and raises an ApiError; the API blueprint turns those into
iMIS-shaped JSON.
"""

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, bindparam, false, func, select, true

from imis_mock.database import CompiledSelect
from imis_mock.extensions import db
from imis_mock.models import Contact, User
from imis_mock.models.contacts import PartyNames
from imis_mock.services import ServiceError, accounts
from imis_mock.services.accounts import UserRecord

# [I] Paging: iMIS's default page is 100 [C]; the cap of 500 and "limit=0 means the default" are
# guesses, kept here so they are easy to change.
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# ASP.NET binds limit/offset to Int32: anything larger cannot be a valid value.
INT32_MAX = 2**31 - 1
RESERVED_PARAMETERS = {"limit", "offset", "orderby"}

# Every spelling developer.imis.com lists, mapped to one canonical operation.
OPERATIONS = {
    "between": "between",
    "contains": "contains",
    "endswith": "endswith",
    "equal": "eq",
    "eq": "eq",
    "==": "eq",
    "greaterthan": "gt",
    "gt": "gt",
    ">": "gt",
    "greaterthanorequal": "ge",
    "ge": "ge",
    ">=": "ge",
    "in": "in",
    "isempty": "isempty",
    "empty": "isempty",
    "isfalse": "isfalse",
    "false": "isfalse",
    "istrue": "istrue",
    "true": "istrue",
    "lessthan": "lt",
    "lt": "lt",
    "<": "lt",
    "lessthanorequal": "le",
    "le": "le",
    "<=": "le",
    "notcontain": "notcontain",
    "!contain": "notcontain",
    "notempty": "notempty",
    "!empty": "notempty",
    "notequal": "ne",
    "ne": "ne",
    "!=": "ne",
    "startswith": "startswith",
}
# A prefix that looks like an operation name (so `lastname=foo:smith` is an error rather than
# a search for the text "foo:smith"); values such as "12:30" are taken literally.
OPERATION_LIKE = re.compile(r"[A-Za-z!=<>]+")
BOOLEAN_OPERATIONS = {"eq", "ne", "istrue", "isfalse"}
# [I] The body of a 403: ASP.NET Web API's wording for a refused request.
ACCESS_DENIED = "Authorization has been denied for this request."


class ApiError(ServiceError):
    """A refused API request; `status` is the HTTP status iMIS answers with."""

    status = 400


class AccessDenied(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


@dataclass(frozen=True)
class Field:
    """A filterable property: its iMIS name, the column behind it, and its kind."""

    name: str
    column: ColumnElement
    kind: str = "string"  # "string" or "boolean"


def _fields(*fields: Field) -> dict[str, Field]:
    return {f.name.lower(): f for f in fields}


PARTY_FIELDS = _fields(
    Field("PartyId", Contact.imis_id),
    Field("Id", Contact.imis_id),
    Field("UniformId", Contact.uniform_id),
    Field("FirstName", Contact.first_name),
    Field("LastName", Contact.last_name),
    Field("InformalName", Contact.informal_name),
    Field("Email", Contact.email),
    Field("Phone", Contact.phone),
    Field("City", Contact.city),
    Field("CountryCode", Contact.country_code),
    Field("PostalCode", Contact.postal_code),
    Field("Organization", Contact.organization),
    Field("CustomerTypeCode", Contact.member_type),
    Field("Status", Contact.status),
)
CONTACTS = Contact.__table__
# A user's UserId is its contact's iMIS ID; GUEST has no contact and uses its username.
USER_ID = func.coalesce(Contact.imis_id, User.username)
USER_FIELDS = _fields(
    Field("UserId", USER_ID),
    Field("UserName", User.username),
    Field("PartyId", Contact.imis_id),
    Field("Email", Contact.email),
    Field("IsDisabled", User.is_disabled, "boolean"),
)


@dataclass
class Page:
    """One page of a list, with what iMIS's PagedResult reports about it."""

    items: list
    offset: int
    limit: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def next_offset(self) -> int:
        # iMIS reports NextOffset 0 on the last page [C-client].
        return self.offset + len(self.items) if self.has_next else 0


# --- Who may read what ----------------------------------------------------------------------


def is_staff(caller: UserRecord) -> bool:
    return caller.is_staff and not caller.is_guest


def visible_contacts(caller: UserRecord) -> ColumnElement[bool]:
    """Staff read every party; a member only their own; GUEST none."""
    if is_staff(caller):
        return true()
    if caller.is_guest or caller.contact_id is None:
        return false()
    return Contact.id == caller.contact_id


def visible_users(caller: UserRecord) -> ColumnElement[bool]:
    """Staff read every user; anybody else only themselves (GUEST: the anonymous user)."""
    return true() if is_staff(caller) else User.id == caller.id


def _by_key(caller: UserRecord, fetch, what: str, key: str):
    """Run a one-row lookup: others' rows give 403 (even missing ones), staff get 404.

    `fetch(visible_only)` returns the row or None; with visible_only, only a row the caller may
    read, so that a row the caller may not see and a missing row look alike (one query).
    """
    if not is_staff(caller):
        row = fetch(True)
        if row is None:
            raise AccessDenied(ACCESS_DENIED)
        return row
    row = fetch(False)
    if row is None:
        raise NotFound(f"No {what} was found with the id '{key}'.")
    return row


class PartyRecord(PartyNames):
    """A party's columns as plain attributes (the names of Contact's), read with SQLAlchemy Core.

    GET /api/Party/{id} is the call every SSO client makes; loading a Contact through the ORM
    cost more than shaping the answer, and the answer only reads columns. The API's shapes take
    a PartyRecord or a Contact alike.
    """

    def __init__(self, row: dict):
        self.__dict__.update(row)


# Built and compiled once with bind parameters: building a statement on every call cost more
# than running it.
_PARTY = select(CONTACTS)
_PARTY_BY_IMIS_ID = CompiledSelect(_PARTY.where(CONTACTS.c.imis_id == bindparam("p_imis_id")))
_PARTY_BY_ID = CompiledSelect(_PARTY.where(CONTACTS.c.id == bindparam("p_id")))
# visible_contacts() for one row: a member's own party only (GUEST, who has none, reads none).
_OWN_PARTY_BY_IMIS_ID = CompiledSelect(
    _PARTY.where(CONTACTS.c.imis_id == bindparam("p_imis_id"), CONTACTS.c.id == bindparam("p_id"))
)


def _own_contact_id(caller: UserRecord) -> int | None:
    return None if caller.is_guest else caller.contact_id


def get_party(caller: UserRecord, party_id: str) -> PartyRecord:
    """Return the party with this iMIS ID, if the caller may read it."""
    imis_id = party_id.strip()

    def fetch(visible_only: bool) -> dict | None:
        if visible_only:
            return _OWN_PARTY_BY_IMIS_ID.first(p_imis_id=imis_id, p_id=_own_contact_id(caller))
        return _PARTY_BY_IMIS_ID.first(p_imis_id=imis_id)

    return PartyRecord(_by_key(caller, fetch, "Party", party_id))


def party_of(user: UserRecord) -> PartyRecord | None:
    """Return the user's own party, or None (GUEST and staff without a contact have none)."""
    contact_id = _own_contact_id(user)
    row = _PARTY_BY_ID.first(p_id=contact_id) if contact_id is not None else None
    return PartyRecord(row) if row is not None else None


def _user_query() -> Select:
    return select(User).outerjoin(Contact, User.contact_id == Contact.id)


def get_user(caller: UserRecord, user_id: str) -> User:
    """Return the user with this UserId (its party's iMIS ID, or "GUEST"), if visible."""
    query = _user_query().where(func.lower(USER_ID) == user_id.strip().lower())

    def fetch(visible_only: bool) -> User | None:
        return db.session.scalar(query.where(visible_users(caller)) if visible_only else query)

    return _by_key(caller, fetch, "User", user_id)


def find_by_username(caller: UserRecord, username: str) -> User | None:
    """FindByUserName: the user (any letter case), None if staff ask for nobody; others 403."""
    user = accounts.get_user(username) if username.strip() else None
    if is_staff(caller):
        return user
    if user is None or user.id != caller.id:
        raise AccessDenied(ACCESS_DENIED)
    return user


# --- Lists: filters, order and paging --------------------------------------------------------


def parse_int(name: str, raw: str | None, default: int) -> int:
    """Parse a limit or offset the way an Int32 parameter binds: digits only, 0..2^31-1."""
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not re.fullmatch(r"\+?[0-9]{1,10}", text) or int(text) > INT32_MAX:
        if re.fullmatch(r"-[0-9]+", text):
            raise ApiError(f"The parameter '{name}' cannot be negative.")
        raise ApiError(f"The value '{raw}' is not valid for the parameter '{name}'.")
    return int(text)


def paging(args: dict[str, list[str]]) -> tuple[int, int]:
    """Return (offset, limit) from lower-cased query arguments."""
    offset = parse_int("offset", _last(args, "offset"), 0)
    limit = parse_int("limit", _last(args, "limit"), DEFAULT_LIMIT)
    if limit == 0:
        limit = DEFAULT_LIMIT
    return offset, min(limit, MAX_LIMIT)


def _last(args: dict[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    return values[-1] if values else None


def lower_args(pairs) -> dict[str, list[str]]:
    """Group query arguments by lower-cased name (iMIS matches names regardless of case)."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def split_operation(raw: str) -> tuple[str, str]:
    """Split "eq:smith" into ("eq", "smith"); a bare value means equality."""
    prefix, sep, rest = raw.partition(":")
    if not sep:
        return "eq", raw
    operation = OPERATIONS.get(prefix.lower())
    if operation:
        return operation, rest
    if OPERATION_LIKE.fullmatch(prefix):
        raise ApiError(f"The operation '{prefix}' is not supported.")
    return "eq", raw


def condition(field: Field, raw: str) -> ColumnElement[bool]:
    """Build the SQL condition for one `Property=operation:value` filter."""
    operation, value = split_operation(raw)
    if field.kind == "boolean":
        return _boolean_condition(field, operation, value)
    if operation in ("istrue", "isfalse"):
        raise ApiError(f"The operation '{operation}' cannot be used with '{field.name}'.")
    column = func.lower(func.coalesce(field.column, ""))
    text = value.lower()
    if operation == "isempty":
        return column == ""
    if operation == "notempty":
        return column != ""
    if operation in ("between", "in"):
        parts = text.split("|")
        if operation == "between":
            if len(parts) != 2:
                raise ApiError(f"'between' needs two values separated by '|' for '{field.name}'.")
            return column.between(parts[0], parts[1])
        return column.in_(parts)
    comparisons = {
        "eq": lambda: column == text,
        "ne": lambda: column != text,
        "gt": lambda: column > text,
        "ge": lambda: column >= text,
        "lt": lambda: column < text,
        "le": lambda: column <= text,
        "contains": lambda: column.contains(text, autoescape=True),
        "notcontain": lambda: ~column.contains(text, autoescape=True),
        "startswith": lambda: column.startswith(text, autoescape=True),
        "endswith": lambda: column.endswith(text, autoescape=True),
    }
    return comparisons[operation]()


def _boolean_condition(field: Field, operation: str, value: str) -> ColumnElement[bool]:
    if operation not in BOOLEAN_OPERATIONS:
        raise ApiError(f"The operation '{operation}' cannot be used with '{field.name}'.")
    if operation in ("istrue", "isfalse"):
        return field.column.is_(operation == "istrue")
    wanted = {"true": True, "false": False}.get(value.strip().lower())
    if wanted is None:
        raise ApiError(f"The value '{value}' is not valid for '{field.name}'.")
    return field.column.is_(wanted) if operation == "eq" else field.column.is_not(wanted)


def filters(args: dict[str, list[str]], fields: dict[str, Field]) -> list[ColumnElement[bool]]:
    """Turn every non-paging query argument into a condition; unknown properties are errors."""
    conditions = []
    for name, values in args.items():
        if name in RESERVED_PARAMETERS:
            continue
        field = fields.get(name)
        if field is None:
            raise ApiError(f"The property '{name}' cannot be used to filter this list.")
        conditions.extend(condition(field, value) for value in values)
    return conditions


def ordering(args: dict[str, list[str]], fields: dict[str, Field], default) -> list:
    """OrderBy=Property[:Descending], as iMIS spells it; the default keeps pages stable."""
    raw = _last(args, "orderby")
    if not raw:
        return [default]
    name, _, direction = raw.partition(":")
    field = fields.get(name.strip().lower())
    if field is None:
        raise ApiError(f"The property '{name}' cannot be used to order this list.")
    column = func.lower(func.coalesce(field.column, "")) if field.kind == "string" else field.column
    descending = direction.strip().lower() in ("descending", "desc")
    return [column.desc() if descending else column.asc(), default]


def _page(query: Select, args: dict[str, list[str]], order: list) -> Page:
    offset, limit = paging(args)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = []
    if offset < total:
        items = list(db.session.scalars(query.order_by(*order).offset(offset).limit(limit)))
    return Page(items=items, offset=offset, limit=limit, total=total)


def list_parties(caller: UserRecord, args: dict[str, list[str]]) -> Page:
    """A page of the parties the caller may read that match the filters."""
    query = select(Contact).where(visible_contacts(caller), *filters(args, PARTY_FIELDS))
    return _page(query, args, ordering(args, PARTY_FIELDS, Contact.id))


def list_users(caller: UserRecord, args: dict[str, list[str]]) -> Page:
    """A page of the users the caller may read that match the filters."""
    query = _user_query().where(visible_users(caller), *filters(args, USER_FIELDS))
    return _page(query, args, ordering(args, USER_FIELDS, User.id))


def page_of(rows: list, args: dict[str, list[str]]) -> Page:
    """Page an already-built list (IQA rows)."""
    offset, limit = paging(args)
    return Page(items=rows[offset : offset + limit], offset=offset, limit=limit, total=len(rows))


def user_info_rows(caller: UserRecord) -> list[dict]:
    """The Laravel Socialite provider's `$/OAuth2/userInfo` IQA: the caller's own row.

    The query joins UserData to PartyData on the logged-in user's party, so GUEST (no party)
    gets no row, which is how that provider tells a guest apart.
    """
    contact = party_of(caller)
    if contact is None:
        return []
    return [
        {
            "sub": contact.uniform_id,
            "username": caller.username,
            "email": contact.email,
            "given_name": contact.first_name,
            "family_name": contact.last_name,
        }
    ]


# IQA queries the mock knows, by lower-cased path.
QUERIES = {"$/oauth2/userinfo": user_info_rows}


def run_query(caller: UserRecord, name: str | None) -> list[dict]:
    """Run a known IQA query for the caller; an unknown path is iMIS's not-found answer."""
    if not name or not name.strip():
        raise ApiError("The parameter 'QueryName' is required.")
    query = QUERIES.get(name.strip().lower())
    if query is None:
        raise NotFound(f"The query '{name}' was not found.")
    return query(caller)
