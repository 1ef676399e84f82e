"""SQLite tuning in imis_mock/database.py: the writers' queue and read-only transactions."""

import sqlite3
import threading

import pytest

from imis_mock.database import begin_read_only, writer_queue
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
