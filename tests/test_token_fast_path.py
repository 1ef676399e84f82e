"""The refresh grant's SQLite fast path (services/fast_refresh.py) against the general path."""

import json
import re
import sqlite3
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from imis_mock.extensions import db
from imis_mock.models import AccessToken, AuditEvent, RefreshToken
from imis_mock.services import audit, clock, fast_refresh, oauth_server
from tests.conftest import create_client_application
from tests.oauth_helpers import SECRET, add_test_routes, mint

pytestmark = pytest.mark.database("sqlite", reason="the fast path serves SQLite only")

STORED_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")


@pytest.fixture
def oauth_app(app):
    create_client_application(app, "MyApp", SECRET, lifetime=30)
    return add_test_routes(app)


def refresh_form(raw: str) -> dict:
    return {
        "grant_type": "refresh_token",
        "client_id": "MyApp",
        "client_secret": SECRET,
        "refresh_token": raw,
    }


def redeem(app, raw: str, *, fast: bool, monkeypatch) -> dict:
    """Redeem through the fast path, or with it switched off (Authlib and the ORM session)."""
    with monkeypatch.context() as patch:
        if fast:
            # The general path must not be needed for a plain success.
            patch.setattr(oauth_server, "refresh", None)
        else:
            patch.setattr(fast_refresh, "applies", lambda: False)
        response = app.test_client().post("/token", data=refresh_form(raw))
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True))


def rows_of(app, raw: str, body: dict) -> tuple:
    """What a redemption left in the database, without ids, hashes or times."""
    audit.flush()
    with app.app_context():
        old = oauth_server.find_refresh_token(raw)
        new = oauth_server.find_refresh_token(body["refresh_token"])
        access = db.session.scalars(
            select(AccessToken).where(AccessToken.refresh_token_id == new.id)
        ).one()
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        return (
            (new.family == old.family, new.expires_at == old.expires_at, old.used_at is not None),
            (access.grant_type, access.user_id, access.client_application_id),
            (access.expires_at - access.issued_at, access.revoked_at),
            (event.action, event.outcome, event.actor, event.client_id, event.username),
            (event.error_code, event.ip, sorted(json.loads(event.detail))),
        )


def test_fast_and_general_paths_answer_and_store_alike(oauth_app, monkeypatch):
    results = []
    for fast in (True, False):
        raw = mint(oauth_app)
        body = redeem(oauth_app, raw, fast=fast, monkeypatch=monkeypatch)
        results.append(([k for k in body], body["userName"], body["as:client_id"]))
        results.append(rows_of(oauth_app, raw, body))
    assert results[0] == results[2]
    assert results[1] == results[3]


def test_fast_path_stores_times_as_sqlalchemy_does(oauth_app, monkeypatch):
    raw = mint(oauth_app)
    redeem(oauth_app, raw, fast=True, monkeypatch=monkeypatch)
    audit.flush()
    with oauth_app.app_context():
        stored = [
            *db.session.execute(text("SELECT issued_at, expires_at, used_at FROM refresh_tokens")),
            *db.session.execute(text("SELECT issued_at, expires_at FROM access_tokens")),
            *db.session.execute(text("SELECT at FROM audit_events")),
        ]
    values = [value for row in stored for value in row if value is not None]
    assert len(values) > 6 and all(STORED_TIME.match(value) for value in values)


