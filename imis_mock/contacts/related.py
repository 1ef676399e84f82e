"""The contact page's Activities and Groups tabs."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from imis_mock.contacts import bp
from imis_mock.contacts.forms import ActivityForm
from imis_mock.contacts.routes import contact_or_404
from imis_mock.extensions import db
from imis_mock.services import ServiceError, activities, groups

PER_PAGE = 50


@bp.route("/<imis_id>/Activities", methods=["GET", "POST"])
def activities_tab(imis_id: str):
    contact = contact_or_404(imis_id)
    form = ActivityForm()
    if form.validate_on_submit():
        try:
            activities.create_activity(
                contact.imis_id,
                actor=current_user.username,
                source_system="STAFF",
                **{name: form[name].data for name in ActivityForm.FIELDS},
            )
        except ServiceError as error:
            db.session.rollback()
            field = error.field if error.field in ActivityForm.FIELDS else "activity_type"
            form[field].errors.append(error.message)
        else:
            db.session.commit()
            flash("Activity added.", "success")
            return redirect(url_for(".activities_tab", imis_id=imis_id), code=303)
    page = db.paginate(
        activities.activity_query(party_id=contact.imis_id),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "staff/contacts/activities.html",
        contact=contact,
        page=page,
        form=form,
        type_label=activities.type_label,
        show_form=request.method == "POST",
    )


@bp.get("/<imis_id>/Groups")
def groups_tab(imis_id: str):
    contact = contact_or_404(imis_id)
    memberships = groups.list_members(party_id=contact.imis_id)
    return render_template("staff/contacts/groups.html", contact=contact, memberships=memberships)
