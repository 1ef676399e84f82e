"""pytest fixtures for testing an app against imis-mock (active once imis-mock is installed).

    def test_sign_in(imis_sso_handoff, imis_member, imis_client_app):
        handoff = imis_sso_handoff(imis_member, imis_client_app)
        response = handoff.post()          # the form POST the Single Sign-On item sends
        ...

- imis_mock: the mock served on 127.0.0.1 and a free port, one server per test session (per
  worker under pytest-xdist), with a fresh database for every test: SQLite's backup API copies a
  template database (migrated once) over the live one in a few milliseconds.
  `--imis-scenario FILE` (or the `imis_mock_scenario` ini setting) loads a scenario into the
  template; `@pytest.mark.imis_scenario("file.yaml")` loads one for a single test.
- imis_client_app, imis_member: a client application and a member, made fresh for the test.
  Override the `imis_redirect_url` fixture to point the client at your app.
- imis_sso_handoff(member, client): a minted hand-off: refresh token, form and a requests.Session.
- imis_clock, imis_journal: move the mock's clock; read its request journal.

Everything but the per-test reset goes through the HTTP admin API (/qa/api), as a test suite in
another language would.
"""

import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No line per request: the test report is the place to look."""

    def log_request(self, *args) -> None:
        pass


# A cheap password hash: the members made here sign in from tests, not from attackers.
TEST_CONFIG = {"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("imis-mock")
    group.addoption(
        "--imis-scenario",
        default=None,
        help="imis-mock: a scenario file every test starts from (default: an empty site).",
    )
    parser.addini("imis_mock_scenario", "imis-mock: a scenario file every test starts from.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "imis_scenario(path): imis-mock loads this scenario file for the test"
    )


@dataclass(frozen=True)
class Member:
    username: str
    password: str
    imis_id: str


@dataclass(frozen=True)
class ClientApp:
    client_id: str
    secret: str
    redirect_url: str
    refresh_token_lifetime: int = 30


@dataclass
class Handoff:
    """A minted hand-off: post() sends its form as the member's browser would; redeem() is what
    the client application then does at /token."""

    refresh_token: str
    form: dict
    mock_url: str
    client: ClientApp | None = None
    session: requests.Session = field(default_factory=requests.Session)

    def post(self, **kwargs) -> requests.Response:
        """POST the hand-off form to the client's Login redirect URL with this session."""
        return self.session.post(self.form["action"], data=self.form["fields"], **kwargs)

    def redeem(self) -> requests.Session:
        """Redeem the refresh token at /token as the client; return a session for the REST API
        (its Authorization header carries the access token; .token holds the /token answer)."""
        if self.client is None:
            raise ValueError("Mint the hand-off with a ClientApp (its secret is needed).")
        answer = requests.post(
            f"{self.mock_url}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "client_id": self.client.client_id,
                "client_secret": self.client.secret,
            },
            timeout=30,
        )
        if answer.status_code != 200:
            raise AssertionError(f"imis-mock /token: {answer.status_code} {answer.text}")
        api = requests.Session()
        api.token = answer.json()
        api.headers["Authorization"] = f"Bearer {api.token['access_token']}"
        return api


class MockSite:
    """The live mock: its URL, the admin API, and the per-test reset."""

    def __init__(self, app, template: Path, database: Path, token: str):
        self.app = app
        self.template = template
        self.database = database
        self.admin_token = token
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._source: sqlite3.Connection | None = None
        self._target: sqlite3.Connection | None = None
        self._copied_version = None

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.http.close()
        for connection in (self._source, self._target):
            if connection is not None:
                connection.close()

    def reset(self) -> None:
        """Put the template database back (the site as it was before any test).

        SQLite's backup API copies the template's pages over the live database, whose other
        connections (the server's) then read the copy. Skipped when nothing was written since
        the last copy: `PRAGMA data_version` changes only when another connection commits.
        """
        from imis_mock.database import writers_turn
        from imis_mock.extensions import db
        from imis_mock.services import audit

        with self.app.app_context():
            audit.flush()  # the previous test's events go in before the copy, not after
            db.session.remove()
            if self._target is None:
                self._source = sqlite3.connect(self.template)
                self._target = sqlite3.connect(self.database, timeout=10)
                # A scratch database: no fsync for the copy (a crash loses a test's data only).
                self._target.execute("PRAGMA synchronous = OFF")
            version = self._target.execute("PRAGMA data_version").fetchone()[0]
            if version == self._copied_version:
                return
            with writers_turn(db.engine.url.database or ""):
                self._source.backup(self._target)
            self._copied_version = self._target.execute("PRAGMA data_version").fetchone()[0]

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the admin API (path under /qa/api); raise for an error status."""
        response = self.http.request(method, f"{self.url}/qa/api{path}", **kwargs)
        if response.status_code >= 400:
            raise AssertionError(
                f"imis-mock admin API {method} {path}: {response.status_code} {response.text}"
            )
        return response

    def load_scenario(self, scenario: dict | str | Path, *, merge: bool = False) -> dict:
        """Load a scenario (a document, or a YAML/JSON file) into the site."""
        params = {"merge": "1"} if merge else {}
        if isinstance(scenario, dict):
            return self.admin("POST", "/scenario", json=scenario, params=params).json()
        text = Path(scenario).read_text(encoding="utf-8")
        headers = {"Content-Type": "application/yaml"}
        return self.admin("POST", "/scenario", data=text.encode(), headers=headers).json()

    def create_member(self, username: str | None = None, **fields) -> Member:
        username = username or f"member{secrets.token_hex(4)}"
        password = fields.pop("password", None) or f"Pw-{secrets.token_urlsafe(12)}"
        body = {"first_name": "Test", "last_name": "Member", **fields}
        body.update(username=username, password=password)
        data = self.admin("POST", "/contacts", json=body).json()
        return Member(data["username"], password, data["imis_id"])

    def create_client(
        self, client_id: str | None = None, *, redirect_url: str, secret: str | None = None, **kw
    ) -> ClientApp:
        client_id = client_id or f"App{secrets.token_hex(4)}"
        secret = secret or secrets.token_urlsafe(24)
        body = {"client_id": client_id, "secret": secret, "redirect_url": redirect_url, **kw}
        data = self.admin("POST", "/clients", json=body).json()
        return ClientApp(
            data["client_id"], secret, data["redirect_url"], data["refresh_token_lifetime"]
        )

    def mint_handoff(self, member: Member | str, client: ClientApp | str) -> Handoff:
        username = member if isinstance(member, str) else member.username
        client_id = client if isinstance(client, str) else client.client_id
        body = {"username": username, "client_id": client_id}
        data = self.admin("POST", "/handoffs", json=body).json()
        client_app = client if isinstance(client, ClientApp) else None
        return Handoff(data["refresh_token"], data["form"], self.url, client_app)


class Clock:
    """The mock's application clock (shared by every request)."""

    def __init__(self, site: MockSite):
        self.site = site

    def now(self) -> datetime:
        return datetime.fromisoformat(self.site.admin("GET", "/clock").json()["now"])

    def advance(self, minutes: float) -> None:
        self.site.admin("POST", "/clock", json={"advance_minutes": minutes})

    def set_offset(self, seconds: float) -> None:
        self.site.admin("POST", "/clock", json={"offset_seconds": seconds})

    def reset(self) -> None:
        self.site.admin("POST", "/clock", json={"reset": True})


