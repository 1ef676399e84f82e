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


def served():
    """The app named by TARGET_VARIABLE, behind the access log (granian's factory, per worker)."""
    module, name = os.environ[TARGET_VARIABLE].split(":")
    return AccessLog(getattr(import_module(module), name))


def server(target: str) -> Granian:
    """Return the granian server for `target` ("module:app"), configured from the environment."""
    logged = bool(os.environ.get("ACCESS_LOG", "1"))
    if logged:
        os.environ[TARGET_VARIABLE] = target
    return Granian(
        "imis_mock.serving:served" if logged else target,
        factory=logged,
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
