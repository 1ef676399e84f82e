"""QA console views. Tokens and secrets appear only as short fingerprints, except the token that
Simulate SSO has just minted, which is shown once (it is the point of that page)."""

import json

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from imis_mock.extensions import db
from imis_mock.forms import ConfirmForm
from imis_mock.models import ClientApplication
from imis_mock.qa import bp
from imis_mock.qa.forms import ClockForm, FaultForm, SimulateForm
from imis_mock.services import ServiceError, clock, communications, qa, secrets
from imis_mock.services.clients import find_client

SECRET_WORDS = ("token", "secret", "password", "authorization")


def masked_detail(detail: str) -> dict:
    """Parse an audit detail, replacing anything that looks like a secret with a fingerprint."""
    try:
        data = json.loads(detail) if detail else {}
    except ValueError:
        return {}
    return {
        key: (f"…{secrets.fingerprint(str(value))}" if _looks_secret(key, value) else value)
        for key, value in data.items()
    }


def _looks_secret(key: str, value) -> bool:
    return (
        any(word in key.lower() for word in SECRET_WORDS)
        and isinstance(value, str)
        and len(value) > 12
    )


def activity_rows() -> list[dict]:
    events = qa.recent_activity(
        client_id=request.args.get("client", ""), outcome=request.args.get("outcome", "")
    )
    return [
        {
            "at": event.at.strftime("%Y-%m-%d %H:%M:%S"),
            "action": event.action,
            "client": event.client_id,
            "user": event.username,
            "outcome": event.outcome,
            "error": event.error_code,
            "detail": masked_detail(event.detail),
        }
        for event in events
    ]


@bp.get("/")
def index():
    return redirect(url_for("staff.qa.activity"))


@bp.get("/Activity")
def activity():
    return render_template(
        "staff/qa/activity.html", rows=activity_rows(), clients=qa.clients(), args=request.args
    )


@bp.get("/Activity.json")
def activity_json():
    return jsonify(activity_rows())


@bp.get("/Tokens")
def token_list():
    return render_template(
        "staff/qa/tokens.html",
        refresh=qa.active_tokens("refresh"),
        access=qa.active_tokens("access"),
        form=ConfirmForm(),
        now=clock.now(),
    )


@bp.post("/Tokens/<kind>/<int:token_id>/<action>")
def token_action(kind: str, token_id: int, action: str):
    if kind not in qa.TOKEN_KINDS or action not in ("expire", "revoke"):
        abort(404)
    if ConfirmForm().validate_on_submit():
        change = qa.expire_token if action == "expire" else qa.revoke_token
        try:
            change(kind, token_id, actor=current_user.username)
            flash(
                f"The {kind} token was {'expired' if action == 'expire' else 'revoked'}.", "success"
            )
        except ServiceError as error:
            flash(error.message, "error")
    return redirect(url_for("staff.qa.token_list"), code=303)


@bp.get("/Communications")
def communications_page():
    """Communications written through the API: the mock sends nothing, so QA sees here what
    would have been sent, and to whom."""
    return render_template("staff/qa/communications.html", sent=communications.would_have_sent())


@bp.get("/Faults")
def faults():
    return render_template(
        "staff/qa/faults.html",
        clients=qa.clients(),
        faults=qa.faults_by_client(),
        form=FaultForm(),
        clear_form=ConfirmForm(),
    )


@bp.post("/Faults/<int:client_pk>")
def set_fault(client_pk: int):
    client = db.get_or_404(ClientApplication, client_pk)
    form = FaultForm()
    if form.validate_on_submit():
        try:
            qa.set_fault(
                client,
                form.mode.data,
                delay_seconds=form.delay_seconds.data or 0,
                count=form.count.data,
                actor=current_user.username,
            )
            flash(f"Fault turned on for {client.client_id}.", "success")
            return redirect(url_for("staff.qa.faults"), code=303)
        except ServiceError as error:
            getattr(form, error.field or "mode").errors.append(error.message)
    return render_template(
        "staff/qa/faults.html",
        clients=qa.clients(),
        faults=qa.faults_by_client(),
        form=form,
        form_client=client,
        clear_form=ConfirmForm(),
    ), 400


@bp.post("/Faults/<int:client_pk>/clear")
def clear_fault(client_pk: int):
    client = db.get_or_404(ClientApplication, client_pk)
    if ConfirmForm().validate_on_submit():
        qa.clear_fault(client, actor=current_user.username)
        flash(f"Fault turned off for {client.client_id}.", "success")
    return redirect(url_for("staff.qa.faults"), code=303)


@bp.route("/Clock", methods=["GET", "POST"])
def clock_page():
    form = ClockForm()
    if form.validate_on_submit():
        clock.advance(form.minutes.data)
        qa.audit_clock(current_user.username, f"+{form.minutes.data} min")
        flash(f"The clock moved forward {form.minutes.data} minutes.", "success")
        return redirect(url_for("staff.qa.clock_page"), code=303)
    return render_template(
        "staff/qa/clock.html",
        form=form,
        reset_form=ConfirmForm(),
        now=clock.now(),
        offset=clock.offset(),
    )


@bp.post("/Clock/reset")
def reset_clock():
    if ConfirmForm().validate_on_submit():
        clock.reset()
        qa.audit_clock(current_user.username, "real time")
        flash("The clock is back to real time.", "success")
    return redirect(url_for("staff.qa.clock_page"), code=303)


@bp.route("/Simulate", methods=["GET", "POST"])
def simulate():
    form = SimulateForm()
    form.username.choices = [SelectChoice(u.username) for u in qa.members()]
    form.client.choices = [SelectChoice(c.client_id) for c in qa.clients()]
    minted = None
    if form.validate_on_submit():
        client = find_client(form.client.data)
        try:
            if client is None:
                raise ServiceError("Choose a client application.", "client")
            minted = {
                "token": qa.simulate_sso(form.username.data, client, actor=current_user.username),
                "client": client,
                # iMIS's token endpoint is always {site}/token.
                "token_url": request.host_url + "token",
            }
        except ServiceError as error:
            getattr(form, error.field or "username").errors.append(error.message)
    return render_template("staff/qa/simulate.html", form=form, minted=minted)
