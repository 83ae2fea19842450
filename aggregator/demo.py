"""``pln demo``: a sample network served on 127.0.0.1, so the whole pipeline runs offline.

    demo_data.network ─► render: RSS 2.0, Atom, JSON Feed, a home page naming its feed,
         │               article pages, a report several people link to, and a
         │               Mastodon-shaped API (lookup, statuses paged by Link headers)
         ▼
    DemoServer: a stdlib ThreadingHTTPServer on 127.0.0.1 (the last run's port when free),
         │      ETag and 304 on every page and feed
         ▼
    the site directory: sources.yaml pointing at the server, a marker file (.pln-demo.json)
         ▼
    cli: the same app.fetch, app.build and app.email(out=...) as `pln fetch`, `build`, `email`

Rendering is pure (content in, bytes out); only ``DemoServer`` and ``running`` do I/O. The
server binds the loopback address only, and ``running`` keeps proxies away from it, so a
demo never sends a request off the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from aggregator.demo_data import Document, FeedKind, Person, Post, Toot
from aggregator.demo_data import network as sample
from aggregator.errors import ConfigError, PlnError

HOST: Final = "127.0.0.1"
DEFAULT_DIRECTORY: Final = "pln-demo"
MARKER: Final = ".pln-demo.json"  # says "an earlier demo lives here": a re-run may replace it
EMAIL_FILE: Final = "digest.eml"
DATABASE: Final = "pln.db"
MARKER_VERSION: Final = 1
TEASER_WORDS: Final = 30
MASTODON_PAGE: Final = 20  # Mastodon's default page size; 40 at most
MASTODON_MAX_PAGE: Final = 40

Clock = Callable[[], datetime]

_LINK = re.compile(r"\[(?P<words>[^\]]+)\]\((?P<path>/[^)\s]*)\)")
_HASHTAG = re.compile(r"(?<![\w&])#(?P<tag>\w+)")
_FEED_PATHS: Final = {
    FeedKind.RSS: "feed.xml",
    FeedKind.RSS_TEASER: "feed.xml",
    FeedKind.ATOM: "atom.xml",
    FeedKind.JSON: "feed.json",
}
_FEED_TYPES: Final = {
    FeedKind.RSS: "application/rss+xml",
    FeedKind.RSS_TEASER: "application/rss+xml",
    FeedKind.ATOM: "application/atom+xml",
    FeedKind.JSON: "application/feed+json",
}
_HTML: Final = "text/html; charset=utf-8"
_JSON: Final = "application/json; charset=utf-8"


# ── the sample's times and text ──────────────────────────────────────────────────────────


def moment(today: date, days_ago: int, at: str) -> datetime:
    """When a sample post was published: ``days_ago`` days before ``today``, at ``at`` UTC."""
    return datetime.combine(today - timedelta(days=days_ago), time.fromisoformat(at), UTC)


def text_html(text: str, base_url: str) -> str:
    """One paragraph of sample text as HTML: escaped, its ``[words](/path)`` links made real."""
    escaped = escape(text, quote=False)
    return _LINK.sub(
        lambda found: f'<a href="{escape(base_url + found["path"])}">{found["words"]}</a>',
        escaped,
    )


def plain(text: str) -> str:
    """Sample text without its link markup."""
    return _LINK.sub(lambda found: found["words"], text)


def _paragraphs_html(paragraphs: Sequence[str], base_url: str) -> str:
    return "".join(f"<p>{text_html(text, base_url)}</p>" for text in paragraphs)


def _teaser(post: Post) -> str:
    words = plain(post.paragraphs[0]).split()
    return " ".join(words[:TEASER_WORDS]) + "…"


# ── rendering: pages and feeds ───────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, text: str, content_type: str) -> Page:
        body = text.encode("utf-8")
        return cls(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def blog_url(base_url: str, person: Person) -> str:
    return f"{base_url}/{person.slug}/"


def post_url(base_url: str, person: Person, post: Post) -> str:
    return f"{base_url}/{person.slug}/{post.slug}/"


def feed_url(base_url: str, person: Person) -> str:
    assert person.feed is not None
    return f"{base_url}/{person.slug}/{_FEED_PATHS[person.feed]}"


def profile_url(base_url: str, person: Person) -> str:
    return f"{base_url}/@{person.slug}"


def _guid(person: Person, post: Post) -> str:
    # Independent of the server's port: a post keeps its identity from one demo to the next.
    return f"tag:pln-demo,2026:{person.slug}/{post.slug}"


def _newest_first(posts: Sequence[Post]) -> list[Post]:
    return sorted(posts, key=lambda post: (post.days_ago, _minus(post.at)))


def _minus(at: str) -> int:
    hours, minutes = at.split(":")
    return -(int(hours) * 60 + int(minutes))


def rss_feed(person: Person, base_url: str, today: date) -> str:
    """RSS 2.0: the whole post in content:encoded, or (RSS_TEASER) a teaser and no more."""
    teaser_only = person.feed is FeedKind.RSS_TEASER
    items = []
    for post in _newest_first(person.posts):
        link = post_url(base_url, person, post)
        if teaser_only:
            more = f'<p><a href="{link}">Continue reading</a></p>'
            summary = f"<p>{escape(_teaser(post))}</p>{more}"
            content = ""
        else:
            summary = escape(plain(post.paragraphs[0]))
            body = _paragraphs_html(post.paragraphs, base_url)
            content = f"<content:encoded>{escape(body)}</content:encoded>"
        categories = "".join(f"<category>{escape(tag)}</category>" for tag in post.tags)
        published = format_datetime(moment(today, post.days_ago, post.at))
        items.append(
            f"<item><title>{escape(post.title)}</title><link>{link}</link>"
            f'<guid isPermaLink="false">{_guid(person, post)}</guid>'
            f"<pubDate>{published}</pubDate>{categories}"
            f"<description>{escape(summary) if teaser_only else summary}</description>"
            f"{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(person.blog or person.name)}</title>"
        f"<link>{blog_url(base_url, person)}</link>"
        f"<description>{escape(person.bio)}</description><language>en</language>"
        + "".join(items)
        + "</channel></rss>\n"
    )


def atom_feed(person: Person, base_url: str, today: date) -> str:
    entries = []
    posts = _newest_first(person.posts)
    for post in posts:
        published = moment(today, post.days_ago, post.at).isoformat()
        categories = "".join(f'<category term="{escape(tag)}"/>' for tag in post.tags)
        body = escape(_paragraphs_html(post.paragraphs, base_url))
        entries.append(
            f"<entry><title>{escape(post.title)}</title><id>{_guid(person, post)}</id>"
            f'<link rel="alternate" type="text/html" href="{post_url(base_url, person, post)}"/>'
            f"<published>{published}</published><updated>{published}</updated>{categories}"
            f'<content type="html">{body}</content></entry>'
        )
    updated = moment(today, posts[0].days_ago, posts[0].at).isoformat() if posts else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(person.blog or person.name)}</title>"
        f"<subtitle>{escape(person.bio)}</subtitle>"
        f"<id>tag:pln-demo,2026:{person.slug}</id><updated>{updated}</updated>"
        f'<link rel="alternate" type="text/html" href="{blog_url(base_url, person)}"/>'
        f'<link rel="self" href="{feed_url(base_url, person)}"/>'
        f"<author><name>{escape(person.name)}</name></author>" + "".join(entries) + "</feed>\n"
    )


def json_feed(person: Person, base_url: str, today: date) -> str:
    items = [
        {
            "id": _guid(person, post),
            "url": post_url(base_url, person, post),
            "title": post.title,
            "content_html": _paragraphs_html(post.paragraphs, base_url),
            "date_published": moment(today, post.days_ago, post.at).isoformat(),
            "tags": list(post.tags),
        }
        for post in _newest_first(person.posts)
    ]
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": person.blog or person.name,
        "description": person.bio,
        "home_page_url": blog_url(base_url, person),
        "feed_url": feed_url(base_url, person),
        "language": "en",
        "authors": [{"name": person.name, "url": blog_url(base_url, person)}],
        "items": items,
    }
    return json.dumps(feed, indent=2, ensure_ascii=False) + "\n"


def _page_html(title: str, body: str, head: str = "", nav: str = "") -> str:
    """A plain web page: navigation and footer around an article, as a blog's pages are."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>{head}</head><body>"
        f"<header><nav>{nav}</nav></header><main>{body}</main>"
        "<footer><p>Sample content written for the pln demo. The people, places and "
        "figures are invented.</p></footer></body></html>\n"
    )


