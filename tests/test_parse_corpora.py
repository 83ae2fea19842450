"""parse and sanitize over material nobody on the team wrote: ../shared/corpora.

Skipped when the corpora are not beside the repository (a fresh clone elsewhere).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from test_sanitize import find_unsafe_markup

from aggregator.errors import ParseError
from aggregator.models import FeedLinks, ParsedFeed
from aggregator.parse import read
from aggregator.sanitize import clean_html

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
REALWORLD = CORPORA / "realworld-feeds"
SANITIZE_FEEDS = CORPORA / "feedparser-tests" / "wellformed" / "sanitize"
HOSTILE = CORPORA / "hostile-inputs"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPORA.is_dir(), reason="../shared/corpora is not there"),
]

# Elements that must never appear in stored HTML, nor in a title as markup or as text.
FORBIDDEN = re.compile(r"<(script|style|iframe|object|embed|svg|math|form)\b", re.IGNORECASE)


def problems_in_html(where: str, html: str | None) -> list[str]:
    if not html:
        return []
    found = [f"{where}: <{tag}" for tag in FORBIDDEN.findall(html)]
    return found + [f"{where}: {finding}" for finding in find_unsafe_markup(html)]


def problems_in_title(where: str, title: str | None) -> list[str]:
    # Titles are plain text, escaped when shown; still, markup in one means it was not
    # stripped where the feed said (or showed) that the title is HTML.
    if not title:
        return []
    return [f"{where}: <{tag}" for tag in FORBIDDEN.findall(title)]


def unsafe_parts(result: ParsedFeed | FeedLinks) -> list[str]:
    if isinstance(result, FeedLinks):
        return problems_in_title("page title", result.title)
    found = problems_in_title("feed title", result.title)
    for index, post in enumerate(result.posts):
        found += problems_in_title(f"post {index} title", post.title)
        found += problems_in_title(f"post {index} author", post.author)
        found += problems_in_html(f"post {index} summary", post.summary_html)
        found += problems_in_html(f"post {index} content", post.content_html)
        bad_links = [link for link in post.links if not link.startswith(("http://", "https://"))]
        found += [f"post {index} link {link!r}" for link in bad_links]
        if post.link is not None and not post.link.startswith(("http://", "https://")):
            found.append(f"post {index} link {post.link!r}")
    return found


def read_or_error(path: Path, url: str) -> ParsedFeed | FeedLinks | ParseError:
    try:
        return read(path.read_bytes(), url)
    except ParseError as error:
        return error


# ── realworld-feeds ──────────────────────────────────────────────────────────────────────


def manifest() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((REALWORLD / "manifest.json").read_text())
    return [entry for entry in entries if entry["role"] in ("feed", "html")]


def json_feed_items(path: Path) -> int | None:
    """How many object items a JSON Feed has; None when the file is not a JSON Feed."""
    try:
        document = json.loads(path.read_bytes())
    except ValueError:
        return None
    if not isinstance(document, dict) or "jsonfeed.org" not in str(document.get("version")):
        return None
    return sum(1 for item in document.get("items", []) if isinstance(item, dict))


def test_realworld_feeds_parse_safely() -> None:
    failures: list[str] = []
    outcomes = {"feed": 0, "links": 0, "error": 0}
    for entry in manifest():
        path = REALWORLD / entry["file"]
        result = read_or_error(path, f"https://feeds.example/{entry['file']}")
        if isinstance(result, ParseError):
            outcomes["error"] += 1
            if entry["role"] == "feed" and entry.get("entries"):
                failures.append(f"{entry['file']}: feedparser found entries, we said {result}")
            continue
        outcomes["feed" if isinstance(result, ParsedFeed) else "links"] += 1
        failures += [f"{entry['file']}: {problem}" for problem in unsafe_parts(result)]
        if isinstance(result, ParsedFeed) and len(result.posts) < (entry.get("entries") or 0):
            failures.append(
                f"{entry['file']}: {len(result.posts)} posts, feedparser found {entry['entries']}"
            )
    assert failures == []
    # the corpus is mostly feeds; a parser that refused them all would pass the loop above
    assert outcomes["feed"] >= 170 and outcomes["links"] >= 5


def test_every_json_feed_is_read_with_its_items() -> None:
    checked = 0
    for entry in manifest():
        path = REALWORLD / entry["file"]
        items = json_feed_items(path) if path.suffix == ".json" else None
        if items is None:
            continue
        result = read(path.read_bytes(), f"https://feeds.example/{entry['file']}")
        assert isinstance(result, ParsedFeed), entry["file"]
        assert result.format == "json"
        assert len(result.posts) == items, entry["file"]
        assert all(post.guid for post in result.posts), entry["file"]
        checked += 1
    assert checked >= 13


def test_html_pages_name_their_feeds() -> None:
    pages = {
        "rsparser/DaringFireball.html": "https://feeds.example/feeds/main",
        "rsparser/inessential.html": "http://inessential.com/xml/rss.xml",
        "rsparser/sixcolors.html": "http://feedpress.me/sixcolors",
        "rsparser/furbo.html": "http://furbo.org/feed/",
    }
    for name, first_feed in pages.items():
        result = read((REALWORLD / name).read_bytes(), f"https://feeds.example/{name}")
        assert isinstance(result, FeedLinks), name
        assert result.feeds[0] == first_feed


# ── feedparser's sanitizer tests: XSS in every field ─────────────────────────────────────


def sanitize_feeds() -> Iterator[Path]:
    return iter(sorted(SANITIZE_FEEDS.glob("*.xml")))


def test_feedparser_sanitize_corpus_leaves_nothing_unsafe() -> None:
    failures: list[str] = []
    parsed = 0
    for path in sanitize_feeds():
        result = read_or_error(path, f"https://feeds.example/sanitize/{path.name}")
        if isinstance(result, ParseError):
            continue
        parsed += 1
        failures += [f"{path.name}: {problem}" for problem in unsafe_parts(result)]
    assert failures == []
    assert parsed >= 700


# ── hostile inputs ───────────────────────────────────────────────────────────────────────


def hostile_documents() -> list[Path]:
    folders = (HOSTILE / "defusedxml", HOSTILE / "payloadsallthethings" / "xxe")
    return sorted(p for folder in folders for p in folder.glob("*.xml"))


def test_entity_attacks_come_back_unexpanded() -> None:
    documents = hostile_documents()
    assert len(documents) >= 10
    for path in documents:
        result = read_or_error(path, "https://feeds.example/hostile.xml")
        shown = repr(result)
        # An expanded entity shows as size: what comes back stays near the document's own.
        assert len(shown) < 10 * path.stat().st_size + 100_000, path.name
        assert "root:" not in shown, path.name  # /etc/passwd
        assert "BBBBBBBBBB" not in shown and "lollollol" not in shown, path.name


def test_dompurify_payloads_are_made_safe() -> None:
    cases = json.loads((HOSTILE / "dompurify" / "expect.json").read_text())
    failures = []
    for case in cases:
        cleaned = clean_html(case["payload"], "https://feeds.example/post/")
        found = problems_in_html(case.get("title") or case["payload"][:60], cleaned)
        failures += found
    assert failures == []
    assert len(cases) > 200


def test_xss_payload_lists_are_made_safe() -> None:
    failures = []
    count = 0
    for path in sorted((HOSTILE / "payloadsallthethings" / "xss").glob("*.txt")):
        for line in path.read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            count += 1
            cleaned = clean_html(line, "https://feeds.example/post/")
            failures += problems_in_html(f"{path.name}: {line[:60]}", cleaned)
    assert failures == []
    assert count > 1000


def test_xss_payloads_inside_feeds_and_pages() -> None:
    # the same payloads as a page, and escaped into an RSS title and description
    failures = []
    count = 0
    for path in sorted((HOSTILE / "payloadsallthethings" / "xss").glob("*.txt")):
        for line in path.read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            escaped = escape(line)
            rss = (
                f'<rss version="2.0"><channel><title>{escaped}</title><item><title>{escaped}'
                f"</title><description>{escaped}</description></item></channel></rss>"
            )
            for body in (f"<html>{line}", rss):
                count += 1
                try:
                    result = read(body.encode(), "https://feeds.example/xss")
                except ParseError:
                    continue
                failures += [f"{path.name}: {line[:60]}: {p}" for p in unsafe_parts(result)]
    assert failures == []
    assert count > 2000
