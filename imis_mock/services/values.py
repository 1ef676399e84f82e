"""Read plain values (from a form, a JSON body or the demo data) into typed ones, or say why not.

Each reader takes the value and the name to use in the message: the iMIS property name
(EFFECTIVE_DATE), since API clients are who most often send a bad one.
"""

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from imis_mock.services import ServiceError

# iMIS numeric(15,2): 13 digits before the point.
DECIMAL_LIMIT = Decimal("1e13")
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


def text(value: object, name: str, limit: int, *, field: str | None = None) -> str:
    """Return the value as stripped text of at most `limit` characters ("" for None)."""
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise ServiceError(f"{name} must be text.", field)
    result = str(value).strip()
    if len(result) > limit:
        raise ServiceError(f"{name} is longer than {limit} characters.", field)
    return result


def naive_datetime(value: object, name: str, *, field: str | None = None) -> datetime | None:
    """Return a date or date-time as iMIS stores it: naive, an offset converted to UTC.

    Accepts a datetime, a date (midnight) or ISO 8601 text ("2024-06-01", "2024-06-01T09:30:00",
    "2024-06-01T00:00:00+00:00", "...Z"). None and "" are None.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ServiceError(
                f"{name} must be a date like 2024-06-01 or 2024-06-01T00:00:00.", field
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise ServiceError(f"{name} must be a date like 2024-06-01 or 2024-06-01T00:00:00.", field)


def decimal(value: object, name: str, *, field: str | None = None) -> Decimal | None:
    """Return a number with two decimal places, as iMIS numeric(15,2) keeps it."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ServiceError(f"{name} must be a number.", field)
    try:
        result = Decimal(str(value).strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise ServiceError(f"{name} must be a number.", field) from None
    if not result.is_finite() or abs(result) >= DECIMAL_LIMIT:
        raise ServiceError(f"{name} must be a number below 10000000000000.", field)
    return result.quantize(Decimal("0.01"))


def boolean(value: object, name: str, *, field: str | None = None) -> bool:
    """Return true or false; text "true"/"false" is read as Json.NET reads it (any case)."""
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return False
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ServiceError(f"{name} must be true or false.", field)
