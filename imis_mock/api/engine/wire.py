"""The JSON iMIS's REST API sends: Json.NET with `$type` annotations (TypeNameHandling.Auto).

Collections are `{"$type": ..., "$values": [...]}`, typed scalars `{"$type": "System.Boolean",
"$value": true}`, strings bare; dates are .NET's `2019-03-01T00:00:00`. Properties without a value
are left out, as Json.NET does with NullValueHandling.Ignore [I]. The `$type` strings marked [I]
in shared/reference/imis-rest.md are guesses kept here, in one place.
"""

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from itertools import chain
from json.encoder import encode_basestring
from operator import itemgetter

from flask import current_app
from flask.wrappers import Response

CONTRACTS = "Asi.Contracts"
MEMBERSHIP = "Asi.Soa.Membership.DataContracts"
CORE = "Asi.Soa.Core.DataContracts"
EXPANDO = "System.Dynamic.ExpandoObject, System.Core"
STRING_COLLECTION = (
    "System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib"
)
GENERIC_ENTITY = f"{CORE}.GenericEntityData, {CONTRACTS}"
GENERIC_PROPERTY = f"{CORE}.GenericPropertyData, {CONTRACTS}"
PROPERTY_COLLECTION = f"{CORE}.GenericPropertyDataCollection, {CONTRACTS}"
IDENTITY = f"{CORE}.IdentityData, {CONTRACTS}"


@cache
def contract(namespace: str, name: str) -> str:
    """Return a data contract's `$type`: "Namespace.Name, Asi.Contracts"."""
    return f"{namespace}.{name}, {CONTRACTS}"


def generic_list(item_type: str) -> str:
    """.NET's name for List<T>, as Json.NET writes it."""
    return f"System.Collections.Generic.List`1[[{item_type}]], mscorlib"


def collection(type_name: str, values: list) -> dict:
    return {"$type": type_name, "$values": values}


def typed(type_name: str, value) -> dict:
    return {"$type": type_name, "$value": value}


def net_datetime(value: date | datetime | None) -> str | None:
    """.NET's DateTime text: 2019-03-01T00:00:00 (whole seconds, no offset)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return f"{value.isoformat()}T00:00:00"
    # isoformat() writes the seconds whole before any fraction or offset: the same first 19
    # characters as timespec="seconds", in about half the time (a list page writes hundreds).
    return value.isoformat()[:19]


def compact(obj: dict) -> dict:
    """Drop properties without a value (None or an empty string)."""
    return {k: v for k, v in obj.items() if v is not None and v != ""}


def paged_result(item_type: str | None, items: list, page) -> dict:
    """iMIS's PagedResult; `item_type` None gives the non-generic one that IQA answers with."""
    if item_type is None:
        result_type = f"{CORE}.PagedResult, {CONTRACTS}"
        list_type = generic_list("System.Object, mscorlib")
    else:
        result_type = f"{CORE}.PagedResult`1[[{item_type}]], {CONTRACTS}"
        list_type = generic_list(item_type)
    return {
        "$type": result_type,
        "Items": collection(list_type, items),
        "Offset": page.offset,
        "Limit": page.limit,
        "Count": len(items),
        "TotalCount": page.total,
        "NextPageLink": None,
        "HasNext": page.has_next,
        "NextOffset": page.next_offset,
    }


def generic_property(name: str, value) -> dict:
    """A GenericPropertyData; a property with no value has no `Value` key [C: PM-V2.1]."""
    prop = {"$type": f"{CORE}.GenericPropertyData, {CONTRACTS}", "Name": name}
    if value is not None:
        prop["Value"] = value
    return prop


def property_collection(properties: list[dict]) -> dict:
    return collection(f"{CORE}.GenericPropertyDataCollection, {CONTRACTS}", properties)


def identity(entity: str, elements: list[str] | None) -> dict:
    """IdentityData; a standalone parent has no IdentityElements [C: TS-migrate]."""
    data = {"$type": f"{CORE}.IdentityData, {CONTRACTS}", "EntityTypeName": entity}
    if elements is not None:
        data["IdentityElements"] = collection(STRING_COLLECTION, list(elements))
    return data


CHANGE_LOG = f"{CORE}.ChangeLogData, {CONTRACTS}"


def change_log_row(
    entity: str,
    elements: list[str],
    *,
    change_id: int,
    change_type: str,
    at,
    user: str,
    changed: list[str],
) -> dict:
    """One ChangeLogData of GET /api/{E}/{id}/changelog.

    [I] iMIS documents ChangeLogData (a change type whose default is "Add", a date, Changes and
    an Identity) but shows no reply, so the property names below are the mock's guesses; change
    them here. `Changes` names the properties a change set (empty for "Add").
    """
    return {
        "$type": CHANGE_LOG,
        "ChangeLogId": str(change_id),
        "ChangeType": change_type,
        "ChangeDate": net_datetime(at),
        "UserName": user,
        "Identity": identity(entity, elements),
        "Changes": collection(STRING_COLLECTION, changed),
    }


