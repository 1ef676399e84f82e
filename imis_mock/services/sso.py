"""The Single Sign-On hand-off: mint a refresh token for the viewer of an SSO content item."""

from imis_mock.database import writing
from imis_mock.models import ClientApplication, User
from imis_mock.services import audit, secrets, tokens


def start_handoff(user: User, client: ClientApplication, *, content: str = "") -> str:
    """Issue a new refresh token for the user and client, record it, commit; return it once.

    Every visit issues a new token (a new family), living the client's "Refresh token lifetime".
    The GUEST user gets one too, as in iMIS, when an unsecured page is opened anonymously.
    """
    # The page that hands off only read until now: the write takes SQLite's write lock first.
    with writing():
        raw, token = tokens.issue_refresh_token(user, client, source="sso")
        audit.record(
            "sso.handoff",
            "success",
            actor=user.username,
            client_id=client.client_id,
            username=user.username,
            detail={
                "refresh_token": secrets.fingerprint(raw),
                "lifetime_minutes": client.refresh_token_lifetime,
                "content": content,
            },
        )
    tokens.prune_if_due()  # new tokens come with hand-offs; old ones go with them
    return raw


def record_missing_client(user: User, *, content: str = "") -> None:
    """Record a hand-off that could not happen because its client application is gone."""
    with writing():
        audit.record(
            "sso.handoff",
            "failure",
            actor=user.username,
            username=user.username,
            error_code="client_missing",
            detail={"content": content} if content else None,
        )
