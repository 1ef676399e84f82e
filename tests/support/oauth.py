"""The hand-off and /token tests' tools: client secrets, a test SSO route, a bearer probe, mint."""

from authlib.integrations.flask_oauth2 import current_token
from flask import Flask, jsonify
from flask_login import current_user

from imis_mock.extensions import db
from imis_mock.oauth.bearer import require_bearer
from imis_mock.oauth.handoff import handoff_response
from imis_mock.services import accounts, sso
from imis_mock.services.clients import find_client

SECRET = "MyApp-secret-1-Zq7Lm3Vx9Rt2Wp8Kc"
OTHER_SECRET = "Other-secret-2-Zq7Lm3Vx9Rt2Wp8Kc"


def add_test_routes(app: Flask) -> Flask:
    """Stand in for the published content page (issue 4), and a bearer-protected probe."""

    def sso_page(client_id: str):
        client = find_client(client_id)
        viewer = current_user if current_user.is_authenticated else accounts.ensure_guest()
        return handoff_response(client, viewer, content=f"test/{client_id}")

    @require_bearer()
    def probe():
        return jsonify({"user": current_token.user.username})

    app.add_url_rule("/_test/sso/<client_id>", "test_sso", sso_page)
    app.add_url_rule("/api/_probe", "probe", probe)
    return app


def mint(app: Flask, username: str = "jsmith", client_id: str = "MyApp") -> str:
    """Mint a refresh token the way the hand-off does."""
    with app.app_context():
        user = accounts.get_user(username)
        raw = sso.start_handoff(user, find_client(client_id))
        db.session.commit()
        return raw
