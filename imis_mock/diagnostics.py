"""Test-only diagnostics: which worker process answered a request.

With EXPOSE_WORKER_PID on (off by default), every response carries `X-Worker-PID`, the process
ID of the server worker that answered. The load and multi-worker tests use it to show that
requests land on every worker. Real iMIS sends no such header, so it stays off outside tests.
"""

import os

from flask import Flask, Response

WORKER_PID_HEADER = "X-Worker-PID"


def add_worker_pid(response: Response) -> Response:
    response.headers[WORKER_PID_HEADER] = str(os.getpid())
    return response


def init_app(app: Flask) -> None:
    if app.config.get("EXPOSE_WORKER_PID"):
        app.after_request(add_worker_pid)
