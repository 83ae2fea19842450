"""A day's posts → a Digest: what the network shared most, then the posts by topic. Pure.

    posts of one day ─► entries: one per shared link (a blog post and the toots that announce
                        it become one entry that names everyone), excerpts cut to size
                    ─► most shared: links two or more people posted or linked to that day
                    ─► sections: the topics in sources.yaml order, a post under its first
                        topic only (the others are labels), then everything else

Links are compared by their canonical form (``canonical_url``), so ``http://www.x.org/a/``
and ``https://x.org/a?utm_source=feed#top`` are the same link.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from html import unescape
from urllib.parse import parse_qsl, urlencode, urlsplit

from aggregator.models import (
    Digest,
    DigestEntry,
    DigestSection,
    SharedLink,
    Sharer,
    SitePost,
    SourceKind,
    TopicConfig,
    TopicLabel,
    TopicTag,
)
from aggregator.sanitize import clean_html

__all__ = [
    "MOST_SHARED_LIMIT",
    "build_digest",
    "canonical_url",
    "day_of",
    "digest_and_own_entries",
    "entry_for",
    "excerpt",
]

MOST_SHARED_LIMIT = 10  # a "most shared" list longer than this is no longer a highlight
# A Mastodon post is shown whole when it is this many times the excerpt length or shorter:
# toots are short, and cutting one mid-sentence loses more than it saves.
TOOT_WHOLE_FACTOR = 3

# Query parameters that say where a click came from, not what the page is.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "hsctatracking",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "wickedid",
        "__s",
        "ref_src",
        "ref_url",
        "rb_clickid",
        "s_cid",
        "cmpid",
        "ncid",
        "sr_share",
        "spm",
        "scid",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_", "itm_")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_ANCHOR = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_LOOKS_LIKE_URL = re.compile(r"^(?:https?://|www\.)|^[\w-]+(?:\.[\w-]+)+(?:/\S*)?…?$", re.I)


# ── links ────────────────────────────────────────────────────────────────────────────────


@functools.lru_cache(maxsize=1 << 16)  # a post's links are compared several times a build
def canonical_url(url: str) -> str:
    """The form under which two spellings of one link compare equal.

    Scheme and ``www.`` dropped, host lower-cased, default port, trailing slash, fragment and
    tracking parameters (``utm_*`` and the like) removed, the other parameters sorted.
    Not a URL to visit: a key to compare by.
    """
    text = url.strip()
    simple = _SIMPLE_URL.match(text)
    if simple:  # scheme, host and path alone: what urlsplit would give, without it
        host = simple.group(1).lower().removeprefix("www.")
        return host + (simple.group(2) or "").rstrip("/")
    return _canonical_by_parts(text)


# A URL with no port, user, query or fragment, and nothing urlsplit would clean away: most
# post links. canonical_url reads it with string operations (urlsplit costs 3 µs a link).
_SIMPLE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9.-]+)(/[^?#\s]*)?\Z")


def _canonical_by_parts(text: str) -> str:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    host = (parts.hostname or "").lower().removeprefix("www.")
    if port is not None and str(port) != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    ]
    query = urlencode(sorted(kept))
    return host + path + (f"?{query}" if query else "")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


def day_of(moment: datetime, tz: tzinfo) -> date:
    """The day ``moment`` belongs to in the site's time zone."""
    return moment.astimezone(tz).date()


def excerpt(text: str, words: int) -> str:
    """The first ``words`` words of ``text``, with an ellipsis when there was more."""
    found = text.split(maxsplit=words)
    if len(found) <= words:
        return " ".join(found)
    return " ".join(found[:words]).rstrip(",;:–—-") + "…"


# ── the digest ───────────────────────────────────────────────────────────────────────────


@dataclass
class _Group:
    """The posts of one day that share one subject link (or a post alone)."""

    key: str
    posts: list[SitePost] = field(default_factory=list)


def build_digest(
    day: date,
    posts: Sequence[SitePost],
    topics: Sequence[TopicConfig],
    excerpt_words: int,
) -> Digest:
    """The digest of ``day`` from that day's ``posts`` (in any order)."""
    return digest_and_own_entries(day, posts, topics, excerpt_words)[0]


def digest_and_own_entries(
    day: date,
    posts: Sequence[SitePost],
    topics: Sequence[TopicConfig],
    excerpt_words: int,
) -> tuple[Digest, dict[int, DigestEntry]]:
    """The digest of ``day``, and each post's entry of its own (``entry_for``) by post id,
    as a person's page lists it: a post alone in its group is the digest's entry already,
    so only the posts that share a link with others are made again."""
    ordered = sorted(posts, key=lambda post: (post.posted_at, post.id))
    groups = _group_by_subject(ordered)
    entries = [_entry(group, topics, excerpt_words) for group in groups]
    anchors = {group.key: entry.anchor for group, entry in zip(groups, entries, strict=True)}
    own: dict[int, DigestEntry] = {}
    for group, entry in zip(groups, entries, strict=True):
        if len(group.posts) == 1:
            own[entry.post.id] = entry
        else:
            for post in group.posts:
                own[post.id] = _entry(_Group(group.key, [post]), topics, excerpt_words)
    digest = Digest(
        day=day,
        most_shared=_most_shared(ordered, anchors),
        sections=_sections(entries, topics),
        post_count=len(ordered),
        people=tuple(dict.fromkeys(post.person for post in ordered)),
    )
    return digest, own


