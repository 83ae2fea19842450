"""Bugs found by fuzzing and the conformance run (issue 10), each pinned by a test.

A test marked ``xfail(strict=True)`` shows a bug that is not fixed yet: it fails today, and
the day the fix lands it passes, which strict mode reports as a failure (XPASS) until the
mark is removed. Then also remove the matching filter in tests/test_fuzz.py ("known bugs"),
so the fuzzers cover that ground again. docs/reliability.md lists each finding with its fix.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator import mastodon
from aggregator.cli import cli
from aggregator.errors import ParseError
from aggregator.models import ParsedFeed
from aggregator.parse import read
from tests.server import LocalHTTPServer
from tests.sites import write_site

URL = "https://feeds.example/feed.xml"
INSTANCE = "https://mastodon.example"


def rss_item(title: str, description: str = "text") -> bytes:
    return (
        '<rss version="2.0"><channel><title>t</title><item><guid>post-1</guid>'
        f"<title>{title}</title><description>{description}</description>"
        "</item></channel></rss>"
    ).encode()


def json_feed(item: dict[str, object]) -> bytes:
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [item]}
    return json.dumps(document).encode()  # ensure_ascii: a surrogate travels as "\ud800"


def read_feed(body: bytes) -> ParsedFeed:
    result = read(body, URL)
    assert isinstance(result, ParsedFeed)
    return result


# ── finding 1: character references to code points that are not characters ──────────────

FIX_1 = (
    "parse.py: before feedparser, replace numeric character references to surrogates "
    "(D800-DFFF) and beyond U+10FFFF with &#xFFFD;"
)


@pytest.mark.xfail(
    strict=True,
    raises=UnicodeEncodeError,
    reason=f"finding 1: nh3 cannot encode a surrogate; {FIX_1}",
)
def test_a_surrogate_character_reference_does_not_lose_the_feed() -> None:
    feed = read_feed(rss_item("Caf&#xD800;é", "<p>text &#xDFFF;</p>"))
    assert feed.posts[0].title == "Caf\ufffdé"


@pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason=f"finding 1: feedparser calls chr(0x110000); {FIX_1}",
)
def test_a_character_reference_beyond_unicode_does_not_lose_the_feed() -> None:
    feed = read_feed(rss_item("Big &#x110000; number"))
    assert feed.posts[0].title == "Big \ufffd number"


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=f"finding 1, end to end: {FIX_1}",
)
def test_fetch_stores_a_feed_with_a_surrogate_reference(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/feed.xml", rss_item("Caf&#xD800;é"))
    site = tmp_path / "site"
    write_site(site, {"Alice": [http_server.url("/feed.xml")]})
    result = CliRunner().invoke(cli, ["--site", str(site), "fetch"], catch_exceptions=False)
    assert result.exit_code == 0
    # today: "✗ Alice: …: internal error: UnicodeEncodeError: 'utf-8' codec can't encode …"
    assert "internal error" not in result.output
    assert "1 new posts" in result.stdout


# ── finding 2: lone surrogates from JSON ("\ud800" is valid JSON text) ───────────────────

FIX_2 = (
    "parse._read_json_feed and mastodon._json_body: after json.loads, replace lone "
    "surrogates (re '[\\ud800-\\udfff]') in every string with U+FFFD"
)


@pytest.mark.xfail(
    strict=True,
    raises=UnicodeEncodeError,
    reason=f"finding 2: nh3 cannot encode a surrogate; {FIX_2}",
)
def test_a_json_feed_with_a_lone_surrogate_in_its_html() -> None:
    feed = read_feed(json_feed({"id": "1", "content_html": "<p>a\ud800b</p>"}))
    assert feed.posts[0].text == "a\ufffdb"


@pytest.mark.xfail(
    strict=True,
    raises=UnicodeEncodeError,
    reason=f"finding 2: SQLite cannot store it; {FIX_2}",
)
def test_a_json_feed_title_with_a_lone_surrogate_can_be_stored() -> None:
    feed = read_feed(json_feed({"id": "1", "title": "a\ud800b"}))
    title = feed.posts[0].title
    # today the title keeps the surrogate, and the insert fails when the store writes it
    sqlite3.connect(":memory:").execute("SELECT ?", [title])


@pytest.mark.xfail(
    strict=True,
    raises=UnicodeEncodeError,
    reason=f"finding 2: nh3 cannot encode a surrogate; {FIX_2}",
)
def test_a_status_with_a_lone_surrogate() -> None:
    status = {"id": "1", "uri": f"{INSTANCE}/users/a/statuses/1", "content": "<p>a\ud800b</p>"}
    post = mastodon.status_to_post(status, INSTANCE)
    assert post.text == "a\ufffdb"


# ── finding 3: feedparser decodes the declared encoding's name as UTF-8 ──────────────────

FIX_3 = (
    "parse._read_xml_feed: call feedparser.parse inside try/except Exception (feedparser is "
    "third-party code fed hostile bytes) and raise ParseError('not a feed: feedparser failed "
    "on it (TypeError: ...)'); better still, drop an encoding pseudo-attribute that is not "
    "ASCII before parsing, so the feed is read"
)


@pytest.mark.xfail(
    strict=True,
    raises=UnicodeDecodeError,
    reason=f"finding 3: UnicodeDecodeError escapes; {FIX_3}",
)
def test_a_declared_encoding_that_is_not_ascii() -> None:
    body = b'<?xml version="1.0" encoding="utf\xf4-8"?>' + rss_item("Hello")
    with contextlib.suppress(ParseError):  # refusing it in words is fine; anything else is not
        read(body, URL)


# ── finding 4: dates at the edge of datetime's range ─────────────────────────────────────

FIX_4 = (
    "parse._json_date: catch OverflowError with ValueError (return None); "
    "mastodon._Fields.time: catch OverflowError with ValueError"
)


@pytest.mark.xfail(
    strict=True,
    raises=OverflowError,
    reason=f"finding 4: OverflowError escapes; {FIX_4}",
)
def test_a_json_feed_date_that_overflows_in_utc() -> None:
    feed = read_feed(json_feed({"id": "1", "date_published": "9999-12-31T23:59:59-12:00"}))
    assert feed.posts[0].published is None  # past 2100: absurd, like any date out of range


@pytest.mark.xfail(
    strict=True,
    raises=OverflowError,
    reason=f"finding 4: OverflowError escapes; {FIX_4}",
)
def test_a_status_date_that_overflows_in_utc() -> None:
    status = {
        "id": "1",
        "uri": f"{INSTANCE}/users/a/statuses/1",
        "created_at": "0001-01-01T00:00:00+14:00",
    }
    with contextlib.suppress(ParseError):  # "'created_at' is not a date" is fine
        mastodon.status_to_post(status, INSTANCE)


# ── finding 5: feedparser's loose parser and a stray </height> or </width> ───────────────


@pytest.mark.xfail(
    strict=True,
    raises=TypeError,
    reason=f"finding 5 (atheris): feedparser's _end_height calls int(None); {FIX_3}",
)
def test_a_stray_height_end_tag_in_an_ill_formed_feed() -> None:
    body = b'<rss version="2.0"><channel></height><item><title>x</title></item></channel></rss>'
    with contextlib.suppress(ParseError):  # refusing it in words is fine; TypeError is not
        read(body, URL)


# ── finding 6: a <title> nested after an <image> takes the entry's title ─────────────────

FIX_6 = (
    "parse._post_from: title=plain_text(str(entry.get('title') or '')) or None instead of "
    "_text_of(entry.get('title_detail')): feedparser keeps entry['title'] right but lets a "
    "nested <title> overwrite title_detail (likewise the channel title in _feed_from)"
)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=f"finding 6 (conformance run, rsparser/cloudblog.rss): {FIX_6}",
)
def test_a_title_nested_in_the_author_does_not_replace_the_post_title() -> None:
    # Google's Cloud blog: an <image> in the item, then the author's job as <title>
    body = (
        b'<rss version="2.0"><channel><title>Cloud Blog</title><item>'
        b"<title>Shadow IT clues</title><guid>1</guid><image>https://x.example/i.png</image>"
        b"<author><name>Diane</name><title>Product Manager</title></author>"
        b"</item></channel></rss>"
    )
    assert read_feed(body).posts[0].title == "Shadow IT clues"
