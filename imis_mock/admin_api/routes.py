"""Admin API views: thin JSON wrappers over the scenario, accounts, clients, admin, clock and qa
services. Errors are {"error": message, "field": name, "problems": [...]} with 400 or 404."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import jsonify, request
from flask_login import current_user

from imis_mock.admin_api import bp, error
from imis_mock.extensions import db
from imis_mock.services import ServiceError, accounts, admin, clients, clock, demo, qa, scenario
from imis_mock.services import secrets as site_secrets

ACTOR = "admin-api"
OPENAPI = Path(__file__).with_name("openapi.json")


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    db.session.rollback()
    return error(exc.message, field=exc.field, problems=getattr(exc, "problems", None))


def actor() -> str:
    return current_user.username if current_user.is_authenticated else ACTOR


def body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError("Send a JSON object (Content-Type: application/json).")
    return data


def _client(client_id: str):
    client = clients.find_client(client_id)
    if client is None:
        raise NotFound(f"No client application {client_id!r}.")
    return client


class NotFound(ServiceError):
    pass


@bp.errorhandler(NotFound)
def not_found(exc: NotFound):
    return error(exc.message, 404)


# --- The whole site -----------------------------------------------------------------------------


@bp.post("/reset")
def reset():
    """Empty the site; then load {"scenario": {...}} or {"demo": true} if given."""
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise ServiceError("Send a JSON object, or nothing.")
    if data.get("scenario") is not None:
        loaded = scenario.load(data["scenario"], check_server=True)
        return jsonify(loaded_body(loaded))
    scenario.reset()
    if data.get("demo"):
        demo.load()
    db.session.commit()
    return jsonify({"reset": True, "demo": bool(data.get("demo"))})


@bp.get("/scenario")
def export_scenario():
    include = request.args.get("include_secrets", "").lower() in ("1", "true", "yes")
    return jsonify(scenario.export(include_secrets=include))


@bp.post("/scenario")
def load_scenario():
    """Load a scenario (JSON, or YAML as text): replace the site, or add to it with ?merge=1."""
    if request.is_json:
        document, text = body(), None
    else:
        text = request.get_data(as_text=True)
        document = scenario.parse(text)
    merge = request.args.get("merge", "").lower() in ("1", "true", "yes")
    loaded = scenario.load(document, text=text, replace=not merge, check_server=True)
    return jsonify(loaded_body(loaded))


def loaded_body(loaded: scenario.Loaded) -> dict:
    return {"loaded": loaded.counts, "client_secrets": loaded.client_secrets}


# --- Contacts, logins and client applications ---------------------------------------------------


@bp.post("/contacts")
def create_contact():
    """Create a contact with its login: {username, password?, first_name, last_name, staff?,...}."""
    data = body()
    fields = {k: data[k] for k in scenario.PERSON_FIELDS if isinstance(data.get(k), str)}
    password = data.get("password") or site_secrets.generate_client_secret()
    if not isinstance(password, str) or not isinstance(data.get("username"), str):
        raise ServiceError("username and password are text.", "username")
    user = accounts.create_user(
        data["username"],
        password,
        staff=bool(data.get("staff")),
        imis_id=data.get("imis_id") if isinstance(data.get("imis_id"), str) else None,
        **{"first_name": "", "last_name": "", **fields},
    )
    db.session.commit()
    result = {"username": user.username, "imis_id": user.imis_id, "staff": user.is_staff}
    if not data.get("password"):
        result["password"] = password
    return jsonify(result), 201


@bp.post("/clients")
def create_client():
    """Register a client application: {client_id, secret?, refresh_token_lifetime?,
    redirect_url}."""
    data = body()
    secret = data.get("secret") or site_secrets.generate_client_secret()
    client = clients.create_client(
        _text(data, "client_id"),
        secret if isinstance(secret, str) else "",
        data.get("refresh_token_lifetime", clients.LIFETIME_DEFAULT),
        _text(data, "redirect_url"),
        actor=actor(),
    )
    result = {
        "client_id": client.client_id,
        "refresh_token_lifetime": client.refresh_token_lifetime,
        "redirect_url": client.redirect_url,
    }
    if not data.get("secret"):
        result["secret"] = secret
    return jsonify(result), 201


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ServiceError(f"{name} is text.", name)
    return value


@bp.post("/handoffs")
def mint_handoff():
    """Mint a Single Sign-On hand-off: {username, client_id} -> refresh token and form POST."""
    data = body()
    handoff = admin.mint_handoff(_text(data, "username"), _text(data, "client_id"))
    return jsonify({"refresh_token": handoff.refresh_token, "form": handoff.form()}), 201


# --- Clock and faults ---------------------------------------------------------------------------


def clock_body() -> dict:
    seconds = clock.offset() / timedelta(seconds=1)
    return {"now": clock.now().isoformat(), "offset_seconds": seconds}


@bp.get("/clock")
def get_clock():
    return jsonify(clock_body())


@bp.post("/clock")
def set_clock():
    """Set the clock: {"offset_seconds": N}, {"advance_minutes": M} or {"reset": true}."""
    data = body()
    number = (int, float)
    if data.get("reset"):
        clock.reset()
        change = "reset"
    elif isinstance(data.get("advance_minutes"), number) and data["advance_minutes"] >= 0:
        clock.advance(data["advance_minutes"])
        change = f"+{data['advance_minutes']} min"
    elif isinstance(data.get("offset_seconds"), number) and data["offset_seconds"] >= 0:
        clock.set_offset(timedelta(seconds=data["offset_seconds"]))
        change = f"offset {data['offset_seconds']} s"
    else:
        raise ServiceError(
            'Send {"advance_minutes": M}, {"offset_seconds": N} (zero or more) or {"reset": true}.'
        )
    qa.audit_clock(actor(), change)
    return jsonify(clock_body())


@bp.get("/faults")
def list_faults():
    return jsonify(scenario.export()["settings"]["faults"])


@bp.put("/faults/<client_id>")
def set_fault(client_id: str):
    """Arm a fault: {mode, delay_seconds?, count?} (count: the next N /token requests)."""
    data = body()
    count = data.get("count")
    delay = data.get("delay_seconds", 0)
    if (count is not None and type(count) is not int) or type(delay) is not int:
        raise ServiceError("count and delay_seconds are whole numbers.")
    qa.set_fault(
        _client(client_id), _text(data, "mode"), delay_seconds=delay, count=count, actor=actor()
    )
    return jsonify({"client": client_id, "mode": data["mode"], "count": count})


@bp.delete("/faults/<client_id>")
def clear_fault(client_id: str):
    qa.clear_fault(_client(client_id), actor=actor())
    return "", 204


# --- The request journal ------------------------------------------------------------------------


@bp.get("/journal")
def journal():
    """Audit events oldest first: ?client_id=&path=(prefix)&since=(ISO 8601)&limit=(1-1000)."""
    since = None
    if request.args.get("since"):
        try:
            since = datetime.fromisoformat(request.args["since"].replace("Z", "+00:00"))
        except ValueError:
            raise ServiceError("since is an ISO 8601 time.", "since") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    limit = request.args.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= admin.JOURNAL_LIMIT:
        raise ServiceError(f"limit is 1 to {admin.JOURNAL_LIMIT}.", "limit")
    entries = admin.journal(
        client_id=request.args.get("client_id", ""),
        path=request.args.get("path", ""),
        since=since,
        limit=int(limit),
    )
    return jsonify(entries)


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI document (tests/test_admin_api.py checks it names every route)."""
    return jsonify(json.loads(OPENAPI.read_text()))
