"""Client application views: list, add, edit, delete. The rules are in services.clients."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from imis_mock.clients import bp
from imis_mock.clients.forms import ClientApplicationForm, EditClientApplicationForm
from imis_mock.extensions import db
from imis_mock.forms import ConfirmForm
from imis_mock.models import ClientApplication
from imis_mock.services import ServiceError, clients, secrets, tokens


def proposed_secret(form: ClientApplicationForm) -> bool:
    """Handle the Generate button: fill in a random secret, save nothing. True if it was pressed."""
    if not (form.is_submitted() and form.generate.data):
        return False
    form.client_secret.data = secrets.generate_client_secret()
    return True


def show_error(form: FlaskForm, error: ServiceError) -> None:
    """Put a service error next to its field, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def render_form(form: FlaskForm, client: ClientApplication | None = None, *, generated=False):
    status = 200
    if form.errors:
        status = 409 if form.form_errors else 400
    return render_template(
        "staff/clients/form.html", form=form, client=client, generated=generated
    ), status


@bp.get("")
def index():
    return render_template("staff/clients/index.html", rows=clients.list_clients())


@bp.route("/New", methods=["GET", "POST"])
def new():
    form = ClientApplicationForm()
    if proposed_secret(form):
        return render_form(form, generated=True)
    if form.validate_on_submit():
        try:
            client = clients.create_client(
                form.client_id.data,
                form.client_secret.data,
                form.refresh_token_lifetime.data,
                form.redirect_url.data,
                actor=current_user.username,
            )
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(f"Client application {client.client_id} was saved.", "success")
            return redirect(url_for(".index"), code=303)
    return render_form(form)


@bp.route("/<int:client_pk>/Edit", methods=["GET", "POST"])
def edit(client_pk: int):
    client = db.get_or_404(ClientApplication, client_pk)
    form = EditClientApplicationForm(client)
    if not form.is_submitted():
        form.version.data = clients.version_of(client)
    generated = proposed_secret(form)
    if not generated and form.validate_on_submit():
        try:
            clients.update_client(
                client,
                client_id=form.client_id.data,
                new_secret=form.client_secret.data,
                refresh_token_lifetime=form.refresh_token_lifetime.data,
                redirect_url=form.redirect_url.data,
                version=form.version.data,
                actor=current_user.username,
            )
        except ServiceError as error:
            show_error(form, error)
            if error.field is None:
                # A concurrent save: the next Save applies to the values now shown as saved.
                form.version.data = clients.version_of(client)
        else:
            flash(f"Client application {client.client_id} was saved.", "success")
            return redirect(url_for(".index"), code=303)
    # The Client ID is read-only: always show the saved one, whatever was posted.
    form.client_id.data = client.client_id
    return render_form(form, client, generated=generated)


@bp.route("/<int:client_pk>/Delete", methods=["GET", "POST"])
def delete(client_pk: int):
    client = db.get_or_404(ClientApplication, client_pk)
    form = ConfirmForm()
    if form.validate_on_submit():
        client_id = client.client_id
        try:
            clients.delete_client(client, actor=current_user.username)
        except ServiceError:
            pass  # the page below shows why (deletion_blocker)
        else:
            flash(f"Client application {client_id} was deleted.", "success")
            return redirect(url_for(".index"), code=303)
    blocker = clients.deletion_blocker(client)
    status = 409 if blocker and form.is_submitted() else 200
    return render_template(
        "staff/clients/delete.html",
        form=form,
        client=client,
        blocker=blocker,
        active_refresh_tokens=tokens.count_active_refresh_tokens(client),
    ), status
