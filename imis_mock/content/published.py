"""Published content records on the member site: /{folder path}/{Publish file name}.aspx."""

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from imis_mock.content import published_bp, sso_item
from imis_mock.forms import SignInForm
from imis_mock.services import content


@published_bp.get("/<aspx:path>")
def page(path: str):
    """Show a published record, after the access checks; a Single Sign-On item takes over."""
    record = content.find_published(path)
    if record is None:
        abort(404)
    if not current_user.is_authenticated:
        if record.published_requires_login:
            return redirect(url_for("member.sign_in", next=request.full_path.rstrip("?")))
        if content.is_secure(record):
            return render_template("published/sign_in_required.html", record=record), 403
    item = content.sso_item(record)
    if item is not None:
        return sso_item.respond(record, item)
    response = render_template(
        "published/page.html",
        record=record,
        sign_in_form=SignInForm(),
        sign_in_next=request.full_path.rstrip("?"),
    )
    if content.is_secure(record) or record.published_requires_login:
        return response, 200, {"Cache-Control": "private, no-store"}
    return response
