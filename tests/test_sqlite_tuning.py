"""SQLite tuning in imis_mock/database.py: the writers' queue, read-only transactions and the
background checkpoints."""

import secrets
import sqlite3
import threading

import pytest

from imis_mock.database import Checkpointer, begin_read_only, checkpointer, writer_queue
from imis_mock.extensions import db

pytestmark = pytest.mark.database("sqlite", reason="SQLite's write lock and its writers' queue")


def write_lock_is_free(app) -> bool:
    """Try to take SQLite's write lock from another connection, without waiting."""
    other = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_transactions_take_the_write_lock_unless_read_only(app):
    with app.app_context():
        db.session.execute(db.select(db.literal(1)))
        assert not write_lock_is_free(app)
        db.session.rollback()
        begin_read_only(db.session())
        db.session.execute(db.select(db.literal(1)))
        assert write_lock_is_free(app)
        db.session.rollback()
        db.session.execute(db.select(db.literal(1)))  # the next transaction is a normal one
        assert not write_lock_is_free(app)
        db.session.rollback()


def test_writers_take_turns(app):
    with app.app_context():
        queue = writer_queue(db.engine)
    inside, waiting, entered, leave = [], threading.Event(), threading.Event(), threading.Event()

    def second_writer():
        waiting.set()
        with queue.turn():
            inside.append("second")
            entered.set()

    with queue.turn():
        inside.append("first")
        thread = threading.Thread(target=second_writer)
        thread.start()
        waiting.wait()
        assert not entered.wait(0.2)  # still the first writer's turn
        leave.set()
    assert entered.wait(30)
    thread.join()
    assert inside == ["first", "second"]


def log_pages(database: str) -> int:
    """Pages in the write-ahead log's current cycle (a PASSIVE checkpoint reports them)."""
    other = sqlite3.connect(database, isolation_level=None)
    try:
        return other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    finally:
        other.close()


def write_pages(app, rows: int) -> None:
    with app.app_context():
        for _ in range(rows):
            db.session.execute(
                db.text("INSERT INTO app_settings (key, value) VALUES (:key, :value)"),
                {"key": f"filler-{secrets.token_hex(8)}", "value": "x" * 3000},
            )
            db.session.commit()


def test_app_connections_leave_checkpoints_to_the_background_thread(app):
    with app.app_context():
        assert db.session.execute(db.text("PRAGMA wal_autocheckpoint")).scalar() == 0
        database = db.engine.url.database
        db.session.rollback()
    assert database in checkpointer.databases


def test_a_long_log_is_restarted_from_the_beginning(app, monkeypatch):
    """A log written and read all the time never starts again by itself; RESTART makes it."""
    with app.app_context():
        database = db.engine.url.database
    write_pages(app, 20)
    reader = sqlite3.connect(database, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM app_settings").fetchone()  # a reader on the log
    try:
        monkeypatch.setattr(Checkpointer, "RESTART_PAGES", 10_000)
        assert checkpointer.checkpoint(database) == "passive"
        write_pages(app, 1)
        assert log_pages(database) >= 20  # copied back, yet the log goes on growing
        monkeypatch.setattr(Checkpointer, "RESTART_PAGES", 20)
        monkeypatch.setattr(Checkpointer, "BUSY_TIMEOUT_SECONDS", 0)
        assert checkpointer.checkpoint(database) == ""  # gives way while the reader is there
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    assert checkpointer.checkpoint(database) == "restart"
    write_pages(app, 1)
    assert log_pages(database) < 10  # the next writer started the log from its beginning
