"""Staff > Settings: site-wide settings kept in the database."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from imis_mock.extensions import db
from imis_mock.services import content
from imis_mock.site_settings import bp
from imis_mock.site_settings.forms import SiteSettingsForm


@bp.route("", methods=["GET", "POST"])
def edit():
    form = SiteSettingsForm()
    form.fill_choices()
    if request.method == "GET":
        landing = content.landing_record()
        form.landing_record.data = landing.id if landing else 0
    if form.validate_on_submit():
        record = content.get_record(form.landing_record.data) if form.landing_record.data else None
        content.set_landing_record(record, actor=current_user.username)
        db.session.commit()
        flash("Settings saved.", "success")
        return redirect(url_for(".edit"), code=303)
    landing = content.landing_record()
    return render_template(
        "staff/site_settings/edit.html",
        form=form,
        landing_unpublished=landing is not None and not landing.is_published,
    )
