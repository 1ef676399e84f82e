"""Member site views: home, Sign In, Sign Out, My account."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from imis_mock.auth import sign_in as start_signed_in_session
from imis_mock.auth import sign_out as end_signed_in_session
from imis_mock.forms import ConfirmForm, SignInForm
from imis_mock.member import bp
from imis_mock.security import is_safe_next
from imis_mock.services import accounts, audit, content, records, throttle

SIGN_IN_FAILED = "The username or password you entered is incorrect."
SIGN_IN_THROTTLED = "Too many sign-in attempts right now. Try again in {wait}."


def throttled_sign_in(form, template: str, error: throttle.Throttled):
    """Answer a sign-in refused before any password check: 429 with Retry-After."""
    throttle.hold_back(error)
    form.form_errors.append(SIGN_IN_THROTTLED.format(wait=error.wait))
    return render_template(template, form=form), 429, {"Retry-After": str(error.retry_after)}


def requested_next() -> str | None:
    """Return the `next` (or iMIS's `returnurl`) target if it stays on this site."""
    target = request.args.get("next") or request.args.get("returnurl")
    return target if is_safe_next(target) else None


def landing_url() -> str:
    """Where a member goes after signing in when no `next` was asked for.

    The Staff site setting "After sign-in, send members to" wins over the configured home page.
    """
    return content.landing_path() or url_for(current_app.config["MEMBER_HOME_ENDPOINT"])


@bp.get("/")
def home():
    return render_template("member/home.html", content_links=content.member_links())


@bp.route("/SignIn", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                form.username.data, form.password.data, address=request.remote_addr or ""
            )
        except throttle.Throttled as error:
            return throttled_sign_in(form, "member/sign_in.html", error)
        if user is not None:
            start_signed_in_session(user, site="member", remember=form.remember.data)
            return redirect(requested_next() or landing_url(), code=303)
        audit.record("member.sign_in", "failure", username=form.username.data or "", commit=True)
        form.form_errors.append(SIGN_IN_FAILED)
    return render_template("member/sign_in.html", form=form)


@bp.post("/SignOut")
def sign_out():
    form = ConfirmForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        end_signed_in_session(current_user)
        flash("You have signed out.", "success")
    return redirect(url_for("member.home"), code=303)


@bp.get("/MyAccount")
@login_required
def my_account():
    contact = current_user.contact
    return render_template(
        "member/my_account.html",
        contact=contact,
        registrations=records.of_contact(("EventRegistration",), contact.id) if contact else [],
        invoices=records.of_contact(("Invoice",), contact.id) if contact else [],
    )
