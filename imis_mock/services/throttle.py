"""Throttling of password and client-secret guessing, shared by every worker through the database.

Three counters live in the sign_in_throttle table, one row per key (the column is named for the
first of them):
- a username (member and staff sign-in, the password grant), known or not, so a lockout does not
  reveal which usernames exist: THROTTLE_MAX_FAILURES attempts in THROTTLE_WINDOW_MINUTES lock it
  for THROTTLE_LOCKOUT_MINUTES, and a locked username is refused with the same generic message as
  a wrong password, even with the right one;
- a client address (`ip:...`): ADDRESS_MAX_FAILURES failed password checks in a minute make that
  address wait ADDRESS_LOCKOUT_SECONDS, answered 429 with Retry-After, whatever username it tries
  next (guessing many usernames is what the username counter cannot see);
- a client id as seen from one address (`client:...`, see services/tokens.py for the policy).

A password attempt is *reserved* before it is hashed: one statement counts it and reads the lock,
so of a parallel burst only the allowed number reach the hash, on SQLite and PostgreSQL alike. A
success gives its reservation back (release, or clear for a username).

No count is ever kept in a process. What is per process is the hashing pool (hashing_slot): it
bounds the CPU one worker spends on password hashes, as its thread count bounds its requests.
"""

import hashlib
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from time import sleep

from flask import current_app
from sqlalchemy import and_, bindparam, case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from imis_mock.database import CompiledSelect, writing
from imis_mock.extensions import db
from imis_mock.models import SignInThrottle
from imis_mock.services import clock

KEY_MAX = 60
_TABLE = SignInThrottle.__table__
_TIME = _TABLE.c.window_start.type
_LOCK = CompiledSelect(
    select(_TABLE.c.locked_until, clock.OFFSET_COLUMN).where(
        _TABLE.c.username_key == bindparam("p_key")
    )
)


class Throttled(Exception):
    """Refused before any work: too many attempts. `retry_after` is in whole seconds."""

    def __init__(self, retry_after: int, reason: str):
        super().__init__(f"throttled ({reason}), retry after {retry_after} s")
        self.retry_after = retry_after
        self.reason = reason


def _setting(name: str) -> int:
    return int(current_app.config[name])


def _key(kind: str, value: str) -> str:
    key = f"{kind}:{value}" if kind else value
    if len(key) > KEY_MAX:
        key = f"{kind}#{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"
    return key


def user_key(username_key: str) -> str:
    return _key("", username_key)


def address_key(address: str) -> str:
    return _key("ip", address or "unknown")


def client_key(client_id: str, address: str) -> str:
    return _key("client", f"{client_id.lower()}@{address or 'unknown'}")


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def locked_for(key: str) -> int | None:
    """Return the seconds left of this key's lock, or None (one read, no lock taken)."""
    row = _LOCK.first(p_key=key)
    if row is None:
        return None
    clock.remember_offset(row["clock_offset"])
    return wait_left(row["locked_until"])


def wait_left(locked_until: datetime | None) -> int | None:
    """Return the seconds left of a lock that runs until `locked_until`, or None if none is."""
    now = clock.now()
    return _seconds_until(locked_until, now) if locked_until and now < locked_until else None


def is_locked(key: str) -> bool:
    """Return True if sign-in for this username key is refused for now."""
    return locked_for(user_key(key)) is not None


def _count(key: str, limit: int, window: timedelta, lockout: timedelta) -> int | None:
    """Count one attempt for a key in one statement; lock the key once it reaches the limit.

    Returns None if the attempt may go on, 0 if it may and has just locked the key, else the
    seconds left of the lock. An attempt made
    while the key is locked is not counted. Runs in its own write transaction, so on PostgreSQL
    the row stays locked from the count to the lock, and on SQLite writers take turns.
    """
    now = clock.now()
    now_value = literal(now, _TIME)
    row = SignInThrottle
    locked = and_(row.locked_until.is_not(None), row.locked_until > now_value)
    stale = row.window_start < literal(now - window, _TIME)
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(SignInThrottle).values(username_key=key, failures=1, window_start=now)
    statement = statement.on_conflict_do_update(
        index_elements=[row.username_key],
        set_={
            "failures": case((locked, row.failures), (stale, 1), else_=row.failures + 1),
            "window_start": case(
                (locked, row.window_start), (stale, now_value), else_=row.window_start
            ),
        },
    ).returning(row.failures, row.locked_until)
    with writing():
        failures, locked_until = db.session.execute(statement).one()
        if locked_until is not None and now < locked_until:
            return _seconds_until(locked_until, now)
        if failures >= limit:
            db.session.execute(
                update(SignInThrottle)
                .where(row.username_key == key)
                .values(failures=0, window_start=now, locked_until=now + lockout)
            )
            return 0
    return None


