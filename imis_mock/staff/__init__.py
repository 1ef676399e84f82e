"""The Staff site, under /staff. One guard in before_request covers every staff view."""

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from imis_mock.services import audit

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
        # Shown in the QA console's activity: a tester sees why their member got a 403.
        audit.record(
            "staff.forbidden",
            "failure",
            actor=current_user.username,
            username=current_user.username,
            error_code="403",
            detail={"method": request.method, "path": request.path},
            commit=True,
        )
        abort(403)
    return None


# Staff features are nested blueprints, so the guard above covers them too.
from imis_mock.clients import bp as clients_bp  # noqa: E402
from imis_mock.contacts import bp as contacts_bp  # noqa: E402
from imis_mock.content import bp as content_bp  # noqa: E402
from imis_mock.events import bp as events_bp  # noqa: E402
from imis_mock.groups import bp as groups_bp  # noqa: E402
from imis_mock.iqa import bp as iqa_bp  # noqa: E402
from imis_mock.panels import bp as panels_bp  # noqa: E402
from imis_mock.qa import bp as qa_bp  # noqa: E402
from imis_mock.site_settings import bp as site_settings_bp  # noqa: E402
from imis_mock.staff import routes  # noqa: E402,F401

bp.register_blueprint(clients_bp, url_prefix="/RiSE/Maintenance/ClientApplications")
bp.register_blueprint(content_bp, url_prefix="/RiSE/PageBuilder/ManageContent")
bp.register_blueprint(contacts_bp, url_prefix="/Contacts")
bp.register_blueprint(groups_bp, url_prefix="/Groups")
bp.register_blueprint(events_bp, url_prefix="/Events")
bp.register_blueprint(site_settings_bp, url_prefix="/Settings")
bp.register_blueprint(qa_bp, url_prefix="/QA")
bp.register_blueprint(iqa_bp, url_prefix="/RiSE/IQA")
bp.register_blueprint(panels_bp, url_prefix="/RiSE/PanelDesigner")
