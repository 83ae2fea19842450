"""The built site in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Never a downloaded browser: ``/usr/bin/chromium`` or the tests skip, saying why (they fail
instead where PLN_REQUIRE_BROWSER=1: the ``browser`` fixture in conftest.py). Every
request that leaves 127.0.0.1 is blocked, so hostile content cannot reach out either.
Screenshots land in the test's tmp folder (look at them: the file tool shows PNGs).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aggregator import app, site
from aggregator.models import Config
from tests import site_fixture
from tests.mastodon_server import FakeInstance
from tests.server import LocalHTTPServer
from tests.sites import write_site

WIDTHS = {"phone": 390, "desktop": 1280}
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
# Every payload that could open a dialog is caught here before the page's own code runs.
TRAP_DIALOGS = """
window.__fired = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = (...args) => { window.__fired.push(name + ": " + String(args[0])); };
}
"""


@dataclass
class Served:
    url: str
    output: Path


@dataclass
class PageLog:
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def serve(output: Path) -> str:
    urls: list[str] = []
    thread = threading.Thread(target=site.serve, args=(output, 0), kwargs={"ready": urls.append})
    thread.daemon = True
    thread.start()
    deadline = time.monotonic() + 10
    while not urls and time.monotonic() < deadline:
        time.sleep(0.02)
    assert urls, "the preview server did not start"
    return urls[0]


@pytest.fixture(scope="module")
def network_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    site_dir = tmp_path_factory.mktemp("browser") / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app, "trends", lambda *a, **k: ["drought", "rivers"], raising=False)
        app.build(config, clock=lambda: site_fixture.NOW)
    yield Served(serve(config.output_path), config.output_path)


def open_page(browser: Any, width: int, *, dark: bool = False) -> tuple[Any, Any, PageLog]:
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme="dark" if dark else "light"
    )
    context.route("**/*", _loopback_only)
    context.add_init_script(TRAP_DIALOGS)
    page = context.new_page()
    log = PageLog()
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: log.console_errors.append(str(error)))
    page.on("dialog", lambda dialog: (log.dialogs.append(dialog.message), dialog.dismiss()))
    return context, page, log


def _loopback_only(route: Any) -> None:
    host = urlsplit(route.request.url).hostname
    if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


# ── the daily pages ──────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_home_and_day_pages_render_without_console_errors(
    browser: Any, network_site: Served, width_name: str, tmp_path: Path
) -> None:
    context, page, log = open_page(browser, WIDTHS[width_name])
    try:
        for path, heading in (("", "Open Learning PLN"), ("2026/11/21/", "21 November 2026")):
            page.goto(network_site.url + path)
            assert heading in page.locator("h1").inner_text()
            shot = tmp_path / f"{path.strip('/').replace('/', '-') or 'home'}-{width_name}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            # nothing wider than the screen: no sideways scrolling on a phone
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        assert log.console_errors == []
    finally:
        context.close()


def test_the_skip_link_and_focus_are_visible(browser: Any, network_site: Served) -> None:
    context, page, log = open_page(browser, WIDTHS["desktop"])
    try:
        page.goto(network_site.url)
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        assert focused == "Skip to content"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        assert log.console_errors == []
    finally:
        context.close()


def test_topic_terms_show_on_keyboard_focus(browser: Any, network_site: Served) -> None:
    context, page, log = open_page(browser, WIDTHS["desktop"])
    try:
        page.goto(network_site.url + "2026/11/21/")
        label = page.locator(".labels .label").first
        tooltip = page.locator(".labels .terms").first
        assert not tooltip.is_visible()
        label.focus()
        assert tooltip.is_visible()
        assert "drought" in tooltip.inner_text()
        assert log.console_errors == []
    finally:
        context.close()


def test_dark_mode_follows_the_reader(browser: Any, network_site: Served, tmp_path: Path) -> None:
    colours = []
    for dark in (False, True):
        context, page, log = open_page(browser, WIDTHS["phone"], dark=dark)
        try:
            page.goto(network_site.url + "2026/11/22/")
            colours.append(page.evaluate("getComputedStyle(document.body).backgroundColor"))
            page.screenshot(path=str(tmp_path / f"dark-{dark}.png"), full_page=True)
            assert log.console_errors == []
        finally:
            context.close()
    assert colours[0] != colours[1]


# ── search ───────────────────────────────────────────────────────────────────────────────


def test_search_finds_a_known_post(browser: Any, network_site: Served, tmp_path: Path) -> None:
    context, page, log = open_page(browser, WIDTHS["desktop"])
    try:
        page.goto(network_site.url + "search/")
        page.fill("#search-q", "rivers")
        page.press("#search-q", "Enter")
        result = page.locator("#search-results h3 a").first
        result.wait_for(timeout=15_000)
        assert "The drought report" in result.inner_text()
        assert "#alice-example-" in (result.get_attribute("href") or "")
        assert "1 day" in page.locator("#search-status").inner_text()
        page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
        assert log.console_errors == []
    finally:
        context.close()


def test_search_filters_by_person_and_topic(browser: Any, network_site: Served) -> None:
    context, page, log = open_page(browser, WIDTHS["desktop"])
    try:
        page.goto(network_site.url + "search/?q=water&person=Carol+Jones")
        page.locator("#search-results h3").first.wait_for(timeout=15_000)
        titles = page.locator("#search-results h3").all_inner_texts()
        assert titles == ["Reuse, repair, and the water behind our things"]
        page.goto(network_site.url + "search/?q=textbooks&topic=Water+resources")
        page.wait_for_function(
            "document.getElementById('search-status').textContent.startsWith('Nothing')",
            timeout=15_000,
        )
        assert log.console_errors == []
    finally:
        context.close()


# ── hostile content ──────────────────────────────────────────────────────────────────────


def _payloads() -> list[str]:
    folder = CORPORA / "hostile-inputs" / "payloadsallthethings" / "xss"
    lines: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        lines += [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    expect = CORPORA / "hostile-inputs" / "dompurify" / "expect.json"
    lines += [case["payload"] for case in json.loads(expect.read_text())]
    return lines


def _hostile_rss(base: str, payloads: list[str]) -> str:
    moment = "Fri, 20 Nov 2026 09:00:00 +0000"
    items = "".join(
        f"""<item><guid isPermaLink="false">p{n}</guid><title>{escape(text)}</title>
        <link>{escape(base)}/p/{n}?x={escape(text[:40])}</link><author>{escape(text[:60])}</author>
        <category>{escape(text[:30])}</category><pubDate>{moment}</pubDate>
        <description>{escape(text)}</description></item>"""
        for n, text in enumerate(payloads)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
        f"<link>{base}/</link><description>x</description>{items}</channel></rss>"
    )


@pytest.mark.corpus
def test_hostile_content_runs_no_script(
    browser: Any, tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    if not (CORPORA / "hostile-inputs").is_dir():
        pytest.skip("../shared/corpora is absent")
    payloads = _payloads()
    base = http_server.base_url
    http_server.add("/hostile.xml", _hostile_rss(base, payloads))
    sources: list[object] = [http_server.url("/hostile.xml")]
    sanitize = sorted((CORPORA / "feedparser-tests" / "wellformed" / "sanitize").glob("*.xml"))
    for number, path in enumerate(sanitize):
        http_server.add(f"/sanitize/{number}.xml", path.read_bytes(), content_type="text/xml")
        sources.append(http_server.url(f"/sanitize/{number}.xml"))
    instance = FakeInstance(http_server, now=datetime(2026, 11, 20, 12, tzinfo=UTC))
    instance.add_account("mallory", display_name="<img src=x onerror=alert(1)>")
    for text in payloads[:30]:
        instance.post("mallory", text, spoiler_text=text[:50])
    site_dir = tmp_path / "site"
    write_site(
        site_dir,
        {
            "Payload <script>alert(1)</script>": sources,
            "Mallory": [instance.profile_url("mallory")],
        },
        topics=[{"name": "Alerts <b>", "match": "alert OR script OR img"}],
    )
    config: Config = app.load_config(site_dir)
    # Playwright's sync API keeps an event loop in this thread: the fetch runs its own apart.
    with ThreadPoolExecutor(1) as pool:
        summary = pool.submit(app.fetch, config).result()
    assert summary.new_posts > 1000
    app.build(config, clock=lambda: datetime(2026, 11, 21, tzinfo=UTC))
    url = serve(config.output_path)
    days = sorted(p.parent for p in config.output_path.glob("2026/*/*/index.html"))
    assert days
    context, page, log = open_page(browser, WIDTHS["desktop"])
    try:
        paths = [p.relative_to(config.output_path).as_posix() + "/" for p in days]
        page.goto(url)
        page.evaluate("alert('probe')")  # the trap itself works
        assert page.evaluate("window.__fired") == ["alert: probe"]
        for path in ["", *paths, "people/", "topics/alerts-b/", "search/?q=alert"]:
            page.goto(url + path, wait_until="load")
            page.wait_for_timeout(200)
            fired = page.evaluate("window.__fired")
            assert fired == [], f"{path}: {fired}"
        assert log.dialogs == []
    finally:
        context.close()


# ── search index in parts (engineer H, issue 9 memory: aggregator/searchindex.py) ────────


@pytest.fixture(scope="module")
def parted_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The network site with every day in a search index part of its own."""
    from aggregator import searchindex

    site_dir = tmp_path_factory.mktemp("parted") / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app, "trends", lambda *a, **k: ["drought"], raising=False)
        patch.setattr(searchindex, "PART_BYTES", 1)
        app.build(config, clock=lambda: site_fixture.NOW)
    parts = json.loads((config.output_path / "search/pagefind/parts.json").read_text())
    assert len(parts["parts"]) == 3  # 20, 21 and 22 November; the 23rd is the primary
    yield Served(serve(config.output_path), config.output_path)


