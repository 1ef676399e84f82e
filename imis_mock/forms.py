"""Forms shared by both sites."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import InputRequired, Length


class SignInForm(FlaskForm):
    """iMIS's Contact Sign In: Username, Password, Keep me signed in, Sign In."""

    username = StringField("Username", validators=[InputRequired("Required"), Length(max=60)])
    password = PasswordField("Password", validators=[InputRequired("Required"), Length(max=1024)])
    remember = BooleanField("Keep me signed in")
    submit = SubmitField("Sign In")


class ConfirmForm(FlaskForm):
    """An empty form that only carries the CSRF token (sign out, delete, ...)."""
