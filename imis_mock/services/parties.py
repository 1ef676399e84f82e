"""Parties (contacts) and their logins as the REST API reads and writes them.

The API's catalog (imis_mock/api/catalog/party.py, user.py) turns iMIS's data contracts into the
plain values these functions take, and back. Rules live here: what a party needs, which
organization a person works for, what a login needs. Errors are ServiceErrors, which the API
answers as ValidationResultsData (400); the caller commits.
"""

import uuid

from sqlalchemy import bindparam, delete, select, update

from imis_mock.database import CompiledSelect
from imis_mock.extensions import db
from imis_mock.models import Contact, PartyStatus, User
from imis_mock.models.contacts import PartyNames
from imis_mock.services import ServiceError, accounts, audit, panels
from imis_mock.services.accounts import UserRecord

# The columns a party write sets; anything else (ids, timestamps) the mock assigns.
PARTY_COLUMNS = (
    "is_organization",
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "informal_name",
    "email",
    "phone",
    "organization",
    "organization_party_id",
    "title",
    "member_type",
    "status",
    "address_line",
    "city",
    "region",
    "postal_code",
    "country_code",
    "join_date",
)
# Lengths of the contacts columns, for messages rather than database errors.
LIMITS = {
    c.name: c.type.length
    for c in Contact.__table__.columns
    if c.name in PARTY_COLUMNS and getattr(c.type, "length", None)
}
DEFAULT_STATUSES = {"A": "Active", "I": "Inactive"}


class PartyRecord(PartyNames):
    """A party's columns as plain attributes (the names of Contact's), read with SQLAlchemy Core.

    GET /api/Party/{id} is the call every SSO client makes; loading a Contact through the ORM
    cost more than shaping the answer, and the answer only reads columns. The API's shapes take
    a PartyRecord or a Contact alike.
    """

    def __init__(self, row: dict):
        self.__dict__.update(row)


CONTACTS = Contact.__table__
EMPLOYER_IMIS_ID = Contact.employer_imis_id.label("employer_imis_id")
# Built and compiled once with bind parameters: building a statement on every call cost more
# than running it.
_PARTY = select(*CONTACTS.c, EMPLOYER_IMIS_ID)
_PARTY_BY_IMIS_ID = CompiledSelect(_PARTY.where(CONTACTS.c.imis_id == bindparam("p_imis_id")))
_PARTY_BY_ID = CompiledSelect(_PARTY.where(CONTACTS.c.id == bindparam("p_id")))
_OWN_PARTY_BY_IMIS_ID = CompiledSelect(
    _PARTY.where(CONTACTS.c.imis_id == bindparam("p_imis_id"), CONTACTS.c.id == bindparam("p_id"))
)


def party_row(imis_id: str, *, own_contact_id: int | None = None) -> PartyRecord | None:
    """Read one party by iMIS ID; with own_contact_id, only if it is that contact."""
    if own_contact_id is None:
        row = _PARTY_BY_IMIS_ID.first(p_imis_id=imis_id)
    else:
        row = _OWN_PARTY_BY_IMIS_ID.first(p_imis_id=imis_id, p_id=own_contact_id)
    return PartyRecord(row) if row is not None else None


def party_of(user: UserRecord) -> PartyRecord | None:
    """Return the user's own party, or None (GUEST and staff without a contact have none)."""
    contact_id = None if user.is_guest else user.contact_id
    row = _PARTY_BY_ID.first(p_id=contact_id) if contact_id is not None else None
    return PartyRecord(row) if row is not None else None


# --- Writes ----------------------------------------------------------------------------------


def status_names() -> dict[str, str]:
    """Party status codes and names from the PartyStatus table (A and I when it is empty)."""
    rows = db.session.execute(select(PartyStatus.code, PartyStatus.name)).all()
    return {code: name for code, name in rows} or dict(DEFAULT_STATUSES)


def find_organization(imis_id: str) -> Contact:
    organization = db.session.scalar(
        select(Contact).where(Contact.imis_id == imis_id.strip(), Contact.is_organization)
    )
    if organization is None:
        raise ServiceError(f"There is no organization with the id '{imis_id}'.")
    return organization


