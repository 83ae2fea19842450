"""Shared fixtures: a real HTTP server on 127.0.0.1 (see tests/server.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.server import LocalHTTPServer

LOOPBACK = "127.0.0.1,localhost"


@pytest.fixture(scope="session", autouse=True)
def _loopback_bypasses_proxies() -> Iterator[None]:
    """Keep requests to the local servers off any proxy the environment names."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("no_proxy", "NO_PROXY"):
            current = os.environ.get(name)
            patch.setenv(name, f"{current},{LOOPBACK}" if current else LOOPBACK)
        yield


# Where a browser is promised (.ci/run sets PLN_REQUIRE_BROWSER=1), a missing one fails the
# browser tests instead of skipping them, so a green CI has really opened the pages.
BROWSER_REQUIRED = os.environ.get("PLN_REQUIRE_BROWSER") == "1" or bool(os.environ.get("CI"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium through Playwright, one per test module (or a skip saying why)."""
    from tests import hostile_pages

    why = hostile_pages.chromium_missing()
    if why is not None:
        if BROWSER_REQUIRED:
            pytest.fail(f"{why}: PLN_REQUIRE_BROWSER or CI is set, so this is a failure")
        pytest.skip(why)
    with hostile_pages.chromium() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def _http_server_session() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


@pytest.fixture
def http_server(_http_server_session: LocalHTTPServer) -> Iterator[LocalHTTPServer]:
    """The session's server with no routes and no recorded requests."""
    _http_server_session.reset()
    yield _http_server_session
    # Release anything still waiting (hang, delay) before the next test.
    _http_server_session.reset()
