"""The OAuth 2 token rules: minting, client authentication, the refresh and password grants,
the bearer check and revocation. Only hashes are stored; every expiry uses the app clock.

This is the one place these rules live. POST /token reaches them two ways (oauth/server.py says
which request takes which); both call the functions below, on SQLite and PostgreSQL alike.

Refresh-token rotation. Every refresh response carries a new refresh token in the same family.
- Default (STRICT_REFRESH_TOKEN_ROTATION = False), iMIS's behaviour as far as it is known: the
  presented token stays valid until its own expiry, so a client may redeem it again.
- Strict: a token can be redeemed once; presenting it again is refused and revokes every token of
  its family (the refresh tokens and the access tokens minted from them), as RFC 9700 §4.14.2 says.
The rotated token keeps the expiry of the token it replaces (ROTATED_TOKEN_KEEPS_EXPIRY): iMIS
says the user must come back to iMIS when "the refresh token" expires, so refreshing must not
stretch a hand-off's lifetime beyond the client's "Refresh token lifetime (minutes)".
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import NamedTuple

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from imis_mock.database import CompiledSelect, write_grouped, writing
from imis_mock.extensions import db
from imis_mock.models import (
    AccessToken,
    AppSetting,
    ClientApplication,
    ClientFault,
    RefreshToken,
    SignInThrottle,
    User,
)
from imis_mock.services import audit, clock, secrets, throttle
from imis_mock.services.accounts import UserRecord

# iMIS access tokens live 20 minutes; OWIN reports the seconds left, truncated, just after
# issuing: 20 minutes shows as 1199.
ACCESS_TOKEN_LIFETIME = timedelta(minutes=20)
EXPIRES_IN = int(ACCESS_TOKEN_LIFETIME.total_seconds()) - 1
ROTATED_TOKEN_KEEPS_EXPIRY = True
ACTION = "oauth.token"
INVALID_REFRESH = "The refresh token is invalid or has expired."


class TokenError(Exception):
    """A token request refused by the rules: an OAuth 2 error code and a safe description."""

    def __init__(self, error: str, description: str):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class Client(NamedTuple):
    """A client application as /token reads it."""

    id: int
    client_id: str
    secret_hash: str
    refresh_token_lifetime: int


class PresentedToken(NamedTuple):
    """A refresh token presented at /token, with its user's name and state."""

    id: int
    client_application_id: int
    family: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    user_id: int
    username: str
    is_disabled: bool


_CLIENTS = ClientApplication.__table__
_REFRESH = RefreshToken.__table__
_ACCESS = AccessToken.__table__
_USERS = User.__table__
_FAULTS = ClientFault.__table__
_THROTTLE = SignInThrottle.__table__
_TIME = _REFRESH.c.issued_at.type

# /token and the bearer check run on every SSO client's request, so their reads are compiled once
# and run outside the ORM (database.CompiledSelect); on SQLite they take no lock.
_CLIENT_COLUMNS = (
    _CLIENTS.c.id,
    _CLIENTS.c.client_id,
    _CLIENTS.c.secret_hash,
    _CLIENTS.c.refresh_token_lifetime,
)
_TOKEN_COLUMNS = (
    _REFRESH.c.id,
    _REFRESH.c.client_application_id,
    _REFRESH.c.family,
    _REFRESH.c.expires_at,
    _REFRESH.c.used_at,
    _REFRESH.c.revoked_at,
    _REFRESH.c.user_id,
    _USERS.c.username,
    _USERS.c.is_disabled,
)
_CLIENT_BY_KEY = CompiledSelect(
    select(*_CLIENT_COLUMNS).where(_CLIENTS.c.client_id_key == bindparam("p_key"))
)
_TOKEN_BY_HASH = CompiledSelect(
    select(*_TOKEN_COLUMNS, clock.OFFSET_COLUMN)
    .join_from(_REFRESH, _USERS, _USERS.c.id == _REFRESH.c.user_id)
    .where(_REFRESH.c.token_hash == bindparam("p_hash"))
)
# The refresh grant as SSO clients send it, read in one statement: the client, whether a QA fault
# is armed for it, the lock on its authentication from this address (throttle.client_key), the
# token presented with its user, and the clock's offset.
_REFRESH_REQUEST = CompiledSelect(
    select(
        *(column.label(f"client_{column.name}") for column in _CLIENT_COLUMNS),
        _FAULTS.c.id.label("fault_id"),
        _THROTTLE.c.locked_until.label("client_locked_until"),
        *_TOKEN_COLUMNS,
        clock.OFFSET_COLUMN,
    )
    .select_from(_CLIENTS)
    .outerjoin(_FAULTS, _FAULTS.c.client_application_id == _CLIENTS.c.id)
    .outerjoin(_THROTTLE, _THROTTLE.c.username_key == bindparam("p_lock"))
    .outerjoin(_REFRESH, _REFRESH.c.token_hash == bindparam("p_hash"))
    .outerjoin(_USERS, _USERS.c.id == _REFRESH.c.user_id)
    .where(_CLIENTS.c.client_id_key == bindparam("p_key"))
)

