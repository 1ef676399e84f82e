"""The refresh grant's success path on SQLite, with the statements sent straight to the driver.

Every SSO client calls /token with the refresh grant, so this is the path `make bench` measures
(README.md, "Speed"). Through the ORM session and SQLAlchemy's statement execution it cost about
three times the SQL itself; here the statements, written with SQLAlchemy Core and compiled once,
run on a pooled driver connection, in two steps:

1. Check, outside any write lock: one SELECT (client, armed QA fault, the token presented, its
   user, the clock's offset) on the request's connection, and the checks below in Python. The
   new tokens, their hashes, the times and the presented secret's HMAC are all computed here.
2. Write, in one statement: an INSERT into a TEMP view of the connection, whose INSTEAD OF
   trigger
       INSERTs the rotated refresh token ... SELECT ... WHERE the presented token is still
       unrevoked and unexpired, its user enabled, its client's secret unchanged, no fault armed
       (and, under strict rotation, the token unused); if it was written: [its first use only:
       UPDATEs used_at] and INSERTs the access token.
   The driver runs in autocommit, so that statement is one transaction, and one call into SQLite
   that holds the database's write lock only while it runs. Written statement by statement
   (BEGIN IMMEDIATE, INSERT, INSERT, COMMIT), each call gave up Python's GIL and had to win it
   back from the worker's other threads while holding the write lock every other writer waited
   for; queueing for that lock (database.WriterQueue) and sharing transactions between requests
   (a group commit) cost more thread hand-offs than they saved once the write was one call. The
   guard repeats step 1's checks that another request could have changed in between. The audit
   event is written behind (services/audit.py).

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
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import exists, false, insert, literal_column, or_, select, update
from sqlalchemy.dialects import sqlite

from imis_mock.database import in_session_transaction, sqlite_insert, sqlite_time
from imis_mock.extensions import db
from imis_mock.models import AccessToken, ClientApplication, ClientFault, RefreshToken, User
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
    "grant_type",
    "issued_at",
    "expires_at",
)


# The columns of the TEMP view that step 2 inserts into: the rotated refresh token's (r_), the
# access token's (a_; its refresh_token_id is the rotated token's id) and the guard's (p_) values.
_FIELDS = (
    *(f"r_{name}" for name in _REFRESH_COLUMNS),
    *(f"a_{name}" for name in _ACCESS_COLUMNS),
    "p_id",
    "p_reuse",
    "p_secret_hash",
    "p_claim_at",
)
_VIEW = "fast_refresh_redemptions"


def _new(name: str):
    return literal_column(f"NEW.{name}")


def _trigger_body() -> list:
    """What the view's INSTEAD OF trigger does for each row (one redemption), in order."""
    refresh, access = RefreshToken.__table__, AccessToken.__table__
    users, clients = User.__table__, ClientApplication.__table__
    still_valid = (
        select(refresh.c.id)
        .join(users, users.c.id == refresh.c.user_id)
        .join(clients, clients.c.id == refresh.c.client_application_id)
        .where(
            refresh.c.id == _new("p_id"),
            refresh.c.revoked_at.is_(None),
            refresh.c.expires_at > _new("r_issued_at"),
            or_(refresh.c.used_at.is_(None), _new("p_reuse") == literal_column("1")),
            users.c.is_disabled == false(),
            clients.c.secret_hash == _new("p_secret_hash"),
        )
    )
    no_fault = ~exists().where(
        ClientFault.__table__.c.client_application_id == _new("r_client_application_id")
    )
    rotated = select(*(_new(f"r_{name}") for name in _REFRESH_COLUMNS)).where(
        exists(still_valid), no_fault
    )
    rotated_row = refresh.alias("rotated")
    written = select(rotated_row.c.id).where(rotated_row.c.token_hash == _new("r_token_hash"))
    return [
        # The rotated refresh token, if the presented one may still be redeemed.
        insert(refresh).from_select(list(_REFRESH_COLUMNS), rotated),
        # Its first use (strict rotation: every use), if it was written.
        update(refresh)
        .where(
            _new("p_claim_at").is_not(None),
            refresh.c.id == _new("p_id"),
            refresh.c.used_at.is_(None),
            exists(written),
        )
        .values(used_at=_new("p_claim_at")),
        # The access token, if the rotated refresh token was written.
        insert(access).from_select(
            [*_ACCESS_COLUMNS, "refresh_token_id"],
            select(*(_new(f"a_{name}") for name in _ACCESS_COLUMNS), refresh.c.id).where(
                refresh.c.token_hash == _new("r_token_hash")
            ),
        ),
    ]


@cache
def _statements() -> dict[str, tuple[str, dict]]:
    """Compile step 1's SELECT for SQLite once: {"select": (SQL, its fixed parameters)}."""
    sql = oauth_server.REFRESH_REQUEST.compile(dialect=sqlite.dialect(paramstyle="named"))
    return {"select": (sql.string, {k: v for k, v in sql.params.items() if v is not None})}


@cache
def _view_ddl() -> tuple[str, str]:
    """CREATE the TEMP view that step 2 inserts into, and its INSTEAD OF INSERT trigger."""
    dialect = sqlite.dialect()
    body = "; ".join(
        str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        for statement in _trigger_body()
    )
    columns = ", ".join(f"NULL AS {name}" for name in _FIELDS)
    return (
        f"CREATE TEMP VIEW IF NOT EXISTS {_VIEW} AS SELECT {columns} WHERE 0",
        f"CREATE TEMP TRIGGER IF NOT EXISTS {_VIEW}_insert INSTEAD OF INSERT ON {_VIEW} "
        f"BEGIN {body}; END",
    )


