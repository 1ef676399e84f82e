"""The contact page's Activities, Groups and Panels tabs."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from imis_mock.contacts import bp
from imis_mock.contacts.forms import ActivityForm
from imis_mock.contacts.routes import contact_or_404
from imis_mock.extensions import db
from imis_mock.panels.forms import row_form, row_values
from imis_mock.services import ServiceError, activities, groups
from imis_mock.services import panels as panel_service

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


@bp.route("/<imis_id>/Panels", methods=["GET", "POST"])
def panels_tab(imis_id: str):
    """The contact's rows in every panel source over parties: edit a row, or add one to a
    multi-instance source. The same rows /api/{Source} serves."""
    contact = contact_or_404(imis_id)
    sources = [s for s in panel_service.list_sources() if s.parent == "Party"]
    sections = []
    for source in sources:
        rows = db.session.scalars(panel_service.rows_query(source, contact)).all()
        forms = [(row, row_form(source, f"{source.name}-{row.seqn}", row.data)) for row in rows]
        new = row_form(source, f"{source.name}-new") if source.multi_instance else None
        sections.append((source, forms, new))
    if request.method == "POST":
        key = request.form.get("form_key_owner", "")
        for source, forms, new in sections:
            for row, form in [*forms, (None, new)]:
                if form is None or form._prefix.rstrip("-") != key:
                    continue
                submitted = row_form(source, key, formdata=request.form)
                if not submitted.validate_on_submit():
                    problems = [e for errors in submitted.errors.values() for e in errors]
                    flash(f"{source.name}: {' '.join(map(str, problems))}", "error")
                    return redirect(url_for(".panels_tab", imis_id=imis_id), code=303)
                try:
                    values = row_values(submitted)
                    if row is None:
                        panel_service.create_row(
                            source, contact, values, actor=current_user.username
                        )
                    else:
                        panel_service.update_row(source, row, values, actor=current_user.username)
                except ServiceError as error:
                    db.session.rollback()
                    flash(f"{source.name}: {error.message}", "error")
                else:
                    db.session.commit()
                    flash(f"{source.name} saved.", "success")
                return redirect(url_for(".panels_tab", imis_id=imis_id), code=303)
        abort(400)
    return render_template("staff/contacts/panels.html", contact=contact, sections=sections)
