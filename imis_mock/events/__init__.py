"""Staff events pages, nested under the staff blueprint (so its staff-only guard applies)."""

from flask import Blueprint

bp = Blueprint("events", __name__)

from imis_mock.events import routes  # noqa: E402,F401
