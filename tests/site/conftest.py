"""Fixtures for the checks of the built site.

The site comes from $SITE_HTML (default: _build/html). Without a built site these tests skip,
so that a plain `pytest` on a fresh clone works; `make book` and `make test` set
REQUIRE_SITE=1, which makes a missing site a failure instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from site_pages import SITE, SUB_PATH


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").exists():
        if os.environ.get("REQUIRE_SITE") == "1":
            pytest.fail(f"no built site in {SITE}")
        pytest.skip(f"no built site in {SITE}: run `make book` first")
    return SITE


@pytest.fixture(scope="session")
def site_url(site, tmp_path_factory) -> str:
    """The site over HTTP on localhost, under a sub-path, for the length of the session."""
    root = tmp_path_factory.mktemp("web")
    (root / SUB_PATH).parent.mkdir(parents=True, exist_ok=True)
    (root / SUB_PATH.rstrip("/")).symlink_to(site, target_is_directory=True)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/{SUB_PATH}"
    server.shutdown()