def reserve_user(username_key: str) -> bool:
    """Reserve a password attempt for a username before hashing; False if it is locked."""
    return not _count(
        user_key(username_key),
        _setting("THROTTLE_MAX_FAILURES"),
        timedelta(minutes=_setting("THROTTLE_WINDOW_MINUTES")),
        timedelta(minutes=_setting("THROTTLE_LOCKOUT_MINUTES")),
    )


def check_address(address: str) -> None:
    """Raise Throttled if this client address must wait (one read, no write)."""
    wait = locked_for(address_key(address))
    if wait is not None:
        raise Throttled(wait, "address")


def reserve_address(address: str) -> bool:
    """Reserve a password attempt for a client address; raise Throttled if it must wait.

    Returns True if this attempt locked the address out (its last one before the wait).
    """
    key = address_key(address)
    wait = _count(
        key,
        _setting("ADDRESS_MAX_FAILURES"),
        timedelta(minutes=1),
        timedelta(seconds=_setting("ADDRESS_LOCKOUT_SECONDS")),
    )
    if wait:
        raise Throttled(wait, "address")
    return wait == 0


def record_client_failure(client_id: str, address: str) -> None:
    """Count a failed client authentication for a client id from an address (commits)."""
    _count(
        client_key(client_id, address),
        _setting("CLIENT_MAX_FAILURES"),
        timedelta(minutes=1),
        timedelta(seconds=_setting("CLIENT_LOCKOUT_SECONDS")),
    )


def release(key: str) -> None:
    """Give back one reserved attempt (it succeeded, or never reached the hash). Commits."""
    with writing():
        db.session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.username_key == key, SignInThrottle.failures > 0)
            .values(failures=SignInThrottle.failures - 1)
        )


def clear(key: str) -> None:
    """Forget the failures of a username after a successful sign-in. The caller commits."""
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.username_key == user_key(key)))


# The hashing pool: at most HASH_CONCURRENCY password hashes at once in this process. A request
# that finds every slot taken is answered 429 at once rather than queued, so guessers cannot
# fill the server's threads and slow the other clients down.
_pool_lock = threading.Lock()
_pools: dict[tuple[str, int], threading.BoundedSemaphore] = {}


def _pool(setting: str) -> threading.BoundedSemaphore:
    size = max(1, _setting(setting))
    pool = _pools.get((setting, size))
    if pool is None:
        with _pool_lock:
            pool = _pools.setdefault((setting, size), threading.BoundedSemaphore(size))
    return pool


def check_hashing_room() -> None:
    """Raise Throttled if every hashing slot of this process is taken now (none is kept)."""
    with hashing_slot():
        pass


@contextmanager
def hashing_slot() -> Iterator[None]:
    """Hold one of this process's hashing slots; raise Throttled if none is free."""
    pool = _pool("HASH_CONCURRENCY")
    if not pool.acquire(blocking=False):
        raise Throttled(1, "hashing")
    try:
        yield
    finally:
        pool.release()


def hold_back(error: Throttled) -> None:
    """Pause before answering an address that must wait (a tarpit), while a slot is free.

    A guesser's next guess then comes ADDRESS_ANSWER_DELAY_SECONDS later: guessing tools keep a
    fixed number of connections busy, and each 429 answered at once was another request taking
    the worker's CPU (and the GIL) from the other clients (bench/guessing.py). The pause costs no
    CPU. At most ADDRESS_DELAY_SLOTS answers of a process pause at once, so guessers cannot hold
    the server's threads: past that they are answered at once, as before. Never longer than
    the Retry-After the answer gives.
    """
    seconds = min(float(current_app.config["ADDRESS_ANSWER_DELAY_SECONDS"]), error.retry_after)
    if error.reason != "address" or seconds <= 0:
        return
    slots = _pool("ADDRESS_DELAY_SLOTS")
    if not slots.acquire(blocking=False):
        return
    try:
        sleep(seconds)
    finally:
        slots.release()
