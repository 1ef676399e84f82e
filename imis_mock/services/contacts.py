"""Staff maintenance of contacts: search, edit the fields the API returns, disable sign-in.

Two staff saving the same contact at once: the last save wins; both are in the audit trail.
"""

from sqlalchemy import Select, func, or_, select

from imis_mock.extensions import db
from imis_mock.models import Contact, User
from imis_mock.services import ServiceError, accounts, audit, parties, tokens

# iMIS CustomerTypeCode values the mock knows, with the names the staff site shows.
MEMBER_TYPES = {"M": "Member", "NM": "Non-member", "STAFF": "Staff"}
# What the Overview tab edits: a person's names and the name of the organization they work for;
# an organization's own name. The rest both kinds share.
PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "organization", "member_type")
ORGANIZATION_FIELDS = ("organization", "email", "phone", "member_type")


def editable_fields(contact: Contact) -> tuple[str, ...]:
    """The columns the staff contact form edits for this kind of party."""
    return ORGANIZATION_FIELDS if contact.is_organization else PERSON_FIELDS


def member_types_for(contact: Contact) -> dict[str, str]:
    """The member types a contact may be given: the known ones, and the code it has now.

    A party written through the API may carry a code the mock has no name for (the demo
    organization's "CM"); keeping it must not make the form unsavable.
    """
    current = contact.member_type
    if current and current not in MEMBER_TYPES:
        return {**MEMBER_TYPES, current: current}
    return dict(MEMBER_TYPES)


def search_query(text: str = "") -> Select:
    """Contacts whose name, iMIS ID or email contains the text (any letter case), by name."""
    query = select(Contact).order_by(Contact.last_name, Contact.first_name, Contact.id)
    needle = text.strip().lower()
    if needle:
        full_name = func.lower(Contact.first_name + " " + Contact.last_name)
        columns = (Contact.first_name, Contact.last_name, Contact.imis_id, Contact.email)
        query = query.where(
            or_(
                full_name.contains(needle, autoescape=True),
                *(func.lower(c).contains(needle, autoescape=True) for c in columns),
            )
        )
    return query


def get_contact(imis_id: str) -> Contact | None:
    return db.session.scalar(select(Contact).where(Contact.imis_id == imis_id))


def update_contact(contact: Contact, *, actor: User, **values: str) -> list[str]:
    """Apply new field values, audit what changed and commit; return the changed fields.

    A person needs a first and last name; an organization needs its name, and has no person
    names to give (values for fields its kind lacks are ignored).
    """
    fields = editable_fields(contact)
    values = {k: (v or "").strip() for k, v in values.items() if k in fields}
    if contact.is_organization:
        if not values.get("organization"):
            raise ServiceError("Enter the organization name.", "organization")
    elif not values.get("first_name") or not values.get("last_name"):
        raise ServiceError("Enter a first and last name.", "first_name")
    if values.get("member_type") not in member_types_for(contact):
        raise ServiceError("Choose a member type.", "member_type")
    accounts.refuse_control_characters(values)
    changed = [k for k, v in values.items() if getattr(contact, k) != v]
    for name in changed:
        setattr(contact, name, values[name])
    if contact.is_organization and "organization" in changed:
        parties.repeat_organization_name(contact)
    if changed:
        audit.record(
            "contact.update",
            "success",
            actor=actor.username,
            username=contact.user.username if contact.user else "",
            detail={"imis_id": contact.imis_id, "changed": changed},
        )
    db.session.commit()
    return changed


def set_sign_in_disabled(user: User, disabled: bool, *, actor: User) -> None:
    """Disable (or enable again) a user's sign-in; disabling ends their sessions. Commits.

    Disabling also revokes their refresh and access tokens, so enabling the account again does
    not bring them back: the user signs in again for new ones.
    """
    if user.id == actor.id and disabled:
        raise ServiceError("You cannot disable your own sign-in.")
    user.is_disabled = disabled
    if disabled:
        accounts.end_all_sessions(user)
        tokens.revoke_user_tokens(user.id)
    audit.record(
        "user.disable" if disabled else "user.enable",
        "success",
        actor=actor.username,
        username=user.username,
        detail={"imis_id": user.imis_id},
    )
    db.session.commit()
