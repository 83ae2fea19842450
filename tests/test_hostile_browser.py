"""Hostile feeds and toots, through the real commands, opened in Chromium: nothing fires.

tests/hostile_pages.py places the XSS payloads of ../shared/corpora/hostile-inputs in the
title, summary, content, author name and link of RSS, Atom and JSON Feed entries and in
Mastodon statuses (text, content warning, display name, media description, hashtag, link),
beside the feeds of feedparser-tests/wellformed/sanitize; the real `pln fetch`, `pln build`
and `pln email --out` run in child processes; then every .html under output/ (served by the
real `pln serve`), the search page once per hostile query, and the email's HTML part are
opened in Debian's chromium with hooks on alert/confirm/prompt/print and on every way to
navigate (frame navigations, navigation requests, popups, window.open, form submission, the
Navigation API, any request to a host but the page's own server), and their settled DOM is
read for what a click or hover could fire. Two positive controls show that silence means
safe pages, not deaf hooks or dead payloads: unsanitized pages, one way out each, must set off
every hook; and the same stored posts, rebuilt through a site template that prints titles
unescaped, must fire dialogs and navigations.

What share: a systematic sample of every 8th payload (of 2,878: 360, from every list and from
DOMPurify's cases in proportion) in every field, every 8th sanitize feed (94 of 745), and three
of the six searches: 22 s of CPU, 78 to 98 s of wall time at load average 11 to 13 on this
shared 2-core machine (not measured at rest). The whole set takes about three minutes here
(fetch 30-40 s, build and email 25 s, Chromium 90-110 s on day pages of 1,600 entries and a
home page of 10,000), so it lives in `python bench/hostile_browser.py` (figures in
docs/reliability.md). PLN_HOSTILE_OFFSET=1..7 picks another eighth; PLN_HOSTILE_STEP=1 runs
every payload here.

Chromium missing: the tests skip on a developer's machine, but fail where PLN_REQUIRE_BROWSER=1
or CI is set (.ci/run sets it, after installing chromium), so CI cannot pass without having
run them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests import hostile_pages as hp
from tests.server import LocalHTTPServer

STEP = int(os.environ.get("PLN_HOSTILE_STEP", "8"))
OFFSET = int(os.environ.get("PLN_HOSTILE_OFFSET", "0"))
SEARCHES = hp.SEARCHES[:3]  # alert, script, onerror: each search page costs a Pagefind start


@dataclass
class Built:
    site: Path
    network: hp.Network
    payloads: list[hp.Payload]
    sources: list[dict[str, Any]]  # `pln sources --format json` after the fetch
    email_html: str


@pytest.fixture(scope="module")
def pages_server() -> Iterator[LocalHTTPServer]:
    """Serves the control pages and the email's HTML (apart from the feeds)."""
    with LocalHTTPServer() as server:
        yield server


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    if not hp.corpus_available():
        pytest.skip("../shared/corpora is absent")
    payloads = hp.every_nth(hp.corpus_payloads(), STEP, OFFSET)
    feeds = hp.every_nth(hp.sanitize_feeds(), STEP, OFFSET)
    scratch = tmp_path_factory.mktemp("hostile")
    site = scratch / "site"
    with LocalHTTPServer() as feeds_server:
        network = hp.build_network(feeds_server, payloads, feeds, datetime.now(UTC))
        hp.write_site(site, network)
        fetched = hp.run_pln(site, "fetch")
        assert fetched.returncode == 0, fetched.stdout + fetched.stderr
        health = hp.run_pln(site, "sources", "--format", "json")
        assert health.returncode == 0, health.stderr
        built = hp.run_pln(site, "build")
        assert built.returncode == 0, built.stdout + built.stderr
        eml = scratch / "digest.eml"
        mailed = hp.run_pln(site, "email", "--out", str(eml))
        assert mailed.returncode == 0, mailed.stdout + mailed.stderr
    sources = json.loads(health.stdout)
    yield Built(site, network, payloads, sources, hp.email_html(eml))


@pytest.fixture
def watcher(browser: Any) -> Iterator[hp.Watcher]:
    watching = hp.Watcher(browser)
    yield watching
    watching.close()


def _fired(results: list[hp.PageResult]) -> dict[str, list[str]]:
    return {r.url: r.fired + r.static for r in results if r.fired or r.static}


# ── the hooks work ───────────────────────────────────────────────────────────────────────


