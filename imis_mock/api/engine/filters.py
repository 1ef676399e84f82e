"""The list query string: `?Property=operation:value` filters, OrderBy, limit and offset.

One parser for every entity (developer.imis.com "Advanced query operations", reference §2). Keys
are matched regardless of letter case; a key may be a property's JSON path
(`PersonName.LastName`), its last segment when that is unambiguous, or an alias from the catalog
entry (`lastname`). Text compares without regard to case, as SQL Server's default collation does.
Every condition becomes SQL: the database filters, orders and pages, never Python.
"""

import re
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import Column, ColumnElement, and_, func, text

from imis_mock.api.engine.errors import ApiError
from imis_mock.extensions import db

# [I] Paging: iMIS's default page is 100 [C]; larger limits are clamped to 500 [C: TAP comment,
# TS-migrate], and limit=0 means the default [I].
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# ASP.NET binds limit/offset to Int32: anything else cannot be a valid value (400).
INT32_MAX = 2**31 - 1
# Keys that are never property filters [I]; IQA's own are read by its view.
RESERVED = {"limit", "offset", "orderby", "queryname", "querypath", "querydocumentversionkey"}
RESERVED |= {"parameter"}

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
# The canonical operations by the names developer.imis.com gives them (IQA filter definitions).
OPERATION_NAMES = {
    "eq": "Equal",
    "ne": "NotEqual",
    "startswith": "StartsWith",
    "contains": "Contains",
    "notcontain": "NotContain",
    "endswith": "EndsWith",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
    "between": "Between",
    "in": "In",
    "isempty": "IsEmpty",
    "notempty": "NotEmpty",
    "istrue": "IsTrue",
    "isfalse": "IsFalse",
}
# A prefix that looks like an operation name (so `lastname=foo:smith` is an error rather than
# a search for the text "foo:smith"); values such as "12:30" are taken literally.
OPERATION_LIKE = re.compile(r"[A-Za-z!=<>]+")
BOOLEAN_OPERATIONS = {"eq", "ne", "istrue", "isfalse"}
# [I] No source shows the separator of `between` and `in`: both `|` and `,` are accepted.
SEPARATOR = re.compile(r"[|,]")


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
        # NextOffset is Offset + Count while HasNext, and 0 on the last page [C-client].
        return self.offset + len(self.items) if self.has_next else 0


