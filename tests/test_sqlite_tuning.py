"""Transactions and the write-ahead log on SQLite (imis_mock/database.py): reads take no lock,
writing() and unsafe requests take the write lock from their start, the log stays bounded."""

import os
import secrets
import sqlite3

import pytest

from imis_mock.database import WAL_SIZE_LIMIT, writing
from imis_mock.extensions import db
from imis_mock.models import AppSetting

pytestmark = pytest.mark.database("sqlite", reason="SQLite's write lock and its log")


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


def test_reads_take_no_lock(app):
    with app.test_request_context("/", method="GET"):
        app.preprocess_request()
        db.session.execute(db.select(db.literal(1)))
        assert db.session().in_transaction()
        assert write_lock_is_free(app)
        db.session.rollback()


def test_a_write_request_takes_the_lock_from_its_first_statement(app):
    with app.test_request_context("/SignIn", method="POST"):
        app.preprocess_request()
        db.session.execute(db.select(db.literal(1)))
        assert not write_lock_is_free(app)
        db.session.rollback()


def test_writing_takes_the_lock_first_and_commits_at_its_end(app):
    with app.app_context():
        db.session.execute(db.select(db.literal(1)))  # a reader's transaction, ended first
        with writing():
            assert not write_lock_is_free(app)
            db.session.add(AppSetting(key="written", value="1"))
        assert write_lock_is_free(app)
        assert not db.session().in_transaction()
        assert db.session.get(AppSetting, "written").value == "1"


def test_writing_rolls_back_when_its_block_raises(app):
    with app.app_context():
        with pytest.raises(RuntimeError), writing():
            db.session.add(AppSetting(key="dropped", value="1"))
            raise RuntimeError("no")
        assert write_lock_is_free(app)
        assert db.session.get(AppSetting, "dropped") is None


def test_the_log_is_checkpointed_by_sqlite_itself_and_stays_bounded(app):
    """SQLite's own checkpoint runs in the commits: no thread of the app is needed for it."""
    with app.app_context():
        assert db.session.execute(db.text("PRAGMA wal_autocheckpoint")).scalar() > 0
        database = db.engine.url.database
        for _ in range(3000):  # about 4 pages each: several times the checkpoint's 1000
            with writing():
                db.session.add(AppSetting(key=secrets.token_hex(8), value="x" * 3000))
    assert os.path.getsize(f"{database}-wal") <= WAL_SIZE_LIMIT
    reader = sqlite3.connect(database, isolation_level=None)
    try:
        pages = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    finally:
        reader.close()
    assert pages < 2000  # the log started again from its beginning, more than once