def _check(values: dict, employer_imis_id: str | None) -> dict:
    """Apply the rules a party must meet; return the column values to store."""
    values = {k: v for k, v in values.items() if k in PARTY_COLUMNS}
    for name, limit in LIMITS.items():
        text = values.get(name)
        if isinstance(text, str) and len(text) > limit:
            raise ServiceError(f"{name.replace('_', ' ').capitalize()} is too long (max {limit}).")
    if values.get("is_organization"):
        if not values.get("organization"):
            raise ServiceError("Organization name is required.")
        values.update(first_name="", middle_name="", last_name="", prefix="", suffix="")
        values.update(informal_name="", title="", organization_party_id=None)
    elif not values.get("last_name"):
        raise ServiceError("Last name is required.")
    email = values.get("email") or ""
    if email and ("@" not in email or any(c.isspace() for c in email)):
        raise ServiceError(f"'{email}' is not a valid email address.")
    status = values.get("status") or "A"
    if status not in status_names():
        raise ServiceError(f"'{status}' is not a party status.")
    values["status"] = status
    values["member_type"] = values.get("member_type") or "NM"
    if employer_imis_id and not values.get("is_organization"):
        employer = find_organization(employer_imis_id)
        values["organization_party_id"] = employer.id
        values["organization"] = employer.organization
    elif not values.get("is_organization"):
        values["organization_party_id"] = None
    if not values.get("is_organization") and not values.get("informal_name"):
        values["informal_name"] = values.get("first_name", "")
    return values


def checked_values(values: dict, *, employer_imis_id: str | None) -> dict:
    """Apply the party rules to all of a party's values; return the columns to store."""
    return _check(values, employer_imis_id)


def create_party(
    values: dict, *, employer_imis_id: str | None, actor: str, imis_id: str | None = None
) -> Contact:
    """Add a new party (person or organization) with a UniformId and the given iMIS ID (a
    scenario's; the caller has checked it is free) or a fresh one."""
    checked = _check(values, employer_imis_id)
    imis_id = imis_id or accounts.next_imis_id()
    contact = Contact(imis_id=imis_id, uniform_id=str(uuid.uuid4()), **checked)
    db.session.add(contact)
    db.session.flush()
    panels.add_party_rows(contact)
    audit.record("contact.create", "success", actor=actor, detail={"imis_id": contact.imis_id})
    return contact


def replace_party(
    contact: Contact, values: dict, *, employer_imis_id: str | None, actor: str
) -> Contact:
    """Replace a party's fields with the values of a full entity (missing ones become empty)."""
    checked = _check(values, employer_imis_id)
    changed = [k for k, v in checked.items() if getattr(contact, k) != v]
    for name in changed:
        setattr(contact, name, checked[name])
    if contact.is_organization and "organization" in changed:
        repeat_organization_name(contact)
    if changed:
        audit.record(
            "contact.update",
            "success",
            actor=actor,
            username=contact.user.username if contact.user else "",
            detail={"imis_id": contact.imis_id, "changed": changed},
        )
    return contact


def repeat_organization_name(organization: Contact) -> None:
    """Give the persons who work for a renamed organization its new name (each repeats it in
    `organization`, which is what their PrimaryOrganization.Name shows)."""
    db.session.execute(
        update(Contact)
        .where(Contact.organization_party_id == organization.id)
        .values(organization=organization.organization)
        .execution_options(synchronize_session="fetch")
    )


def delete_party(contact: Contact, *, actor: str) -> None:
    """Delete a party; its login, sessions and tokens go with it (the database cascades)."""
    detail = {"imis_id": contact.imis_id}
    username = contact.user.username if contact.user else ""
    contact_id = contact.id
    db.session.expunge_all()
    db.session.execute(delete(Contact).where(Contact.id == contact_id))
    audit.record("contact.delete", "success", actor=actor, username=username, detail=detail)


def create_login(party_imis_id: str, username: str, *, disabled: bool, actor: str) -> User:
    """Create a user account for a party that has none. No password: iMIS sets passwords through
    another operation [I, §3.5], so the login cannot sign in until one is set."""
    contact = db.session.scalar(select(Contact).where(Contact.imis_id == party_imis_id.strip()))
    if contact is None:
        raise ServiceError(f"There is no party with the id '{party_imis_id}'.")
    if contact.user is not None:
        raise ServiceError(f"The party '{party_imis_id}' already has a user.")
    name = accounts.validate_username(username)
    if accounts.get_user(name) is not None:
        raise ServiceError(f"The user name '{name}' is already used.")
    user = User(
        username=name,
        username_key=accounts.username_key(name),
        is_disabled=disabled,
        contact=contact,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create", "success", actor=actor, username=name, detail={"imis_id": contact.imis_id}
    )
    return user


# --- IQA -------------------------------------------------------------------------------------


def user_info_rows(caller: UserRecord) -> list[dict]:
    """The Laravel Socialite provider's `$/OAuth2/userInfo` IQA: the caller's own row.

    The query joins UserData to PartyData on the logged-in user's party, so GUEST (no party)
    gets no row, which is how that provider tells a guest apart.
    """
    contact = party_of(caller)
    if contact is None:
        return []
    return [
        {
            "sub": contact.uniform_id,
            "username": caller.username,
            "email": contact.email,
            "given_name": contact.first_name,
            "family_name": contact.last_name,
        }
    ]


# IQA queries the mock knows, by lower-cased path.
QUERIES = {"$/oauth2/userinfo": user_info_rows}
