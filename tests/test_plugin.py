"""The pytest plugin (imis_mock/pytest_plugin.py), run as a third-party suite would run it: pytest
in a subprocess on the examples/ and on test files written here, with the plugin named by -p (the
checkout is not installed; tests/test_package.py covers the installed entry point)."""

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "imis_mock.pytest_plugin"


def plugin_option() -> list[str]:
    """Name the plugin, unless imis-mock is installed here (its entry point then loads it)."""
    installed = any(e.value == PLUGIN for e in entry_points(group="pytest11"))
    return [] if installed else ["-p", PLUGIN]


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TEST_DATABASE_URL", None)  # the plugin serves SQLite, whatever the suite runs on
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugin_option(), "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def passed(result: subprocess.CompletedProcess) -> int:
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"(\d+) passed", result.stdout)
    assert match, result.stdout
    assert " failed" not in result.stdout and " error" not in result.stdout
    return int(match.group(1))


@pytest.mark.parametrize("example", ["flask_app", "requests_client"])
def test_the_examples_pass_with_only_the_plugin(example: str):
    result = run_pytest(ROOT / "examples" / example, "-q")
    expected = {"flask_app": 5, "requests_client": 3}[example]
    assert passed(result) == expected


ISOLATION = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_each_test_gets_a_fresh_database(imis_mock, n):
    site = imis_mock.admin("GET", "/scenario").json()
    assert site["contacts"] == [] and site["client_applications"] == []
    imis_mock.create_member(f"only-in-test-{n}")
    imis_mock.admin("POST", "/clock", json={"advance_minutes": 90})

def test_the_clock_is_back(imis_clock):
    assert abs((imis_clock.now() - __import__("datetime").datetime.now(
        __import__("datetime").UTC)).total_seconds()) < 60

def test_one_server_per_session(imis_mock):
    print("SERVER", imis_mock.url)
"""
# Each test notes which worker ran it on which server.
RECORDER = """
import os, pathlib, pytest

@pytest.fixture(autouse=True)
def _record(imis_mock):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(pathlib.Path(__file__).parent / "servers.txt", "a") as out:
        out.write(f"{worker} {imis_mock.url}\\n")
"""


def test_each_test_starts_from_the_template(tmp_path: Path):
    (tmp_path / "test_isolation.py").write_text(ISOLATION)
    result = run_pytest(tmp_path, "-q", "-s")
    assert passed(result) == 5


def test_a_scenario_for_the_session_and_for_one_test(tmp_path: Path):
    (tmp_path / "site.yaml").write_text(
        "version: 1\ncontacts:\n- {username: alice, first_name: Alice, last_name: Ng}\n"
    )
    (tmp_path / "one.yaml").write_text(
        "version: 1\nclient_applications:\n"
        "- {client_id: Lms, secret: lms-secret-1-Zq7Lm3Vx9Rt2Wp8Kc5H, redirect_url: 'https://lms.example/sso'}\n"
    )
    (tmp_path / "test_scenarios.py").write_text(
        "import pytest\n\n"
        "def names(site):\n"
        "    doc = site.admin('GET', '/scenario').json()\n"
        "    return [c['username'] for c in doc['contacts']], "
        "[c['client_id'] for c in doc['client_applications']]\n\n"
        "def test_session_scenario(imis_mock):\n"
        "    assert names(imis_mock) == (['alice'], [])\n\n"
        "@pytest.mark.imis_scenario('one.yaml')\n"
        "def test_marker_scenario(imis_mock):\n"
        "    assert names(imis_mock) == ([], ['Lms'])\n"
    )
    result = run_pytest(tmp_path, "-q", "--imis-scenario", "site.yaml", "-k", "session")
    assert passed(result) == 1
    result = run_pytest(tmp_path, "-q", "-k", "marker")
    assert passed(result) == 1


def test_a_bad_session_scenario_stops_with_its_error(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text("version: 1\ncontacts:\n- {username: 5}\n")
    (tmp_path / "test_x.py").write_text("def test_x(imis_mock):\n    pass\n")
    result = run_pytest(tmp_path, "-q", "--imis-scenario", "bad.yaml")
    assert result.returncode != 0
    assert "contacts[0].username (line 3)" in result.stdout


def test_one_server_per_xdist_worker(tmp_path: Path):
    pytest.importorskip("xdist", reason="pytest-xdist is in requirements-dev.txt")
    (tmp_path / "test_isolation.py").write_text(ISOLATION)
    (tmp_path / "conftest.py").write_text(RECORDER)
    result = run_pytest(tmp_path, "-q", "-n", "2", "--dist", "load")
    assert passed(result) == 5
    runs = {tuple(line.split()) for line in (tmp_path / "servers.txt").read_text().splitlines()}
    workers = {worker for worker, _ in runs}
    assert workers == {"gw0", "gw1"}
    # One server per worker: as many servers as workers, each worker always on its own.
    assert len({url for _, url in runs}) == len(runs) == 2
