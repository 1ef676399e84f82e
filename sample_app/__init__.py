"""A sample third-party application that signs in through iMIS Single Sign-On.

This is the code a third-party developer would copy: it talks to iMIS (here, the mock) only over
HTTP, exactly as it would talk to a real iMIS. The flow:

1. iMIS POSTs one form field, `refresh_token`, to our Login redirect URL (/sso).
2. We redeem it at iMIS's /token with our client ID and secret and get an access token.
3. We call the iMIS REST API with the access token to learn who signed in.
4. When the access token expires we renew it with the refresh token; when the refresh token has
   expired too, the user must go back to iMIS and click the link again.

Settings (environment variables, or instance/sample_config.py): SAMPLE_IMIS_URL (iMIS base URL),
SAMPLE_CLIENT_ID, SAMPLE_CLIENT_SECRET, SAMPLE_LAUNCH_PATH (the iMIS page with the Single Sign-On
item), SAMPLE_SECRET_KEY.
"""

import os
import secrets
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "SAMPLE_IMIS_URL": "http://127.0.0.1:5000",
    "SAMPLE_CLIENT_ID": "SampleApp",
    # Matches the demo client application the mock's `load-demo` registers. Not a real secret.
    "SAMPLE_CLIENT_SECRET": "SampleApp-demo-secret-not-for-production",
    "SAMPLE_LAUNCH_PATH": "/SampleApp.aspx",
    "SESSION_COOKIE_NAME": "sample_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}


def create_app(test_config: dict | None = None) -> Flask:
    """Create the sample app: defaults, then instance/sample_config.py, then SAMPLE_* variables."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("SAMPLE_INSTANCE_PATH") or str(ROOT / "instance"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile(os.path.join(app.instance_path, "sample_config.py"), silent=True)
    for key in [*DEFAULTS, "SAMPLE_SECRET_KEY"]:
        if key.startswith("SAMPLE_") and key in os.environ:
            app.config[key] = os.environ[key]
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["SECRET_KEY"] = app.config.get("SAMPLE_SECRET_KEY") or _secret_key(app)
    app.config.setdefault("SAMPLE_DATABASE", os.path.join(app.instance_path, "sample.db"))

    from sample_app import store, views

    store.init_app(app)
    app.register_blueprint(views.bp)
    return app


def _secret_key(app: Flask) -> str:
    """Keep one generated key in the instance folder, so every worker signs cookies alike."""
    path = Path(app.instance_path) / "sample_secret_key"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
