"""Groups: their classes and roles, who is a member, and in which roles.

A membership (GroupMember) holds one detail row (GroupMemberDetail) per role, each with its own
dates. As in iMIS, a membership is ended by removing its details: when the last one goes, the
membership goes too, so a client that removes every detail and then adds the party again works.

Functions flush; the caller commits. Ids are matched in any letter case, as SQL Server does.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from imis_mock.extensions import db
from imis_mock.models import Contact, Group, GroupClass, GroupMember, GroupMemberDetail, GroupRole
from imis_mock.services import ServiceError, audit, clock, values
from imis_mock.services.activities import party

# Rows iMIS ships with (created by migration 0011) that clients name by id.
PURCHASED_PRODUCTS_CLASS_ID = "E88E66B1-9516-47F9-88DC-E2EB8A3EF13E"
MEMBER_ROLE_ID = "29AAE912-660E-4C53-B884-AD9EE27DEE0C"
STATUS_CODES = {"A": "Active", "I": "Inactive"}


def ensure_shipped_rows() -> None:
    """Add the group classes and role a new iMIS database has, where missing (after a reset).

    Migration 0011 creates the same rows in a new database; a migration keeps its own frozen copy.
    """
    classes = (
        (
            PURCHASED_PRODUCTS_CLASS_ID,
            "Purchased Products",
            "Groups of the people who bought a product",
            True,
        ),
        ("EVENT", "Event", "Groups of the people registered for an event", False),
    )
    for imis_id, name, description, date_limited in classes:
        if db.session.scalar(select(GroupClass).where(GroupClass.imis_key == imis_id.lower())):
            continue
        db.session.add(
            GroupClass(
                imis_id=imis_id,
                imis_key=imis_id.lower(),
                name=name,
                description=description,
                is_read_only=True,
                is_date_limited=date_limited,
                is_system=True,
            )
        )
    if db.session.scalar(select(GroupRole).where(GroupRole.imis_id == MEMBER_ROLE_ID)) is None:
        db.session.add(
            GroupRole(
                imis_id=MEMBER_ROLE_ID,
                name="Member",
                description="Member",
                use_dates=True,
                priority=100,
                is_active=True,
            )
        )
    db.session.flush()


def new_guid() -> str:
    """Return a new id in the form iMIS gives its GUIDs (upper case)."""
    return str(uuid.uuid4()).upper()


def guid(value: object, name: str, *, field: str | None = None) -> str:
    """Return a GUID in upper case, or say that the value is not one."""
    try:
        return str(uuid.UUID(str(value).strip())).upper()
    except ValueError:
        raise ServiceError(f"{name} must be a GUID like {MEMBER_ROLE_ID}.", field) from None


# Group classes and roles


def list_group_classes() -> list[GroupClass]:
    return list(db.session.scalars(select(GroupClass).order_by(GroupClass.name)))


def get_group_class(class_id: object) -> GroupClass | None:
    key = str(class_id or "").strip().lower()
    return db.session.scalar(select(GroupClass).where(GroupClass.imis_key == key))


def create_group_class(
    name: str,
    *,
    class_id: str | None = None,
    description: str = "",
    is_date_limited: bool = False,
    actor: str,
) -> GroupClass:
    """Add a group class (an id is generated when none is given); flush."""
    name = values.text(name, "Name", 100, field="name")
    if not name:
        raise ServiceError("Name is required.", "name")
    imis_id = values.text(class_id, "GroupClassId", 50, field="class_id") or new_guid()
    if get_group_class(imis_id) is not None:
        raise ServiceError(f"Group class {imis_id} already exists.", "class_id")
    group_class = GroupClass(
        imis_id=imis_id,
        imis_key=imis_id.lower(),
        name=name,
        description=values.text(description, "Description", 255, field="description"),
        is_date_limited=is_date_limited,
    )
    db.session.add(group_class)
    db.session.flush()
    audit.record("group_class.create", "success", actor=actor, detail={"class_id": imis_id})
    return group_class


def list_roles() -> list[GroupRole]:
    return list(db.session.scalars(select(GroupRole).order_by(GroupRole.priority, GroupRole.name)))


def get_role(role: object) -> GroupRole | None:
    """Return the role with this RoleId, or else with this name (any case), or None."""
    text = str(role or "").strip()
    if not text:
        return None
    found = db.session.scalar(select(GroupRole).where(GroupRole.imis_id == text.upper()))
    return found or db.session.scalar(
        select(GroupRole).where(func.lower(GroupRole.name) == text.lower())
    )


def create_role(
    name: str,
    *,
    role_id: str | None = None,
    description: str = "",
    use_dates: bool = False,
    priority: int = 100,
    actor: str,
) -> GroupRole:
    """Add a group role; flush."""
    name = values.text(name, "Name", 60, field="name")
    if not name:
        raise ServiceError("Name is required.", "name")
    imis_id = guid(role_id, "RoleId", field="role_id") if role_id else new_guid()
    existing = get_role(imis_id) or get_role(name)
    if existing is not None:
        raise ServiceError(f"Role {existing.name} already exists.", "name")
    role = GroupRole(
        imis_id=imis_id,
        name=name,
        description=values.text(description, "Description", 255, field="description") or name,
        use_dates=use_dates,
        priority=priority,
    )
    db.session.add(role)
    db.session.flush()
    audit.record("group_role.create", "success", actor=actor, detail={"role_id": imis_id})
    return role


def role(value: object) -> GroupRole:
    """Return the role a RoleId or role name names (Member when none is given), or refuse."""
    found = get_role(value or MEMBER_ROLE_ID)
    if found is None:
        raise ServiceError(f"Role {value} does not exist.", "role")
    return found


# Groups


def group_query(*, group_class_id: str | None = None, name: str | None = None) -> Select:
    """Groups by name, of a class (GroupClassId), or with a name (any case)."""
    query = select(Group).order_by(Group.name, Group.id)
    if group_class_id:
        query = query.join(Group.group_class).where(
            GroupClass.imis_key == group_class_id.strip().lower()
        )
    if name:
        query = query.where(func.lower(Group.name) == name.strip().lower())
    return query


def list_groups(**filters) -> list[Group]:
    return list(db.session.scalars(group_query(**filters)))


def get_group(group_id: object) -> Group | None:
    key = str(group_id or "").strip().lower()
    if not key:
        return None
    return db.session.scalar(select(Group).where(Group.imis_key == key))


def create_group(
    name: str,
    *,
    group_id: str | None = None,
    group_class_id: str | None = None,
    description: str = "",
    category: str = "",
    status_code: str = "A",
    actor: str,
) -> Group:
    """Add a group; flush. The id is the client's ("9YEAR") or a new GUID.

    A group without a class is put in Purchased Products, the class iMIS's own sample uses.
    """
    name = values.text(name, "Name", 100, field="name")
    if not name:
        raise ServiceError("Name is required.", "name")
    imis_id = values.text(group_id, "GroupId", 50, field="group_id") or new_guid()
    if get_group(imis_id) is not None:
        raise ServiceError(f"Group {imis_id} already exists.", "group_id")
    group_class = get_group_class(group_class_id or PURCHASED_PRODUCTS_CLASS_ID)
    if group_class is None:
        raise ServiceError(f"Group class {group_class_id} does not exist.", "group_class_id")
    status = values.text(status_code, "StatusCode", 1, field="status_code").upper() or "A"
    if status not in STATUS_CODES:
        raise ServiceError("StatusCode must be A (active) or I (inactive).", "status_code")
    group = Group(
        imis_id=imis_id,
        imis_key=imis_id.lower(),
        name=name,
        description=values.text(description, "Description", 255, field="description"),
        category=values.text(category, "GroupCategory", 50, field="category"),
        status_code=status,
        group_class=group_class,
    )
    db.session.add(group)
    db.session.flush()
    audit.record("group.create", "success", actor=actor, detail={"group_id": imis_id})
    return group


# Members


@dataclass
class RoleDates:
    """One role to hold in a group (a detail row), as a client or a form gives it."""

    role: object = MEMBER_ROLE_ID  # a RoleId or a role name
    effective_date: datetime | date | str | None = None
    expiration_date: datetime | date | str | None = None
    is_active: bool = True
    detail_id: str | None = None  # GroupMemberDetailId: keeps (or names) the row


def member_query(
    *, group_id: str | None = None, party_id: str | None = None, active: bool | None = None
) -> Select:
    """Memberships of a group (GroupId), of a party (iMIS ID), or both; by group, then name."""
    query = (
        select(GroupMember)
        .join(GroupMember.group)
        .join(GroupMember.contact)
        .options(selectinload(GroupMember.details).selectinload(GroupMemberDetail.role))
        .order_by(Group.name, Contact.last_name, Contact.first_name, GroupMember.id)
    )
    if group_id is not None:
        query = query.where(Group.imis_key == str(group_id).strip().lower())
    if party_id is not None:
        query = query.where(Contact.imis_id == str(party_id).strip())
    if active is not None:
        query = query.where(GroupMember.is_active.is_(active))
    return query


def list_members(**filters) -> list[GroupMember]:
    return list(db.session.scalars(member_query(**filters)))


def get_member(member_id: object) -> GroupMember | None:
    try:
        key = guid(member_id, "GroupMemberId")
    except ServiceError:
        return None
    return db.session.scalar(select(GroupMember).where(GroupMember.imis_id == key))


def get_detail(detail_id: object) -> GroupMemberDetail | None:
    try:
        key = guid(detail_id, "GroupMemberDetailId")
    except ServiceError:
        return None
    return db.session.scalar(select(GroupMemberDetail).where(GroupMemberDetail.imis_id == key))


def _group(group_id: object) -> Group:
    group = get_group(group_id)
    if group is None:
        if not str(group_id or "").strip():
            raise ServiceError("GroupId is required.", "group_id")
        raise ServiceError(f"Group {group_id} does not exist.", "group_id")
    return group


def _details(member: GroupMember | None, roles: list[RoleDates]) -> list[GroupMemberDetail]:
    """Check the roles and return the detail rows for them (existing rows kept by their id)."""
    if not roles:
        raise ServiceError("A member needs at least one role.", "role")
    mine = {d.imis_id: d for d in member.details} if member else {}
    checked, seen = [], set()
    for spec in roles:  # every role is checked before any row changes
        found = role(spec.role)
        start = values.naive_datetime(spec.effective_date, "EffectiveDate", field="effective_date")
        end = values.naive_datetime(spec.expiration_date, "ExpirationDate", field="expiration_date")
        if start and end and end < start:
            raise ServiceError("ExpirationDate cannot be before EffectiveDate.", "expiration_date")
        active = values.boolean(spec.is_active, "IsActive", field="is_active")
        detail_id = guid(spec.detail_id, "GroupMemberDetailId") if spec.detail_id else None
        if detail_id and detail_id in seen:
            raise ServiceError(f"GroupMemberDetailId {detail_id} is given twice.", "role")
        if detail_id and detail_id not in mine and get_detail(detail_id) is not None:
            raise ServiceError(f"GroupMemberDetailId {detail_id} is already used.", "role")
        seen.add(detail_id)
        checked.append((detail_id, found, start, end, active))
    rows = []
    for detail_id, found, start, end, active in checked:
        row = mine.get(detail_id) or GroupMemberDetail(imis_id=detail_id or new_guid())
        row.role, row.effective_date, row.expiration_date, row.is_active = found, start, end, active
        rows.append(row)
    return rows


def add_member(
    group_id: object,
    party_id: object,
    *,
    roles: list[RoleDates] | None = None,
    join_date: object = None,
    actor: str,
) -> GroupMember:
    """Make a party a member of a group, as a Member unless other roles are given; flush.

    A party is a member of a group once: to change roles, update the membership.
    """
    group, contact = _group(group_id), party(party_id)
    existing = db.session.scalar(
        select(GroupMember).where(
            GroupMember.group_id == group.id, GroupMember.contact_id == contact.id
        )
    )
    if existing is not None:
        raise ServiceError(
            f"Party {contact.imis_id} is already a member of {group.name}"
            f" (GroupMemberId {existing.imis_id}).",
            "party_id",
        )
    details = _details(None, roles or [RoleDates()])
    joined = values.naive_datetime(join_date, "JoinDate", field="join_date")
    if joined is None:
        now = clock.now()
        joined = datetime(now.year, now.month, now.day)
    member = GroupMember(
        imis_id=new_guid(), group=group, contact=contact, join_date=joined, details=details
    )
    db.session.add(member)
    db.session.flush()
    audit.record(
        "group.member.add",
        "success",
        actor=actor,
        detail={"group_id": group.imis_id, "party_id": contact.imis_id, "id": member.imis_id},
    )
    return member


def update_member(
    member: GroupMember,
    *,
    roles: list[RoleDates] | None = None,
    join_date: object = None,
    is_active: object = None,
    actor: str,
) -> None:
    """Replace a membership's roles (details kept by GroupMemberDetailId), join date, status.

    What is None is left as it is. Flush.
    """
    joined = values.naive_datetime(join_date, "JoinDate", field="join_date")
    active = None if is_active is None else values.boolean(is_active, "IsActive", field="is_active")
    if roles is not None:
        member.details = _details(member, roles)
    if joined is not None:
        member.join_date = joined
    if active is not None:
        member.is_active = active
    db.session.flush()
    audit.record(
        "group.member.update",
        "success",
        actor=actor,
        detail={"member_id": member.imis_id, "roles": [d.role.name for d in member.details]},
    )


def update_detail(detail: GroupMemberDetail, spec: RoleDates, *, actor: str) -> None:
    """Change one role of a membership (its role, dates, status), keeping the others; flush."""
    specs = [
        replace(spec, detail_id=d.imis_id)
        if d is detail
        else RoleDates(d.role.imis_id, d.effective_date, d.expiration_date, d.is_active, d.imis_id)
        for d in detail.member.details
    ]
    update_member(detail.member, roles=specs, actor=actor)


def remove_detail(detail: GroupMemberDetail, *, actor: str) -> bool:
    """Remove one role of a membership; the membership goes with its last role. Flush.

    Return whether the membership was removed too.
    """
    member = detail.member
    member.details.remove(detail)
    gone = not member.details
    if gone:
        db.session.delete(member)
    db.session.flush()
    audit.record(
        "group.member.remove" if gone else "group.member.update",
        "success",
        actor=actor,
        detail={"member_id": member.imis_id, "detail_id": detail.imis_id},
    )
    return gone


def remove_member(member: GroupMember, *, actor: str) -> None:
    """End a membership with all its roles; flush."""
    db.session.delete(member)
    db.session.flush()
    audit.record(
        "group.member.remove", "success", actor=actor, detail={"member_id": member.imis_id}
    )


def member_counts() -> dict[int, int]:
    """Return the number of memberships of each group, by the group's row id."""
    rows = db.session.execute(
        select(GroupMember.group_id, func.count()).group_by(GroupMember.group_id)
    )
    return dict(rows.all())
