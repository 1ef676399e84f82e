"""The Client application form, with iMIS's labels. Its checks are the service's clean_* rules."""

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField, SubmitField, ValidationError

from imis_mock.services import ServiceError, clients


def rule(check: Callable[[str], object], *, optional: bool = False):
    """Turn a service rule into a WTForms validator (a blank optional field is not checked)."""

    def validator(form: FlaskForm, field: Field) -> None:
        if optional and not field.data:
            return
        try:
            check(field.data)
        except ServiceError as error:
            raise ValidationError(error.message) from None

    return validator


class ClientApplicationForm(FlaskForm):
    """Add a client application: every field is required."""

    client_id = StringField("Client ID", validators=[rule(clients.clean_client_id)])
    client_secret = StringField("Client secret", validators=[rule(clients.clean_secret)])
    refresh_token_lifetime = StringField(
        "Refresh token lifetime (minutes)",
        default=str(clients.LIFETIME_DEFAULT),
        validators=[rule(clients.clean_lifetime)],
    )
    redirect_url = StringField("Login redirect URL", validators=[rule(clients.clean_redirect_url)])
    submit = SubmitField("Save")
    # Proposes a random secret: the form comes back filled in, and nothing is saved.
    generate = SubmitField("Generate")


class EditClientApplicationForm(ClientApplicationForm):
    """Edit a client application: the Client ID is fixed, and a blank secret keeps the old one."""

    client_id = StringField("Client ID")  # shown read-only; see validate_client_id
    client_secret = StringField(
        "Client secret", validators=[rule(clients.clean_secret, optional=True)]
    )
    version = HiddenField()

    def __init__(self, client, *args, **kwargs):
        super().__init__(*args, obj=client, **kwargs)
        self.saved_client = client

    def validate_client_id(self, field: Field) -> None:
        # Without a posted value, WTForms would keep the saved one: a browser always posts the
        # read-only input, so its absence means a hand-made POST, and it is refused too.
        posted = field.data if field.raw_data else None
        try:
            clients.check_client_id_unchanged(self.saved_client, posted)
        except ServiceError as error:
            raise ValidationError(error.message) from None
