"""The site's search page opened from disk (file://) says how to make search work (review
finding 5), in a real headless Chromium as in tests/test_browser.py (or skipped, saying why)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aggregator import app
from tests import site_fixture
from tests.test_browser import serve


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("from-disk") / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app, "trends", lambda *a, **k: ["drought"], raising=False)
        app.build(config, clock=lambda: site_fixture.NOW)
    return config.output_path


def _files_only(route: Any) -> None:
    """Nothing leaves the machine: only the site's own files load."""
    if urlsplit(route.request.url).scheme == "file":
        route.continue_()
    else:
        route.abort()


def test_the_search_page_opened_from_disk_says_to_run_pln_serve(
    browser: Any, output: Path, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", _files_only)
    try:
        page = context.new_page()
        page.goto((output / "search" / "index.html").as_uri())
        status = page.locator("#search-status")
        status.wait_for(timeout=10_000)
        page.fill("#search-q", "drought")  # search.js never loaded: nothing else happens
        page.wait_for_timeout(300)
        text = status.inner_text()
        page.screenshot(path=str(tmp_path / "search-from-disk.png"), full_page=True)
        assert "run `pln serve`" in text
        assert "not opened as a file" in text
    finally:
        context.close()


def test_the_search_page_served_over_http_shows_no_such_message(browser: Any, output: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(serve(output) + "search/")
        page.fill("#search-q", "drought")
        page.press("#search-q", "Enter")
        page.locator("#search-results h3 a").first.wait_for(timeout=15_000)
        assert "pln serve" not in page.locator("#search-status").inner_text()
    finally:
        context.close()
