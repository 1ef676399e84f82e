"""Contacts (iMIS calls them parties), their user accounts, and signed-in sessions."""

from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from imis_mock.models.base import Base, UTCDateTime, utcnow

GUEST_USERNAME = "GUEST"


class PartyNames:
    """The names derived from a party's name columns.

    Shared by Contact and by services.parties.PartyRecord (the same columns read with SQLAlchemy
    Core for the API's hot path), so both derive them by one rule.
    """

    @property
    def full_name(self) -> str:
        if self.is_organization:
            return self.organization
        names = (self.prefix, self.first_name, self.middle_name, self.last_name)
        full = " ".join(p for p in names if p)
        return f"{full}, {self.suffix}" if self.suffix else full

    @property
    def display_name(self) -> str:
        if self.is_organization:
            return self.organization
        return f"{self.informal_name or self.first_name} {self.last_name}".strip()

    @property
    def sort_name(self) -> str:
        if self.is_organization:
            return self.organization
        return f"{self.last_name}, {self.first_name}"


class Contact(PartyNames, Base):
    """A party in the membership database (a person or an organization), with a numeric ID.

    An organization keeps its name in `organization` and leaves the person names empty. A person
    who works for an organization on file links to it with `organization_party_id` (iMIS's
    PrimaryOrganization.OrganizationPartyId); `organization` then repeats its name.
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    imis_id: Mapped[str] = mapped_column(String(20), unique=True)
    uniform_id: Mapped[str] = mapped_column(String(36), unique=True)
    prefix: Mapped[str] = mapped_column(String(20), default="")
    first_name: Mapped[str] = mapped_column(String(60))
    middle_name: Mapped[str] = mapped_column(String(60), default="")
    last_name: Mapped[str] = mapped_column(String(60))
    suffix: Mapped[str] = mapped_column(String(20), default="")
    is_organization: Mapped[bool] = mapped_column(Boolean, default=False)
    organization_party_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None, index=True
    )
    informal_name: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    organization: Mapped[str] = mapped_column(String(120), default="")
    title: Mapped[str] = mapped_column(String(80), default="")
    # iMIS CustomerTypeCode: "M" member, "NM" non-member, "STAFF" staff.
    member_type: Mapped[str] = mapped_column(String(20), default="M")
    # iMIS PartyStatusId: "A" active, "I" inactive.
    status: Mapped[str] = mapped_column(String(1), default="A")
    address_line: Mapped[str] = mapped_column(String(120), default="")
    city: Mapped[str] = mapped_column(String(60), default="")
    region: Mapped[str] = mapped_column(String(20), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country_code: Mapped[str] = mapped_column(String(2), default="")
    join_date: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship(back_populates="contact")
    employer: Mapped[Contact | None] = relationship(remote_side=[id])


_employer = Contact.__table__.alias("employer")
# The iMIS ID of the organization a person works for, loaded with the row (lists need no extra
# query per row): PrimaryOrganization.OrganizationPartyId.
Contact.employer_imis_id = column_property(
    select(_employer.c.imis_id)
    .where(_employer.c.id == Contact.organization_party_id)
    .correlate_except(_employer)
    .scalar_subquery()
)

# GET /api/Party?lastname=startsWith:S reads this index, so the filter's cost follows the matches,
# not the table (api/engine/filters.py compares lower(column)).
Index("ix_contacts_lower_last_name", func.lower(Contact.last_name))


class User(UserMixin, Base):
    """A sign-in account. Staff accounts use the Staff site; member accounts the member site.

    The built-in GUEST user (no password, no contact) is who anonymous visitors are in iMIS.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    # Lower-cased username: usernames are unique regardless of letter case, as in iMIS.
    username_key: Mapped[str] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), unique=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    contact: Mapped[Contact | None] = relationship(back_populates="user")

    # Set by the session loader: Flask-Login stores this key, not the user id, in the cookie, so
    # that ending the server-side session row ends every copy of the cookie.
    session_key = None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return not self.is_disabled and not self.is_guest

    def get_id(self) -> str | None:
        return self.session_key

    @property
    def imis_id(self) -> str:
        return self.contact.imis_id if self.contact else self.username


class UserSession(Base):
    """A signed-in browser session. Only a hash of its key is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    site: Mapped[str] = mapped_column(String(10))  # "member" or "staff"
    persistent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    touches: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship()


class PartyStatus(Base):
    """A party status code (iMIS's PartyStatus lookup table): "A" Active, "I" Inactive, ..."""

    __tablename__ = "party_statuses"

    code: Mapped[str] = mapped_column(String(1), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(120), default="")
    # iMIS 20.3.235 adds ActiveStatus ("Active" or "Inactive") to PartyStatusData [C: PM-ENT].
    active_status: Mapped[str] = mapped_column(String(20), default="Active")
