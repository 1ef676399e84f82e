"""QA console forms."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional

from imis_mock.models import FAULT_MODES


class FaultForm(FlaskForm):
    mode = SelectField(
        "Fault", choices=[SelectChoice(mode, label) for mode, label in FAULT_MODES.items()]
    )
    delay_seconds = IntegerField(
        "Delay (seconds)", validators=[Optional(), NumberRange(1, 60, "From 1 to 60 seconds.")]
    )
    count = IntegerField(
        "For the next N requests",
        validators=[Optional(), NumberRange(1, 10_000, "From 1 to 10,000, or empty.")],
    )
    submit = SubmitField("Turn on")


class ClockForm(FlaskForm):
    minutes = IntegerField(
        "Move the clock forward by (minutes)",
        validators=[InputRequired("Enter a number of minutes."), NumberRange(1, 525_600)],
    )
    submit = SubmitField("Move forward")


class SimulateForm(FlaskForm):
    username = SelectField("Member")
    client = SelectField("Client application")
    submit = SubmitField("Simulate SSO")