def _blog_head(person: Person, base_url: str) -> str:
    if person.feed is None:
        return ""
    return (
        f'<link rel="alternate" type="{_FEED_TYPES[person.feed]}" '
        f'title="{escape(person.name)}" href="{feed_url(base_url, person)}">'
    )


def _blog_nav(person: Person, base_url: str) -> str:
    return f'<a href="{blog_url(base_url, person)}">{escape(person.name)}</a>'


def home_page(person: Person, base_url: str, today: date) -> str:
    listed = "".join(
        f'<li><a href="{post_url(base_url, person, post)}">{escape(post.title)}</a> '
        f"<time>{moment(today, post.days_ago, post.at):%d %B %Y}</time></li>"
        for post in _newest_first(person.posts)
    )
    body = f"<h1>{escape(person.name)}</h1><p>{escape(person.bio)}</p><ul>{listed}</ul>"
    return _page_html(person.name, body, _blog_head(person, base_url), _blog_nav(person, base_url))


def article_page(person: Person, post: Post, base_url: str, today: date) -> str:
    published = moment(today, post.days_ago, post.at)
    body = (
        f"<article><h1>{escape(post.title)}</h1>"
        f'<p class="byline">By {escape(person.name)}, '
        f'<time datetime="{published.isoformat()}">{published:%d %B %Y}</time></p>'
        f"{_paragraphs_html(post.paragraphs, base_url)}</article>"
        f"<aside><h2>About</h2><p>{escape(person.bio)}</p></aside>"
    )
    return _page_html(
        f"{post.title} · {person.name}",
        body,
        _blog_head(person, base_url),
        _blog_nav(person, base_url),
    )


