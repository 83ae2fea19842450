"""Conformance: every feed of the corpora, served locally and fetched by the real `pln fetch`.

    /work/venv/bin/python bench/conformance.py             # run, print, write docs/conformance.md
    /work/venv/bin/python bench/conformance.py --no-write  # print only
    /work/venv/bin/python bench/conformance.py --keep DIR  # keep the scratch sites in DIR
    /work/venv/bin/python bench/conformance.py --only atom # only folders named like this

What it does:

1. Serves every feed of ../shared/corpora/realworld-feeds (those manifest.json calls feeds)
   and every file of ../shared/corpora/feedparser-tests from tests/server.py's
   LocalHTTPServer, with the HTTP headers each feedparser test asks for in its ``Header:``
   lines (statuses, redirects, Content-Type, Content-Location), gzip/deflate for the
   compression tests.
2. Writes one scratch site per folder, one person per feed, and runs the real command
   (``python -m aggregator --site SITE fetch``, parsing in its process pool) on each. Any
   request to a host other than 127.0.0.1 goes to a proxy that does not exist, so nothing
   leaves the machine (and such an attempt shows up as a failed source).
3. Reads the stored posts back from each site's SQLite file and compares them with what a
   reference finds in the same bytes: feedparser 6 for RSS/Atom/RDF (given the same
   headers), and the JSON Feed spec (a small reader written here) for JSON Feed. Every entry
   the reference finds must be stored, with its title, link, date and some text where the
   reference has them.
4. Compares titles, links and dates with the expected outputs shipped beside some feeds
   (feed-rs ``*.serde.json``, rss-parser ``output/*.json``).
5. Checks that no run printed a traceback or an "internal error".

Every difference is listed in docs/conformance.md, with its reason where one is known
(``REASONS`` below).
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import feedparser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator import __version__  # noqa: E402
from tests.server import LocalHTTPServer, Reply, unused_port  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
REALWORLD = CORPORA / "realworld-feeds"
FEEDPARSER_TESTS = CORPORA / "feedparser-tests"
REPORT = ROOT / "docs" / "conformance.md"
# feedparser's own test server; its tests name it in Location and Content-Location headers
FEEDPARSER_SERVER = "http://localhost:8097"
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # pln keeps dates in [1990, 2100) only
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# Known reasons for differences, by (file name pattern, end of the check's name; "" for any
# check). Found by reading the differences one by one; a difference with no reason here is
# listed as "Not explained yet".
FINDING_6 = (
    "Bug (finding 6 of docs/reliability.md, fixed): a <title> nested after an <image> (Google's "
    "<author><title>job</title></author>) replaced the post's title; a difference here is a "
    "regression"
)
REASONS: list[tuple[str, str, str]] = [
    (r"rsparser/cloudblog\.rss|node_precedence/atom10_title", "", FINDING_6),
    (
        r"feed-rs/rss1/rss_1\.0_example_1|feed-rs/atom/atom_relative|rss-parser/input/gulp-atom",
        "link",
        "By design: pln makes every link absolute, against the feed's own URL (or xml:base); "
        "the other parser keeps it relative",
    ),
    (
        r"rss_0\.91_encoding_1|jsonfeed_elastic_1\.1",
        "link",
        "The same URL: feed-rs normalizes it (lower-case host, a slash for the empty path); "
        "pln keeps the link as the feed wrote it",
    ),
    (
        r"rss_2\.0_ilmessaggero",
        "date",
        "feedparser (which pln reads RSS with) refuses an Italian day name in pubDate ('mer, 16 "
        "nov 2022 00:38:15 +0100'); feed-rs skips day names. The post is filed under the day "
        "it was first fetched. Possible improvement: retry a refused RFC 822 date without its "
        "day name",
    ),
    (
        r"rss-parser/input/itunes-href",
        "link",
        "rss-parser keeps the white space around the link; pln strips it",
    ),
    (
        r"rss-parser/input/uolNoticias",
        "title",
        "rss-parser's expected output is wrong: it read this ISO-8859-1 feed as UTF-8 (U+FFFD "
        "for every accented letter); pln's titles are right",
    ),
    (
        r"_base64",
        "text",
        "By design: content of a non-text media type (base64 application/octet-stream, Atom "
        "0.3) is not shown as text",
    ),
    (
        r"namespace/(atom|rss2\.0)(mathml|svg)",
        "text",
        "By design: the sanitizer removes MathML and SVG with what is inside them (both carry "
        "script vectors); an entry made only of them has no text left",
    ),
    (
        r"item_description_not_a_doctype",
        "text",
        'HTML5 parsing: "<!\'" opens a bogus comment that runs to the next ">", so the '
        "description has no text; a browser shows none either",
    ),
    (
        r"base/http_.*content_location",
        "link",
        "By design: a Content-Location header is no base URI (RFC 7231 dropped that, RFC 9110 "
        "keeps it so); pln resolves against the URL it fetched",
    ),
    (
        r"sanitize/entry_title_crazy",
        "",
        "A whole HTML document as a title: pln keeps the text of its <body>, feedparser the "
        "text of its <head>'s <title> and comments. Neither runs a script",
    ),
    (
        r"sanitize/entry_title_object",
        "",
        "pln drops an <object> with everything inside it (plug-in fallback content is a common "
        "payload); feedparser drops the tag and keeps the text after it",
    ),
    (
        r"illformed/chardet/shiftjis",
        "",
        "Shift_JIS with no charset anywhere: pln and feedparser both read it as ISO-8859-2 "
        "(feedparser's own test expects chardet, which is not installed); pln then drops the "
        "C1 control characters of the mis-decoded title",
    ),
]


# ── the corpus, as served ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Served:
    """One file of a corpus and how the local server answers for it."""

    group: str  # the folder it is reported under
    name: str  # its path inside the corpora, unique
    path: Path
    url_path: str
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


_HEADER_LINE = re.compile(rb"^Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)


def feedparser_headers(body: bytes, base_url: str) -> tuple[int, list[tuple[str, str]]]:
    """The status and headers a feedparser test asks its server for (in a leading comment)."""
    head = body[:2048]
    status = 200
    headers: list[tuple[str, str]] = []
    for name, value in _HEADER_LINE.findall(head):
        text = value.decode("utf-8", "replace").replace(FEEDPARSER_SERVER, base_url)
        if name.decode().lower() == "status":
            status = int(text)
        else:
            headers.append((name.decode(), text))
    return status, headers


def encoding_headers(path: Path) -> list[tuple[str, str]]:
    """feedparser's compression tests are served as their extension says."""
    if path.suffix == ".gz":
        return [("Content-Encoding", "gzip"), ("Content-Type", "application/xml")]
    if path.suffix == ".z":
        return [("Content-Encoding", "deflate"), ("Content-Type", "application/xml")]
    return []


