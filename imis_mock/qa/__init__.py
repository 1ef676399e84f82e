"""Staff site > QA console: SSO activity, tokens, fault injection, the clock, Simulate SSO.

A nested blueprint of the Staff site, so the Staff site's one guard covers it.
"""

from flask import Blueprint

bp = Blueprint("qa", __name__)

from imis_mock.qa import routes  # noqa: E402,F401
