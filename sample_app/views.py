"""The sample app's pages: the Login redirect URL (/sso), the signed-in home page, sign out."""

import secrets
import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from sample_app import imis, store
from sample_app.imis import ImisError

bp = Blueprint("sample", __name__)

# Renew a little before the access token's own expiry, so a call never races it.
RENEW_MARGIN_SECONDS = 30


class SessionExpired(Exception):
    """The refresh token no longer works: the user must start again from iMIS."""


@bp.after_request
def security_headers(response):
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def launch_url() -> str:
    """The iMIS page whose Single Sign-On item sends users here."""
    return (
        current_app.config["SAMPLE_IMIS_URL"].rstrip("/") + current_app.config["SAMPLE_LAUNCH_PATH"]
    )


def message(title: str, text: str, status: int, error: ImisError | None = None):
    page = render_template("message.html", title=title, text=text, error=error, launch=launch_url())
    return page, status


@bp.post("/sso")
def sso():
    """iMIS's Single Sign-On item POSTs exactly one field here: refresh_token."""
    refresh_token = request.form.get("refresh_token", "")
    if not refresh_token:
        return message("No refresh token", "This page expects a POST from iMIS.", 400)
    try:
        token = imis.redeem_refresh_token(refresh_token)
    except ImisError as error:
        return message("iMIS refused the sign-in", "The token request failed.", 502, error)
    if token.get("userName") == "GUEST":
        # iMIS hands a token to anonymous visitors too: that is its GUEST user, not a member.
        return message(
            "Please sign in to iMIS first",
            "iMIS sent a token for its GUEST user, which means you were not signed in to iMIS. "
            "The Single Sign-On page should be secured so that only signed-in members reach it.",
            403,
        )
    if session.get("sid"):  # signing in again: forget the tokens of the previous sign-in
        store.delete(session["sid"])
    session.clear()
    session["sid"] = sid = secrets.token_urlsafe(32)
    store.save(
        sid,
        store.Tokens(
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            access_expires_at=token["expires_at"],
            user_name=token["userName"],
        ),
    )
    return redirect(url_for("sample.home"), code=303)


def renew(sid: str, tokens: store.Tokens) -> store.Tokens:
    """Get a new access token with the refresh token (iMIS may also hand a new refresh token)."""
    try:
        token = imis.redeem_refresh_token(tokens.refresh_token)
    except ImisError as error:
        if error.error == "invalid_grant":
            raise SessionExpired from error
        raise
    renewed = store.Tokens(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or tokens.refresh_token,
        access_expires_at=token["expires_at"],
        user_name=tokens.user_name,
    )
    store.save(sid, renewed)
    flash("Your access token had expired; it was renewed with the refresh token.")
    return renewed


def call_api(sid: str, tokens: store.Tokens, path: str, **params) -> tuple[dict, store.Tokens]:
    """Call the REST API, renewing the access token when it has expired (or iMIS says 401)."""
    if time.time() >= tokens.access_expires_at - RENEW_MARGIN_SECONDS:
        tokens = renew(sid, tokens)
    try:
        return imis.get(path, tokens.access_token, **params), tokens
    except ImisError as error:
        if error.status != 401:
            raise
    tokens = renew(sid, tokens)
    return imis.get(path, tokens.access_token, **params), tokens


def who_is_signed_in(sid: str, tokens: store.Tokens) -> dict:
    """Ask iMIS who the user is: /api/User by user name, then /api/Party by party id."""
    users, tokens = call_api(sid, tokens, "/api/User", UserName=tokens.user_name)
    user = users["Items"]["$values"][0]
    if user.get("IsAnonymous"):
        raise SessionExpired
    party, tokens = call_api(sid, tokens, f"/api/Party/{user['Party']['PartyId']}")
    emails = party.get("Emails", {}).get("$values", [])
    primary = next((e["Address"] for e in emails if e.get("IsPrimary")), "")
    return {
        "name": party.get("Name", ""),
        "imis_id": party.get("Id", ""),
        "user_name": user.get("UserName", ""),
        "email": primary,
        "organization": (party.get("PrimaryOrganization") or {}).get("Name", ""),
        "status": (party.get("Status") or {}).get("Name", ""),
        "access_expires_in": max(0, int(tokens.access_expires_at - time.time())),
    }


@bp.get("/")
def home():
    sid = session.get("sid")
    tokens = store.load(sid) if sid else None
    if tokens is None:
        return render_template("home.html", profile=None, launch=launch_url())
    try:
        profile = who_is_signed_in(sid, tokens)
    except SessionExpired:
        store.delete(sid)
        session.clear()
        return message(
            "Your iMIS session has expired",
            "Go back to iMIS and click the link again to sign in to this application.",
            401,
        )
    except ImisError as error:
        return message("iMIS refused the request", "The request to iMIS failed.", 502, error)
    return render_template("home.html", profile=profile, launch=launch_url())


@bp.post("/signout")
def sign_out():
    if session.get("sid"):
        store.delete(session["sid"])
    session.clear()
    return redirect(url_for("sample.home"), code=303)
