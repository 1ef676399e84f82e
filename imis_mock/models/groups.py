"""Groups (committees, chapters, event and product groups), their classes, roles and members.

Every table has an integer primary key for joins and `imis_id`, the id the API shows: a GUID, or a
code a client chose ("9YEAR", "EVENT"). SQL Server matches those in any letter case, so codes keep
their spelling and are looked up by `imis_key` (lower case); GUIDs are stored upper case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imis_mock.models.base import Base, UTCDateTime, utcnow
from imis_mock.models.contacts import Contact


class GroupClass(Base):
    """A kind of group (iMIS GroupClassSummaryData): Committee, Chapter, Event, Products."""

    __tablename__ = "group_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    imis_id: Mapped[str] = mapped_column(String(50))
    imis_key: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(255), default="")
    is_read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # Memberships of a date-limited class carry effective and expiration dates.
    is_date_limited: Mapped[bool] = mapped_column(Boolean, default=False)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)


class GroupRole(Base):
    """A role a member holds in a group (iMIS GroupRoleData): Member, Chair, Secretary, ..."""

    __tablename__ = "group_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    imis_id: Mapped[str] = mapped_column(String(36), unique=True)  # GUID, upper case
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    use_dates: Mapped[bool] = mapped_column(Boolean, default=False)
    # Lower comes first when a member's roles are listed (Chair before Member).
    priority: Mapped[int] = mapped_column(Integer, default=100)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Group(Base):
    """A group (iMIS GroupData). iMIS's own table is GroupMain, hence the name."""

    __tablename__ = "group_main"

    id: Mapped[int] = mapped_column(primary_key=True)
    imis_id: Mapped[str] = mapped_column(String(50))
    imis_key: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    category: Mapped[str] = mapped_column(String(50), default="")  # iMIS GroupCategory
    status_code: Mapped[str] = mapped_column(String(1), default="A")  # "A" active, "I" inactive
    group_class_id: Mapped[int] = mapped_column(
        ForeignKey("group_classes.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    group_class: Mapped[GroupClass] = relationship()
    members: Mapped[list[GroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", passive_deletes=True
    )


class GroupMember(Base):
    """A party's membership of a group (iMIS GroupMemberData); its roles are the details."""

    __tablename__ = "group_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    imis_id: Mapped[str] = mapped_column(String(36), unique=True)  # GUID, upper case
    group_id: Mapped[int] = mapped_column(ForeignKey("group_main.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    join_date: Mapped[datetime | None] = mapped_column(DateTime, default=None)  # naive, as iMIS
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    group: Mapped[Group] = relationship(back_populates="members")
    contact: Mapped[Contact] = relationship()
    details: Mapped[list[GroupMemberDetail]] = relationship(
        back_populates="member",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="GroupMemberDetail.id",
    )

    # One membership per party and group (its unique index also serves ?GroupId=).
    __table_args__ = (UniqueConstraint("group_id", "contact_id"),)


class GroupMemberDetail(Base):
    """One role of a membership, with its dates (iMIS GroupMemberDetailData)."""

    __tablename__ = "group_member_details"

    id: Mapped[int] = mapped_column(primary_key=True)
    imis_id: Mapped[str] = mapped_column(String(36), unique=True)  # GUID, upper case
    member_id: Mapped[int] = mapped_column(
        ForeignKey("group_members.id", ondelete="CASCADE"), index=True
    )
    role_id: Mapped[int] = mapped_column(
        ForeignKey("group_roles.id", ondelete="RESTRICT"), index=True
    )
    effective_date: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    expiration_date: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    member: Mapped[GroupMember] = relationship(back_populates="details")
    role: Mapped[GroupRole] = relationship()

    @property
    def contact_id(self) -> int:
        """The party whose membership this is (the API's access rule reads it)."""
        return self.member.contact_id
