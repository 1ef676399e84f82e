"""Settings on the Staff site (nested in the staff blueprint, so staff only)."""

from flask import Blueprint

bp = Blueprint("site_settings", __name__)

from imis_mock.site_settings import routes  # noqa: E402,F401
