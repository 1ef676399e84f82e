"""Write audit events. Callers pass masked values only; this module never sees a secret.

Most events are written in the transaction of the change they record (record()).
The two that come with every SSO client's traffic, a successful /token request and every REST API
call, are written behind instead (defer()): a thread of the process queues them and inserts them in
batches, each in one transaction of its own, so those requests do not wait for an audit write and
the API's GET requests write nothing at all. An event reaches the database within about a fifth of
a second (the QA console's activity pages flush this process's queue before they read). A normal
stop (SIGTERM to the server, the end of a CLI command) writes the queue first; kill -9 loses the
events of the last fifth of a second or so (never the tokens, which are committed before the
answer). AUDIT_WRITE_BEHIND = False writes each of them in its request instead.
"""

import json
import logging
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime

from flask import current_app, g, has_app_context
from sqlalchemy import ColumnElement, Select, and_, insert, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from imis_mock.database import writers_turn
from imis_mock.extensions import db
from imis_mock.models import AuditEvent


def _clean(value: str, limit: int) -> str:
    # CR/LF and other control characters are escaped so a username cannot forge a log line.
    text = str(value)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text[:limit]


def record(
    action: str,
    outcome: str,
    *,
    actor: str = "",
    client_id: str = "",
    username: str = "",
    error_code: str = "",
    detail: dict | None = None,
    commit: bool = False,
    behind: bool = False,
    ip: str | None = None,
) -> AuditEvent | None:
    """Record an audit event: in the session's transaction (committed when asked), or written
    behind (`behind`: the caller has committed its changes; see the module docstring).

    Its time is real time (see event_values); `ip` defaults to the current request's address.
    """
    values = event_values(
        action,
        outcome,
        actor=actor,
        client_id=client_id,
        username=username,
        error_code=error_code,
        detail=detail,
        ip=ip,
    )
    if behind:
        defer(values)
        return None
    event = AuditEvent(**values)
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


INSERT = insert(AuditEvent.__table__)


def detail_holds(key: str, value) -> ColumnElement[bool]:
    """SQL: the event's detail has `key` set to `value`, as event_values() serialised it.

    json.dumps with sorted keys writes `"key": value` followed by "," or "}", so the pair is
    matched whole ("23179" does not match "231790"), with LIKE on SQLite and PostgreSQL alike.
    """
    pair = json.dumps({key: value}, default=str)[1:-1]
    return or_(
        AuditEvent.detail.contains(pair + ",", autoescape=True),
        AuditEvent.detail.contains(pair + "}", autoescape=True),
    )


def events_about(keys: dict[str, str], value, *, since: datetime | None = None) -> Select:
    """The successful events of the given actions about one row, oldest first.

    `keys` maps each action to the detail key that holds the row's id in that action's events
    (services write e.g. contact.update with {"imis_id": ...}); `since` leaves out older events.
    """
    about = [and_(AuditEvent.action == a, detail_holds(k, value)) for a, k in keys.items()]
    query = select(AuditEvent).where(AuditEvent.outcome == "success", or_(*about))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    return query.order_by(AuditEvent.at, AuditEvent.id)


def event_values(
    action: str,
    outcome: str,
    *,
    actor: str = "",
    client_id: str = "",
    username: str = "",
    error_code: str = "",
    detail: dict | None = None,
    ip: str | None = None,
) -> dict:
    """Return an audit event's row (cleaned), for a caller that inserts it itself.

    The event's time is real time, never the QA clock (services/clock.py), so that events sort
    in the order they happened.
    `ip` defaults to the current request's remote address.
    """
    return {
        "at": datetime.now(UTC),
        "actor": _clean(actor, 60),
        "action": action,
        "outcome": outcome,
        "client_id": _clean(client_id, 50),
        "username": _clean(username, 60),
        "error_code": error_code,
        "ip": ip if ip is not None else _remote_addr(),
        "detail": _DETAIL.encode(detail) if detail else "",
    }


# json.dumps(detail, sort_keys=True, default=str), made once (json.dumps with arguments builds an
# encoder for every call); detail_holds() relies on this form.
_DETAIL = json.JSONEncoder(sort_keys=True, default=str)


REMOTE_ADDR = "audit_remote_addr"


def _remote_addr() -> str:
    # Set for each request by the app factory (a service never reads the request itself).
    return g.get(REMOTE_ADDR, "") if has_app_context() else ""