# The redemption's writes. The first use of a token is claimed with a conditional UPDATE, so that
# exactly one of several concurrent redemptions wins it (under strict rotation the others are
# reuse). The rotated token is one guarded INSERT ... SELECT: it is written only if the presented
# token is still unrevoked, its user enabled and its client's secret unchanged, so a revoke, a
# disable or a new secret made since the token was read stops it. The access token's INSERT ...
# SELECT finds the rotated token by its hash (not by a RETURNING value), so it writes nothing
# when the rotation wrote nothing, and the three statements can be sent together: one round trip
# on PostgreSQL (database.DriverWrite.execute_all), one GIL hand-off fewer on SQLite.
_CLAIM = CompiledSelect(
    update(_REFRESH)
    .where(_REFRESH.c.id == bindparam("p_id"), _REFRESH.c.used_at.is_(None))
    .values(used_at=bindparam("p_now", type_=_TIME))
)
_ROTATE = CompiledSelect(
    insert(_REFRESH).from_select(
        [
            "token_hash",
            "client_application_id",
            "user_id",
            "family",
            "source",
            "issued_at",
            "expires_at",
        ],
        select(
            bindparam("p_hash"),
            _REFRESH.c.client_application_id,
            _REFRESH.c.user_id,
            _REFRESH.c.family,
            literal("refresh"),
            bindparam("p_now", type_=_TIME),
            bindparam("p_expires", type_=_TIME),
        )
        .join(_USERS, _USERS.c.id == _REFRESH.c.user_id)
        .join(_CLIENTS, _CLIENTS.c.id == _REFRESH.c.client_application_id)
        .where(
            _REFRESH.c.id == bindparam("p_id"),
            _REFRESH.c.revoked_at.is_(None),
            _USERS.c.is_disabled == false(),
            _CLIENTS.c.secret_hash == bindparam("p_secret_hash"),
        ),
    )
)
_ROTATED = _REFRESH.alias("rotated")
_MINT_ACCESS = CompiledSelect(
    insert(_ACCESS).from_select(
        [
            "token_hash",
            "client_application_id",
            "user_id",
            "refresh_token_id",
            "grant_type",
            "issued_at",
            "expires_at",
        ],
        select(
            bindparam("token_hash"),
            bindparam("client_application_id"),
            bindparam("user_id"),
            _ROTATED.c.id,
            bindparam("grant_type"),
            bindparam("issued_at", type_=_TIME),
            bindparam("expires_at", type_=_TIME),
        ).where(_ROTATED.c.token_hash == bindparam("p_hash")),
    )
)
_INSERT_REFRESH = insert(_REFRESH).returning(_REFRESH.c.id)
_INSERT_ACCESS = insert(_ACCESS)


# Minting: the one place a token's value, hash and lifetime are decided.


def _refresh_values(user_id: int, client: Client | ClientApplication, family: str, source: str):
    raw, now = secrets.new_token(), clock.now()
    return raw, {
        "token_hash": secrets.token_hash(raw),
        "client_application_id": client.id,
        "user_id": user_id,
        "family": family,
        "source": source,
        "issued_at": now,
        "expires_at": now + timedelta(minutes=client.refresh_token_lifetime),
    }


def _access_values(user_id: int, client_pk: int | None, grant_type: str, refresh_id: int | None):
    raw, now = secrets.new_token(), clock.now()
    return raw, {
        "token_hash": secrets.token_hash(raw),
        "client_application_id": client_pk,
        "user_id": user_id,
        "refresh_token_id": refresh_id,
        "grant_type": grant_type,
        "issued_at": now,
        "expires_at": now + ACCESS_TOKEN_LIFETIME,
    }


def new_family() -> str:
    return secrets.new_token()[:32]