def document_page(document: Document, base_url: str) -> str:
    body = (
        f"<article><h1>{escape(document.title)}</h1><p>{escape(document.publisher)}</p>"
        f"{_paragraphs_html(document.paragraphs, base_url)}</article>"
    )
    return _page_html(f"{document.title} · {document.publisher}", body)


def profile_page(person: Person) -> str:
    body = f"<h1>{escape(person.name)} (@{person.slug})</h1><p>{escape(person.bio)}</p>"
    return _page_html(person.name, body)


def static_pages(
    people: Sequence[Person], documents: Sequence[Document], base_url: str, today: date
) -> dict[str, Page]:
    """Every fixed answer of the demo server, by path."""
    feeds = {FeedKind.ATOM: atom_feed, FeedKind.JSON: json_feed}
    pages: dict[str, Page] = {}
    for person in people:
        if person.toots:
            pages[f"/@{person.slug}"] = Page.of(profile_page(person), _HTML)
        if person.feed is None:
            continue
        pages[f"/{person.slug}/"] = Page.of(home_page(person, base_url, today), _HTML)
        render = feeds.get(person.feed, rss_feed)
        content_type = _FEED_TYPES[person.feed] + "; charset=utf-8"
        path = urlsplit(feed_url(base_url, person)).path
        pages[path] = Page.of(render(person, base_url, today), content_type)
        for post in person.posts:
            page = article_page(person, post, base_url, today)
            pages[f"/{person.slug}/{post.slug}/"] = Page.of(page, _HTML)
    for document in documents:
        pages[document.path] = Page.of(document_page(document, base_url), _HTML)
    return pages


# ── rendering: a Mastodon-shaped API ─────────────────────────────────────────────────────


@dataclass(frozen=True)
class MastodonAccount:
    person: Person
    id: str
    json: dict[str, Any]
    statuses: tuple[dict[str, Any], ...]  # newest first, as the API lists them


def account_id(index: int) -> str:
    return str(109_000_000_000_000_000 + index)


def status_id(published: datetime, sequence: int) -> str:
    """A snowflake-like id, as Mastodon's: milliseconds, then a sequence; ids sort by time."""
    return str((int(published.timestamp() * 1000) << 16) + sequence)


def _iso_ms(published: datetime) -> str:
    return published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


