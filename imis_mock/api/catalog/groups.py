"""Groups (reference §6): Group, GroupSummary, GroupMember, GroupMemberSummary, GroupMemberDetail.

The rules are in services/groups.py; these entries give iMIS's shapes, filters and verbs:
- Group: list, get, POST (no PUT, no DELETE [C: PM-CLOUD]); GroupSummary: list and get.
- GroupMember: list, get, POST (201), PUT; no DELETE: a membership ends when its last detail row
  is deleted (`DELETE /api/GroupMemberDetail/{id}` [C: iMIS-bits]).
- GroupMemberSummary: a GroupMember without MembershipDetails [I].
Everyone reads groups; staff write them. A member's token reads its own memberships; writing
memberships is staff's [I: joining a group in a role is not a member's own change to make].
"""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from imis_mock.api.catalog.party import party_summary
from imis_mock.api.engine import bodies
from imis_mock.api.engine.bodies import Body
from imis_mock.api.engine.entity import Changes, Entity, Prop
from imis_mock.api.engine.errors import Invalid
from imis_mock.api.engine.wire import (
    MEMBERSHIP,
    collection,
    compact,
    contract,
    identity,
    net_datetime,
)
from imis_mock.models import Contact, Group, GroupClass, GroupMember, GroupMemberDetail, GroupRole
from imis_mock.services import groups

GROUP_DATA = contract(MEMBERSHIP, "GroupData")
GROUP_SUMMARY_DATA = contract(MEMBERSHIP, "GroupSummaryData")
GROUP_MEMBER_DATA = contract(MEMBERSHIP, "GroupMemberData")
GROUP_MEMBER_SUMMARY_DATA = contract(MEMBERSHIP, "GroupMemberSummaryData")
GROUP_MEMBER_DETAIL_DATA = contract(MEMBERSHIP, "GroupMemberDetailData")
# [C: PM-V2.1] every group sample sits under the "Public Groups" parent.
PUBLIC_GROUPS = identity("Public", ["Public Groups"])
READ_ONLY = frozenset({"list", "get", "validate", "haspermission", "changelog", "metadata"})


def group_class_summary(group_class: GroupClass) -> dict:
    return {
        "$type": contract(MEMBERSHIP, "GroupClassSummaryData"),
        "GroupClassId": group_class.imis_id,
        "Name": group_class.name,
        "Description": group_class.description,
        "IsReadOnly": group_class.is_read_only,
        "IsDateLimited": group_class.is_date_limited,
        "IsSystem": group_class.is_system,
    }


def group_summary(group: Group, type_name: str = GROUP_SUMMARY_DATA) -> dict:
    """GroupSummaryData, the Group nested in a membership (GroupData adds ParentIdentity)."""
    data = {
        "$type": type_name,
        "GroupCategory": group.category,
        "GroupId": group.imis_id,
        "Name": group.name,
        "Description": group.description,
        "GroupClass": group_class_summary(group.group_class),
        "StatusCode": group.status_code,
    }
    if type_name == GROUP_DATA:
        data["ParentIdentity"] = PUBLIC_GROUPS
    return data


def group_data(group: Group) -> dict:
    return group_summary(group, GROUP_DATA)


def role_data(role: GroupRole) -> dict:
    return {
        "$type": contract(MEMBERSHIP, "GroupRoleData"),
        "RoleId": role.imis_id,
        "Description": role.description,
        "Name": role.name,
        "UseDates": role.use_dates,
    }


def detail_data(detail: GroupMemberDetail) -> dict:
    return compact(
        {
            "$type": GROUP_MEMBER_DETAIL_DATA,
            "GroupMemberDetailId": detail.imis_id,
            "GroupMemberId": detail.member.imis_id,
            "Stage": {"$type": contract(MEMBERSHIP, "GroupStageData")},
            "EffectiveDate": net_datetime(detail.effective_date),
            "ExpirationDate": net_datetime(detail.expiration_date),
            "IsActive": detail.is_active,
            "Role": role_data(detail.role),
        }
    )


def member_summary(member: GroupMember, type_name: str = GROUP_MEMBER_SUMMARY_DATA) -> dict:
    data = {"$type": type_name, "GroupMemberId": member.imis_id}
    if type_name == GROUP_MEMBER_DATA:
        data["MembershipDetails"] = collection(
            contract(MEMBERSHIP, "GroupMemberDetailDataCollection"),
            [detail_data(d) for d in member.details],
        )
    data["Group"] = group_summary(member.group)
    data["Party"] = party_summary(member.contact)
    return compact(
        {**data, "JoinDate": net_datetime(member.join_date), "IsActive": member.is_active}
    )


def member_data(member: GroupMember) -> dict:
    return member_summary(member, GROUP_MEMBER_DATA)


