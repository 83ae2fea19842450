"""parse.read on samples written for these tests, each beside its expected result.

Every ``tests/data/feeds/<name>`` has ``<name>.expected.json``: the parse as JSON. Run with
``UPDATE_EXPECTED=1`` to rewrite them after a deliberate change, then read the diff by hand.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.errors import ParseError
from aggregator.models import FeedLinks, ParsedFeed, ParsedPost
from aggregator.parse import read

FEEDS = Path(__file__).parent / "data" / "feeds"
UPDATE = os.environ.get("UPDATE_EXPECTED") == "1"

# name: (the URL it was fetched from, the Content-Type the server sent)
SAMPLES: dict[str, tuple[str, str | None]] = {
    "wordpress-rss2.xml": ("https://blog.example.org/feed/", "application/rss+xml; charset=UTF-8"),
    "atom-xmlbase.xml": ("https://notes.example.com/atom.xml", "application/atom+xml"),
    "rdf-rss1.rdf": ("https://science.example.edu/rss.rdf", "application/rdf+xml"),
    "jsonfeed-1.1.json": ("https://micro.example.net/feed.json", "application/feed+json"),
    "jsonfeed-1.0.json": ("https://old.example.org/feed.json", "application/json"),
    "latin1-declared.xml": ("https://cafe.example.fr/feed.xml", "text/xml"),
    "latin1-http-charset.xml": (
        "https://agua.example.es/rss",
        "application/rss+xml; charset=ISO-8859-1",
    ),
    "mastodon-user.rss": ("https://social.example/@ana.rss", "application/rss+xml; charset=utf-8"),
    "page-with-feeds.html": (
        "https://www.example.org/blog/2024/03/why/",
        "text/html; charset=UTF-8",
    ),
    "page-without-feeds.html": ("https://plain.example.org/", "text/html"),
    "broken-unclosed.xml": ("https://handmade.example.org/feed.xml", "application/rss+xml"),
    "entity-bomb.xml": ("https://bomb.example.org/feed", "application/rss+xml"),
    # G (review finding 4): one \xff in a UTF-8 feed; the rest must not turn to mojibake
    "utf8-one-bad-byte.xml": ("https://notizen.example.ch/feed.xml", "application/rss+xml"),
}


def parse_sample(name: str) -> ParsedFeed | FeedLinks | ParseError:
    url, content_type = SAMPLES[name]
    try:
        return read((FEEDS / name).read_bytes(), url, content_type)
    except ParseError as error:
        return error


def to_json(value: Any) -> Any:
    """A parse result as JSON data: dataclasses as objects, datetimes as ISO 8601."""
    if isinstance(value, ParseError):
        return {"error": value.message, "url": value.url}
    if isinstance(value, ParsedFeed | FeedLinks | ParsedPost):
        kind = {ParsedFeed: "feed", FeedLinks: "links", ParsedPost: "post"}[type(value)]
        fields = {key: to_json(getattr(value, key)) for key in asdict(value)}
        return {"kind": kind, **fields} if kind != "post" else fields
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    return value


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_parses_as_expected(name: str) -> None:
    actual = to_json(parse_sample(name))
    expected_file = FEEDS / f"{name}.expected.json"
    if UPDATE:
        expected_file.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    expected = json.loads(expected_file.read_text())
    assert actual == expected


def test_every_sample_has_an_entry_in_the_table() -> None:
    samples = {p.name for p in FEEDS.iterdir() if not p.name.endswith(".expected.json")}
    assert samples == set(SAMPLES)


def feed(name: str) -> ParsedFeed:
    result = parse_sample(name)
    assert isinstance(result, ParsedFeed), result
    return result


def post(name: str, index: int) -> ParsedPost:
    return feed(name).posts[index]


# ── RSS 2.0, WordPress-style ─────────────────────────────────────────────────────────────


def test_wordpress_content_is_sanitized_and_resolved() -> None:
    first = post("wordpress-rss2.xml", 0)
    assert first.content_html is not None
    assert "<script" not in first.content_html
    assert "tracker.example" not in first.content_html
    assert "<iframe" not in first.content_html
    assert "javascript:" not in first.content_html
    assert "onerror" not in first.content_html
    assert "style=" not in first.content_html and "class=" not in first.content_html
    assert 'href="https://blog.example.org/2024/02/gauges/"' in first.content_html
    # relative to the feed URL, as the item has no xml:base
    assert 'src="https://blog.example.org/feed/wp-content/uploads/2024/03/riverbed.jpg"' in (
        first.content_html
    )
    assert 'rel="nofollow noopener noreferrer"' in first.content_html


def test_wordpress_post_fields() -> None:
    first = post("wordpress-rss2.xml", 0)
    assert first.guid == "https://blog.example.org/?p=101"
    assert first.link == "https://blog.example.org/2024/03/why-the-river-ran-dry/"
    assert first.title == "Why the river ran dry – a field report"
    assert first.author == "Maria Okafor"
    assert first.published == datetime(2024, 3, 12, 8, 15, tzinfo=UTC)
    assert first.categories == ("Drought", "Field notes")
    assert first.has_full_content
    assert first.links == (
        "https://blog.example.org/2024/02/gauges/",
        "https://water.example.net/reports/2024-arn.pdf",
    )
    assert first.text.startswith("We walked the dry bed of the Lower Arn for three days.\n\n")
    assert "document.write" not in first.text


def test_rss_description_alone_is_a_summary() -> None:
    second = post("wordpress-rss2.xml", 1)
    assert second.content_html is None
    assert second.summary_html is not None and "<em>one</em>" in second.summary_html
    assert not second.has_full_content
    assert second.links == ("https://blog.example.org/feed/tipping-buckets/",)


def test_content_equal_to_summary_is_not_full_content() -> None:
    third = post("wordpress-rss2.xml", 2)
    assert third.content_html is not None and third.summary_html is not None
    assert not third.has_full_content


def test_post_without_id_or_link_gets_a_stable_hash_guid() -> None:
    fourth = post("wordpress-rss2.xml", 3)
    assert fourth.link is None
    assert re.fullmatch(r"sha1:[0-9a-f]{40}", fourth.guid)
    assert post("wordpress-rss2.xml", 3).guid == fourth.guid


def test_feed_level_fields() -> None:
    wordpress = feed("wordpress-rss2.xml")
    assert (wordpress.format, wordpress.title, wordpress.link) == (
        "rss",
        "Rivers & Rain",
        "https://blog.example.org",
    )
    assert wordpress.problems == ()


# ── Atom ─────────────────────────────────────────────────────────────────────────────────


def test_atom_xml_base_resolves_links_and_content() -> None:
    atom = feed("atom-xmlbase.xml")
    assert atom.format == "atom"
    assert atom.link == "https://notes.example.com/"
    first, second, _ = atom.posts
    assert first.link == "https://notes.example.com/posts/2024/water-quality.html"
    assert first.content_html is not None
    assert 'href="https://notes.example.com/sites/kell.html"' in first.content_html
    assert 'src="https://notes.example.com/posts/2024/img/chart.png"' in first.content_html
    # the content element's own xml:base wins over the entry's
    assert second.content_html is not None
    assert 'href="https://cdn.example.com/notes/diagrams/schmutzdecke.svg"' in second.content_html


def test_atom_titles_dates_and_authors() -> None:
    first, second, third = feed("atom-xmlbase.xml").posts
    assert first.title == "Water quality & turbidity"
    assert first.published == datetime(2024, 3, 9, 22, 30, tzinfo=UTC)
    assert first.updated == datetime(2024, 3, 10, 8, 0, tzinfo=UTC)
    assert first.categories == ("water-quality", "turbidity")
    assert first.summary_html == "<p>Short text summary: turbidity &lt; 5 NTU is the target.</p>"
    assert first.has_full_content
    # an entry with only <updated> is dated by it, and inherits the feed's author
    assert second.published == second.updated == datetime(2024, 2, 1, 11, 0, tzinfo=UTC)
    assert second.author == "Dana Whitfield"
    assert second.content_html is not None and "<script" not in second.content_html
    assert "xhtml script" not in second.text
    assert second.text.endswith("one metre of sand\na skin of life on top")
    # a plain-text title keeps its angle brackets; a 1970 date means "no date"
    assert third.title == "Vec<Sample> and other types"
    assert third.author == "Guest & Friend"
    assert third.published is None and third.updated is None
    assert third.content_html == (
        "<p>Plain text content: a &lt; b.</p><p>A second paragraph<br>with a line break.</p>"
    )


# ── RDF, JSON Feed ───────────────────────────────────────────────────────────────────────


def test_rdf_feed() -> None:
    rdf = feed("rdf-rss1.rdf")
    assert rdf.format == "rdf"
    first, second = rdf.posts
    assert first.title == "Groundwater recharge under drought: a meta-analysis"
    assert first.published == datetime(2024, 3, 11, 10, tzinfo=UTC)
    assert first.author == "Chen, L.; Varga, P."
    assert first.text == "We pool 48 studies of recharge during multi-year droughts."
    assert not first.has_full_content
    assert second.has_full_content
    assert second.links == ("https://data.example.edu/ww-trial",)


def test_json_feed_1_1() -> None:
    json_feed = feed("jsonfeed-1.1.json")
    assert (json_feed.format, json_feed.title, json_feed.link) == (
        "json",
        "Micro & Notes",
        "https://micro.example.net/",
    )
    assert json_feed.problems == ("skipped 1 items that are not objects",)
    compost, repair, link_post = json_feed.posts
    assert compost.title == "Compost, finally – I <3 it"  # plain text: no markup stripped
    assert compost.author == "Sam Rivera"
    assert compost.published == datetime(2024, 3, 12, 7, 30, tzinfo=UTC)
    assert compost.categories == ("compost", "circular economy")
    assert compost.content_html is not None and "<script" not in compost.content_html
    assert "onclick" not in compost.content_html
    assert compost.links == (
        "https://micro.example.net/2023/11/waiting",
        "https://city.example.gov/compost",
    )
    assert compost.has_full_content
    assert repair.guid == "1711" and repair.title is None
    assert repair.content_html == (
        "<p>No title, just a thought about reuse.</p><p>Repair cafés are libraries of skill.</p>"
    )
    assert link_post.link == "https://news.example.com/recycling-myth"
    assert link_post.published is None
    assert link_post.author == "Guest Writer"
    assert link_post.links == ("https://news.example.com/recycling-myth",)


def test_json_feed_1_0() -> None:
    json_feed = feed("jsonfeed-1.0.json")
    second, first = json_feed.posts
    assert second.author == first.author == "Pat Old"
    assert second.published == datetime(2024, 3, 2, 16, tzinfo=UTC)  # RFC 822, leniently
    assert first.link == "https://old.example.org/posts/1"  # relative, resolved
    assert first.published is None  # before 1990
    assert first.summary_html == "<p>Hello world.</p>"
    assert first.text == "Hello world. This blog is about water."
    assert first.has_full_content


# ── encodings ────────────────────────────────────────────────────────────────────────────


def test_latin1_declared_in_the_prolog() -> None:
    cafe = feed("latin1-declared.xml")
    assert cafe.title == "Café Écologique"
    only = cafe.posts[0]
    assert only.title == "Le réemploi à Besançon"
    assert only.author == "Hélène Dupré"
    assert only.text == "À Besançon, la ressourcerie a ouvert une deuxième boutique. Ça marche !"
    assert cafe.problems == ()


def test_latin1_given_only_by_the_http_header() -> None:
    agua = feed("latin1-http-charset.xml")
    assert agua.title == "Señales del Agua"
    assert agua.posts[0].title == "La sequía en Andalucía: qué dicen los embalses"
    assert agua.posts[0].categories == ("sequía",)
    assert agua.problems == ()


def test_header_saying_latin1_over_utf8_bytes_reads_utf8() -> None:
    body = (FEEDS / "mastodon-user.rss").read_bytes()
    result = read(body, "https://social.example/@ana.rss", "text/xml; charset=ISO-8859-1")
    assert isinstance(result, ParsedFeed)
    assert result.title == "Ana López"
    assert result.problems == ("the server said iso-8859-1 but sent UTF-8",)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_wide_encodings(codec: str) -> None:
    text = (FEEDS / "latin1-declared.xml").read_bytes().decode("iso-8859-1")
    text = text.replace('encoding="ISO-8859-1"', f'encoding="{codec.upper()}"')
    body = text.encode(codec)
    result = read(body, "https://cafe.example.fr/feed.xml", "application/xml")
    assert isinstance(result, ParsedFeed)
    assert result.posts[0].title == "Le réemploi à Besançon"


def test_gzip_body_without_content_encoding() -> None:
    body = gzip.compress((FEEDS / "rdf-rss1.rdf").read_bytes())
    result = read(body, "https://science.example.edu/rss.rdf.gz", "application/x-gzip")
    assert isinstance(result, ParsedFeed) and len(result.posts) == 2


def test_gzip_bomb_is_refused() -> None:
    body = gzip.compress(b"<rss>" + b" " * 40_000_000)
    with pytest.raises(ParseError, match="larger than"):
        read(body, "https://x.example/feed.gz")


# ── Mastodon ─────────────────────────────────────────────────────────────────────────────


def test_mastodon_posts_have_no_title_and_keep_their_html() -> None:
    toots = feed("mastodon-user.rss")
    assert toots.title == "Ana López" and toots.link == "https://social.example/@ana"
    first = toots.posts[0]
    assert first.title is None
    assert first.guid == first.link == "https://social.example/@ana/112081234567890123"
    assert first.summary_html is not None and first.content_html is None
    assert first.text.startswith("The reservoir is at 22% again.")
    assert "https://agua.example.es/2024/sequia-andalucia" in first.text.replace("\n", "")
    assert first.categories == ("drought", "water")
    # hashtags and mentions are not links a person shared
    assert first.links == ("https://agua.example.es/2024/sequia-andalucia",)


# ── HTML pages ───────────────────────────────────────────────────────────────────────────


def test_page_names_its_feeds_best_first() -> None:
    page = parse_sample("page-with-feeds.html")
    assert isinstance(page, FeedLinks)
    assert page.title == "Why the river ran dry – Rivers & Rain"
    assert page.feeds == (
        "https://www.example.org/blog/feed/",
        "https://www.example.org/blog/feed/atom/",
        "https://www.example.org/blog/feed.json",
        "https://www.example.org/blog/comments/feed/",
        "https://www.example.org/blog/2024/03/why-the-river-ran-dry/feed/",
    )


def test_page_without_feeds_is_an_error_a_person_understands() -> None:
    with pytest.raises(ParseError) as caught:
        read((FEEDS / "page-without-feeds.html").read_bytes(), "https://plain.example.org/")
    assert caught.value.message == "not a feed: the server sent an HTML page that names no feed"
    assert caught.value.url == "https://plain.example.org/"


def test_html_served_as_xml_is_still_a_page() -> None:
    body = (FEEDS / "page-with-feeds.html").read_bytes()
    page = read(body, "https://www.example.org/blog/2024/03/why/", "application/rss+xml")
    assert isinstance(page, FeedLinks) and len(page.feeds) == 5


# ── broken and hostile input ─────────────────────────────────────────────────────────────


def test_broken_feed_keeps_its_entries_and_says_what_was_wrong() -> None:
    broken = feed("broken-unclosed.xml")
    assert [p.title for p in broken.posts] == [
        "Tools & techniques",
        "Second post",
        "Cut off mid-way",
    ]
    assert len(broken.problems) == 1
    assert broken.problems[0].startswith("not well-formed XML at line 7")
    assert broken.posts[0].summary_html is not None
    assert broken.posts[0].summary_html.endswith("<b>bold tag never closed.</b>")
    assert broken.posts[1].text == "Still readable after the damage."


def test_entity_bomb_is_not_expanded() -> None:
    # feedparser alone spends 3.5 s and 120 MB expanding this file into 40 MB of text
    bomb = feed("entity-bomb.xml")
    assert bomb.problems[0] == "ignored a DOCTYPE that declares entities (they are never expanded)"
    quadratic, external = bomb.posts
    assert "BBBB" not in quadratic.text and "BBBB" not in (quadratic.title or "")
    assert "lollol" not in (bomb.title or "")
    assert "root:" not in external.text


def test_external_entity_never_reads_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>
<rss version="2.0"><channel><title>t &leak;</title>
<item><title>i &leak;</title><description>d &leak;</description></item></channel></rss>"""
    result = read(body.encode(), "https://x.example/feed")
    assert "TOP-SECRET-VALUE" not in repr(result)