class Journal:
    """The mock's request journal (its audit trail): this test's, since each test starts empty."""

    def __init__(self, site: MockSite):
        self.site = site

    def entries(
        self, *, client_id: str = "", path: str = "", since: datetime | None = None
    ) -> list[dict]:
        params = {"limit": "1000"}
        if since is not None:
            params["since"] = since.isoformat()
        if client_id:
            params["client_id"] = client_id
        if path:
            params["path"] = path
        return self.site.admin("GET", "/journal", params=params).json()


def _scenario_option(config: pytest.Config) -> str | None:
    value = config.getoption("--imis-scenario") or config.getini("imis_mock_scenario")
    if not value:
        return None
    path = Path(value)
    return str(path if path.is_absolute() else Path(config.rootpath) / path)


@pytest.fixture(scope="session")
def imis_mock_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig) -> Iterator[MockSite]:
    """The live mock for the session (each xdist worker has its own tmp folder and server)."""
    from flask_migrate import upgrade

    from imis_mock import create_app
    from imis_mock.extensions import db
    from imis_mock.services import accounts, scenario

    root = tmp_path_factory.mktemp("imis-mock")
    template, live = root / "template", root / "live"
    token = secrets.token_urlsafe(24)
    config = {**TEST_CONFIG, "QA_ADMIN_TOKEN": token, "SECRET_KEY": secrets.token_hex(32)}

    def make(instance: Path):
        saved = os.environ.get("IMIS_INSTANCE_PATH")
        os.environ["IMIS_INSTANCE_PATH"] = str(instance)
        try:
            return create_app(
                {**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'imis.db'}"}
            )
        finally:
            if saved is None:
                os.environ.pop("IMIS_INSTANCE_PATH", None)
            else:
                os.environ["IMIS_INSTANCE_PATH"] = saved

    builder = make(template)
    with builder.app_context():
        upgrade()
        accounts.ensure_guest()
        db.session.commit()
        path = _scenario_option(pytestconfig)
        if path:
            text = Path(path).read_text(encoding="utf-8")
            scenario.load(scenario.parse(text), text=text)
        db.engine.dispose()
    live.mkdir()
    app = make(live)
    site = MockSite(app, template / "imis.db", live / "imis.db", token)
    site.reset()
    site.start()
    yield site
    site.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def imis_mock(imis_mock_server: MockSite, request: pytest.FixtureRequest) -> MockSite:
    """The live mock with a fresh site for this test."""
    imis_mock_server.reset()
    marker = request.node.get_closest_marker("imis_scenario")
    if marker:
        path = Path(marker.args[0])
        if not path.is_absolute():
            path = Path(request.node.path).parent / path
        imis_mock_server.load_scenario(path)
    return imis_mock_server


@pytest.fixture
def imis_redirect_url() -> str:
    """The Login redirect URL of imis_client_app: override it to point at your app."""
    return "http://127.0.0.1:9/sso"


@pytest.fixture
def imis_client_app(imis_mock: MockSite, imis_redirect_url: str) -> ClientApp:
    """A client application registered on the mock for this test."""
    return imis_mock.create_client(redirect_url=imis_redirect_url)


@pytest.fixture
def imis_member(imis_mock: MockSite) -> Member:
    """A member (contact and login) made on the mock for this test."""
    return imis_mock.create_member()


@pytest.fixture
def imis_sso_handoff(imis_mock: MockSite) -> Iterator[Callable[[Member, ClientApp], Handoff]]:
    """Mint a Single Sign-On hand-off: imis_sso_handoff(member, client) -> Handoff."""
    made: list[Handoff] = []

    def mint(member: Member | str, client: ClientApp | str) -> Handoff:
        handoff = imis_mock.mint_handoff(member, client)
        made.append(handoff)
        return handoff

    yield mint
    for handoff in made:
        handoff.session.close()


@pytest.fixture
def imis_clock(imis_mock: MockSite) -> Clock:
    return Clock(imis_mock)


@pytest.fixture
def imis_journal(imis_mock: MockSite) -> Journal:
    return Journal(imis_mock)
