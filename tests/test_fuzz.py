"""Property-based fuzzing of the pure modules: whatever strangers send, only our errors come out.

Each test states what may leave a function for *any* input: a result that keeps the
invariants the rest of pln relies on, or the one error class that function is allowed to
raise (ParseError, ConfigError, InvalidQueryError). Anything else is a bug a hostile or broken
source could trigger in every run, unless tests/known_bugs.py already names it (each of
those is pinned by a strict xfail in tests/test_findings.py until it is fixed).

The numbers of examples are bounded so the whole file stays well under 30 s; for a longer
run by hand, scale them: ``PLN_FUZZ_SCALE=10 pytest tests/test_fuzz.py
--hypothesis-show-statistics`` (docs/reliability.md has the figures).
"""

from __future__ import annotations

import json
import os
import pickle
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import app, digest, mastodon, policy
from aggregator.config import parse_config, parse_source
from aggregator.errors import ConfigError, InvalidQueryError, ParseError
from aggregator.models import (
    Config,
    FeedLinks,
    ParsedFeed,
    ParsedPost,
    PersonConfig,
    SiteConfig,
    SourceConfig,
    SourceKind,
)
from aggregator.parse import read
from aggregator.query import literal_query
from aggregator.store import Store, check_fts_query
from tests.known_bugs import known_bug

DATA = Path(__file__).parent / "data"
REPOSITORY = Path(__file__).parent.parent
FEED_URL = "https://feeds.example/blog/feed.xml"
INSTANCE = "https://mastodon.example"

