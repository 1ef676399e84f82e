"""Forms of the content editor, labelled as in iMIS."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from imis_mock.services import content

ROOT_CHOICE = (0, "/ (root)")
TITLE_LENGTH = Length(
    max=content.TITLE_MAX, message=f"A title has at most {content.TITLE_MAX} characters."
)
NAME_LENGTH = Length(
    max=content.NAME_MAX, message=f"A name has at most {content.NAME_MAX} characters."
)
# Longer than the service's limit, so that a trailing ".aspx" can still be dropped there.
SEGMENT_LENGTH = Length(max=200, message=f"At most {content.NAME_MAX} characters.")


def folder_choices() -> list[tuple[int, str]]:
    return [ROOT_CHOICE] + [(f.id, content.folder_label(f)) for f in content.all_folders()]


class NewRecordForm(FlaskForm):
    """New > Website Content."""

    title = StringField("Title", validators=[TITLE_LENGTH])
    publish_file_name = StringField("Publish file name", validators=[SEGMENT_LENGTH])
    folder = SelectField("Folder", coerce=int)
    submit = SubmitField("OK")


class RecordForm(FlaskForm):
    """The content record editor: the record, its Properties, Save or Save & Publish."""

    title = StringField("Title", validators=[TITLE_LENGTH])
    publish_file_name = StringField("Publish file name", validators=[SEGMENT_LENGTH])
    folder = SelectField("Folder", coerce=int)
    is_secure = BooleanField("Content is secure")
    requires_login = BooleanField("Content requires user to login")
    save = SubmitField("Save")
    publish = SubmitField("Save & Publish")


class FolderForm(FlaskForm):
    name = StringField("Name", validators=[SEGMENT_LENGTH])
    parent = SelectField("Parent folder", coerce=int)
    is_secure = BooleanField("Content is secure")
    submit = SubmitField("OK")


class SsoItemForm(FlaskForm):
    """The Single Sign-On content item: a Name and a Client application."""

    name = StringField("Name", validators=[NAME_LENGTH])
    client_application = SelectField("Client application", coerce=int)
    submit = SubmitField("OK")


class ContactSignInItemForm(FlaskForm):
    name = StringField("Name", validators=[NAME_LENGTH])
    submit = SubmitField("OK")


class ContentHtmlItemForm(FlaskForm):
    name = StringField("Name", validators=[NAME_LENGTH])
    html = TextAreaField(
        "Content Html",
        validators=[
            Length(
                max=content.HTML_MAX,
                message=f"Content Html has at most {content.HTML_MAX} characters.",
            )
        ],
    )
    submit = SubmitField("OK")


ITEM_FORMS = {
    content.SSO: SsoItemForm,
    content.CONTACT_SIGN_IN: ContactSignInItemForm,
    content.CONTENT_HTML: ContentHtmlItemForm,
}


def item_form(kind: str, **kwargs) -> FlaskForm:
    """Return the form for an item kind, its drop-down filled in."""
    form = ITEM_FORMS[kind](**kwargs)
    if kind == content.SSO:
        form.client_application.choices = [(0, "(Choose a client application)")] + [
            (c.id, c.client_id) for c in content.client_applications()
        ]
    return form
