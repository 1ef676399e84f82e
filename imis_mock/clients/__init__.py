"""Staff site > RiSE > Maintenance > Client applications (nested in the staff blueprint, whose
before_request guard admits staff only)."""

from flask import Blueprint

bp = Blueprint("clients", __name__)


@bp.after_request
def no_store(response):
    # The add and edit pages can carry a secret being typed or proposed: never cache them.
    response.headers["Cache-Control"] = "no-store"
    return response


from imis_mock.clients import routes  # noqa: E402,F401
