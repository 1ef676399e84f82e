"""Database engine tuning and transactions: SQLite in WAL mode with a busy timeout; PostgreSQL
through psycopg 3, with connections checked before use.

Transactions begin DEFERRED: a transaction that only reads takes no lock, on either database. A
block that writes runs in writing(). On SQLite that transaction begins IMMEDIATE, taking the one
write lock first and waiting for it up to the busy timeout: a transaction that read first and
then writes can fail at once with "database is locked" when another connection wrote since its
read (busy_timeout cannot help it). A request with an unsafe method (a form post, /token, an API
write) is such a transaction from its start, so its transactions begin IMMEDIATE too. PostgreSQL
needs none of this, but a database server can restart or drop connections: pool_pre_ping replaces
a dead pooled connection before a request uses it, so the app recovers by itself. The compiled
statements sent straight to the driver (CompiledSelect's reads outside a transaction, and
writing_on_driver()'s writes) have connections of their own, without the ping: a read that finds
its connection dropped runs again on a new one, and so does a write's first round trip
(_Readers, DriverWrite).

SQLite's own automatic checkpoint (every 1000 pages of the write-ahead log) stays on, so the log
stays bounded whatever happens to any thread of the app; journal_size_limit trims the file after.
"""

import contextlib
import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from typing import TypeVar

from flask import current_app, g, has_app_context, request
from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool, QueuePool

from imis_mock.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 10_000
WAL_SIZE_LIMIT = 16 * 1024 * 1024
WRITING = "database_writing"
IMMEDIATE = {"sqlite_begin": "IMMEDIATE"}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
T = TypeVar("T")
NO_PROCESSORS = ((), ())  # (CompiledSelect._processors)


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
    cursor.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    if conn.dialect.name == "sqlite":
        immediate = conn.get_execution_options().get("sqlite_begin") == "IMMEDIATE" or (
            has_app_context() and g.get(WRITING, False)
        )
        # Straight to the driver: this runs for every transaction, and SQLAlchemy's statement
        # machinery would cost more than the BEGIN itself.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def mark_writing_request() -> None:
    """Begin the transactions of a request with an unsafe method as writes (before_request)."""
    if request.method not in SAFE_METHODS:
        g.setdefault(WRITING, True)


@contextmanager
def writing() -> Iterator[Connection]:
    """Run a block as one write transaction of the ORM session: commit at its end, roll back if
    it raises. Yields the session's connection, for Core statements.

    On SQLite the transaction begins IMMEDIATE (see the module docstring). A transaction the
    session already began as a reader is committed first: on SQLite it cannot safely become a
    writer. Inside another writing() block, the block joins the outer one, which commits.
    """
    session = db.session()
    joined = session.in_transaction()
    if joined:
        connection = session.connection()
        if connection.info.get(WRITING):
            yield connection
            return
        begun_as_writer = has_app_context() and g.get(WRITING, False)
        if connection.dialect.name == "sqlite" and not begun_as_writer:
            session.commit()
            joined = False
    if not joined and session.get_bind().dialect.name == "sqlite":
        with writers_turn(session.get_bind().url.database or ""):
            yield from _write_in(session, session.connection(execution_options=IMMEDIATE))
        return
    if not joined:
        connection = session.connection(execution_options=IMMEDIATE)
    yield from _write_in(session, connection)


def _write_in(session, connection: Connection) -> Iterator[Connection]:
    info = connection.info
    info[WRITING] = True
    try:
        yield connection
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        info.pop(WRITING, None)


class _WritersTurn:
    """The queue of one process's writers to one SQLite file: a thread lock, then an flock().

    SQLite's own wait for its write lock (busy_timeout) sleeps and retries, 1 ms, then 2, 5, 10
    ... up to 100 ms, even when the writer ahead finishes in a tenth of that: under load the CPU
    idles while writers sleep, and a few wait far too long. Here the threads of a process queue
    on a lock, and the processes on an flock() of a file beside the database; the kernel wakes
    the next as soon as the turn is given back. Writers that do not queue (a request with an
    unsafe method, another program) still get SQLite's own locking.
    """

    def __init__(self, path: str):
        self.path = f"{path}.writers"
        self.lock = threading.Lock()
        self.pid, self.fd = 0, -1

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self.lock:
            if self.pid != os.getpid():  # a descriptor from before a fork would exclude nobody
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self.pid = os.getpid()
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self.fd, fcntl.LOCK_UN)


