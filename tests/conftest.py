"""Fixtures: a migrated database per test (cloned from one template), clients, a live server.

The suite runs on SQLite, or on PostgreSQL when TEST_DATABASE_URL is set (see tests/databases.py).
Mark a test `@pytest.mark.database("sqlite", reason="...")` if it can only run on one of them.
"""

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import MetaData, make_url, select
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from imis_mock import create_app
from imis_mock.extensions import db
from imis_mock.services import accounts, demo
from tests import databases

TEST_SECRET = "test-secret-key-not-for-production"
# The demo's passwords (imis_mock/scenarios/demo.yaml; README.md lists them).
MEMBER_PASSWORD = "Member-Demo-2026"
STAFF_PASSWORD = "Staff-Demo-2026"


def make_app(instance: Path, monkeypatch: pytest.MonkeyPatch, **overrides) -> Flask:
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(instance))
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "SQLALCHEMY_DATABASE_URI": databases.uri_for(instance),
        "WTF_CSRF_ENABLED": False,
        # A cheap hash keeps the suite quick; production uses scrypt.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    config.update(overrides)
    app = create_app(config)
    databases.close_after_test(app)
    return app


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    databases.close_connections()


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {databases.DIALECT}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "database(name, reason): run the test only on this database (sqlite|postgresql)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("database")
    if marker and marker.args[0] != databases.DIALECT:
        pytest.skip(f"{marker.args[0]} only: {marker.kwargs['reason']}")


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Drop the PostgreSQL databases of this run (and of interrupted runs) before and after."""
    try:
        databases.drop_leftovers()
    except OperationalError as error:
        where = make_url(databases.TEST_DATABASE_URL).render_as_string(hide_password=True)
        pytest.exit(f"TEST_DATABASE_URL is set, but {where} cannot be reached: {error.orig}", 1)
    yield
    databases.drop_leftovers()
    databases.close()


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one database with the demo data; each test gets a clone of it.

    The demo's sample-app client application and its record are left out, so tests start with no
    client applications; tests that want them call demo.load_sample_app().
    """
    instance = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        app = make_app(instance, mp)
        with app.app_context():
            upgrade()
            demo.load(sample_app=False)
            db.session.commit()
            db.engine.dispose()
    databases.keep_as_template(instance)
    return instance


@pytest.fixture
def instance(tmp_path: Path, template_instance: Path) -> Iterator[Path]:
    databases.clone(template_instance, tmp_path)
    yield tmp_path
    databases.close_connections()
    databases.release(tmp_path)


@pytest.fixture
def app(instance: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    return make_app(instance, monkeypatch)


@pytest.fixture
def csrf_app(instance: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The app with CSRF protection switched on, as in production."""
    return make_app(instance, monkeypatch, WTF_CSRF_ENABLED=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def sign_in(client: FlaskClient, username: str, password: str, *, site: str = "member", **extra):
    """Post the sign-in form of the member site or the Staff site."""
    url = "/staff/SignIn" if site == "staff" else "/SignIn"
    data = {"username": username, "password": password, **extra}
    return client.post(url, data=data)


@pytest.fixture
def member_client(client: FlaskClient) -> FlaskClient:
    """A client signed in to the member site as the demo member jsmith."""
    response = sign_in(client, "jsmith", MEMBER_PASSWORD)
    assert response.status_code == 303
    return client


@pytest.fixture
def staff_client(client: FlaskClient) -> FlaskClient:
    """A client signed in to the Staff site as the demo staff user MANAGER."""
    response = sign_in(client, "MANAGER", STAFF_PASSWORD, site="staff")
    assert response.status_code == 303
    return client


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


class LiveServer:
    def __init__(self, app: Flask):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app served over real HTTP on 127.0.0.1 and a free port, in a thread."""
    with LiveServer(app) as server:
        yield server


def database_dump(app: Flask) -> str:
    """Return every row of every table as text, to check what is (not) stored, on any database."""
    with app.app_context():
        metadata = MetaData()
        metadata.reflect(db.engine)
        with db.engine.connect() as conn:
            return "\n".join(
                f"{table.name}: {tuple(row)}"
                for table in metadata.sorted_tables
                for row in conn.execute(select(table))
            )


def create_member(app: Flask, username: str, **fields) -> None:
    with app.app_context():
        accounts.create_user(
            username,
            fields.pop("password", MEMBER_PASSWORD),
            staff=fields.pop("staff", False),
            first_name=fields.pop("first_name", "Test"),
            last_name=fields.pop("last_name", "Member"),
            **fields,
        )
        db.session.commit()


def create_client_application(
    app: Flask,
    client_id: str = "MyApp",
    secret: str = "MyApp-secret-1-Zq7Lm3Vx9Rt2Wp8Kc",
    *,
    lifetime: int = 30,
    redirect_url: str = "https://app.example.com/sso",
) -> int:
    """Register a client application directly (the staff screen is tested on its own).

    Return its row id.
    """
    from imis_mock.models import ClientApplication
    from imis_mock.services import secrets

    with app.app_context():
        client = ClientApplication(
            client_id=client_id,
            client_id_key=client_id.lower(),
            secret_hash=secrets.client_secret_hash(secret),
            refresh_token_lifetime=lifetime,
            redirect_url=redirect_url,
        )
        db.session.add(client)
        db.session.commit()
        return client.id
