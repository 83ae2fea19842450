"""The static site: every page of SPEC.md written into output/ at once, or not at all.

    posts, oldest first ─► one day at a time ─► Digest ─► YYYY/MM/DD/index.html
                                       │
                  kept small as it goes: the last days (home, feeds), each topic's and
                  person's latest entries, a count per day (archive), weekly activity
                                       │
                  index.html, topics/, people/, archive/, feed.xml, search/ ◄──┘

Pages are rendered into a staging folder beside output/, which is then swapped in: a build
that fails anywhere leaves the previous site as it was. A file whose bytes did not change
keeps its old modification time, so rsync and CI deploys upload only what changed.

Search is Pagefind's: its binary (shipped by the ``pagefind[bin]`` package) indexes the day
pages of the staging folder, one sub-result per entry, with filters by topic and person.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from itertools import groupby
from pathlib import Path
from typing import Any

from aggregator import digest as digest_module
from aggregator.errors import BuildError, PlnError
from aggregator.models import (
    Config,
    Digest,
    DigestEntry,
    SitePerson,
    SitePost,
    SourceHealth,
    TopicLabel,
)
from aggregator.render import Renderer, day_path

__all__ = [
    "FEED_DAYS",
    "BuildReport",
    "SiteInput",
    "build_site",
    "serve",
]

FEED_DAYS = 30  # days in feed.xml: a feed reader wants the latest, not the archive
TOPIC_RECENT = 50  # entries on a topic page
PERSON_RECENT = 30  # posts on a person page
ACTIVITY_WEEKS = 12  # the weekly activity bars of a person
PAGEFIND_DIR = "search/pagefind"
PAGEFIND_TIMEOUT = 600  # seconds; indexing a year of day pages takes a few
_STAGING_PREFIX = ".building-"
_OLD_PREFIX = ".previous-"


@dataclass(frozen=True)
class SiteInput:
    """What a build reads: the configuration and the store's answers, one query each."""

    config: Config
    posts: Iterable[SitePost]  # oldest first; streamed, never held whole
    people: Sequence[SitePerson]
    health: Sequence[SourceHealth]  # sources of the people above
    now: datetime
    trends: Sequence[str] = ()  # trending terms, best first (empty: no trends section)


@dataclass(frozen=True)
class BuildReport:
    output: Path
    pages: int  # HTML pages and feeds written
    days: int
    posts: int
    changed: int  # files new or different from the previous build
    unchanged: int  # files that kept their bytes and modification time
    removed: int  # files of the previous build that are gone
    search_indexed: bool
    elapsed: float


# ── what a build keeps while the days stream past ────────────────────────────────────────


@dataclass(frozen=True)
class DayCount:
    day: date
    posts: int
    entries: int


@dataclass(frozen=True)
class DatedEntry:
    day: date
    entry: DigestEntry


@dataclass(frozen=True)
class TopicDay:
    day: date
    entries: tuple[DigestEntry, ...]


@dataclass
class _TopicState:
    label: TopicLabel
    recent: deque[DatedEntry] = field(default_factory=lambda: deque(maxlen=TOPIC_RECENT))
    days: deque[TopicDay] = field(default_factory=lambda: deque(maxlen=FEED_DAYS))
    total: int = 0


@dataclass
class _PersonState:
    person: SitePerson
    recent: deque[DatedEntry] = field(default_factory=lambda: deque(maxlen=PERSON_RECENT))
    weekly: list[int] = field(default_factory=lambda: [0] * ACTIVITY_WEEKS)
    last_30_days: int = 0
    first_post: datetime | None = None
    last_post: datetime | None = None


@dataclass
class _Collected:
    """Everything but the day pages needs only this much, however long the archive."""

    days: list[DayCount] = field(default_factory=list)
    recent: deque[Digest] = field(default_factory=deque)
    topics: dict[str, _TopicState] = field(default_factory=dict)
    people: dict[str, _PersonState] = field(default_factory=dict)
    posts: int = 0


