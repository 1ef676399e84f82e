"""Real servers for end-to-end tests: gunicorn in a subprocess on 127.0.0.1 and a free port."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask_cli(instance: Path, *args: str, env: dict | None = None, stdin: str | None = None) -> str:
    """Run `flask --app app ...` against an instance folder; return its output."""
    result = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env={**os.environ, "IMIS_INSTANCE_PATH": str(instance), **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


class Gunicorn:
    """gunicorn serving `target` (e.g. "app:app") with the project's gunicorn.conf.py."""

    def __init__(
        self,
        target: str,
        env: dict,
        *,
        workers: int = 1,
        log: Path,
        host="127.0.0.1",
        port: int | None = None,
    ):
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        self.target = target
        self.env = {
            **os.environ,
            **env,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
        }
        self.log_path = log
        self.process: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", self.target],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()  # never leave a server behind when start-up fails
            raise
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.target} exited; see {self.log_path}")
            try:
                # A worker's first answer can be slow on a busy machine: a read timeout is a
                # reason to ask again, not a failure.
                requests.get(self.url + "/", timeout=10)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"{self.target} did not start; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()

    def __enter__(self) -> "Gunicorn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