def feedparser_group(relative: Path) -> str:
    parts = relative.parts
    depth = 3 if parts[0] in ("wellformed", "illformed") and len(parts) > 2 else 2
    return "/".join(("feedparser-tests", *parts[: depth - 1]))


def feedparser_corpus(base_url: str) -> list[Served]:
    served = []
    for path in sorted(FEEDPARSER_TESTS.rglob("*")):
        if not path.is_file() or path.name in ("LICENSE", "SOURCE.md"):
            continue
        relative = path.relative_to(FEEDPARSER_TESTS)
        status, headers = feedparser_headers(path.read_bytes(), base_url)
        served.append(
            Served(
                group=feedparser_group(relative),
                name=f"feedparser-tests/{relative}",
                path=path,
                url_path="/tests/" + quote(str(relative)),
                status=status,
                headers=tuple(headers + encoding_headers(path)),
            )
        )
    return served


def realworld_corpus() -> list[Served]:
    entries = json.loads((REALWORLD / "manifest.json").read_text())
    served = []
    for entry in entries:
        if entry["role"] != "feed":
            continue
        path = REALWORLD / entry["file"]
        content_type = "application/feed+json" if path.suffix == ".json" else "application/xml"
        served.append(
            Served(
                group="realworld-feeds/" + entry["file"].split("/")[0],
                name=f"realworld-feeds/{entry['file']}",
                path=path,
                url_path="/realworld/" + quote(entry["file"]),
                headers=(("Content-Type", content_type),),
            )
        )
    return served