def test_fast_path_follows_the_shared_clock(oauth_app, monkeypatch):
    raw = mint(oauth_app)
    with oauth_app.test_request_context():
        clock.advance(10)
    body = redeem(oauth_app, raw, fast=True, monkeypatch=monkeypatch)
    issued = datetime.strptime(body[".issued"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert issued > datetime.now(UTC) + timedelta(minutes=9)
    with oauth_app.app_context():
        new = db.session.scalars(select(RefreshToken).where(RefreshToken.source == "refresh"))
        assert new.one().issued_at.replace(microsecond=0) == issued


def test_fast_path_steps_aside_when_the_session_holds_a_transaction(oauth_app):
    with oauth_app.test_request_context():
        assert fast_refresh.applies()
        db.session.connection()  # on SQLite this transaction holds the write lock
        assert not fast_refresh.applies()
        db.session.rollback()


@contextmanager
def driver_of(app):
    """A pooled driver connection of the app, as the fast path uses one."""
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            yield connection.driver_connection
        finally:
            connection.close()


def checked(driver, raw: str, *, strict: bool = False) -> fast_refresh.Redemption | None:
    sql = fast_refresh._statements()
    return fast_refresh._check(driver, sql, "MyApp", SECRET, raw, strict)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_under_strict_rotation_a_token_checked_twice_is_written_once(oauth_app):
    """Both pass the check; the second write's guard sees the first redemption's claim."""
    raw = mint(oauth_app)
    with driver_of(oauth_app) as driver:
        first, second = checked(driver, raw, strict=True), checked(driver, raw, strict=True)
        fast_refresh._write(driver, first)
        fast_refresh._write(driver, second)
    assert first.issued
    assert not second.issued  # left to the general path, which refuses and revokes
    assert count(oauth_app, AccessToken) == 1


def test_under_default_rotation_a_token_checked_twice_is_written_twice(oauth_app):
    """Only the first write records the token's first use; the second changes fewer rows."""
    raw = mint(oauth_app)
    with driver_of(oauth_app) as driver:
        first, second = checked(driver, raw), checked(driver, raw)
        assert first.claim is not None and second.claim is not None  # both checked before use
        fast_refresh._write(driver, first)
        fast_refresh._write(driver, second)
    assert first.issued and second.issued
    assert count(oauth_app, AccessToken) == 2
    with oauth_app.app_context():
        claimed = db.session.scalars(
            select(RefreshToken.used_at).where(RefreshToken.source == "refresh")
        )
        assert list(claimed) == [None, None]  # the rotated tokens are unused
        assert db.session.scalar(select(func.count()).where(RefreshToken.used_at.is_not(None))) == 1


def test_a_connection_inside_a_transaction_writes_nothing(oauth_app):
    """The one statement commits itself only in autocommit; inside a transaction it would not."""
    with driver_of(oauth_app) as driver:
        redemption = checked(driver, mint(oauth_app))
        driver.execute("BEGIN")
        fast_refresh._write(driver, redemption)
        driver.rollback()
    assert not redemption.issued
    assert count(oauth_app, AccessToken) == 0


def test_the_view_that_writes_redemptions_lives_only_in_the_connection(oauth_app):
    """A TEMP view and trigger: the database file's schema (the migrations') has neither."""
    with driver_of(oauth_app) as driver:
        fast_refresh._write(driver, checked(driver, mint(oauth_app)))
        temp = driver.execute("SELECT type, name FROM sqlite_temp_master ORDER BY type").fetchall()
        main = driver.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'fast_refresh%'"
        ).fetchall()
    assert temp == [
        ("trigger", "fast_refresh_redemptions_insert"),
        ("view", "fast_refresh_redemptions"),
    ]
    assert main == []


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE refresh_tokens SET revoked_at = '2020-01-01 00:00:00.000000'",
        "UPDATE users SET is_disabled = 1",
        "UPDATE client_applications SET secret_hash = 'replaced'",
        "INSERT INTO client_faults (client_application_id, mode, remaining, delay_seconds, "
        "created_at) SELECT id, 'invalid_grant', 1, 0, '2026-01-01 00:00:00.000000' "
        "FROM client_applications",
    ],
    ids=["token revoked", "user disabled", "secret replaced", "fault armed"],
)
def test_a_change_between_the_check_and_the_write_stops_the_write(oauth_app, change):
    """The write's guard repeats the checks another request could have undone meanwhile."""
    raw = mint(oauth_app)
    tokens_before = count(oauth_app, RefreshToken)
    with driver_of(oauth_app) as driver:
        redemption = checked(driver, raw)
        assert redemption is not None
        with oauth_app.app_context():
            db.session.execute(text(change))
            db.session.commit()
        fast_refresh._write(driver, redemption)
    assert not redemption.issued
    assert count(oauth_app, RefreshToken) == tokens_before
    assert count(oauth_app, AccessToken) == 0


def test_a_failed_write_writes_nothing_and_leaves_the_request_to_the_general_path(oauth_app):
    """One statement, one transaction: the refresh token is not kept without its access token."""
    with driver_of(oauth_app) as driver:
        redemption = checked(driver, mint(oauth_app))
        tokens_before = count(oauth_app, RefreshToken)
        redemption.access["user_id"] = None  # the access token cannot be stored
        with pytest.raises(sqlite3.IntegrityError):
            fast_refresh._write(driver, redemption)
    assert not redemption.issued
    assert count(oauth_app, RefreshToken) == tokens_before  # the rotated token rolled back
    assert count(oauth_app, AccessToken) == 0


def test_a_failed_write_answers_through_the_general_path(oauth_app, monkeypatch):
    """redeem() gives None on a database error in the write, so Flask's path answers."""
    raw = mint(oauth_app)

    def failing_write(driver, redemption):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(fast_refresh, "_write", failing_write)
    with oauth_app.test_request_context():
        assert fast_refresh.redeem("MyApp", SECRET, raw, strict=False) is None
    answer = oauth_app.test_client().post("/token", data=refresh_form(raw))
    assert answer.status_code == 200  # written by the general path
    assert count(oauth_app, AccessToken) == 1


def test_concurrent_redemptions_all_succeed(oauth_app, monkeypatch):
    """Eight threads at once through the fast path: every one answered, nothing lost."""
    raws = [mint(oauth_app) for _ in range(8)]
    writes = []
    real_write = fast_refresh._write

    def counting_write(driver, redemption):
        real_write(driver, redemption)
        writes.append(redemption.issued)

    monkeypatch.setattr(fast_refresh, "_write", counting_write)
    start = threading.Barrier(len(raws))
    results = []

    def redeem_one(raw):
        start.wait()
        results.append(oauth_app.test_client().post("/token", data=refresh_form(raw)).status_code)

    threads = [threading.Thread(target=redeem_one, args=(raw,)) for raw in raws]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * len(raws)
    assert writes == [True] * len(raws)  # each one written by the fast path
    assert count(oauth_app, AccessToken) == len(raws)
