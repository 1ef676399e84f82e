"""Staff site > RiSE > Intelligent Query Architect, nested under the staff blueprint (so its
staff-only guard applies)."""

from flask import Blueprint

bp = Blueprint("iqa", __name__)

from imis_mock.iqa import routes  # noqa: E402,F401
