"""The rules of iMIS's /token endpoint: which grants succeed, what they issue, what is recorded.

No request in here: imis_mock/oauth/server.py (Authlib) parses the request, authenticates the client
and calls these functions; they raise TokenError for the refusals that are theirs to decide.

Refresh-token rotation. Every refresh response carries a new refresh token in the same family.
- Default (STRICT_REFRESH_TOKEN_ROTATION = False), iMIS's behaviour as far as it is known: the
  presented token stays valid until its own expiry, so a client may redeem it again.
- Strict: a token can be redeemed once; presenting it again is refused and revokes every token of
  its family (the refresh tokens and the access tokens minted from them), as RFC 9700 §4.14.2 says.
The rotated token keeps the expiry of the token it replaces (ROTATED_TOKEN_KEEPS_EXPIRY): iMIS
says the user must come back to iMIS when "the refresh token" expires, so refreshing must not
stretch a hand-off's lifetime beyond the client's "Refresh token lifetime (minutes)".
"""

from datetime import datetime, timedelta
from email.utils import format_datetime

from flask import current_app
from sqlalchemy import Row, bindparam, insert, select, update

from imis_mock.extensions import db
from imis_mock.models import AccessToken, ClientApplication, ClientFault, RefreshToken, User
from imis_mock.services import audit, clock, secrets, tokens

ACTION = "oauth.token"
# OWIN reports the seconds left, truncated, just after issuing: 20 minutes shows as 1199.
EXPIRES_IN = int(tokens.ACCESS_TOKEN_LIFETIME.total_seconds()) - 1
ROTATED_TOKEN_KEEPS_EXPIRY = True


class TokenError(Exception):
    """A token request refused by the rules: an OAuth 2 error code and a safe description."""

    def __init__(self, error: str, description: str):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


def strict_rotation() -> bool:
    return bool(current_app.config["STRICT_REFRESH_TOKEN_ROTATION"])


def find_client(client_id: str) -> ClientApplication | None:
    """Return the client application with this Client ID, in any letter case."""
    return db.session.scalar(
        select(ClientApplication).where(ClientApplication.client_id_key == client_id.lower())
    )


# /token runs on every SSO client's request, so its statements are built once, here, from the
# tables (no ORM objects to build, flush and expire, no statement to compile per request); see
# "Speed" in README.md.
_clients = ClientApplication.__table__
_refresh = RefreshToken.__table__
_access = AccessToken.__table__
_users = User.__table__
_faults = ClientFault.__table__
_CLIENT_BY_KEY = select(
    _clients.c.id, _clients.c.client_id, _clients.c.secret_hash, _clients.c.refresh_token_lifetime
).where(_clients.c.client_id_key == bindparam("p_key"))
_REFRESH_BY_HASH = (
    select(
        _refresh.c.id,
        _refresh.c.client_application_id,
        _refresh.c.family,
        _refresh.c.expires_at,
        _refresh.c.used_at,
        _refresh.c.revoked_at,
        _refresh.c.user_id,
        _users.c.username,
        _users.c.is_disabled,
    )
    .join_from(_refresh, _users, _users.c.id == _refresh.c.user_id)
    .where(_refresh.c.token_hash == bindparam("p_hash"))
)
# Everything a refresh request needs, in one statement: the client, whether a QA fault is armed
# for it, the token presented with its user, and the application clock's offset. Used by the
# SQLite fast path (services/fast_refresh.py).
REFRESH_REQUEST = (
    select(
        _clients.c.id.label("client_pk"),
        _clients.c.client_id,
        _clients.c.secret_hash,
        _clients.c.refresh_token_lifetime,
        _faults.c.id.label("fault_id"),
        *_REFRESH_BY_HASH.selected_columns,
        clock.OFFSET_COLUMN,
    )
    .select_from(_clients)
    .outerjoin(_faults, _faults.c.client_application_id == _clients.c.id)
    .outerjoin(_refresh, _refresh.c.token_hash == bindparam("p_hash"))
    .outerjoin(_users, _users.c.id == _refresh.c.user_id)
    .where(_clients.c.client_id_key == bindparam("p_key"))
)
_CLAIM = (
    update(_refresh)
    .where(_refresh.c.id == bindparam("p_id"), _refresh.c.used_at.is_(None))
    .values(used_at=bindparam("p_now"))
)
_INSERT_REFRESH = insert(_refresh)
_INSERT_ACCESS = insert(_access)


def find_client_credentials(client_id: str) -> Row | None:
    """Return (id, client_id, secret_hash, refresh_token_lifetime) of a client, in any case."""
    return _connection().execute(_CLIENT_BY_KEY, {"p_key": client_id.lower()}).first()


def client_secret_matches(client: Row, secret: str) -> bool:
    return secrets.client_secret_matches(secret, client.secret_hash)


def find_refresh_token(raw: str) -> Row | None:
    """Return the refresh token presented (with its user's name and state), or None."""
    return _connection().execute(_REFRESH_BY_HASH, {"p_hash": secrets.token_hash(raw)}).first()


def refresh(token: Row, client: Row) -> dict:
    """Redeem a refresh token presented by its authenticated client; commit and return the body.

    The caller has checked that the token belongs to this client.
    """
    now = clock.now()
    if token.revoked_at is not None or now >= token.expires_at or token.is_disabled:
        raise TokenError("invalid_grant", "The refresh token is invalid or has expired.")
    connection = _connection()
    if strict_rotation() or token.used_at is None:
        # The conditional UPDATE makes exactly one of several concurrent redemptions win.
        claimed = connection.execute(_CLAIM, {"p_id": token.id, "p_now": now}).rowcount
        if claimed != 1 and strict_rotation():
            revoke_family(token.family)
            raise TokenError("invalid_grant", "The refresh token has already been used.")
    expires_at = now + timedelta(minutes=client.refresh_token_lifetime)
    if ROTATED_TOKEN_KEEPS_EXPIRY:
        expires_at = min(expires_at, token.expires_at)
    refresh_raw, refresh_id = _insert_refresh_token(
        token.user_id,
        client.id,
        family=token.family,
        source="refresh",
        now=now,
        expires_at=expires_at,
    )
    access_raw = _insert_access_token(token.user_id, client.id, "refresh_token", refresh_id, now)
    db.session.commit()
    _audit_success(client.client_id, token.username, "refresh_token", refresh_raw, now)
    return token_response(access_raw, now, token.username, client.client_id, refresh_raw)


