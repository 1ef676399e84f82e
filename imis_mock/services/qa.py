"""What the QA console shows and does: SSO activity, live tokens, faults, the clock, simulation."""

from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update

from imis_mock.database import in_session_transaction, writing
from imis_mock.extensions import db
from imis_mock.models import (
    FAULT_MODES,  # noqa: F401  (re-exported for the CLI)
    AccessToken,
    AuditEvent,
    ClientApplication,
    ClientFault,
    RefreshToken,
    User,
)
from imis_mock.services import ServiceError, accounts, audit, clock, tokens
from imis_mock.services.clients import find_client, list_clients

# Audit actions that belong to the Single Sign-On flow (hand-offs, /token, the REST API, QA),
# and refusals a tester needs to see (a member on a staff page).
ACTIVITY_PREFIXES = ("sso", "oauth", "api", "qa", "throttle")
ACTIVITY_ACTIONS = ("staff.forbidden",)
TOKEN_KINDS = {"refresh": RefreshToken, "access": AccessToken}
MAX_FAULT_DELAY = 60


def recent_activity(
    *, client_id: str = "", outcome: str = "", limit: int = 100
) -> list[AuditEvent]:
    """Return the latest SSO-related audit events, newest first, optionally filtered."""
    # Include this worker's events written behind (token successes, API calls). The writer needs
    # SQLite's write lock, which this request's transaction holds: end it first.
    if in_session_transaction():
        db.session.commit()
    audit.flush()
    query = select(AuditEvent).where(
        or_(
            *(AuditEvent.action.startswith(f"{prefix}.") for prefix in ACTIVITY_PREFIXES),
            AuditEvent.action.in_(ACTIVITY_ACTIONS),
        )
    )
    if client_id:
        query = query.where(AuditEvent.client_id == client_id)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    # By time: events written behind get their ids a moment after the ones written meanwhile.
    order = (AuditEvent.at.desc(), AuditEvent.id.desc())
    return list(db.session.scalars(query.order_by(*order).limit(limit)))


def active_tokens(kind: str) -> list:
    """Return the unexpired, unrevoked tokens of a kind ("refresh" or "access"), newest first."""
    model = TOKEN_KINDS[kind]
    query = select(model).where(tokens.is_active(model, clock.now())).order_by(model.id.desc())
    return list(db.session.scalars(query))


def _token(kind: str, token_id: int):
    model = TOKEN_KINDS.get(kind)
    token = db.session.get(model, token_id) if model else None
    if token is None:
        raise ServiceError("That token no longer exists.")
    return token


def expire_token(kind: str, token_id: int, *, actor: str) -> None:
    """Make a token expire now, as if its lifetime had run out. Commits."""
    with writing():
        token = _token(kind, token_id)
        token.expires_at = clock.expired_now()
        _audit_token("qa.expire_token", token, kind, actor)


def revoke_token(kind: str, token_id: int, *, actor: str) -> None:
    """Revoke a token. Commits."""
    with writing():
        token = _token(kind, token_id)
        token.revoked_at = clock.now()
        _audit_token("qa.revoke_token", token, kind, actor)


def change_tokens(
    action: str, *, kind: str = "all", username: str = "", client_id: str = "", actor: str
) -> int:
    """Expire or revoke every active token matching the filters; return how many. Commits."""
    if action not in ("expire", "revoke"):
        raise ServiceError("The action is expire or revoke.")
    kinds = list(TOKEN_KINDS) if kind == "all" else [kind]
    if any(k not in TOKEN_KINDS for k in kinds):
        raise ServiceError("The kind is refresh, access or all.")
    with writing():
        user = accounts.get_user(username) if username else None
        client = find_client(client_id) if client_id else None
        if (username and user is None) or (client_id and client is None):
            raise ServiceError("No such user or client application.")
        now = clock.now()
        changed = 0
        for name in kinds:
            model = TOKEN_KINDS[name]
            query = update(model).where(tokens.is_active(model, now))
            if user is not None:
                query = query.where(model.user_id == user.id)
            if client is not None:
                query = query.where(model.client_application_id == client.id)
            values = (
                {"expires_at": clock.expired_now()} if action == "expire" else {"revoked_at": now}
            )
            changed += db.session.execute(query.values(**values)).rowcount
        audit.record(
            f"qa.{action}_tokens",
            "success",
            actor=actor,
            client_id=client_id,
            username=username,
            detail={"kind": kind, "count": changed},
        )
    return changed


