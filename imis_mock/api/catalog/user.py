"""User (reference §3.5, behaviour §4): logins; list, get, create, and FindByUserName.

A user's UserId is its party's id (`GET /api/User/216`); GUEST has no party and uses its
username. POST /api/User creates a login for a party that has none, without a password [I].
"""

from sqlalchemy import func, select

from imis_mock.api.catalog.party import party_summary
from imis_mock.api.engine import access, bodies
from imis_mock.api.engine.bodies import Body
from imis_mock.api.engine.entity import Entity, Prop
from imis_mock.api.engine.errors import AccessDenied, ApiError
from imis_mock.api.engine.wire import MEMBERSHIP, collection, contract, net_datetime
from imis_mock.models import Contact, User
from imis_mock.services import accounts, parties

USER_DATA = contract(MEMBERSHIP, "UserData")
# [I] Roles: iMIS gives each user security roles; the mock gives staff "SysAdmin", every other
# account "Member", and GUEST none.
STAFF_ROLES = ("SysAdmin",)
MEMBER_ROLES = ("Member",)
FAR_FUTURE = "9999-12-31T00:00:00"
USER_ID = func.coalesce(Contact.imis_id, User.username)


def roles(user: User) -> list[str]:
    if user.is_guest:
        return []
    return list(STAFF_ROLES if user.is_staff else MEMBER_ROLES)


def user_data(user: User) -> dict:
    """UserData. GUEST has IsAnonymous true and no Party. The flag is spelled IsDisable
    [C: PM-ENT 20.3.235, reference §3.6]."""
    role_values = [
        {"$type": contract(MEMBERSHIP, "RoleData"), "RoleName": name, "Description": name}
        for name in roles(user)
    ]
    data = {
        "$type": USER_DATA,
        "EffectiveDate": net_datetime(user.created_at.date()),
        "ExpirationDate": FAR_FUTURE,
        "IsDisable": user.is_disabled,
        "IsAnonymous": user.is_guest,
        "Roles": collection(contract(MEMBERSHIP, "RoleDataCollection"), role_values),
        "UserId": user.imis_id,
        "UserName": user.username,
    }
    if user.contact is not None and not user.is_guest:
        data["Party"] = party_summary(user.contact)
    return data


def first_parameter(body: Body) -> str:
    """The first of a GenericExecuteRequest's Parameters: a typed string or a bare one."""
    values = body.items("Parameters")
    value = values[0] if values else None
    if not isinstance(value, str):
        raise ApiError("FindByUserName needs one parameter: the username.")
    return value


def find_by_username(caller, body: Body) -> dict | None:
    """FindByUserName: the user (any letter case); None if staff ask for nobody; others 403."""
    username = first_parameter(body)
    user = accounts.get_user(username) if username.strip() else None
    if not access.is_staff(caller) and (user is None or user.id != caller.id):
        raise AccessDenied()
    return user_data(user) if user is not None else None


def read(body: Body, row) -> dict:
    party = body.get("Party")
    party_id = party.get("PartyId") if isinstance(party, Body) else None
    return {
        "username": bodies.text(body.get("UserName"), "UserName", required=True),
        "party": bodies.text(party_id or body.get("UserId"), "Party.PartyId", required=True),
        "disabled": bodies.boolean(body.get("IsDisable"), "IsDisable"),
    }


def write(values: dict, row, caller) -> User:
    return parties.create_login(
        values["party"], values["username"], disabled=values["disabled"], actor=caller.username
    )


USER = Entity(
    name="User",
    description="A user account (a login) and its party.",
    item_type=USER_DATA,
    properties=(
        Prop("UserId", column=USER_ID, identity=True),
        Prop("UserName", column=User.username),
        Prop("IsDisable", "Boolean", column=User.is_disabled),
        Prop("IsAnonymous", "Boolean", column=User.is_guest),
        Prop("EffectiveDate", "Date"),
        Prop("ExpirationDate", "Date"),
        Prop("Roles.RoleName"),
        Prop("Party.PartyId", column=Contact.imis_id),
        Prop("Party.Email", column=Contact.email),
        Prop("Party.Phone", column=Contact.phone),
        Prop("Party.Name"),
    ),
    query=lambda: select(User).outerjoin(Contact, User.contact_id == Contact.id),
    key=(USER_ID,),
    order=(User.id,),
    identity="text",
    verbs=frozenset(
        {"list", "get", "create", "execute", "validate", "haspermission", "changelog", "metadata"}
    ),
    aliases={
        "PartyId": "Party.PartyId",
        "Email": "Party.Email",
        "Phone": "Party.Phone",
        # The spelling the mock used before IsDisable was confirmed; clients may filter on it.
        "IsDisabled": "IsDisable",
    },
    owner=("user", User.id),
    member_writes=frozenset(),
    id_properties=("UserId",),
    collections={"Roles": "collection"},
    operations={"findbyusername": find_by_username},
    to_wire=user_data,
    read=read,
    write=write,
)

ENTITIES = (USER,)