SCALE = float(os.environ.get("PLN_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings for one fuzz test: ``examples`` (times PLN_FUZZ_SCALE), no deadline.

    No deadline: a slow example on a busy CI machine is not a failure; a bound on the number
    of examples is what keeps the file fast.
    """
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ── what every parse result must hold ────────────────────────────────────────────────────

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Cleaned HTML escapes every "<" of text, so a "<" starts a real tag.
UNSAFE_MARKUP = re.compile(
    r"<(script|style|iframe|object|embed)\b|<[^>]*\son\w+\s*=", re.IGNORECASE
)


def is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_date(moment: datetime | None) -> None:
    if moment is not None:
        assert moment.utcoffset() == timedelta(0), moment
        assert EARLIEST <= moment < LATEST, moment


def check_post(post: ParsedPost) -> None:
    assert isinstance(post.guid, str) and post.guid.strip(), post
    assert post.link is None or is_web_url(post.link), post.link
    assert all(is_web_url(link) for link in post.links), post.links
    check_date(post.published)
    check_date(post.updated)
    assert isinstance(post.text, str)
    for html in (post.summary_html, post.content_html):
        assert html is None or not UNSAFE_MARKUP.search(html), html
    for text in (post.title, post.author):
        assert text is None or isinstance(text, str)


def check_read(body: bytes, content_type: str | None = None) -> ParsedFeed | FeedLinks | None:
    """parse.read on ``body``: a valid result, or a ParseError; None for the error."""
    try:
        result = read(body, FEED_URL, content_type)
    except ParseError as error:
        assert error.url == FEED_URL and error.message
        # it must cross the process pool intact
        assert pickle.loads(pickle.dumps(error)).message == error.message
        return None
    except Exception as error:
        if known_bug(error) is None:  # a new bug: let it fail the test
            raise
        return None
    if isinstance(result, FeedLinks):
        assert all(is_web_url(feed) for feed in result.feeds), result.feeds
        return result
    assert isinstance(result, ParsedFeed)
    assert result.format in ("rss", "atom", "rdf", "json")
    assert result.link is None or is_web_url(result.link)
    for post in result.posts:
        check_post(post)
    pickle.loads(pickle.dumps(result))
    return result


# ── parse: bytes nobody planned ──────────────────────────────────────────────────────────

CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/rss+xml",
        "application/atom+xml; charset=utf-8",
        "text/xml; charset=iso-8859-1",
        "text/html",
        "application/json",
        "application/feed+json; charset=utf-16",
        "text/plain; charset=klingon",
        "application/xml; charset=",
    ]
)


@fuzz(300)
@given(body=st.binary(max_size=3000), content_type=CONTENT_TYPES)
def test_read_survives_arbitrary_bytes(body: bytes, content_type: str | None) -> None:
    check_read(body, content_type)


# Pieces of markup a feed is made of, and the kinds of trouble that hide in them.
XML_TOKENS = [
    '<?xml version="1.0"?>',
    '<?xml version="1.0" encoding="iso-8859-1"?>',
    '<?xml version="1.0" encoding="utf-16"?>',
    '<?xml version="1.0" encoding="bogus"?>',
    '<rss version="2.0">',
    "</rss>",
    "<channel>",
    "</channel>",
    "<item>",
    "</item>",
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    "</feed>",
    "<entry>",
    "</entry>",
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns="http://purl.org/rss/1.0/">',
    "<title>",
    "</title>",
    '<title type="html">',
    '<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">',
    "</div>",
    "<link>",
    "</link>",
    '<link href="/relative/post"/>',
    '<link rel="alternate" href="javascript:alert(1)"/>',
    "<guid>",
    "</guid>",
    '<guid isPermaLink="true">',
    "<id>",
    "</id>",
    "<pubDate>",
    "</pubDate>",
    "<updated>",
    "</updated>",
    "Tue, 10 Jun 2003 04:00:00 GMT",
    "2026-02-30T25:61:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "<description>",
    "</description>",
    '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">',
    "</content:encoded>",
    '<content type="html">',
    "</content>",
    "<summary>",
    "</summary>",
    "<author><name>",
    "</name></author>",
    "<authors>",
    "</authors>",
    "<title_detail>",
    "<category>",
    "</category>",
    "<image><url>https://feeds.example/i.png</url>",
    "</image>",
    "<height>",
    "</height>",
    "<width>",
    "</width>",
    "<![CDATA[",
    "]]>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&lt;img src=x onerror=alert(1)&gt;",
    "<script>alert(1)</script>",
    '<a href="https://example.org/x">x</a>',
    "&amp;",
    "&nbsp;",
    "&#0;",
    "&#x110000;",
    "&undefined;",
    "&",
    "<",
    ">",
    '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
    "&a;&b;",
    '<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">',
    '<!ENTITY % p SYSTEM "file:///etc/passwd">',
    "<!-- comment -->",
    "<?pi data?>",
    '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>',
    "<html><head>",
    '<link rel="alternate" type="application/rss+xml" href="/feed">',
    "</head><body>",
    "\x00",
    "\ufeff",
    "\ud800",
    "é",
    "漢字",
    " ",
    "\n",
]
ENCODINGS = st.sampled_from(["utf-8", "utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252"])


@st.composite
def xml_soup(draw: st.DrawFn) -> bytes:
    """Feed-shaped markup assembled from the tokens above, in some encoding."""
    tokens = draw(st.lists(st.sampled_from(XML_TOKENS) | st.text(max_size=12), max_size=60))
    encoding = draw(ENCODINGS)
    # a lone surrogate is an invalid byte sequence in UTF; elsewhere it cannot be written
    return "".join(tokens).encode(encoding, "surrogatepass" if "utf" in encoding else "replace")


@fuzz(250)
@given(body=xml_soup(), content_type=CONTENT_TYPES)
def test_read_survives_feed_shaped_soup(body: bytes, content_type: str | None) -> None:
    check_read(body, content_type)


# ── parse: real feeds, damaged ───────────────────────────────────────────────────────────

SAMPLES = sorted(
    path for path in (DATA / "feeds").iterdir() if not path.name.endswith(".expected.json")
)
INSERTIONS = [token.encode("utf-8", "surrogatepass") for token in XML_TOKENS] + [b"\xff\xfe"]


def mutate(body: bytes, edits: list[tuple[str, float, int]]) -> bytes:
    """Apply each (operation, where as a fraction of the length, argument) in turn."""
    for operation, where, argument in edits:
        position = int(where * len(body))
        if operation == "flip" and body:
            position = min(position, len(body) - 1)
            body = (
                body[:position] + bytes([body[position] ^ (argument & 0xFF)]) + body[position + 1 :]
            )
        elif operation == "insert":
            body = body[:position] + INSERTIONS[argument % len(INSERTIONS)] + body[position:]
        elif operation == "delete":
            body = body[:position] + body[position + 1 + argument % 64 :]
        elif operation == "truncate":
            body = body[:position]
        elif operation == "repeat":
            piece = body[position : position + 1 + argument % 200]
            body = body[:position] + piece * (1 + argument % 5) + body[position:]
    return body


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]),
        st.floats(0, 1),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=8,
)


@fuzz(200)
@given(sample=st.sampled_from(SAMPLES), edits=EDITS, content_type=CONTENT_TYPES)
def test_read_survives_damaged_real_feeds(
    sample: Path, edits: list[tuple[str, float, int]], content_type: str | None
) -> None:
    body = mutate(sample.read_bytes(), edits)
    check_read(body, content_type)


def test_the_damaged_feeds_are_real_feeds_to_begin_with() -> None:
    # A mutation fuzzer over files that never parsed would test only the error path.
    feeds = [path for path in SAMPLES if isinstance(check_read(path.read_bytes()), ParsedFeed)]
    assert len(feeds) >= 8 and all(check_read(p.read_bytes()) for p in feeds)


# ── JSON Feed: every shape the spec allows, and many it does not ─────────────────────────

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
tricky_strings = st.sampled_from(
    [
        "",
        " ",
        "2026-11-20T09:00:00Z",
        "2026-11-20T09:00:00+14:00",
        "2026-02-30T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-12:00",
        "Tue, 10 Jun 2003 04:00:00 GMT",
        "yesterday",
        "https://feeds.example/post/1",
        "/relative/post",
        "//other.example/post",
        "javascript:alert(1)",
        "http://[::1",
        "http://a b/",
        "<p>Hello <b>world</b></p>",
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "\x00",
        "\ud800",
    ]
)
item_keys = st.sampled_from(
    [
        "id",
        "url",
        "external_url",
        "title",
        "content_html",
        "content_text",
        "summary",
        "image",
        "banner_image",
        "date_published",
        "date_modified",
        "author",
        "authors",
        "tags",
        "language",
        "attachments",
    ]
)
authors = st.lists(
    st.dictionaries(st.sampled_from(["name", "url", "avatar"]), tricky_strings | json_values),
    max_size=3,
)
items = st.dictionaries(item_keys, tricky_strings | json_values | authors, max_size=10)
json_feeds = st.fixed_dictionaries(
    {
        "version": st.sampled_from(
            [
                "https://jsonfeed.org/version/1",
                "https://jsonfeed.org/version/1.1",
                "http://jsonfeed.org/version/1.1/",
                "https://jsonfeed.org/version/2",
            ]
        )
        | json_scalars,
        "items": st.lists(items | json_values, max_size=6) | json_values,
    },
    optional={
        "title": tricky_strings | json_values,
        "home_page_url": tricky_strings | json_values,
        "feed_url": tricky_strings,
        "author": st.dictionaries(st.sampled_from(["name", "url"]), tricky_strings),
        "authors": authors | json_values,
    },
)


@fuzz(150)
@given(
    document=json_feeds,
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]),
    content_type=CONTENT_TYPES,
)
def test_json_feeds_of_any_shape(
    document: dict[str, Any], encoding: str, content_type: str | None
) -> None:
    text = json.dumps(document, ensure_ascii=False)
    result = check_read(text.encode(encoding, "surrogatepass"), content_type)
    if isinstance(result, ParsedFeed) and isinstance(document["items"], list):
        # every item that is an object becomes a post: nothing is dropped silently
        assert len(result.posts) == sum(isinstance(item, dict) for item in document["items"])


# ── Mastodon: statuses and accounts from an instance we do not control ───────────────────

status_keys = st.sampled_from(
    [
        "id",
        "uri",
        "url",
        "created_at",
        "edited_at",
        "content",
        "spoiler_text",
        "visibility",
        "reblog",
        "account",
        "media_attachments",
        "tags",
        "mentions",
        "card",
        "in_reply_to_id",
    ]
)
account_keys = st.sampled_from(
    [
        "id",
        "username",
        "acct",
        "display_name",
        "url",
        "note",
        "avatar",
        "noindex",
        "discoverable",
        "suspended",
        "fields",
    ]
)
mastodon_values = (
    tricky_strings
    | json_values
    | st.lists(
        st.dictionaries(
            st.sampled_from(["name", "value", "url", "type", "description"]), tricky_strings
        ),
        max_size=3,
    )
)
accounts = st.dictionaries(account_keys, mastodon_values, max_size=11)
statuses = st.recursive(
    st.dictionaries(status_keys, mastodon_values | accounts, max_size=15),
    lambda inner: st.dictionaries(status_keys, mastodon_values | inner | accounts, max_size=15),
    max_leaves=3,
)


@fuzz(150)
@given(status=statuses | json_values)
def test_any_status_json_is_a_post_or_a_parse_error(status: object) -> None:
    try:
        post = mastodon.status_to_post(status, INSTANCE)
    except ParseError as error:
        assert error.message
        return
    except Exception as error:
        if known_bug(error) is None:
            raise
        return
    assert post.guid  # the store keys on it
    check_post(post)


@fuzz(150)
@given(account=accounts | json_values)
def test_any_account_json_is_an_account_or_a_parse_error(account: object) -> None:
    try:
        read = mastodon.account_from_json(account, url=f"{INSTANCE}/api/v1/accounts/lookup")
    except ParseError as error:
        assert error.message
        return
    except Exception as error:
        if known_bug(error) is None:
            raise
        return
    assert read.id.strip()
    assert read.url == "" or is_web_url(read.url)
    assert not UNSAFE_MARKUP.search(read.note_html)


@st.composite
def well_formed_statuses(draw: st.DrawFn) -> dict[str, Any]:
    """A status of the shape Mastodon really sends, with hostile text inside."""
    status_id = str(draw(st.integers(1, 2**63)))
    moment = draw(st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2090, 1, 1)))
    return {
        "id": status_id,
        "uri": f"{INSTANCE}/users/alice/statuses/{status_id}",
        "url": f"{INSTANCE}/@alice/{status_id}",
        "created_at": moment.isoformat() + "Z",
        "content": draw(st.text(max_size=80) | tricky_strings),
        "spoiler_text": draw(st.text(max_size=20)),
        "visibility": "public",
        "reblog": None,
        "account": {
            "id": "1",
            "username": "alice",
            "acct": "alice",
            "display_name": draw(st.text(max_size=20)),
            "url": f"{INSTANCE}/@alice",
        },
        "media_attachments": [],
        "tags": [{"name": draw(st.text(max_size=10))}],
    }


@fuzz(100)
@given(status=well_formed_statuses())
def test_a_well_formed_status_always_becomes_a_post(status: dict[str, Any]) -> None:
    try:
        post = mastodon.status_to_post(status, INSTANCE)
    except Exception as error:
        if known_bug(error) is None:
            raise
        return
    assert post.guid == status["uri"]
    assert post.link == status["url"]
    check_post(post)


# ── config: real files, damaged ──────────────────────────────────────────────────────────

CONFIG_SAMPLES = [REPOSITORY / "sources.yaml", *sorted((DATA / "config").glob("*.yaml"))]


@fuzz(150)
@given(sample=st.sampled_from(CONFIG_SAMPLES), edits=EDITS)
def test_damaged_config_files_raise_only_config_errors(
    sample: Path, edits: list[tuple[str, float, int]]
) -> None:
    text = mutate(sample.read_bytes(), edits).decode("utf-8", "replace")
    try:
        parse_config(text, Path("/site/sources.yaml"))
    except ConfigError as error:
        assert str(error).startswith("/site/sources.yaml")


# ── source URLs: canonical once, canonical for good ──────────────────────────────────────

url_parts = st.sampled_from(
    [
        "http://",
        "https://",
        "HTTPS://",
        "ftp://",
        "@",
        "user@",
        "Blog.Example",
        "blog.example",
        "xn--bcher-kva.example",
        "[::1]",
        "[fe80::1%25eth0]",
        "127.0.0.1",
        ":80",
        ":443",
        ":8080",
        ":99999",
        ":",
        "/",
        "/feed.xml",
        "/@alice",
        "/users/alice",
        "?q=1",
        "#top",
        "%2F",
        "..",
        "ä",
        " ",
        "\t",
    ]
)


@fuzz(300)
@given(parts=st.lists(url_parts | st.text(max_size=4), max_size=8))
def test_a_source_url_is_refused_or_canonical_and_stable(parts: list[str]) -> None:
    text = "".join(parts)
    try:
        source = parse_source(text, "Fuzz")
    except ConfigError as error:
        assert error.message
        return
    # Written back into sources.yaml, the canonical form reads as itself.
    assert parse_source(source.url, "Fuzz").url == source.url
    parts_of = urlsplit(source.url)
    assert parts_of.scheme in ("http", "https") and not parts_of.fragment
    assert parts_of.scheme == parts_of.scheme.lower()


# ── links in the digest: one canonical form per page ─────────────────────────────────────

hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){1,2}", fullmatch=True)
segments = st.lists(st.from_regex(r"[A-Za-z0-9._~%-]{1,8}", fullmatch=True), max_size=4)
tracking = st.sampled_from(["utm_source", "utm_medium", "fbclid", "gclid", "mc_cid", "pk_kwd"])
param_names = st.from_regex(r"[a-z]{1,6}", fullmatch=True).filter(
    lambda name: not digest._is_tracking(name)
)
params = st.lists(
    st.tuples(param_names, st.from_regex(r"[A-Za-z0-9]{0,6}", fullmatch=True)),
    max_size=3,
    unique_by=lambda pair: pair[0],
)


@st.composite
def page_urls(draw: st.DrawFn) -> tuple[str, str, str]:
    """(host, path, query string) of some page."""
    host = draw(hosts)
    path = "/" + "/".join(draw(segments))
    query = "&".join(f"{name}={value}" for name, value in draw(params))
    return host, path, query


@fuzz(300)
@given(page=page_urls(), text=st.text(max_size=40), noise=st.lists(tracking, max_size=2))
def test_canonical_url_ignores_what_does_not_name_the_page(
    page: tuple[str, str, str], text: str, noise: list[str]
) -> None:
    host, path, query = page
    digest.canonical_url(text)  # anything at all: a key, never an exception
    plain = digest.canonical_url(f"https://{host}{path}" + (f"?{query}" if query else ""))
    # scheme, www., host case, default port, trailing slash, fragment, tracking parameters,
    # and the order of the other parameters: none of them makes it another page
    shuffled = "&".join([*(f"{name}=x" for name in noise), *reversed(query.split("&"))])
    variant = f"http://www.{host.upper()}:80{path}/?{shuffled.strip('&')}#section"
    assert digest.canonical_url(variant) == plain
    assert digest.canonical_url(plain) == plain  # a canonical form is its own canonical form
    # … while another path is another page
    other = digest.canonical_url(f"https://{host}{path.rstrip('/')}/other")
    assert other != plain


# ── search: anything a person types ──────────────────────────────────────────────────────


@fuzz(300)
@given(text=st.text(max_size=60))
def test_literal_query_is_none_or_valid_fts5(text: str) -> None:
    match = literal_query(text)
    assert match is None or check_fts_query(match) is None


FTS_SYNTAX = st.sampled_from(
    [
        *['"', "*", "^", "(", ")", ":", "-", "+", "NEAR(", "NEAR", "AND", "OR", "NOT", ","],
        *["{", "}", "title:", "text:", "nosuchcolumn:", "water", "drought", "é", " ", "\x00"],
        "\\",
    ]
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small real database with a few posts to search."""
    site = tmp_path_factory.mktemp("fuzz-site")
    config = Config(
        path=site / "sources.yaml",
        site=SiteConfig(title="Fuzz"),
        people=(
            PersonConfig(
                name="Alice",
                slug="alice",
                sources=(SourceConfig(FEED_URL, SourceKind.FEED, "Alice"),),
            ),
        ),
    )
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with Store.open(config.database_path) as opened:
        (state,) = opened.sync_config(config, now)
        posts = [
            ParsedPost(guid=f"p{n}", link=None, title=f"Water post {n}", text=text)
            for n, text in enumerate(["drought and water", "e-learning", "café crème", ""])
        ]
        opened.record_success(state.id, posts, now)
        yield opened


@fuzz(200)
@given(pieces=st.lists(FTS_SYNTAX | st.text(max_size=5), max_size=12))
def test_search_returns_hits_or_an_invalid_query_error(store: Store, pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        hits = store.search(text, limit=5)
    except InvalidQueryError as error:
        assert error.query == text
        return
    assert all(hit.person == "Alice" for hit in hits)


# ── which day a post belongs to, across time zones and DST ───────────────────────────────
# digest.day_of files a post under a day of site.timezone; search --since/--until and the
# site's pages count a day from app._day_start. The two must agree on every instant.

# Zones with DST at midnight (a day that starts at 01:00), half-hour DST, a skipped day
# (Apia dropped 2011-12-30), 45-minute offsets and the extremes of the offset range.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "Asia/Beirut",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Africa/Casablanca",
]
instants = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)


@fuzz(300)
@given(
    published=st.none() | instants,
    first_seen=instants,
    zone=st.sampled_from(ZONES),
)
def test_posted_at_and_its_day(published: datetime | None, first_seen: datetime, zone: str) -> None:
    posted = policy.posted_at(published, first_seen)
    assert posted in (published, first_seen)
    assert posted <= first_seen + policy.FUTURE_SLACK  # never in the future of its fetch
    if published is not None and published <= first_seen:
        assert posted == published
    # The day it is filed under holds it: the day's start is not after it, the next day's
    # start is after it, whatever DST did to that day's length.
    config = Config(path=Path("/site/sources.yaml"), site=SiteConfig(title="Days", timezone=zone))
    day = digest.day_of(posted, ZoneInfo(zone))
    assert day_start(day, config) <= posted < day_start(day + timedelta(days=1), config)


def day_start(day: date, config: Config) -> datetime:
    """The first instant of ``day`` in site.timezone, as search --since/--until use it."""
    start: datetime = app._day_start(day, config)
    return start