# ── the build ────────────────────────────────────────────────────────────────────────────


def build_site(source: SiteInput, renderer: Renderer) -> BuildReport:
    """Render every page into a staging folder, index it, and swap it in for output/."""
    started = time.monotonic()
    output = source.config.output_path
    output.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(output)
    staging = output.parent / f"{_STAGING_PREFIX}{output.name}-{os.getpid()}"
    try:
        writer = _Writer(staging)
        collected = _Pages(source, renderer, writer).write_all()
        indexed = _index_search(staging)
        changed, unchanged, removed = _keep_unchanged(staging, output)
        _swap(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildReport(
        output=output,
        pages=writer.pages,
        days=len(collected.days),
        posts=collected.posts,
        changed=changed,
        unchanged=unchanged,
        removed=removed,
        search_indexed=indexed,
        elapsed=time.monotonic() - started,
    )


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.pages = 0
        root.mkdir(parents=True)

    def write(self, relative: str, text: str) -> None:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BuildError(f"cannot write {target}: {exc.strerror or exc}") from exc
        self.pages += 1

    def copy(self, relative: str, source: Path) -> None:
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(source, target)
        except OSError as exc:
            raise BuildError(f"cannot copy {source} to {target}: {exc.strerror or exc}") from exc


class _Pages:
    """Writes the pages of one build; day pages as the days stream past, the rest at the end."""

    def __init__(self, source: SiteInput, renderer: Renderer, writer: _Writer) -> None:
        self.source = source
        self.config = source.config
        self.site = source.config.site
        self.renderer = renderer
        self.writer = writer
        self.tz = self.site.tz
        self.today = source.now.astimezone(self.tz).date()
        self.collected = _Collected(recent=deque(maxlen=max(self.site.home_days, FEED_DAYS)))
        for topic in self.config.topics:
            self.collected.topics[topic.slug] = _TopicState(TopicLabel(topic.slug, topic.name))
        for person in source.people:
            self.collected.people[person.slug] = _PersonState(person)

    def write_all(self) -> _Collected:
        self._write_static()
        self._write_days()
        self._write_home()
        self._write_archive()
        self._write_topics()
        self._write_people()
        self._write_search()
        self._write_feed()
        return self.collected

    def _render(self, template: str, relative: str, **context: Any) -> None:
        depth = relative.count("/")
        base = {
            "site": self.site,
            "root": "../" * depth,
            "path": relative.removesuffix("index.html"),
            "now": self.source.now,
            "today": self.today,
            "topics": self.config.topics,
            "has_posts": bool(self.collected.days),
        }
        self.writer.write(relative, self.renderer.render(template, {**base, **context}))

    def _write_static(self) -> None:
        for relative, path in self.renderer.static_files():
            self.writer.copy(relative, path)

    # ── day pages, as the posts stream past ──────────────────────────────────────────────

    def _write_days(self) -> None:
        words = self.site.excerpt_words
        previous: date | None = None
        pending: Digest | None = None
        for day, posts in _by_day(self.source.posts, self.site.tz):
            digest = digest_module.build_digest(day, posts, self.config.topics, words)
            self._collect(digest, posts)
            if pending is not None:
                self._write_day(pending, previous, day)
                previous = pending.day
            pending = digest
        if pending is not None:
            self._write_day(pending, previous, None)

    def _write_day(self, digest: Digest, previous: date | None, following: date | None) -> None:
        self._render(
            "day.html",
            day_path(digest.day) + "index.html",
            digest=digest,
            previous_day=previous,
            next_day=following,
        )

    def _collect(self, digest: Digest, posts: Sequence[SitePost]) -> None:
        collected = self.collected
        entries = digest.entries
        collected.days.append(DayCount(digest.day, digest.post_count, len(entries)))
        collected.recent.append(digest)
        collected.posts += digest.post_count
        for entry in entries:
            for label in entry.topics:
                state = collected.topics.get(label.slug)
                if state is not None:
                    state.recent.append(DatedEntry(digest.day, entry))
                    state.total += 1
        for topic_slug, state in collected.topics.items():
            today = tuple(e for e in entries if any(t.slug == topic_slug for t in e.topics))
            if today:
                state.days.append(TopicDay(digest.day, today))
        words = self.site.excerpt_words
        for post in posts:
            person = collected.people.get(post.person_slug)
            if person is not None:
                entry = digest_module.entry_for(post, self.config.topics, words)
                person.recent.append(DatedEntry(digest.day, entry))
                self._count_activity(person, post.posted_at)

    def _count_activity(self, person: _PersonState, moment: datetime) -> None:
        person.first_post = person.first_post or moment
        person.last_post = moment
        age = self.source.now - moment
        if timedelta(0) <= age < timedelta(days=30):
            person.last_30_days += 1
        week = age.days // 7
        if 0 <= week < ACTIVITY_WEEKS:
            person.weekly[ACTIVITY_WEEKS - 1 - week] += 1

    # ── the other pages ──────────────────────────────────────────────────────────────────

    def _home_digests(self) -> list[Digest]:
        recent = list(self.collected.recent)[-self.site.home_days :]
        return list(reversed(recent))

    def _write_home(self) -> None:
        self._render(
            "home.html",
            "index.html",
            digests=self._home_digests(),
            trends=list(self.source.trends),
            people_count=len(self.source.people),
        )

    def _write_archive(self) -> None:
        months: list[tuple[date, list[DayCount]]] = []
        for month, counts in groupby(
            reversed(self.collected.days), key=lambda count: count.day.replace(day=1)
        ):
            months.append((month, list(counts)))
        self._render("archive.html", "archive/index.html", months=months)

    def _write_topics(self) -> None:
        states = [self.collected.topics[topic.slug] for topic in self.config.topics]
        self._render("topics.html", "topics/index.html", topic_states=states)
        for state in states:
            folder = f"topics/{state.label.slug}/"
            recent = list(reversed(state.recent))
            self._render("topic.html", folder + "index.html", topic=state, entries=recent)
            self._render(
                "feed.xml",
                folder + "feed.xml",
                feed_title=f"{self.site.title}: {state.label.name}",
                feed_path=folder + "feed.xml",
                page_path=folder,
                feed_days=[(day.day, day.entries, None) for day in reversed(state.days)],
                topic=state.label,
            )

    def _write_people(self) -> None:
        health = _health_by_person(self.source.health)
        people = list(self.collected.people.values())
        self._render("people.html", "people/index.html", people=people, health=health)
        for person in people:
            self._render(
                "person.html",
                f"people/{person.person.slug}/index.html",
                person=person,
                sources=health.get(person.person.name, []),
                entries=list(reversed(person.recent)),
                weeks=_week_starts(self.today, ACTIVITY_WEEKS),
            )

    def _write_search(self) -> None:
        self._render("search.html", "search/index.html", people=self.source.people)

    def _write_feed(self) -> None:
        recent = list(reversed(self.collected.recent))[:FEED_DAYS]
        self._render(
            "feed.xml",
            "feed.xml",
            feed_title=self.site.title,
            feed_path="feed.xml",
            page_path="",
            feed_days=[(digest.day, digest.entries, digest) for digest in recent],
            topic=None,
        )


def _by_day(posts: Iterable[SitePost], tz: tzinfo) -> Iterator[tuple[date, list[SitePost]]]:
    """Consecutive posts of one day in the site's time zone (posts come oldest first)."""
    for day, group in groupby(posts, key=lambda post: digest_module.day_of(post.posted_at, tz)):
        yield day, list(group)


def _health_by_person(health: Sequence[SourceHealth]) -> dict[str, list[SourceHealth]]:
    found: dict[str, list[SourceHealth]] = {}
    for source in health:
        found.setdefault(source.person, []).append(source)
    return found


def _week_starts(today: date, weeks: int) -> list[date]:
    """The first day of each of the last ``weeks`` seven-day windows, oldest first."""
    return [today - timedelta(days=7 * (weeks - 1 - index) + 6) for index in range(weeks)]


# ── search index ─────────────────────────────────────────────────────────────────────────


def _pagefind_binary() -> Path | None:
    try:
        from pagefind.service import get_executable
    except ImportError:
        return None
    return get_executable()


def _index_search(staging: Path) -> bool:
    """Index the day pages with Pagefind; False (and no index) when it is not installed."""
    binary = _pagefind_binary()
    if binary is None:
        return False
    command = [
        str(binary),
        "--site",
        str(staging),
        "--output-subdir",
        PAGEFIND_DIR,
        "--silent",
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=PAGEFIND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"the search index could not be built: {exc}") from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BuildError(
            "the search index could not be built: "
            + (detail[-1] if detail else f"pagefind exited with {result.returncode}")
        )
    return True


# ── swapping the new site in ─────────────────────────────────────────────────────────────


def _files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        for path in root.rglob("*"):
            if path.is_file():
                yield path


def _keep_unchanged(staging: Path, output: Path) -> tuple[int, int, int]:
    """Give each new file whose bytes equal the old one's the old modification time."""
    changed = unchanged = 0
    new_files: set[str] = set()
    for path in _files(staging):
        relative = path.relative_to(staging)
        new_files.add(relative.as_posix())
        old = output / relative
        if _same_bytes(path, old):
            stat = old.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            unchanged += 1
        else:
            changed += 1
    removed = sum(
        1 for path in _files(output) if path.relative_to(output).as_posix() not in new_files
    )
    return changed, unchanged, removed


def _same_bytes(new: Path, old: Path) -> bool:
    try:
        if not old.is_file() or old.stat().st_size != new.stat().st_size:
            return False
        return old.read_bytes() == new.read_bytes()
    except OSError:
        return False


def _swap(staging: Path, output: Path) -> None:
    """Put ``staging`` where ``output`` is, in two renames; the old site is removed last."""
    old = output.parent / f"{_OLD_PREFIX}{output.name}-{os.getpid()}"
    # A repository that keeps output/ in git by a placeholder keeps it after every build.
    placeholder = output / ".gitkeep"
    if placeholder.is_file():
        shutil.copy2(placeholder, staging / ".gitkeep")
    try:
        if output.exists():
            output.rename(old)
        staging.rename(output)
    except OSError as exc:
        if old.exists() and not output.exists():
            old.rename(output)
        raise BuildError(f"cannot replace {output}: {exc.strerror or exc}") from exc
    shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(output: Path) -> None:
    """Staging folders of a build that was killed (we hold the site lock: none is live)."""
    for prefix in (_STAGING_PREFIX, _OLD_PREFIX):
        for leftover in output.parent.glob(f"{prefix}{output.name}-*"):
            shutil.rmtree(leftover, ignore_errors=True)


# ── preview ──────────────────────────────────────────────────────────────────────────────


class _PreviewHandler(http.server.SimpleHTTPRequestHandler):
    """Serves output/ as a static host would, without caching, quietly."""

    extensions_map = {  # noqa: RUF012 (the base class declares it as a plain dict)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/atom+xml; charset=utf-8",
        ".wasm": "application/wasm",
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".html": "text/html; charset=utf-8",
        ".svg": "image/svg+xml",
    }

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(output: Path, port: int, *, ready: Any = None) -> None:
    """Serve ``output`` on 127.0.0.1:``port`` until interrupted (port 0: any free port).

    ``ready``, if given, is called with the server's URL once it listens.
    """
    if not (output / "index.html").is_file():
        raise BuildError(f"nothing to serve: {output} has no index.html yet; run `pln build`")
    handler = functools.partial(_PreviewHandler, directory=str(output))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise PlnError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc
    with server:
        host, bound = server.server_address[:2]
        if ready is not None:
            ready(f"http://{host!s}:{bound}/")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
