"""Forms of the staff contacts pages."""

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from imis_mock.services.activities import ACTIVITY_TYPES
from imis_mock.services.contacts import member_types_for

EMAIL = Regexp(
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an email address like name@example.org."
)


def strip(value):
    return value.strip() if isinstance(value, str) else value


class _PartyForm(FlaskForm):
    """The fields persons and organizations share; FIELDS is what the page shows, in order."""

    FIELDS: tuple[str, ...] = ()

    email = StringField("Email", filters=[strip], validators=[Optional(), Length(max=254), EMAIL])
    phone = StringField("Phone", filters=[strip], validators=[Optional(), Length(max=40)])
    member_type = SelectField("Member type")
    submit = SubmitField("Save")

    def __init__(self, contact, **kwargs):
        super().__init__(obj=contact, **kwargs)
        self.member_type.choices = [
            SelectChoice(code, name) for code, name in member_types_for(contact).items()
        ]


class ContactForm(_PartyForm):
    """A person: what QA changes to alter the API's answers; labels as the iMIS staff site
    words them."""

    FIELDS = ("first_name", "last_name", "email", "phone", "organization", "member_type")

    first_name = StringField(
        "First name", filters=[strip], validators=[DataRequired("Required"), Length(max=60)]
    )
    last_name = StringField(
        "Last name", filters=[strip], validators=[DataRequired("Required"), Length(max=60)]
    )
    organization = StringField(
        "Organization", filters=[strip], validators=[Optional(), Length(max=120)]
    )


class OrganizationForm(_PartyForm):
    """An organization: its own name instead of a person's names (iMIS's "Organization name")."""

    FIELDS = ("organization", "email", "phone", "member_type")

    organization = StringField(
        "Organization name",
        filters=[strip],
        validators=[DataRequired("Required"), Length(max=120)],
    )


def contact_form(contact) -> _PartyForm:
    """The Overview tab's form for this kind of party."""
    return (OrganizationForm if contact.is_organization else ContactForm)(contact)


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
