"""gunicorn settings for `make run`: loopback, threaded workers, a log line per request."""

import os

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
