"""gunicorn settings for `make run`: loopback, threaded workers, a log line per request."""

import gc
import os
import sys

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 10
# GUNICORN_ACCESS_LOG="" turns the access log off (`make bench` does, for both of its apps).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# The query string is left out of the access log: nothing secret belongs there, but it is not
# worth the risk of logging a token someone pasted into a URL.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
# gunicorn's control socket defaults to one path per user, which two servers (the mock and the
# sample app, or parallel test servers) would fight over; nothing here uses it.
control_socket_disable = True


def post_fork(server, worker):
    # A thread that gives up the GIL for I/O (a socket write, an SQLite call, the writers' lock)
    # waits for a busy thread to yield it: up to Python's 5 ms switch interval by default, while
    # it may hold the database's write turn that other workers queue for. 0.5 ms keeps such
    # waits short; it applies to every app served with this file (`make bench` serves both).
    sys.setswitchinterval(0.0005)


def post_worker_init(worker):
    # The app is loaded: move everything it allocated (modules, SQLAlchemy's tables and mappers,
    # Jinja's templates) out of the garbage collector's sight. Otherwise every full collection
    # walks them all again, which cost the mock about a sixth of its CPU under load.
    gc.freeze()