def serve(server: LocalHTTPServer, files: Iterable[Served]) -> None:
    for item in files:
        reply = Reply(item.status, item.path.read_bytes(), dict(item.headers))
        server.add_handler(item.url_path, lambda _request, reply=reply: reply)
    # the target of feedparser's http_redirect_to_304 test
    server.status("/-/return-304.xml", 304)


# ── what pln stored ──────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Stored:
    guid: str
    title: str | None
    link: str | None
    published: datetime | None
    text: str


@dataclass
class SourceResult:
    error: str | None = None
    posts: list[Stored] = field(default_factory=list)


def write_site(site: Path, files: list[Served], base_url: str) -> dict[str, Served]:
    """A sources.yaml with one person per file; returns person name → file."""
    people = [
        {"name": item.name, "slug": f"feed-{number}", "sources": [base_url + item.url_path]}
        for number, item in enumerate(files)
    ]
    document = {
        "site": {"title": "Conformance"},
        # full text never: a post's page is on the internet, which this run never reaches
        "fetch": {"concurrency": 16, "per_host": 16, "timeout": 60, "full_text": "never"},
        "people": people,
    }
    shutil.rmtree(site, ignore_errors=True)  # a kept site of an earlier run would add its posts
    site.mkdir(parents=True)
    (site / "sources.yaml").write_text(json.dumps(document, indent=1), encoding="utf-8")
    return {item.name: item for item in files}


@dataclass(frozen=True)
class Run:
    returncode: int
    seconds: float
    stdout: str
    stderr: str


def run_fetch(site: Path) -> Run:
    dead_proxy = f"http://127.0.0.1:{unused_port()}"
    env = {
        **os.environ,
        "HTTP_PROXY": dead_proxy,
        "HTTPS_PROXY": dead_proxy,
        "ALL_PROXY": dead_proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "--site", str(site), "fetch"],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    return Run(done.returncode, time.perf_counter() - started, done.stdout, done.stderr)


def read_results(site: Path) -> dict[str, SourceResult]:
    """Person name → the source's last error and its posts in the order they were stored."""
    results: dict[str, SourceResult] = {}
    with sqlite3.connect(site / "pln.db") as db:
        for name, error in db.execute(
            """
            SELECT pe.name, s.last_error FROM sources s JOIN people pe ON pe.id = s.person_id
            WHERE s.active = 1
            """
        ):
            results[name] = SourceResult(error=error)
        rows = db.execute(
            """
            SELECT pe.name, p.guid, p.title, p.link, p.published, p.text
            FROM posts p JOIN sources s ON s.id = p.source_id JOIN people pe ON pe.id = s.person_id
            WHERE s.active = 1
            ORDER BY p.id
            """
        )
        for name, guid, title, link, published, text in rows:
            moment = datetime.fromisoformat(published) if published else None
            results[name].posts.append(Stored(guid, title, link, moment, text or ""))
    return results


# ── what the reference finds ─────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Expected:
    key: str | None  # id, else link: what identifies the entry
    title: str | None  # normalized
    link: str | None  # only http(s) links: pln keeps no other
    date: datetime | None
    has_text: bool
    raw_date: datetime | None = None  # before the [1990, 2100) filter
    summary: str | None = None  # what tells apart entries with no id and no link


@dataclass(frozen=True)
class Reference:
    kind: str  # "feedparser", "json feed", "none"
    entries: tuple[Expected, ...]
    note: str = ""


_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def normalized(text: object) -> str | None:
    """Markup and entities gone, white space collapsed: how two titles are compared."""
    if not isinstance(text, str):
        return None
    previous = None
    while previous != text:  # titles escaped twice over come undone in a loop, as in pln
        previous = text
        text = html.unescape(_TAG.sub(" ", text))
    return _SPACE.sub(" ", text).strip() or None


