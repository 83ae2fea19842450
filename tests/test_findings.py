"""Bugs found by fuzzing and the conformance run (issue 10): one regression test each.

Each test was written failing, as a strict xfail, and its mark removed once the fix landed.
A bug found next goes the same way: a strict xfail here (``raises=`` the exception it shows)
and an entry in tests/known_bugs.py, so the fuzzers accept it until the fix, then neither.
docs/reliability.md tells each finding and its fix.
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

# Fixed in parse.py (_with_safe_char_refs): before feedparser sees the body, numeric
# character references to surrogates (D800-DFFF) or past U+10FFFF become &#xFFFD;.


def test_a_surrogate_character_reference_does_not_lose_the_feed() -> None:
    feed = read_feed(rss_item("Caf&#xD800;é", "<p>text &#xDFFF;</p>"))
    assert feed.posts[0].title == "Caf\ufffdé"


def test_a_character_reference_beyond_unicode_does_not_lose_the_feed() -> None:
    feed = read_feed(rss_item("Big &#x110000; number"))
    assert feed.posts[0].title == "Big \ufffd number"


def test_a_character_reference_past_any_int_does_not_lose_the_feed() -> None:
    feed = read_feed(rss_item("Huge &#99999999999; number"))
    assert feed.posts[0].title == "Huge \ufffd number"


def test_fetch_stores_a_feed_with_a_surrogate_reference(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/feed.xml", rss_item("Caf&#xD800;é"))
    site = tmp_path / "site"
    write_site(site, {"Alice": [http_server.url("/feed.xml")]})
    result = CliRunner().invoke(cli, ["--site", str(site), "fetch"], catch_exceptions=False)
    assert result.exit_code == 0
    # before the fix: "✗ Alice: …: internal error: UnicodeEncodeError: 'utf-8' codec can't …"
    assert "internal error" not in result.output
    assert "1 new post," in result.stdout


# ── finding 2: lone surrogates from JSON ("\ud800" is valid JSON text) ───────────────────

# Fixed by sanitize.without_surrogates: a lone surrogate becomes U+FFFD in JSON documents
# (parse._read_json_feed, mastodon._json_body) and in every string sanitize handles.


def test_a_json_feed_with_a_lone_surrogate_in_its_html() -> None:
    feed = read_feed(json_feed({"id": "1", "content_html": "<p>a\ud800b</p>"}))
    assert feed.posts[0].text == "a\ufffdb"


def test_a_json_feed_title_with_a_lone_surrogate_can_be_stored() -> None:
    feed = read_feed(json_feed({"id": "1", "title": "a\ud800b"}))
    title = feed.posts[0].title
    # before the fix the title kept the surrogate, and the store's insert failed on it
    sqlite3.connect(":memory:").execute("SELECT ?", [title])


def test_a_status_with_a_lone_surrogate() -> None:
    status = {"id": "1", "uri": f"{INSTANCE}/users/a/statuses/1", "content": "<p>a\ud800b</p>"}
    post = mastodon.status_to_post(status, INSTANCE)
    assert post.text == "a\ufffdb"


# ── finding 3: feedparser decodes the declared encoding's name as UTF-8 ──────────────────

# Fixed in parse._read_xml_feed: an encoding name that is not plain ASCII is dropped from
# the XML declaration, and an exception out of feedparser becomes a ParseError in words.


def test_a_declared_encoding_that_is_not_ascii() -> None:
    body = b'<?xml version="1.0" encoding="utf\xf4-8"?>' + rss_item("Hello")
    with contextlib.suppress(ParseError):  # refusing it in words is fine; anything else is not
        read(body, URL)


def test_a_declared_encoding_with_a_nul_in_it() -> None:
    body = b'<?xml version="1.0" encoding="utf\x00-8"?>' + rss_item("Hello")
    with contextlib.suppress(ParseError):
        read(body, URL)


# ── finding 4: dates at the edge of datetime's range ─────────────────────────────────────

# Fixed: parse._json_date gives no date; mastodon._Fields.time says "… is not a date".


def test_a_json_feed_date_that_overflows_in_utc() -> None:
    feed = read_feed(json_feed({"id": "1", "date_published": "9999-12-31T23:59:59-12:00"}))
    assert feed.posts[0].published is None  # past 2100: absurd, like any date out of range


def test_a_status_date_that_overflows_in_utc() -> None:
    status = {
        "id": "1",
        "uri": f"{INSTANCE}/users/a/statuses/1",
        "created_at": "0001-01-01T00:00:00+14:00",
    }
    with contextlib.suppress(ParseError):  # "'created_at' is not a date" is fine
        mastodon.status_to_post(status, INSTANCE)


# ── finding 5: feedparser's loose parser and a stray end tag ─────────────────────────────

# In an ill-formed feed, feedparser's loose parser runs the end handler of an element whose
# start it never saw: </height> and </width> call int(None), </media:player> looks up a dict
# key that is not there. Fixed by the try/except around feedparser.parse of finding 3.


@pytest.mark.parametrize("end_tag", ["</height>", "</width>", "</media:player>"])
def test_a_stray_end_tag_in_an_ill_formed_feed(end_tag: str) -> None:
    body = (
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"{end_tag}<item><title>x</title></item></channel></rss>"
    ).encode()
    with contextlib.suppress(ParseError):  # refusing it in words is fine; the rest is not
        read(body, URL)


# ── finding 6: a <title> nested after an <image> takes the entry's title ─────────────────

# Fixed in parse._post_from (and the channel title in _feed_from): entry["title"], not
# title_detail.


def test_a_title_nested_in_the_author_does_not_replace_the_post_title() -> None:
    # Google's Cloud blog: an <image> in the item, then the author's job as <title>
    body = (
        b'<rss version="2.0"><channel><title>Cloud Blog</title><item>'
        b"<title>Shadow IT clues</title><guid>1</guid><image>https://x.example/i.png</image>"
        b"<author><name>Diane</name><title>Product Manager</title></author>"
        b"</item></channel></rss>"
    )
    assert read_feed(body).posts[0].title == "Shadow IT clues"


# ── finding 7: an element named like one of feedparser's own keys ────────────────────────

# Fixed in parse.py: feedparser's structured keys are read for their shape (a list of
# mappings, a mapping); a string found there is ignored, and the post kept.


@pytest.mark.parametrize("element", ["authors", "author_detail", "title_detail", "summary_detail"])
def test_an_element_named_like_a_feedparser_key(element: str) -> None:
    body = (
        '<rss version="2.0"><channel><title>t</title><item><guid>1</guid><title>Post</title>'
        f"<{element}>Alice</{element}></item></channel></rss>"
    ).encode()
    assert read_feed(body).posts[0].title == "Post"


# ── finding 8: a Unicode space in a namespace name ───────────────────────────────────────

# xml.sax splits expat's "namespace localname" pairs with str.split(), which also splits at
# U+00A0 and the other Unicode spaces; feedparser's strict parser then fails to unpack them.
# Fixed by the try/except around feedparser.parse of finding 3.


def test_a_unicode_space_in_a_namespace_name() -> None:
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:yt="http://www.y\u00a0outube.com/x">'
        "<entry><id>1</id><title>Video</title><yt:videoId>v</yt:videoId></entry></feed>"
    ).encode()
    with contextlib.suppress(ParseError):  # refusing it in words is fine; ValueError is not
        read(body, URL)