def password(user: User, client: Row | None) -> dict:
    """Issue tokens for a user who gave the right password; commit and return the body.

    iMIS needs no client for this grant. Without one there is no refresh token (a refresh token is
    redeemed by its client) and no `as:client_id`; with an authenticated client there are both.
    """
    now = clock.now()
    refresh_raw = refresh_id = None
    if client is not None:
        refresh_raw, refresh_id = _insert_refresh_token(
            user.id,
            client.id,
            family=secrets.new_token()[:32],
            source="password",
            now=now,
            expires_at=now + timedelta(minutes=client.refresh_token_lifetime),
        )
    client_pk = client.id if client else None
    access_raw = _insert_access_token(user.id, client_pk, "password", refresh_id, now)
    client_id = client.client_id if client else ""
    db.session.commit()
    _audit_success(client_id, user.username, "password", refresh_raw, now)
    return token_response(access_raw, now, user.username, client_id or None, refresh_raw)


def _connection():
    return db.session.connection()


def _insert_refresh_token(
    user_id: int, client_pk: int, *, family: str, source: str, now: datetime, expires_at: datetime
) -> tuple[str, int]:
    raw = secrets.new_token()
    result = _connection().execute(
        _INSERT_REFRESH,
        {
            "token_hash": secrets.token_hash(raw),
            "client_application_id": client_pk,
            "user_id": user_id,
            "family": family,
            "source": source,
            "issued_at": now,
            "expires_at": expires_at,
        },
    )
    return raw, result.inserted_primary_key[0]


def _insert_access_token(
    user_id: int, client_pk: int | None, grant_type: str, refresh_id: int | None, now: datetime
) -> str:
    raw = secrets.new_token()
    _connection().execute(
        _INSERT_ACCESS,
        {
            "token_hash": secrets.token_hash(raw),
            "client_application_id": client_pk,
            "user_id": user_id,
            "refresh_token_id": refresh_id,
            "grant_type": grant_type,
            "issued_at": now,
            "expires_at": now + tokens.ACCESS_TOKEN_LIFETIME,
        },
    )
    return raw


def _audit_success(
    client_id: str, username: str, grant_type: str, refresh_raw: str | None, now: datetime
) -> None:
    """Audit a token request that succeeded, once its tokens are committed: written behind."""
    audit.defer(success_event(client_id, username, grant_type, refresh_raw, now))


def success_event(
    client_id: str,
    username: str,
    grant_type: str,
    refresh_raw: str | None,
    now: datetime,
    ip: str | None = None,
) -> dict:
    """Return the audit row of a successful token request (the refresh token as a fingerprint)."""
    detail = {"grant_type": grant_type}
    if refresh_raw:
        detail["refresh_token"] = secrets.fingerprint(refresh_raw)
    return audit.event_values(
        ACTION,
        "success",
        at=now,
        actor=client_id or username,
        client_id=client_id,
        username=username,
        detail=detail,
        ip=ip,
    )


def revoke_family(family: str) -> None:
    """Revoke every refresh token of a family and the access tokens minted from them."""
    now = clock.now()
    members = select(RefreshToken.id).where(RefreshToken.family == family)
    # Lock the family's rows in one order first: concurrent reuses of one token then revoke the
    # family one after another instead of deadlocking on PostgreSQL (SQLite has one writer).
    _connection().execute(members.order_by(RefreshToken.id).with_for_update())
    _connection().execute(
        update(AccessToken)
        .where(AccessToken.refresh_token_id.in_(members), AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    _connection().execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def record_failure(error: str, *, grant_type: str, client_id: str = "", username: str = "") -> None:
    """Record a refused token request (with whatever the rules already changed) and commit."""
    audit.insert_event(
        ACTION,
        "failure",
        actor=client_id or username,
        client_id=client_id,
        username=username,
        error_code=error,
        detail={"grant_type": grant_type[:40]},
    )
    db.session.commit()


def record_fault(mode: str, *, grant_type: str, client_id: str) -> None:
    """Record a /token answer changed by the QA console's fault injection, and commit."""
    audit.insert_event(
        ACTION,
        "success" if mode == "delay" else "failure",
        actor=client_id,
        client_id=client_id,
        error_code="" if mode == "delay" else mode,
        detail={"grant_type": grant_type[:40], "injected_fault": mode},
    )
    db.session.commit()


def http_date(moment: datetime) -> str:
    """Format a time as OWIN writes `.issued` and `.expires`: RFC 1123, in GMT."""
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


def token_response(
    access_raw: str, issued: datetime, username: str, client_id: str | None, refresh_raw: str | None
) -> dict:
    """Build the success body in OWIN's field order."""
    body: dict = {"access_token": access_raw, "token_type": "bearer", "expires_in": EXPIRES_IN}
    if refresh_raw is not None:
        body["refresh_token"] = refresh_raw
    body["userName"] = username
    if client_id is not None:
        body["as:client_id"] = client_id
    body[".issued"] = http_date(issued)
    body[".expires"] = http_date(issued + tokens.ACCESS_TOKEN_LIFETIME)
    return body
