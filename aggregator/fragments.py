"""The built-in theme's digest entry, written as plain string building. Pure.

A year of day pages holds one entry per post (50,000 in a large network), and Jinja spends
more on a macro call (``Macro._invoke``, a new context, ``escape`` through the runtime)
than on the few lines of markup inside it. ``entry_html`` writes exactly the bytes of the
``entry`` macro of ``templates/_macros.html`` (trim_blocks and lstrip_blocks included),
escaping every value as autoescape does; ``tests/test_fragments.py`` renders both over
every branch and compares them. The renderer uses it only while ``_macros.html`` is the
built-in one: a site's own ``_macros.html`` is rendered through its own macro.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from urllib.parse import urlsplit

import markupsafe
from markupsafe import Markup

from aggregator.models import Digest, DigestEntry, SharedLink, SourceKind, TopicLabel

__all__ = [
    "EntryWriter",
    "day_path",
    "day_text",
    "host",
]

# ── engineer I ── the words of sources.yaml and `pln sources`, as templates/_macros.html's
# kind_name says them
_KIND_NAMES = {"feed": "feed", "blog": "blog", "mastodon": "Mastodon"}


def _escape_by_replacing(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


# markupsafe.escape's own inner function (C) without wrapping each result in Markup, which
# cost more than the escaping; the same replacements in Python where it is missing.
escape: Callable[[str], str] = getattr(markupsafe, "_escape_inner", _escape_by_replacing)


def day_path(day: date) -> str:
    """Where a day's digest lives under output/, as a directory URL: ``2026/11/20/``."""
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}/"


def day_text(day: date) -> str:
    """``20 November 2026``."""
    return f"{day.day} {day:%B %Y}"


@functools.lru_cache(maxsize=4096)  # a site has a few hundred sources, named on every entry
def host(url: str) -> str:
    """``alice.example`` of ``https://www.alice.example/feed.xml``."""
    return (urlsplit(url).hostname or url).removeprefix("www.")


def _kind_name(kind: object) -> str:
    text = str(kind)
    return _KIND_NAMES.get(text, text)


class EntryWriter:
    """Writes entries for one site time zone; ``__call__`` has the macro's signature."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        # An entry's time in the site's zone, once per post however many pages show it.
        self._local: Callable[[datetime], datetime] = functools.lru_cache(maxsize=8192)(
            self._to_local
        )

    def _to_local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def __call__(self, root: str, e: DigestEntry, level: int = 3, show_day: bool = False) -> Markup:
        post = e.post
        root = escape(root)
        anchor = escape(e.anchor)
        toot = post.kind == SourceKind.MASTODON
        title = escape(e.title)
        local = self._local(post.posted_at)
        iso = local.isoformat(timespec="seconds")
        clock = f"{local:%H:%M}"
        if show_day:
            when = (
                f'<a class="when" href="{root}{day_path(local.date())}#{anchor}">'
                f'<time datetime="{iso}">{day_text(local.date())}, {clock}</time></a>'
            )
        else:
            when = f'<time datetime="{iso}">{clock}</time>'
        heading = f'<a href="{escape(e.url)}">{title}</a>' if e.url else title
        source = escape(post.source_name or host(post.source_url))
        if post.source_home:  # the blog's home page or the account's profile
            source = f'<a href="{escape(post.source_home)}">{source}</a>'
        labels = anchor.join(_label_parts(root, e.topics)) if e.topics else ""
        also = _also_shared(root, e) if e.also_shared_by else ""
        return Markup(
            f'<article class="entry{" entry-toot" if toot else ""}">\n'
            f'  <h{level} class="entry-title" id="{anchor}">\n'
            f"{heading}  </h{level}>\n"
            '  <p class="meta" data-pagefind-ignore>\n'
            f'    <a class="person" href="{root}people/{escape(post.person_slug)}/">'
            f"{escape(post.person)}</a>\n"
            '    <span class="dot" aria-hidden="true">·</span>\n'
            f'    <span class="kind">{source}</span>\n'
            '    <span class="dot" aria-hidden="true">·</span>\n'
            f"    {when}\n"
            "  </p>\n"
            f"{_body(e, post.content_warning)}"
            f"  {labels}\n"
            f"{also}"
            "</article>\n"
        )

    def digest(self, root: str, d: Digest, level: int = 2, prefix: str = "") -> Markup:
        """A day's digest as the ``digest_body`` macro writes it."""
        parts = [_most_shared(escape(root), d.most_shared, level, escape(prefix))]
        many = len(d.sections) > 1
        for section in d.sections:
            topic = section.topic
            section_id = escape(prefix + (topic.slug if topic else "more"))
            if topic:
                link = f"{escape(root)}topics/{escape(topic.slug)}/"
                heading = f'<a href="{link}">{escape(topic.name)}</a>'
            else:
                heading = "Everything else" if many else "Posts"
            parts.append(
                f'<section class="topic-section" aria-labelledby="{section_id}">\n'
                f'  <h{level} id="{section_id}">\n'
                f'{heading}    <span class="count">{len(section.entries)}</span>\n'
                f"  </h{level}>\n"
            )
            parts.extend([f"  {self(root, e, level + 1)}\n" for e in section.entries])
            parts.append("</section>\n")
        return Markup("".join(parts))


