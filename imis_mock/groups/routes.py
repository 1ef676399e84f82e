"""Staff groups: the list of groups, and a group's members with their roles."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from imis_mock.extensions import db
from imis_mock.forms import ConfirmForm
from imis_mock.groups import bp
from imis_mock.groups.forms import AddMemberForm
from imis_mock.services import ServiceError, groups


@bp.get("/")
def index():
    return render_template(
        "staff/groups/index.html", groups=groups.list_groups(), counts=groups.member_counts()
    )


def group_or_404(group_id: str):
    group = groups.get_group(group_id)
    if group is None:
        abort(404)
    return group


@bp.route("/<group_id>", methods=["GET", "POST"])
def show(group_id: str):
    group = group_or_404(group_id)
    form = AddMemberForm()
    form.role.choices = [(r.imis_id, r.name) for r in groups.list_roles() if r.is_active]
    if not form.is_submitted():
        form.role.data = groups.MEMBER_ROLE_ID
    if form.validate_on_submit():
        try:
            groups.add_member(
                group.imis_id,
                form.party_id.data,
                roles=[groups.RoleDates(role=form.role.data)],
                actor=current_user.username,
            )
        except ServiceError as error:
            db.session.rollback()
            form[error.field if error.field == "role" else "party_id"].errors.append(error.message)
        else:
            db.session.commit()
            flash("Member added.", "success")
            return redirect(url_for(".show", group_id=group.imis_id), code=303)
    return render_template(
        "staff/groups/show.html",
        group=group,
        members=groups.list_members(group_id=group.imis_id),
        form=form,
        confirm=ConfirmForm(),
    )


@bp.post("/<group_id>/Members/<member_id>/Remove")
def remove_member(group_id: str, member_id: str):
    group = group_or_404(group_id)
    member = groups.get_member(member_id)
    if member is None or member.group_id != group.id or not ConfirmForm().validate_on_submit():
        abort(404 if member is None or member.group_id != group.id else 400)
    name = member.contact.full_name
    groups.remove_member(member, actor=current_user.username)
    db.session.commit()
    flash(f"{name} removed from the group.", "success")
    return redirect(url_for(".show", group_id=group.imis_id), code=303)