def issue_refresh_token(
    user: User, client: ClientApplication, *, source: str, family: str | None = None
) -> tuple[str, RefreshToken]:
    """Mint a refresh token for the user and client; return the plain token once. Caller commits."""
    raw, values = _refresh_values(user.id, client, family or new_family(), source)
    record = RefreshToken(**values)
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
    client_pk = client.id if client else None
    refresh_id = refresh_token.id if refresh_token else None
    raw, values = _access_values(user.id, client_pk, grant_type, refresh_id)
    record = AccessToken(**values)
    db.session.add(record)
    return raw, record


# Client authentication and the refresh grant.


def strict_rotation() -> bool:
    return bool(current_app.config["STRICT_REFRESH_TOKEN_ROTATION"])


def find_client(client_id: str) -> Client | None:
    """Return the client with this Client ID, in any letter case (for client authentication)."""
    row = _CLIENT_BY_KEY.first(p_key=client_id.lower())
    return Client(**row) if row is not None else None


def client_secret_matches(client: Client, secret: str) -> bool:
    """Return True if the secret is the client's current one (compared in constant time)."""
    return secrets.client_secret_matches(secret, client.secret_hash)


# Failed client authentication is throttled per Client ID *and* client address: after
# CLIENT_MAX_FAILURES failures in a minute, that Client ID is refused from that address for
# CLIENT_LOCKOUT_SECONDS (429 with Retry-After), right secret or not, before the secret is checked.
# An attacker's failures therefore never lock out the real client on another host, and one sharing
# the attacker's address waits a minute at most after the attacker stops. A secret of 32 characters
# or more (clients.SECRET_MIN) cannot be found at ten guesses a minute. Secrets are cheap to check
# (an HMAC), so a failure is counted after the check, not reserved before it.


def client_authentication_wait(client_id: str, address: str) -> int | None:
    """Return the seconds this Client ID must wait before authenticating from this address."""
    return throttle.locked_for(throttle.client_key(client_id, address))


def record_client_authentication_failure(client_id: str, address: str) -> None:
    """Count a failed client authentication (an unknown Client ID too) and commit."""
    throttle.record_client_failure(client_id, address)


def find_refresh_token(raw: str) -> RefreshToken | None:
    """Return the refresh token row with this value (for the QA console and tools)."""
    return db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == secrets.token_hash(raw))
    )


def find_presented_token(raw: str) -> PresentedToken | None:
    """Return the refresh token presented at /token, with its user's name and state, or None."""
    row = _TOKEN_BY_HASH.first(p_hash=secrets.token_hash(raw))
    if row is None:
        return None
    clock.remember_offset(row.pop("clock_offset"))
    return PresentedToken(**row)


def belongs_to(token: PresentedToken, client: Client) -> bool:
    """Return True if the token was issued to this client (another client's is invalid_grant)."""
    return token.client_application_id == client.id


@dataclass(frozen=True, slots=True)
class RefreshRequest:
    """A refresh grant read in one statement: its client (None if unknown), the token presented
    (None if unknown), whether the QA console armed a fault for the client, and the seconds its
    authentication from this address must still wait (None: it need not)."""

    client: Client | None
    token: PresentedToken | None
    fault_armed: bool
    client_wait: int | None


def read_refresh_request(client_id: str, raw: str, address: str) -> RefreshRequest:
    """Read a refresh grant's client, fault, lock and token in one statement (no lock on SQLite)."""
    row = _REFRESH_REQUEST.first(
        p_key=client_id.lower(),
        p_hash=secrets.token_hash(raw),
        p_lock=throttle.client_key(client_id, address),
    )
    if row is None:
        return RefreshRequest(None, None, False, None)
    clock.remember_offset(row.pop("clock_offset"))
    client = Client(*(row.pop(f"client_{column.name}") for column in _CLIENT_COLUMNS))
    fault_armed = row.pop("fault_id") is not None
    wait = throttle.wait_left(row.pop("client_locked_until"))
    token = PresentedToken(**row) if row["id"] is not None else None
    return RefreshRequest(client, token, fault_armed, wait)


class TokenReused(TokenError):
    """Strict rotation: the refresh token presented was redeemed before."""

    def __init__(self):
        super().__init__("invalid_grant", "The refresh token has already been used.")


def refusal(token: PresentedToken, now: datetime) -> TokenError | None:
    """Return why this token cannot be redeemed now, or None."""
    if token.revoked_at is not None or now >= token.expires_at or token.is_disabled:
        return TokenError("invalid_grant", INVALID_REFRESH)
    if strict_rotation() and token.used_at is not None:
        return TokenReused()
    return None


