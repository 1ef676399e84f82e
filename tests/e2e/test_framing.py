"""Another site cannot show the mock's pages in a frame (clickjacking), checked in Chromium."""

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page

from tests.support.servers import Server


@pytest.fixture
def attacker(mock: Server) -> Iterator[str]:
    """Another site, http://localhost:PORT (the mock is on 127.0.0.1), framing a mock page.

    It is a real server on loopback: Chromium refuses to let a page it thinks is on the public
    internet frame a loopback address at all, which would hide whether the mock's headers work.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/frame"):
                target = mock.url + self.path.removeprefix("/frame")
                body = f'<iframe id="mock" src="{target}"></iframe><p id="own">attacker</p>'
            else:
                body = ""
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.parametrize("path", ["/SignIn", "/staff/SignIn", "/"])
def test_another_site_cannot_frame_the_mock(
    new_page: Callable[[str], Page], attacker: str, mock: Server, path: str
):
    page = new_page("attacker")
    page.goto(f"{attacker}/frame{path}")
    assert page.locator("#own").inner_text() == "attacker"
    framed = page.locator("#mock").element_handle().content_frame()
    # Chromium replaces a frame it refuses (frame-ancestors, X-Frame-Options) with an error page.
    assert not framed.url.startswith(mock.url), framed.url
    assert framed.locator("form").count() == 0
