"""Contacts, user accounts, password checks and signed-in sessions.

The member Sign In page, the Staff sign-in page and (later) the password grant at /token all call
authenticate(), so they share one rule for who may sign in.
"""

import hashlib
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import BigInteger, and_, cast, delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from imis_mock.database import writing
from imis_mock.extensions import db
from imis_mock.models import GUEST_USERNAME, Contact, User, UserSession
from imis_mock.services import ServiceError, audit, clock, panels, throttle

FIRST_IMIS_ID = 23000
USERNAME_MAX = 60
# Only a sign-in older than this is written back as "seen", so most requests stay read-only.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user's own columns as plain values: who the REST API acts for.

    The bearer check reads these with one Core query (services.tokens.find_bearer_token) instead
    of loading ORM objects, which cost more than the rest of an API call. Code that needs the
    user's contact or other relations loads them by id.
    """

    id: int
    username: str
    is_staff: bool
    is_disabled: bool
    is_guest: bool
    contact_id: int | None

    @classmethod
    def of(cls, user: User) -> "UserRecord":
        return cls(
            user.id, user.username, user.is_staff, user.is_disabled, user.is_guest, user.contact_id
        )


def username_key(username: str) -> str:
    return username.strip().lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def get_user(username: str) -> User | None:
    """Return the user with this username, in any letter case."""
    return db.session.scalar(select(User).where(User.username_key == username_key(username)))


def authenticate(
    username: str, password: str, *, staff_only: bool = False, address: str = ""
) -> User | None:
    """Return the user if the username and password are right and the account may sign in.

    The attempt is reserved against the username's and the client address's counters before any
    hashing, and hashes in one of this worker's hashing slots (services.throttle): a locked
    username gets None, as a wrong password does; a full pool, a locked address, or as many
    attempts in flight as the limit raises throttle.Throttled, a full pool before any write. An
    unknown user costs the same password hash as a known one, so timing tells nothing. A failure
    is counted against both; a success gives both reservations back.
    """
    key = username_key(username)
    try:
        throttle.check_address(address)  # a read: a locked-out guesser costs no write
        throttle.check_hashing_room()  # nor does a guess that would find the pool full
        if not throttle.reserve(key, address):
            audit_throttled(username, "username", address)
            return None
        user = get_user(username) if username else None
        stored = user.password_hash if user is not None else None
        # Hashing is slow on purpose, and on SQLite an open transaction holds the write lock
        # that every worker's writes queue behind, so the transaction ends before it (nothing
        # is written yet; what a caller added is kept).
        db.session.commit()
        # The slot is held for the hash alone: the writes above wait for the writers' turn, and
        # with a cheap hash (load tests) holding it through them made parallel sign-ins 429.
        try:
            with throttle.hashing_slot():
                if stored is None:
                    dummy = _dummy_hash(current_app.config["PASSWORD_HASH_METHOD"])
                    check_password_hash(dummy, password)
                    user = None
                elif not check_password_hash(stored, password):
                    user = None
        except throttle.Throttled:
            # The pool filled up since check_hashing_room(): the attempt never reached the hash.
            with writing():
                throttle.release(throttle.user_key(key))
                throttle.release(throttle.address_key(address))
            raise
    except throttle.Throttled as error:
        # An address lockout is audited once, when it begins: a flood of guesses must not
        # become a flood of writes.
        if error.reason != "address":
            audit_throttled(username, error.reason, address)
        raise
    if user is None:
        if throttle.fail_attempt(key, address):
            audit_throttled(username, "address", address)
        return None
    with writing():
        throttle.clear(key)
        throttle.release(throttle.address_key(address))
    if user.is_disabled or user.is_guest or (staff_only and not user.is_staff):
        return None
    return user


def audit_throttled(username: str, reason: str, address: str) -> None:
    """Show a throttled attempt in the QA console's activity (written behind, real time)."""
    audit.record(
        "throttle.password",
        "failure",
        actor=username[:USERNAME_MAX],
        username=username[:USERNAME_MAX],
        error_code="throttled",
        detail={"limit": reason},
        ip=address or None,
        behind=True,
    )


# An iMIS ID counts as numeric when it is all ASCII digits (trim() of every digit leaves nothing,
# on SQLite and PostgreSQL alike) and short enough for a BIGINT: longer ones are not ids the mock
# assigns, and casting them would overflow on PostgreSQL.
_DIGITS = "0123456789"
NUMERIC_IMIS_ID = and_(
    func.length(Contact.imis_id).between(1, 18), func.trim(Contact.imis_id, _DIGITS) == ""
)
# Guarded by NUMERIC_IMIS_ID (in the WHERE clause, so the cast never sees text).
_MAX_NUMERIC_IMIS_ID = select(func.max(cast(Contact.imis_id, BigInteger))).where(NUMERIC_IMIS_ID)


def next_imis_id() -> str:
    """Return the next free iMIS-style numeric ID: one more than the largest numeric one."""
    largest = db.session.scalar(_MAX_NUMERIC_IMIS_ID)
    return str((FIRST_IMIS_ID - 1 if largest is None else largest) + 1)


def validate_username(username: str) -> str:
    username = username.strip()
    if not username:
        raise ServiceError("Enter a username.", "username")
    if len(username) > USERNAME_MAX:
        raise ServiceError(f"A username has at most {USERNAME_MAX} characters.", "username")
    if any(not ch.isprintable() or ch.isspace() for ch in username):
        raise ServiceError("A username cannot contain spaces or control characters.", "username")
    if get_user(username) is not None:
        raise ServiceError("That username is already taken.", "username")
    return username