def entry_for(post: SitePost, topics: Sequence[TopicConfig], excerpt_words: int) -> DigestEntry:
    """One post as an entry of its own, as a person's page lists their posts."""
    return _entry(_Group(_subject(post), [post]), topics, excerpt_words)


def _subject(post: SitePost) -> str:
    """What a post is about, as a link: its own link, or for a toot the link it shares."""
    if post.kind == SourceKind.MASTODON and post.links:
        return canonical_url(post.links[0])
    if post.link:
        return canonical_url(post.link)
    return f"post:{post.id}"


def _group_by_subject(posts: Sequence[SitePost]) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for post in posts:
        key = _subject(post)
        groups.setdefault(key, _Group(key)).posts.append(post)
    return list(groups.values())


def _lead_post(group: _Group) -> SitePost:
    """The post that stands for the group: the original itself (a blog post rather than a
    toot about it) when the network has it, else the first to share the link."""
    for post in group.posts:
        if post.link and canonical_url(post.link) == group.key:
            return post
    return group.posts[0]


def _entry(group: _Group, topics: Sequence[TopicConfig], excerpt_words: int) -> DigestEntry:
    posts = group.posts
    lead = posts[0] if len(posts) == 1 else _lead_post(group)
    return DigestEntry(
        anchor=f"{lead.person_slug}-{lead.id}",
        post=_without_body(lead),
        title=_entry_title(lead),
        url=lead.link,
        excerpt=excerpt(_without_title(lead), excerpt_words),
        body_html=_toot_html(lead, excerpt_words),
        topics=_labels(posts, topics),
        also_shared_by=(
            _sharers([post for post in posts if post is not lead], exclude=lead)
            if len(posts) > 1
            else ()
        ),
    )


def _without_title(post: SitePost) -> str:
    """A post's text without the title it opens with: a page's heading often comes along
    with its full text, and the entry shows the title just above the excerpt. A toot's
    title is its own first words, so its text is left whole."""
    text = post.text
    if not post.title or post.kind == SourceKind.MASTODON:
        return text
    title = post.title.split()
    if not title or not text.lstrip().startswith(title[0]):  # most texts: no split needed
        return text
    words = text.split(maxsplit=len(title))
    if len(words) > len(title) and words[: len(title)] == title:
        return words[-1]
    return text


def _without_body(post: SitePost) -> SitePost:
    """``replace(post, html=None, text="")``: an entry keeps only what it shows. Copied
    field by field through the instance dict (every field, those added later too), as
    ``dataclasses.replace`` cost more than the rest of an entry (50,000 a year)."""
    bare = object.__new__(SitePost)
    fields = bare.__dict__
    fields.update(post.__dict__)
    fields["html"] = None
    fields["text"] = ""
    return bare


def _entry_title(post: SitePost) -> str:
    if post.kind == SourceKind.MASTODON:
        if post.is_share and post.author:
            return f"{post.person} boosted {post.author}"
        return f"{post.person} on Mastodon"
    return _one_line(post.title) or _display_url(post.link) or "Untitled post"


def _toot_html(post: SitePost, excerpt_words: int) -> str | None:
    """A short Mastodon post is shown whole, sanitized once more on the way out."""
    if post.kind != SourceKind.MASTODON or not post.html:
        return None
    if len(post.text.split(maxsplit=excerpt_words * TOOT_WHOLE_FACTOR)) > (
        excerpt_words * TOOT_WHOLE_FACTOR
    ):
        return None
    return clean_html(post.html, post.link) or None


def _labels(posts: Sequence[SitePost], topics: Sequence[TopicConfig]) -> tuple[TopicLabel, ...]:
    """The topics of a group's posts in sources.yaml order, each with all its terms."""
    tags = posts[0].tags if len(posts) == 1 else tuple(t for post in posts for t in post.tags)
    if not tags:
        return ()
    # The same few topic-and-terms combinations recur all year: made once each.
    return _labels_of_tags(tags, _TopicsKey.of(topics))


class _TopicsKey:
    """The topics of a build as a cache key hashed by identity: hashing every TopicConfig
    on each lookup would cost as much as making the labels."""

    last: _TopicsKey | None = None

    def __init__(self, topics: Sequence[TopicConfig]) -> None:
        self.topics = topics

    @classmethod
    def of(cls, topics: Sequence[TopicConfig]) -> _TopicsKey:
        if cls.last is None or cls.last.topics is not topics:
            cls.last = cls(topics)
        return cls.last