def test_every_hook_fires_on_the_unsanitized_control_pages(
    watcher: hp.Watcher, pages_server: LocalHTTPServer
) -> None:
    urls = hp.serve_control(pages_server)
    results = watcher.visit(list(urls.values()))
    missed = [name for name, r in zip(urls, results, strict=True) if not hp.control_caught(name, r)]
    assert missed == [], {name: (r.fired, r.static) for name, r in zip(urls, results, strict=True)}
    by_name = dict(zip(urls, results, strict=True))
    # each kind of record is one a hostile page would leave, not a side effect of another
    assert any(e.startswith("dialog") for e in by_name["dialogs"].fired)
    assert any("print(" in e for e in by_name["dialogs"].fired)
    assert any("evil.example/refresh" in e for e in by_name["refresh"].fired)
    assert any("/elsewhere" in e for e in by_name["location"].fired)
    assert by_name["latent"].static == ["a[href=javascript:alert(1)]", "p[onmouseover]"]


# ── the payloads went through the real commands ──────────────────────────────────────────


@pytest.mark.corpus
def test_the_payloads_fire_through_a_theme_that_does_not_escape_titles(
    hostile_site: Built, watcher: hp.Watcher, tmp_path: Path
) -> None:
    """The end-to-end control: the same stored posts, built with titles shown unescaped."""
    copy = hp.unsafe_copy(hostile_site.site, tmp_path / "unsafe")
    built = hp.run_pln(copy, "build")
    assert built.returncode == 0, built.stdout + built.stderr
    # the days of the spread: a page that navigates away early stops only its own payloads
    days = [page for page in hp.built_pages(copy / "output") if page[:4].isdigit()][-7:]
    with hp.serve_output(copy) as base:
        results = watcher.visit([base + day for day in days])
    tally = hp.Tally()
    for result in results:
        tally.add(result)
    assert tally.dialogs > 0 and tally.navigations > 0, _fired(results)


@pytest.mark.corpus
def test_the_payloads_were_fetched_built_and_mailed(hostile_site: Built) -> None:
    assert len(hostile_site.payloads) >= 2878 // STEP
    served = sum(len(sources) for sources in hostile_site.network.people.values())
    assert len(hostile_site.sources) == served
    failed = [(s["url"], s["last_error"]) for s in hostile_site.sources if s["last_error"]]
    assert failed == []
    # every feed and account of payloads stored posts (some sanitize feeds have no entries)
    carriers = [s for s in hostile_site.sources if "/sanitize/" not in s["url"]]
    assert all(s["posts"] > 0 for s in carriers), carriers
    output = hostile_site.site / "output"
    pages = hp.built_pages(output)
    days = [page for page in pages if page[:4].isdigit()]
    assert len(days) >= 6 and "" in pages and "search/" in pages  # every day of the spread
    assert hostile_site.email_html.count('class="entry"') > len(hostile_site.payloads)
    for name in hp.FIELDS:
        assert hostile_site.network.placed[name] >= len(hostile_site.payloads)


# ── nothing fires ────────────────────────────────────────────────────────────────────────


@pytest.mark.corpus
def test_no_built_page_fires_anything(hostile_site: Built, watcher: hp.Watcher) -> None:
    pages = hp.built_pages(hostile_site.site / "output")
    with hp.serve_output(hostile_site.site) as base:
        results = watcher.visit(hp.page_urls(base, pages, SEARCHES), ready=hp.SEARCH_READY)
    assert _fired(results) == {}
    assert watcher.unattributed == []
    assert len(results) == len(pages) + len(SEARCHES)
    # the payloads are on the pages, and the searches found them
    assert sum(r.entries for r in results) > 3 * len(hostile_site.payloads)
    assert all(r.entries > 0 for r in results if "/search/?q=" in r.url)


@pytest.mark.corpus
def test_no_atom_feed_fires_anything_as_an_xml_document(
    hostile_site: Built, watcher: hp.Watcher, pages_server: LocalHTTPServer
) -> None:
    urls = hp.serve_feeds(pages_server, hostile_site.site / "output")
    assert len(urls) == 3  # the site's and one per topic
    results = watcher.visit(urls)
    assert _fired(results) == {}
    assert watcher.unattributed == []


@pytest.mark.corpus
def test_the_email_fires_nothing(
    hostile_site: Built, watcher: hp.Watcher, pages_server: LocalHTTPServer
) -> None:
    pages_server.add("/email.html", hostile_site.email_html, content_type="text/html")
    [result] = watcher.visit([pages_server.url("/email.html")])
    assert _fired([result]) == {}
    assert result.entries > len(hostile_site.payloads)