log = logging.getLogger(__name__)


def defer(values: dict) -> None:
    """Have an event built by event_values() written behind: record(behind=True) does both (the
    API's middleware still calls these two until it moves to record()).

    The caller has committed its own changes: without write-behind, this commits the session.
    """
    if current_app.config.get("AUDIT_WRITE_BEHIND", True):
        _behind.put(db.engine, values)
    else:
        db.session.execute(INSERT, values)
        db.session.commit()


def flush(timeout: float | None = 10.0) -> bool:
    """Wait until this process's deferred events are in the database; False on timeout."""
    return _behind.flush(timeout)


def write_batch(engine: Engine, events: list[dict]) -> None:
    """Insert events in one transaction of their own (on SQLite, in the writers' turn)."""
    sqlite = engine.dialect.name == "sqlite"
    with writers_turn(engine.url.database if sqlite else ""), engine.begin() as connection:
        connection.execute(INSERT, events)


class WriteBehind:
    """A queue of (engine, event) and the thread that writes it, in batches, one per process.

    The thread lets events gather for up to LINGER_SECONDS (less when somebody flushes), so under
    load one transaction carries hundreds of events and takes the writers' turn once. A batch
    that meets a database outage is retried for a while, then dropped with an error in the log.
    """

    BATCH = 500
    LINGER_SECONDS = 0.2
    POLL_SECONDS = 0.1  # how soon the thread notices that the process is ending
    RETRY_SECONDS = (0.1, 0.5, 1, 2, 5)

    def __init__(self):
        self._changed = threading.Condition()
        self._queued: list[tuple[Engine, dict]] = []
        self._writing = 0
        self._flushing = 0
        self._pid = 0

    def put(self, engine: Engine, values: dict) -> None:
        with self._changed:
            if self._pid != os.getpid():
                # First use in this process (the server forks its workers): start its writer.
                self._pid, self._queued, self._writing = os.getpid(), [], 0
                threading.Thread(target=self._run, name="audit-write-behind", daemon=False).start()
            self._queued.append((engine, values))
            if len(self._queued) in (1, self.BATCH):
                self._changed.notify_all()  # the writer waits for a first event, or a full batch

    def flush(self, timeout: float | None) -> bool:
        with self._changed:
            if self._pid != os.getpid():
                return True
            self._flushing += 1
            self._changed.notify_all()
            try:
                return self._changed.wait_for(
                    lambda: not self._queued and not self._writing, timeout
                )
            finally:
                self._flushing -= 1

    def _run(self) -> None:
        # Not a daemon (said explicitly: a thread started from granian's threads would inherit
        # daemon=True): when the process ends normally (a worker stopped by SIGTERM, the end of a
        # CLI command), Python waits for this thread, which writes what is queued, then ends.
        # atexit would not do: granian's workers, like multiprocessing's, skip it.
        main = threading.main_thread()
        while True:
            with self._changed:
                while not self._queued:
                    if not main.is_alive():
                        return
                    self._changed.wait(self.POLL_SECONDS)
                # Let a batch gather (each transaction takes the write lock once), unless
                # somebody waits in flush() or the process is ending.
                deadline = time.monotonic() + self.LINGER_SECONDS
                while (
                    not self._flushing
                    and len(self._queued) < self.BATCH
                    and main.is_alive()
                    and time.monotonic() < deadline
                ):
                    self._changed.wait(min(self.POLL_SECONDS, deadline - time.monotonic()))
                batch, self._queued = self._queued[: self.BATCH], self._queued[self.BATCH :]
                self._writing = len(batch)
            try:
                self._write(batch)
            finally:
                with self._changed:
                    self._writing = 0
                    self._changed.notify_all()

    def _write(self, batch: list[tuple[Engine, dict]]) -> None:
        by_engine: dict[Engine, list[dict]] = {}
        for engine, values in batch:
            by_engine.setdefault(engine, []).append(values)
        for engine, events in by_engine.items():
            for pause in (*self.RETRY_SECONDS, None):
                try:
                    write_batch(engine, events)
                    break
                except (OperationalError, sqlite3.OperationalError):
                    if pause is None:
                        log.exception("Dropped %d audit events: no database", len(events))
                        break
                    time.sleep(pause)
                except Exception:
                    log.exception("Dropped %d audit events", len(events))
                    break


_behind = WriteBehind()
