"""The refresh grant's success path on SQLite, with the statements sent straight to the driver.

Every SSO client calls /token with the refresh grant, so this is the path `make bench` measures
(README.md, "Speed"). Through the ORM session and SQLAlchemy's statement execution it cost about
three times the SQL itself; here the same statements, written with SQLAlchemy Core and compiled
once, run on the pooled driver connection:

    BEGIN IMMEDIATE; one SELECT (client, armed fault, token, user, clock offset);
    [the first redemption only: UPDATE used_at]; INSERT refresh token; INSERT access token;
    INSERT audit event; COMMIT

redeem() answers only a request that will succeed: a known client with the right secret, no QA
fault armed, an unexpired, unrevoked token of that client whose user is enabled, and (under strict
rotation) not redeemed before. Anything else returns None having changed nothing, and the caller
takes the general path (Authlib, services/oauth_server.py), which gives every refusal, audits it,
and serves databases other than SQLite. The rules are the same as oauth_server.refresh(): the
secret is compared in constant time, only hashes are stored, expiry uses the application clock
(its offset is read from the database in the same SELECT), and the request is audited.
"""

import sqlite3
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, insert, update
from sqlalchemy.dialects import sqlite

from imis_mock.database import writer_queue
from imis_mock.extensions import db
from imis_mock.models import AccessToken, AuditEvent, RefreshToken
from imis_mock.services import audit, oauth_server, secrets, tokens

_REFRESH_COLUMNS = (
    "token_hash",
    "client_application_id",
    "user_id",
    "family",
    "source",
    "issued_at",
    "expires_at",
)
_ACCESS_COLUMNS = (
    "token_hash",
    "client_application_id",
    "user_id",
    "refresh_token_id",
    "grant_type",
    "issued_at",
    "expires_at",
)
_AUDIT_COLUMNS = audit.COLUMNS


def _values(table, columns):
    return insert(table).values({name: bindparam(name) for name in columns})


@cache
def _statements() -> dict[str, tuple[str, dict]]:
    """Compile the statements for SQLite once: (SQL with :name parameters, fixed parameters)."""
    dialect = sqlite.dialect(paramstyle="named")
    refresh = RefreshToken.__table__
    statements = {
        "select": oauth_server.REFRESH_REQUEST,
        "claim": update(refresh)
        .where(refresh.c.id == bindparam("p_id"), refresh.c.used_at.is_(None))
        .values(used_at=bindparam("p_now")),
        "refresh": _values(refresh, _REFRESH_COLUMNS),
        "access": _values(AccessToken.__table__, _ACCESS_COLUMNS),
        "audit": _values(AuditEvent.__table__, _AUDIT_COLUMNS),
    }
    compiled = {}
    for name, statement in statements.items():
        sql = statement.compile(dialect=dialect)
        fixed = {k: v for k, v in sql.params.items() if v is not None}
        compiled[name] = (sql.string, fixed)
    return compiled


def _stored(moment: datetime) -> str:
    """Write a time as SQLAlchemy's SQLite DATETIME does (naive UTC, always microseconds)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _loaded(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def applies() -> bool:
    """True when the fast path can serve this request: an SQLite file and no open transaction.

    Other databases take the general path. So does a request whose ORM session already holds a
    transaction: on SQLite that holds the write lock, which this path's own connection would wait
    for.
    """
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    return not (db.session.registry.has() and db.session().in_transaction())


def redeem(client_id: str, secret: str, raw: str, *, strict: bool) -> dict | None:
    """Redeem a refresh token if the request will succeed; commit and return the body, or None."""
    sql = _statements()
    with writer_queue(db.engine).turn():
        return _redeem(sql, client_id, secret, raw, strict)


def insert_audit_event(event: dict) -> None:
    """Insert one audit event (audit.event_values()) in a transaction of its own, and commit.

    For the API's audit of every call (api/__init__.py), on SQLite when applies(): the compiled
    INSERT on the driver connection, in turn on the writers' queue, instead of the ORM session
    (whose BEGIN IMMEDIATE waits in SQLite's busy loop behind the other writers).
    """
    sql = _statements()["audit"][0]
    with writer_queue(db.engine).turn():
        connection = db.engine.raw_connection()
        try:
            driver = connection.driver_connection
            driver.execute("BEGIN IMMEDIATE")
            driver.execute(sql, {**event, "at": _stored(event["at"])})
            driver.commit()
        finally:
            if connection.driver_connection.in_transaction:
                connection.driver_connection.rollback()
            connection.close()


def _redeem(sql: dict, client_id: str, secret: str, raw: str, strict: bool) -> dict | None:
    connection = db.engine.raw_connection()
    try:
        driver = connection.driver_connection
        driver.execute("BEGIN IMMEDIATE")
        cursor = driver.cursor()
        cursor.row_factory = sqlite3.Row
        select_sql, fixed = sql["select"]
        params = {**fixed, "p_key": client_id.lower(), "p_hash": secrets.token_hash(raw)}
        row = cursor.execute(select_sql, params).fetchone()
        if row is None or row["fault_id"] is not None or row["id"] is None:
            return None
        if row["client_application_id"] != row["client_pk"]:
            return None
        if not secrets.client_secret_matches(secret, row["secret_hash"]):
            return None
        offset = row["clock_offset"]
        now = datetime.now(UTC) + (timedelta(seconds=float(offset)) if offset else timedelta(0))
        token_expires = _loaded(row["expires_at"])
        if row["revoked_at"] is not None or now >= token_expires or row["is_disabled"]:
            return None
        stamp = _stored(now)
        if row["used_at"] is None:
            cursor.execute(sql["claim"][0], {"p_id": row["id"], "p_now": stamp})
        elif strict:
            return None
        body = _issue(cursor, sql, row, now, token_expires)
        driver.commit()
        return body
    finally:
        if connection.driver_connection.in_transaction:
            connection.driver_connection.rollback()
        connection.close()


def _issue(cursor, sql, row, now: datetime, token_expires: datetime) -> dict:
    """Insert the rotated refresh token, the access token and the audit event; return the body."""
    expires_at = now + timedelta(minutes=row["refresh_token_lifetime"])
    if oauth_server.ROTATED_TOKEN_KEEPS_EXPIRY:
        expires_at = min(expires_at, token_expires)
    refresh_raw, access_raw = secrets.new_token(), secrets.new_token()
    stamp = _stored(now)
    common = {"client_application_id": row["client_pk"], "user_id": row["user_id"]}
    cursor.execute(
        sql["refresh"][0],
        {
            **common,
            "token_hash": secrets.token_hash(refresh_raw),
            "family": row["family"],
            "source": "refresh",
            "issued_at": stamp,
            "expires_at": _stored(expires_at),
        },
    )
    cursor.execute(
        sql["access"][0],
        {
            **common,
            "token_hash": secrets.token_hash(access_raw),
            "refresh_token_id": cursor.lastrowid,
            "grant_type": "refresh_token",
            "issued_at": stamp,
            "expires_at": _stored(now + tokens.ACCESS_TOKEN_LIFETIME),
        },
    )
    event = oauth_server.success_event(
        row["client_id"], row["username"], "refresh_token", refresh_raw, now
    )
    event["at"] = stamp
    cursor.execute(sql["audit"][0], event)
    return oauth_server.token_response(
        access_raw, now, row["username"], row["client_id"], refresh_raw
    )
