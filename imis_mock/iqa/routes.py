"""The Intelligent Query Architect: the folder tree, the query editor and its Run tab.

A query runs here through the same engine as /api/IQA and /api/query (api/iqa.py), as the
signed-in staff user, so the Run tab shows what the API answers.
"""

from urllib.parse import urlencode

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from imis_mock.api import iqa as engine
from imis_mock.api.engine.errors import ApiError
from imis_mock.extensions import db
from imis_mock.forms import ConfirmForm
from imis_mock.iqa import bp
from imis_mock.iqa.forms import FolderForm, QueryForm
from imis_mock.models import IqaQuery
from imis_mock.services import ServiceError, iqa
from imis_mock.services.accounts import UserRecord

PAGE = 20


@bp.get("/")
def index():
    queries = iqa.list_queries()
    by_folder = {}
    for query in queries:
        by_folder.setdefault(query.folder_id, []).append(query)
    return render_template(
        "staff/iqa/index.html",
        folders=iqa.list_folders(),
        by_folder=by_folder,
        folder_form=FolderForm(),
        labels=dict(engine.sources()),
    )


@bp.post("/Folders")
def new_folder():
    form = FolderForm()
    if form.validate_on_submit():
        try:
            folder = iqa.ensure_folder(form.path.data)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"Folder {folder.path} is ready.", "success")
    else:
        flash("Folder: a path under $/ is required.", "error")
    return redirect(url_for(".index"), code=303)


def _query_data(query: IqaQuery) -> dict:
    return {
        "name": query.name,
        "folder": query.folder.path,
        "source": query.source,
        "staff_only": query.staff_only,
        "columns": query.columns,
        "filters": query.filters,
        "sorting": query.sorting,
    }


def _rows(entries) -> list[dict]:
    return [entry.data for entry in entries]


def _editor(query: IqaQuery | None):
    if request.method == "GET" and query is not None:
        form = QueryForm(data=_query_data(query))
    else:
        form = QueryForm(folder=request.args.get("folder", "$/Common"))
    sources = engine.sources()
    source = form.source.data or (sources[0][0] if sources else "")
    properties = engine.source_properties(source)
    operations = engine.operations()
    for button, field in (
        (form.add_column, form.columns),
        (form.add_filter, form.filters),
        (form.add_sort, form.sorting),
    ):
        if request.method == "POST" and button.data:
            field.append_entry()
            form.set_choices(sources, list(properties), operations)
            return _render(form, query)
    form.set_choices(sources, list(properties), operations)
    if form.validate_on_submit():
        try:
            saved = iqa.save_query(
                query,
                name=form.name.data,
                folder=form.folder.data,
                source=source,
                columns=_rows(form.columns),
                filters=_rows(form.filters),
                sorting=_rows(form.sorting),
                staff_only=form.staff_only.data,
                properties=properties,
                operations=set(operations),
                actor=current_user.username,
            )
        except ServiceError as error:
            db.session.rollback()
            target = {"name": form.name, "source": form.source, "path": form.folder}.get(
                error.field or "", None
            )
            if target is not None:
                target.errors.append(error.message)
            else:
                form.form_errors.append(error.message)
        else:
            db.session.commit()
            flash(f"Query {saved.path} saved.", "success")
            return redirect(url_for(".edit", query_id=saved.id), code=303)
    return _render(form, query)


def _render(form: QueryForm, query: IqaQuery | None):
    return render_template("staff/iqa/edit.html", form=form, query=query, confirm=ConfirmForm())


@bp.route("/New", methods=["GET", "POST"])
def new():
    return _editor(None)


def query_or_404(query_id: int) -> IqaQuery:
    return db.get_or_404(IqaQuery, query_id)


@bp.route("/<int:query_id>", methods=["GET", "POST"])
def edit(query_id: int):
    return _editor(query_or_404(query_id))


@bp.post("/<int:query_id>/Delete")
def delete(query_id: int):
    query = query_or_404(query_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    path = query.path
    iqa.delete_query(query, actor=current_user.username)
    db.session.commit()
    flash(f"Query {path} deleted.", "success")
    return redirect(url_for(".index"), code=303)


def api_urls(query: IqaQuery, parameters: list[str], offset: int, limit: int) -> dict:
    """The calls a client makes for this page of this query, ready to copy."""
    pairs = [("QueryName", query.path)] + [("parameter", p) for p in parameters]
    pairs += [("limit", str(limit)), ("offset", str(offset))]
    text = urlencode(pairs, safe="$/:")
    by_key = urlencode(
        [("querydocumentversionkey", query.document_key.upper())]
        + [("parameter", p) for p in parameters],
        safe="$/:",
    )
    root = request.host_url.rstrip("/")
    return {
        "/api/query": f"{root}/api/query?{text}",
        "/api/IQA": f"{root}/api/IQA?{text}",
        "/api/IQA by document version key": f"{root}/api/IQA?{by_key}",
    }


@bp.get("/<int:query_id>/Run")
def run(query_id: int):
    """Run the query with the prompts' values, one page at a time, as the API pages it."""
    query = query_or_404(query_id)
    prompts = iqa.prompts(query)
    parameters = [request.args.get(f"p{n}", "")[:200] for n in range(len(prompts))]
    offset = max(request.args.get("offset", 0, type=int), 0)
    args = {"parameter": parameters, "offset": [str(offset)], "limit": [str(PAGE)]}
    result, error = None, None
    try:
        result = engine.run(query, UserRecord.of(current_user), args)
    except ApiError as failure:
        error = failure.message
    return render_template(
        "staff/iqa/run.html",
        query=query,
        prompts=prompts,
        parameters=parameters,
        result=result,
        error=error,
        aliases=[c["alias"] for c in query.columns],
        urls=api_urls(query, parameters, offset, PAGE),
        page_size=PAGE,
    )
