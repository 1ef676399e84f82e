"""Transactions and the write-ahead log on SQLite (imis_mock/database.py): reads take no lock,
writing() and unsafe requests take the write lock from their start, the log stays bounded."""

import os
import secrets
import sqlite3
import threading
import time

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError

from imis_mock import database
from imis_mock.database import WAL_SIZE_LIMIT, CompiledSelect, writing
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


# --- Group commit (database.write_grouped) -----------------------------------------------------

_PUT_SETTING = CompiledSelect(insert(AppSetting.__table__), column_keys=["key", "value"])


def test_grouped_writes_commit_together_and_fail_alone(app):
    """Threads that arrive while a group is written share the next transaction; a job that
    raises loses its own statements only, and gets its exception; the others are committed."""
    release, arrived = threading.Event(), threading.Semaphore(0)
    outcomes: dict[int, object] = {}

    def job(index: int):
        def work(write):
            write.execute(_PUT_SETTING, key=f"grouped-{index}", value=str(index))
            if index == 0:
                release.wait(10)  # the first group stays open while the others queue
            if index % 2:
                raise ValueError(f"job {index} refused")
            return write

        return work

    def run(index: int):
        with app.app_context():
            if index:
                arrived.release()
            try:
                outcomes[index] = database.write_grouped(job(index))
            except ValueError as error:
                outcomes[index] = str(error)

    first = threading.Thread(target=run, args=(0,))
    first.start()
    others = [threading.Thread(target=run, args=(i,)) for i in range(1, 6)]
    for thread in others:
        thread.start()
    for _ in others:
        assert arrived.acquire(timeout=10)
    time.sleep(0.2)  # let them reach the queue
    release.set()
    for thread in [first, *others]:
        thread.join(10)
    with app.app_context():
        stored = db.session.scalars(
            select(AppSetting.key).where(AppSetting.key.startswith("grouped-"))
        ).all()
    assert sorted(stored) == ["grouped-0", "grouped-2", "grouped-4"]
    assert outcomes[1] == "job 1 refused" and outcomes[5] == "job 5 refused"
    # Jobs 2 and 4 queued behind the open group and were written in one transaction.
    assert outcomes[2] is outcomes[4] and outcomes[2] is not outcomes[0]


def test_a_grouped_job_alone_that_raises_keeps_nothing(app):
    """A job alone in its group runs without a savepoint: its exception, itself, is raised, and
    its statements are rolled back with the transaction."""

    def work(write):
        write.execute(_PUT_SETTING, key="grouped-alone", value="x")
        raise ValueError("refused alone")

    with app.app_context():
        with pytest.raises(ValueError, match="refused alone"):
            database.write_grouped(work)
        assert db.session.get(AppSetting, "grouped-alone") is None
        assert database.write_grouped(lambda write: "next") == "next"


def test_a_failed_commit_is_every_grouped_jobs(app, monkeypatch):
    """When the group's transaction cannot be written, no job's statements are kept."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    with app.app_context():
        path = db.engine.url.database
        db.engine.dispose()  # new connections get the short busy timeout
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with app.app_context(), pytest.raises(OperationalError):
            database.write_grouped(
                lambda write: write.execute(_PUT_SETTING, key="grouped-x", value="x")
            )
    finally:
        other.execute("ROLLBACK")
        other.close()
    with app.app_context():
        assert db.session.get(AppSetting, "grouped-x") is None
