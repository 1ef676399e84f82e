"""Fixtures: a migrated database per test (cloned from one template), clients, a live server.

The suite runs on SQLite, or on PostgreSQL when TEST_DATABASE_URL is set (see
tests/support/databases.py). Mark a test `@pytest.mark.database("sqlite", reason="...")` if it can
only run on one of them. The helpers the tests share are plain functions in tests/support/.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from imis_mock.extensions import db
from imis_mock.services import demo
from tests.support import databases
from tests.support.api import Http
from tests.support.apps import make_app, sign_in
from tests.support.data import MEMBER_PASSWORD, STAFF_PASSWORD
from tests.support.fast_path import spy_on_answers
from tests.support.servers import LiveServer


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


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app served over real HTTP on 127.0.0.1 and a free port, in a thread."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def http(app: Flask, live_server: LiveServer) -> Http:
    """Call the live server's REST API with a bearer token for the named user (default MANAGER)."""
    return Http(app, live_server.url)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Which requests the read fast path answered itself (True) or handed to Flask (False)."""
    return spy_on_answers(monkeypatch)
