"""The database: a clear 503 while it cannot be reached, recovery by itself, and test isolation.

The same tests run on SQLite and on PostgreSQL (TEST_DATABASE_URL); see tests/support/databases.py.
"""

import logging
import sqlite3
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from authlib.integrations.flask_oauth2 import current_token
from flask import Flask, jsonify
from flask_migrate import downgrade, upgrade
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SAWarning

from imis_mock import database
from imis_mock.errors import UNAVAILABLE_MESSAGE, handle_database_unavailable
from imis_mock.extensions import db
from imis_mock.models import AppSetting, Contact, SignInThrottle, User
from imis_mock.oauth.bearer import require_bearer
from imis_mock.services import accounts, clock, tokens
from tests.support import databases
from tests.support.apps import make_app, sign_in
from tests.support.data import MEMBER_PASSWORD, create_member
from tests.support.servers import TcpProxy

LEAKS = ("Traceback", "OperationalError", "psycopg", "sqlite3", "SELECT", "File ")


def add_api_probe(app: Flask) -> None:
    """An /api route behind the bearer check, which reads the database."""

    @require_bearer()
    def probe():
        return jsonify({"user": current_token.user.username})

    app.add_url_rule("/api/_probe", "probe", probe)


class Outage:
    """The app, on a database that down() makes unreachable and up() brings back.

    PostgreSQL: the app connects through a TCP proxy; down() closes it and cuts its connections.
    SQLite: the database file's folder goes away (and the pool is emptied, since an open file
    handle would outlive the rename).
    """

    def __init__(self, instance: Path, monkeypatch: pytest.MonkeyPatch):
        if databases.DIALECT == "postgresql":
            url = make_url(databases.uri_for(instance))
            self.proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
            url = url.set(host="127.0.0.1", port=self.proxy.port)
            uri = url.render_as_string(hide_password=False)
        else:
            self.proxy = None
            self.folder, self.away = instance / "db", instance / "db-away"
            self.folder.mkdir()
            (instance / "imis.db").rename(self.folder / "imis.db")
            uri = f"sqlite:///{self.folder}/imis.db"
        self.app = make_app(instance, monkeypatch, SQLALCHEMY_DATABASE_URI=uri)
        add_api_probe(self.app)

    def down(self) -> None:
        if self.proxy:
            self.proxy.stop()
        else:
            with self.app.app_context():
                db.engine.dispose()
            self.folder.rename(self.away)

    def up(self) -> None:
        if self.proxy:
            self.proxy.start()
        else:
            self.away.rename(self.folder)


@pytest.fixture
def outage(instance: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    outage = Outage(instance, monkeypatch)
    yield outage
    if outage.proxy:
        outage.proxy.stop()


def assert_unavailable(response, content_type: str) -> str:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == content_type
    text = response.get_data(as_text=True)
    for leak in LEAKS:
        assert leak not in text
    return text


def test_unreachable_database_gives_503_then_service_resumes(outage, caplog):
    client = outage.app.test_client()
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    assert client.get("/MyAccount").status_code == 200

    outage.down()
    with caplog.at_level(logging.ERROR, logger=outage.app.logger.name):
        response = client.get("/MyAccount")
        page = assert_unavailable(response, "text/html")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert UNAVAILABLE_MESSAGE in page
    assert 'class="member-site"' in page
    assert "Database unavailable" in caplog.text
    assert "Traceback" not in caplog.text  # one line in the log, not a stack trace per request
    staff_page = assert_unavailable(client.get("/staff/"), "text/html")
    assert 'class="staff-site"' in staff_page
    assert_unavailable(client.post("/SignIn", data={"username": "x", "password": "y"}), "text/html")
    api = client.get("/api/_probe", headers={"Authorization": "Bearer some-token"})
    assert_unavailable(api, "application/json")
    assert api.get_json() == {"Message": UNAVAILABLE_MESSAGE}

    # The database comes back: the same app serves again, and the member is still signed in.
    outage.up()
    response = client.get("/MyAccount")
    assert response.status_code == 200
    assert "Jane" in response.get_data(as_text=True)
    assert sign_in(outage.app.test_client(), "rjones", MEMBER_PASSWORD).status_code == 303


def test_unreachable_from_the_start_then_comes_up(outage):
    outage.down()
    client = outage.app.test_client()
    assert_unavailable(
        client.post("/SignIn", data={"username": "jsmith", "password": "x"}), "text/html"
    )
    assert_unavailable(
        client.post("/staff/SignIn", data={"username": "MANAGER", "password": "x"}), "text/html"
    )
    outage.up()
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303


@pytest.mark.database("postgresql", reason="only a database server drops connections")
def test_connections_dropped_by_the_server_are_replaced(app):
    client = app.test_client()
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    databases.terminate_connections(Path(app.instance_path))
    # pool_pre_ping notices the dead pooled connection and opens a new one: no error at all.
    assert client.get("/MyAccount").status_code == 200


@pytest.mark.database("postgresql", reason="only a database server drops connections")
def test_without_pre_ping_a_dropped_connection_costs_one_503(instance, monkeypatch):
    app = make_app(instance, monkeypatch, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False})
    client = app.test_client()
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    databases.terminate_connections(instance)
    assert_unavailable(client.get("/MyAccount"), "text/html")
    assert client.get("/MyAccount").status_code == 200


