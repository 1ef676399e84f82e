"""Audit events written behind (services/audit.py): successful /token requests and API calls."""

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from imis_mock.extensions import db
from imis_mock.models import AuditEvent
from imis_mock.services import accounts, audit, tokens
from tests.support import databases
from tests.support.apps import make_app
from tests.support.servers import ROOT


def event(action: str = "api.call", username: str = "jsmith") -> dict:
    return audit.event_values(action, "success", actor=username, username=username)


def count(app, action: str = "api.call") -> int:
    with app.app_context():
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        return db.session.scalar(query)


@pytest.fixture
def slow_writer(monkeypatch):
    """A writer that waits for flush() (or a full batch), so tests see the queue in between."""
    monkeypatch.setattr(audit.WriteBehind, "LINGER_SECONDS", 60)


def test_deferred_events_are_written_in_one_batch_when_flushed(app, slow_writer, monkeypatch):
    batches = []
    real_write = audit.write_batch

    def counting(engine, events):
        batches.append(len(events))
        real_write(engine, events)

    monkeypatch.setattr(audit, "write_batch", counting)
    with app.test_request_context():
        for name in ("jsmith", "rjones", "apatel"):
            audit.defer(event(username=name))
    assert count(app) == 0  # still queued: the writer lets a batch gather
    assert audit.flush()
    assert count(app) == 3
    assert batches == [3]


def test_without_write_behind_each_event_is_written_in_its_request(
    instance, monkeypatch, slow_writer
):
    app = make_app(instance, monkeypatch, AUDIT_WRITE_BEHIND=False)
    with app.test_request_context():
        audit.defer(event())
    assert count(app) == 1  # no flush needed


def test_an_api_call_is_audited_behind_its_answer(client, app, slow_writer):
    with app.app_context():
        user = accounts.get_user("jsmith")
        token, _ = tokens.issue_access_token(user, None, grant_type="password")
        db.session.commit()
    answer = client.get("/api/Party/23179", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert count(app) == 0
    audit.flush()
    assert count(app) == 1


def test_a_batch_that_meets_an_outage_is_retried(app, slow_writer, monkeypatch):
    monkeypatch.setattr(audit.WriteBehind, "RETRY_SECONDS", (0, 0))
    real_write, failures = audit.write_batch, []

    def flaky(engine, events):
        if len(failures) < 2:
            failures.append(1)
            raise OperationalError("INSERT", {}, Exception("database is unavailable"))
        real_write(engine, events)

    monkeypatch.setattr(audit, "write_batch", flaky)
    with app.test_request_context():
        audit.defer(event())
    assert audit.flush()
    assert len(failures) == 2 and count(app) == 1


def test_a_batch_is_dropped_with_an_error_after_the_retries(app, slow_writer, monkeypatch, caplog):
    monkeypatch.setattr(audit.WriteBehind, "RETRY_SECONDS", (0,))

    def down(engine, events):
        raise OperationalError("INSERT", {}, Exception("database is unavailable"))

    monkeypatch.setattr(audit, "write_batch", down)
    with app.test_request_context(), caplog.at_level(logging.ERROR):
        audit.defer(event())
        assert audit.flush()  # the writer carries on
    assert "Dropped 1 audit events" in caplog.text
    monkeypatch.undo()
    with app.test_request_context():
        audit.defer(event())  # the next batch is written as usual
    assert audit.flush() and count(app) == 1


def test_events_still_queued_are_written_when_the_process_exits(instance):
    """A normal exit (a server worker on SIGTERM, the end of a CLI command) writes the queue."""
    script = textwrap.dedent(
        """
        from imis_mock import create_app
        from imis_mock.services import accounts, audit, clock, tokens
        audit.WriteBehind.LINGER_SECONDS = 600
        app = create_app()
        with app.test_request_context():
            for _ in range(5):
                audit.defer(audit.event_values("api.call", "success"))
        """
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, **databases.instance_env(instance)},
        check=True,
        timeout=120,
    )
    app = make_app(instance, pytest.MonkeyPatch())
    assert count(app) == 5


def test_the_qa_activity_page_shows_events_written_behind(app, staff_client, slow_writer):
    """The page flushes its worker's queue (after ending its own transaction, whose SQLite write
    lock the writer needs: holding it made the page wait 10 s and the events get dropped)."""
    with app.app_context():
        user = accounts.get_user("jsmith")
        token, _ = tokens.issue_access_token(user, None, grant_type="password")
        db.session.commit()
    answer = app.test_client().get("/api/Party/23179", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    rows = staff_client.get("/staff/QA/Activity.json").get_json()
    assert [(r["action"], r["user"]) for r in rows][:1] == [("api.call", "jsmith")]


def test_a_locked_database_is_retried_like_an_outage(app, slow_writer, monkeypatch):
    """SQLite's own "database is locked" (raised by the driver, not SQLAlchemy) is retried."""
    monkeypatch.setattr(audit.WriteBehind, "RETRY_SECONDS", (0,))
    real_write, failures = audit.write_batch, []

    def locked_once(engine, events):
        if not failures:
            failures.append(1)
            raise sqlite3.OperationalError("database is locked")
        real_write(engine, events)

    monkeypatch.setattr(audit, "write_batch", locked_once)
    with app.test_request_context():
        audit.defer(event())
    assert audit.flush()
    assert failures == [1] and count(app) == 1


def stored_events(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(e.at, e.actor, e.action, e.outcome, e.username, e.ip, e.detail) for e in rows]


def test_a_batch_is_stored_with_every_value_as_the_orm_stores_it(app):
    with app.test_request_context():
        events = [
            audit.event_values(
                "api.call",
                "success",
                actor=f"user{n}",
                username=f"user{n}",
                detail={"n": n},
                ip=f"10.0.0.{n}",
            )
            for n in range(3)
        ]
        db.session.rollback()  # the clock's read; the writer thread has no transaction open
        audit.write_batch(db.engine, events)
    expected = [
        (e["at"], e["actor"], e["action"], e["outcome"], e["username"], e["ip"], e["detail"])
        for e in events
    ]
    assert stored_events(app)[-3:] == expected