@functools.lru_cache(maxsize=4096)
def _labels_of_tags(tags: tuple[TopicTag, ...], key: _TopicsKey) -> tuple[TopicLabel, ...]:
    topics = key.topics
    terms: dict[str, dict[str, None]] = {}
    for tag in tags:
        terms.setdefault(tag.slug, {}).update(dict.fromkeys(tag.terms))
    return tuple(
        TopicLabel(topic.slug, topic.name, tuple(terms[topic.slug]))
        for topic in topics
        if topic.slug in terms
    )


def _sharers(posts: Iterable[SitePost], exclude: SitePost) -> tuple[Sharer, ...]:
    """One sharer per person and kind of source, the lead's own source left out."""
    found: dict[tuple[str, SourceKind], Sharer] = {}
    for post in posts:
        if (post.person, post.kind) == (exclude.person, exclude.kind):
            continue
        found.setdefault(
            (post.person, post.kind), Sharer(post.person, post.person_slug, post.kind, post.link)
        )
    return tuple(found.values())


def _sections(
    entries: Sequence[DigestEntry], topics: Sequence[TopicConfig]
) -> tuple[DigestSection, ...]:
    by_topic: dict[str | None, list[DigestEntry]] = {}
    for entry in entries:
        first = entry.topics[0].slug if entry.topics else None
        by_topic.setdefault(first, []).append(entry)
    sections = [
        DigestSection(TopicLabel(topic.slug, topic.name), _newest_first(by_topic[topic.slug]))
        for topic in topics
        if topic.slug in by_topic
    ]
    if None in by_topic:
        sections.append(DigestSection(None, _newest_first(by_topic[None])))
    return tuple(sections)


def _newest_first(entries: list[DigestEntry]) -> tuple[DigestEntry, ...]:
    return tuple(sorted(entries, key=lambda e: (e.post.posted_at, e.post.id), reverse=True))


# ── most shared ──────────────────────────────────────────────────────────────────────────


@dataclass
class _Shared:
    url: str
    sharers: dict[str, Sharer] = field(default_factory=dict)  # person → first share
    own_title: str | None = None  # a post whose own link this is
    anchor_text: str | None = None
    last_seen: datetime | None = None


def _most_shared(posts: Sequence[SitePost], anchors: dict[str, str]) -> tuple[SharedLink, ...]:
    shared: dict[str, _Shared] = {}
    for post in posts:
        for url, is_own in _links_of(post):
            key = canonical_url(url)
            item = shared.setdefault(key, _Shared(url))
            item.sharers.setdefault(
                post.person, Sharer(post.person, post.person_slug, post.kind, post.link)
            )
            item.last_seen = post.posted_at
            if is_own and post.kind != SourceKind.MASTODON and item.own_title is None:
                item.own_title = _one_line(post.title) or None
            if item.anchor_text is None and post.html:
                item.anchor_text = _anchor_text(post.html, key)
    popular = [(key, item) for key, item in shared.items() if len(item.sharers) >= 2]
    popular.sort(key=lambda pair: (-len(pair[1].sharers), _stamp(pair[1].last_seen), pair[0]))
    return tuple(
        SharedLink(
            url=item.url,
            canonical=key,
            title=item.own_title or item.anchor_text or _display_url(item.url),
            sharers=tuple(item.sharers.values()),
            anchor=anchors.get(key),
        )
        for key, item in popular[:MOST_SHARED_LIMIT]
    )


def _stamp(moment: datetime | None) -> float:
    return -moment.timestamp() if moment else 0.0


def _links_of(post: SitePost) -> list[tuple[str, bool]]:
    """Every link a post shares, once each: its own link (a toot's own address is no shared
    link, but a boost's is: the boosted post), then the links it contains."""
    found: dict[str, tuple[str, bool]] = {}
    own = post.link if (post.kind != SourceKind.MASTODON or post.is_share) else None
    if own:
        found[canonical_url(own)] = (own, True)
    for url in post.links:
        found.setdefault(canonical_url(url), (url, False))
    return list(found.values())


def _anchor_text(html: str, canonical: str) -> str | None:
    """The words a post used to link to ``canonical``, unless they only spell the URL."""
    for match in _ANCHOR.finditer(html):
        if canonical_url(unescape(match.group(1))) != canonical:
            continue
        text = _clean_text(match.group(2))
        if text and not _LOOKS_LIKE_URL.search(text) and len(text.split()) >= 2:
            return text
    return None


def _clean_text(html: str) -> str:
    """The text of an HTML fragment on one line."""
    return _SPACE.sub(" ", unescape(_TAG.sub(" ", html))).strip()


def _one_line(text: str | None) -> str:
    """Titles are plain text already (the parser made them so): only spacing to tidy."""
    return " ".join((text or "").split())


def _display_url(url: str | None) -> str:
    """A URL as a reader scans it: no scheme, no ``www.``, no trailing slash."""
    if not url:
        return ""
    parts = urlsplit(url)
    shown = (parts.netloc.removeprefix("www.") + parts.path).rstrip("/")
    return shown or url