@pytest.mark.database("postgresql", reason="only a database server drops connections")
def test_api_read_on_a_dropped_connection_is_read_again_on_a_new_one(instance, monkeypatch):
    """The API's reads outside a transaction (CompiledSelect) send no ping: a read that finds its
    connection dropped runs again, once, on a new connection, so the call still succeeds."""
    app = make_app(instance, monkeypatch, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False})
    with app.app_context():
        raw, _ = tokens.issue_access_token(accounts.get_user("jsmith"), None, grant_type="password")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/Party/23179", headers=headers).status_code == 200
    databases.terminate_connections(instance)
    response = client.get("/api/Party/23179", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["Id"] == "23179"
    assert client.get("/api/Party/23179", headers=headers).status_code == 200


@pytest.mark.database("postgresql", reason="only a database server drops connections")
def test_a_driver_write_on_a_dropped_connection_is_sent_again_on_a_new_one(instance, monkeypatch):
    """writing_on_driver() sends no ping: a write whose connection was dropped while idle sends
    its first round trip again, once, on a new connection, and writes it once."""
    app = make_app(instance, monkeypatch, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False})
    settings = AppSetting.__table__
    put = database.CompiledSelect(insert(settings), column_keys=["key", "value"])
    with app.app_context():
        with database.writing_on_driver() as write:
            assert write.execute_all([(put, {"key": "dropped-a", "value": "1"})]) == [1]
        databases.terminate_connections(instance)
        with database.writing_on_driver() as write:
            assert write.execute_all([(put, {"key": "dropped-b", "value": "1"})]) == [1]
        databases.terminate_connections(instance)
        with database.writing_on_driver() as write:  # one statement alone, not in a pipeline
            assert write.execute(put, key="dropped-c", value="1")[0] == 1
        keys = db.session.scalars(select(AppSetting.key).where(AppSetting.key.like("dropped-%")))
        assert sorted(keys) == ["dropped-a", "dropped-b", "dropped-c"]


@pytest.mark.database("postgresql", reason="only a database server drops connections")
def test_a_driver_write_dropped_after_its_first_round_trip_is_not_sent_again(instance, monkeypatch):
    """Once a round trip has come back, the block has acted on it: a dropped connection then
    fails the whole write (SQLAlchemy's error, so a 503), writes nothing, and is not kept."""
    app = make_app(instance, monkeypatch, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False})
    settings = AppSetting.__table__
    put = database.CompiledSelect(insert(settings), column_keys=["key", "value"])
    with app.app_context():
        with pytest.raises(DBAPIError) as raised, database.writing_on_driver() as write:
            assert write.execute_all([(put, {"key": "lost-a", "value": "1"})]) == [1]
            databases.terminate_connections(instance)
            write.execute_all([(put, {"key": "lost-b", "value": "1"})])
        assert raised.value.connection_invalidated
        with database.writing_on_driver() as write:
            assert write.execute_all([(put, {"key": "lost-c", "value": "1"})]) == [1]
        keys = db.session.scalars(select(AppSetting.key).where(AppSetting.key.like("lost-%")))
        assert list(keys) == ["lost-c"]


def test_compiled_select_reads_outside_a_transaction_leave_the_engines_pool_alone(
    instance, monkeypatch
):
    """A read outside a transaction does not wait for the engine's pool: a thread that holds the
    pool's only connection (a write's) can still read, so threads cannot deadlock on the pool."""
    options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 1}
    app = make_app(instance, monkeypatch, SQLALCHEMY_ENGINE_OPTIONS=options)
    contacts = Contact.__table__
    query = database.CompiledSelect(
        select(contacts.c.imis_id).where(contacts.c.imis_id == bindparam("p_imis_id"))
    )
    with app.app_context():
        held = db.engine.raw_connection()  # the pool's only connection
        try:
            assert query.first(p_imis_id="23179") == {"imis_id": "23179"}
            assert query.all(p_imis_id="23179") == [("23179",)]
        finally:
            held.close()