_turns: dict[str, _WritersTurn] = {}
_turns_lock = threading.Lock()


def writers_turn(database: str):
    """Wait for this process's turn to write to an SQLite file (see _WritersTurn)."""
    if not database or database == ":memory:":
        return contextlib.nullcontext()
    with _turns_lock:
        turn = _turns.setdefault(database, _WritersTurn(database))
    return turn.turn()


class CompiledSelect:
    """A Core statement compiled once per database and run on the driver of a connection.

    For the statements of every API call and refresh grant (the bearer check, GET
    /api/Party/{id}, the redemption's writes). Through the ORM they cost more than the rest of the
    call; even as Core statements, SQLAlchemy's execution (cache key, parameter and result
    set-up) cost several times the query. Here the SQL is compiled once for the dialect in use and
    sent to the driver. Parameters go through their columns' bind processors and values come back
    through the result's column types (so UTCDateTime values are timezone-aware, as everywhere);
    a driver error is wrapped the way SQLAlchemy wraps it, so a database outage still answers 503.
    `column_keys` names the parameters of an INSERT given no values (its columns' names).
    """

    def __init__(self, statement, column_keys: list[str] | None = None):
        self.statement = statement
        self.column_keys = column_keys
        # A SELECT's columns, or what an INSERT or UPDATE RETURNs (none without RETURNING).
        self.columns = tuple(statement.exported_columns)
        self.keys = tuple(statement.exported_columns.keys())
        self._compiled: dict[tuple, tuple] = {}
        self._results: dict[tuple, tuple] = {}

    def _for(self, dialect) -> tuple:
        key = (type(dialect), dialect.paramstyle)
        compiled = self._compiled.get(key)
        if compiled is None:
            sql = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
            # By the names the parameters are rendered with (construct_params' keys): an
            # anonymous parameter (a literal value, a JSON path) has another key in sql.binds.
            binds = {
                name: processor
                for bind, name in sql.bind_names.items()
                if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
            }
            compiled = (sql, sql.string, sql.positiontup, binds)
            self._compiled[key] = compiled
        return compiled

    def _processors(self, dialect, cursor) -> tuple:
        """The columns' result processors for the driver's result, as a tuple, and as (key,
        processor) pairs of the columns that have one.

        By the result's type codes (PostgreSQL's numeric processor depends on them). psycopg's
        result gives them directly: its cursor.description builds an object per column on every
        access (about 1 µs a column, as much as a short query's own CPU).
        """
        result = getattr(cursor, "pgresult", None)
        if result is not None:
            codes = tuple(map(result.ftype, range(result.nfields)))
        else:
            codes = tuple(map(itemgetter(1), cursor.description or ()))
        key = (type(dialect), codes)
        found = self._results.get(key)
        if found is None:
            processors = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, code)
                for column, code in zip(self.columns, codes, strict=True)
            )
            found = self._results[key] = (
                processors,
                tuple((k, p) for k, p in zip(self.keys, processors, strict=True) if p is not None),
            )
        return found

    def first(self, **params) -> dict | None:
        """Run the statement; return its first row as a dict, or None.

        In the session's transaction if it has one (it sees the session's own writes); otherwise
        outside any transaction, in autocommit (no BEGIN, no lock), on a connection of the
        engine's reads (_Readers) taken for this statement alone and given back at once.
        """
        return self._read(params, many=False)[1]

    def all(self, **params) -> list[tuple]:
        """Run the statement as first() does; return every row as a tuple of its values."""
        return self._read(params, many=True)[1]

    def _read(self, params: dict, many: bool) -> tuple[int, object]:
        engine = db.engine
        dialect = engine.dialect
        if self._for(dialect)[0].post_compile_params:
            # Parameters SQLAlchemy expands as it executes (`IN` with a list of values): its own
            # execution, in the session's transaction.
            result = db.session.execute(self.statement, params)
            if many:
                return -1, [tuple(row) for row in result]
            row = result.first()
            return -1, None if row is None else dict(zip(self.keys, row, strict=True))
        if in_session_transaction():
            connection = db.session.connection()
            return self.run(connection.dialect, connection.connection, connection, params, many)
        readers = _readers_of(engine)
        if readers is not None:
            return readers.read(self, params, many)
        # An engine whose connections are shared (an SQLite database in memory): its pool's.
        pooled = _checkout(engine)
        try:
            return self.run(dialect, pooled, None, params, many)
        finally:
            pooled.close()

    def bound(self, dialect, params: dict) -> tuple[str, object]:
        """The SQL text and the driver's parameters, converted by their columns' types."""
        sql, text, positions, binds = self._for(dialect)
        values = sql.construct_params(params)
        if binds:
            for name, process in binds.items():
                values[name] = process(values[name])
        if positions is not None:
            values = tuple(values[name] for name in positions)
        return text, values

    def run(
        self, dialect, pooled, connection, params: dict, many: bool = False
    ) -> tuple[int, object]:
        """Run on a pooled DBAPI connection; return the row count and the first row, if any
        (with `many`: every row, as tuples)."""
        text, values = self.bound(dialect, params)
        cursor = pooled.driver_connection.cursor()
        try:
            cursor.execute(text, values)
            if many:
                rows = cursor.fetchall()
            else:
                row = cursor.fetchone() if self.columns else None
            count = cursor.rowcount
            processors, converters = (
                self._processors(dialect, cursor) if self.columns else NO_PROCESSORS
            )
        except dialect.loaded_dbapi.Error as error:
            _raise_wrapped(error, dialect, pooled, connection, text, values)
        finally:
            cursor.close()
        if many:
            if converters:
                rows = [
                    tuple(p(v) if p is not None else v for p, v in zip(processors, r, strict=True))
                    for r in rows
                ]
            return count, rows
        if row is None:
            return count, None
        record = dict(zip(self.keys, row, strict=True))
        for key, process in converters:
            record[key] = process(record[key])
        return count, record


