"""``pln demo``: the whole pipeline on the bundled sample network, offline.

The end-to-end tests run the real command in a subprocess, with every proxy variable
pointing at a port nothing listens on: a request that left 127.0.0.1 (or went through a
proxy) would fail its source, and the demo must report none failed. The unit tests check
the sample server's answers against pln's own readers.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from aggregator import demo, mastodon, parse
from aggregator.cli import cli
from aggregator.config import slugify
from aggregator.demo_data import FeedKind
from aggregator.demo_data import network as sample
from aggregator.fetch import Fetcher
from aggregator.models import (
    FetchConfig,
    MastodonCursor,
    MastodonRead,
    ParsedFeed,
    SourceConfig,
    SourceKind,
)
from tests.server import unused_port

TODAY = date(2026, 11, 23)
POSTS = sum(len(person.posts) + len(person.toots) for person in sample.PEOPLE)
TEASER_POSTS = sum(len(p.posts) for p in sample.PEOPLE if p.feed is FeedKind.RSS_TEASER)


def _offline_env() -> dict[str, str]:
    """The environment of a machine whose only way out is a proxy that does not answer."""
    nowhere = f"http://127.0.0.1:{unused_port()}"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "pln_site")}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env[name] = nowhere
    env["NO_COLOR"] = "1"
    return env


def _pln(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        cwd=cwd,
        env=_offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`pln demo` with no argument, in an empty folder: it makes ./pln-demo."""
    here = tmp_path_factory.mktemp("demo")
    result = _pln("demo", cwd=here)
    assert result.returncode == 0, result.stderr
    return here / "pln-demo", result.stdout


def _posts(site: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(site / "pln.db") as db:
        return [(str(link), str(text)) for link, text in db.execute("SELECT link, text FROM posts")]


# ── the real command, end to end ─────────────────────────────────────────────────────────


def test_demo_fetches_every_source_and_reads_the_teasers_pages(demo_run: tuple[Path, str]) -> None:
    site, out = demo_run
    assert "Fetched 15 sources" in out
    assert f"{POSTS} new posts" in out and "0 failed" in out
    assert f"{TEASER_POSTS} articles extracted" in out
    # Full text: words that only the article pages hold, not the teasers in the feed.
    texts = " ".join(text for _, text in _posts(site))
    assert "caretakers" in texts and "sedges" in texts


def test_no_request_left_the_machine(demo_run: tuple[Path, str]) -> None:
    site, _ = demo_run
    config = (site / "sources.yaml").read_text(encoding="utf-8")
    urls = [word for word in config.split() if word.startswith("http")]
    assert urls and all(urlsplit(url).hostname == "127.0.0.1" for url in urls)
    assert "the demo server's" in config  # the file says whose addresses these are
    # Every post (and so every article page read) is on the demo server.
    links = [link for link, _ in _posts(site)]
    assert len(links) == POSTS
    assert all(urlsplit(link).hostname == "127.0.0.1" for link in links)


def test_the_site_has_every_person_and_day(demo_run: tuple[Path, str]) -> None:
    site, out = demo_run
    output = site / "output"
    assert str((output / "index.html").resolve()) in out
    for person in sample.PEOPLE:
        page = output / "people" / slugify(person.name) / "index.html"
        assert page.is_file(), page
        assert person.name in page.read_text(encoding="utf-8")
    built = _built_day(site)
    days_ago = {post.days_ago for p in sample.PEOPLE for post in p.posts}
    days_ago |= {toot.days_ago for p in sample.PEOPLE for toot in p.toots}
    for ago in days_ago:
        day = built - timedelta(days=ago)
        assert (output / f"{day:%Y/%m/%d}" / "index.html").is_file(), day
    shared_day = output / f"{built - timedelta(days=3):%Y/%m/%d}" / "index.html"
    html = shared_day.read_text(encoding="utf-8")
    assert "Most shared" in html and "Parking Minimums, Ten Years On" in html
    assert (output / "search" / "pagefind" / "pagefind-entry.json").is_file()


def test_search_finds_a_demo_post(demo_run: tuple[Path, str]) -> None:
    site, out = demo_run
    assert "search" in out
    result = _pln("--site", str(site), "search", "cool roofs", "--format", "json", cwd=site)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["title"] == "What the cool roofs pilot on three schools taught us"
    assert hits[0]["person"] == "Tomás Herrera"
    assert "climate" in hits[0]["topics"]


def test_the_email_is_written_and_parses(demo_run: tuple[Path, str]) -> None:
    site, out = demo_run
    eml = site / "digest.eml"
    assert "digest.eml" in out and "nothing sent" in out
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    assert str(message["Subject"]).startswith("Urban Planning PLN: ")
    assert "you@example.org" in str(message["To"])
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "Kenji Watanabe" in plain.get_content()


def test_sources_cover_every_kind(demo_run: tuple[Path, str]) -> None:
    site, _ = demo_run
    result = _pln("--site", str(site), "sources", "--format", "json", cwd=site)
    rows = json.loads(result.stdout)
    assert len(rows) == 15
    assert all(row["last_error"] is None and row["posts"] > 0 for row in rows)
    assert {row["kind"] for row in rows} == {"feed", "mastodon"}
    paths = {urlsplit(row["url"]).path for row in rows}
    assert {"/amara/feed.xml", "/hannah/atom.xml", "/priya/feed.json", "/jonas/"} <= paths


def test_a_rerun_in_the_same_directory_works(demo_run: tuple[Path, str]) -> None:
    site, _ = demo_run
    marker = json.loads((site / demo.MARKER).read_text(encoding="utf-8"))
    result = _pln("demo", str(site), cwd=site.parent)
    assert result.returncode == 0, result.stderr
    again = json.loads((site / demo.MARKER).read_text(encoding="utf-8"))
    assert "0 failed" in result.stdout
    if again["port"] == marker["port"]:  # the same addresses: a conditional refetch
        assert "0 new posts" in result.stdout and "15 sources unchanged" in result.stdout
        assert "An earlier demo from today is here: keeping what it stored" in result.stdout
    else:  # the port was taken meanwhile: the demo started anew
        assert f"{POSTS} new posts" in result.stdout
    assert len(_posts(site)) == POSTS  # nothing twice
    assert (site / "output" / "index.html").is_file()


def test_it_refuses_a_directory_that_holds_something_else(tmp_path: Path) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no earlier demo" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert keep.read_text(encoding="utf-8") == "mine"


def _built_day(site: Path) -> date:
    marker = json.loads((site / demo.MARKER).read_text(encoding="utf-8"))
    return date.fromisoformat(marker["day"])


# ── the sample server's answers, read by pln's own readers ───────────────────────────────


@pytest.fixture
def server() -> Iterator[demo.DemoServer]:
    with demo.DemoServer(TODAY) as running:
        yield running


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/amara/feed.xml", "rss"),
        ("/tomas/feed.xml", "rss"),
        ("/hannah/atom.xml", "atom"),
        ("/priya/feed.json", "json"),
    ],
)
def test_each_feed_reads_as_its_format(path: str, expected: str) -> None:
    base = "http://127.0.0.1:8"
    page = demo.static_pages(sample.PEOPLE, sample.DOCUMENTS, base, TODAY)[path]
    feed = parse.read(page.body, base + path, page.content_type)
    assert isinstance(feed, ParsedFeed) and feed.format == expected
    newest = feed.posts[0].published
    assert newest is not None and newest.date() < TODAY  # up to yesterday, never the future


