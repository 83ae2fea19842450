"""The sample network of ``pln demo``: people in urban planning and what they wrote.

Everything here was written for pln's demo; the people, places and reports are invented.
Text may carry links as ``[words](/path)``: a path on the demo server, which ``aggregator.demo``
turns into an address once it knows the server's port. Times are relative to the day the demo
runs (``days_ago`` and a UTC time of day), so the sample always looks fresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FeedKind(Enum):
    RSS = "rss"  # RSS 2.0 with the whole post in content:encoded
    RSS_TEASER = "rss-teaser"  # RSS 2.0 with a teaser only: the text is on the post's page
    ATOM = "atom"
    JSON = "json"  # JSON Feed 1.1


@dataclass(frozen=True)
class Post:
    slug: str  # its address under the author's blog: /<person>/<slug>/
    title: str
    days_ago: int
    at: str  # time of day, UTC, "HH:MM"
    paragraphs: tuple[str, ...]
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Toot:
    days_ago: int
    at: str
    text: str  # one paragraph; #words become the status's hashtags


@dataclass(frozen=True)
class Person:
    name: str
    slug: str  # the blog's path and the Mastodon username
    bio: str
    feed: FeedKind | None = None  # None: Mastodon only
    discovered: bool = False  # follow the blog's home page: its feed is discovered there
    posts: tuple[Post, ...] = ()
    toots: tuple[Toot, ...] = ()
    topics: tuple[str, ...] = ()  # topic slugs every post of theirs carries
    blog: str = ""  # the blog's name, its feed's title (the person's name when empty)


@dataclass(frozen=True)
class Document:
    """A page several people link to, so the digest's "Most shared" has something to show."""

    path: str
    title: str
    publisher: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    name: str
    slug: str
    match: str  # FTS5 query syntax, as in sources.yaml
