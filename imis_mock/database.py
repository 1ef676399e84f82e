"""Database engine tuning: SQLite in WAL mode with a busy timeout and immediate write locks;
PostgreSQL through psycopg 3, with connections checked before use.

SQLite lets one writer at a time. A transaction that reads and then writes can fail at once with
"database is locked" when it began as a reader (busy_timeout cannot help it), so every transaction
on SQLite starts with BEGIN IMMEDIATE and waits for the write lock up to the busy timeout instead.
Readers are not blocked by this in WAL mode. PostgreSQL needs none of it, but a database server
can restart or drop connections: pool_pre_ping replaces a dead pooled connection before a request
uses it, so the app recovers by itself when the server comes back.
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

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
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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