def test_entities_hidden_in_a_prolog_comment_are_not_expanded() -> None:
    # feedparser looks for ENTITY lines anywhere before the root element, comments included,
    # and hands them to its lenient parser when the strict one fails
    value = "B" * 5_000
    body = (
        f'<?xml version="1.0"?>\n<!--\n<!DOCTYPE rss [\n<!ENTITY big "{value}">\n]>\n-->\n'
        '<rss version="2.0"><channel><title>t</title><item><title>x</title>'
        "<description>" + "&big;" * 2_000 + "</description></item><broken></channel></rss>"
    )
    result = read(body.encode(), "https://x.example/feed")
    assert isinstance(result, ParsedFeed)
    assert "BBBB" not in result.posts[0].text


def test_body_that_is_a_path_is_not_opened() -> None:
    # feedparser opens a str or bytes argument as a file name when it can
    with pytest.raises(ParseError):
        read(b"/etc/passwd", "https://x.example/feed")


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", None, "not a feed: empty body"),
        (b"  \n\t ", "application/rss+xml", "not a feed: empty body"),
        (b'{"name": "not a feed"}', "application/json", "not a feed: JSON that is not a JSON Feed"),
        (b"[1, 2, 3]", "application/json", "not a feed: JSON that is not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', None, "not valid JSON"),
        (b"<catalog><book/></catalog>", "text/xml", "root element is <catalog>"),
        (b"Just some text", "text/plain", "not a feed"),
        (b"<html><body>Hello</body></html>", None, "names no feed"),
    ],
)
def test_what_is_not_a_feed(body: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        read(body, "https://x.example/thing", content_type)


# ── process pools ────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "name", ["wordpress-rss2.xml", "page-with-feeds.html", "jsonfeed-1.1.json"]
)
def test_results_survive_pickling(name: str) -> None:
    result = parse_sample(name)
    assert pickle.loads(pickle.dumps(result)) == result


