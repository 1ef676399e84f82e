"""Forms of the staff groups pages."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length


class AddMemberForm(FlaskForm):
    """Add a contact to a group in a role; the role choices are filled in by the view."""

    party_id = StringField(
        "iMIS ID",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[InputRequired("Required"), Length(max=20)],
    )
    role = SelectField("Role")
    submit = SubmitField("Add member")
