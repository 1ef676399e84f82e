"""Serve a WSGI app with granian as `make run` does: `python serve.py app:app` (or sample:app).

One place for the server's settings, used by `make run` (the mock and the sample app), `make
bench`, the tests that start real servers and `imis-mock serve`. Why granian, and these settings:
docs/serving.md.

Environment: HOST (127.0.0.1), PORT (5000), WEB_CONCURRENCY (worker processes, 2),
SERVER_THREADS (Python threads per worker, 64), ACCESS_LOG ("" turns the log line per request off).
"""

import os
import sys

from granian import Granian
from granian.constants import Interfaces

# A line per request, as gunicorn's was. The query string is left out: nothing secret belongs
# there, but it is not worth the risk of logging a token someone pasted into a URL.
ACCESS_LOG_FORMAT = (
    '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms "%(header{user-agent})s"'
)
# Each request holds one of a worker's Python threads until its body is read, so a client that
# trickles its body holds one too: this many slow clients per worker cannot stall the pages.
THREADS = 64
# SIGTERM: workers finish the requests they hold, for at most this long, then are killed.
STOP_SECONDS = 5


def server(target: str) -> Granian:
    """Return the granian server for `target` ("module:app"), configured from the environment."""
    return Granian(
        target,
        address=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
        interface=Interfaces.WSGI,
        workers=int(os.environ.get("WEB_CONCURRENCY", "2")),
        blocking_threads=int(os.environ.get("SERVER_THREADS", THREADS)),
        log_access=bool(os.environ.get("ACCESS_LOG", "1")),
        log_access_format=ACCESS_LOG_FORMAT,
        respawn_failed_workers=True,
        respawn_interval=0.5,
        workers_kill_timeout=STOP_SECONDS,
    )


def main() -> None:
    """Serve the target named on the command line until SIGTERM or SIGINT."""
    if len(sys.argv) != 2:
        raise SystemExit("usage: python serve.py module:app")
    server(sys.argv[1]).serve()
