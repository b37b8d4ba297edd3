"""Find a Chromium for Playwright: the PDF of the book and the browser tests both need one.

Playwright's own browser download needs the internet (and is impossible on this project's CI),
so the system's Chromium comes first: ``$CHROMIUM`` if set, else ``chromium``,
``chromium-browser`` or ``google-chrome`` on the PATH (Debian/Ubuntu: ``apt-get install
chromium``; macOS: Google Chrome), else a browser that ``playwright install chromium`` fetched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MACOS_CHROME = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"

#: Flags for a headless run on a machine with no network but the registries: without the
#: background-networking ones Chromium keeps trying to reach Google's services.
LAUNCH_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

INSTALL_HINT = (
    "no Chromium found: install one (Debian/Ubuntu: `apt-get install chromium`; macOS: Google "
    "Chrome; anywhere online: `.venv/bin/playwright install chromium`) or set $CHROMIUM"
)


def find_chromium() -> str | None:
    """The path of a Chromium to drive, or None (Playwright's own then, if it has one)."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CANDIDATES:
        if path := shutil.which(name):
            return path
    if Path(MACOS_CHROME).exists():
        return MACOS_CHROME
    return None


def launch_options() -> dict | None:
    """Keyword arguments for ``playwright.chromium.launch``, or None when there is no browser."""
    executable = find_chromium()
    if executable is None and not _playwright_has_chromium():
        return None
    options: dict = {"headless": True, "args": list(LAUNCH_ARGS)}
    if executable:
        options["executable_path"] = executable
    return options


def _playwright_has_chromium() -> bool:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    with sync_playwright() as p:
        return Path(p.chromium.executable_path).exists()
