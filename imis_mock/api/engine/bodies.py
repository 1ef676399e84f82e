"""Request bodies read the way Json.NET reads them into iMIS's data contracts.

- Property names match in any letter case (`personname` is `PersonName`).
- `$type` is optional below the top level [C: iMIS-bits posts a PrimaryOrganization without one];
  at the top level, when present, it must name a contract the route takes.
- Typed scalars (`{"$type": "System.Int32", "$value": 2}`) are unwrapped, and a string `$value`
  where a boolean or number is meant is coerced [C: iMIS-bits SPECTEST_BODY].
- Collections are `{"$type": ..., "$values": [...]}` or plain arrays.
A body that is not JSON, or not an object, is `{"Message": "The request is invalid."}` (400).
"""

import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from imis_mock.api.engine.errors import Invalid, Malformed


class Body:
    """A JSON object whose property names are matched regardless of case."""

    def __init__(self, data: dict):
        self.data = data
        self._keys = {str(k).lower(): k for k in data}

    def raw(self, name: str):
        key = self._keys.get(name.lower())
        return None if key is None else self.data[key]

    def get(self, path: str, default=None):
        """The value at a dotted path ("PersonName.LastName"), typed scalars unwrapped."""
        node = self
        for part in path.split("."):
            if not isinstance(node, Body):
                return default
            node = wrap(node.raw(part))
            if node is None:
                return default
        return node

    def has(self, path: str) -> bool:
        return self.get(path) is not None

    def items(self, path: str) -> list:
        """The items of a collection ($values or a plain array); [] when absent."""
        value = self.get(path)
        if isinstance(value, Body):
            value = wrap(value.raw("$values"))
        return value if isinstance(value, list) else []

    @property
    def type_name(self) -> str | None:
        value = self.raw("$type")
        return value if isinstance(value, str) else None


def wrap(value):
    """Wrap objects as Body and unwrap typed scalars, recursively on access."""
    if isinstance(value, dict):
        body = Body(value)
        if "$value" in body._keys:
            return body.raw("$value")
        return body
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


def parse(raw: bytes) -> Body | None:
    """Parse a request body; an empty body or JSON null is None; anything else not an object is
    malformed."""
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than Python's stack (a few KB of "[[[["), not a 500.
        raise Malformed() from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise Malformed()
    return Body(data)


def short_type(type_name: str) -> str:
    """The class name of a `$type` ("Ns.PersonData, Asi.Contracts" -> "persondata")."""
    return type_name.split(",")[0].strip().rsplit(".", 1)[-1].lower()


def check_type(body: Body, accepted: tuple[str, ...]) -> str | None:
    """Check the top-level `$type` against the contracts a route takes (any assembly suffix,
    e.g. the older ", Asi.Soa.Membership.Contracts"). Return its short name, or None if absent."""
    name = body.type_name
    if name is None:
        return None
    short = short_type(name)
    if short not in {short_type(t) for t in accepted}:
        raise Malformed()
    return short


# --- Typed values -----------------------------------------------------------------------------


def text(value, label: str, *, limit: int | None = None, required: bool = False) -> str:
    """A string property; numbers are taken as their text (Json.NET does the same)."""
    if value is None:
        value = ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid(f"{label} must be text.")
    result = str(value).strip()
    if "\x00" in result:
        # PostgreSQL cannot store a NUL in text; no iMIS field holds one.
        raise Invalid(f"{label} contains a character that is not allowed.")
    if required and not result:
        raise Invalid(f"{label} is required.")
    if limit is not None and len(result) > limit:
        raise Invalid(f"{label} has at most {limit} characters.")
    return result


def boolean(value, label: str, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise Invalid(f"{label} must be true or false.")


def integer(value, label: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(f"{label} must be a whole number.")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise Invalid(f"{label} must be a whole number.") from None
    if not -(2**31) <= number < 2**31:
        raise Invalid(f"{label} is out of range.")
    return number


def decimal(value, label: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(f"{label} must be a number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(f"{label} must be a number.") from None
    if not number.is_finite():
        raise Invalid(f"{label} must be a number.")
    return number


def moment(value, label: str) -> datetime | None:
    """A .NET DateTime ("2019-03-01T00:00:00", an offset allowed); naive means UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid(f"{label} must be a date.")
    try:
        result = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{label} must be a date.") from None
    return result if result.tzinfo else result.replace(tzinfo=UTC)


def day(value, label: str) -> date | None:
    result = moment(value, label)
    return result.date() if result else None


COERCE = {"Boolean": boolean, "Integer": integer, "Decimal": decimal, "Date": moment}


def coerce(prop_type: str, value, label: str):
    """Convert a body value to a property's type (String, Boolean, Integer, Decimal, Date)."""
    convert = COERCE.get(prop_type)
    return text(value, label) if convert is None else convert(value, label)