def _audit_token(action: str, token, kind: str, actor: str) -> None:
    audit.record(
        action,
        "success",
        actor=actor,
        client_id=token.client.client_id if token.client else "",
        username=token.user.username,
        detail={"kind": kind, "token_id": token.id},
    )


def audit_clock(actor: str, change: str) -> None:
    """Record a move of the application clock. Commits."""
    audit.record("qa.clock", "success", actor=actor, detail={"change": change}, commit=True)


# --- Fault injection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    mode: str
    delay_seconds: int


def set_fault(
    client: ClientApplication, mode: str, *, delay_seconds: int = 0, count: int | None, actor: str
) -> None:
    """Arm a fault for the client's next `count` /token requests (None: until cleared). Commits."""
    if mode not in FAULT_MODES:
        raise ServiceError("Choose one of the fault modes.", "mode")
    if mode == "delay" and not 1 <= delay_seconds <= MAX_FAULT_DELAY:
        raise ServiceError(f"A delay is 1 to {MAX_FAULT_DELAY} seconds.", "delay_seconds")
    if count is not None and count < 1:
        raise ServiceError("The number of requests is at least 1 (or empty: until off).", "count")
    with writing():
        db.session.execute(
            delete(ClientFault).where(ClientFault.client_application_id == client.id)
        )
        db.session.add(
            ClientFault(
                client_application_id=client.id,
                mode=mode,
                delay_seconds=delay_seconds if mode == "delay" else 0,
                remaining=count,
            )
        )
        audit.record(
            "qa.set_fault",
            "success",
            actor=actor,
            client_id=client.client_id,
            detail={"mode": mode, "delay_seconds": delay_seconds, "count": count},
        )


def clear_fault(client: ClientApplication, *, actor: str) -> None:
    """Turn off the client's fault. Commits."""
    with writing():
        db.session.execute(
            delete(ClientFault).where(ClientFault.client_application_id == client.id)
        )
        audit.record("qa.clear_fault", "success", actor=actor, client_id=client.client_id)


def faults_by_client() -> dict[int, ClientFault]:
    return {f.client_application_id: f for f in db.session.scalars(select(ClientFault))}


def take_fault(client_id: str) -> Fault | None:
    """Use up one request of the armed fault of the client with this Client ID, if any.

    The count goes down in one UPDATE, so parallel requests on several workers never use more
    than the armed number. The caller commits (with the rest of its request).
    """
    row = db.session.execute(
        select(ClientFault.id, ClientFault.mode, ClientFault.delay_seconds, ClientFault.remaining)
        .join(ClientApplication)
        .where(ClientApplication.client_id_key == client_id.lower())
    ).first()
    if row is None:
        return None
    if row.remaining is not None:
        taken = db.session.execute(
            update(ClientFault)
            .where(ClientFault.id == row.id, ClientFault.remaining > 0)
            .values(remaining=ClientFault.remaining - 1)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            delete(ClientFault)
            .where(ClientFault.id == row.id, ClientFault.remaining <= 0)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return None
    return Fault(row.mode, row.delay_seconds)


# --- Simulate SSO ---------------------------------------------------------------------------------


def simulate_sso(username: str, client: ClientApplication, *, actor: str) -> str:
    """Mint a refresh token for a member and client, as a hand-off would; return it. Commits."""
    with writing():
        user = accounts.get_user(username)
        if user is None or user.is_guest:
            raise ServiceError("Choose a member.", "username")
        if user.is_disabled:
            raise ServiceError("That account is disabled.", "username")
        raw, _ = tokens.issue_refresh_token(user, client, source="qa")
        audit.record(
            "qa.simulate_sso", "success", actor=actor, client_id=client.client_id, username=username
        )
    return raw


def members() -> list[User]:
    query = select(User).where(User.is_guest.is_(False)).order_by(User.username_key)
    return list(db.session.scalars(query))


def clients() -> list[ClientApplication]:
    return [row.client for row in list_clients()]
