"""serving.AccessLog, the server's line per request, in-process: what it writes and that it
keeps writing when standard output failed once (a live server's lines: tests/test_serving.py)."""

import io
import sys
import time

from imis_mock.serving import AccessLog


def hello(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [b"hi"]


class FailingOnce(io.StringIO):
    """Standard output whose first write fails, as a closed pipe's does."""

    def __init__(self):
        super().__init__()
        self.failed = False

    def write(self, text):
        if not self.failed:
            self.failed = True
            raise BrokenPipeError
        return super().write(text)


def environ(path: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "token=abc",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": "qa/2",
    }


def wait_for(predicate, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_lines_go_on_after_standard_output_failed(monkeypatch):
    out = FailingOnce()
    monkeypatch.setattr(sys, "stdout", out)
    logged = AccessLog(hello)
    assert logged(environ("/first"), lambda *args: None) == [b"hi"]
    assert wait_for(lambda: out.failed and not logged.lines)  # taken, and dropped
    logged(environ("/second"), lambda *args: None)
    assert wait_for(lambda: "/second" in out.getvalue())
    line = out.getvalue().strip()
    assert line.startswith('10.0.0.7 "GET /second HTTP/1.1" 201 ')
    assert line.endswith('ms "qa/2"') and "abc" not in line