def lower_args(pairs) -> dict[str, list[str]]:
    """Group query arguments by lower-cased name (iMIS matches names regardless of case)."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def _last(args: dict[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    return values[-1] if values else None


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
    """Return (offset, limit): limit defaults to 100 (also for 0) and is clamped to 500."""
    offset = parse_int("offset", _last(args, "offset"), 0)
    limit = parse_int("limit", _last(args, "limit"), DEFAULT_LIMIT) or DEFAULT_LIMIT
    return offset, min(limit, MAX_LIMIT)


def resolve(entity, key: str):
    """Return the filterable property a query key names (any case), or None."""
    return entity.filter_index().get(key.lower())


def split_operation(raw: str, default: str = "eq") -> tuple[str, str]:
    """Split "eq:smith" into ("eq", "smith"); a bare value means `default` (equality)."""
    prefix, sep, rest = raw.partition(":")
    if not sep:
        return default, raw
    operation = OPERATIONS.get(prefix.lower())
    if operation:
        return operation, rest
    if OPERATION_LIKE.fullmatch(prefix):
        raise ApiError(f"The operation '{prefix}' is not supported.")
    return default, raw


def _text_column(prop) -> ColumnElement:
    column = prop.column
    nullable = getattr(column, "nullable", True)
    # Not-null columns are compared as lower(column), the expression their indexes are built on.
    return func.lower(column if nullable is False else func.coalesce(column, ""))


def _after(text: str) -> str | None:
    """The smallest string greater than every string starting with `text` (in code point
    order), or None when there is none (`text` is all U+10FFFF)."""
    while text:
        last = ord(text[-1]) + 1
        if last == 0xD800:  # surrogates are not text: the driver could not encode one
            last = 0xE000
        if last <= 0x10FFFF:
            return text[:-1] + chr(last)
        text = text[:-1]
    return None


def _prefix(prop, column, operand: str) -> ColumnElement[bool]:
    """`column` (the lower-cased text of `prop`) starts with `operand`, as an index range.

    The strings starting with a prefix are exactly the range [prefix, _after(prefix)) in code
    point order, so the range alone is the rule. Where the database compares the column's text
    in that order (SQLite's BINARY, PostgreSQL's C collations) the range is written plainly and
    the column's index answers it. Elsewhere it is compared under PostgreSQL's "C" collation:
    under a linguistic one (en_US), "s%x" sorts after "s&", so the plain range would leave it
    out; LIKE would be right there too, but no index of the column's collation answers it.
    """
    if not _code_point_order(prop.column):
        column = column.collate("C")
    after = _after(operand)
    return column >= operand if after is None else and_(column >= operand, column < after)


# Whether PostgreSQL compares a column in code point order, by engine, then (table, column).
_ORDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The collations that compare code points: C and POSIX, and C.UTF-8 (glibc's sorts so).
_CODE_POINT_COLLATIONS = {"C", "POSIX", "C.UTF-8", "C.utf8"}
_COLLATION = text(
    """SELECT coll.collname, coll.collprovider, coll.collcollate, d.*
    FROM pg_attribute a JOIN pg_collation coll ON coll.oid = a.attcollation,
    pg_database d WHERE d.datname = current_database()
    AND a.attrelid = to_regclass(:table) AND a.attname = :column"""
)


def _code_point_order(column) -> bool:
    """Whether the database compares `column`'s text in code point order.

    SQLite: yes (the schema declares no other collation than BINARY). PostgreSQL: when the
    column's collation, or the database's for "default", is a libc C collation; read once per
    engine and column (a column's collation changes only with the schema). Anything else,
    including an expression that is not a table column, is taken as no: the "C" range is then
    right whatever the collation is, only slower.
    """
    engine = db.engine
    if engine.dialect.name == "sqlite":
        return True
    element = getattr(column, "expression", column)
    table = getattr(element, "table", None)
    if engine.dialect.name != "postgresql" or not isinstance(element, Column) or table is None:
        return False
    known = _ORDERS.setdefault(engine, {})
    key = (table.name, element.name)
    if key not in known:
        row = db.session.execute(_COLLATION, {"table": table.name, "column": key[1]}).first()
        known[key] = row is not None and _is_code_point(row._mapping)
    return known[key]


def _is_code_point(found) -> bool:
    if found["collname"] == "default":  # the database's (datlocprovider: PostgreSQL 15 on)
        provider, collate = found.get("datlocprovider", "c"), found["datcollate"]
    else:
        provider, collate = found["collprovider"], found["collcollate"]
    return provider == "c" and collate in _CODE_POINT_COLLATIONS


def _typed_value(prop, value: str):
    """Convert a filter operand to the property's type; a bad one is a 400."""
    text = value.strip()
    try:
        if prop.type == "Integer":
            return int(text)
        if prop.type in ("Decimal", "Monetary"):
            return float(text)
        if prop.type == "Date":
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(f"The value '{value}' is not valid for '{prop.name}'.") from None
    return text


def condition(prop, raw: str, default: str = "eq") -> ColumnElement[bool]:
    """Build the SQL condition for one `Property=operation:value` filter.

    A value without an operation uses `default`: equality for a list, the filter's own operator
    for an IQA parameter.
    """
    operation, value = split_operation(raw, default)
    if prop.type == "Boolean":
        return _boolean_condition(prop, operation, value)
    if operation in ("istrue", "isfalse"):
        raise ApiError(f"The operation '{operation}' cannot be used with '{prop.label}'.")
    if prop.type == "String":
        column = _text_column(prop)
        operand = value.lower()
    else:
        column = prop.column
        if operation in ("isempty", "notempty"):
            return column.is_(None) if operation == "isempty" else column.is_not(None)
        if operation in ("contains", "notcontain", "startswith", "endswith"):
            raise ApiError(f"The operation '{operation}' cannot be used with '{prop.label}'.")
        operand = value
    if operation == "isempty":
        return column == ""
    if operation == "notempty":
        return column != ""
    if operation in ("between", "in"):
        parts = [p for p in SEPARATOR.split(operand)]
        if prop.type != "String":
            parts = [_typed_value(prop, p) for p in parts]
        if operation == "between":
            if len(parts) != 2:
                raise ApiError(f"'between' needs two values separated by '|' for '{prop.label}'.")
            return column.between(parts[0], parts[1])
        return column.in_(parts)
    if prop.type != "String":
        operand = _typed_value(prop, operand)
    if operation == "startswith" and operand:
        return _prefix(prop, column, operand)
    comparisons = {
        "eq": lambda: column == operand,
        "ne": lambda: column != operand,
        "gt": lambda: column > operand,
        "ge": lambda: column >= operand,
        "lt": lambda: column < operand,
        "le": lambda: column <= operand,
        "contains": lambda: column.contains(operand, autoescape=True),
        "notcontain": lambda: ~column.contains(operand, autoescape=True),
        "startswith": lambda: column.startswith(operand, autoescape=True),
        "endswith": lambda: column.endswith(operand, autoescape=True),
    }
    return comparisons[operation]()


def _boolean_condition(prop, operation: str, value: str) -> ColumnElement[bool]:
    if operation not in BOOLEAN_OPERATIONS:
        raise ApiError(f"The operation '{operation}' cannot be used with '{prop.label}'.")
    if operation in ("istrue", "isfalse"):
        return prop.column.is_(operation == "istrue")
    wanted = {"true": True, "false": False}.get(value.strip().lower())
    if wanted is None:
        raise ApiError(f"The value '{value}' is not valid for '{prop.label}'.")
    return prop.column.is_(wanted) if operation == "eq" else prop.column.is_not(wanted)


def conditions(entity, args: dict[str, list[str]]) -> tuple[list[ColumnElement[bool]], list[str]]:
    """Turn every non-reserved key into conditions (repeated keys ANDed).

    Return the conditions and the keys that name no property: those are ignored [I, §2.4] and
    journalled by the caller, unless API_STRICT_FILTERS makes them a 400.
    """
    found, unknown = [], []
    for name, values in args.items():
        if name in RESERVED:
            continue
        prop = resolve(entity, name)
        if prop is None:
            if current_app.config.get("API_STRICT_FILTERS"):
                raise ApiError(f"The property '{name}' cannot be used to filter this list.")
            unknown.append(name)
            continue
        found.extend(condition(prop, value) for value in values)
    return found, unknown


def ordering(entity, args: dict[str, list[str]]) -> list:
    """OrderBy=Property[:Descending] [C: DEV v1.0.1]; the primary key keeps pages stable."""
    default = list(entity.order)
    raw = _last(args, "orderby")
    if not raw:
        return default
    name, _, direction = raw.partition(":")
    prop = resolve(entity, name.strip())
    if prop is None:
        raise ApiError(f"The property '{name}' cannot be used to order this list.")
    column = _text_column(prop) if prop.type == "String" else prop.column
    descending = direction.strip().lower() in ("descending", "desc")
    return [column.desc() if descending else column.asc(), *default]