class _ReadConnection:
    """A connection of _Readers, as CompiledSelect.run expects a pooled one."""

    __slots__ = ("driver_connection", "dbapi_connection", "dropped")

    def __init__(self, driver):
        self.driver_connection = self.dbapi_connection = driver
        self.dropped = False

    def invalidate(self, error=None) -> None:
        """Mark it dropped (_raise_wrapped calls this): _Readers closes it rather than keep it."""
        self.dropped = True


class _Readers:
    """The connections of one engine for reads outside a transaction (CompiledSelect.first/all).

    Through the engine's pool, each read cost a checkout and a checkin (pool machinery that cost
    more CPU than an SQLite statement) and, on PostgreSQL, pool_pre_ping's round trip before the
    statement. These connections are kept apart, on a stack: a read takes one and gives it back,
    nothing more. They are made by a copy of the engine's pool (Pool.recreate: the same creator
    and connect events, so SQLite's pragmas), detached from it, and on PostgreSQL put in
    autocommit once for good: a statement is its own transaction (no BEGIN, no ROLLBACK). On
    SQLite they never begin one. So a read takes no lock and leaves nothing open.

    No ping: a read that finds its connection dropped (a database server restarted) closes it
    and the idle ones (dropped with it, most likely), and runs again, once, on a new connection;
    reads are idempotent. If that fails too, the error is raised, wrapped as SQLAlchemy wraps it
    (503). On a database server at most DATABASE_READ_CONNECTIONS (config.py) are open: a read
    waits for one only while none is free; SQLite's cost a file handle, one per thread reading.
    A read holds its connection for its statement alone and waits for nothing else meanwhile, so
    it cannot deadlock with the engine's pool, whose connections threads may hold while they
    read. engine.dispose() closes them (the engine_disposed event).

    writing_on_driver() takes its connections here too (writer()), out of autocommit for its
    transaction: the same slots, no ping. A write transaction waits for nothing but the database
    while it holds one (on SQLite it took the writers' turn before), so that cannot deadlock
    either.
    """

    def __init__(self, engine: Engine, server_connections: int):
        self.factory = engine.pool.recreate()
        self.dialect = engine.dialect
        server = engine.dialect.name != "sqlite"
        self.slots = threading.Semaphore(server_connections) if server else None
        self.autocommit = engine.dialect.name == "postgresql"
        self.idle: list[_ReadConnection] = []
        self.retired = False

    def read(self, statement: "CompiledSelect", params: dict, many: bool) -> tuple[int, object]:
        """Run a compiled statement (see the class docstring)."""
        if self.slots is None:
            return self._read(statement, params, many)
        with self.slots:
            return self._read(statement, params, many)

    def _read(self, statement: "CompiledSelect", params: dict, many: bool):
        reader, fresh = self._take()
        while True:
            try:
                outcome = statement.run(self.dialect, reader, None, params, many)
            except DBAPIError as error:
                if not error.connection_invalidated:
                    self._give_back(reader)  # a statement's error: the connection is sound
                    raise
                _close(reader)
                self.close_idle()
                if fresh:
                    raise
            except BaseException:
                _close(reader)
                raise
            else:
                self._give_back(reader)
                return outcome
            reader, fresh = self._connect(), True

    @contextmanager
    def writer(self) -> Iterator["DriverWrite"]:
        """Lend a connection for a write transaction that writing_on_driver() begins and ends.

        On a database server, a connection that was idle here may have been dropped meanwhile:
        the write's first round trip is sent again, once, on a new connection (DriverWrite._send
        says why that is safe and nothing later is). A connection given back in a transaction,
        or dropped, is closed.
        """
        with self.slots or contextlib.nullcontext():
            reader, fresh = self._take()
            renew = None if fresh or self.slots is None else self._renew
            write = DriverWrite(self.dialect, reader, None, renew)
            try:
                if self.autocommit:
                    reader.driver_connection.autocommit = False
                yield write
            finally:
                self._end_write(write.pooled)

    def _renew(self, dropped: _ReadConnection) -> _ReadConnection:
        _close(dropped)
        self.close_idle()  # dropped with it, most likely
        reader = self._connect()
        if self.autocommit:
            reader.driver_connection.autocommit = False
        return reader

    def _end_write(self, reader: _ReadConnection) -> None:
        driver = reader.driver_connection
        try:
            sound = not reader.dropped and not _in_transaction(driver)
            if sound and self.autocommit:
                driver.autocommit = True
        except Exception:  # noqa: BLE001 (a connection in any doubt is closed)
            sound = False
        if sound:
            self._give_back(reader)
        else:
            _close(reader)

    def _take(self) -> tuple[_ReadConnection, bool]:
        """An idle connection, or a new one; and whether it is new."""
        try:
            return self.idle.pop(), False
        except IndexError:
            return self._connect(), True

    def _connect(self) -> _ReadConnection:
        try:
            pooled = self.factory.connect()
        except self.dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                None, None, error, self.dialect.loaded_dbapi.Error, dialect=self.dialect
            ) from error
        driver = pooled.driver_connection  # (None once detached)
        pooled.detach()  # now ours alone: the copy keeps no connection
        if self.autocommit:
            driver.autocommit = True
        return _ReadConnection(driver)

    def _give_back(self, reader: _ReadConnection) -> None:
        self.idle.append(reader)
        if self.retired:  # set before retire() empties the stack: this one is closed either way
            self.close_idle()

    def close_idle(self) -> None:
        """Close the connections not in use (those in use are closed as they come back)."""
        while True:
            try:
                reader = self.idle.pop()
            except IndexError:
                return
            _close(reader)

    def retire(self) -> None:
        self.retired = True
        self.close_idle()