def scalar(value):
    """A property value as GenericEntityData carries it: typed unless it is text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return typed("System.Boolean", value)
    if isinstance(value, int):
        return typed("System.Int32", value)
    if isinstance(value, Decimal | float):
        return typed("System.Decimal", float(value))
    if isinstance(value, date):
        return typed("System.DateTime", net_datetime(value))
    return str(value)


def generic_entity(
    entity: str,
    key: list[str],
    properties: list[tuple[str, object]],
    *,
    parent: tuple[str, list[str] | None] | None = None,
) -> dict:
    """GenericEntityData (§7.2): Identity, the parent's identity, and a Properties bag."""
    parent_name, parent_key = parent or ("Standalone", None)
    return {
        "$type": GENERIC_ENTITY,
        "EntityTypeName": entity,
        "PrimaryParentEntityTypeName": parent_name,
        "Identity": identity(entity, key),
        "PrimaryParentIdentity": identity(parent_name, parent_key),
        "Properties": property_collection(
            [generic_property(name, scalar(value)) for name, value in properties]
        ),
    }


def iqa_row(entity_type: str, parent: str | None, properties: list[tuple[str, object]]) -> dict:
    """An `/api/IQA` result row (§8.1): GenericEntityData with no Identity, its Properties
    starting at ResultRow; a row rooted on a party names the party as its parent."""
    row = {"$type": GENERIC_ENTITY, "EntityTypeName": entity_type}
    if parent is not None:
        row["PrimaryParentEntityTypeName"] = "Party"
        row["PrimaryParentIdentity"] = {
            "$type": IDENTITY,
            "EntityTypeName": "Party",
            "IdentityElements": {"$type": STRING_COLLECTION, "$values": [parent]},
        }
    # Written out (not through generic_property): a page builds hundreds of these.
    bag = []
    for name, value in properties:
        prop = {"$type": GENERIC_PROPERTY, "Name": name}
        if value is not None:
            prop["Value"] = value if isinstance(value, str) else scalar(value)
        bag.append(prop)
    row["Properties"] = {"$type": PROPERTY_COLLECTION, "$values": bag}
    return row


def native(value):
    """A value as an `/api/query` row carries it: plain JSON, dates as .NET writes them."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return net_datetime(value)
    return value


def expando(row: dict) -> dict:
    """An IQA result row: an ExpandoObject with the query's display aliases."""
    return {"$type": EXPANDO, **row}


def execute_result(result) -> dict:
    """The answer to POST /api/{Entity}/_execute [C-client: clients read `Result`]."""
    return {"Result": result}


JSON_TYPE = "application/json; charset=utf-8"


# json.dumps(data, ensure_ascii=False, separators=(",", ":")) made once: json.dumps with
# arguments builds an encoder for every call (about 1 us of the 18 a PartyData takes).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_text(data) -> str:
    """Serialize in the order the shapes were built ($type first), as Json.NET writes them."""
    return "" if data is None else _ENCODER.encode(data)


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    return text_response(json_text(data), status, headers)


def text_response(body: str, status: int = 200, headers: dict | None = None) -> Response:
    """A response of JSON text already encoded (json_text(), a Template)."""
    return current_app.response_class(body, status=status, headers=headers, content_type=JSON_TYPE)


# A marker value: NUL and a number, which json_text() writes as "\u0000" and the number.
_MARKER = re.compile(r'"\\u0000(\d+)"')


class Template:
    """A shape's JSON text with its text values left out, to encode many records of one shape.

    `shape(*values)` builds a record. The template is json_text() of the record built from markers,
    cut where each marker stands as a whole JSON string: fill(values) puts the values' own JSON
    text there, which is what json_text(shape(*values)) gives, without building and encoding the
    record. A page of IQA rows repeats long constant text ($types, names) around a few values;
    building and encoding it cost more than the rest of the call. A record with a value that is
    not text (None, a number, a date: the shape may differ) is built and encoded whole; so is
    every record when the markers did not all come through, whole and in order.
    """

    def __init__(self, shape: Callable[..., object], count: int):
        self.shape = shape
        self.count = count
        parts = _MARKER.split(json_text(shape(*(f"\0{n}" for n in range(count)))))
        # The constant text with a slot for each value between (parts[1::2] are the markers'
        # numbers), or None when the markers did not all come through.
        self.slots = parts if parts[1::2] == [str(n) for n in range(count)] else None

    def fill(self, values: tuple) -> str:
        """json_text(shape(*values))."""
        if self.slots is not None:
            text = self.slots.copy()
            try:
                text[1::2] = map(encode_basestring, values)
            except TypeError:  # a value that is not text
                pass
            else:
                return "".join(text)
        return json_text(self.shape(*values))

    def fill_all(self, records: list[tuple]) -> str:
        """The fill() of each record's values, joined by commas: in one join when every value is
        text (record by record, a page cost a microsecond a row), else record by record."""
        slots, count = self.slots, self.count
        if slots is not None and count and records:
            try:
                texts = list(map(encode_basestring, chain.from_iterable(records)))
            except TypeError:  # a value that is not text
                texts = None
            if texts is not None and len(texts) == count * len(records):
                # The constant text between the values: a record's, with the end of one record,
                # a comma and the start of the next run together.
                first, *middle, last = slots[0::2]
                constants = [first, *[*middle, f"{last},{first}"] * len(records)]
                constants[-1] = last
                text = [""] * (2 * len(texts) + 1)
                text[0::2] = constants
                text[1::2] = texts
                return "".join(text)
        return ",".join(map(self.fill, records))


