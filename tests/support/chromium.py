"""Debian's Chromium under Playwright: its path, launch flags, step timeout and screenshots."""

from pathlib import Path

from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google on a closed network.
# Playwright gives every launch a fresh temporary profile (user-data dir) of its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long a step may wait for a page or an element before it counts as broken. It is a deadline
# for failing, not a speed check: the machine is shared and scrypt sign-ins are slow.
STEP_TIMEOUT_MS = 30_000


def screenshot(page: Page, folder: Path, name: str) -> None:
    """Save a screenshot of the page's content (no empty viewport below it) as folder/name.png."""
    page.locator("body").screenshot(path=folder / f"{name}.png")
