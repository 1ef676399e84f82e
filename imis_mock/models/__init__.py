"""All models, imported here so that Alembic and the app see every table."""

from imis_mock.models.activities import Activity
from imis_mock.models.audit import AuditEvent
from imis_mock.models.contacts import GUEST_USERNAME, Contact, PartyStatus, User, UserSession
from imis_mock.models.content import ContentFolder, ContentItem, ContentRecord
from imis_mock.models.groups import Group, GroupClass, GroupMember, GroupMemberDetail, GroupRole
from imis_mock.models.iqa import IqaFolder, IqaQuery, PanelRow, PanelSource
from imis_mock.models.oauth import AccessToken, ClientApplication, RefreshToken
from imis_mock.models.qa import FAULT_MODES, ClientFault
from imis_mock.models.records import BusinessRecord
from imis_mock.models.settings import AppSetting
from imis_mock.models.throttle import SignInThrottle

__all__ = [
    "Activity",
    "Group",
    "IqaFolder",
    "IqaQuery",
    "PanelRow",
    "PanelSource",
    "GroupClass",
    "GroupMember",
    "GroupMemberDetail",
    "GroupRole",
    "FAULT_MODES",
    "ClientFault",
    "GUEST_USERNAME",
    "AccessToken",
    "AppSetting",
    "AuditEvent",
    "BusinessRecord",
    "ClientApplication",
    "Contact",
    "ContentFolder",
    "ContentItem",
    "ContentRecord",
    "PartyStatus",
    "RefreshToken",
    "SignInThrottle",
    "User",
    "UserSession",
]
