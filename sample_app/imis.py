"""The two things a third-party app asks of iMIS: tokens from /token, and data from the REST API."""

import time
from dataclasses import dataclass

import requests
from flask import current_app

TIMEOUT = 15  # seconds: never hang the user's page on a stuck server


@dataclass
class ImisError(Exception):
    """iMIS refused: `error` is the OAuth error code (or "http_<status>"), with its description.

    `status` 0 means iMIS did not answer at all (not reachable, or slower than TIMEOUT).
    """

    status: int
    error: str
    description: str = ""


def _url(path: str) -> str:
    return current_app.config["SAMPLE_IMIS_URL"].rstrip("/") + path


def _send(method: str, path: str, **kwargs) -> requests.Response:
    """Send one request to iMIS; a network failure or timeout becomes an ImisError too."""
    try:
        return requests.request(method, _url(path), timeout=TIMEOUT, **kwargs)
    except requests.RequestException as error:
        raise ImisError(0, "no_answer", type(error).__name__) from error


def redeem_refresh_token(refresh_token: str) -> dict:
    """POST /token with grant_type=refresh_token and our client credentials, as iMIS documents."""
    response = _send(
        "POST",
        "/token",
        data={
            "grant_type": "refresh_token",
            "client_id": current_app.config["SAMPLE_CLIENT_ID"],
            "client_secret": current_app.config["SAMPLE_CLIENT_SECRET"],
            "refresh_token": refresh_token,
        },
        headers={"Accept": "application/json"},
    )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        raise ImisError(
            response.status_code,
            body.get("error") or f"http_{response.status_code}",
            body.get("error_description", ""),
        )
    # iMIS answers with access_token, expires_in (1199), refresh_token, userName, as:client_id...
    body["expires_at"] = time.time() + int(body.get("expires_in", 0))
    return body


def get(path: str, access_token: str, **params) -> dict:
    """GET an iMIS REST API resource with the access token as a bearer token."""
    response = _send(
        "GET",
        path,
        params=params,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    if response.status_code != 200:
        try:
            message = response.json().get("Message", "")
        except ValueError:
            message = ""
        raise ImisError(response.status_code, f"http_{response.status_code}", message)
    return response.json()
