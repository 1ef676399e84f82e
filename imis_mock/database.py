"""Database engine tuning: SQLite in WAL mode with a busy timeout and immediate write locks;
PostgreSQL through psycopg 3, with connections checked before use.

SQLite lets one writer at a time. A transaction that reads and then writes can fail at once with
"database is locked" when it began as a reader (busy_timeout cannot help it), so every transaction
on SQLite starts with BEGIN IMMEDIATE and waits for the write lock up to the busy timeout instead.
Readers are not blocked by this in WAL mode. PostgreSQL needs none of it, but a database server
can restart or drop connections: pool_pre_ping replaces a dead pooled connection before a request
uses it, so the app recovers by itself when the server comes back.
"""

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache

from flask import g, has_app_context
from sqlalchemy import Select, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from imis_mock.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 10_000


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    database = cursor.execute("PRAGMA database_list").fetchone()[2]
    if database:
        # Checkpoints run in the background (see Checkpointer), not in the commit of a request
        # that holds the write turn.
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
        cursor.execute(f"PRAGMA journal_size_limit = {Checkpointer.WAL_SIZE_LIMIT}")
        checkpointer.watch(database)
    cursor.close()


READ_ONLY = {"sqlite_begin": "DEFERRED"}
READ_ONLY_FLAG = "database_reads_only"


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    if conn.dialect.name == "sqlite":
        deferred = conn.get_execution_options().get("sqlite_begin") == "DEFERRED" or (
            has_app_context() and g.get(READ_ONLY_FLAG, False)
        )
        # Straight to the driver: this runs for every transaction, and SQLAlchemy's statement
        # machinery would cost more than the BEGIN itself.
        conn.connection.driver_connection.execute("BEGIN" if deferred else "BEGIN IMMEDIATE")


def reads_only() -> None:
    """Mark the current request as one that only reads: its transactions take no write lock.

    For the API's GET requests, whose audit event is written behind (services/audit.py). On
    SQLite their transactions then begin DEFERRED, so they never make a writer wait; they must
    not write (turning such a transaction into a write can fail at once).
    """
    g.setdefault(READ_ONLY_FLAG, True)


def begin_read_only(session) -> None:
    """Start the session's transaction without the SQLite write lock, for reads only.

    For a request that only reads until it commits (the API's GET requests, which then write their
    audit event in a transaction of its own): its reads then no longer make every other writer
    wait. Such a transaction must not write: on SQLite, turning it into a write can fail at once.
    """
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options=READ_ONLY)


class CompiledSelect:
    """A Core SELECT compiled once per database and run on the driver of the session's connection.

    For the REST API's reads on every call (the bearer check, GET /api/Party/{id}). Through the
    ORM they cost more than the rest of the call; even as Core statements, SQLAlchemy's execution
    (cache key, parameter and result set-up) cost several times the query. Here the SQL is
    compiled once for the dialect in use and sent to the driver in the request's transaction.
    Values come back converted by the statement's own column types (so UTCDateTime columns are
    timezone-aware, as everywhere), and a driver error is wrapped the way SQLAlchemy wraps it, so
    a database outage still answers 503. Parameters must be plain str or int values.
    """

    def __init__(self, statement: Select):
        self.statement = statement
        self.keys = tuple(statement.selected_columns.keys())
        self._compiled: dict[tuple, tuple] = {}

    def _for(self, dialect) -> tuple:
        key = (type(dialect), dialect.paramstyle)
        compiled = self._compiled.get(key)
        if compiled is None:
            sql = self.statement.compile(dialect=dialect)
            processors = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns
            )
            compiled = (sql, sql.string, sql.positiontup, processors)
            self._compiled[key] = compiled
        return compiled

    def first(self, **params) -> dict | None:
        """Run the statement; return its first row as a dict, or None.

        In the session's transaction if it has one (it sees the session's own writes); otherwise
        on the request's read connection, without the ORM session's transaction at all.
        """
        if in_session_transaction():
            connection = db.session.connection()
            dialect, pooled = connection.dialect, connection.connection
        else:
            connection, dialect, pooled = None, db.engine.dialect, _read_connection()
        sql, text, positions, processors = self._for(dialect)
        values = sql.construct_params(params)
        if positions is not None:
            values = tuple(values[name] for name in positions)
        cursor = pooled.driver_connection.cursor()
        try:
            cursor.execute(text, values)
            row = cursor.fetchone()
        except dialect.loaded_dbapi.Error as error:
            # What SQLAlchemy does with a driver error: a dropped connection is not pooled again.
            dropped = dialect.is_disconnect(error, pooled.dbapi_connection, cursor)
            if dropped:
                (connection or pooled).invalidate(error)
            raise DBAPIError.instance(
                text,
                values,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=dropped,
                dialect=dialect,
            ) from error
        finally:
            cursor.close()
        if row is None:
            return None
        return {
            key: process(value) if process is not None else value
            for key, process, value in zip(self.keys, processors, row, strict=True)
        }