# --- Reading write bodies ----------------------------------------------------------------------


def read_group(body: Body, row) -> dict:
    return {
        "name": body.get("Name"),
        "group_id": body.get("GroupId"),
        "group_class_id": body.get("GroupClass.GroupClassId"),
        "description": body.get("Description") or "",
        "category": body.get("GroupCategory") or "",
        "status_code": body.get("StatusCode") or "A",
    }


def write_group(values: dict, row, caller) -> Group:
    return groups.create_group(actor=caller.username, **values)


def role_dates(detail: Body) -> groups.RoleDates:
    role = detail.get("Role")
    named = None
    if isinstance(role, Body):
        named = role.get("RoleId") or role.get("Name")
    return groups.RoleDates(
        role=named or groups.MEMBER_ROLE_ID,
        effective_date=detail.get("EffectiveDate"),
        expiration_date=detail.get("ExpirationDate"),
        is_active=bodies.boolean(detail.get("IsActive"), "IsActive", default=True),
        detail_id=detail.get("GroupMemberDetailId"),
    )


def read_member(body: Body, row: GroupMember | None) -> dict:
    """Group.GroupId and Party.PartyId (a PUT may leave them out), JoinDate, IsActive, and the
    MembershipDetails (none on a POST: the Member role)."""
    group_id = body.get("Group.GroupId") or body.get("GroupId")
    party_id = body.get("Party.PartyId") or body.get("Party.Id") or body.get("PartyId")
    if row is not None:
        if group_id and str(group_id).strip().lower() != row.group.imis_key:
            raise Invalid("A membership cannot move to another group.")
        if party_id and str(party_id).strip() != row.contact.imis_id:
            raise Invalid("A membership cannot move to another party.")
    details = [d for d in body.items("MembershipDetails") if isinstance(d, Body)]
    return {
        "group_id": group_id,
        "party_id": party_id,
        "roles": [role_dates(d) for d in details] or None,
        "join_date": body.get("JoinDate"),
        "is_active": body.get("IsActive"),
    }


def write_member(values: dict, row: GroupMember | None, caller) -> GroupMember:
    if row is None:
        return groups.add_member(
            values["group_id"],
            values["party_id"],
            roles=values["roles"],
            join_date=values["join_date"],
            actor=caller.username,
        )
    groups.update_member(
        row,
        roles=values["roles"],
        join_date=values["join_date"],
        is_active=values["is_active"],
        actor=caller.username,
    )
    return row


def read_detail(body: Body, row) -> dict:
    return {"spec": role_dates(body)}


def write_detail(values: dict, row: GroupMemberDetail, caller) -> GroupMemberDetail:
    groups.update_detail(row, values["spec"], actor=caller.username)
    return row


def remove_detail(row: GroupMemberDetail, caller) -> None:
    groups.remove_detail(row, actor=caller.username)


# --- Entries -----------------------------------------------------------------------------------

GROUP_PROPS = (
    Prop("GroupId", column=Group.imis_id, identity=True),
    Prop("Name", column=Group.name),
    Prop("Description", column=Group.description),
    Prop("GroupCategory", column=Group.category),
    Prop("StatusCode", column=Group.status_code),
    Prop("GroupClass.GroupClassId", column=GroupClass.imis_id),
    Prop("GroupClass.Name", column=GroupClass.name),
)
GROUP_ALIASES = {"GroupClassId": "GroupClass.GroupClassId", "GroupName": "Name"}


def _groups():
    return select(Group).join(Group.group_class)


# The audit events services.groups records, which the changelogs serve.
GROUP_CHANGES = Changes({"group.create": ("Add", "group_id")})
MEMBER_CHANGES = Changes(
    {"group.member.add": ("Add", "id"), "group.member.update": ("Change", "member_id")}
)

GROUP = Entity(
    name="Group",
    description="A group: a committee, a chapter, an event's or a product's buyers.",
    item_type=GROUP_DATA,
    properties=GROUP_PROPS,
    query=_groups,
    key=(Group.imis_id,),
    order=(Group.name, Group.id),
    identity="text",
    verbs=READ_ONLY | {"create"},
    aliases=GROUP_ALIASES,
    changes=GROUP_CHANGES,
    id_properties=("GroupId",),
    to_wire=group_data,
    read=read_group,
    write=write_group,
)

GROUP_SUMMARY = Entity(
    name="GroupSummary",
    description="A group, in short.",
    item_type=GROUP_SUMMARY_DATA,
    properties=GROUP_PROPS,
    query=_groups,
    key=(Group.imis_id,),
    order=(Group.name, Group.id),
    identity="text",
    verbs=READ_ONLY,
    aliases=GROUP_ALIASES,
    changes=GROUP_CHANGES,
    to_wire=group_summary,
)

