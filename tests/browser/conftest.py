"""A real browser against a real server: Chromium driven by Playwright, Charter under
uvicorn on a loopback port.

Chromium is Debian's (``make test`` installs it where it can; ``CHARTER_CHROMIUM``
names another binary). Without one these tests FAIL rather than skip: the console is
only tested if a browser runs it. ``CHARTER_SCREENSHOTS=1`` (``make screenshots``)
writes the screenshots docs/console.md shows; otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from charter.service import Services
from tests.scenes import Scene
from tests.servers import serving

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img" / "console"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
# Headless, and quiet on a machine with no network: no background fetches, no sandbox
# (CI runs as root).
_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """The Chromium binary to drive, if this machine has one."""
    return (
        os.environ.get("CHARTER_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module, not per session: Playwright's sync API keeps an event loop running in
    # this thread while it is open, which the asyncio tests after these cannot share.
    path = chromium_path()
    if path is None:
        pytest.fail(
            "no Chromium to run the console's browser tests: `make test` installs Debian's "
            "chromium package (apt-get install chromium), or set CHARTER_CHROMIUM"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=_ARGS)
        yield launched
        launched.close()


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    """Browser tests run on SQLite: the API-level console tests cover PostgreSQL."""
    target = tmp_path / "charter.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@dataclass
class Console:
    """The approvals scene (tests/scenes.py) served live: its URL, people and agent."""

    url: str
    scene: Scene

    def token(self, who: str) -> str:
        """The bearer token of a person or agent of the scene."""
        return self.scene.tokens[who]["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def console(api: TestClient, services: Services) -> Iterator[Console]:
    scene = Scene(api, services)
    with serving(services) as served:
        yield Console(served.url, scene)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (its own cookies) per test."""
    opened = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    opened.set_default_timeout(10_000)
    yield opened
    opened.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, console: Console, who: str) -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{console.url}/ui/")
    page.get_by_label("Your Charter token").fill(console.token(who))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{console.url}/ui/inbox")


def shot(page: Page, name: str, tmp_path: Path) -> Path:
    """A screenshot of the page: into docs/img/console with CHARTER_SCREENSHOTS=1."""
    folder = SCREENSHOTS if os.environ.get("CHARTER_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