def toot_html(toot: Toot, base_url: str) -> tuple[str, list[str]]:
    """A toot's content as Mastodon writes it (links, hashtag links) and its hashtags."""
    tags: list[str] = []

    def hashtag(found: re.Match[str]) -> str:
        tags.append(found["tag"])
        return (
            f'<a href="{base_url}/tags/{found["tag"].lower()}" class="mention hashtag" '
            f'rel="tag">#<span>{found["tag"]}</span></a>'
        )

    html = _HASHTAG.sub(hashtag, text_html(toot.text, base_url))
    return f"<p>{html}</p>", tags


def mastodon_accounts(
    people: Sequence[Person], base_url: str, today: date
) -> dict[str, MastodonAccount]:
    """Every person with toots as an account of the demo instance, by username."""
    accounts: dict[str, MastodonAccount] = {}
    for index, person in enumerate(people):
        if not person.toots:
            continue
        ident = account_id(index)
        profile = profile_url(base_url, person)
        account = {
            "id": ident,
            "username": person.slug,
            "acct": person.slug,
            "display_name": person.name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "noindex": False,
            "group": False,
            "created_at": "2022-11-01T00:00:00.000Z",
            "note": f"<p>{escape(person.bio)}</p>",
            "url": profile,
            "uri": f"{base_url}/users/{person.slug}",
            "avatar": f"{base_url}/avatars/original/missing.png",
            "followers_count": 300 + 37 * index,
            "following_count": 180 + 11 * index,
            "statuses_count": len(person.toots),
            "fields": [],
            "emojis": [],
        }
        statuses = [
            _status(toot, sequence, account, base_url, today)
            for sequence, toot in enumerate(person.toots)
        ]
        statuses.sort(key=lambda status: int(status["id"]), reverse=True)
        accounts[person.slug] = MastodonAccount(person, ident, account, tuple(statuses))
    return accounts