def web_link(value: object, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        absolute = urljoin(base, re.sub(r"[\t\n\r]", "", value).strip())
        parts = urlsplit(absolute)
    except ValueError:
        return None
    return absolute if parts.scheme in ("http", "https") and parts.hostname else None


def in_range(moment: datetime | None) -> datetime | None:
    return moment if moment is not None and EARLIEST <= moment < LATEST else None


def has_text(*values: object) -> bool:
    return any(normalized(value) for value in values)


def decoded_body(item: Served) -> bytes | None:
    """The body as an HTTP client sees it after Content-Encoding; None when it cannot be."""
    body = item.path.read_bytes()
    coding = (item.header("Content-Encoding") or "").lower()
    try:
        if coding == "gzip":
            return gzip.decompress(body)
        if coding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except (OSError, EOFError, zlib.error):
        return None
    return body


def reference(item: Served, files: Mapping[str, Served], base_url: str) -> Reference:
    """What a careful reader finds in the answer ``item`` gets from the server."""
    if item.status in (301, 302, 303, 307, 308):
        target = item.header("Location")
        if target is None:
            return Reference("none", (), "a redirect without a Location")
        target_path = urlsplit(target).path
        landing = next((f for f in files.values() if f.url_path == target_path), None)
        if landing is None:
            return Reference("none", (), f"a redirect to {target_path}, which answers no feed")
        return reference(landing, files, base_url)
    if item.status != 200:
        return Reference("none", (), f"HTTP {item.status}")
    body = decoded_body(item)
    if body is None:
        return Reference("none", (), "the body does not match its Content-Encoding")
    url = base_url + item.url_path
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return json_feed_reference(body, url)
    return feedparser_reference(body, item, url)


def feedparser_reference(body: bytes, item: Served, url: str) -> Reference:
    headers = {name.lower(): value for name, value in item.headers}
    headers.setdefault("content-location", url)
    result = feedparser.parse(body, response_headers=headers)
    base = headers["content-location"]
    entries = tuple(_feedparser_entry(entry, base) for entry in result.entries)
    note = f"feedparser: {type(result.bozo_exception).__name__}" if result.bozo else ""
    return Reference("feedparser", entries, note)


def _feedparser_entry(entry: Mapping[str, Any], base: str) -> Expected:
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    moment = datetime(*published[:6], tzinfo=UTC) if published else None
    content = [c.get("value") for c in entry.get("content") or ()]
    link = web_link(entry.get("link"), base)
    identifier = entry.get("id")
    key = str(identifier).strip() if identifier and str(identifier).strip() else link
    return Expected(
        key=key,
        title=normalized(entry.get("title")),
        link=link,
        date=in_range(moment),
        has_text=has_text(entry.get("summary"), *content),
        raw_date=moment,
        summary=normalized(entry.get("summary")),
    )


def json_feed_reference(body: bytes, url: str) -> Reference:
    """JSON Feed 1.0/1.1 read by the spec: items are objects; id, url, title, dates, text."""
    try:
        document = json.loads(body)
    except ValueError as error:
        return Reference("none", (), f"not JSON: {error}")
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return Reference("none", (), "JSON without a list of items")
    entries = tuple(_json_item(item, url) for item in items if isinstance(item, dict))
    return Reference("json feed", entries)


def _json_item(item: Mapping[str, Any], url: str) -> Expected:
    link = web_link(item.get("url"), url) or web_link(item.get("external_url"), url)
    identifier = item.get("id")
    key = str(identifier).strip() if identifier is not None and str(identifier).strip() else link
    moment = _rfc3339(item.get("date_published")) or _rfc3339(item.get("date_modified"))
    return Expected(
        key=key,
        title=normalized(item.get("title")),
        link=link,
        date=in_range(moment),
        has_text=has_text(item.get("content_html"), item.get("content_text"), item.get("summary")),
        raw_date=moment,
        summary=normalized(item.get("summary") or item.get("content_text")),
    )


def _rfc3339(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rfc822(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


# ── comparing ────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Difference:
    file: str
    check: str  # "fetch", "missing", "title", "link", "date", "text", "feed-rs …"
    entry: str  # which entry (its key or position)
    ours: str
    theirs: str
    reason: str = ""


@dataclass
class Tally:
    feeds: int = 0
    fetched: int = 0  # the source did not fail
    failed_expected: int = 0  # failed, and the reference finds no entry either
    failed_wrongly: int = 0  # failed, although the reference finds entries
    entries: int = 0  # entries the reference finds (distinct keys)
    stored: int = 0
    matched: int = 0  # stored with every field the reference has, equal
    extra: int = 0  # stored entries the reference does not find
    seconds: float = 0.0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # file, error, reference
    extras: list[tuple[str, int]] = field(default_factory=list)  # file, posts


def distinct(entries: Iterable[Expected]) -> list[Expected]:
    """The entries as pln keeps them: one per key, the last one winning at the first's place.

    An entry with neither id nor link is known by what it holds; two such entries with the
    same title, date and summary are one (pln cannot tell them apart, and neither can a
    reader).
    """
    by_key: dict[object, Expected] = {}
    for entry in entries:
        key = entry.key or ("anonymous", entry.title, entry.raw_date, entry.summary)
        by_key[key] = entry
    return list(by_key.values())


def pair_up(expected: list[Expected], stored: list[Stored]) -> Iterator[tuple[Expected, Stored]]:
    """Each expected entry with the stored post that is it: by key, then title, then order."""
    left = list(stored)
    unmatched: list[Expected] = []
    for entry in expected:
        found = next((post for post in left if entry.key and post.guid == entry.key), None)
        if found is None and entry.link:
            found = next((post for post in left if post.link == entry.link), None)
        if found is None:
            unmatched.append(entry)
            continue
        left.remove(found)
        yield entry, found
    still: list[Expected] = []
    for entry in unmatched:
        found = next(
            (p for p in left if entry.title and same_text(normalized(p.title), entry.title)), None
        )
        if found is None:
            still.append(entry)
            continue
        left.remove(found)
        yield entry, found
    # What is left on both sides pairs up in document order (anonymous entries, titles that
    # differ): their fields are then compared, so a difference shows as what it is.
    yield from zip(still, left, strict=False)


def same_text(ours: str | None, theirs: str | None) -> bool:
    """Equal but for white space: where a tag stood, one reader puts a space, another none."""
    return _SPACE.sub("", ours or "") == _SPACE.sub("", theirs or "")


def same_moment(ours: datetime | None, theirs: datetime | None) -> bool:
    """Equal to the second: pln stores times to the second."""
    if ours is None or theirs is None:
        return ours is theirs
    return ours.replace(microsecond=0) == theirs.replace(microsecond=0)


def compare_entry(name: str, entry: Expected, post: Stored) -> list[Difference]:
    where = entry.key or entry.title or "(no id)"
    found: list[Difference] = []
    if entry.title and not same_text(normalized(post.title), entry.title):
        found.append(Difference(name, "title", where, str(post.title), entry.title))
    if entry.link and post.link != entry.link:
        found.append(Difference(name, "link", where, str(post.link), entry.link))
    if entry.date and not same_moment(post.published, entry.date):
        ours = post.published.isoformat() if post.published else "none"
        found.append(Difference(name, "date", where, ours, entry.date.isoformat()))
    if entry.has_text and not post.text.strip():
        found.append(Difference(name, "text", where, "no text", "has text"))
    return found


def compare_feed(
    item: Served, result: SourceResult | None, ref: Reference, tally: Tally
) -> list[Difference]:
    tally.feeds += 1
    expected = distinct(ref.entries)
    tally.entries += len(expected)
    if result is None or result.error:
        error = result.error if result else "the source was not fetched"
        if expected:
            tally.failed_wrongly += 1
            theirs = f"{len(expected)} entries ({ref.kind})"
            return [Difference(item.name, "fetch", "-", f"failed: {error}", theirs)]
        tally.failed_expected += 1
        tally.failures.append((item.name, error or "", ref.note or "no entries"))
        return []
    tally.fetched += 1
    tally.stored += len(result.posts)
    differences: list[Difference] = []
    pairs = list(pair_up(expected, result.posts))
    matched_posts = {id(post) for _, post in pairs}
    for entry, post in pairs:
        found = compare_entry(item.name, entry, post)
        differences += found
        tally.matched += not found
    paired = {id(entry) for entry, _ in pairs}
    for entry in expected:
        if id(entry) not in paired:
            where = entry.key or entry.title or "(no id)"
            differences.append(Difference(item.name, "missing", where, "not stored", ref.kind))
    extra = sum(1 for post in result.posts if id(post) not in matched_posts)
    tally.extra += extra
    if extra:
        tally.extras.append((item.name, extra))
    return differences


# ── expected outputs of other parsers ────────────────────────────────────────────────────


@dataclass(frozen=True)
class OtherEntry:
    title: str | None
    link: str | None
    date: datetime | None


def feed_rs_expectation(item: Served) -> list[OtherEntry] | None:
    path = item.path.with_name(item.path.stem + ".serde.json")
    if not item.name.startswith("realworld-feeds/feed-rs/") or not path.is_file():
        return None
    document = json.loads(path.read_text())
    return [_feed_rs_entry(entry) for entry in document.get("entries", [])]


def _feed_rs_entry(entry: Mapping[str, Any]) -> OtherEntry:
    title = (entry.get("title") or {}).get("content")
    links = entry.get("links") or []
    alternate = [link for link in links if link.get("rel") in (None, "alternate")]
    link = (alternate or links or [{}])[0].get("href")
    when = entry.get("published") or entry.get("updated")
    return OtherEntry(normalized(title), link, _rfc3339(when))


def rss_parser_expectation(item: Served) -> list[OtherEntry] | None:
    if not item.name.startswith("realworld-feeds/rss-parser/input/"):
        return None
    path = REALWORLD / "rss-parser" / "output" / (item.path.stem + ".json")
    if not path.is_file():
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # rss-parser wrote one output in the feed's own Latin-1
        text = raw.decode("latin-1")
    feed = json.loads(text).get("feed", {})
    return [_rss_parser_entry(entry) for entry in feed.get("items", [])]


def _rss_parser_entry(entry: Mapping[str, Any]) -> OtherEntry:
    when = entry.get("isoDate") or entry.get("pubDate")
    moment = _rfc3339(when)
    if moment is None and isinstance(when, str):
        moment = _rfc822(when)
    title = entry.get("title")
    return OtherEntry(
        normalized(title if isinstance(title, str) else None), entry.get("link"), moment
    )


@dataclass
class OtherTally:
    feeds: int = 0
    entries: int = 0
    agree: Counter[str] = field(default_factory=Counter)  # field → entries that agree
    compared: Counter[str] = field(default_factory=Counter)


def compare_other(
    parser: str,
    item: Served,
    others: list[OtherEntry],
    result: SourceResult | None,
    tally: OtherTally,
) -> list[Difference]:
    """Titles, links and dates against another parser's output, entry by entry in order."""
    posts = result.posts if result and not result.error else []
    tally.feeds += 1
    tally.entries += len(others)
    differences: list[Difference] = []
    if len(posts) != len(others):
        differences.append(
            Difference(item.name, f"{parser} count", "-", f"{len(posts)} posts", f"{len(others)}")
        )
    for number, (other, post) in enumerate(zip(others, posts, strict=False)):
        checks = {
            "title": (normalized(post.title), other.title, same_text),
            "link": (post.link, other.link, _equal),
            "date": (post.published, in_range(other.date), same_moment),
        }
        for check, (ours, theirs, same) in checks.items():
            if theirs is None:
                continue
            tally.compared[check] += 1
            if same(ours, theirs):  # type: ignore[operator]
                tally.agree[check] += 1
            else:
                differences.append(
                    Difference(
                        item.name, f"{parser} {check}", f"#{number}", _show(ours), _show(theirs)
                    )
                )
    return differences


def _equal(ours: object, theirs: object) -> bool:
    return ours == theirs


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return "none" if value is None else str(value)


# ── reasons ──────────────────────────────────────────────────────────────────────────────


def explain(difference: Difference) -> Difference:
    for pattern, check, reason in REASONS:
        if re.search(pattern, difference.file) and difference.check.endswith(check):
            return Difference(**{**difference.__dict__, "reason": reason})
    return difference


# ── the run ──────────────────────────────────────────────────────────────────────────────


@dataclass
class Outcome:
    tallies: dict[str, Tally] = field(default_factory=dict)
    others: dict[str, OtherTally] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    base_url: str = ""


def run_group(
    group: str, files: list[Served], server: LocalHTTPServer, workdir: Path, outcome: Outcome
) -> None:
    site = workdir / re.sub(r"[^\w]+", "-", group)
    by_name = write_site(site, files, server.base_url)
    run = run_fetch(site)
    print(f"{group}: {len(files)} feeds fetched in {run.seconds:.1f} s", file=sys.stderr)
    if run.returncode != 0 or "Traceback" in run.stderr or "internal error" in run.stderr:
        outcome.crashes.append(f"{group}: exit {run.returncode}\n{run.stderr[-2000:]}")
    results = read_results(site)
    tally = outcome.tallies.setdefault(group, Tally())
    tally.seconds += run.seconds
    all_files = {f.name: f for f in _ALL}
    for name, item in by_name.items():
        result = results.get(name)
        ref = reference(item, all_files, server.base_url)
        outcome.differences += compare_feed(item, result, ref, tally)
        for parser, expectation in (
            ("feed-rs", feed_rs_expectation(item)),
            ("rss-parser", rss_parser_expectation(item)),
        ):
            if expectation is not None:
                other = outcome.others.setdefault(parser, OtherTally())
                outcome.differences += compare_other(parser, item, expectation, result, other)


_ALL: list[Served] = []


def main() -> None:
    parser = argparse.ArgumentParser(description="Fetch every corpus feed with pln, compare.")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    parser.add_argument("--keep", type=Path, help="keep the scratch sites in this directory")
    parser.add_argument("--only", help="only groups whose name contains this")
    args = parser.parse_args()
    if not CORPORA.is_dir():
        sys.exit(f"{CORPORA} is not there: nothing to run")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="pln-conformance-"))
    outcome = Outcome()
    started = time.perf_counter()
    with LocalHTTPServer() as server:
        outcome.base_url = server.base_url
        _ALL[:] = realworld_corpus() + feedparser_corpus(server.base_url)
        serve(server, _ALL)
        groups: dict[str, list[Served]] = {}
        for item in _ALL:
            groups.setdefault(item.group, []).append(item)
        for group, files in groups.items():
            if args.only and args.only not in group:
                continue
            run_group(group, files, server, workdir, outcome)
        outcome.outside_requests = [
            r.path
            for r in server.requests
            if not r.path.startswith(("/tests/", "/realworld/", "/-/"))
        ]
    outcome.differences = [explain(d) for d in outcome.differences]
    text = render(outcome, time.perf_counter() - started)
    print(text)
    if not args.no_write and not args.only:
        REPORT.write_text(text, encoding="utf-8")
        print(f"written to {REPORT}", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


# ── the report ───────────────────────────────────────────────────────────────────────────


def render(outcome: Outcome, seconds: float) -> str:
    lines = [
        "# Conformance: the corpora through `pln fetch`",
        "",
        "Generated by `bench/conformance.py` (run it again with",
        "`/work/venv/bin/python bench/conformance.py`; it rewrites this file). Every feed of",
        "`../shared/corpora/realworld-feeds` (those its manifest calls feeds) and every file of",
        "`../shared/corpora/feedparser-tests` is served by a local HTTP server with the headers",
        "its test asks for, fetched by the real `pln fetch` (one scratch site per folder, one",
        "person per feed), and read back from the SQLite file. The reference is feedparser",
        f"{feedparser.__version__} on the same bytes and headers (RSS, Atom, RDF) or the JSON",
        "Feed spec (JSON Feed); a stored entry *matches* when its title (without markup, white",
        "space ignored), link, date (to the second) and the presence of text equal the",
        "reference's, wherever the reference has them.",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d} on {platform.node()} ({platform.machine()}, "
        f"{os.cpu_count()} cores), Python {platform.python_version()}, pln {__version__}; "
        f"{seconds:.0f} s in all.",
        "",
        *_summary_lines(outcome),
        "",
        *_failure_lines(outcome),
        "",
        *_other_lines(outcome),
        "",
        *_difference_lines(outcome),
    ]
    # The server's port changes from run to run; the report should not.
    return "\n".join(lines).replace(outcome.base_url, "http://127.0.0.1:PORT") + "\n"


def _failure_lines(outcome: Outcome) -> list[str]:
    failures = [f for tally in outcome.tallies.values() for f in tally.failures]
    extras = [e for tally in outcome.tallies.values() for e in tally.extras]
    lines = [
        "## Sources that failed, and posts beyond the reference",
        "",
        f"Every source that failed ({len(failures)}), with pln's words and why the reference "
        "finds no entry either:",
        "",
        "| file | pln said | reference |",
        "| --- | --- | --- |",
        *[
            f"| {_cell(name)} | {_cell(error, 140)} | {_cell(note)} |"
            for name, error, note in failures
        ],
        "",
        f"Feeds where pln stored posts the reference does not find ({len(extras)}):",
        "",
        "| file | posts | why |",
        "| --- | ---: | --- |",
        *[f"| {_cell(name)} | {count} | {_extra_reason(name)} |" for name, count in extras],
    ]
    return lines


def _extra_reason(name: str) -> str:
    if name.endswith(("compressed.xml", "gzipped.xml")):
        return (
            "a gzip file served without Content-Encoding: pln inflates it (parse.py), "
            "feedparser reads the compressed bytes and finds nothing"
        )
    return "not explained yet"


def _summary_lines(outcome: Outcome) -> list[str]:
    lines = [
        "## Per folder",
        "",
        "| folder | feeds | fetched | failed, rightly | failed, wrongly | entries | stored "
        "| matched | extra | s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total = Tally()
    for group, tally in outcome.tallies.items():
        lines.append(_tally_row(group, tally))
        for name in ("feeds", "fetched", "failed_expected", "failed_wrongly", "entries", "stored"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
        total.matched += tally.matched
        total.extra += tally.extra
        total.seconds += tally.seconds
    lines.append(_tally_row("**all**", total))
    crashes = outcome.crashes or ["none"]
    lines += [
        "",
        "*fetched*: the source did not fail. *failed, rightly*: it failed and the reference",
        "finds no entry either (listed below). *failed, wrongly*: it failed although the",
        "reference finds entries. *entries*: what the reference finds, one per id (or link, or",
        "for entries with neither, per title, date and summary, as pln keeps them). *matched*:",
        "stored with every field equal. *extra*: posts the reference does not find (below).",
        "",
        f'Crashes (a traceback or an "internal error" in a run): {"; ".join(crashes)}.',
        f"Requests for anything but the served feeds: {len(outcome.outside_requests)}.",
    ]
    return lines


def _tally_row(group: str, t: Tally) -> str:
    return (
        f"| {group} | {t.feeds} | {t.fetched} | {t.failed_expected} | {t.failed_wrongly} "
        f"| {t.entries} | {t.stored} | {t.matched} | {t.extra} | {t.seconds:.1f} |"
    )


def _other_lines(outcome: Outcome) -> list[str]:
    lines = [
        "## Against other parsers' expected outputs",
        "",
        "Entry by entry, in document order: the fields the other parser found, and how many of",
        "them pln stored the same (titles without markup, white space ignored; dates as",
        "instants, to the second; links exactly).",
        "",
        "| parser | feeds | entries | titles equal | links equal | dates equal |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for parser, tally in outcome.others.items():
        cells = [f"{tally.agree[c]} of {tally.compared[c]}" for c in ("title", "link", "date")]
        lines.append(f"| {parser} | {tally.feeds} | {tally.entries} | " + " | ".join(cells) + " |")
    return lines


def _difference_lines(outcome: Outcome) -> list[str]:
    differences = outcome.differences
    lines = [
        "## Every difference",
        "",
        f"{len(differences)} in all; by kind: "
        + ", ".join(
            f"{kind} {n}" for kind, n in Counter(d.check for d in differences).most_common()
        )
        + ".",
        "",
    ]
    by_reason: dict[str, list[Difference]] = {}
    for difference in differences:
        by_reason.setdefault(difference.reason or "Not explained yet", []).append(difference)
    for reason, members in sorted(by_reason.items(), key=lambda pair: -len(pair[1])):
        lines += [
            f"### {reason} ({len(members)})",
            "",
            "| file | check | entry | pln | reference |",
        ]
        lines.append("| --- | --- | --- | --- | --- |")
        lines += [_difference_row(d) for d in members]
        lines.append("")
    return lines


def _difference_row(d: Difference) -> str:
    cells = [d.file, d.check, d.entry, d.ours, d.theirs]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str, limit: int = 90) -> str:
    text = _SPACE.sub(" ", text).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":
    main()
