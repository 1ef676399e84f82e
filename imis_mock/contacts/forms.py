"""Forms of the staff contacts pages."""

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from imis_mock.services.activities import ACTIVITY_TYPES
from imis_mock.services.contacts import MEMBER_TYPES

EMAIL = Regexp(
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an email address like name@example.org."
)


def strip(value):
    return value.strip() if isinstance(value, str) else value


class ContactForm(FlaskForm):
    """What QA changes to alter the API's answers; labels as the iMIS staff site words them."""

    first_name = StringField(
        "First name", filters=[strip], validators=[DataRequired("Required"), Length(max=60)]
    )
    last_name = StringField(
        "Last name", filters=[strip], validators=[DataRequired("Required"), Length(max=60)]
    )
    email = StringField("Email", filters=[strip], validators=[Optional(), Length(max=254), EMAIL])
    phone = StringField("Phone", filters=[strip], validators=[Optional(), Length(max=40)])
    organization = StringField(
        "Organization", filters=[strip], validators=[Optional(), Length(max=120)]
    )
    member_type = SelectField(
        "Member type", choices=[SelectChoice(code, name) for code, name in MEMBER_TYPES.items()]
    )
    submit = SubmitField("Save")


class ActivityForm(FlaskForm):
    """Add an activity on the contact's Activities tab (what an LMS or a staff user records)."""

    activity_type = SelectField(
        "Activity type",
        choices=[SelectChoice(code, name) for code, name in sorted(ACTIVITY_TYPES.items())],
    )
    effective_date = DateField("Effective date", validators=[InputRequired("Required")])
    description = StringField(
        "Description", filters=[strip], validators=[Optional(), Length(max=255)]
    )
    units = DecimalField("Units", places=2, validators=[Optional()])
    amount = DecimalField("Amount", places=2, validators=[Optional()])
    submit = SubmitField("Add activity")

    FIELDS = ("activity_type", "effective_date", "description", "units", "amount")
