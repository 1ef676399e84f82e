"""The refresh grant's writes alone: `make bench`'s `floor` case, beside the `refresh` case.

A Flask app on the mock's own database (a scratch instance that bench/run.py prepared: the
schema of the migrations, the demo data) that answers `POST /token` with what a redemption
writes there: the token's read, then one write transaction (the claim, a new refresh token and an
access token, with the tables' indexes), taken in turn as the mock takes it (a thread lock, then
an flock() beside the database), on `sqlite3` with the mock's pragmas. No client check, no rule,
no audit, no SQLAlchemy: what SQLite and the server cost for one redemption, served as `make run`
serves the mock. Every request claims the same token, so the claim is an update, not a refusal.
"""

import fcntl
import hashlib
import json
import os
import secrets
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

from flask import Flask, Response, request

DATABASE = os.path.join(os.environ["IMIS_INSTANCE_PATH"], "imis.db")
TOKEN = "floor-refresh-token"

app = Flask(__name__)
_local = threading.local()
_turn = threading.Lock()


def _connection() -> sqlite3.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(DATABASE, isolation_level=None, check_same_thread=False)
        for pragma in ("busy_timeout = 5000", "synchronous = NORMAL", "foreign_keys = ON"):
            connection.execute(f"PRAGMA {pragma}")
        _local.connection = connection
    return connection


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _text(moment: datetime) -> str:
    """A date as the mock's columns store it on SQLite (SQLAlchemy's text)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _seed() -> None:
    """The token every request presents, for the demo's first user and client application."""
    connection = _connection()
    user = connection.execute("SELECT min(id) FROM users").fetchone()[0]
    client = connection.execute("SELECT min(id) FROM client_applications").fetchone()[0]
    now = _now()
    connection.execute(
        "INSERT OR IGNORE INTO refresh_tokens (token_hash, client_application_id, user_id, family,"
        " source, issued_at, expires_at) VALUES (?, ?, ?, 'floor', 'sso', ?, ?)",
        (_digest(TOKEN), client, user, _text(now), _text(now + timedelta(days=1))),
    )


_seed()
_writers = os.open(f"{DATABASE}.writers", os.O_RDWR | os.O_CREAT)


@app.post("/token")
def token():
    if request.form.get("grant_type") != "refresh_token":
        return Response('{"error":"unsupported_grant_type"}', 400, content_type="application/json")
    connection = _connection()
    row = connection.execute(
        "SELECT id, client_application_id, user_id, family FROM refresh_tokens"
        " WHERE token_hash = ?",
        (_digest(request.form.get("refresh_token", "")),),
    ).fetchone()
    if row is None:
        return Response('{"error":"invalid_grant"}', 400, content_type="application/json")
    token_id, client, user, family = row
    now = _now()
    issued = _text(now)
    refresh_expiry = _text(now + timedelta(days=1))
    access_expiry = _text(now + timedelta(minutes=30))
    refresh, access = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with _turn:
        fcntl.flock(_writers, fcntl.LOCK_EX)
        try:
            connection.execute("BEGIN IMMEDIATE")
            claim = "UPDATE refresh_tokens SET used_at = ? WHERE id = ?"
            connection.execute(claim, (issued, token_id))
            new_id = connection.execute(
                "INSERT INTO refresh_tokens (token_hash, client_application_id, user_id, family,"
                " source, issued_at, expires_at) VALUES (?, ?, ?, ?, 'refresh', ?, ?)",
                (_digest(refresh), client, user, family, issued, refresh_expiry),
            ).lastrowid
            connection.execute(
                "INSERT INTO access_tokens (token_hash, client_application_id, user_id,"
                " refresh_token_id, grant_type, issued_at, expires_at)"
                " VALUES (?, ?, ?, ?, 'refresh_token', ?, ?)",
                (_digest(access), client, user, new_id, issued, access_expiry),
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            fcntl.flock(_writers, fcntl.LOCK_UN)
    body = {"access_token": access, "token_type": "bearer", "expires_in": 1799}
    return Response(
        json.dumps({**body, "refresh_token": refresh}),
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        content_type="application/json;charset=UTF-8",
    )
