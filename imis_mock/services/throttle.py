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

A password attempt is *reserved* before it is hashed: one statement counts it as in flight
(`pending`) and reads the lock, so of a parallel burst only the allowed number reach the hash, on
SQLite and PostgreSQL alike; one beyond them is answered 429 ("busy", retry in a second), not
refused as a wrong password, since those in flight may be right. A failure turns its reservation
into a failure (fail_attempt), and the failure that reaches the limit sets the lock; a success
gives its reservation back (release, or clear for a username). An attempt whose worker died
while hashing leaves its reservation until the window runs out.

No count is ever kept in a process. What is per process is the hashing pool (hashing_slot): it
bounds the CPU one worker spends on password hashes, as its thread count bounds its requests.
"""

import hashlib
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from time import sleep

from flask import current_app
from sqlalchemy import Integer, and_, bindparam, case, delete, select, update
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

    @property
    def wait(self) -> str:
        """The wait in words, for the answer's message: "1 second", "60 seconds"."""
        return "1 second" if self.retry_after == 1 else f"{self.retry_after} seconds"


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


def _upsert(dialect: str):
    return pg_insert(_TABLE) if dialect == "postgresql" else sqlite_insert(_TABLE)


_KEY = bindparam("p_key", type_=_TABLE.c.username_key.type)
_NOW = bindparam("p_now", type_=_TIME)
_SINCE = bindparam("p_since", type_=_TIME)  # a window that began before this has run out
_LOCKED = and_(_TABLE.c.locked_until.is_not(None), _TABLE.c.locked_until > _NOW)
_STALE = _TABLE.c.window_start < _SINCE
_KEEP_WINDOW = case((_LOCKED, _TABLE.c.window_start), (_STALE, _NOW), else_=_TABLE.c.window_start)


@cache
def _statements(dialect: str) -> dict[str, CompiledSelect]:
    """The counters' statements, compiled once per database (an upsert is written per dialect).

    `reserve` counts an attempt in flight and `fail` a failure (a reserved attempt's, when
    `p_reserved` is 1: its reservation becomes the failure), each in one statement; neither
    changes a locked key's counts, and a window that has run out starts again."""
    t = _TABLE.c
    reserve = _upsert(dialect).values(username_key=_KEY, failures=0, pending=1, window_start=_NOW)
    reserve = reserve.on_conflict_do_update(
        index_elements=[t.username_key],
        set_={
            "pending": case((_LOCKED, t.pending), (_STALE, 1), else_=t.pending + 1),
            "failures": case((_LOCKED, t.failures), (_STALE, 0), else_=t.failures),
            "window_start": _KEEP_WINDOW,
        },
    ).returning(t.failures, t.pending, t.locked_until)
    reserved = bindparam("p_reserved", type_=Integer())
    fail = _upsert(dialect).values(username_key=_KEY, failures=1, pending=0, window_start=_NOW)
    fail = fail.on_conflict_do_update(
        index_elements=[t.username_key],
        set_={
            "failures": case((_LOCKED, t.failures), (_STALE, 1), else_=t.failures + 1),
            "pending": case((t.pending > 0, t.pending - reserved), else_=0),
            "window_start": _KEEP_WINDOW,
        },
    ).returning(t.failures, t.locked_until)
    key = t.username_key == _KEY
    lock = (
        update(_TABLE)
        .where(key)
        .values(failures=0, window_start=_NOW, locked_until=bindparam("p_until", type_=_TIME))
    )
    release = update(_TABLE).where(key, t.pending > 0).values(pending=t.pending - 1)
    return {
        "reserve": CompiledSelect(reserve),
        "fail": CompiledSelect(fail),
        "lock": CompiledSelect(lock),
        "release": CompiledSelect(release),
        "clear": CompiledSelect(delete(_TABLE).where(key)),
    }


def _run(name: str, **params) -> dict | None:
    """Run one of the counters' statements in the session's write transaction."""
    return _statements(db.engine.dialect.name)[name].first(**params)


