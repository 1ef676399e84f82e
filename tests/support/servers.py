"""Servers on 127.0.0.1 and a free port: the app in a thread, serve.py in a subprocess, a proxy.

serve.py (granian) serves the mock and the sample app as `make run` does.
"""

import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from flask import Flask
from werkzeug.serving import make_server

from tests.support import databases

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask_cli(instance: Path, *args: str, env: dict | None = None, stdin: str | None = None) -> str:
    """Run `flask --app app ...` on an instance folder (and its database); return its output."""
    result = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env={**os.environ, **databases.instance_env(instance), **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


class LiveServer:
    """The app served by werkzeug in a thread of the test process."""

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


def mock_env(instance: Path) -> dict[str, str]:
    """The environment of a mock on SQLite in the instance folder (the browser tests' servers)."""
    return {
        "IMIS_INSTANCE_PATH": str(instance),
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/imis.db",
    }


class Server:
    """serve.py serving `target` (e.g. "app:app") as `make run` does.

    For the mock, pass `env=databases.instance_env(instance)` so it uses the test's database.
    """

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

    def start(self) -> "Server":
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "serve.py", self.target],
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

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class TcpProxy:
    """Forward a local port to a database server; stop() makes the database unreachable.

    stop() closes the listening socket and cuts every forwarded connection, as a server crash or
    a network failure would; start() listens on the same port again.
    """

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._sockets: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "TcpProxy":
        self._stopping.clear()
        listener = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, args=(listener,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join()
        for sock in list(self._sockets):
            _close(sock)
        self._sockets.clear()

    def _serve(self, listener: socket.socket) -> None:
        with listener, selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            while not self._stopping.is_set():
                if not selector.select(timeout=0.05):
                    continue
                client, _ = listener.accept()
                try:
                    server = socket.create_connection(self.upstream)
                except OSError:
                    _close(client)
                    continue
                self._sockets |= {client, server}
                for source, target in ((client, server), (server, client)):
                    threading.Thread(target=_pump, args=(source, target), daemon=True).start()

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(target)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
