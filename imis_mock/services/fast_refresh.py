"""The refresh grant's success path on SQLite, with the statements sent straight to the driver.

Every SSO client calls /token with the refresh grant, so this is the path `make bench` measures
(README.md, "Speed"). Through the ORM session and SQLAlchemy's statement execution it cost about
three times the SQL itself; here the same statements, written with SQLAlchemy Core and compiled
once, run on the pooled driver connection:

    BEGIN IMMEDIATE; one SELECT (client, armed fault, token, user, clock offset);
    [the first redemption only: UPDATE used_at]; INSERT refresh token; INSERT access token; COMMIT

The new tokens, their hashes and the presented secret's HMAC are computed before the request takes
its turn on the writers' queue, and the audit event is written behind (services/audit.py) after
the commit, so the turn holds only the SQL.

redeem() answers only a request that will succeed: a known client with the right secret, no QA
fault armed, an unexpired, unrevoked token of that client whose user is enabled, and (under strict
rotation) not redeemed before. Anything else returns None having changed nothing, and the caller
takes the general path (Authlib, services/oauth_server.py), which gives every refusal, audits it,
and serves databases other than SQLite. The rules are the same as oauth_server.refresh(): the
secret is compared in constant time, only hashes are stored, expiry uses the application clock
(its offset is read from the database in the same SELECT), and the request is audited.
"""

import hmac
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, insert, update
from sqlalchemy.dialects import sqlite

from imis_mock.database import in_session_transaction, writer_queue
from imis_mock.extensions import db
from imis_mock.models import AccessToken, RefreshToken
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
    return not in_session_transaction()


def redeem(client_id: str, secret: str, raw: str, *, strict: bool) -> dict | None:
    """Redeem a refresh token if the request will succeed; commit and return the body, or None."""
    # Everything that needs no database is done before this request's turn as the writer: the
    # other writers wait for the turn, not for our hashing.
    redemption = Redemption(
        presented={
            "p_key": client_id.lower(),
            "p_hash": secrets.token_hash(raw),
            "secret_hash": secrets.client_secret_hash(secret),
        },
        new={"refresh": secrets.new_token(), "access": secrets.new_token()},
        strict=strict,
    )
    _group(db.engine).commit(redemption)
    if redemption.issued is None:
        return None
    row, now = redemption.issued
    new = redemption.new
    audit.defer(
        oauth_server.success_event(
            row["client_id"], row["username"], "refresh_token", new["refresh"], now
        )
    )
    return oauth_server.token_response(
        new["access"], now, row["username"], row["client_id"], new["refresh"]
    )


class Redemption:
    """One request's redemption: what it presented, the tokens it will get, and the outcome."""

    def __init__(self, presented: dict, new: dict, strict: bool):
        self.presented, self.new, self.strict = presented, new, strict
        self.issued: tuple[sqlite3.Row, datetime] | None = None
        self.turn = threading.Event()
        self.leads = False


class GroupCommit:
    """Redemptions of one database and process that arrive together share one transaction.

    The first redemption to arrive leads: it takes the writers' turn, checks and inserts every
    redemption waiting at that moment in one transaction, commits, and hands the lead to the first
    of those that arrived meanwhile. Under load, one turn and one commit serve several requests,
    instead of each request waiting for a turn of its own. Each redemption is checked on its own,
    in arrival order and seeing the ones before it (a token redeemed twice in one batch under
    strict rotation: the second is refused by the general path). If the transaction fails, it is
    rolled back and every redemption in it returns None, so the general path answers each.
    """

    def __init__(self, engine):
        self.engine = engine
        self.lock = threading.Lock()
        self.waiting: list[Redemption] = []
        self.leading = False

    def commit(self, redemption: Redemption) -> None:
        with self.lock:
            self.waiting.append(redemption)
            redemption.leads = not self.leading
            self.leading = True
        if not redemption.leads:
            redemption.turn.wait()
            if not redemption.leads:
                return  # written by a leader
        with self.lock:
            batch, self.waiting = self.waiting, []
        try:
            with writer_queue(self.engine).turn():
                _write(self.engine, batch)
        except sqlite3.Error:
            pass  # rolled back: every redemption in the batch goes the general path's way
        finally:
            with self.lock:
                if self.waiting:
                    self.waiting[0].leads = True
                    self.waiting[0].turn.set()
                else:
                    self.leading = False
            for done in batch:
                if done is not redemption:
                    done.turn.set()


_groups: dict = {}
_groups_lock = threading.Lock()


def _group(engine) -> GroupCommit:
    with _groups_lock:
        if engine not in _groups:
            _groups[engine] = GroupCommit(engine)
        return _groups[engine]


def _write(engine, batch: list[Redemption]) -> None:
    """Check and insert a batch of redemptions in one transaction; set each one's outcome."""
    sql = _statements()
    connection = engine.raw_connection()
    try:
        driver = connection.driver_connection
        driver.execute("BEGIN IMMEDIATE")
        cursor = driver.cursor()
        cursor.row_factory = sqlite3.Row
        issued = [(r, _redeem(cursor, sql, r)) for r in batch]
        driver.commit()
        for redemption, outcome in issued:
            redemption.issued = outcome
    finally:
        if connection.driver_connection.in_transaction:
            connection.driver_connection.rollback()
        connection.close()


def _redeem(cursor, sql: dict, redemption: Redemption):
    """Check one token and insert its successors: (row, now), or None having written nothing."""
    presented = redemption.presented
    select_sql, fixed = sql["select"]
    params = {**fixed, "p_key": presented["p_key"], "p_hash": presented["p_hash"]}
    row = cursor.execute(select_sql, params).fetchone()
    if row is None or row["fault_id"] is not None or row["id"] is None:
        return None
    if row["client_application_id"] != row["client_pk"]:
        return None
    if not hmac.compare_digest(presented["secret_hash"], row["secret_hash"]):
        return None
    offset = row["clock_offset"]
    now = datetime.now(UTC) + (timedelta(seconds=float(offset)) if offset else timedelta(0))
    token_expires = _loaded(row["expires_at"])
    if row["revoked_at"] is not None or now >= token_expires or row["is_disabled"]:
        return None
    if row["used_at"] is None:
        cursor.execute(sql["claim"][0], {"p_id": row["id"], "p_now": _stored(now)})
    elif redemption.strict:
        return None
    _insert(cursor, sql, row, redemption.new, now, token_expires)
    return row, now


def _insert(cursor, sql, row, new: dict, now: datetime, token_expires: datetime) -> None:
    """Insert the rotated refresh token and the access token."""
    expires_at = now + timedelta(minutes=row["refresh_token_lifetime"])
    if oauth_server.ROTATED_TOKEN_KEEPS_EXPIRY:
        expires_at = min(expires_at, token_expires)
    stamp = _stored(now)
    common = {"client_application_id": row["client_pk"], "user_id": row["user_id"]}
    cursor.execute(
        sql["refresh"][0],
        {
            **common,
            "token_hash": secrets.token_hash(new["refresh"]),
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
            "token_hash": secrets.token_hash(new["access"]),
            "refresh_token_id": cursor.lastrowid,
            "grant_type": "refresh_token",
            "issued_at": stamp,
            "expires_at": _stored(now + tokens.ACCESS_TOKEN_LIFETIME),
        },
    )
