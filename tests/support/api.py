"""The REST API's wire: access tokens for users, generic entity bodies and a bearer HTTP caller."""

import requests
from flask import Flask

from imis_mock.extensions import db
from imis_mock.services import accounts, tokens

CORE = "Asi.Soa.Core.DataContracts"
GENERIC = f"{CORE}.GenericEntityData, Asi.Contracts"


def mint(app: Flask, username: str = "jsmith") -> str:
    """An access token for the user, as /token would issue (password grant, no client)."""
    with app.app_context():
        user = accounts.ensure_guest() if username == "GUEST" else accounts.get_user(username)
        raw, _ = tokens.issue_access_token(user, None, grant_type="password")
        db.session.commit()
        return raw


def prop(name, value=None):
    """A GenericPropertyData; without a value it has no Value key."""
    data = {"$type": f"{CORE}.GenericPropertyData, Asi.Contracts", "Name": name}
    if value is not None:
        data["Value"] = value
    return data


def activity_body(*properties) -> dict:
    """A bare GenericEntityData as PM-V2.1 posts it: no EntityTypeName, no Identity."""
    return {
        "$type": GENERIC,
        "Properties": {
            "$type": f"{CORE}.GenericPropertyDataCollection, Asi.Contracts",
            "$values": list(properties),
        },
    }


def bag(entity: dict) -> dict:
    """The Properties bag as a dict; a property with no Value is None."""
    return {p["Name"]: p.get("Value") for p in entity["Properties"]["$values"]}


def values(page: dict) -> list:
    """The items of a PagedResult."""
    return page["Items"]["$values"]


class Http:
    """requests against the live server, with a bearer token for the named user."""

    def __init__(self, app, url):
        self.app, self.url, self.tokens = app, url, {}

    def __call__(self, method, path, user="MANAGER", headers=None, **kwargs):
        if user not in self.tokens:
            self.tokens[user] = mint(self.app, user)
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **(headers or {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
