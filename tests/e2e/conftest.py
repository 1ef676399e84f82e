"""Browser fixtures: Debian's Chromium driven by Playwright, against real servers on loopback.

Each test gets the mock on http://127.0.0.1:PORT and the sample app on http://localhost:PORT2 (two
sites, so the hand-off is a real cross-site POST), both under serve.py, each with a fresh instance
folder. The mock's database is a copy of one made per session by `init-db` and `load-demo`.
"""

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS, STEP_TIMEOUT_MS
from tests.support.servers import ROOT, Server, flask_cli, free_port, mock_env

ARTIFACTS = ROOT / "test-artifacts" / "e2e"

expect.set_options(timeout=STEP_TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole session; each test opens fresh contexts in it."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message + ": browser tests must run in CI")
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def sample_port() -> int:
    """The sample app's port, fixed for the session: the demo's Login redirect URL names it."""
    return free_port()


@pytest.fixture(scope="session")
def template_instance(tmp_path_factory: pytest.TempPathFactory, sample_port: int) -> Path:
    """An instance folder migrated by `init-db` and filled by `load-demo`, copied for each test."""
    instance = tmp_path_factory.mktemp("e2e-template")
    env = mock_env(instance)
    flask_cli(instance, "init-db", env=env)
    env["FLASK_DEMO_SAMPLE_APP_URL"] = f"http://localhost:{sample_port}/sso"
    flask_cli(instance, "load-demo", env=env)
    return instance


@pytest.fixture
def mock(tmp_path: Path, template_instance: Path) -> Iterator[Server]:
    """The mock under serve.py on http://127.0.0.1:PORT, with a fresh copy of the demo database."""
    instance = tmp_path / "imis"
    shutil.copytree(template_instance, instance)
    server = Server("app:app", mock_env(instance), log=tmp_path / "mock.log")
    server.instance = instance
    with server:
        yield server


@pytest.fixture
def start_sample(tmp_path: Path, mock: Server, sample_port: int) -> Iterator[Callable[..., Server]]:
    """Start the sample app on http://localhost:PORT2 with SAMPLE_* settings (default: the demo)."""
    started: list[Server] = []

    def start(**settings: str) -> Server:
        env = {
            "SAMPLE_INSTANCE_PATH": str(tmp_path / "sample"),
            "SAMPLE_IMIS_URL": mock.url,
            **{f"SAMPLE_{name.upper()}": value for name, value in settings.items()},
        }
        server = Server(
            "sample:app", env, log=tmp_path / "sample.log", host="localhost", port=sample_port
        )
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sample(start_sample: Callable[..., Server]) -> Server:
    """The sample app registered by the demo data as client application SampleApp."""
    return start_sample()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's folder for screenshots (git-ignored)."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def new_page(
    browser: Browser,
    request: pytest.FixtureRequest,
    artifacts: Path,
    tmp_path: Path,
    start_sample: Callable[..., Server],
) -> Iterator[Callable[[str], Page]]:
    """Open a page in a fresh browser context (its own cookies): one per person in the test.

    It depends on the servers so that its contexts close first: the server's graceful stop would
    otherwise wait for the browser's keep-alive connections.
    """
    pages: dict[str, Page] = {}

    def open_page(who: str) -> Page:
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        context.set_default_timeout(STEP_TIMEOUT_MS)
        pages[who] = page = context.new_page()
        return page

    yield open_page
    failed = request.node.stash.get(FAILED, True)
    for who, page in pages.items():
        if failed:
            page.screenshot(path=artifacts / f"failed-{who}.png", full_page=True)
        page.context.close()
    if failed:
        for log in tmp_path.glob("*.log"):
            shutil.copy(log, artifacts / log.name)
