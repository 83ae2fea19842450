"""Where a blog without a feed lists its posts: robots.txt and sitemaps. Pure.

A ``blog:`` source whose home page names no feed falls back to its sitemap: the ``Sitemap:``
lines of its robots.txt, else ``/sitemap.xml``. A sitemap is either a list of pages
(``<urlset>``) or a list of further sitemaps (``<sitemapindex>``); ``read_sitemap`` tells
them apart, and ``newest_posts`` picks, from the pages, the newest ones that look like posts
of the blog (on its host, under its path, not a tag, category, author or archive page).

Sitemaps are read with regular expressions over ``<url>`` and ``<sitemap>`` blocks, not an
XML parser: real sitemaps are often not well-formed, and no entity is ever expanded.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from urllib.parse import SplitResult, urljoin, urlsplit

__all__ = [
    "MAX_POSTS",
    "Sitemap",
    "SitemapEntry",
    "newest_posts",
    "ranked_children",
    "read_sitemap",
    "sitemap_candidates",
    "sitemaps_in_robots",
]

# How many of a blog's newest posts a sitemap read takes: older ones are history, not news.
MAX_POSTS = 20
# How many nested sitemaps one read follows: a site may split its posts over many files.
MAX_CHILDREN = 3
_MAX_INFLATED = 50_000_000  # the sitemap protocol's own limit on one file


@dataclass(frozen=True)
class SitemapEntry:
    url: str
    lastmod: datetime | None = None


@dataclass(frozen=True)
class Sitemap:
    pages: tuple[SitemapEntry, ...] = ()  # a <urlset>
    children: tuple[SitemapEntry, ...] = ()  # a <sitemapindex>


def sitemap_candidates(blog_url: str, robots_txt: str | None) -> tuple[str, ...]:
    """Where to look, in order: robots.txt's ``Sitemap:`` lines, then ``/sitemap.xml``."""
    named = sitemaps_in_robots(robots_txt or "", blog_url)
    fallback = urljoin(blog_url, "/sitemap.xml")
    return tuple(dict.fromkeys((*named, fallback)))


_ROBOTS_SITEMAP = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def sitemaps_in_robots(robots_txt: str, base_url: str) -> tuple[str, ...]:
    """The absolute http(s) URLs of robots.txt's ``Sitemap:`` lines, each once."""
    found = (urljoin(base_url, match) for match in _ROBOTS_SITEMAP.findall(robots_txt))
    return tuple(dict.fromkeys(url for url in found if _is_web_url(url)))


_BLOCK = re.compile(r"<(?:\w+:)?(url|sitemap)\b[^>]*>(.*?)</(?:\w+:)?\1\s*>", re.I | re.S)
_LOC = re.compile(r"<(?:\w+:)?loc\b[^>]*>\s*(.*?)\s*</(?:\w+:)?loc\s*>", re.I | re.S)
_LASTMOD = re.compile(r"<(?:\w+:)?lastmod\b[^>]*>\s*(.*?)\s*</(?:\w+:)?lastmod\s*>", re.I | re.S)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def read_sitemap(body: bytes, url: str) -> Sitemap:
    """The pages or child sitemaps of a sitemap (XML, gzipped XML, or plain text)."""
    text = _decoded(body)
    pages: list[SitemapEntry] = []
    children: list[SitemapEntry] = []
    for block in _BLOCK.finditer(text):
        kind, inner = block.group(1).lower(), block.group(2)
        location = _LOC.search(inner)
        if location is None:
            continue
        page_url = _web_url(location.group(1), url)
        if page_url is None:
            continue
        lastmod = _LASTMOD.search(inner)
        entry = SitemapEntry(page_url, _w3c_date(lastmod.group(1)) if lastmod else None)
        (children if kind == "sitemap" else pages).append(entry)
    if not pages and not children and "<" not in text:
        # A plain-text sitemap: one absolute URL a line.
        lines = (line.strip() for line in text.splitlines())
        pages = [SitemapEntry(line) for line in lines if _is_web_url(line) and " " not in line]
    return Sitemap(pages=tuple(pages), children=tuple(children))


