"""Staff groups pages, nested under the staff blueprint (so its staff-only guard applies)."""

from flask import Blueprint

bp = Blueprint("groups", __name__)

from imis_mock.groups import routes  # noqa: E402,F401
