"""Regenerate the README's screenshots into screenshots/.

Run from the repository root: `.venv/bin/python scripts/screenshots.py`. It starts the mock and
the sample app on free ports, as the browser tests do (two sites: 127.0.0.1 and localhost), with
a fresh demo database in a temporary instance folder, then drives Debian's Chromium:

- content-record-sso.png: Staff site, the demo's "Launch Sample App" content record with its
  Single Sign-On item and the full URL to copy;
- sample-app-signed-in.png: a member opens /SampleApp.aspx, signs in, and lands in the sample
  app, signed in.

Nothing in the repository changes but those two files.
"""

import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS, STEP_TIMEOUT_MS  # noqa: E402
from tests.support.chromium_flows import (  # noqa: E402
    MEMBER,
    MEMBER_PASSWORD,
    expect_signed_in_to_sample,
    fill_sign_in,
    staff_nav,
    staff_sign_in,
)
from tests.support.servers import Server, flask_cli, free_port, mock_env  # noqa: E402

IMAGES = ROOT / "screenshots"
RECORD_TITLE = "Launch Sample App"  # the demo's Single Sign-On record, /SampleApp.aspx


def port(preferred: int) -> int:
    """`make run`'s port when it is free, so the pictures show the README's URLs; else any."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def shoot(page: Page, name: str) -> Path:
    """Save the page's content (no empty viewport below it) as screenshots/<name>.png."""
    path = IMAGES / f"{name}.png"
    page.locator("body").screenshot(path=path)
    return path


def content_record(page: Page, mock_url: str) -> Path:
    """Staff open the demo's SSO content record and generate its full URL."""
    staff_sign_in(page, mock_url)
    staff_nav(page).get_by_role("link", name="Manage content").click()
    page.get_by_role("link", name=RECORD_TITLE).click()
    expect(page.get_by_role("heading", name=RECORD_TITLE, level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="Single Sign-On", exact=True)).to_be_visible()
    page.get_by_role("link", name="Generate Full URL").click()
    expect(page.get_by_label("Full URL")).to_have_value(mock_url + "/SampleApp.aspx")
    return shoot(page, "content-record-sso")


def signed_in(page: Page, mock_url: str, sample_url: str) -> Path:
    """A signed-out member opens /SampleApp.aspx, signs in, and lands in the sample app."""
    page.goto(mock_url + "/SampleApp.aspx")
    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()
    fill_sign_in(page, MEMBER, MEMBER_PASSWORD)
    expect_signed_in_to_sample(page, sample_url)
    return shoot(page, "sample-app-signed-in")


def main() -> None:
    """Start both servers on a fresh demo database and take the screenshots."""
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    IMAGES.mkdir(parents=True, exist_ok=True)
    sample_port = port(5001)
    with tempfile.TemporaryDirectory(prefix="imis-screenshots-") as tmp:
        folder = Path(tmp)
        instance = folder / "imis"
        instance.mkdir()
        env = mock_env(instance)
        flask_cli(instance, "init-db", env=env)
        env["FLASK_DEMO_SAMPLE_APP_URL"] = f"http://localhost:{sample_port}/sso"
        flask_cli(instance, "load-demo", env=env)
        with Server(
            "app:app", mock_env(instance), log=folder / "mock.log", port=port(5000)
        ) as mock:
            sample_env = {
                "SAMPLE_INSTANCE_PATH": str(folder / "sample"),
                "SAMPLE_IMIS_URL": mock.url,
            }
            with Server(
                "sample:app",
                sample_env,
                log=folder / "sample.log",
                host="localhost",
                port=sample_port,
            ) as sample:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                    )
                    for take in (
                        lambda page: content_record(page, mock.url),
                        lambda page: signed_in(page, mock.url, sample.url),
                    ):
                        # A fresh context (cookies) per person, as in the browser tests.
                        context = browser.new_context(viewport={"width": 1100, "height": 760})
                        context.set_default_timeout(STEP_TIMEOUT_MS)
                        print(take(context.new_page()).relative_to(ROOT))
                        context.close()
                    browser.close()


if __name__ == "__main__":
    main()
