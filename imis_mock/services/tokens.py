"""Issue, find and revoke OAuth 2 tokens. Only hashes are stored; expiry uses the app clock."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, bindparam, func, select, update

from imis_mock.database import CompiledSelect
from imis_mock.extensions import db
from imis_mock.models import AccessToken, ClientApplication, RefreshToken, User
from imis_mock.services import clock, secrets
from imis_mock.services.accounts import UserRecord

# iMIS access tokens live 20 minutes; iMIS reports expires_in 1199.
ACCESS_TOKEN_LIFETIME = timedelta(minutes=20)


def issue_refresh_token(
    user: User, client: ClientApplication, *, source: str, family: str | None = None
) -> tuple[str, RefreshToken]:
    """Mint a refresh token for the user and client; return the plain token once. Caller commits."""
    raw = secrets.new_token()
    now = clock.now()
    record = RefreshToken(
        token_hash=secrets.token_hash(raw),
        client_application_id=client.id,
        user_id=user.id,
        family=family or secrets.new_token()[:32],
        source=source,
        issued_at=now,
        expires_at=now + timedelta(minutes=client.refresh_token_lifetime),
    )
    db.session.add(record)
    return raw, record


def issue_access_token(
    user: User,
    client: ClientApplication | None,
    *,
    grant_type: str,
    refresh_token: RefreshToken | None = None,
) -> tuple[str, AccessToken]:
    """Mint a 20-minute access token; return the plain token once. The caller commits."""
    raw = secrets.new_token()
    now = clock.now()
    record = AccessToken(
        token_hash=secrets.token_hash(raw),
        client_application_id=client.id if client else None,
        user_id=user.id,
        refresh_token_id=refresh_token.id if refresh_token else None,
        grant_type=grant_type,
        issued_at=now,
        expires_at=now + ACCESS_TOKEN_LIFETIME,
    )
    db.session.add(record)
    return raw, record


def find_refresh_token(raw: str) -> RefreshToken | None:
    return db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == secrets.token_hash(raw))
    )


def find_access_token(raw: str) -> AccessToken | None:
    """Return the access token row (for the QA console and tools; the bearer check below)."""
    return db.session.scalar(
        select(AccessToken).where(AccessToken.token_hash == secrets.token_hash(raw))
    )


@dataclass(frozen=True, slots=True)
class BearerToken:
    """An access token as the bearer check reads it: plain values, its user as a UserRecord.

    `client_id` is the client's Client ID, "" for a token of the password grant (no client).
    token_is_usable() takes it like an AccessToken (revoked_at, expires_at, user.is_disabled).
    """

    id: int
    expires_at: datetime
    revoked_at: datetime | None
    client_id: str
    user: UserRecord


_TOKENS = AccessToken.__table__
_USERS = User.__table__
_CLIENTS = ClientApplication.__table__
# The bearer check runs on every API call. Loading the token, user and client as ORM objects cost
# more than the rest of the call, so one Core statement, compiled once, reads their plain columns
# and the clock's offset. A token whose client was deleted went with it (ON DELETE CASCADE); the
# password grant's tokens have no client.
_BEARER_BY_HASH = CompiledSelect(
    select(
        _TOKENS.c.id,
        _TOKENS.c.expires_at,
        _TOKENS.c.revoked_at,
        _CLIENTS.c.client_id,
        _USERS.c.id.label("user_id"),
        _USERS.c.username,
        _USERS.c.is_staff,
        _USERS.c.is_disabled,
        _USERS.c.is_guest,
        _USERS.c.contact_id,
        clock.OFFSET_COLUMN,
    )
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .outerjoin(_CLIENTS, _CLIENTS.c.id == _TOKENS.c.client_application_id)
    .where(_TOKENS.c.token_hash == bindparam("p_hash"))
)


def find_bearer_token(raw: str) -> BearerToken | None:
    """Return the access token with this value, for the bearer check, or None.

    Runs on the session's connection (in the request's transaction). The clock offset read with
    it is kept for the rest of the request, so the expiry check needs no second statement.
    """
    row = _BEARER_BY_HASH.first(p_hash=secrets.token_hash(raw))
    if row is None:
        return None
    clock.remember_offset(row["clock_offset"])
    user = UserRecord(
        row["user_id"],
        row["username"],
        row["is_staff"],
        row["is_disabled"],
        row["is_guest"],
        row["contact_id"],
    )
    return BearerToken(
        row["id"], row["expires_at"], row["revoked_at"], row["client_id"] or "", user
    )


def token_is_usable(token: AccessToken | RefreshToken | BearerToken) -> bool:
    """Return True if the token is unexpired, unrevoked, and its user may still sign in."""
    return (
        token.revoked_at is None and clock.now() < token.expires_at and not token.user.is_disabled
    )


# One rule for both kinds; the names say which kind a caller holds.
access_token_is_usable = refresh_token_is_usable = token_is_usable


def revoke_client_access_tokens(client: ClientApplication) -> None:
    """Revoke every access token of a client (its secret was replaced). The caller commits."""
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.client_application_id == client.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def revoke_client_tokens(client: ClientApplication) -> None:
    """Revoke every refresh and access token of a client. The caller commits."""
    revoke_client_access_tokens(client)
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.client_application_id == client.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def is_active(model: type[RefreshToken] | type[AccessToken], now: datetime) -> ColumnElement:
    """The SQL condition for a token (of either kind) that is neither revoked nor expired."""
    return and_(model.revoked_at.is_(None), model.expires_at > now)


def active_refresh_token_counts() -> dict[int, int]:
    """Return the number of active refresh tokens of every client that has any, by its id.

    One grouped query (one scan: the token table has no index by client) for the list page.
    """
    rows = db.session.execute(
        select(RefreshToken.client_application_id, func.count(RefreshToken.id))
        .where(is_active(RefreshToken, clock.now()))
        .group_by(RefreshToken.client_application_id)
    )
    return {client_id: number for client_id, number in rows}


def count_active_refresh_tokens(client: ClientApplication) -> int:
    return (
        db.session.scalar(
            select(func.count(RefreshToken.id)).where(
                RefreshToken.client_application_id == client.id,
                is_active(RefreshToken, clock.now()),
            )
        )
        or 0
    )