# Step 2's statement.
_INSERT = sqlite_insert(_VIEW, _FIELDS)


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


def redeem(
    client_id: str, secret: str, raw: str, *, strict: bool, ip: str | None = None
) -> dict | None:
    """Redeem a refresh token if the request will succeed; commit and return the body, or None.

    `ip` is the caller's address for the audit event (default: the current request's).
    """
    sql = _statements()
    connection = db.engine.raw_connection()
    try:
        redemption = _check(connection.driver_connection, sql, client_id, secret, raw, strict)
        if redemption is None:
            return None
        try:
            _write(connection.driver_connection, redemption)
        except sqlite3.Error:
            return None  # rolled back: the general path answers (a lasting outage with its 503)
    finally:
        connection.close()
    if not redemption.issued:
        return None
    row, now, new = redemption.row, redemption.now, redemption.new
    audit.defer(
        oauth_server.success_event(
            row["client_id"], row["username"], "refresh_token", new["refresh"], now, ip
        )
    )
    return oauth_server.token_response(
        new["access"], now, row["username"], row["client_id"], new["refresh"]
    )


class Redemption:
    """A redemption that passed the checks: the rows to write, and whether they were written."""

    def __init__(self, row: sqlite3.Row, now: datetime, strict: bool):
        self.row, self.now = row, now
        self.new = {"refresh": secrets.new_token(), "access": secrets.new_token()}
        expires_at = now + timedelta(minutes=row["refresh_token_lifetime"])
        if oauth_server.ROTATED_TOKEN_KEEPS_EXPIRY:
            expires_at = min(expires_at, _loaded(row["expires_at"]))
        stamp = sqlite_time(now)
        common = {"client_application_id": row["client_pk"], "user_id": row["user_id"]}
        self.refresh = {
            **common,
            "token_hash": secrets.token_hash(self.new["refresh"]),
            "family": row["family"],
            "source": "refresh",
            "issued_at": stamp,
            "expires_at": sqlite_time(expires_at),
            "p_id": row["id"],
            "p_reuse": 0 if strict else 1,
            "p_secret_hash": row["secret_hash"],
        }
        self.access = {
            **common,
            "token_hash": secrets.token_hash(self.new["access"]),
            "grant_type": "refresh_token",
            "issued_at": stamp,
            "expires_at": sqlite_time(now + tokens.ACCESS_TOKEN_LIFETIME),
        }
        # The first redemption records when the token was first used (strict rotation: always).
        self.claim = {"p_id": row["id"], "p_now": stamp} if row["used_at"] is None else None
        self.issued = False

    def values(self) -> tuple:
        """Its row of the TEMP view (_FIELDS, in order)."""
        refresh, access = self.refresh, self.access
        return (
            *(refresh[name] for name in _REFRESH_COLUMNS),
            *(access[name] for name in _ACCESS_COLUMNS),
            refresh["p_id"],
            refresh["p_reuse"],
            refresh["p_secret_hash"],
            self.claim["p_now"] if self.claim is not None else None,
        )


def _check(driver, sql: dict, client_id: str, secret: str, raw: str, strict: bool):
    """Step 1: read and check the request, outside any transaction; a Redemption, or None."""
    select_sql, fixed = sql["select"]
    params = {**fixed, "p_key": client_id.lower(), "p_hash": secrets.token_hash(raw)}
    cursor = driver.cursor()
    cursor.row_factory = sqlite3.Row
    row = cursor.execute(select_sql, params).fetchone()
    cursor.close()
    if row is None or row["fault_id"] is not None or row["id"] is None:
        return None
    if row["client_application_id"] != row["client_pk"]:
        return None
    if not hmac.compare_digest(secrets.client_secret_hash(secret), row["secret_hash"]):
        return None
    offset = row["clock_offset"]
    now = datetime.now(UTC) + (timedelta(seconds=float(offset)) if offset else timedelta(0))
    if row["revoked_at"] is not None or now >= _loaded(row["expires_at"]) or row["is_disabled"]:
        return None
    if strict and row["used_at"] is not None:
        return None
    return Redemption(row, now, strict)


def _write(driver, redemption: Redemption) -> None:
    """Step 2: write a checked redemption in one statement; mark it issued if it was written.

    The statement is its own transaction only on a driver in autocommit with no transaction open
    (as the pool hands them out); on any other, nothing is written.
    """
    if driver.in_transaction or driver.isolation_level is not None:
        return
    changes = driver.total_changes
    try:
        driver.execute(_INSERT, redemption.values())
    except sqlite3.OperationalError as error:
        if _VIEW not in str(error):
            raise
        _create_view(driver)  # this connection's first redemption
        driver.execute(_INSERT, redemption.values())
    # The trigger changes no row unless the guard let the rotated refresh token be written.
    redemption.issued = driver.total_changes > changes


def _create_view(driver) -> None:
    """Create the TEMP view and its trigger on this connection (they last as long as it)."""
    for ddl in _view_ddl():
        driver.execute(ddl)