def _reserve(key: str, limit: int, window: timedelta) -> int | None:
    """Count one attempt in flight for a key, in one statement, before its password is hashed.

    Returns None if it may go on, else the seconds left of the key's lock (it is not counted).
    Raises Throttled ("busy", 1 s) when the failures and the attempts in flight already make
    the limit: it is not counted either (its write is rolled back), and is answered 429, since
    those in flight may yet succeed. So of a parallel burst at most `limit` reach the hash, and
    a right password beyond them is told to retry, not that it is wrong. In the caller's write
    transaction (reserve()): on PostgreSQL the row stays locked to its end, and on SQLite writers
    take turns.
    """
    now = clock.now()
    row = _run("reserve", p_key=key, p_now=now, p_since=now - window)
    wait = wait_left(row["locked_until"])
    if wait is not None:
        return wait
    if row["failures"] + row["pending"] > limit:
        raise Throttled(1, "busy")
    return None


def _fail(key: str, limit: int, lockout: timedelta, window: timedelta, reserved: bool) -> bool:
    """Count a failure for a key (a reserved attempt's, or one never reserved); lock the key
    once its failures reach the limit. Returns True if this failure locked it. The caller's
    write transaction, or its own."""
    now = clock.now()
    with writing():
        row = _run("fail", p_key=key, p_now=now, p_since=now - window, p_reserved=int(reserved))
        if wait_left(row["locked_until"]) is not None or row["failures"] < limit:
            return False
        _run("lock", p_key=key, p_now=now, p_until=now + lockout)
    return True


def _user_limits() -> tuple[int, timedelta, timedelta]:
    return (
        _setting("THROTTLE_MAX_FAILURES"),
        timedelta(minutes=_setting("THROTTLE_LOCKOUT_MINUTES")),
        timedelta(minutes=_setting("THROTTLE_WINDOW_MINUTES")),
    )


def _address_limits() -> tuple[int, timedelta, timedelta]:
    return (
        _setting("ADDRESS_MAX_FAILURES"),
        timedelta(seconds=_setting("ADDRESS_LOCKOUT_SECONDS")),
        timedelta(minutes=1),
    )


def check_address(address: str) -> None:
    """Raise Throttled if this client address must wait (one read, no write)."""
    wait = locked_for(address_key(address))
    if wait is not None:
        raise Throttled(wait, "address")


def reserve(username_key: str, address: str) -> bool:
    """Reserve a password attempt for a username and a client address before hashing, in one
    write transaction: both or neither. False if the username is locked (nothing reserved).
    Raises Throttled if the address must wait, or if the attempts in flight make either limit
    (see _reserve)."""
    user_limit, _, user_window = _user_limits()
    address_limit, _, address_window = _address_limits()
    with writing():
        if _reserve(user_key(username_key), user_limit, user_window) is not None:
            return False
        wait = _reserve(address_key(address), address_limit, address_window)
        if wait is not None:
            raise Throttled(wait, "address")
    return True


def fail_attempt(username_key: str, address: str) -> bool:
    """Turn a reserved attempt that failed into a failure of its username and its address, in
    one write transaction. Returns True if it locked the address out (its last before the
    wait)."""
    with writing():
        _fail(user_key(username_key), *_user_limits(), reserved=True)
        return _fail(address_key(address), *_address_limits(), reserved=True)


def record_client_failure(client_id: str, address: str) -> None:
    """Count a failed client authentication for a client id from an address (commits)."""
    _fail(
        client_key(client_id, address),
        _setting("CLIENT_MAX_FAILURES"),
        timedelta(seconds=_setting("CLIENT_LOCKOUT_SECONDS")),
        timedelta(minutes=1),
        reserved=False,
    )


def release(key: str) -> None:
    """Give back one reserved attempt (it succeeded, or never reached the hash). Commits."""
    with writing():
        _run("release", p_key=key)


def clear(key: str) -> None:
    """Forget the failures of a username after a successful sign-in. The caller commits."""
    _run("clear", p_key=user_key(key))


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