def test_teasers_are_shorter_than_their_pages() -> None:
    base = "http://127.0.0.1:8"
    pages = demo.static_pages(sample.PEOPLE, sample.DOCUMENTS, base, TODAY)
    feed = parse.read(pages["/tomas/feed.xml"].body, base + "/tomas/feed.xml")
    assert isinstance(feed, ParsedFeed)
    for post in feed.posts:
        assert post.text.rstrip().endswith("Continue reading") and not post.has_full_content
        assert post.link is not None
        page = pages[urlsplit(post.link).path].body.decode("utf-8")
        assert len(page.split()) > 2 * len(post.text.split())


def test_feeds_answer_304_to_their_etag(server: demo.DemoServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/hannah/atom.xml")
    first = connection.getresponse()
    first.read()
    etag = first.getheader("ETag")
    assert first.status == 200 and etag
    connection.request("GET", "/hannah/atom.xml", headers={"If-None-Match": etag})
    second = connection.getresponse()
    assert second.status == 304 and second.read() == b""
    connection.close()


def test_mastodon_accounts_read_through_plns_reader(server: demo.DemoServer) -> None:
    source = SourceConfig(
        url=f"{server.base_url}/@elif", kind=SourceKind.MASTODON, person="Elif Demir"
    )
    now = datetime.combine(TODAY, datetime.min.time(), UTC)

    async def read(cursor: MastodonCursor) -> MastodonRead:
        async with Fetcher(FetchConfig(timeout=10)) as fetcher:
            return await mastodon.read_account(
                fetcher, source, cursor, mastodon.InstanceBudget(), now
            )

    first = asyncio.run(read(MastodonCursor()))
    assert len(first.posts) == len(sample.ELIF.toots)
    assert first.account is not None and first.account.display_name == "Elif Demir"
    assert any("Ten Years On" in (post.text or "") for post in first.posts)
    again = asyncio.run(read(first.cursor))  # min_id: nothing newer
    assert again.posts == () and again.cursor.newest_id == first.cursor.newest_id
    asked = [path for path in server.content.requests if "/statuses" in path]
    assert len(asked) == 2


def test_statuses_page_back_along_link_headers() -> None:
    base = "http://127.0.0.1:8"
    account = demo.mastodon_accounts(sample.PEOPLE, base, TODAY)["amara"]
    first, link = demo.statuses_page(account, {"limit": "2"}, base)
    assert [s["id"] for s in first] == [s["id"] for s in account.statuses[:2]]
    links = mastodon.parse_link_header(link, base)
    older, _ = demo.statuses_page(
        account, {"limit": "2", "max_id": links["next"].split("max_id=")[1]}, base
    )
    assert [s["id"] for s in older] == [s["id"] for s in account.statuses[2:4]]
    newer, _ = demo.statuses_page(account, {"min_id": account.statuses[2]["id"]}, base)
    assert [s["id"] for s in newer] == [s["id"] for s in account.statuses[:2]]


# ── the built site's own search, in Chromium ─────────────────────────────────────────────

CHROMIUM = Path("/usr/bin/chromium")


def test_the_sites_search_finds_a_demo_post(demo_run: tuple[Path, str]) -> None:
    """Pagefind's index, built offline by the demo, answers in a real browser."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    site, _ = demo_run
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site / "output"))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as preview:
        threading.Thread(target=preview.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{preview.server_address[1]}/search/?q=kerbside"
        try:
            with sync_api.sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
                )
                page = browser.new_page()
                page.goto(url)
                titles = page.locator("#search-results h3")
                titles.first.wait_for(timeout=20_000)
                found = titles.all_inner_texts()
                browser.close()
        finally:
            preview.shutdown()
    assert "Loading zones for a main street" in found
