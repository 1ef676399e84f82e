"""Staff site > RiSE > Panel designer, nested under the staff blueprint (so its staff-only guard
applies). A contact's own panel rows are on the contact page's Panels tab (contacts/related.py)."""

from flask import Blueprint

bp = Blueprint("panels", __name__)

from imis_mock.panels import routes  # noqa: E402,F401
