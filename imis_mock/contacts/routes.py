"""Staff contacts: find a contact, view and edit it, disable or enable its sign-in."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from imis_mock.contacts import bp
from imis_mock.contacts.forms import contact_form
from imis_mock.extensions import db
from imis_mock.forms import ConfirmForm
from imis_mock.services import ServiceError, contacts

PER_PAGE = 25


@bp.get("/")
def index():
    q = request.args.get("q", "")[:100]
    page = db.paginate(contacts.search_query(q), per_page=PER_PAGE, error_out=False)
    return render_template(
        "staff/contacts/index.html", page=page, q=q, member_types=contacts.MEMBER_TYPES
    )


def contact_or_404(imis_id: str):
    contact = contacts.get_contact(imis_id)
    if contact is None:
        abort(404)
    return contact


@bp.route("/<imis_id>", methods=["GET", "POST"])
def edit(imis_id: str):
    contact = contact_or_404(imis_id)
    form = contact_form(contact)
    if form.validate_on_submit():
        try:
            changed = contacts.update_contact(
                contact, actor=current_user, **{name: form[name].data for name in form.FIELDS}
            )
        except ServiceError as error:
            db.session.rollback()
            form[error.field or form.FIELDS[0]].errors.append(error.message)
        else:
            flash("Contact saved." if changed else "Nothing changed.", "success")
            return redirect(url_for(".edit", imis_id=imis_id), code=303)
    return render_template(
        "staff/contacts/edit.html", contact=contact, form=form, confirm=ConfirmForm()
    )


@bp.post("/<imis_id>/SignIn")
def sign_in_access(imis_id: str):
    """Disable or enable the contact's sign-in (the button posts `disable=1` or `disable=0`)."""
    contact = contact_or_404(imis_id)
    if contact.user is None or not ConfirmForm().validate_on_submit():
        abort(400)
    disable = request.form.get("disable") == "1"
    try:
        contacts.set_sign_in_disabled(contact.user, disable, actor=current_user)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash("Sign-in disabled." if disable else "Sign-in enabled.", "success")
    return redirect(url_for(".edit", imis_id=imis_id), code=303)
