"""Driving the read fast path (api/fast_path.py) in tests: a GET through it or around it, the
journal it writes, and a spy on which requests it answered."""

import json

import pytest
from sqlalchemy import select

from imis_mock.api.fast_path import ApiReadFastPath
from imis_mock.extensions import db
from imis_mock.models import AuditEvent
from imis_mock.services import audit
from tests.support.api import mint


def spy_on_answers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record, per request, whether the fast path answered it (True) or handed it to Flask."""
    seen = []
    real = ApiReadFastPath.answer

    def spy(self, environ, path):
        result = real(self, environ, path)
        seen.append(result is not None)
        return result

    monkeypatch.setattr(ApiReadFastPath, "answer", spy)
    return seen


def get(app, path, user=None, *, flask_only=False, **headers):
    """GET through the middleware, or with the middleware stepping aside (Flask answers)."""
    if user is not None:
        headers.setdefault("Authorization", f"Bearer {mint(app, user)}")
    client = app.test_client()
    if "Cookie" in headers:  # the test client sends its own jar's cookies only
        name, value = headers.pop("Cookie").split("=", 1)
        client.set_cookie(name, value)
    if not flask_only:
        return client.get(path, headers=headers)
    original = ApiReadFastPath.answer
    ApiReadFastPath.answer = lambda self, environ, path: None
    try:
        return client.get(path, headers=headers)
    finally:
        ApiReadFastPath.answer = original


def journal(app) -> list[tuple]:
    """The API calls journalled so far: (outcome, actor, client, user, error code, ip, detail)."""
    audit.flush()
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "api.call").order_by(AuditEvent.id)
        ).all()
        return [
            (e.outcome, e.actor, e.client_id, e.username, e.error_code, e.ip, json.loads(e.detail))
            for e in events
        ]
