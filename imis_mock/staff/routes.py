"""Staff site views: sign-in, the home page, and the RiSE navigation pages."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from imis_mock.auth import sign_in as start_signed_in_session
from imis_mock.auth import sign_out as end_signed_in_session
from imis_mock.forms import ConfirmForm, SignInForm
from imis_mock.member.routes import SIGN_IN_FAILED, throttled_sign_in
from imis_mock.security import is_safe_next
from imis_mock.services import accounts, audit, throttle
from imis_mock.staff import bp


@bp.route("/SignIn", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                form.username.data,
                form.password.data,
                staff_only=True,
                address=request.remote_addr or "",
            )
        except throttle.Throttled as error:
            return throttled_sign_in(form, "staff/sign_in.html", error)
        if user is not None:
            start_signed_in_session(user, site="staff", remember=form.remember.data)
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("staff.home"), code=303)
        audit.record("staff.sign_in", "failure", username=form.username.data or "", commit=True)
        form.form_errors.append(SIGN_IN_FAILED)
    return render_template("staff/sign_in.html", form=form)


@bp.post("/SignOut")
def sign_out():
    if ConfirmForm().validate_on_submit():
        end_signed_in_session(current_user)
        flash("You have signed out.", "success")
        return redirect(url_for("staff.sign_in"), code=303)
    return redirect(url_for("staff.home"), code=303)


@bp.get("/")
def home():
    return render_template("staff/home.html")


@bp.get("/RiSE/Maintenance")
def maintenance():
    return render_template("staff/maintenance.html")


@bp.get("/RiSE/PageBuilder")
def page_builder():
    return render_template("staff/page_builder.html")
