"""The site settings form."""

from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField

from imis_mock.services import content

HOME_CHOICE = (0, "The home page")


class SiteSettingsForm(FlaskForm):
    landing_record = SelectField("After sign-in, send members to", coerce=int)
    submit = SubmitField("Save")

    def fill_choices(self) -> None:
        self.landing_record.choices = [HOME_CHOICE] + [
            (r.id, f"{r.title} ({content.published_path(r)})") for r in content.all_records()
        ]