def _in_transaction(driver) -> bool:
    info = getattr(driver, "info", None)  # psycopg's; sqlite3 says it directly
    if info is not None:
        return info.transaction_status != 0  # pq.TransactionStatus.IDLE
    return driver.in_transaction


def _close(reader: _ReadConnection) -> None:
    with contextlib.suppress(Exception):
        reader.driver_connection.close()


_readers: "weakref.WeakKeyDictionary[Engine, _Readers | None]" = weakref.WeakKeyDictionary()


def _readers_of(engine: Engine) -> "_Readers | None":
    """The engine's _Readers, made at its first read; None if its pool shares its connections
    (SingletonThreadPool, StaticPool: an SQLite database in memory exists in its one
    connection)."""
    try:
        return _readers[engine]
    except KeyError:
        pass
    with _turns_lock:
        if engine not in _readers:
            own = isinstance(engine.pool, QueuePool | NullPool)
            limit = current_app.config["DATABASE_READ_CONNECTIONS"]
            _readers[engine] = _Readers(engine, limit) if own else None
        return _readers[engine]


@event.listens_for(Engine, "engine_disposed")
def _retire_readers(engine: Engine) -> None:
    readers = _readers.pop(engine, None)
    if readers is not None:
        readers.retire()


def _checkout(engine: Engine):
    """A pooled DBAPI connection of the engine, a driver error wrapped as SQLAlchemy would."""
    try:
        return engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            None, None, error, engine.dialect.loaded_dbapi.Error, dialect=engine.dialect
        ) from error


