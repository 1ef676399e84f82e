"""The member site, at /."""

from flask import Blueprint

bp = Blueprint("member", __name__)

from imis_mock.member import routes  # noqa: E402,F401
