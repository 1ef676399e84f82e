"""The server `make run` uses (serve.py, granian): pages keep coming while clients trickle their
bodies, SIGTERM stops it promptly and loses nothing, and every request gets a log line."""

import http.client
import os
import re
import signal
import socket
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from imis_mock import serving
from imis_mock.extensions import db
from imis_mock.models import AccessToken, AuditEvent
from imis_mock.services import accounts, tokens
from tests.support.data import create_client_application
from tests.support.load import mock_server
from tests.support.oauth import SECRET, mint

pytestmark = pytest.mark.load

SLOW_CLIENTS = 50
PAGE_TIMEOUT = 5  # generous: a page takes milliseconds; a stalled server never answers


def trickle(url: str, stop: threading.Event, opened: list) -> None:
    """Send POST /token's headers, then its body one byte a second, until told to stop."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    opened.append(sock)
    sock.sendall(
        b"POST /token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    )
    while not stop.wait(1):
        try:
            sock.sendall(b"a")
        except OSError:
            return


def test_pages_are_served_while_fifty_clients_trickle_their_bodies(app, instance, tmp_path):
    stop, opened = threading.Event(), []
    with mock_server(instance, tmp_path / "server.log") as server:
        threads = [
            threading.Thread(target=trickle, args=(server.url, stop, opened), daemon=True)
            for _ in range(SLOW_CLIENTS)
        ]
        try:
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while len(opened) < SLOW_CLIENTS and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(opened) == SLOW_CLIENTS
            time.sleep(2)  # every slow request has reached the app and waits for its body
            for path in ("/", "/SignIn", "/", "/SignIn", "/"):
                answer = requests.get(server.url + path, timeout=PAGE_TIMEOUT)
                assert answer.status_code == 200, path
        finally:
            stop.set()
            for sock in opened:
                sock.close()


def test_sigterm_stops_promptly_and_loses_nothing(app, instance, tmp_path):
    create_client_application(app, "MyApp", SECRET, lifetime=30)
    raws = [mint(app) for _ in range(20)]
    log = tmp_path / "server.log"
    with mock_server(instance, log) as server:
        for raw in raws:
            form = {
                "grant_type": "refresh_token",
                "client_id": "MyApp",
                "client_secret": SECRET,
                "refresh_token": raw,
            }
            assert requests.post(server.url + "/token", data=form, timeout=30).status_code == 200
        started = time.monotonic()
        server.stop(signal.SIGTERM)
        stopped_in = time.monotonic() - started
        assert server.process.returncode is not None
    # Every success was audited: the events written behind were flushed as the workers stopped.
    with app.app_context():
        events = db.session.scalar(select(func.count()).where(AuditEvent.action == "oauth.token"))
        issued = db.session.scalar(select(func.count()).select_from(AccessToken))
    assert (events, issued) == (len(raws), len(raws))
    assert stopped_in < 15  # the server's own bound is 5 s per worker (serve.STOP_SECONDS)
    lines = [line for line in log.read_text().splitlines() if '"POST /token HTTP/1.1" 200' in line]
    assert len(lines) == len(raws)  # a log line per request


def test_each_request_gets_its_line_soon_without_the_query_string(app, instance, tmp_path):
    log = tmp_path / "server.log"
    with mock_server(instance, log) as server:
        agent = {"User-Agent": "qa/1"}
        requests.get(server.url + "/SignIn?secret=abc123", headers=agent, timeout=30)
        host, port = server.url.removeprefix("http://").split(":")
        bare = http.client.HTTPConnection(host, int(port), timeout=30)
        bare.request("GET", "/no-such-page")  # http.client sends no User-Agent
        assert bare.getresponse().status == 404
        bare.close()
        # Written behind, by each worker's thread, about ten times a second: seen while it runs.
        deadline = time.monotonic() + 10
        while log.read_text().count('HTTP/1.1" ') < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        text = log.read_text()
    assert re.search(r'^127\.0\.0\.1 "GET /SignIn HTTP/1\.1" 200 \d+\.\dms "qa/1"$', text, re.M)
    assert re.search(r'^127\.0\.0\.1 "GET /no-such-page HTTP/1\.1" 404 \d+\.\dms "-"$', text, re.M)
    assert "abc123" not in text


@pytest.mark.parametrize("access_log", ["1", ""], ids=["logged", "unlogged"])
def test_the_servers_environment_never_passes_for_a_requests_header(
    app, instance, tmp_path, access_log
):
    """Granian starts each request's environ from the process's environment: a server started
    with HTTP_AUTHORIZATION set would authenticate every request with it (and HTTP_PROXY would
    show every request a Proxy header). Only what the request sent counts."""
    with app.app_context():
        manager = accounts.get_user("MANAGER")
        raw, _ = tokens.issue_access_token(manager, None, grant_type="password")
        db.session.commit()
    bearer = f"Bearer {raw}"
    log = tmp_path / "server.log"
    with mock_server(
        instance, log, ACCESS_LOG=access_log, HTTP_AUTHORIZATION=bearer, CONTENT_TYPE="text/x-evil"
    ) as server:
        bare = requests.get(server.url + "/api/Party/23179", timeout=30)
        sent = requests.get(
            server.url + "/api/Party/23179", headers={"Authorization": bearer}, timeout=30
        )
        # A form whose request sends no Content-Type is not read as the process's type either.
        posted = requests.post(server.url + "/token", data=b"grant_type=password", timeout=30)
    assert bare.status_code == 401
    assert "invalid_token" not in bare.headers.get("WWW-Authenticate", "")
    assert sent.status_code == 200
    assert sent.json()["Id"] == "23179"
    assert posted.status_code == 400


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [os.environ.get("HTTP_PROXY", "-").encode()]


def test_a_worker_gets_its_proxy_variable_back_once_granian_has_copied_its_environment(
    monkeypatch,
):
    """served() (granian's factory, run in each worker before granian copies the environment for
    its requests) hides the variables named as request data; the first request restores them, so
    the app's own outgoing requests still see HTTP_PROXY."""
    monkeypatch.setenv(serving.TARGET_VARIABLE, "tests.test_serving:hello")
    monkeypatch.setenv("ACCESS_LOG", "")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("CONTENT_LENGTH", "12")
    app = serving.served()
    assert "HTTP_PROXY" not in os.environ and "CONTENT_LENGTH" not in os.environ
    body = b"".join(app({"REQUEST_METHOD": "GET"}, lambda status, headers: None))
    assert body == b"http://proxy.example:3128"
    assert os.environ["CONTENT_LENGTH"] == "12"


def test_a_worker_without_such_variables_is_served_as_it_is(monkeypatch):
    monkeypatch.setenv(serving.TARGET_VARIABLE, "tests.test_serving:hello")
    monkeypatch.setenv("ACCESS_LOG", "")
    for name in serving.process_request_variables(dict(os.environ)):
        monkeypatch.delenv(name)
    assert serving.served().__name__ == "hello"  # not wrapped
