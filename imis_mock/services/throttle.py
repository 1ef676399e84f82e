"""Sign-in throttling, shared across workers through the database.

After THROTTLE_MAX_FAILURES failed attempts for one username within THROTTLE_WINDOW_MINUTES,
further attempts for it are refused for THROTTLE_LOCKOUT_MINUTES, with the same generic message
as a wrong password. The check runs before any password hash is computed: hashing is what a
brute-force attack would make the server spend its CPU on. Unknown usernames are counted too, so
the lockout does not reveal which usernames exist. The counter is bumped in one upsert statement,
so parallel failures on several workers are all counted.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from imis_mock.extensions import db
from imis_mock.models import SignInThrottle
from imis_mock.services import clock


def _setting(name: str) -> int:
    return int(current_app.config[name])


def is_locked(key: str) -> bool:
    """Return True if sign-in for this username key is refused for now."""
    locked_until = db.session.scalar(
        select(SignInThrottle.locked_until).where(SignInThrottle.username_key == key)
    )
    return locked_until is not None and clock.now() < locked_until


def record_failure(key: str) -> None:
    """Count a failed attempt, locking the username once the limit is reached. Commits."""
    now = clock.now()
    window_open = now - timedelta(minutes=_setting("THROTTLE_WINDOW_MINUTES"))
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    now_value = literal(now, SignInThrottle.window_start.type)
    stale = SignInThrottle.window_start < literal(window_open, SignInThrottle.window_start.type)
    statement = insert(SignInThrottle).values(username_key=key, failures=1, window_start=now)
    statement = statement.on_conflict_do_update(
        index_elements=[SignInThrottle.username_key],
        set_={
            "failures": case((stale, 1), else_=SignInThrottle.failures + 1),
            "window_start": case((stale, now_value), else_=SignInThrottle.window_start),
        },
    ).returning(SignInThrottle.failures)
    failures = db.session.execute(statement).scalar_one()
    if failures >= _setting("THROTTLE_MAX_FAILURES"):
        row = db.session.get(SignInThrottle, key, populate_existing=True)
        row.locked_until = now + timedelta(minutes=_setting("THROTTLE_LOCKOUT_MINUTES"))
        row.failures = 0
        row.window_start = now
    db.session.commit()


def clear(key: str) -> None:
    """Forget the failures of a username after a successful sign-in. The caller commits."""
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.username_key == key))
