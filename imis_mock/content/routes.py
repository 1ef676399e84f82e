"""RiSE > Page Builder > Manage content: the folder tree, the record editor, its content items."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from imis_mock.content import bp
from imis_mock.content.forms import (
    FolderForm,
    NewRecordForm,
    RecordForm,
    folder_choices,
    item_form,
)
from imis_mock.extensions import db
from imis_mock.forms import ConfirmForm
from imis_mock.models import ContentItem, ContentRecord
from imis_mock.services import ServiceError, content


def show_error(form, error: ServiceError) -> None:
    """Put a service error next to its field (or above the form)."""
    db.session.rollback()
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def record_or_404(record_id: int) -> ContentRecord:
    return db.get_or_404(ContentRecord, record_id)


def draft_item_or_404(record: ContentRecord, item_id: int) -> ContentItem:
    item = db.session.get(ContentItem, item_id)
    if item is None or item.record_id != record.id or item.published:
        abort(404)
    return item


def full_url(record: ContentRecord) -> str:
    return url_for("member.home", _external=True).rstrip("/") + content.published_path(record)


@bp.get("")
def index():
    records = content.all_records()
    by_folder: dict[int | None, list[ContentRecord]] = {}
    for record in records:
        by_folder.setdefault(record.folder_id, []).append(record)
    return render_template(
        "staff/content/index.html",
        folders=content.all_folders(),
        by_folder=by_folder,
        content=content,
    )


@bp.route("/New", methods=["GET", "POST"])
def new_record():
    """New > Website Content."""
    form = NewRecordForm(folder=request.args.get("folder", 0, type=int))
    form.folder.choices = folder_choices()
    if form.validate_on_submit():
        try:
            record = content.create_record(
                form.title.data,
                form.publish_file_name.data,
                content.get_folder(form.folder.data),
                actor=current_user.username,
            )
            db.session.commit()
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(f"Created the content record '{record.title}' (a draft).", "success")
            return redirect(url_for(".edit", record_id=record.id), code=303)
    return render_template("staff/content/new_record.html", form=form)


@bp.route("/NewFolder", methods=["GET", "POST"])
def new_folder():
    form = FolderForm(parent=request.args.get("folder", 0, type=int))
    form.parent.choices = folder_choices()
    if form.validate_on_submit():
        try:
            folder = content.create_folder(
                form.name.data,
                content.get_folder(form.parent.data),
                is_secure=form.is_secure.data,
                actor=current_user.username,
            )
            db.session.commit()
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(f"Created the folder {content.folder_label(folder)}.", "success")
            return redirect(url_for(".index"), code=303)
    return render_template("staff/content/new_folder.html", form=form)


@bp.route("/<int:record_id>", methods=["GET", "POST"])
def edit(record_id: int):
    record = record_or_404(record_id)
    form = RecordForm(obj=record if request.method == "GET" else None)
    if request.method == "GET":
        form.folder.data = record.folder_id or 0
    form.folder.choices = folder_choices()
    if form.validate_on_submit():
        publish = bool(form.publish.data)
        try:
            content.save_record(
                record,
                title=form.title.data,
                publish_file_name=form.publish_file_name.data,
                folder=content.get_folder(form.folder.data),
                is_secure=form.is_secure.data,
                requires_login=form.requires_login.data,
                publish=publish,
                actor=current_user.username,
            )
            db.session.commit()
        except ServiceError as error:
            show_error(form, error)
            record = record_or_404(record_id)
        else:
            flash("Saved and published." if publish else "Saved as a draft.", "success")
            return redirect(url_for(".edit", record_id=record.id), code=303)
    return render_template(
        "staff/content/edit.html",
        form=form,
        record=record,
        content=content,
        confirm=ConfirmForm(),
        show_full_url=request.args.get("show") == "url",
        full_url=full_url(record),
    )


@bp.post("/<int:record_id>/Delete")
def delete(record_id: int):
    record = record_or_404(record_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    title = record.title
    try:
        content.delete_record(record, actor=current_user.username)
    except ServiceError as error:
        db.session.commit()  # keep the audit event of the refusal
        flash(error.message, "error")
        return redirect(url_for(".edit", record_id=record_id), code=303)
    db.session.commit()
    flash(f"Deleted the content record '{title}'.", "success")
    return redirect(url_for(".index"), code=303)


@bp.get("/<int:record_id>/AddContent")
def add_content(record_id: int):
    """The content item picker, grouped by folder."""
    record = record_or_404(record_id)
    return render_template("staff/content/picker.html", record=record, content=content)


@bp.route("/<int:record_id>/AddContent/<kind>", methods=["GET", "POST"])
def add_item(record_id: int, kind: str):
    record = record_or_404(record_id)
    if kind not in content.KIND_LABELS:
        abort(404)
    form = item_form(kind)
    if form.validate_on_submit():
        try:
            content.add_item(record, kind, **item_fields(form))
            db.session.commit()
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(
                f"Added the {content.KIND_LABELS[kind]} item. Save & Publish to show it.", "success"
            )
            return redirect(url_for(".edit", record_id=record.id), code=303)
    return render_template(
        "staff/content/item.html", form=form, record=record, kind=kind, content=content
    )


@bp.route("/<int:record_id>/Items/<int:item_id>", methods=["GET", "POST"])
def edit_item(record_id: int, item_id: int):
    record = record_or_404(record_id)
    item = draft_item_or_404(record, item_id)
    form = item_form(item.kind, obj=item if request.method == "GET" else None)
    if request.method == "GET" and item.kind == content.SSO:
        form.client_application.data = item.client_application_id or 0
    if form.validate_on_submit():
        try:
            content.update_item(item, **item_fields(form))
            db.session.commit()
        except ServiceError as error:
            show_error(form, error)
        else:
            flash("Saved the content item. Save & Publish to show it.", "success")
            return redirect(url_for(".edit", record_id=record.id), code=303)
    return render_template(
        "staff/content/item.html", form=form, record=record, kind=item.kind, content=content
    )


@bp.post("/<int:record_id>/Items/<int:item_id>/Remove")
def remove_item(record_id: int, item_id: int):
    record = record_or_404(record_id)
    item = draft_item_or_404(record, item_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    content.remove_item(item)
    db.session.commit()
    flash("Removed the content item. Save & Publish to take it off the page.", "success")
    return redirect(url_for(".edit", record_id=record.id), code=303)


def item_fields(form) -> dict:
    """Return the service arguments held by an item form."""
    fields = {"name": form.name.data}
    if hasattr(form, "client_application"):
        fields["client_application_id"] = form.client_application.data
    if hasattr(form, "html"):
        fields["html"] = form.html.data
    return fields
