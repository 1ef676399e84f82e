"""The application's one clock. Every expiry goes through now(), never datetime.now().

The clock is real UTC time plus an offset kept in the database (so every worker shares it).
Tests and the QA console move the clock forward instead of sleeping.

The offset is read at most once per request (kept in `g`), never cached longer: a change made by
one worker is seen by the next request on any worker. A hot path may read it as a column of its
own query instead (OFFSET_COLUMN) and hand it over with remember_offset(), which saves a statement.
"""

from datetime import UTC, datetime, timedelta

from flask import g, has_app_context
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import AppSetting

OFFSET_KEY = "clock_offset_seconds"
# Built once: now() runs on every request that checks an expiry.
_OFFSET = select(AppSetting.value).where(AppSetting.key == OFFSET_KEY)
# The same value as a column for another query's select list (NULL when the clock was never set).
OFFSET_COLUMN = _OFFSET.scalar_subquery().label("clock_offset")


def _parse(value: str | None) -> timedelta:
    return timedelta(seconds=float(value)) if value else timedelta(0)


def offset() -> timedelta:
    """Return how far the application clock is ahead of real time (cached per request)."""
    if has_app_context() and "clock_offset" in g:
        return g.clock_offset
    result = _parse(db.session.scalar(_OFFSET))
    if has_app_context():
        g.clock_offset = result
    return result


def now() -> datetime:
    """Return the application's current time, timezone-aware UTC."""
    return datetime.now(UTC) + offset()


def expired_now() -> datetime:
    """Return the expiry to give a token ended "now": passed now, and still passed later.

    The earlier of the application clock and real time, so that putting the clock back to real
    time does not bring a token the QA console expired back to life.
    """
    return min(now(), datetime.now(UTC))


def set_offset(delta: timedelta) -> None:
    """Set the clock offset (zero is real time) and commit."""
    setting = db.session.get(AppSetting, OFFSET_KEY) or AppSetting(key=OFFSET_KEY)
    setting.value = str(delta.total_seconds())
    db.session.add(setting)
    db.session.commit()
    g.pop("clock_offset", None)


def advance(minutes: float) -> None:
    """Move the application clock forward by a number of minutes."""
    set_offset(offset() + timedelta(minutes=minutes))


def reset() -> None:
    """Put the application clock back to real time."""
    set_offset(timedelta(0))


def remember_offset(value: str | None) -> None:
    """Keep an offset read by another query (OFFSET_COLUMN) for the rest of this request."""
    if has_app_context():
        g.clock_offset = _parse(value)
