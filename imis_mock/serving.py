"""Serve a WSGI app with granian as `make run` does: `python serve.py app:app` (or sample:app).

One place for the server's settings, used by `make run` (the mock and the sample app), `make
bench`, the tests that start real servers and `imis-mock serve`. Why granian, and these settings:
docs/serving.md.

Environment: HOST (127.0.0.1), PORT (5000), WEB_CONCURRENCY (worker processes, 2),
SERVER_THREADS (Python threads per worker, 64), ACCESS_LOG ("" turns the log line per request off).
"""

import os
import sys
import threading
import time
from collections import deque
from importlib import import_module

from granian import Granian
from granian.constants import Interfaces

# Each request holds one of a worker's Python threads until its body is read, so a client that
# trickles its body holds one too: this many slow clients per worker cannot stall the pages.
THREADS = 64
# SIGTERM: workers finish the requests they hold, for at most this long, then are killed.
STOP_SECONDS = 5
# The app a worker serves, "module:app", for served() (set by server() before the workers start).
TARGET_VARIABLE = "IMIS_SERVE_TARGET"


def access_line(environ: dict, status: str, seconds: float) -> str:
    """The line per request, as gunicorn's was: `addr "METHOD /path HTTP/1.1" 200 1.2ms "agent"`.

    The path as the client sent it, without the query string: nothing secret belongs there, but it
    is not worth the risk of logging a token someone pasted into a URL.
    """
    return (
        f'{environ.get("REMOTE_ADDR") or "-"} "{environ.get("REQUEST_METHOD")} '
        f'{environ.get("PATH_INFO")} {environ.get("SERVER_PROTOCOL")}" {status} '
        f'{seconds * 1000:.1f}ms "{environ.get("HTTP_USER_AGENT") or "-"}"'
    )


class AccessLog:
    """WSGI middleware: a line per request on standard output, written behind.

    Granian's own access log (Python's logging: a record, a formatter, a lock and a flush for each
    line) cost a quarter of the mock's requests per second on the IQA endpoints (docs/serving.md).
    Here each request formats its line and queues it; a thread of the worker writes what is
    queued about ten times a second, in one write. It is not a daemon: when the worker stops
    (SIGTERM), Python waits for it, and it writes the last lines before it ends.
    """

    PAUSE_SECONDS = 0.1

    def __init__(self, app):
        self.app = app
        self.lines: deque[str] = deque()
        self.pid = 0
        self.started = threading.Lock()

    def __call__(self, environ: dict, start_response):
        started = time.perf_counter()
        status = "500"

        def respond(line: str, headers: list, exc_info=None):
            nonlocal status
            status = line[:3]
            return start_response(line, headers, exc_info)

        try:
            return self.app(environ, respond)
        except BaseException:
            status = "500"  # the server answers an exception so
            raise
        finally:
            self.lines.append(access_line(environ, status, time.perf_counter() - started))
            if self.pid != os.getpid():
                self._start()

    def _start(self) -> None:
        # First request in this process (the server forks its workers): start its writer.
        with self.started:
            if self.pid != os.getpid():
                self.pid = os.getpid()
                threading.Thread(target=self._run, name="access-log", daemon=False).start()

    def _run(self) -> None:
        main = threading.main_thread()
        while True:
            time.sleep(self.PAUSE_SECONDS)
            lines = []
            while self.lines:
                lines.append(self.lines.popleft())
            if lines:
                try:
                    sys.stdout.write("\n".join(lines) + "\n")
                    sys.stdout.flush()
                except (OSError, ValueError):
                    # Standard output is gone (a closed pipe, a closed file): these lines are
                    # dropped, and the thread goes on, so the queue does not grow for good.
                    pass
            elif not main.is_alive():
                return


# The names under which a request's own data reaches the app (CGI's, as WSGI has them) that
# granian sets only when the request carries it: a header, a body's type and length.
REQUEST_VARIABLES = ("CONTENT_TYPE", "CONTENT_LENGTH", "REMOTE_USER", "AUTH_TYPE")


def process_request_variables(environment: dict) -> dict[str, str]:
    """The variables of the server's environment that granian would pass off as request data.

    Granian's WSGI mode starts every request's environ from a copy of the process's environment,
    then sets the request's own keys over it. A header the request did not send keeps the
    process's value: a server started with HTTP_PROXY set shows every request a `Proxy` header
    (the "httpoxy" pattern), one started with HTTP_AUTHORIZATION authenticates every request.
    """
    return {
        name: value
        for name, value in environment.items()
        if name.startswith("HTTP_") or name in REQUEST_VARIABLES
    }


class RequestDataOnly:
    """WSGI middleware for a worker whose environment has variables named as request data.

    Granian copies the environment once per worker, after its factory (served()) has built the
    app: served() takes these variables out of the worker's environment first, and the first
    request puts them back, for the app's own use (a proxy for its outgoing requests), once
    granian's copy has been made without them. Each request's environ then holds only what the
    request sent.
    """

    def __init__(self, app, hidden: dict[str, str]):
        self.app = app
        self.hidden = hidden
        self.restored = False

    def __call__(self, environ: dict, start_response):
        if not self.restored:
            os.environ.update(self.hidden)
            self.restored = True
        return self.app(environ, start_response)


def served():
    """The app named by TARGET_VARIABLE (granian's factory, per worker): behind the access log
    unless ACCESS_LOG is off, given only the request's data (RequestDataOnly) where the process's
    environment has variables named as request data."""
    module, name = os.environ[TARGET_VARIABLE].split(":")
    app = getattr(import_module(module), name)
    if os.environ.get("ACCESS_LOG", "1"):
        app = AccessLog(app)
    hidden = process_request_variables(dict(os.environ))
    if not hidden:
        return app
    for variable in hidden:
        del os.environ[variable]
    return RequestDataOnly(app, hidden)


def server(target: str) -> Granian:
    """Return the granian server for `target` ("module:app"), configured from the environment."""
    os.environ[TARGET_VARIABLE] = target
    return Granian(
        "imis_mock.serving:served",
        factory=True,
        address=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
        interface=Interfaces.WSGI,
        workers=int(os.environ.get("WEB_CONCURRENCY", "2")),
        blocking_threads=int(os.environ.get("SERVER_THREADS", THREADS)),
        respawn_failed_workers=True,
        respawn_interval=0.5,
        workers_kill_timeout=STOP_SECONDS,
    )


def main() -> None:
    """Serve the target named on the command line until SIGTERM or SIGINT."""
    if len(sys.argv) != 2:
        raise SystemExit("usage: python serve.py module:app")
    server(sys.argv[1]).serve()
