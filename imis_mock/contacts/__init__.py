"""Staff contacts pages, nested under the staff blueprint (so its staff-only guard applies)."""

from flask import Blueprint

bp = Blueprint("contacts", __name__)

from imis_mock.contacts import business, related, routes  # noqa: E402,F401