def ranked_children(children: tuple[SitemapEntry, ...]) -> tuple[str, ...]:
    """The child sitemaps worth reading, best first, at most MAX_CHILDREN of them.

    Sitemaps named for posts come first ("post-sitemap.xml", "wp-sitemap-posts-post-1.xml"),
    those of pages, tags, categories, authors, products or images are left out; then the most
    recently changed, then the later ones (numbered files grow at the end).
    """
    kept = [
        (position, child)
        for position, child in enumerate(children)
        if not _NOT_POSTS_SITEMAP.search(urlsplit(child.url).path)
    ]

    def rank(item: tuple[int, SitemapEntry]) -> tuple[int, float, int]:
        position, child = item
        named_for_posts = bool(_POSTS_SITEMAP.search(urlsplit(child.url).path))
        when = child.lastmod.timestamp() if child.lastmod else 0.0
        return (0 if named_for_posts else 1, -when, -position)

    return tuple(child.url for _, child in sorted(kept, key=rank)[:MAX_CHILDREN])


_POSTS_SITEMAP = re.compile(r"post|article|blog|entr|news", re.IGNORECASE)
_NOT_POSTS_SITEMAP = re.compile(
    r"(?:^|[/_-])(?:page|pages|tag|tags|category|categories|author|authors|users?|product\w*"
    r"|image|images|video|attachment|taxonom\w*|topics?|archive)s?(?:[/_.-]|$)",
    re.IGNORECASE,
)
_NOT_A_POST = re.compile(
    r"/(?:tag|tags|category|categories|author|authors|topics?|archives?|page|search|feed"
    r"|wp-content|wp-json|about|contact|impressum|imprint|privacy|datenschutz)(?:/|$)"
    r"|\.(?:xml|rss|atom|json|pdf|jpe?g|png|gif|webp|svg|zip|mp3|mp4)$",
    re.IGNORECASE,
)


def newest_posts(
    pages: tuple[SitemapEntry, ...], blog_url: str, limit: int = MAX_POSTS
) -> tuple[SitemapEntry, ...]:
    """The newest pages that look like posts of the blog at ``blog_url``.

    A post is on the blog's host, under its path, deeper than its home page, and not an
    archive, tag, category, author or feed page. Newest by ``lastmod``; pages without one
    come after, in the sitemap's order.
    """
    blog = urlsplit(blog_url)
    home_path = blog.path if blog.path.endswith("/") else blog.path + "/"
    posts = [
        page
        for page in dict((page.url, page) for page in pages).values()
        if _is_post_of(urlsplit(page.url), blog.hostname or "", home_path)
    ]
    dated = sorted((p for p in posts if p.lastmod), key=lambda p: p.lastmod or _EPOCH, reverse=True)
    undated = [p for p in posts if p.lastmod is None]
    return tuple([*dated, *undated][:limit])


def _is_post_of(page: SplitResult, host: str, home_path: str) -> bool:
    path = page.path or "/"
    if _bare_host(page.hostname or "") != _bare_host(host):
        return False
    if not path.startswith(home_path) or path.rstrip("/") == home_path.rstrip("/"):
        return False
    return not _NOT_A_POST.search(path)


def _bare_host(host: str) -> str:
    return host.lower().removeprefix("www.")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _decoded(body: bytes) -> str:
    if body.startswith(b"\x1f\x8b"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, _MAX_INFLATED)
        except (zlib.error, gzip.BadGzipFile):
            return ""
    text = body.decode("utf-8", "replace")
    return _CDATA.sub(r"\1", text)


def _web_url(value: str, base: str) -> str | None:
    candidate = unescape(value.strip())
    if not candidate:
        return None
    try:
        absolute = urljoin(base, candidate)
    except ValueError:
        return None
    return absolute if _is_web_url(absolute) else None


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _w3c_date(value: str) -> datetime | None:
    """A sitemap's W3C datetime ("2026-11-20", "2026-11-20T09:00:00+01:00") in UTC."""
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