# A page's items while its envelope is encoded: json_text() writes each as "\u0000", and nothing
# else in the envelope (numbers, booleans, $type names) can be written so.
_HOLE = "\0"
_HOLE_TEXT = json_text(_HOLE)


def paged_text(item_type: str | None, items: str, count: int, page) -> str:
    """paged_result()'s JSON text for `count` items given as their JSON texts joined by commas
    (Template.fill_all())."""
    envelope = paged_result(item_type, [_HOLE] if count else [], page)
    envelope["Count"] = count
    text = json_text(envelope)
    if not count:
        return text
    # The envelope with its items' list "[hole]" replaced by theirs.
    before, _, after = text.partition(_HOLE_TEXT)
    return f"{before}{items}{after}"


# A marker with a name: NUL and the value's name, which json_text() writes as "\u0000name".
_NAMED_MARKER = re.compile(r'"\\u0000(\w+)"')
# Any marker left in a template's constant text: one the shape changed or cut into.
_STRAY_MARKER = "\\u0000"
# The values a template keeps apart by type and truth alone.
_LEAVES = (str, bool, type(None))


class Shape:
    """A record shape that writes many records' JSON text, from a template for each pattern.

    `shape(values)` builds a record from a dict of its leaf values (text, None, booleans;
    any other value is written by building the record), always with the same names in the same
    order. The shape puts a text value where it belongs and may test it for truth (compact()
    drops empty text), but never reads it: a derived text (a full name, a status's name, a
    date's .NET text) is a value of its own.

    text(values) is json_text(shape(values)). A pattern is which text values are empty and
    what the other values are; its template is the JSON of the record built with a marker for
    each non-empty text, cut at the markers, and filled with the values' own JSON text. A page
    of records of a few patterns is then written without building and encoding each record
    (for a PartyData, most of the cost of a list page). The first record of each pattern is
    also built and encoded whole and must come out the same, else that pattern is always built
    whole, as is a pattern beyond the first `limit`. Templates hold no record's data.
    """

    def __init__(self, shape: Callable[[dict], object], limit: int = 256):
        self.shape = shape
        self.limit = limit
        self.templates: dict[tuple, tuple[list[str], Callable] | None] = {}

    def text(self, values: dict) -> str:
        """json_text(self.shape(values))."""
        leaves = values.values()
        # The pattern: each value's type and truth (for text: empty or not; for None and
        # booleans: the value itself).
        key = (*map(type, leaves), *map(bool, leaves))
        try:
            template = self.templates[key]
        except KeyError:
            template = self._template(values)
            if len(self.templates) < self.limit:
                self.templates[key] = template
        if template is None:
            return json_text(self.shape(values))
        parts, slots = template
        text = parts.copy()
        text[1::2] = map(encode_basestring, slots(values))
        return "".join(text)

    def _template(self, values: dict) -> tuple[list[str], Callable] | None:
        """The template of this record's pattern, checked on the record; None if unusable."""
        if not all(type(v) in _LEAVES for v in values.values()):
            return None  # a number (its pattern is its truth, not the value): built whole
        marked = {n: f"\0{n}" if type(v) is str and v else v for n, v in values.items()}
        parts = _NAMED_MARKER.split(json_text(self.shape(marked)))
        names = parts[1::2]
        if any(_STRAY_MARKER in p for p in parts[0::2]) or not set(names) <= set(values):
            return None
        slots = _getter(names)
        text = parts.copy()
        text[1::2] = map(encode_basestring, slots(values))
        if "".join(text) != json_text(self.shape(values)):
            return None
        return parts, slots


def _getter(names: list[str]) -> Callable[[dict], tuple]:
    """A function giving the values of `names` from a dict, as a tuple."""
    if len(names) == 1:  # itemgetter of one name gives the value itself
        name = names[0]
        return lambda values: (values[name],)
    return itemgetter(*names) if names else lambda values: ()
