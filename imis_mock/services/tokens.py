"""Issue, find and revoke OAuth 2 tokens. Only hashes are stored; expiry uses the app clock."""

from datetime import timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from imis_mock.extensions import db
from imis_mock.models import AccessToken, ClientApplication, RefreshToken, User
from imis_mock.services import clock, secrets

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


# The bearer check runs on every API call: the token, its user and client, and the clock's offset
# come back in one statement, built once.
_ACCESS_BY_HASH = (
    select(AccessToken, clock.OFFSET_COLUMN)
    .options(joinedload(AccessToken.user), joinedload(AccessToken.client))
    .where(AccessToken.token_hash == bindparam("p_hash"))
)


def find_access_token(raw: str) -> AccessToken | None:
    """Return the access token with its user and client loaded, or None."""
    row = db.session.execute(_ACCESS_BY_HASH, {"p_hash": secrets.token_hash(raw)}).first()
    if row is None:
        return None
    clock.remember_offset(row.clock_offset)
    return row.AccessToken


def token_is_usable(token: AccessToken | RefreshToken) -> bool:
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


def count_active_refresh_tokens(client: ClientApplication) -> int:
    return (
        db.session.scalar(
            select(func.count(RefreshToken.id)).where(
                RefreshToken.client_application_id == client.id,
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > clock.now(),
            )
        )
        or 0
    )
