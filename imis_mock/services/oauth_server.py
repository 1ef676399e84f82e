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

from datetime import datetime
from email.utils import format_datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from imis_mock.extensions import db
from imis_mock.models import AccessToken, ClientApplication, RefreshToken, User
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


def client_secret_matches(client: ClientApplication, secret: str) -> bool:
    return secrets.client_secret_matches(secret, client.secret_hash)


def find_refresh_token(raw: str) -> RefreshToken | None:
    """Return the refresh token row for a presented token (with its user), or None."""
    return db.session.scalar(
        select(RefreshToken)
        .options(joinedload(RefreshToken.user))
        .where(RefreshToken.token_hash == secrets.token_hash(raw))
    )


def refresh(token: RefreshToken, client: ClientApplication) -> dict:
    """Redeem a refresh token presented by its authenticated client; commit and return the body.

    The caller has checked that the token belongs to this client.
    """
    if not tokens.refresh_token_is_usable(token):
        raise TokenError("invalid_grant", "The refresh token is invalid or has expired.")
    now = clock.now()
    if strict_rotation():
        # The conditional UPDATE makes exactly one of several concurrent redemptions win.
        claimed = db.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            revoke_family(token.family)
            raise TokenError("invalid_grant", "The refresh token has already been used.")
    elif token.used_at is None:
        token.used_at = now
    user = token.user
    new_raw, new_token = tokens.issue_refresh_token(
        user, client, source="refresh", family=token.family
    )
    if ROTATED_TOKEN_KEEPS_EXPIRY:
        new_token.expires_at = min(new_token.expires_at, token.expires_at)
    db.session.flush()
    access_raw, access = tokens.issue_access_token(
        user, client, grant_type="refresh_token", refresh_token=new_token
    )
    audit.record(
        ACTION,
        "success",
        actor=client.client_id,
        client_id=client.client_id,
        username=user.username,
        detail={"grant_type": "refresh_token", "refresh_token": secrets.fingerprint(new_raw)},
    )
    db.session.commit()
    return token_response(access_raw, access, user, client=client, refresh_raw=new_raw)


def password(user: User, client: ClientApplication | None) -> dict:
    """Issue tokens for a user who gave the right password; commit and return the body.

    iMIS needs no client for this grant. Without one there is no refresh token (a refresh token is
    redeemed by its client) and no `as:client_id`; with an authenticated client there are both.
    """
    refresh_raw = None
    refresh_token = None
    if client is not None:
        refresh_raw, refresh_token = tokens.issue_refresh_token(user, client, source="password")
        db.session.flush()
    access_raw, access = tokens.issue_access_token(
        user, client, grant_type="password", refresh_token=refresh_token
    )
    audit.record(
        ACTION,
        "success",
        actor=user.username,
        client_id=client.client_id if client else "",
        username=user.username,
        detail={"grant_type": "password"},
    )
    db.session.commit()
    return token_response(access_raw, access, user, client=client, refresh_raw=refresh_raw)


def revoke_family(family: str) -> None:
    """Revoke every refresh token of a family and the access tokens minted from them."""
    now = clock.now()
    members = select(RefreshToken.id).where(RefreshToken.family == family)
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.refresh_token_id.in_(members), AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def record_failure(error: str, *, grant_type: str, client_id: str = "", username: str = "") -> None:
    """Record a refused token request (with whatever the rules already changed) and commit."""
    audit.record(
        ACTION,
        "failure",
        actor=client_id or username,
        client_id=client_id,
        username=username,
        error_code=error,
        detail={"grant_type": grant_type[:40]},
    )
    db.session.commit()


def http_date(moment: datetime) -> str:
    """Format a time as OWIN writes `.issued` and `.expires`: RFC 1123, in GMT."""
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


def token_response(
    access_raw: str,
    access: AccessToken,
    user: User,
    *,
    client: ClientApplication | None,
    refresh_raw: str | None,
) -> dict:
    """Build the success body in OWIN's field order."""
    body: dict = {"access_token": access_raw, "token_type": "bearer", "expires_in": EXPIRES_IN}
    if refresh_raw is not None:
        body["refresh_token"] = refresh_raw
    body["userName"] = user.username
    if client is not None:
        body["as:client_id"] = client.client_id
    body[".issued"] = http_date(access.issued_at)
    body[".expires"] = http_date(access.expires_at)
    return body
