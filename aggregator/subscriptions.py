"""Subscription lists in and out: OPML from any feed reader, and Mastodon's follows export.

    OPML bytes ──► listparser ──► feeds with their folders ──► NewPerson (people or groups)
    following_accounts.csv ─────────────────────────────────► NewPerson (one per account)
    Config + the feed URL of each source ───────────────────► OPML 2.0 text, grouped by person

The only module that uses listparser. Pure: nothing here reads a file or the network (the
caller hands over bytes, and is given text back), so the tests need no server.

How folders become people: a feed reader's folders are usually *groups* ("Education",
"Tech"), and each feed is then a person of its own, named by the feed's title; pln's own
export puts each person's sources in a folder named after them, and marks those sources with
the category ``/pln/person``, so that importing it gives the same people back. A folder name
or tag that matches a topic (its slug or its name) gives the person that topic.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree

from aggregator import lazy
from aggregator.errors import ParseError
from aggregator.models import (
    Config,
    NewPerson,
    NewSource,
    SkippedSource,
    SourceConfig,
    SourceKind,
    TopicConfig,
)

__all__ = [
    "PERSON_CATEGORY",
    "FolderMode",
    "Subscriptions",
    "assign_topics",
    "read_mastodon_csv",
    "read_opml",
    "read_subscriptions",
    "write_opml",
]

# Marks the outlines of one person's sources in pln's own export (an OPML 2.0 category:
# slash-separated, so feed readers show it as a category path, if at all).
PERSON_CATEGORY = "/pln/person"
# Loaded when an OPML file is first read, not with every command (start-up, issue 9).
listparser = lazy.module("listparser")

_PERSON_PATH = ["pln", "person"]  # how listparser hands the category back
_CSV_ADDRESS = "account address"
_CSV_BOOSTS = "show boosts"
_OPML_SPEC = "https://opml.org/spec2.opml"
_MASTODON_RSS = re.compile(r"/@[A-Za-z0-9_][A-Za-z0-9_.-]*\.rss")  # an account's public RSS


class FolderMode(enum.StrEnum):
    AUTO = "auto"  # people when the file is pln's own export, else groups
    PEOPLE = "people"  # the innermost folder is a person, its feeds are their sources
    GROUPS = "groups"  # every feed is a person; folders are groups (topics when they match)


@dataclass(frozen=True)
class Subscriptions:
    """What a subscription list holds, as people to add."""

    format: str  # for messages: "OPML 2.0", "Mastodon CSV"
    people: tuple[NewPerson, ...]
    skipped: tuple[SkippedSource, ...] = ()  # entries that name no feed or account
    folders: FolderMode | None = None  # how OPML folders were read (None for CSV)


# ── reading ──────────────────────────────────────────────────────────────────────────────


def read_subscriptions(
    data: bytes, name: str, folders: FolderMode = FolderMode.AUTO
) -> Subscriptions:
    """Read an OPML file or a Mastodon CSV export, told apart by their content."""
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<"):
        return read_opml(data, name, folders)
    return read_mastodon_csv(data, name)


def read_opml(data: bytes, name: str, folders: FolderMode = FolderMode.AUTO) -> Subscriptions:
    """The people of an OPML subscription list; see the module docstring for folders."""
    # Always bytes: listparser fetches a str that starts with http:// over the network.
    result = listparser.parse(bytes(data))
    version = str(result.get("version") or "")
    if not version.startswith("opml"):
        reason = result.get("bozo_exception") or "no <opml> element"
        raise ParseError(name, f"not an OPML subscription list ({reason})")
    feeds = [_OpmlFeed.of(feed) for feed in result.get("feeds", [])]
    if folders is FolderMode.AUTO:
        from_pln = any(feed.person_marked for feed in feeds)
        folders = FolderMode.PEOPLE if from_pln else FolderMode.GROUPS
    people = _people_by_folder(feeds) if folders is FolderMode.PEOPLE else _people_by_feed(feeds)
    skipped = tuple(
        SkippedSource(
            source=str(item.get("url", "")),
            person=str(item.get("title", "")),
            reason="the outline names a web page but no feed (xmlUrl): add it with `pln add`",
        )
        for item in result.get("opportunities", [])
    )
    label = {"opml1": "OPML 1.x", "opml2": "OPML 2.0"}.get(version, "OPML")
    return Subscriptions(label, tuple(people), skipped, folders)


@dataclass(frozen=True)
class _OpmlFeed:
    url: str
    title: str
    folder: tuple[str, ...]  # outer to inner
    tags: tuple[str, ...]  # categories of the outline itself, and outer folders
    person_marked: bool

    @classmethod
    def of(cls, feed: Mapping[str, object]) -> _OpmlFeed:
        url = _feed_scheme(str(feed.get("url", "")).strip())
        paths = [
            [str(part) for part in path]
            for path in feed.get("categories", []) or []  # type: ignore[attr-defined]
        ]
        marked = _PERSON_PATH in paths
        paths = [path for path in paths if path != _PERSON_PATH]
        # listparser lists the outline's own categories first and its folder path last.
        folder = tuple(paths[-1]) if paths else ()
        tags = _unique(part for path in paths[:-1] for part in path)
        return cls(url, str(feed.get("title", "")).strip(), folder, tags, marked)


def _source_of(feed: _OpmlFeed) -> NewSource:
    """The feed as a source; in pln's own export, a Mastodon account's RSS is the account."""
    if feed.person_marked:
        parts = urlsplit(feed.url)
        if _MASTODON_RSS.fullmatch(parts.path) and not parts.query:
            profile = f"{parts.scheme}://{parts.netloc}{parts.path.removesuffix('.rss')}"
            return NewSource(profile, SourceKind.MASTODON, label=feed.title or None)
    return NewSource(feed.url, label=feed.title or None)


def _people_by_feed(feeds: Sequence[_OpmlFeed]) -> list[NewPerson]:
    """Every feed is a person named by its title; every folder and tag is a group."""
    people: list[NewPerson] = []
    names = [feed.title or _host(feed.url) for feed in feeds]
    repeated = {name.casefold() for name in names if _count(names, name) > 1}
    for feed, name in zip(feeds, names, strict=True):
        if name.casefold() in repeated and feed.title:
            name = f"{name} ({_host(feed.url)})"  # two feeds called "Blog" are two people
        source = _source_of(feed)
        groups = _unique([*feed.folder, *feed.tags])
        people.append(NewPerson(name=name, sources=(source,), groups=groups))
    return people


def _people_by_folder(feeds: Sequence[_OpmlFeed]) -> list[NewPerson]:
    """The innermost folder is the person; a feed outside any folder is a person itself."""
    by_name: dict[str, NewPerson] = {}
    for feed in feeds:
        name = feed.folder[-1] if feed.folder else feed.title or _host(feed.url)
        groups = _unique([*feed.folder[:-1], *feed.tags])
        source = _source_of(feed)
        key = name.casefold()
        known = by_name.get(key)
        if known is None:
            by_name[key] = NewPerson(name=name, sources=(source,), groups=groups)
        else:
            by_name[key] = replace(
                known,
                sources=(*known.sources, source),
                groups=_unique([*known.groups, *groups]),
            )
    return list(by_name.values())


def read_mastodon_csv(data: bytes, name: str) -> Subscriptions:
    """Mastodon's ``following_accounts.csv``: one person per account, boosts as chosen there.

    The header is ``Account address,Show boosts,Notify on new posts,Languages``; exports of
    old Mastodon versions have no header and only the address.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(name, "neither OPML nor a UTF-8 CSV file") from exc
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise ParseError(name, "the file is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    boosts_column: int | None = None
    # G (review finding 12): only the export's own header, or a first line that is nothing
    # but an address, makes a Mastodon CSV: an email or a note with an "@" in it is neither.
    if header[0] == _CSV_ADDRESS:
        address_column = 0
        if _CSV_BOOSTS in header:
            boosts_column = header.index(_CSV_BOOSTS)
        rows = rows[1:]
    elif len(rows[0]) == 1 and _BARE_ADDRESS.fullmatch(rows[0][0].strip()):
        address_column = 0
        _refuse_unless_mostly_addresses(rows, name)
    else:
        raise ParseError(
            name,
            "neither OPML nor a Mastodon export: a following_accounts.csv starts with "
            "'Account address' or with an address such as user@host",
        )
    people: list[NewPerson] = []
    skipped: list[SkippedSource] = []
    for row in rows:
        address = row[address_column].strip() if address_column < len(row) else ""
        handle = "@" + address.lstrip("@")
        if address.count("@") > 2 or "@" not in handle[1:]:
            reason = "not an account address like user@host"
            skipped.append(SkippedSource(address, "", reason))
            continue
        boosts = boosts_column is not None and _csv_flag(row, boosts_column)
        source = NewSource(handle, kind=SourceKind.MASTODON, boosts=boosts)
        people.append(NewPerson(name=handle, sources=(source,)))
    return Subscriptions("Mastodon CSV", tuple(people), tuple(skipped))


# ── G (review finding 12) ── an account address alone: user@host or @user@host
_BARE_ADDRESS = re.compile(r"@?[\w.-]+@[\w-]+(?:\.[\w-]+)*(?::\d+)?")


def _refuse_unless_mostly_addresses(rows: Sequence[Sequence[str]], name: str) -> None:
    """A headerless export is a list of addresses: a file where most lines are something
    else is not one, and would have every line reported as skipped."""
    addresses = sum(1 for row in rows if _BARE_ADDRESS.fullmatch(row[0].strip()))
    if addresses * 2 < len(rows):
        raise ParseError(
            name,
            f"neither OPML nor a Mastodon export: only {addresses} of its {len(rows)} lines "
            "are account addresses such as user@host",
        )


def _csv_flag(row: Sequence[str], column: int) -> bool:
    return column < len(row) and row[column].strip().lower() in ("true", "1", "yes")


def assign_topics(
    people: Iterable[NewPerson], topics: Sequence[TopicConfig]
) -> tuple[tuple[NewPerson, ...], tuple[str, ...]]:
    """Give each person the topics their groups name; also return the groups naming none."""
    by_word = {}
    for topic in topics:
        by_word[topic.slug.casefold()] = topic.slug
        by_word.setdefault(topic.name.casefold(), topic.slug)
    assigned: list[NewPerson] = []
    unmatched: list[str] = []
    for person in people:
        found = [by_word[g.casefold()] for g in person.groups if g.casefold() in by_word]
        unmatched += [g for g in person.groups if g.casefold() not in by_word]
        assigned.append(replace(person, topics=_unique([*person.topics, *found])))
    return tuple(assigned), _unique(unmatched)


# ── writing ──────────────────────────────────────────────────────────────────────────────


def write_opml(config: Config, feed_urls: Mapping[str, str], now: datetime) -> str:
    """OPML 2.0 of every source of ``config``, one folder per person.

    ``feed_urls`` maps a source's URL to the feed a reader should subscribe to (the feed
    discovered on a page, a Mastodon account's RSS); sources missing from it are written as
    they are in sources.yaml.
    """
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = config.site.title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(now)
    ElementTree.SubElement(head, "docs").text = _OPML_SPEC
    body = ElementTree.SubElement(root, "body")
    for person in config.people:
        folder = ElementTree.SubElement(body, "outline", text=person.name, title=person.name)
        category = ",".join([PERSON_CATEGORY, *person.topics])
        for source in person.sources:
            attributes = {
                "type": "rss",
                "text": _outline_text(person.name, source, person.sources),
                "xmlUrl": feed_urls.get(source.url, source.url),
                "htmlUrl": _home_page(source, person.url),
                "category": category,
            }
            ElementTree.SubElement(folder, "outline", attributes)
    ElementTree.indent(root, space="  ")
    text = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{text}\n'


def _outline_text(name: str, source: SourceConfig, siblings: Sequence[SourceConfig]) -> str:
    """The person's name, told apart from their other sources where they have several."""
    if source.kind is SourceKind.MASTODON:
        parts = urlsplit(source.url)
        return f"{name} ({parts.path.lstrip('/')}@{parts.netloc})"
    others = [s for s in siblings if s.kind is not SourceKind.MASTODON]
    if len(others) <= 1:
        return name
    return f"{name} ({_host(source.url)}{urlsplit(source.url).path.rstrip('/')})"


def _home_page(source: SourceConfig, person_url: str | None) -> str:
    if source.kind is SourceKind.FEED:
        return person_url or _site_of(source.url)
    return source.url  # a blog's or a Mastodon account's own page


# ── helpers ──────────────────────────────────────────────────────────────────────────────


def _feed_scheme(url: str) -> str:
    """``feed://host/x`` and ``feed:https://host/x``, as some old readers wrote them."""
    lowered = url.lower()
    if lowered.startswith("feed:http://") or lowered.startswith("feed:https://"):
        return url[5:]
    if lowered.startswith("feed://"):
        return "http://" + url[7:]
    return url


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def _site_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _count(names: Sequence[str], name: str) -> int:
    key = name.casefold()
    return sum(1 for other in names if other.casefold() == key)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        if item and item.casefold() not in seen:
            seen[item.casefold()] = item
    return tuple(seen.values())