def _status(
    toot: Toot, sequence: int, account: dict[str, Any], base_url: str, today: date
) -> dict[str, Any]:
    published = moment(today, toot.days_ago, toot.at)
    ident = status_id(published, sequence)
    content, tags = toot_html(toot, base_url)
    return {
        "id": ident,
        "created_at": _iso_ms(published),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"{account['uri']}/statuses/{ident}",
        "url": f"{account['url']}/{ident}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": content,
        "reblog": None,
        "account": account,
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": tag.lower(), "url": f"{base_url}/tags/{tag.lower()}"} for tag in tags],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def statuses_page(
    account: MastodonAccount, query: Mapping[str, str], base_url: str
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an account's statuses as the API pages them: newest first below
    ``max_id``, above ``since_id``; ``min_id`` gives the ones just above it. The Link header
    names the next page back (when this one is full) and the page forward."""
    try:
        limit = max(1, min(int(query.get("limit", MASTODON_PAGE)), MASTODON_MAX_PAGE))
    except ValueError:
        limit = MASTODON_PAGE
    chosen = [status for status in account.statuses if _in_range(int(status["id"]), query)]
    # min_id: the oldest statuses above it (still listed newest first); else the newest.
    page = chosen[-limit:] if "min_id" in query else chosen[:limit]
    if not page:
        return [], None
    here = f"{base_url}/api/v1/accounts/{account.id}/statuses"
    links = [f'<{here}?min_id={page[0]["id"]}>; rel="prev"']
    if len(page) == limit:
        links.insert(0, f'<{here}?max_id={page[-1]["id"]}>; rel="next"')
    return page, ", ".join(links)


def _in_range(ident: int, query: Mapping[str, str]) -> bool:
    """Whether a status id is inside the bounds the request gives (below max_id, above
    since_id and min_id)."""
    bounds = {name: query.get(name, "") for name in ("max_id", "since_id", "min_id")}
    numbers = {name: int(value) for name, value in bounds.items() if value.isdigit()}
    if "max_id" in numbers and ident >= numbers["max_id"]:
        return False
    return all(ident > numbers[name] for name in ("since_id", "min_id") if name in numbers)


# ── the server ───────────────────────────────────────────────────────────────────────────


@dataclass
class DemoContent:
    """What the demo server answers, made for its own address."""

    pages: dict[str, Page]
    accounts: dict[str, MastodonAccount]
    base_url: str
    requests: list[str] = field(default_factory=list)  # paths, in arrival order
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def make(cls, base_url: str, today: date) -> DemoContent:
        return cls(
            pages=static_pages(sample.PEOPLE, sample.DOCUMENTS, base_url, today),
            accounts=mastodon_accounts(sample.PEOPLE, base_url, today),
            base_url=base_url,
        )

    def answer(self, path: str, query: Mapping[str, str]) -> tuple[int, Page | None, str | None]:
        """(status, page, Link header) for a GET of ``path``."""
        with self.lock:
            self.requests.append(path)
        if path == "/api/v1/accounts/lookup":
            found = self.accounts.get(query.get("acct", "").lstrip("@").split("@")[0])
            if found is None:
                return 404, Page.of('{"error":"Record not found"}', _JSON), None
            return 200, Page.of(json.dumps(found.json), _JSON), None
        api = re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", path)
        if api is not None:
            account = next((a for a in self.accounts.values() if a.id == api[1]), None)
            if account is None:
                return 404, Page.of('{"error":"Record not found"}', _JSON), None
            statuses, link = statuses_page(account, query, self.base_url)
            return 200, Page.of(json.dumps(statuses), _JSON), link
        page = self.pages.get(path)
        return (200, page, None) if page is not None else (404, None, None)


class _Handler(BaseHTTPRequestHandler):
    server: _DemoHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "pln-demo"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        status, page, link = self.server.content.answer(parts.path, query)
        if page is None:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", {})
            return
        headers = {"ETag": page.etag, "Cache-Control": "max-age=0"}
        if link:
            headers["Link"] = link
        if status == 200 and page.etag in _etags(self.headers.get("If-None-Match")):
            self._send(304, b"", None, headers)
            return
        self._send(status, page.body, page.content_type, headers)

    def _send(
        self, status: int, body: bytes, content_type: str | None, headers: Mapping[str, str]
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the demo prints its own progress; a request log would drown it


def _etags(header: str | None) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in (header or "").split(",") if tag.strip()}


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    content: DemoContent


class DemoServer:
    """The sample network on 127.0.0.1 in a thread; ``port`` 0 picks a free one."""

    def __init__(self, today: date, port: int = 0) -> None:
        self._server = _DemoHTTPServer((HOST, port), _Handler)
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://{HOST}:{self.port}"
        self.content = self._server.content = DemoContent.make(self.base_url, today)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pln-demo-server", daemon=True
        )

    def __enter__(self) -> DemoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _bind(today: date, port: int | None) -> DemoServer:
    """The server on the last run's port if it is free (the sources keep their addresses,
    so a re-run refetches conditionally), else on any free port."""
    if port:
        try:
            return DemoServer(today, port)
        except OSError:
            pass
    return DemoServer(today)


# ── sources.yaml ─────────────────────────────────────────────────────────────────────────


def _source_lines(person: Person, base_url: str) -> list[str]:
    lines = []
    if person.feed is FeedKind.RSS_TEASER:
        lines.append(f"      - {feed_url(base_url, person)}    # teasers: pln reads each page")
    elif person.discovered:
        lines.append(f"      - {blog_url(base_url, person)}    # a home page naming its feed")
    elif person.feed is not None:
        lines.append(f"      - {feed_url(base_url, person)}")
    if person.toots:
        lines.append(f"      - mastodon: {profile_url(base_url, person)}")
    return lines


def sources_yaml(base_url: str) -> str:
    """The demo's sources.yaml: every address is the demo server's, on 127.0.0.1."""
    topics = "".join(
        f"  - name: {_quoted(topic.name)}\n    slug: {topic.slug}\n    match: '{topic.match}'\n"
        for topic in sample.TOPICS
    )
    people = []
    for person in sample.PEOPLE:
        lines = [f"  - name: {_quoted(person.name)}"]
        if person.feed is not None:
            lines.append(f"    url: {blog_url(base_url, person)}")
        if person.topics:
            lines.append(f"    topics: [{', '.join(person.topics)}]")
        lines.append("    sources:")
        lines.extend(_source_lines(person, base_url))
        people.append("\n".join(lines) + "\n")
    people_text = "\n".join(people)
    return f"""\
