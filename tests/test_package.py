"""The package as a user gets it: `pip install <checkout>` into a fresh virtual environment
outside the checkout, then `imis-mock serve`, and an example test file run with only the plugin.

Slow (it installs every dependency, from the pip cache or the registry): marked `package`.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.package


def base_python() -> str:
    """The interpreter the project's venv was made from (a venv inside a venv links to it)."""
    return getattr(sys, "_base_executable", None) or sys.executable


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with imis-mock (from the checkout, not editable) and pytest installed."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([base_python(), "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT), "pytest", "requests"],
        cwd=venv.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return venv


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "IMIS_"))}
    env.pop("PYTHONPATH", None)
    env.pop("TEST_DATABASE_URL", None)
    return env


def test_the_package_is_installed_not_linked(installed: Path, tmp_path: Path):
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import imis_mock; print(imis_mock.__file__)"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    location = Path(result.stdout.strip())
    assert location.is_relative_to(installed)
    for folder in ("templates", "static", "migrations"):
        assert (location.parent / folder).is_dir(), folder
    assert (location.parent / "migrations" / "versions").is_dir()
    assert (location.parent / "scenarios" / "scenario.schema.json").is_file()
    assert (location.parent / "admin_api" / "openapi.json").is_file()


def test_imis_mock_serve_serves_the_sign_in_page(installed: Path, tmp_path: Path):
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(installed / "bin" / "imis-mock"), "serve", "--port", str(port), "--workers", "1"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        response = None
        for _ in range(300):  # a bounded wait for the server to start, not a time limit
            try:
                response = requests.get(f"{url}/SignIn", timeout=5)
                break
            except requests.ConnectionError:
                if server.poll() is not None:
                    break
                time.sleep(0.1)
        assert response is not None, (tmp_path / "serve.log").read_text()
        assert response.status_code == 200
        assert "<h1>Sign In</h1>" in response.text
        assert 'for="username"' in response.text
        assert requests.get(f"{url}/static/css/site.css", timeout=5).status_code == 200
        # The demo data is there, and the admin API answers with the token kept in instance/.
        token = (tmp_path / "instance" / "admin_token").read_text().strip()
        site = requests.get(
            f"{url}/qa/api/scenario", headers={"Authorization": f"Bearer {token}"}, timeout=5
        ).json()
        assert "jsmith" in [c["username"] for c in site["contacts"]]
        assert requests.get(f"{url}/qa/api/scenario", timeout=5).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_an_example_test_file_passes_with_only_the_plugin(installed: Path, tmp_path: Path):
    shutil.copy(ROOT / "examples" / "requests_client" / "test_token_and_api.py", tmp_path)
    result = subprocess.run(
        [str(installed / "bin" / "pytest"), "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
