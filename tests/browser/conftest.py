"""Browser tests: Debian's chromium driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.registry_fixtures import (  # noqa: F401 — fixtures for the registry's pages
    civil_affairs,
    correction_tag,
    district,
    elderly_list,
    elderly_tag,
    grid_worker,
    handler,
    hukou,
    other_grid_worker,
    police,
    police_handler,
    police_steward,
    steward,
)

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told that this is deliberate. Set only while a browser
# runs: deploy checks (rightly) refuse this variable, and other tests must not inherit it.
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def collected_static() -> None:
    """Collect static files once, as a deployment would, into this run's var dir."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(scope="session")
def _one_request_at_a_time() -> Iterator[None]:
    """On SQLite, serve the live server's requests one at a time.

    The in-memory SQLite test database is one connection shared by every server thread; two
    requests at once (the map fetches two GeoJSON files in parallel) would use it from two
    threads together and hang. PostgreSQL gives each thread its own connection, so it keeps
    the threaded server. Django's non-threaded server closes each HTTP connection after its
    response, so the browser's parallel fetches simply queue.
    """
    from django.core.servers.basehttp import WSGIServer
    from django.db import connection
    from django.test import testcases

    if connection.vendor != "sqlite":
        yield
        return

    class SerialLiveServerThread(testcases.LiveServerThread):
        def _create_server(self, connections_override=None):
            return WSGIServer((self.host, self.port), testcases.QuietWSGIRequestHandler,
                              allow_reuse_address=False)

    original = testcases.LiveServerThread
    testcases.LiveServerThread = SerialLiveServerThread
    yield
    testcases.LiveServerThread = original


@pytest.fixture(scope="session")
def live_server(_one_request_at_a_time, live_server):
    """pytest-django's live server, created after the SQLite adjustment above."""
    return live_server


@pytest.fixture(scope="module")
def browser(collected_static):
    """Chromium for one test module; its event loop stops when the module is done, so tests
    that run after it (in a mixed run) see a plain synchronous thread again."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def open_page(browser, live_server) -> Iterator[Callable]:
    """Open a fresh browser context (own cookies) and return its page.

    The context asks for Chinese like a phone in China would; the page fails the test on any
    JavaScript error or any request that leaves the live server.
    """
    contexts = []
    problems: list[str] = []

    def _open(width: int = 1280, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        # data: and same-origin blob: URLs never leave the phone (a photo being shrunk).
        page.on("request", lambda req: None if req.url.startswith(live_server.url)
                or req.url.startswith(("data:", f"blob:{live_server.url}"))
                else problems.append(f"external: {req.url}"))
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not problems, problems


def sign_in(page, live_server, username: str, password: str) -> None:
    """Sign in through the real form, as a person would."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, "sign-in failed"


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as wg-pages-<name>.png for a person to look at.

    It goes to $WANGGE_SCREENSHOT_DIR, else the system temporary directory.
    """
    folder = Path(os.environ.get("WANGGE_SCREENSHOT_DIR") or tempfile.gettempdir())
    path = folder / f"wg-pages-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