def _raise_wrapped(error, dialect, pooled, connection, text, values=None):
    """Raise a driver error as SQLAlchemy does: a dropped connection is not pooled again."""
    dropped = dialect.is_disconnect(error, pooled.dbapi_connection, None)
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


class DriverWrite:
    """A write transaction on a DBAPI connection, for CompiledSelect statements (see below)."""

    def __init__(self, dialect, pooled, connection, renew=None):
        self.dialect, self.pooled, self.connection = dialect, pooled, connection
        self.renew: Callable | None = renew

    def execute(self, statement: CompiledSelect, **params) -> tuple[int, dict | None]:
        """Run a compiled statement; return its row count and the first row it returned."""
        return self._send(lambda: statement.run(self.dialect, self.pooled, self.connection, params))

    def execute_all(self, calls: list[tuple[CompiledSelect, dict]]) -> list[int]:
        """Run compiled statements that return no rows, in order; return their row counts.

        On PostgreSQL they go in one round trip (psycopg's pipeline mode), so none may need a
        value another returns: a later one can select what an earlier one wrote. An error stops
        the rest and is raised, wrapped as execute() wraps it.
        """
        if self.dialect.name != "postgresql":
            return [self.execute(statement, **params)[0] for statement, params in calls]
        return self._send(lambda: self._pipeline(calls))

    def _send(self, trip: Callable[[], T]) -> T:
        """Make a round trip; the transaction's first is made again on a new connection if this
        one was dropped before it (a database server restarted while the connection was idle).

        Why that is safe, and nothing else is: PostgreSQL applies nothing of a transaction before
        its COMMIT, and a transaction whose connection is lost is rolled back. The first round
        trip carries the BEGIN and this trip's statements alone, none of them a COMMIT, so
        whatever became of it (never sent, or run and then lost with the connection), none of it
        is in the database, and the work of the block so far is exactly this trip: sending it
        again on a new connection writes it once. A later trip is not sent again: the block has
        acted on what the earlier ones returned, and the whole block would have to run again. Nor
        is the COMMIT (writing_on_driver): a connection lost after the COMMIT was sent leaves the
        outcome unknown (it may have been applied), so the error is raised (503) and the client
        decides; a refresh token's redemption may then have happened without its answer.
        """
        renew, self.renew = self.renew, None
        if renew is None:
            return trip()
        try:
            return trip()
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        self.pooled = renew(self.pooled)
        return trip()

    def _pipeline(self, calls: list[tuple[CompiledSelect, dict]]) -> list[int]:
        driver = self.pooled.driver_connection
        cursors = []
        try:
            with driver.pipeline():
                for statement, params in calls:
                    cursor = driver.cursor()
                    cursors.append(cursor)
                    cursor.execute(*statement.bound(self.dialect, params))
            return [cursor.rowcount for cursor in cursors]
        except self.dialect.loaded_dbapi.Error as error:
            text = "; ".join(statement._for(self.dialect)[1] for statement, _ in calls)
            _raise_wrapped(error, self.dialect, self.pooled, self.connection, text)
        finally:
            for cursor in cursors:
                cursor.close()


