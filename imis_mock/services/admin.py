"""What the HTTP admin API (/qa/api) and the `imis-mock` command do for test suites: mint a
Single Sign-On hand-off without a browser, and read the request journal."""

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from imis_mock.database import in_session_transaction
from imis_mock.extensions import db
from imis_mock.models import AuditEvent
from imis_mock.services import ServiceError, accounts, audit, sso
from imis_mock.services.clients import find_client

JOURNAL_LIMIT = 1000
# The path of events that carry none of their own (the /token endpoint records its action only).
ACTION_PATHS = {"oauth.token": "/token"}


@dataclass(frozen=True)
class Handoff:
    """A minted hand-off: the refresh token and the form the content item's page would POST."""

    refresh_token: str
    client_id: str
    username: str
    action: str  # the client's Login redirect URL

    def form(self) -> dict:
        """Describe the POST of templates/oauth/handoff.html (tests/test_admin_api.py keeps the
        two in step)."""
        return {
            "method": "POST",
            "action": self.action,
            "enctype": "application/x-www-form-urlencoded",
            "fields": {"refresh_token": self.refresh_token},
        }


def mint_handoff(username: str, client_id: str) -> Handoff:
    """Mint a refresh token as the client's Single Sign-On item does for the user; commit."""
    user = accounts.get_user(username) if username else None
    if user is None:
        raise ServiceError(f"No user {username!r}.", "username")
    if user.is_disabled:
        raise ServiceError("That account is disabled.", "username")
    client = find_client(client_id) if client_id else None
    if client is None:
        raise ServiceError(f"No client application {client_id!r}.", "client_id")
    raw = sso.start_handoff(user, client, content="admin-api")
    return Handoff(raw, client.client_id, user.username, client.redirect_url)


def event_path(event: AuditEvent, detail: dict) -> str:
    """Return the URL path an audit event was about, or "" when it has none."""
    path = detail.get("path") if isinstance(detail, dict) else None
    return path if isinstance(path, str) else ACTION_PATHS.get(event.action, "")


def journal(
    *, client_id: str = "", path: str = "", since: datetime | None = None, limit: int = 100
) -> list[dict]:
    """Return audit events oldest first, filtered by Client ID, path prefix and time."""
    # Events written behind (token successes, API calls) reach the table on flush; the writer
    # needs SQLite's write lock, which an open transaction of this session would hold.
    if in_session_transaction():
        db.session.commit()
    audit.flush()
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if client_id:
        query = query.where(AuditEvent.client_id == client_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    entries = []
    newest = list(db.session.scalars(query.limit(JOURNAL_LIMIT)))
    for event in reversed(newest):
        try:
            detail = json.loads(event.detail) if event.detail else {}
        except ValueError:
            detail = {}
        where = event_path(event, detail)
        if path and not where.lower().startswith(path.lower()):
            continue
        entries.append(
            {
                "at": event.at.isoformat(),
                "action": event.action,
                "outcome": event.outcome,
                "client_id": event.client_id,
                "username": event.username,
                "error_code": event.error_code,
                "method": detail.get("method", "") if isinstance(detail, dict) else "",
                "path": where,
                "detail": detail,
            }
        )
    return entries[-limit:] if limit else entries