def redeem(token: PresentedToken, client: Client, *, ip: str | None = None) -> dict:
    """Redeem a refresh token presented by its authenticated client; commit and return the body.

    The caller has authenticated the client and checked belongs_to(). Raises TokenError.
    """
    now = clock.now()
    error = refusal(token, now)
    if isinstance(error, TokenReused):
        _refuse_reuse(token)
    if error is not None:
        raise error
    strict = strict_rotation()
    refresh_raw = secrets.new_token()
    expires_at = now + timedelta(minutes=client.refresh_token_lifetime)
    if ROTATED_TOKEN_KEEPS_EXPIRY:
        expires_at = min(expires_at, token.expires_at)
    access_raw, access = _access_values(token.user_id, client.id, "refresh_token", None)
    rotation = {
        "p_id": token.id,
        "p_now": now,
        "p_hash": secrets.token_hash(refresh_raw),
        "p_expires": expires_at,
        "p_secret_hash": client.secret_hash,
    }
    claim = token.used_at is None
    statements = [(_ROTATE, rotation), (_MINT_ACCESS, {**access, "p_hash": rotation["p_hash"]})]
    if claim:
        statements.insert(0, (_CLAIM, rotation))

    def write(connection) -> None:
        # Runs on whichever thread writes the group (database.write_grouped): only its arguments.
        counts = connection.execute_all(statements)
        if claim and counts[0] != 1 and strict:
            raise _Reused
        if counts[-1] != 1:  # not rotated: nothing minted either
            raise TokenError("invalid_grant", INVALID_REFRESH)

    try:
        # Compiled statements straight to the driver: through the ORM session and SQLAlchemy's
        # execution, the redemption cost about twice as much. On SQLite, redemptions that arrive
        # together are committed together (group commit).
        write_grouped(write)
    except _Reused:
        _refuse_reuse(token)
    _audit_success(client.client_id, token.username, "refresh_token", refresh_raw, now, ip)
    return token_response(access_raw, now, token.username, client.client_id, refresh_raw)


class _Reused(Exception):
    """Another redemption claimed the token first (strict rotation: reuse)."""


def _refuse_reuse(token: PresentedToken):
    """Strict rotation: a token presented twice revokes its family (committed), then refuses."""
    with writing():
        revoke_family(token.family)
    raise TokenReused()


def password_grant(user: User, client: Client | None, *, ip: str | None = None) -> dict:
    """Issue tokens for a user who gave the right password; commit and return the body.

    iMIS needs no client for this grant. Without one there is no refresh token (a refresh token is
    redeemed by its client) and no `as:client_id`; with an authenticated client there are both.
    """
    now = clock.now()
    refresh_raw = refresh_id = None
    with writing() as connection:
        if client is not None:
            refresh_raw, values = _refresh_values(user.id, client, new_family(), "password")
            refresh_id = connection.execute(_INSERT_REFRESH, values).scalar_one()
        client_pk = client.id if client else None
        access_raw, access = _access_values(user.id, client_pk, "password", refresh_id)
        connection.execute(_INSERT_ACCESS, access)
    client_id = client.client_id if client else ""
    _audit_success(client_id, user.username, "password", refresh_raw, now, ip)
    return token_response(access_raw, now, user.username, client_id or None, refresh_raw)


def _audit_success(client_id, username, grant_type, refresh_raw, now, ip) -> None:
    """Audit a token request that succeeded, once its tokens are committed: written behind."""
    detail = {"grant_type": grant_type}
    if refresh_raw:
        detail["refresh_token"] = secrets.fingerprint(refresh_raw)
    audit.record(
        ACTION,
        "success",
        actor=client_id or username,
        client_id=client_id,
        username=username,
        detail=detail,
        ip=ip,
        behind=True,
    )


def record_refusal(
    error: str, *, grant_type: str, client_id: str = "", username: str = "", throttled: str = ""
) -> None:
    """Record a refused token request and commit.

    A throttled one (`throttled` names the limit) is written behind: a guesser being refused
    must not cost a write transaction per request.
    """
    detail = {"grant_type": grant_type[:40]}
    if throttled:
        detail["throttled"] = throttled
    values = dict(
        actor=client_id or username,
        client_id=client_id,
        username=username,
        error_code=error,
        detail=detail,
    )
    if throttled:
        audit.record(ACTION, "failure", **values, behind=True)
        return
    with writing():
        audit.record(ACTION, "failure", **values)


def record_fault(mode: str, *, grant_type: str, client_id: str) -> None:
    """Record a /token answer changed by the QA console's fault injection, and commit."""
    with writing():
        audit.record(
            ACTION,
            "success" if mode == "delay" else "failure",
            actor=client_id,
            client_id=client_id,
            error_code="" if mode == "delay" else mode,
            detail={"grant_type": grant_type[:40], "injected_fault": mode},
        )


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
    body[".expires"] = http_date(issued + ACCESS_TOKEN_LIFETIME)
    return body