@contextmanager
def writing_on_driver() -> Iterator[DriverWrite]:
    """writing() for compiled statements sent straight to the driver, without the ORM session.

    The same transaction as writing(): on SQLite in the writers' turn and begun IMMEDIATE,
    committed at the end of the block, rolled back if it raises. It runs on a pooled connection
    of its own, checked out for the block; inside a transaction the session has begun, it joins
    that one through writing() instead, so a request never holds two connections.
    """
    if in_session_transaction():
        with writing() as connection:
            yield DriverWrite(connection.dialect, connection.connection, connection)
        return
    engine = db.engine
    dialect = engine.dialect
    sqlite = dialect.name == "sqlite"
    # The connection is checked out inside the writers' turn, never before: a thread holding a
    # connection while it waits for the turn, and a turn holder waiting for a connection (the
    # audit's writer), deadlock once the pool is empty (measured: one worker stalled at once).
    with writers_turn((engine.url.database or "") if sqlite else ""), _lent(engine) as write:
        try:
            if sqlite:
                _on_driver(dialect, write.pooled, "BEGIN IMMEDIATE")
            yield write
            try:
                write.pooled.driver_connection.commit()
            except dialect.loaded_dbapi.Error as error:
                _raise_wrapped(error, dialect, write.pooled, None, "COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                write.pooled.driver_connection.rollback()
            raise


@contextmanager
def _lent(engine: Engine) -> Iterator[DriverWrite]:
    """A connection for writing_on_driver(): one of the engine's _Readers (no pre-ping on
    PostgreSQL: one round trip fewer per write), or its pool's if it shares its connections."""
    readers = _readers_of(engine)
    if readers is not None:
        with readers.writer() as write:
            yield write
        return
    pooled = _checkout(engine)
    try:
        yield DriverWrite(engine.dialect, pooled, None)
    finally:
        pooled.close()


class _Job:
    """One thread's block of statements waiting for a group's transaction (see write_grouped)."""

    def __init__(self, work: Callable[["DriverWrite"], T]):
        self.work = work
        self.woken = threading.Event()
        self.lead = False  # woken to lead the next group rather than with its outcome
        self.result = None
        self.error: BaseException | None = None


class _Group:
    """The jobs of one process's threads queued for one SQLite file, and who leads the next group.

    The first thread to arrive leads: it takes the writers' turn once for every job queued by
    then (its own first), runs each in a savepoint of one transaction and commits once. Threads
    that arrive meanwhile queue; when the group is committed the first of them leads the next.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.queue: list[_Job] = []
        self.leading = False

    def run(self, job: _Job):
        with self.lock:
            self.queue.append(job)
            lead = not self.leading
            self.leading = True
        if not lead:
            job.woken.wait()
        if lead or job.lead:
            with self.lock:
                jobs, self.queue = self.queue, []
            try:
                _commit_group(jobs)
            finally:
                with self.lock:
                    if self.queue:
                        self.queue[0].lead = True
                        self.queue[0].woken.set()
                    else:
                        self.leading = False
        if job.error is not None:
            raise job.error
        return job.result


_groups: dict[str, _Group] = {}


def _commit_group(jobs: list[_Job]) -> None:
    """Run the jobs in one transaction of writing_on_driver(), each in a savepoint; wake them all.

    A job that raises is rolled back to its savepoint alone, and gets its exception; a failure of
    the transaction itself (BEGIN, COMMIT) is every job's. A job alone in its group needs no
    savepoint (two statements fewer in the writers' turn): its exception rolls back the whole.
    """
    try:
        with writing_on_driver() as write:
            if len(jobs) == 1:  # alone: its exception rolls back the whole transaction
                jobs[0].result = jobs[0].work(write)
                return
            for job in jobs:
                _on_driver(write.dialect, write.pooled, "SAVEPOINT grouped")
                try:
                    job.result = job.work(write)
                except Exception as error:  # noqa: BLE001 (the job's own outcome)
                    job.error = error
                    _on_driver(write.dialect, write.pooled, "ROLLBACK TO grouped")
                _on_driver(write.dialect, write.pooled, "RELEASE grouped")
    except BaseException as error:
        for job in jobs:
            job.error, job.result = error, None
    finally:
        for job in jobs:
            job.lead = False
            job.woken.set()


def _on_driver(dialect, pooled, text: str) -> None:
    try:
        pooled.driver_connection.execute(text)
    except dialect.loaded_dbapi.Error as error:
        _raise_wrapped(error, dialect, pooled, None, text)


def write_grouped(work: Callable[[DriverWrite], T]) -> T:
    """Run `work(write)` as writing_on_driver() would, its transaction shared with other threads'.

    On SQLite the work of threads that arrive while a transaction is being written waits and goes
    into the next one, in a savepoint each: the writers' turn is taken, and the log written, once
    per group instead of once per call (group commit). What `work` does is as in its own
    transaction: it sees its own writes, its exception rolls back its statements alone and is
    raised here, and it returns when its statements are committed. `work` may run on another
    thread, so it takes everything it needs as arguments: no request, no session. Inside a
    transaction the session has begun, and on PostgreSQL (where writers do not wait for one
    another), it runs in a transaction of its own.
    """
    if in_session_transaction() or db.engine.dialect.name != "sqlite":
        with writing_on_driver() as write:
            return work(write)
    database = db.engine.url.database or ""
    with _turns_lock:
        group = _groups.setdefault(database, _Group())
    return group.run(_Job(work))


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


def in_session_transaction() -> bool:
    """True if the request's ORM session has begun a transaction (without creating a session)."""
    return db.session.registry.has() and db.session().in_transaction()
