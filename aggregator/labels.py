"""How a post's source is named where the post is shown: the blog's own name, or the account's
handle. Pure.

A reader scans "Alice Example · Drought Notes · 09:30" faster than a host name, and knows a
Mastodon post by ``@alice@social.example``, as a planet shows each blog by its name and
links it. The site, the emailed digest and ``pln search`` all name a source this way:

- a feed or blog: the feed's own title, as the last fetch found it (``stored_title`` makes
  it one line of printable text before the store keeps it; ``source_name`` trims it to
  ``NAME_CHARS``), else the host of the source (``alice.example``); a title that is only
  the person's own name says nothing the entry does not, so the host stands there too;
- a Mastodon account: its handle ``@user@host``, read from the source's profile URL.

Each name links the blog's home page (the feed's own link, or a ``blog:`` source's URL) or
the account's profile, when there is one that is a web address. Names are plain text:
every page and the email escape them as they escape any feed text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import urlsplit

from aggregator.models import SourceKind

__all__ = [
    "NAME_CHARS",
    "STORED_CHARS",
    "source_home",
    "source_name",
    "stored_home",
    "stored_title",
]

NAME_CHARS = 40  # a blog's name longer than this is cut at a word, with an ellipsis
STORED_CHARS = 200  # of a feed's title, kept in the store: enough for any name, bounded
# Characters that are no text to show: controls (a terminal would obey an escape sequence in
# `pln search`), format characters (bidi overrides reorder what follows them, zero-width
# joiners hide), line and paragraph separators, surrogates.
_NOT_TEXT = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_PROFILE_PATH = re.compile(r"/@([^/@]+)/?")


def stored_title(title: str | None) -> str:
    """A feed's title as the store keeps it: one line of printable text, at most
    ``STORED_CHARS`` characters; ``""`` when the feed has none (the host names it then)."""
    if not title:
        return ""
    shown = "".join(" " if unicodedata.category(char) in _NOT_TEXT else char for char in title)
    return " ".join(shown.split())[:STORED_CHARS].strip()


def stored_home(link: str | None) -> str:
    """A feed's link to its site, kept when it is a web address; ``""`` otherwise."""
    return web_url(link) or ""


@functools.lru_cache(maxsize=4096)  # a site has a few hundred sources, named on every entry
def source_name(kind: SourceKind | str, url: str, title: str | None, person: str) -> str:
    """What names a source beside its posts (see the module's docstring)."""
    if kind == SourceKind.MASTODON:
        return _handle(url) or _host(url)
    name = stored_title(title)
    if not name or name.casefold() == " ".join(person.split()).casefold():
        return _host(url)
    return _shortened(name)


@functools.lru_cache(maxsize=4096)
def source_home(kind: SourceKind | str, url: str, home: str | None) -> str | None:
    """Where a source's name links: the account's profile, the blog's home page (the feed's
    own link, else a ``blog:`` source's URL), or None when there is no such web address."""
    if kind == SourceKind.MASTODON:
        return web_url(url)  # the account's profile page
    found = web_url(home)
    if found is None and kind == SourceKind.BLOG:
        found = web_url(url)
    return found


def _shortened(name: str) -> str:
    if len(name) <= NAME_CHARS:
        return name
    cut = name[: NAME_CHARS - 1]
    words = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return words.rstrip(" ,;:–—-|·") + "…"


def _host(url: str) -> str:
    """``alice.example`` of ``https://www.alice.example/feed.xml``."""
    try:
        found = urlsplit(url).hostname
    except ValueError:
        found = None
    return (found or url).removeprefix("www.")


def _handle(url: str) -> str | None:
    """``@user@host`` of a Mastodon source, whose URL sources.yaml's reading made the
    profile ``https://host/@user`` (a handle never carries a port)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    found = _PROFILE_PATH.fullmatch(parts.path)
    host = _host(url)
    return f"@{found[1]}@{host}" if found and host else None


def web_url(value: str | None) -> str | None:
    """``value`` trimmed when it is an http(s) URL with a host, else None."""
    if not value:
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