@pytest.mark.database("postgresql", reason="a database server's connections are counted")
def test_reads_outside_a_transaction_open_at_most_the_configured_connections(instance, monkeypatch):
    app = make_app(instance, monkeypatch, DATABASE_READ_CONNECTIONS=2)
    contacts = Contact.__table__
    query = database.CompiledSelect(
        select(func.pg_sleep(0.01), contacts.c.imis_id).where(
            contacts.c.imis_id == bindparam("p_imis_id")
        )
    )
    count = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    with app.app_context():
        before = db.session.scalar(count)
        db.session.rollback()

    def read(_) -> dict | None:
        with app.app_context():
            return query.first(p_imis_id="23179")

    with ThreadPoolExecutor(8) as threads:
        rows = list(threads.map(read, range(24)))
    assert all(row is not None and row["imis_id"] == "23179" for row in rows)
    with app.app_context():
        assert db.session.scalar(count) - before <= 2
        db.session.rollback()


def test_compiled_select_reads_outside_a_transaction_leave_nothing_open(app, instance):
    """After reads outside a transaction, no transaction of the app's is left open: SQLite can
    checkpoint its whole log (a reader's snapshot would keep it), and PostgreSQL shows none of
    the app's sessions idle in a transaction."""
    contacts = Contact.__table__
    query = database.CompiledSelect(
        select(contacts.c.imis_id).where(contacts.c.imis_id != bindparam("p_imis_id"))
    )
    with app.app_context():
        assert query.first(p_imis_id="23179") is not None  # a first row of several, unread
        assert len(query.all(p_imis_id="23179")) > 1
        if databases.DIALECT == "sqlite":
            other = sqlite3.connect(instance / "imis.db", isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("INSERT INTO app_settings (key, value) VALUES ('probe', 'x')")
                other.execute("COMMIT")
                busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                other.close()
            assert busy == 0
        else:
            states = db.session.scalars(
                text(
                    "SELECT state FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                )
            ).all()
            assert states and "idle in transaction" not in states
        db.session.rollback()


def test_compiled_select_wraps_driver_errors_like_sqlalchemy(app):
    missing = Table("no_such_table", MetaData(), Column("id", Integer))
    query = database.CompiledSelect(select(missing).where(missing.c.id == bindparam("p_id")))
    with app.app_context():
        with pytest.raises(DBAPIError) as raised:
            query.first(p_id=1)
        assert isinstance(raised.value.orig, db.engine.dialect.loaded_dbapi.Error)
        db.session.rollback()


_SETTINGS = AppSetting.__table__
_PUT = database.CompiledSelect(insert(_SETTINGS), column_keys=["key", "value"])
_COPY = database.CompiledSelect(
    insert(_SETTINGS).from_select(
        ["key", "value"],
        select(bindparam("p_new"), _SETTINGS.c.value).where(_SETTINGS.c.key == bindparam("p_key")),
    )
)


def test_driver_writes_sent_together_see_one_another_and_count_their_rows(app):
    """execute_all (one round trip on PostgreSQL): a later statement selects what an earlier one
    wrote, and each one's row count comes back."""
    with app.app_context():
        with database.writing_on_driver() as write:
            counts = write.execute_all(
                [
                    (_PUT, {"key": "together-a", "value": "1"}),
                    (_COPY, {"p_new": "together-b", "p_key": "together-a"}),
                    (_COPY, {"p_new": "together-c", "p_key": "nothing-here"}),
                ]
            )
        assert counts == [1, 1, 0]
        assert db.session.get(AppSetting, "together-b").value == "1"
        assert db.session.get(AppSetting, "together-c") is None


def test_driver_writes_sent_together_fail_as_one(app):
    """An error among them is raised as SQLAlchemy wraps it, and none of them is kept."""
    with app.app_context():
        with pytest.raises(IntegrityError), database.writing_on_driver() as write:
            write.execute_all(
                [
                    (_PUT, {"key": "together-x", "value": "1"}),
                    (_PUT, {"key": "together-x", "value": "2"}),  # the same key again
                ]
            )
        assert db.session.get(AppSetting, "together-x") is None
        # The connection went back to the pool usable.
        with database.writing_on_driver() as write:
            assert write.execute_all([(_PUT, {"key": "together-y", "value": "1"})]) == [1]


def test_compiled_select_converts_values_by_column_type(app):
    contacts = Contact.__table__
    query = database.CompiledSelect(
        select(contacts.c.imis_id, contacts.c.created_at, contacts.c.join_date).where(
            contacts.c.imis_id == bindparam("p_imis_id")
        )
    )
    with app.app_context():
        row = query.first(p_imis_id="23179")
        contact = db.session.scalar(select(Contact).filter_by(imis_id="23179"))
        assert row == {
            "imis_id": "23179",
            "created_at": contact.created_at,
            "join_date": contact.join_date,
        }
        assert row["created_at"].tzinfo is UTC
        assert query.first(p_imis_id="nobody") is None
        db.session.rollback()


@pytest.mark.database("sqlite", reason="SQLite's single writer lock and its busy timeout")
def test_sqlite_locked_past_the_busy_timeout_gives_503(app, instance, monkeypatch):
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    add_api_probe(app)
    client = app.test_client()
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    with app.app_context():
        db.engine.dispose()  # new connections get the short busy timeout
    other = sqlite3.connect(instance / "imis.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        # A write waits for the lock, then gives up with the 503 page.
        assert_unavailable(sign_in(client, "jsmith", MEMBER_PASSWORD), "text/html")
        # Reads take no lock, so they do not wait for SQLite's writer: answered.
        assert client.get("/MyAccount").status_code == 200
        api = client.get("/api/_probe", headers={"Authorization": "Bearer x"})
        assert api.status_code == 401 and api.get_json() != {"Message": UNAVAILABLE_MESSAGE}
        other.execute("ROLLBACK")
        assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    finally:
        other.close()


def test_token_endpoint_gets_an_oauth_error(app):
    error = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
    with app.test_request_context("/token", method="POST"):
        response = handle_database_unavailable(error)
    assert_unavailable(response, "application/json")
    assert response.get_json() == {
        "error": "temporarily_unavailable",
        "error_description": UNAVAILABLE_MESSAGE,
    }


def test_each_test_starts_from_the_template(app, instance, template_instance):
    def snapshot():
        with app.app_context():
            return (
                db.session.scalar(select(func.count(User.id))),
                db.session.scalar(select(func.max(User.id))),
                accounts.get_user("rjones") is not None,
                clock.offset().total_seconds(),
            )

    before = snapshot()
    create_member(app, "extra")
    with app.app_context():
        db.session.delete(accounts.get_user("rjones"))
        clock.advance(60)
    assert snapshot() != before
    with app.app_context():
        db.engine.dispose()
    databases.clone(template_instance, instance)
    assert snapshot() == before
    create_member(app, "after")  # ids carry on from the template's, as in a fresh copy
    with app.app_context():
        assert accounts.get_user("after").id == before[1] + 1


def test_migrations_build_the_models_on_an_empty_database_and_go_down_and_up(
    tmp_path: Path, monkeypatch
):
    app = make_app(tmp_path, monkeypatch)  # a new, empty database of its own
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            with warnings.catch_warnings():
                # SQLite's reflection skips the expression index on lower(last_name) (with this
                # warning); Alembic then leaves it out of the comparison on both sides.
                warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
                warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified")
                assert compare_metadata(context, db.metadata) == []
        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert inspect(conn).get_table_names() == ["alembic_version"]
        upgrade()
        with db.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= {"users", "contacts", "refresh_tokens"}


def test_utc_datetimes_keep_their_instant_whatever_the_session_time_zone(app):
    kiritimati = timezone(timedelta(hours=14))
    moment = datetime(2026, 3, 1, 1, 30, tzinfo=kiritimati)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # timestamp without time zone must not shift with the server or session zone.
            db.session.execute(text("SET TIME ZONE 'America/Adak'"))
        db.session.add(SignInThrottle(username_key="tz", failures=1, window_start=moment))
        db.session.commit()
        db.session.expunge_all()
        stored = db.session.get(SignInThrottle, "tz").window_start
        assert stored == moment
        assert (
            stored.tzinfo == UTC and stored.hour == 11
        )  # 01:30 at +14:00 is 11:30 UTC the day before
        raw = db.session.scalar(select(text("window_start")).select_from(text("sign_in_throttle")))
        assert str(raw).startswith("2026-02-28 11:30")
