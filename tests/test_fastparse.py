"""The fast path (aggregator/fastparse.py) reads every feed it accepts exactly as feedparser does.

The guarantee is differential: whatever the fast path accepts, ``parse.read`` gives the same
ParsedFeed (every post field, the feed's title, link, format and problems) with the fast path
as without it. Over the corpora (every feed of realworld-feeds and feedparser-tests), over
hand-made documents for each rule that makes it decline, and over hypothesis's mutations of
feeds shaped like bench/network.py's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import fastparse, parse
from aggregator.errors import ParseError
from aggregator.models import FeedLinks, ParsedFeed

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
URL = "https://example.org/feeds/feed.xml"
XML_TYPE = "application/xml"


def read_once(body: bytes, content_type: str | None, *, fast: bool) -> object:
    """``parse.read`` of ``body``, with or without the fast path (an error as a value)."""
    parse.fast_path = fast
    try:
        return parse.read(body, URL, content_type)
    except ParseError as error:
        return ("ParseError", str(error))
    finally:
        parse.fast_path = True


def read_both(body: bytes, content_type: str | None = None) -> tuple[object, object]:
    """``parse.read`` of ``body`` with the fast path, then without it."""
    return read_once(body, content_type, fast=True), read_once(body, content_type, fast=False)


def read_fast_noting_acceptance(body: bytes, content_type: str | None) -> tuple[object, bool]:
    """``parse.read`` with the fast path, and whether the fast path read the body."""
    seen: list[bool] = []
    original = fastparse.read

    def spy(body: bytes, url: str, content_type: str) -> dict[str, Any] | None:
        result = original(body, url, content_type)
        seen.append(result is not None)
        return result

    fastparse.read = spy
    try:
        return read_once(body, content_type, fast=True), any(seen)
    finally:
        fastparse.read = original


def accepts(body: bytes, content_type: str | None = None) -> bool:
    """Whether ``parse.read`` hands ``body`` to the fast path and the fast path reads it."""
    return read_fast_noting_acceptance(body, content_type)[1]


def assert_same(body: bytes, content_type: str | None = None) -> None:
    fast, slow = read_both(body, content_type)
    assert fast == slow


# ── the corpora ──────────────────────────────────────────────────────────────────────────


def corpus_bodies() -> Iterator[tuple[str, bytes]]:
    realworld = CORPORA / "realworld-feeds"
    manifest = json.loads((realworld / "manifest.json").read_text(encoding="utf-8"))
    for item in manifest:
        if not item["file"].endswith(".json"):
            yield f"realworld-feeds/{item['file']}", (realworld / item["file"]).read_bytes()
    tests = CORPORA / "feedparser-tests"
    for path in sorted(tests.rglob("*.xml")):
        yield f"feedparser-tests/{path.relative_to(tests)}", path.read_bytes()


@pytest.mark.corpus
@pytest.mark.skipif(not CORPORA.is_dir(), reason="../shared/corpora is not there")
def test_every_corpus_feed_the_fast_path_accepts_reads_as_through_feedparser() -> None:
    accepted: list[str] = []
    different: list[str] = []
    for name, body in corpus_bodies():
        fast, accepted_here = read_fast_noting_acceptance(body, None)
        if not accepted_here:
            continue  # feedparser read it: nothing to compare
        accepted.append(name)
        if fast != read_once(body, None, fast=False):
            different.append(name)
    assert different == []
    # the fast path is worth having only if it takes a good part of real feeds
    assert sum(name.startswith("realworld") for name in accepted) >= 40
    assert len(accepted) >= 600


# ── documents made for each rule ─────────────────────────────────────────────────────────


def rss(items: str, *, channel: str = "", declaration: str = "", namespaces: str = "") -> bytes:
    declaration = declaration or '<?xml version="1.0" encoding="UTF-8"?>'
    return (
        f"{declaration}\n"
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:content="http://purl.org/rss/1.0/modules/content/"{namespaces}><channel>'
        "<title>Notes</title><link>https://example.org/</link>"
        f"{channel}{items}</channel></rss>"
    ).encode()


ITEM = (
    "<item><title>A post</title><link>https://example.org/a</link>"
    '<guid isPermaLink="false">a-1</guid><pubDate>Sun, 22 Nov 2026 06:00:00 GMT</pubDate>'
    "<dc:creator>Zoë</dc:creator><category>water</category>"
    "<description><![CDATA[<p>Hello <a href='https://example.com/x'>there</a></p>]]>"
    "</description></item>"
)


def atom(entries: str, *, root_attributes: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom"{root_attributes}><title>Notes</title>'
        '<link href="https://example.org/"/><id>https://example.org/</id>'
        f"<updated>2026-11-22T06:00:00Z</updated>{entries}</feed>"
    ).encode()


ENTRY = (
    '<entry><title>A post</title><link rel="alternate" href="https://example.org/a"/>'
    "<id>https://example.org/a</id><published>2026-11-22T06:00:00+01:00</published>"
    "<updated>2026-11-22T07:00:00Z</updated><author><name>Zoë</name></author>"
    '<category term="water"/><content type="html">&lt;p&gt;Hello&lt;/p&gt;</content></entry>'
)


ACCEPTED = {
    "plain RSS": rss(ITEM),
    "plain Atom": atom(ENTRY),
    "content:encoded beside a description": rss(
        ITEM.replace(
            "</item>", "<content:encoded>&lt;p&gt;All of it&lt;/p&gt;</content:encoded></item>"
        )
    ),
    "a permalink guid and no link": rss(
        "<item><title>t</title><guid>https://example.org/p</guid></item>"
    ),
    "an author with an e-mail address": rss(
        "<item><title>t</title><author>jo@example.org (Jo Bloggs)</author></item>"
    ),
    "a managing editor": rss(ITEM, channel="<managingEditor>Ed Itor</managingEditor>"),
    "a date feedparser cannot read": rss(ITEM.replace("Sun, 22 Nov 2026", "sometime in 2026")),
    "a date in another format": rss(ITEM.replace("Sun, 22 Nov 2026 06:00:00 GMT", "2026-11-22")),
    "xml:base on the root and on content": atom(
        ENTRY.replace('<content type="html">', '<content type="html" xml:base="/posts/">'),
        root_attributes=' xml:base="https://example.org/blog/"',
    ),
    "an element of an unknown namespace": rss(
        ITEM.replace("</item>", "<x:rating>5</x:rating></item>"),
        namespaces=' xmlns:x="https://example.org/ns"',
    ),
    "ASCII declared as ISO-8859-1": rss(
        ITEM.replace("Zoë", "Zo&#235;"), declaration='<?xml version="1.0" encoding="ISO-8859-1"?>'
    ),
    "UTF-8 text that was read as latin-1 once": rss(ITEM.replace("Zoë", "ZoÃ«")),
    "windows-1252 punctuation as C1 controls": rss(ITEM.replace("A post", "A &#147;post&#148;")),
    "comments between elements": rss(ITEM.replace("<title>", "<!-- c --><title>")),
    "an Atom text summary and html content": atom(
        ENTRY.replace("<content", "<summary>Short &amp; plain</summary><content")
    ),
}


@pytest.mark.parametrize("body", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_shapes_read_as_through_feedparser(body: bytes) -> None:
    assert accepts(body)
    fast, _ = read_both(body)
    assert isinstance(fast, ParsedFeed) and fast.posts
    assert_same(body)


DECLINED = {
    "not well-formed": rss(ITEM.replace("</title>", "")),
    "an undefined entity": rss(ITEM.replace("A post", "A&nbsp;post")),
    "a relative link": rss(ITEM.replace("https://example.org/a", "/a")),
    "a relative permalink guid": rss("<item><title>t</title><guid>p-1</guid></item>"),
    "a relative Atom id": atom(ENTRY.replace("<id>https://example.org/a</id>", "<id>t3_x</id>")),
    "an encoding other than UTF-8": rss(
        ITEM.replace("Zoë", "Zo\xeb"), declaration='<?xml version="1.0" encoding="ISO-8859-1"?>'
    ).replace("Zo\xc3\xab".encode(), b"Zo\xeb"),
    "XHTML content": atom(
        ENTRY.replace(
            '<content type="html">&lt;p&gt;Hello&lt;/p&gt;</content>',
            '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Hi</div></content>',
        )
    ),
    "markup inside a title": rss(ITEM.replace("A post", "A <b>post</b>")),
    "two titles in an item": rss(ITEM.replace("</item>", "<title>Again</title></item>")),
    "itunes:summary": rss(
        ITEM.replace("</item>", "<itunes:summary>s</itunes:summary></item>"),
        namespaces=' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"',
    ),
    "media:description": rss(
        ITEM.replace("</item>", "<media:description>s</media:description></item>"),
        namespaces=' xmlns:media="http://search.yahoo.com/mrss/"',
    ),
    "a base attribute": rss(ITEM.replace("<description>", '<description base="/x/">')),
    "an RDF document": (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://example.org/">'
        b"<title>t</title><link>https://example.org/</link></channel><item "
        b'rdf:about="https://example.org/a"><title>a</title><link>https://example.org/a</link>'
        b"</item></rdf:RDF>"
    ),
    "RSS 0.91": rss(ITEM).replace(b'version="2.0"', b'version="0.91"'),
    "a namespace bound to two prefixes": rss(
        ITEM, namespaces=' xmlns:dc2="http://purl.org/dc/elements/1.1/"'
    ),
}


@pytest.mark.parametrize("body", DECLINED.values(), ids=DECLINED.keys())
def test_declined_shapes_go_to_feedparser(body: bytes) -> None:
    assert not accepts(body)
    assert_same(body)


def test_a_doctype_is_declined_even_when_handed_over() -> None:
    """parse.py cuts DOCTYPEs out before; the fast path refuses one on its own too."""
    body = rss(ITEM).replace(b"<rss", b"<!DOCTYPE rss [<!ENTITY x 'y'>]><rss", 1)
    assert fastparse.read(body, URL, XML_TYPE) is None


def test_a_byte_order_mark_is_declined() -> None:
    assert fastparse.read(b"\xef\xbb\xbf" + rss(ITEM), URL, XML_TYPE) is None


def test_http_and_document_naming_different_encodings_is_declined() -> None:
    body = rss(ITEM, declaration='<?xml version="1.0" encoding="us-ascii"?>')
    assert fastparse.read(body, URL, "application/xml; charset=utf-8") is None
    assert_same(body, "text/xml; charset=utf-8")


def test_a_base_url_feedparser_would_not_keep_is_declined() -> None:
    assert fastparse.read(rss(ITEM), "https:///odd", XML_TYPE) is None


def test_the_fast_path_is_what_parse_read_uses() -> None:
    feed = parse.read(rss(ITEM), URL, "application/rss+xml")
    assert isinstance(feed, ParsedFeed)
    post = feed.posts[0]
    assert (post.guid, post.link, post.title, post.author) == (
        "a-1",
        "https://example.org/a",
        "A post",
        "Zoë",
    )
    assert post.categories == ("water",)
    assert post.links == ("https://example.com/x",)
    assert post.published is not None and post.published.isoformat() == "2026-11-22T06:00:00+00:00"


def test_windows_1252_table_is_feedparsers() -> None:
    from feedparser.html import _cp1252

    assert _cp1252 == fastparse._C1_AS_CP1252


# ── mutations: whatever the fast path accepts reads as feedparser reads it ───────────────

TEXTS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "Q&A", "&amp;amp;", "<b>bold</b>", "a\u0093b\u0094", "ZoÃ«", "  spaced  ",
            "x\u00a0y", "Vec<String>", "", "日本語", "noreply@example.org (Jo)",
            "<![CDATA[<p>raw</p>]]>", "&#x1F600;", "&lt;p&gt;escaped&lt;/p&gt;",
        ]
    ),
)  # fmt: skip
URLS = st.sampled_from(
    [
        "https://example.org/a", "http://example.org/b?x=1&y=2", "/relative", "p-1",
        "https://example.org/a/../b", "urn:uuid:1234", "tag:example.org,2026:1", "",
        "https://example.org/a#frag", "HTTPS://Example.org/C", "https:///x", "mailto:a@b.c",
        "https://example.org/q?a=1&amp;b=2", "javascript:alert(1)", " https://example.org/s ",
    ]
)  # fmt: skip
DATES = st.sampled_from(
    [
        "Sun, 22 Nov 2026 06:00:00 GMT", "2026-11-22T06:00:00+01:00", "2026-11-22",
        "22 Nov 2026", "yesterday", "", "Sun, 22 Nov 2026 06:00:00 +0530",
        "1970-01-01T00:00:00Z",
        "2026-11-22 06:00:00", "Mon, 31 Feb 2026 00:00:00 GMT", "20261122T060000Z",
    ]
)  # fmt: skip
EXTRAS = st.sampled_from(
    [
        "", "<comments>https://example.org/c</comments>",
        '<enclosure url="https://e.org/a.mp3"/>', "<x:rating>5</x:rating>",
        "<itunes:author>Pod</itunes:author>", "<media:title>m</media:title>",
        '<media:thumbnail url="https://e.org/t.jpg"/>', "<dc:date>2026-11-20</dc:date>",
        "<dc:subject>soil</dc:subject>", "<author>jo@example.org</author>", "<source>s</source>",
        "<!-- a comment -->", "<foo>bar</foo>", "<title>second</title>", '<x:y base="/q/">z</x:y>',
        "<content:encoded>&lt;p&gt;more&lt;/p&gt;</content:encoded>",
        "<description>d2</description>",
    ]
)  # fmt: skip
NAMESPACES = (
    ' xmlns:x="https://example.org/ns" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
    ' xmlns:media="http://search.yahoo.com/mrss/"'
)


def text_node(value: str) -> str:
    return value if value.startswith("<![CDATA[") else escape(value)


@st.composite
def rss_items(draw: st.DrawFn) -> str:
    parts = [
        f"<title>{text_node(draw(TEXTS))}</title>",
        f"<link>{escape(draw(URLS))}</link>",
        f"<guid isPermaLink={quoteattr(draw(st.sampled_from(['true', 'false', 'True'])))}>"
        f"{escape(draw(URLS))}</guid>",
        f"<pubDate>{escape(draw(DATES))}</pubDate>",
        f"<dc:creator>{text_node(draw(TEXTS))}</dc:creator>",
        f"<category>{text_node(draw(TEXTS))}</category>",
        f"<description>{text_node(draw(TEXTS))}</description>",
        draw(EXTRAS),
    ]
    kept = draw(st.lists(st.sampled_from(parts), max_size=len(parts), unique=True))
    return "<item>" + "".join(kept) + "</item>"


@st.composite
def atom_entries(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["html", "text", "", "xhtml", "TEXT", "image/png"]))
    kind_attribute = f" type={quoteattr(kind)}" if kind else ""
    parts = [
        f"<title{kind_attribute if kind != 'xhtml' else ''}>{text_node(draw(TEXTS))}</title>",
        f"<link rel={quoteattr(draw(st.sampled_from(['alternate', 'self', 'Alternate'])))} "
        f"href={quoteattr(draw(URLS))}/>",
        f"<id>{escape(draw(URLS))}</id>",
        f"<published>{escape(draw(DATES))}</published>",
        f"<updated>{escape(draw(DATES))}</updated>",
        f"<author><name>{escape(draw(TEXTS))}</name></author>",
        f"<category term={quoteattr(draw(TEXTS))}/>",
        f"<summary>{text_node(draw(TEXTS))}</summary>",
        f"<content{kind_attribute}>{text_node(draw(TEXTS))}</content>",
    ]
    kept = draw(st.lists(st.sampled_from(parts), max_size=len(parts), unique=True))
    return "<entry>" + "".join(kept) + "</entry>"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(rss_items(), min_size=1, max_size=3), channel_extra=EXTRAS)
def test_mutated_rss_reads_the_same_whenever_the_fast_path_accepts(
    items: list[str], channel_extra: str
) -> None:
    body = rss("".join(items), channel=channel_extra, namespaces=NAMESPACES)
    fast, slow = read_both(body)
    assert fast == slow


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(atom_entries(), min_size=1, max_size=3),
    base=st.sampled_from(["", ' xml:base="https://example.org/blog/"', ' xml:base="sub/"']),
)
def test_mutated_atom_reads_the_same_whenever_the_fast_path_accepts(
    entries: list[str], base: str
) -> None:
    body = atom("".join(entries), root_attributes=base)
    fast, slow = read_both(body)
    assert fast == slow


def test_html_pages_are_never_taken_for_feeds() -> None:
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/f"></head></html>'
    fast, slow = read_both(page)
    assert isinstance(fast, FeedLinks) and fast == slow


URL_STARTS = st.sampled_from(["https://", "http://", "HTTP://", "ftp://", "https:///", ""])
URL_HOSTS = st.sampled_from(["example.org", "Ex-ample.org", "a.b", "x", "[::1]", "é.org", "u@h"])
URL_PIECES = st.sampled_from(
    [
        ":8080", ":", "/", "//", "/a b", "/p;x", "?", "?q=1&r=2", "#", "#frag", "%20", "..",
        "./", "@", "\t", "\n", " ", "é", "~", "mailto:", ".", "-", "x", "/a/../b", "?a=1#f",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(start=URL_STARTS, host=URL_HOSTS, pieces=st.lists(URL_PIECES, max_size=6), base=URLS)
def test_a_plain_absolute_url_joins_to_itself(
    start: str, host: str, pieces: list[str], base: str
) -> None:
    """The shortcut that spares urljoin claims only what urljoin (feedparser's too) confirms."""
    from urllib.parse import urljoin, urlsplit

    from feedparser.urls import _urljoin

    value = start + host + "".join(pieces)
    if fastparse.is_plain_absolute_url(value):
        assert urljoin(base, value) == value
        assert _urljoin(base, value) == value
        assert urlsplit(value).scheme in ("http", "https") and urlsplit(value).hostname