# sources.yaml of `pln demo`: a sample network of twelve people in urban planning.
#
# Every address below is the demo server's ({base_url}): a small server that
# `pln demo` runs on 127.0.0.1 while it fetches, and stops afterwards. Running `pln demo` in
# this directory again rewrites this file. For your own network: `pln init mysite`.

site:
  title: {_quoted(sample.TITLE)}
  description: {_quoted(sample.DESCRIPTION)}
  timezone: UTC
  language: en
  home_days: 7
  excerpt_words: 60
  database: {DATABASE}
  output: output

fetch:
  timeout: 30                          # seconds; the server is local, but the machine may be busy
  full_text: auto                      # teasers are completed from each post's own page

topics:
{topics}
people:
{people_text}
# The emailed digest: `pln demo` writes it to {EMAIL_FILE} in this directory and sends nothing.
email:
  to: [you@example.org]
  from: {_quoted(sample.TITLE + " <pln@example.org>")}
  subject: "{{title}}: {{date}}"
  smtp:
    host: smtp.example.org
    port: 587
    security: starttls
    username: you@example.org
    password_env: PLN_SMTP_PASSWORD
"""


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text, ensure_ascii=False)


# ── the site directory ───────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class DemoSite:
    directory: Path
    base_url: str
    email_file: Path
    people: int
    sources: int
    fresh: bool  # the database was started anew (first run, another day or another port)
    server: DemoServer

    @property
    def index_html(self) -> Path:
        return self.directory / "output" / "index.html"


def earlier_demo(directory: Path) -> dict[str, Any] | None:
    """The marker of an earlier demo in ``directory``, or None; ConfigError when the
    directory holds something else, which the demo must not overwrite."""
    if not directory.exists():
        return None
    if not directory.is_dir():
        raise ConfigError(f"{directory} is a file, not a directory: pick another name")
    marker = directory / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{marker} cannot be read ({exc}): remove it, or pick another directory"
        ) from exc
    if isinstance(data, dict):
        return data
    if any(directory.iterdir()):
        raise ConfigError(
            f"{directory} is not empty and holds no earlier demo: nothing was changed. "
            "Give `pln demo` a new or empty directory (default: ./pln-demo)"
        )
    return None


@contextmanager
def running(directory: Path, *, clock: Clock) -> Iterator[DemoSite]:
    """The demo server running and ``directory`` set up to fetch from it.

    A re-run in the same directory on the same day, with the last run's port free, keeps the
    database, so the fetch shows conditional requests at work; otherwise the database (and
    the site built from it) starts anew, since the sample's addresses or dates changed.
    """
    previous = earlier_demo(directory)
    today = clock().astimezone(UTC).date()
    last_port = previous.get("port") if previous else None
    server = _bind(today, last_port if isinstance(last_port, int) else None)
    fresh = (
        previous is None
        or previous.get("port") != server.port
        or previous.get("day") != today.isoformat()
    )
    with server, _loopback_without_proxy():
        try:
            _write_site(directory, server, today, fresh)
        except OSError as exc:
            raise PlnError(f"cannot write the demo into {directory}: {exc}") from exc
        yield DemoSite(
            directory=directory,
            base_url=server.base_url,
            email_file=directory / EMAIL_FILE,
            people=len(sample.PEOPLE),
            sources=sum(len(_source_lines(person, "")) for person in sample.PEOPLE),
            fresh=fresh,
            server=server,
        )


def _write_site(directory: Path, server: DemoServer, today: date, fresh: bool) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if fresh:
        for name in (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm"):
            (directory / name).unlink(missing_ok=True)
        shutil.rmtree(directory / "output", ignore_errors=True)
    (directory / "sources.yaml").write_text(sources_yaml(server.base_url), encoding="utf-8")
    marker = {"version": MARKER_VERSION, "port": server.port, "day": today.isoformat()}
    (directory / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")


@contextmanager
def _loopback_without_proxy() -> Iterator[None]:
    """Requests to the demo server never go through a proxy of the environment: httpx would
    send even 127.0.0.1 to HTTP_PROXY unless NO_PROXY names it."""
    saved = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    for name, value in saved.items():
        os.environ[name] = ",".join(filter(None, [value, HOST]))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