# The bearer check.


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


# A token whose client was deleted went with it (ON DELETE CASCADE); the password grant's tokens
# have no client.
_BEARER_BY_HASH = CompiledSelect(
    select(
        _ACCESS.c.id,
        _ACCESS.c.expires_at,
        _ACCESS.c.revoked_at,
        _CLIENTS.c.client_id,
        _USERS.c.id.label("user_id"),
        _USERS.c.username,
        _USERS.c.is_staff,
        _USERS.c.is_disabled,
        _USERS.c.is_guest,
        _USERS.c.contact_id,
        clock.OFFSET_COLUMN,
    )
    .join(_USERS, _USERS.c.id == _ACCESS.c.user_id)
    .outerjoin(_CLIENTS, _CLIENTS.c.id == _ACCESS.c.client_application_id)
    .where(_ACCESS.c.token_hash == bindparam("p_hash"))
)


def find_bearer_token(raw: str) -> BearerToken | None:
    """Return the access token with this value, for the bearer check, or None.

    The clock offset read with it is kept for the rest of the request, so the expiry check needs
    no second statement.
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


# Revocation and pruning.


def revoke_family(family: str) -> None:
    """Revoke every refresh token of a family and the access tokens minted from them."""
    now = clock.now()
    members = select(RefreshToken.id).where(RefreshToken.family == family)
    # Lock the family's rows in one order first: concurrent reuses of one token then revoke the
    # family one after another instead of deadlocking on PostgreSQL (SQLite has one writer).
    db.session.execute(members.order_by(RefreshToken.id).with_for_update())
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.refresh_token_id.in_(members), AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_user_tokens(user_id: int) -> None:
    """Revoke every refresh and access token of a user (their sign-in was disabled).

    Enabling the account again must not bring old tokens back, so they are revoked, not just
    refused while the flag is set. The caller commits.
    """
    now = clock.now()
    for model in (AccessToken, RefreshToken):
        db.session.execute(
            update(model)
            .where(model.user_id == user_id, model.revoked_at.is_(None))
            .values(revoked_at=now)
        )


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


# A token expired or revoked this long ago is deleted: kept a while, the QA console can still show
# it. The automatic prune runs at most once per PRUNE_EVERY, after a hand-off.
PRUNE_GRACE = timedelta(hours=1)
PRUNE_EVERY = timedelta(hours=1)
PRUNED_KEY = "tokens_pruned_at"


def prune() -> tuple[int, int]:
    """Delete tokens expired or revoked more than PRUNE_GRACE ago; commit; return the counts.

    Returns (refresh tokens, access tokens) deleted. Access tokens go first; a refresh token
    deleted sets the refresh_token_id of the access tokens still alive to NULL.
    """
    cutoff = clock.now() - PRUNE_GRACE
    with writing():
        access = db.session.execute(
            delete(AccessToken).where(
                or_(AccessToken.expires_at < cutoff, AccessToken.revoked_at < cutoff)
            )
        ).rowcount
        refresh = db.session.execute(
            delete(RefreshToken).where(
                or_(RefreshToken.expires_at < cutoff, RefreshToken.revoked_at < cutoff)
            )
        ).rowcount
    return refresh, access


def prune_if_due() -> bool:
    """Prune if no worker has for PRUNE_EVERY (real time); True if this call pruned.

    The claim is one conditional write of the last prune's time, so of several workers that find
    it due at once, one prunes.
    """
    now = datetime.now(UTC)
    last = db.session.get(AppSetting, PRUNED_KEY)
    if last is not None and now - datetime.fromisoformat(last.value) < PRUNE_EVERY:
        return False
    with writing():
        if last is None:
            claimed = db.session.execute(
                insert(AppSetting).from_select(
                    ["key", "value"],
                    select(literal(PRUNED_KEY), literal(now.isoformat())).where(
                        ~select(AppSetting.key).where(AppSetting.key == PRUNED_KEY).exists()
                    ),
                )
            ).rowcount
        else:
            claimed = db.session.execute(
                update(AppSetting)
                .where(AppSetting.key == PRUNED_KEY, AppSetting.value == last.value)
                .values(value=now.isoformat())
            ).rowcount
    if claimed != 1:
        return False
    prune()
    return True


def active_refresh_token_counts() -> dict[int, int]:
    """Return the number of active refresh tokens of every client that has any, by its id."""
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