# Unicode categories no contact field may hold: controls (C0, DEL, C1: tab, newline, escape ...)
# and the line and paragraph separators. They break the staff pages' lists, CSV exports and the
# client applications that read names from the API, and can forge lines in logs.
CONTROL_CATEGORIES = ("Cc", "Zl", "Zp")


def refuse_control_characters(values: dict[str, str]) -> None:
    """Raise ServiceError for the first contact field whose value holds a control character."""
    for field, value in values.items():
        if value and any(unicodedata.category(ch) in CONTROL_CATEGORIES for ch in value):
            label = field.replace("_", " ").capitalize()
            raise ServiceError(
                f"{label} cannot contain control characters such as tabs or line breaks.", field
            )


def create_user(
    username: str,
    password: str,
    *,
    staff: bool,
    first_name: str,
    last_name: str,
    email: str = "",
    prefix: str = "",
    middle_name: str = "",
    suffix: str = "",
    informal_name: str = "",
    phone: str = "",
    organization: str = "",
    title: str = "",
    member_type: str | None = None,
    imis_id: str | None = None,
    address_line: str = "",
    city: str = "",
    region: str = "",
    postal_code: str = "",
    country_code: str = "",
    join_date: date | None = None,
) -> User:
    """Create a contact and its user account. The caller commits."""
    username = validate_username(username)
    if not password:
        raise ServiceError("Enter a password.", "password")
    if not first_name.strip() or not last_name.strip():
        raise ServiceError("Enter a first and last name.", "first_name")
    refuse_control_characters(
        {
            "first_name": first_name,
            "last_name": last_name,
            "prefix": prefix,
            "middle_name": middle_name,
            "suffix": suffix,
            "informal_name": informal_name,
            "email": email,
            "phone": phone,
            "organization": organization,
            "title": title,
            "address_line": address_line,
            "city": city,
            "region": region,
            "postal_code": postal_code,
            "country_code": country_code,
        }
    )
    if imis_id is not None and db.session.scalar(select(Contact).filter_by(imis_id=imis_id)):
        raise ServiceError(f"iMIS ID {imis_id} is already used.", "imis_id")
    contact = Contact(
        imis_id=imis_id or next_imis_id(),
        uniform_id=str(uuid.uuid4()),
        prefix=prefix,
        first_name=first_name.strip(),
        middle_name=middle_name.strip(),
        last_name=last_name.strip(),
        suffix=suffix,
        informal_name=informal_name or first_name.strip(),
        email=email.strip(),
        phone=phone,
        organization=organization,
        title=title,
        member_type=member_type or ("STAFF" if staff else "M"),
        address_line=address_line,
        city=city,
        region=region,
        postal_code=postal_code,
        country_code=country_code,
        join_date=join_date,
    )
    user = User(
        username=username,
        username_key=username_key(username),
        password_hash=hash_password(password),
        is_staff=staff,
        contact=contact,
    )
    db.session.add_all([contact, user])
    db.session.flush()
    panels.add_party_rows(contact)
    return user


def ensure_guest() -> User:
    """Return the built-in GUEST user, creating it if needed. The caller commits."""
    guest = get_user(GUEST_USERNAME)
    if guest is None:
        guest = User(username=GUEST_USERNAME, username_key=username_key(GUEST_USERNAME))
        guest.is_guest = True
        db.session.add(guest)
        db.session.flush()
    return guest


def count_people() -> int:
    """Return how many non-GUEST accounts exist."""
    return db.session.scalar(select(func.count(User.id)).where(User.is_guest.is_(False))) or 0


# --- Signed-in sessions -------------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(user: User, *, site: str, persistent: bool) -> str:
    """Record a new signed-in session for the user and return its key (for the cookie)."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    db.session.add(
        UserSession(
            key_hash=_key_hash(key),
            user_id=user.id,
            site=site,
            persistent=persistent,
            created_at=now,
            last_seen_at=now,
        )
    )
    user.last_sign_in_at = now
    user.session_key = key
    return key


def load_session(key: str) -> User | None:
    """Return the user of a live session key, ending it if it is idle or too old.

    A kept session ("Keep me signed in") lasts REMEMBER_COOKIE_DURATION from sign-in. Any other
    ends after SESSION_IDLE_MINUTES without a request, or SESSION_ABSOLUTE_HOURS after sign-in
    however busy it is.
    """
    record = db.session.scalar(select(UserSession).where(UserSession.key_hash == _key_hash(key)))
    if record is None:
        return None
    now = clock.now()
    config = current_app.config
    if record.persistent:
        expired = now - record.created_at > config["REMEMBER_COOKIE_DURATION"]
    else:
        idle = timedelta(minutes=config["SESSION_IDLE_MINUTES"])
        lifetime = timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
        expired = now - record.last_seen_at > idle or now - record.created_at > lifetime
    # Most requests only read; the rare write takes SQLite's write lock first (writing()), which
    # a page's deferred transaction could not safely do halfway.
    if expired:
        with writing():
            db.session.execute(delete(UserSession).where(UserSession.id == record.id))
        return None
    if now - record.last_seen_at > TOUCH_INTERVAL:
        with writing():
            db.session.execute(
                update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now)
            )
    user = record.user
    if not user.is_active:
        return None
    user.session_key = key
    return user


def end_session(key: str | None) -> None:
    """Forget a session key, so that every copy of its cookie stops working. Commits (in a
    writing() block of the caller's, at its end)."""
    if key:
        with writing():
            db.session.execute(delete(UserSession).where(UserSession.key_hash == _key_hash(key)))


def end_all_sessions(user: User) -> None:
    """End every session of a user (used when an account is disabled). The caller commits."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
