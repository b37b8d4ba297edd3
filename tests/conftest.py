"""Shared test set-up."""

import os

import pytest
from playwright.sync_api import sync_playwright

from book.browser import INSTALL_HINT, launch_options


@pytest.fixture(autouse=True)
def _not_strict(monkeypatch):
    """`make test` sets AUTOCHECK_STRICT=1 for the notebooks; checker tests opt in themselves."""
    monkeypatch.delenv("AUTOCHECK_STRICT", raising=False)


@pytest.fixture(scope="session")
def chromium_options():
    """How to launch the system's Chromium (Playwright's own download needs the internet).

    Without a browser the browser tests skip, except where REQUIRE_BROWSER=1 (CI) makes that a
    failure.
    """
    options = launch_options()
    if options is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    return options


@pytest.fixture(scope="session")
def browser_type_launch_args(chromium_options):
    """pytest-playwright's launch options (the site tests, a pytest run of their own).

    Its browser lives for the whole session, and with it an event loop that would make
    nbclient's ``asyncio.run`` fail; tests that share a run with notebooks use a browser of
    their own module instead (test_notebook_math_in_browser.py).
    """
    return chromium_options


@pytest.fixture(scope="module")
def module_browser(chromium_options):
    """A browser per test module (tests that run notebooks need its event loop gone before
    nbclient runs; the site tests, a run of their own, use pytest-playwright's instead)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options)
        yield browser
        browser.close()
