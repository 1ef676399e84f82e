"""The tests' databases: SQLite files, or PostgreSQL databases when TEST_DATABASE_URL is set.

A database belongs to an instance folder, as the SQLite file instance/imis.db does, so that
`make_app(instance)`, the CLI and server subprocesses (see `instance_env`) all find the same one.

Each test starts from the template: a database migrated once per run, with the demo data.
- SQLite: the test gets a copy of the template file.
- PostgreSQL: `CREATE DATABASE ... TEMPLATE` costs about 150 ms (it copies the system catalogs
  too), so the tests share one database instead, put back to the template's rows before each test
  (every table emptied and refilled, sequences reset, stray connections closed) in about 10 ms.
  An instance folder that is not the test's `instance` (e.g. `make_app(tmp_path)` in a test that
  wants an empty database) gets a new empty database of its own.
  Every database is named imis_t_<pid>_<hash of the folder>; they are dropped at the end of the
  run, and those left by an interrupted run are dropped when the next run starts.

TEST_DATABASE_URL names a database that the tests' role can connect to (the role needs CREATEDB),
e.g. postgresql+psycopg://imis_test:imis_test@127.0.0.1:5432/imis_test
"""

import hashlib
import os
import shutil
from pathlib import Path

from flask import Flask
from sqlalchemy import Connection, Engine, MetaData, create_engine, insert, make_url, select, text

from imis_mock.database import normalize_uri
from imis_mock.extensions import db
from imis_mock.services import audit

TEST_DATABASE_URL = normalize_uri(os.environ.get("TEST_DATABASE_URL", "").strip())
DIALECT = "postgresql" if TEST_DATABASE_URL.startswith("postgresql") else "sqlite"
if TEST_DATABASE_URL and DIALECT != "postgresql":
    raise RuntimeError("TEST_DATABASE_URL must be a postgresql:// URL")

PREFIX = "imis_t_"
_engines: dict[str, Engine] = {}  # by database name ("" is TEST_DATABASE_URL's own database)
_names: dict[Path, str] = {}  # instance folder -> its PostgreSQL database
_template: dict = {}  # the template's rows and sequence values, once taken
# The apps made during the current test, to close their connections after it.
_apps: list[Flask] = []


def _engine(database: str = "") -> Engine:
    """An engine on a test database, or (autocommit) on TEST_DATABASE_URL's own database."""
    if database not in _engines:
        if database:
            _engines[database] = create_engine(_url(database), pool_size=1)
        else:
            _engines[database] = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    return _engines[database]


def _url(database: str) -> str:
    url = make_url(TEST_DATABASE_URL).set(database=database)
    return url.render_as_string(hide_password=False)


def uri_for(instance: Path) -> str:
    """Return the URI of the instance folder's database (on PostgreSQL, created if missing)."""
    if DIALECT == "sqlite":
        return f"sqlite:///{instance}/imis.db"
    key = instance.resolve()
    if key not in _names:
        digest = hashlib.sha256(str(key).encode()).hexdigest()[:16]
        name = f"{PREFIX}{os.getpid()}_{digest}"
        with _engine().connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        _names[key] = name
    return _url(_names[key])


def close_after_test(app: Flask) -> None:
    """Have the app's pooled connections closed when the current test ends."""
    _apps.append(app)


def close_connections() -> None:
    """Close the pooled connections of the apps made during the current test."""
    audit.flush()  # events written behind go to this test's database, not a later one's
    while _apps:
        with _apps.pop().app_context():
            for engine in db.engines.values():
                engine.dispose()


def instance_env(instance: Path) -> dict[str, str]:
    """The environment that points a `flask` or server subprocess at an instance folder."""
    return {"IMIS_INSTANCE_PATH": str(instance), "FLASK_SQLALCHEMY_DATABASE_URI": uri_for(instance)}


def keep_as_template(template: Path) -> None:
    """Remember the migrated template's contents, to put them back before each test."""
    if DIALECT == "sqlite":
        return
    with _engine(_names[template.resolve()]).connect() as conn:
        metadata = MetaData()
        metadata.reflect(conn)
        tables = [t for t in metadata.sorted_tables if t.name != "alembic_version"]
        _template["tables"] = [
            (t, [dict(r._mapping) for r in conn.execute(select(t))]) for t in tables
        ]
        _template["sequences"] = conn.execute(
            text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        ).all()


def clone(template: Path, instance: Path) -> None:
    """Give `instance` a fresh copy of the template folder's database."""
    if DIALECT == "sqlite":
        for stale in ("imis.db-wal", "imis.db-shm"):  # never pair a new file with an old log
            (instance / stale).unlink(missing_ok=True)
        shutil.copy(template / "imis.db", instance / "imis.db")
        return
    name = _names[template.resolve()]
    _names[instance.resolve()] = name
    with _engine(name).begin() as conn:
        _close_other_connections(conn)
        _restore(conn)


def terminate_connections(instance: Path) -> None:
    """Have the server drop every connection to the instance's database (PostgreSQL only)."""
    with _engine(_names[instance.resolve()]).begin() as conn:
        _close_other_connections(conn)


def _close_other_connections(conn: Connection) -> None:
    # A thread of an earlier test could still hold a connection (and its locks).
    conn.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND usename = current_user"
        )
    )


def _restore(conn: Connection) -> None:
    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    tables = _template["tables"]
    for table, _rows in reversed(tables):
        conn.execute(table.delete())
    for table, rows in tables:
        if rows:
            conn.execute(insert(table), rows)
    for sequence, last_value in _template["sequences"]:
        conn.execute(
            text("SELECT setval(:sequence, :value, :called)"),
            {"sequence": sequence, "value": last_value or 1, "called": last_value is not None},
        )


def release(instance: Path) -> None:
    """Forget the test's database after the test (the next test's clone resets it)."""
    _names.pop(instance.resolve(), None)


def drop_leftovers() -> None:
    """Drop this run's databases, and those of earlier runs whose process is gone."""
    if DIALECT == "sqlite":
        return
    for name in [n for n in _engines if n]:
        _engines.pop(name).dispose()
    _names.clear()
    with _engine().connect() as conn:
        query = text("SELECT datname FROM pg_database WHERE starts_with(datname, :prefix)")
        for name in conn.execute(query, {"prefix": PREFIX}).scalars().all():
            pid = int(name[len(PREFIX) :].split("_")[0])
            if pid == os.getpid() or not _process_exists(pid):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def close() -> None:
    """Close the connections of the test helpers themselves."""
    while _engines:
        _engines.popitem()[1].dispose()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