def search_titles(page: Any, url: str) -> tuple[list[str], str]:
    page.goto(url)
    # the status line comes first, the entries once their days are loaded
    page.wait_for_function(
        "document.getElementById('search-status').textContent.startsWith('Nothing')"
        " || document.querySelector('#search-results h3') !== null",
        timeout=15_000,
    )
    titles = page.locator("#search-results h3").all_inner_texts()
    return titles, page.locator("#search-status").inner_text()


def test_search_over_parts_finds_old_and_new_posts_with_filters(
    browser: Any, parted_site: Served
) -> None:
    context, page, log = open_page(browser, WIDTHS["desktop"])
    base = parted_site.url + "search/"
    try:
        # an old part (21 November), through a topic filter
        titles, status = search_titles(page, base + "?q=rivers&topic=Water+resources")
        assert titles == ["The drought report: what the rivers told us"]
        assert "1 day" in status
        # the newest part (23 November, the primary), through a person filter
        titles, _ = search_titles(page, base + "?q=textbooks&person=Alice+Example")
        assert titles == ["Notes on open textbooks"]
        # a word in several parts: one day each, from the 21st and 22nd November parts
        titles, status = search_titles(page, base + "?q=water")
        assert "The drought report: what the rivers told us" in titles
        assert "Reuse, repair, and the water behind our things" in titles
        assert status.startswith("2 days") or status.startswith("3 days")
        # a filter no part matches for this word
        _, status = search_titles(page, base + "?q=textbooks&person=Carol+Jones")
        assert status.startswith("Nothing")
        assert log.console_errors == []
    finally:
        context.close()
