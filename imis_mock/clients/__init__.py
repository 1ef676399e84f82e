"""Staff site > RiSE > Maintenance > Client applications (nested in the staff blueprint, whose
before_request guard admits staff only)."""

from flask import Blueprint

bp = Blueprint("clients", __name__)

# Its pages are never cached (they can carry a secret): security.py's rule for every page built
# from the cookie session.


from imis_mock.clients import routes  # noqa: E402,F401