def sqlite_time(moment: datetime) -> str:
    """Write a time as SQLAlchemy's SQLite DATETIME does (naive UTC, always microseconds).

    For values sent to the SQLite driver directly (fast_refresh, audit's write-behind).
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@cache
def sqlite_insert(table: str, columns: tuple[str, ...], rows: int = 1) -> str:
    """An INSERT of `rows` rows of `columns` with qmark parameters, for the SQLite driver."""
    row = f"({', '.join('?' * len(columns))})"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * rows)}"


def default_sqlite_uri(instance_path: str) -> str:
    return f"sqlite:///{instance_path}/imis.db"


def normalize_uri(uri: str) -> str:
    """Use psycopg 3 for a PostgreSQL URI that names no driver (SQLAlchemy would want psycopg2)."""
    for scheme in ("postgresql://", "postgres://"):
        if uri.startswith(scheme):
            return "postgresql+psycopg://" + uri[len(scheme) :]
    return uri


def engine_options(uri: str, options: dict) -> dict:
    """Return the engine options for a URI: configured ones win over these defaults."""
    if uri.startswith("sqlite"):
        return dict(options)
    return {"pool_pre_ping": True, **options}


class WriterQueue:
    """Let writers to one SQLite file take turns on a lock that wakes the next one at once.

    SQLite's own wait (busy_timeout) sleeps and retries: 1 ms, then 2, 5, 10 ... even when the
    writer ahead finishes in a tenth of that, so under load the CPU idles while every writer
    sleeps. Threads of a process queue on a threading.Lock, processes on an flock() of a file
    next to the database; the kernel wakes the next process as soon as the lock is released.
    The lock is advisory: writers that do not take it still get SQLite's locking, as before.
    """

    def __init__(self, database: str):
        self.path = f"{database}.writers"
        self.thread_lock = threading.Lock()
        self.pid = 0
        self.fd = -1

    def _file(self) -> int:
        # A descriptor opened before a fork is shared with the parent, and an flock() held
        # through it would exclude nobody, so every process opens its own.
        if self.pid != os.getpid():
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self.pid = os.getpid()
        return self.fd

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the write turn (the caller then begins and ends its transaction inside)."""
        with self.thread_lock:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


_queues: dict[str, WriterQueue] = {}
_queues_lock = threading.Lock()


def writer_queue(engine: Engine) -> WriterQueue:
    """Return the writer queue of an SQLite file database."""
    return _queue_for(engine.url.database or "")


def _queue_for(database: str) -> WriterQueue:
    with _queues_lock:
        if database not in _queues:
            _queues[database] = WriterQueue(database)
        return _queues[database]


class Checkpointer:
    """Copy each SQLite file's write-ahead log back into the database, from a background thread.

    SQLite does this by itself every 1000 pages (wal_autocheckpoint), inside the COMMIT of whatever
    transaction crossed the mark, with fsyncs: under load that request held the write turn for
    milliseconds while every other writer waited. The app's connections switch that off, and this
    thread, one per process, does it instead, every INTERVAL_SECONDS for each database the process
    has opened:
    - a PASSIVE checkpoint: it copies the log's pages into the database without blocking writers
      or readers (it gives way at once if another process is checkpointing the same file);
    - once the log holds RESTART_PAGES, a RESTART checkpoint in the writers' queue: it copies the
      few pages added since and lets the next writer start the log from its beginning again, so
      the log file stops growing (a PASSIVE checkpoint alone never restarts a log that is being
      written all the time). journal_size_limit then trims the file.
    """

    INTERVAL_SECONDS = 0.2
    RESTART_PAGES = 4000
    WAL_SIZE_LIMIT = 16 * 1024 * 1024
    BUSY_TIMEOUT_SECONDS = 0.5

    def __init__(self):
        self.lock = threading.Lock()
        self.databases: set[str] = set()
        self.pid = 0

    def watch(self, database: str) -> None:
        with self.lock:
            self.databases.add(database)
            if self.pid != os.getpid():
                self.pid = os.getpid()
                threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.INTERVAL_SECONDS)
            with self.lock:
                databases = list(self.databases)
            for database in databases:
                if not os.path.exists(database):
                    with self.lock:
                        self.databases.discard(database)
                    continue
                self.checkpoint(database)

    def checkpoint(self, database: str) -> str:
        """Checkpoint one database now; return what was done: "", "passive" or "restart"."""
        if not os.path.exists(f"{database}-wal"):
            return ""
        try:
            connection = sqlite3.connect(
                database, timeout=self.BUSY_TIMEOUT_SECONDS, isolation_level=None
            )
        except sqlite3.Error:
            return ""
        try:
            busy, pages, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if busy or pages < self.RESTART_PAGES:
                return "passive"
            with _queue_for(database).turn():
                busy, _, _ = connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            return "" if busy else "restart"
        except sqlite3.Error:
            return ""  # another process is checkpointing, or readers held on: next time
        finally:
            connection.close()


checkpointer = Checkpointer()


READ_CONNECTION = "database_read_connection"


def in_session_transaction() -> bool:
    """True if the request's ORM session has begun a transaction (without creating a session)."""
    return db.session.registry.has() and db.session().in_transaction()


def _read_connection():
    """The request's pooled connection for reads outside the ORM session, checked out once.

    On SQLite each statement on it is a transaction of its own (the driver runs in autocommit);
    on PostgreSQL its implicit transaction is rolled back when the pool takes it back.
    """
    connection = g.get(READ_CONNECTION)
    if connection is None:
        try:
            connection = db.engine.raw_connection()
        except db.engine.dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                None, None, error, db.engine.dialect.loaded_dbapi.Error, dialect=db.engine.dialect
            ) from error
        g.setdefault(READ_CONNECTION, connection)
    return connection


def release_read_connection(exception: BaseException | None = None) -> None:
    """Return the request's read connection to the pool (at the end of the app context)."""
    connection = g.pop(READ_CONNECTION, None)
    if connection is not None:
        connection.close()