def test_parse_errors_survive_pickling() -> None:
    with pytest.raises(ParseError) as caught:
        read(b"", "https://x.example/feed")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, ParseError)
    assert (copy.url, copy.message) == ("https://x.example/feed", "not a feed: empty body")


def test_read_runs_in_a_process_pool() -> None:
    body = (FEEDS / "atom-xmlbase.xml").read_bytes()
    with ProcessPoolExecutor(max_workers=1) as pool:
        parsed = pool.submit(read, body, "https://notes.example.com/atom.xml").result()
        failed = pool.submit(read, b"<catalog/>", "https://x.example/c")
        with pytest.raises(ParseError, match="root element is <catalog>"):
            failed.result()
    assert isinstance(parsed, ParsedFeed) and len(parsed.posts) == 3


# ── what feedparser guesses about RSS items ──────────────────────────────────────────────

PODCAST = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Water Talk</title><link>https://pod.example/</link>
<item><title>Episode 1</title><guid>ep1</guid>
  <itunes:summary>Plain summary first.</itunes:summary>
  <description>&lt;p&gt;The &lt;b&gt;show notes&lt;/b&gt;.&lt;/p&gt;</description>
  <pubDate>Mon, 04 Mar 2024 06:00:00 GMT</pubDate></item>
<item><title>Episode 2</title><guid>ep2</guid>
  <media:content url="https://pod.example/2.jpg">
    <media:description>Alt text</media:description>
  </media:content>
  <description>&lt;p&gt;Notes for two.&lt;/p&gt;</description></item>
</channel></rss>"""


def test_second_description_is_not_mistaken_for_content() -> None:
    # feedparser files a second description-like element (itunes:summary,
    # media:description) under "content"; none of them is the post's full text, and the
    # HTML one is the summary whichever came first
    podcast = read(PODCAST, "https://pod.example/feed")
    assert isinstance(podcast, ParsedFeed)
    first, second = podcast.posts
    assert first.content_html is None and not first.has_full_content
    assert first.summary_html == "<p>The <b>show notes</b>.</p>"
    assert first.updated is None  # not feedparser's published-for-updated stand-in
    assert second.content_html is None
    assert second.text == "Notes for two."