def _most_shared(root: str, links: tuple[SharedLink, ...], level: int, prefix: str) -> str:
    if not links:
        return ""
    parts = [
        f'<section class="most-shared" aria-labelledby="{prefix}shared">\n'
        f'  <h{level} id="{prefix}shared">Most shared in your network</h{level}>\n'
        "  <ol>\n"
    ]
    for link in links:
        people = ", ".join(
            [
                f'<a class="person" href="{root}people/{escape(sharer.person_slug)}/">'
                f"{escape(sharer.person)}</a>"
                for sharer in link.sharers
            ]
        )
        parts.append(
            "    <li>\n"
            f'      <a class="shared-title" href="{escape(link.url)}">{escape(link.title)}</a>\n'
            f'      <span class="shared-by">{len(link.sharers)} people: {people}</span>\n'
            "    </li>\n"
        )
    parts.append("  </ol>\n</section>\n")
    return "".join(parts)


def _body(e: DigestEntry, warning: str | None) -> str:
    if warning:
        shown = (
            f'<div class="toot">{e.body_html}</div>'
            if e.body_html
            else f'<p class="excerpt">{escape(e.excerpt)}</p>'
        )
        return (
            '  <details class="cw">\n'
            f"    <summary>Content warning: {escape(warning)}</summary>\n"
            f"{shown}  </details>\n"
        )
    if e.body_html:
        return f'  <div class="toot">{e.body_html}</div>\n'
    if e.excerpt:
        return f'  <p class="excerpt">{escape(e.excerpt)}</p>\n'
    return ""


# Where the entry's anchor goes in the labels' markup: no escaped value holds a "<".
_ANCHOR_MARK = "<@>"


@functools.lru_cache(maxsize=1024)  # a build repeats the same few label lists all year
def _label_parts(root: str, topics: tuple[TopicLabel, ...]) -> list[str]:
    """The labels' markup, split where the entry's anchor goes."""
    parts = ['<ul class="labels" aria-label="Topics" data-pagefind-ignore>\n']
    for topic in topics:
        slug = escape(topic.slug)
        name = escape(topic.name)
        parts.append("  <li>\n")
        if topic.terms:
            terms = ", ".join([escape(term) for term in topic.terms])
            parts.append(
                f'    <a class="label" href="{root}topics/{slug}/" '
                f'aria-describedby="{_ANCHOR_MARK}-{slug}">{name}</a>\n'
                f'    <span class="terms" role="tooltip" id="{_ANCHOR_MARK}-{slug}">'
                f"matched: {terms}</span>\n"
            )
        else:
            parts.append(f'    <a class="label" href="{root}topics/{slug}/">{name}</a>\n')
        parts.append("  </li>\n")
    parts.append("</ul>\n")
    return "".join(parts).split(_ANCHOR_MARK)


def _also_shared(root: str, e: DigestEntry) -> str:
    parts = ['  <p class="also" data-pagefind-ignore>Also shared by\n']
    last = len(e.also_shared_by) - 1
    for number, sharer in enumerate(e.also_shared_by):
        person = escape(sharer.person)
        if sharer.url:
            link = f'<a href="{escape(sharer.url)}">{person}</a>'
        else:
            slug = escape(sharer.person_slug)
            link = f'<a class="person" href="{root}people/{slug}/">{person}</a>'
        comma = "" if number == last else ","
        parts.append(
            f'{link} <span class="kind">({escape(_kind_name(sharer.kind))})</span>{comma}\n'
        )
    parts.append("  </p>\n")
    return "".join(parts)
