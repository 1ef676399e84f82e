"""The imis-mock application factory."""

import os
import secrets
from pathlib import Path

from flask import Flask, g, request

from imis_mock import config as default_config

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return templates/, static/ or migrations/: inside the package when installed from a wheel
    (setup.py maps them there), else at the top of the checkout."""
    packaged = PACKAGE / name
    return packaged if packaged.is_dir() else ROOT / name


def create_app(test_config: dict | None = None) -> Flask:
    """Create the app: defaults, then instance/config.py, then FLASK_* variables, then tests."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("IMIS_INSTANCE_PATH") or str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.config.from_object(default_config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    register_defaults(app)
    register_extensions(app)
    register_blueprints(app)
    register_errors(app)
    register_cli(app)
    register_diagnostics(app)
    register_middleware(app)
    return app


def register_defaults(app: Flask) -> None:
    from imis_mock.database import default_sqlite_uri, engine_options, normalize_uri

    uri = normalize_uri(app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    uri = uri or default_sqlite_uri(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        uri, app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret_key(Path(app.instance_path))


def load_or_create_secret_key(instance: Path) -> str:
    """Return the key kept in instance/secret_key, creating it once (all workers share it)."""
    path = instance / "secret_key"
    if not path.exists():
        # Write a temporary file, then link it into place: the link fails if another worker won
        # the race, and nobody ever reads a half-written key.
        tmp = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def register_extensions(app: Flask) -> None:
    from imis_mock import (
        database,  # also installs the SQLite engine listeners
        security,
    )
    from imis_mock.auth import init_login
    from imis_mock.extensions import csrf, db, migrate
    from imis_mock.services import audit

    db.init_app(app)
    app.before_request(database.mark_writing_request)

    @app.before_request
    def remember_remote_addr() -> None:
        # The audit service records the caller's address without reading the request itself.
        g.setdefault(audit.REMOTE_ADDR, request.remote_addr or "")

    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    init_login(app)
    security.init_app(app)


def register_blueprints(app: Flask) -> None:
    from imis_mock.admin_api import bp as admin_api_bp
    from imis_mock.api import bp as api_bp
    from imis_mock.content import published_bp
    from imis_mock.extensions import csrf
    from imis_mock.member import bp as member_bp
    from imis_mock.oauth import bp as oauth_bp
    from imis_mock.staff import bp as staff_bp

    app.register_blueprint(member_bp)
    app.register_blueprint(staff_bp, url_prefix="/staff")
    # /token is for machines: it never reads the cookie session, so CSRF does not apply.
    csrf.exempt(oauth_bp)
    app.register_blueprint(oauth_bp)
    # The API checks its own RequestVerificationToken header (a cookie alone grants nothing).
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp, url_prefix="/api")
    # The admin API checks a token, or CSRF itself for a staff session (admin_api/__init__.py).
    csrf.exempt(admin_api_bp)
    app.register_blueprint(admin_api_bp, url_prefix="/qa/api")
    # Published content records: a catch-all for /....aspx, below every other route.
    app.register_blueprint(published_bp)


def register_errors(app: Flask) -> None:
    from imis_mock.errors import init_app

    init_app(app)


def register_cli(app: Flask) -> None:
    from imis_mock.cli import init_app

    init_app(app)


def register_diagnostics(app: Flask) -> None:
    from imis_mock.diagnostics import init_app

    init_app(app)


def register_middleware(app: Flask) -> None:
    """The WSGI layers around Flask, outermost last."""
    from imis_mock import routing
    from imis_mock.api.fast_path import ApiReadFastPath
    from imis_mock.oauth.server import TokenFastPath

    # A successful GET /api/{Entity}/{id}, answered before Flask on the canonical path.
    app.wsgi_app = ApiReadFastPath(app, app.wsgi_app)
    # Case-blind paths and query keys, slashes, the application root (see routing.py).
    routing.init_app(app)
    # The refresh grant's success at /token, answered before Flask (see oauth/server.py).
    app.wsgi_app = TokenFastPath(app)
