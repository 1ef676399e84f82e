"""The Panel designer: list, define and delete panel sources. Each saved source is served at
/api/{Name} at once (api/catalog/panels.py)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from imis_mock.api import catalog
from imis_mock.extensions import db
from imis_mock.forms import ConfirmForm
from imis_mock.models import PanelSource
from imis_mock.panels import bp
from imis_mock.panels.forms import PanelForm
from imis_mock.services import ServiceError, panels


@bp.get("/")
def index():
    sources = panels.list_sources()
    return render_template(
        "staff/panels/index.html",
        sources=sources,
        counts={s.id: panels.count_rows(s) for s in sources},
    )


def source_or_404(name: str) -> PanelSource:
    source = panels.get_source(name)
    if source is None:
        abort(404)
    return source


def _data(source: PanelSource) -> dict:
    return {
        "name": source.name,
        "parent": source.parent,
        "multi_instance": source.multi_instance,
        "replace_201": source.replace_status == 201,
        "properties": [
            {**p, "values": ", ".join(p.get("values") or [])} for p in source.properties
        ],
    }


def _editor(source: PanelSource | None):
    if request.method == "GET" and source is not None:
        form = PanelForm(data=_data(source))
    else:
        form = PanelForm()
    if request.method == "POST" and form.add_property.data:
        form.properties.append_entry()
    elif form.validate_on_submit():
        properties = [
            {**p, "values": [v for v in (p.get("values") or "").split(",")]}
            for p in (entry.data for entry in form.properties)
        ]
        try:
            saved = panels.save_source(
                source,
                name=form.name.data,
                parent=form.parent.data,
                multi_instance=form.multi_instance.data,
                properties=properties,
                replace_status=201 if form.replace_201.data else 200,
                actor=current_user.username,
                entity_taken=catalog.is_static,
            )
        except ServiceError as error:
            db.session.rollback()
            field = {"name": form.name, "parent": form.parent}.get(error.field or "")
            if field is not None:
                field.errors.append(error.message)
            else:
                form.form_errors.append(error.message)
        else:
            db.session.commit()
            flash(f"Panel source {saved.name} saved: /api/{saved.name} serves it.", "success")
            return redirect(url_for(".edit", name=saved.name), code=303)
    return render_template("staff/panels/edit.html", form=form, source=source)


@bp.route("/New", methods=["GET", "POST"])
def new():
    return _editor(None)


@bp.route("/<name>", methods=["GET", "POST"])
def edit(name: str):
    return _editor(source_or_404(name))


@bp.route("/<name>/Delete", methods=["GET", "POST"])
def delete(name: str):
    """Ask first, saying how many rows go with the source; refuse while a query uses it."""
    source = source_or_404(name)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            panels.delete_source(source, actor=current_user.username)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for(".delete", name=name), code=303)
        db.session.commit()
        flash(f"Panel source {name} deleted.", "success")
        return redirect(url_for(".index"), code=303)
    return render_template(
        "staff/panels/delete.html",
        source=source,
        form=form,
        rows=panels.count_rows(source),
        used_by=panels.used_by(source.name),
    )
