"""The Staff site, under /staff. One guard in before_request covers every staff view."""

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

bp = Blueprint("staff", __name__)

PUBLIC_ENDPOINTS = {"staff.sign_in"}


@bp.before_request
def require_staff():
    """Send anonymous visitors to the staff sign-in page; refuse signed-in non-staff with 403."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("staff.sign_in", next=request.full_path.rstrip("?")))
    if not current_user.is_staff:
        abort(403)
    return None


from imis_mock.contacts import bp as contacts_bp  # noqa: E402
from imis_mock.staff import routes  # noqa: E402,F401

bp.register_blueprint(contacts_bp, url_prefix="/Contacts")
