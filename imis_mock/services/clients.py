"""Client applications (RiSE > Maintenance > Client applications): the rules for adding,
editing, replacing the secret of and deleting them.

Every check raises ServiceError(message, field) with the field names of the staff form, so a view
can show the message next to its field. The form calls the same clean_* functions, so there is
one copy of each rule. Secrets are stored only as the keyed hash from services.secrets.
"""

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from imis_mock.extensions import db
from imis_mock.models import ClientApplication
from imis_mock.models.base import utcnow
from imis_mock.services import ServiceError, audit, content, secrets, tokens

CLIENT_ID_MAX = 50
SECRET_MAX = 200
# A shorter secret can be guessed: the attacker's probe found a 2-character one in 288 requests.
# 32 characters of the Generate button's alphabet are 192 bits.
SECRET_MIN = 32
LIFETIME_MIN = 1
LIFETIME_MAX = 60  # iMIS: "The maximum allowed value is 60".
LIFETIME_DEFAULT = 30  # iMIS: "An input of 30 is recommended".
REDIRECT_URL_MAX = 2000
REDIRECT_SCHEMES = ("http", "https")  # http for any host: local testing is the main use.

DUPLICATE_MESSAGE = "A client application with this Client ID already exists."
LIFETIME_MESSAGE = f"Enter a whole number of minutes from {LIFETIME_MIN} to {LIFETIME_MAX}."
URL_MESSAGE = "Enter an absolute http or https URL, such as https://app.example.com/sso."
# Printable ASCII that RFC 3986 never allows unencoded in a URL ("#" has its own message).
URL_FORBIDDEN = set('<>"`{}|\\^')
HOSTNAME = re.compile(r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*\.?")


@dataclass(frozen=True)
class ClientRow:
    """A client application with the counts the list page shows."""

    client: ClientApplication
    sso_content_items: int
    active_refresh_tokens: int


# --- The rules for each field ---------------------------------------------------------------


def client_id_key(client_id: str) -> str:
    """Return the key that makes Client IDs unique regardless of letter case."""
    return client_id.strip().lower()


def clean_client_id(value: str | None) -> str:
    """Return the Client ID without surrounding spaces, or raise if it breaks a rule."""
    client_id = (value or "").strip()
    if not client_id:
        raise ServiceError("Enter a Client ID.", "client_id")
    if len(client_id) > CLIENT_ID_MAX:
        raise ServiceError(f"A Client ID has at most {CLIENT_ID_MAX} characters.", "client_id")
    if any(not ch.isprintable() for ch in client_id):
        raise ServiceError("A Client ID cannot contain control characters.", "client_id")
    return client_id


def check_client_id_unchanged(client: ClientApplication, posted: str | None) -> None:
    """Refuse a Client ID that differs from the saved one (it cannot be edited after saving)."""
    if (posted or "").strip() != client.client_id:
        raise ServiceError(
            "The Client ID cannot be changed after the client application is saved.", "client_id"
        )


def clean_secret(value: str | None) -> str:
    """Return the client secret exactly as typed, or raise if it breaks a rule.

    The secret is not trimmed or case-folded: /token compares it exactly. Surrounding spaces are
    refused instead, because they are nearly always a copy-and-paste slip that would make every
    /token request fail.
    """
    secret = value or ""
    if not secret:
        raise ServiceError("Enter a Client secret.", "client_secret")
    if len(secret) > SECRET_MAX:
        raise ServiceError(f"A Client secret has at most {SECRET_MAX} characters.", "client_secret")
    if secret != secret.strip():
        raise ServiceError("A Client secret cannot start or end with a space.", "client_secret")
    if any(not ch.isprintable() for ch in secret):
        raise ServiceError("A Client secret cannot contain control characters.", "client_secret")
    if len(secret) < SECRET_MIN:
        raise ServiceError(
            f"A Client secret needs at least {SECRET_MIN} characters, so that it cannot be "
            "guessed. Generate makes a strong one.",
            "client_secret",
        )
    return secret


def clean_lifetime(value: str | int | None) -> int:
    """Return the refresh token lifetime in minutes (a whole number from 1 to 60)."""
    if isinstance(value, bool):
        raise ServiceError(LIFETIME_MESSAGE, "refresh_token_lifetime")
    if isinstance(value, int):
        minutes = value
    else:
        text = (value or "").strip()
        # ASCII digits only: int() would also take "1_0", " +5" or Arabic-Indic digits.
        if not re.fullmatch(r"[0-9]{1,6}", text, re.ASCII):
            raise ServiceError(LIFETIME_MESSAGE, "refresh_token_lifetime")
        minutes = int(text)
    if not LIFETIME_MIN <= minutes <= LIFETIME_MAX:
        raise ServiceError(LIFETIME_MESSAGE, "refresh_token_lifetime")
    return minutes


def clean_redirect_url(value: str | None) -> str:
    """Return the Login redirect URL if it is an absolute http(s) URL the rules allow."""
    url = value or ""
    field = "redirect_url"
    if not url:
        raise ServiceError("Enter the Login redirect URL.", field)
    if len(url) > REDIRECT_URL_MAX:
        raise ServiceError(f"A URL has at most {REDIRECT_URL_MAX:,} characters.", field)
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ServiceError("A URL cannot contain spaces or control characters.", field)
    if "#" in url:
        raise ServiceError("A Login redirect URL cannot have a fragment (#...).", field)
    if any(ch in URL_FORBIDDEN for ch in url) or re.search(r"%(?![0-9A-Fa-f]{2})", url):
        raise ServiceError(
            'That is not a valid URL: encode characters such as < > " { } | \\ ^ ` and %.', field
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise ServiceError(URL_MESSAGE, field) from None
    has_authority = url[len(parts.scheme) :].startswith("://")
    if parts.scheme.lower() not in REDIRECT_SCHEMES or not has_authority:
        raise ServiceError(URL_MESSAGE, field)
    if "@" in parts.netloc:
        raise ServiceError("A Login redirect URL cannot contain a user name or password.", field)
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    try:
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number from 0 to 65535)
    except ValueError:
        raise ServiceError(URL_MESSAGE, field) from None
    if not (HOSTNAME.fullmatch(host) or _is_ipv6_literal(host)):
        raise ServiceError(URL_MESSAGE, field)
    return url


def _is_ipv6_literal(host: str) -> bool:
    if not (host.startswith("[") and host.endswith("]")):
        return False
    try:
        ipaddress.IPv6Address(host[1:-1])
    except ValueError:
        return False
    return True


# --- Queries ------------------------------------------------------------------------------


def get_client(pk: int) -> ClientApplication | None:
    return db.session.get(ClientApplication, pk)


def find_client(client_id: str) -> ClientApplication | None:
    """Return the client application with this Client ID, in any letter case."""
    return db.session.scalar(
        select(ClientApplication).where(ClientApplication.client_id_key == client_id_key(client_id))
    )


def sso_content_titles(client: ClientApplication) -> list[str]:
    """Return the titles of the content records whose Single Sign-On content item uses `client`."""
    return [record.title for record in content.sso_records_using(client)]


def list_clients() -> list[ClientRow]:
    """Return every client application, by Client ID, with its usage counts."""
    clients = db.session.scalars(
        select(ClientApplication).order_by(ClientApplication.client_id_key)
    ).all()
    active = tokens.active_refresh_token_counts()
    return [ClientRow(c, len(sso_content_titles(c)), active.get(c.id, 0)) for c in clients]


def version_of(client: ClientApplication) -> str:
    """Return the edit version a form carries, so a concurrent change can be noticed on save."""
    return client.updated_at.isoformat()


# --- Changes ------------------------------------------------------------------------------


def create_client(
    client_id: str, secret: str, refresh_token_lifetime: str | int, redirect_url: str, *, actor: str
) -> ClientApplication:
    """Add a client application and commit; raise ServiceError (and save nothing) on a bad value."""
    client_id = clean_client_id(client_id)
    secret = clean_secret(secret)
    lifetime = clean_lifetime(refresh_token_lifetime)
    redirect_url = clean_redirect_url(redirect_url)
    duplicate = ServiceError(DUPLICATE_MESSAGE, "client_id")
    if find_client(client_id) is not None:
        raise duplicate
    client = ClientApplication(
        client_id=client_id,
        client_id_key=client_id_key(client_id),
        secret_hash=secrets.client_secret_hash(secret),
        refresh_token_lifetime=lifetime,
        redirect_url=redirect_url,
    )
    db.session.add(client)
    try:
        db.session.flush()
    except IntegrityError:
        # Another staff user added the same Client ID a moment ago.
        db.session.rollback()
        raise duplicate from None
    audit.record(
        "client_application.create",
        "success",
        actor=actor,
        client_id=client_id,
        detail={"refresh_token_lifetime": lifetime, "redirect_url": redirect_url},
    )
    db.session.commit()
    return client


def update_client(
    client: ClientApplication,
    *,
    client_id: str | None,
    new_secret: str | None,
    refresh_token_lifetime: str | int,
    redirect_url: str,
    version: str | None,
    actor: str,
) -> ClientApplication:
    """Save an edit and commit. A blank `new_secret` keeps the old one; a new one replaces it and
    revokes the client's access tokens.

    `client_id` is what the form posted: the Client ID cannot change, so anything else is refused.
    `version` is version_of(client) when the form was opened: if someone saved in between, the
    edit is refused rather than silently overwriting theirs.
    """
    check_client_id_unchanged(client, client_id)
    secret = clean_secret(new_secret) if new_secret else None
    lifetime = clean_lifetime(refresh_token_lifetime)
    redirect_url = clean_redirect_url(redirect_url)
    expected = _parse_version(version)

    values = {"refresh_token_lifetime": lifetime, "redirect_url": redirect_url}
    if secret is not None:
        values["secret_hash"] = secrets.client_secret_hash(secret)
    changes = {
        name: {"from": getattr(client, name), "to": value}
        for name, value in values.items()
        if name != "secret_hash" and getattr(client, name) != value
    }
    # Compare-and-set on updated_at: the row changes only if nobody saved since the form opened.
    result = db.session.execute(
        update(ClientApplication)
        .where(ClientApplication.id == client.id, ClientApplication.updated_at == expected)
        .values(**values, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        db.session.rollback()
        audit.record(
            "client_application.update",
            "failure",
            actor=actor,
            client_id=client.client_id,
            error_code="conflict",
            commit=True,
        )
        raise ServiceError(
            "Another staff user saved this client application while you were editing it. "
            "The saved values are shown below; make your changes again and click Save."
        )
    if secret is not None:
        tokens.revoke_client_access_tokens(client)
        changes["client_secret"] = "replaced"
    audit.record(
        "client_application.update",
        "success",
        actor=actor,
        client_id=client.client_id,
        detail=changes,
    )
    db.session.commit()
    db.session.refresh(client)
    return client


def _parse_version(version: str | None) -> datetime:
    try:
        parsed = datetime.fromisoformat(version or "")
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        # A hand-made POST without the form's version: refuse it like a concurrent change.
        raise ServiceError(
            "This form is out of date. The saved values are shown below; make your changes "
            "again and click Save."
        )
    return parsed


def deletion_blocker(client: ClientApplication) -> str | None:
    """Return why the client application cannot be deleted now, or None if it can."""
    titles = sso_content_titles(client)
    if not titles:
        return None
    named = ", ".join(f"“{title}”" for title in titles)
    return (
        f"{client.client_id} cannot be deleted because a Single Sign-On content item uses it "
        f"in these content records: {named}. Remove those content items first."
    )


def delete_client(client: ClientApplication, *, actor: str) -> None:
    """Delete a client application and all of its tokens, and commit.

    Refused while a Single Sign-On content item uses it: the message names the content records.
    """
    blocker = deletion_blocker(client)
    if blocker:
        audit.record(
            "client_application.delete",
            "failure",
            actor=actor,
            client_id=client.client_id,
            error_code="in_use",
            detail={"content_records": sso_content_titles(client)},
            commit=True,
        )
        raise ServiceError(blocker)
    active = tokens.count_active_refresh_tokens(client)
    tokens.revoke_client_tokens(client)
    client_id = client.client_id
    db.session.delete(client)  # The token rows go with it (ON DELETE CASCADE).
    audit.record(
        "client_application.delete",
        "success",
        actor=actor,
        client_id=client_id,
        detail={"active_refresh_tokens_revoked": active},
    )
    db.session.commit()
