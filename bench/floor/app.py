"""The SSO flow's five requests on the mock's stack alone: `make bench`'s `floor` case.

Flask, Flask-Login, Flask-WTF (its CSRF check) and Jinja, served as `make run` serves the mock,
answering what bench/sso_flow.lua sends, with no database, no password hash, no token store and no
rule of iMIS: what those libraries and the server cost for one flow. Beside hello-world it shows
how much of the flows' target (0.20 of hello-world's requests/s divided by 5) the stack itself
leaves for the mock's own work (docs/performance.md).
"""

import os
import secrets

from flask import Flask, jsonify, redirect, render_template, request
from flask_login import LoginManager, UserMixin, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

app = Flask(__name__)
# One key for every worker (bench/floor_cases.py makes one per run), or a session signed by one
# worker would be refused by another.
app.config.update(SECRET_KEY=os.environ["FLOOR_SECRET_KEY"], SESSION_COOKIE_NAME="imis_session")
login_manager = LoginManager(app)


class Member(UserMixin):
    def __init__(self, username: str):
        self.id = username


@login_manager.user_loader
def load_member(username: str) -> Member:
    return Member(username)


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


@app.route("/SignIn", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        login_user(Member(form.username.data))
        return redirect("/SampleApp.aspx", code=303)
    return render_template("sign_in.html", form=form)


@app.get("/SampleApp.aspx")
@login_required
def record():
    return render_template("handoff.html", refresh_token=secrets.token_urlsafe(32))


@app.post("/token")
def token():
    if request.form.get("grant_type") != "refresh_token":
        return jsonify(error="unsupported_grant_type"), 400
    return jsonify(access_token=secrets.token_urlsafe(32), token_type="bearer", expires_in=1800)


@app.get("/api/Party/<party_id>")
def party(party_id: str):
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return jsonify(Message="Authorization has been denied for this request."), 401
    return jsonify({"$type": "Asi.Soa.Membership.DataContracts.PersonData", "PartyId": party_id})