MEMBER_PROPS = (
    Prop("GroupMemberId", column=GroupMember.imis_id, identity=True),
    Prop("Group.GroupId", column=Group.imis_id),
    Prop("Group.Name", column=Group.name),
    Prop("Group.GroupClass.GroupClassId", column=GroupClass.imis_id),
    Prop("Party.PartyId", column=Contact.imis_id),
    Prop("Party.Name"),
    Prop("Party.Email", column=Contact.email),
    Prop("JoinDate", "Date", column=GroupMember.join_date),
    Prop("IsActive", "Boolean", column=GroupMember.is_active),
)
MEMBER_ALIASES = {
    "GroupId": "Group.GroupId",
    "GroupClassId": "Group.GroupClass.GroupClassId",
    "PartyId": "Party.PartyId",
    "Email": "Party.Email",
}


def _members():
    return (
        select(GroupMember)
        .join(GroupMember.group)
        .join(Group.group_class)
        .join(GroupMember.contact)
        .options(selectinload(GroupMember.details).selectinload(GroupMemberDetail.role))
    )


MEMBER_OWNER = ("party", GroupMember.contact_id)

GROUP_MEMBER = Entity(
    name="GroupMember",
    description="A party's membership of a group, with its roles (MembershipDetails).",
    item_type=GROUP_MEMBER_DATA,
    properties=(
        *MEMBER_PROPS,
        Prop("MembershipDetails.GroupMemberDetailId"),
        Prop("MembershipDetails.Role.RoleId"),
        Prop("MembershipDetails.Role.Name"),
        Prop("MembershipDetails.EffectiveDate", "Date"),
        Prop("MembershipDetails.ExpirationDate", "Date"),
    ),
    query=_members,
    key=(GroupMember.imis_id,),
    order=(GroupMember.id,),
    identity="guid",
    verbs=READ_ONLY | {"create", "replace"},
    aliases=MEMBER_ALIASES,
    owner=MEMBER_OWNER,
    changes=MEMBER_CHANGES,
    member_writes=frozenset(),
    id_properties=("GroupMemberId",),
    collections={"MembershipDetails": "collection"},
    to_wire=member_data,
    read=read_member,
    write=write_member,
)

GROUP_MEMBER_SUMMARY = Entity(
    name="GroupMemberSummary",
    description="A membership in short: the group and the party, without the roles.",
    item_type=GROUP_MEMBER_SUMMARY_DATA,
    properties=MEMBER_PROPS,
    query=_members,
    key=(GroupMember.imis_id,),
    order=(GroupMember.id,),
    identity="guid",
    verbs=READ_ONLY,
    aliases=MEMBER_ALIASES,
    owner=MEMBER_OWNER,
    changes=MEMBER_CHANGES,
    to_wire=member_summary,
)

GROUP_MEMBER_DETAIL = Entity(
    name="GroupMemberDetail",
    description="One role of a membership, with its dates; deleting the last ends it.",
    item_type=GROUP_MEMBER_DETAIL_DATA,
    properties=(
        Prop("GroupMemberDetailId", column=GroupMemberDetail.imis_id, identity=True),
        Prop("GroupMemberId", column=GroupMember.imis_id),
        Prop("Role.RoleId", column=GroupRole.imis_id),
        Prop("Role.Name", column=GroupRole.name),
        Prop("EffectiveDate", "Date", column=GroupMemberDetail.effective_date),
        Prop("ExpirationDate", "Date", column=GroupMemberDetail.expiration_date),
        Prop("IsActive", "Boolean", column=GroupMemberDetail.is_active),
    ),
    query=lambda: (
        select(GroupMemberDetail)
        .join(GroupMemberDetail.member)
        .join(GroupMemberDetail.role)
        .join(GroupMember.group)
        .join(GroupMember.contact)
    ),
    key=(GroupMemberDetail.imis_id,),
    order=(GroupMemberDetail.id,),
    identity="guid",
    verbs=frozenset({"list", "get", "replace", "delete", "haspermission", "metadata"}),
    aliases={
        "GroupId": Prop("GroupId", column=Group.imis_id),
        "PartyId": Prop("PartyId", column=Contact.imis_id),
        "RoleId": "Role.RoleId",
    },
    owner=("party", GroupMember.contact_id),
    member_writes=frozenset(),
    id_properties=("GroupMemberDetailId",),
    to_wire=detail_data,
    read=read_detail,
    write=write_detail,
    remove=remove_detail,
)

ENTITIES = (GROUP, GROUP_SUMMARY, GROUP_MEMBER, GROUP_MEMBER_SUMMARY, GROUP_MEMBER_DETAIL)
