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
import multiprocessing
import os
import pickle
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as datetime_time
from itertools import groupby, islice
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol, TypeVar

from aggregator import digest as digest_module
from aggregator import memory, searchindex
from aggregator.errors import BuildError, ConfigError, PlnError
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
    # Parts of ``posts`` read anew (build speed): a big archive's older days are rendered
    # by a child process that reads them itself. None: ``posts`` alone, in this process.
    reader: PostReader | None = None


class PostReader(Protocol):
    """The public posts by time, each call on a connection of its own (usable in a child)."""

    def between(self, since: datetime | None, until: datetime | None) -> Iterator[SitePost]:
        """The posts with ``since <= posted_at < until``, oldest first."""
        ...

    def time_at(self, position: float, at_least: int) -> datetime | None:
        """About the time of the post at ``position`` (0.5: the middle one); None when
        there are fewer than ``at_least`` posts."""
        ...

    def last_before(self, moment: datetime) -> datetime | None:
        """The time of the newest post before ``moment``."""
        ...


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
    # A symlinked output (say to a web server's folder) is built where it points, and the
    # link is kept: the swap below would otherwise replace the link with a folder, and the
    # folder it pointed at would stop being updated.
    output = resolved_output(source.config.output_path, source.config.path)
    _remove_leftovers(output)  # first: a folder a killed swap left aside is output/ again
    previous = check_output(output, source.config.path)  # before anything is written
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot create {output.parent}: {_reason(exc)}") from exc
    staging = output.parent / f"{_STAGING_PREFIX}{output.name}-{os.getpid()}"
    try:
        writer = _Writer(staging)
        collected = _Pages(source, renderer, writer).write_all()
        # ── memory (H) ── what the pages kept is freed before Pagefind runs beside us
        days, posts = len(collected.days), collected.posts
        del collected
        memory.give_back()
        indexed = _index_search(staging, output)
        check_earlier_build(staging, output, source.config.path)
        changed, unchanged, removed, written = _keep_unchanged(staging, output, previous)
        _write_manifest(staging, output, written)
        _swap(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildReport(
        output=output,
        pages=writer.pages,
        days=days,
        posts=posts,
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
        try:
            root.mkdir(parents=True)
        except OSError as exc:
            raise BuildError(f"cannot create {root}: {_reason(exc)}") from exc

    def write(self, relative: str, text: str) -> None:
        target = self.root / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BuildError(f"cannot write {target}: {exc.strerror or exc}") from exc
        self.pages += 1

    def write_chunks(self, relative: str, chunks: Iterable[str]) -> None:
        """(H, memory) Write a page as its pieces come; a failed render leaves a partial
        file in the staging folder, which the failed build removes."""
        target = self.root / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("w", encoding="utf-8") as handle:
                handle.writelines(chunks)
        except OSError as exc:
            raise BuildError(f"cannot write {target}: {exc.strerror or exc}") from exc
        self.pages += 1

    def copy(self, relative: str, source: Path) -> None:
        target = self.root / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
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
        # (H, memory) written as rendered, never whole in memory: see Renderer.stream
        self.writer.write_chunks(relative, self.renderer.stream(template, {**base, **context}))

    def _write_static(self) -> None:
        for relative, path in self.renderer.static_files():
            self.writer.copy(relative, path)

    # ── day pages, as the posts stream past ──────────────────────────────────────────────

    def _write_days(self) -> None:
        split = _split_point(self.source, self.tz)
        if split is None:
            self._write_day_run(self.source.posts, None, None)
            return
        reader = self.source.reader
        assert reader is not None  # a split exists only with a reader
        older = _OlderDays.start(self, split)
        try:
            self._write_day_run(reader.between(split.at, None), split.day_before, None)
            collected, pages = older.result(_needs(self.collected))
        finally:
            older.stop()
        self.writer.pages += pages
        _merge_older(collected, self.collected)

    def _write_day_run(
        self, posts: Iterable[SitePost], previous: date | None, following: date | None
    ) -> None:
        """The day pages of consecutive days; ``previous`` and ``following`` are the days
        just outside them (another part's), None at the ends of the archive."""
        words = self.site.excerpt_words
        pending: Digest | None = None
        for day, day_posts in _by_day(posts, self.site.tz):
            digest, own = digest_module.digest_and_own_entries(
                day, day_posts, self.config.topics, words
            )
            self._collect(digest, day_posts, own)
            if pending is not None:
                self._write_day(pending, previous, day)
                previous = pending.day
            pending = digest
        if pending is not None:
            self._write_day(pending, previous, following)

    def _write_day(self, digest: Digest, previous: date | None, following: date | None) -> None:
        self._render(
            "day.html",
            day_path(digest.day) + "index.html",
            digest=digest,
            previous_day=previous,
            next_day=following,
        )

    def _collect(
        self, digest: Digest, posts: Sequence[SitePost], own: dict[int, DigestEntry]
    ) -> None:
        """Keep what the other pages need of this day; ``own`` is each post's entry of its
        own (digest.digest_and_own_entries), as a person's page lists it."""
        collected = self.collected
        entries = digest.entries
        collected.days.append(DayCount(digest.day, digest.post_count, len(entries)))
        collected.recent.append(digest)
        collected.posts += digest.post_count
        by_topic: dict[str, list[DigestEntry]] = {}
        for entry in entries:
            for label in entry.topics:
                state = collected.topics.get(label.slug)
                if state is not None:
                    state.recent.append(DatedEntry(digest.day, entry))
                    state.total += 1
                    by_topic.setdefault(label.slug, []).append(entry)
        for topic_slug, state in collected.topics.items():
            if topic_slug in by_topic:
                state.days.append(TopicDay(digest.day, tuple(by_topic[topic_slug])))
        for post in posts:
            person = collected.people.get(post.person_slug)
            if person is not None:
                person.recent.append(DatedEntry(digest.day, own[post.id]))
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


# ── build speed (issue 9): the older days in a child process ─────────────────────────────
#
# Day pages are most of a build (digests, entries, one file each) and need nothing from each
# other but the neighbouring days' dates. A big archive is cut at a day boundary near its
# middle post: a forked child renders the older days, reading its posts through a
# connection of its own, while this process renders the newer ones; the child sends back
# only what the other pages keep (_Collected: bounded by FEED_DAYS, TOPIC_RECENT and
# PERSON_RECENT, not by the archive), merged as if one process had streamed every day.
# fork (not forkserver) because the child needs the very renderer and configuration of
# this build, already loaded; only when this process runs no other thread.

PARALLEL_MIN_POSTS = 4000  # fewer: a child costs more than it saves
# The child's share of the posts: a little under half, as it also starts (fork) and sends
# back what it kept, and this process would otherwise wait for it.
CHILD_SHARE = 0.45
_T = TypeVar("_T")
_WORKERS_VARIABLE = "PLN_WORKERS"  # 0 or 1: everything in this process


@dataclass(frozen=True)
class _Split:
    at: datetime  # the first instant of ``day`` in the site's time zone
    day: date  # the first day of the newer part
    day_before: date  # the last day of the older part


def _split_point(source: SiteInput, tz: tzinfo) -> _Split | None:
    """Where to cut the posts in two, or None to build in one process."""
    reader = source.reader
    if reader is None or not _may_fork():
        return None
    middle = reader.time_at(CHILD_SHARE, PARALLEL_MIN_POSTS)
    if middle is None:
        return None
    day = digest_module.day_of(middle, tz)
    at = datetime.combine(day, datetime_time(0), tzinfo=tz).astimezone(UTC)
    # A zone whose day starts at another hour (or skips midnight) must still cut between
    # two days, or one day would be written by both processes.
    before_day = digest_module.day_of(at - timedelta(microseconds=1), tz)
    if digest_module.day_of(at, tz) != day or before_day >= day:
        return None
    previous = reader.last_before(at)
    if previous is None:
        return None
    return _Split(at, day, digest_module.day_of(previous, tz))


def _may_fork() -> bool:
    workers = os.environ.get(_WORKERS_VARIABLE, "")
    if workers.strip().isdigit() and int(workers) < 2:
        return False
    if (os.cpu_count() or 1) < 2 or threading.active_count() > 1:
        return False
    return "fork" in multiprocessing.get_all_start_methods()


class _OlderDays:
    """A forked child writing the days before the split into the same staging folder."""

    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self.process = process
        self.connection = connection

    @classmethod
    def start(cls, pages: _Pages, split: _Split) -> _OlderDays:
        ours, theirs = multiprocessing.Pipe()
        context = multiprocessing.get_context("fork")
        process = context.Process(
            target=_write_older_days, args=(pages, split, theirs), name="pln-build-days"
        )
        process.start()
        theirs.close()
        return cls(process, ours)

    def result(self, needs: _Needs) -> tuple[_Collected, int]:
        """What the child kept of its days, cut to what ``needs`` says the newer days leave
        room for (most of it, in a big archive, is pushed out by newer entries)."""
        with contextlib.suppress(OSError):  # a child that failed has told why, and left
            self.connection.send(needs)
        try:
            outcome, value, pages = self.connection.recv()
        except EOFError as exc:
            self.process.join()
            raise BuildError(
                f"the process writing the older day pages stopped (exit {self.process.exitcode})"
            ) from exc
        if outcome == "error":
            raise value
        return value, pages

    def stop(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _write_older_days(pages: _Pages, split: _Split, parent: Connection) -> None:
    """In the child: the older days, then what the other pages need of them."""
    try:
        reader = pages.source.reader
        assert reader is not None
        written = pages.writer.pages
        pages._write_day_run(reader.between(None, split.at), None, split.day)
        _keep_needed(pages.collected, parent.recv())
        message: tuple[str, object, int] = (
            "ok",
            pages.collected,
            pages.writer.pages - written,
        )
    except BaseException as exc:  # told to the parent, which fails the build with it
        message = ("error", _sendable(exc), 0)
    try:
        parent.send(message)
    except (OSError, EOFError):  # the parent failed first and closed its end
        pass
    finally:
        parent.close()


@dataclass(frozen=True)
class _Needs:
    """How many of the older part's latest items each list of _Collected still takes."""

    recent: int
    topics: dict[str, tuple[int, int]]  # slug → (recent entries, days)
    people: dict[str, int]  # slug → recent entries


def _needs(newer: _Collected) -> _Needs:
    def room(items: deque[Any]) -> int:
        return (items.maxlen or 0) - len(items)

    return _Needs(
        recent=room(newer.recent),
        topics={slug: (room(t.recent), room(t.days)) for slug, t in newer.topics.items()},
        people={slug: room(p.recent) for slug, p in newer.people.items()},
    )


def _latest(items: deque[_T], count: int) -> deque[_T]:
    return deque(islice(items, max(len(items) - count, 0), None), maxlen=items.maxlen)


def _keep_needed(older: _Collected, needs: _Needs) -> None:
    older.recent = _latest(older.recent, needs.recent)
    for slug, topic in older.topics.items():
        recent, days = needs.topics.get(slug, (0, 0))
        topic.recent = _latest(topic.recent, recent)
        topic.days = _latest(topic.days, days)
    for slug, person in older.people.items():
        person.recent = _latest(person.recent, needs.people.get(slug, 0))


def _sendable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (BuildError does, with its file and line)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return BuildError(f"{type(exc).__name__}: {exc}")
    return exc


def _merge_older(older: _Collected, newer: _Collected) -> None:
    """Put the older part's days in front of ``newer``'s, as one stream would have."""
    newer.days[:0] = older.days
    newer.recent = deque([*older.recent, *newer.recent], maxlen=newer.recent.maxlen)
    newer.posts += older.posts
    for slug, topic in newer.topics.items():
        before = older.topics[slug]
        topic.recent = deque([*before.recent, *topic.recent], maxlen=TOPIC_RECENT)
        topic.days = deque([*before.days, *topic.days], maxlen=FEED_DAYS)
        topic.total += before.total
    for slug, person in newer.people.items():
        earlier = older.people[slug]
        person.recent = deque([*earlier.recent, *person.recent], maxlen=PERSON_RECENT)
        person.weekly = [a + b for a, b in zip(earlier.weekly, person.weekly, strict=True)]
        person.last_30_days += earlier.last_30_days
        person.first_post = earlier.first_post or person.first_post
        person.last_post = person.last_post or earlier.last_post


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


# (engineer H, memory: Pagefind runs in parts of bounded size; see aggregator/searchindex.py)
def _pagefind_binary() -> Path | None:
    return searchindex.pagefind_binary()


def _index_search(staging: Path, previous: Path | None = None) -> bool:
    """Index the day pages with Pagefind, in parts; False (and no index) when it is not
    installed. Parts whose pages did not change are copied from ``previous`` (output/)."""
    return searchindex.index_site(staging, previous)


# ── swapping the new site in (engineer F: pln replaces only what it built) ───────────────
#
# A build replaces the whole of output/. So that it never destroys what it did not make,
# each build leaves a list of the files it wrote (MANIFEST_NAME), and the next refuses a
# folder that holds any other file. A folder built by a pln older than that list is known
# by the pages every build writes (_EARLIER_BUILD). Dotfiles and dot-folders at the top of
# output/ that pln did not write (.gitkeep, .nojekyll, a .git of a gh-pages checkout) are
# the user's: they are moved into each new build, and counted neither way.

MANIFEST_NAME = ".pln-manifest"
_MANIFEST_HEADER = (
    "# pln: the files its last build wrote here. A build replaces this folder only when it\n"
    "# holds no other file (dotfiles at the top are kept).\n"
)
_EARLIER_BUILD = ("index.html", "feed.xml", "archive/index.html")
_BUILT_FOLDERS = re.compile(r"(\d{4}|topics|people|archive|search|pagefind)/")  # every build's
_FOREIGN_SHOWN = 3  # files named in the refusal; the count says how many more


def resolved_output(output: Path, config_file: Path) -> Path:
    """Where ``site.output`` really is, through any symbolic links."""
    try:
        return output.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of links (Python 3.11)
        raise ConfigError(
            f"{output} cannot be followed to a folder ({exc}). Nothing was changed.",
            file=config_file,
            key="site.output",
        ) from exc


def check_output(output: Path, config_file: Path) -> list[str]:
    """Refuse an ``output`` that is a file, or a folder holding files pln did not write;
    return the files of the build there (none for a new folder), sorted."""
    if not output.exists() and not output.is_symlink():
        return []
    if not output.is_dir():
        raise ConfigError(
            f"{output} is a file, not a folder: a build would replace it with the site. "
            "Set site.output to a new or empty folder. Nothing was changed.",
            file=config_file,
            key="site.output",
        )
    built = _read_manifest(output)
    files = sorted(_relative_files(output, _users_entries(output, built)))
    foreign = _foreign_files(output, built, files)
    if foreign:
        raise _refusal(output, foreign, config_file)
    return files


def check_earlier_build(staging: Path, output: Path, config_file: Path) -> None:
    """An earlier pln's site (no list of its files): refuse it, before the swap, if it holds
    a file this build did not write either, outside the folders a build fills."""
    if _read_manifest(output) is not None or not output.is_dir():
        return
    new = set(_relative_files(staging))
    foreign = [
        name
        for name in sorted(_relative_files(output, _users_entries(output, None)))
        if name not in new and not _BUILT_FOLDERS.match(name)
    ]
    if foreign:
        raise _refusal(output, foreign, config_file)


def _refusal(output: Path, foreign: Sequence[str], config_file: Path) -> ConfigError:
    shown = ", ".join(foreign[:_FOREIGN_SHOWN])
    more = f" and {len(foreign) - _FOREIGN_SHOWN} more" if len(foreign) > _FOREIGN_SHOWN else ""
    return ConfigError(
        f"{output} holds files pln did not write ({shown}{more}), and a build replaces "
        "the whole folder. Move them out (files to publish with the site go in "
        "templates/static/, copied into every build), or set site.output to a new or "
        "empty folder. Nothing was changed.",
        file=config_file,
        key="site.output",
    )


def _foreign_files(output: Path, built: frozenset[str] | None, files: list[str]) -> list[str]:
    """The ``files`` of ``output`` no pln build wrote. An earlier pln's build (known by the
    pages every build writes) is checked against the new build: check_earlier_build."""
    if built is not None:
        return [name for name in files if name not in built]
    if files and all((output / name).is_file() for name in _EARLIER_BUILD):
        return []
    return files


def built_file_count(output: Path) -> int:
    """How many files of ``output`` a build wrote (not its list, not the user's dotfiles)."""
    return sum(1 for _ in _site_files(output, _users_entries(output, _read_manifest(output))))


def _read_manifest(output: Path) -> frozenset[str] | None:
    try:
        text = (output / MANIFEST_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def _users_entries(output: Path, built: frozenset[str] | None) -> list[str]:
    """The dotfiles and dot-folders at the top of ``output`` that no build wrote."""
    if not output.is_dir():
        return []
    ours = {name.partition("/")[0] for name in built or ()}
    return sorted(
        entry.name
        for entry in output.iterdir()
        if entry.name.startswith(".") and entry.name != MANIFEST_NAME and entry.name not in ours
    )


def _site_files(root: Path, skip: Iterable[str] = ()) -> Iterator[Path]:
    """The files under ``root``, but for the manifest and the top-level entries in ``skip``.
    A symbolic link counts as a file (pln never writes one, so a link is the user's, and a
    swap would delete it): never followed, even when it points at a folder or nowhere."""
    if not root.is_dir():
        return
    left_out = {MANIFEST_NAME, *skip}
    for entry in root.iterdir():
        if entry.name in left_out:
            continue
        if entry.is_dir() and not entry.is_symlink():
            yield from (path for path in entry.rglob("*") if path.is_symlink() or path.is_file())
        elif entry.is_symlink() or entry.is_file():
            yield entry


def _relative_files(root: Path, skip: Iterable[str] = ()) -> Iterator[str]:
    for path in _site_files(root, skip):
        yield path.relative_to(root).as_posix()


def _keep_unchanged(
    staging: Path, output: Path, previous: Iterable[str]
) -> tuple[int, int, int, list[str]]:
    """Give each new file whose bytes equal the old one's the old modification time; count
    the changed, unchanged and removed (of ``previous``, the old build's files); and list
    the new build's files."""
    changed = unchanged = 0
    new_files: set[str] = set()
    for path in _site_files(staging):
        relative = path.relative_to(staging)
        new_files.add(relative.as_posix())
        old = output / relative
        if _same_bytes(path, old):
            stat = old.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            unchanged += 1
        elif _same_but_updated(path, old):
            shutil.copy2(old, path)  # the old instant is the truer one: nothing else changed
            unchanged += 1
        else:
            changed += 1
    removed = sum(1 for name in previous if name not in new_files)
    return changed, unchanged, removed, sorted(new_files)


_COMPARE_BLOCK = 2**20  # (H, memory)


def _same_bytes(new: Path, old: Path) -> bool:
    try:
        if not old.is_file() or old.stat().st_size != new.stat().st_size:
            return False
        # (H, memory) compared in blocks: a 30 MB feed is not read whole, twice
        with old.open("rb") as old_file, new.open("rb") as new_file:
            while True:
                block = old_file.read(_COMPARE_BLOCK)
                if block != new_file.read(_COMPARE_BLOCK):
                    return False
                if not block:
                    return True
    except OSError:
        return False


# A feed with no entry says it was updated at the build's own time (Atom wants an instant),
# so an empty site's feeds differed on every build. Atom's feed-level <updated> is when the
# feed last changed: when nothing else in it did, the previous file is the right one.
_FEED_UPDATED = re.compile(rb"<updated>[^<]*</updated>")
_FEED_COMPARED = 2**18  # a feed with no entry is small; a big one has its entries' time


def _same_but_updated(new: Path, old: Path) -> bool:
    """True when two feeds differ only in their first ``<updated>``."""
    if new.suffix != ".xml":
        return False
    try:
        if not old.is_file() or max(new.stat().st_size, old.stat().st_size) > _FEED_COMPARED:
            return False
        new_bytes, old_bytes = new.read_bytes(), old.read_bytes()
    except OSError:
        return False
    return _FEED_UPDATED.sub(b"", new_bytes, count=1) == _FEED_UPDATED.sub(b"", old_bytes, count=1)


def _write_manifest(staging: Path, output: Path, names: Iterable[str]) -> None:
    """List the files of this build, for the next one; it keeps its time when unchanged."""
    manifest = staging / MANIFEST_NAME
    try:
        listed = "".join(f"{name}\n" for name in sorted(names))  # sorted: the same every build
        manifest.write_text(_MANIFEST_HEADER + listed, "utf-8")
        previous = output / MANIFEST_NAME
        if _same_bytes(manifest, previous):
            shutil.copystat(previous, manifest)
    except OSError as exc:
        raise BuildError(f"cannot write {manifest}: {_reason(exc)}") from exc


def _swap(staging: Path, output: Path) -> None:
    """Put ``staging`` where ``output`` is, in two renames; the old site is removed last,
    once the user's own dot entries have moved into the new one."""
    old = output.parent / f"{_OLD_PREFIX}{output.name}-{os.getpid()}"
    users = _users_entries(output, _read_manifest(output))
    try:
        if output.exists():
            output.rename(old)
        staging.rename(output)
    except OSError as exc:
        if old.exists() and not output.exists():
            old.rename(output)
        raise BuildError(f"cannot replace {output}: {_reason(exc)}") from exc
    _move_users_entries(old, output, users)
    shutil.rmtree(old, ignore_errors=True)


def _move_users_entries(old: Path, output: Path, names: Sequence[str]) -> None:
    """Move the user's dot entries from the old site into the new one (a build's own file
    of the same name, from templates/static/, wins). Whatever cannot move stays in ``old``,
    which is then kept (see _remove_leftovers), and the error says where."""
    for name in names:
        if (output / name).exists():
            continue
        try:
            (old / name).rename(output / name)
        except OSError as exc:
            raise BuildError(
                f"the site was built, but {name} could not be moved into it from {old} "
                f"({_reason(exc)}): move it back by hand"
            ) from exc


def _remove_leftovers(output: Path) -> None:
    """Staging folders of a build that was killed (we hold the site lock: none is live). An
    old site that still holds a user's dot entries (killed before they moved, or a move that
    failed) gives them to output/ first, and is left alone when it cannot."""
    for prefix in (_STAGING_PREFIX, _OLD_PREFIX):
        for leftover in output.parent.glob(f"{prefix}{output.name}-*"):
            if prefix == _OLD_PREFIX and not output.exists():
                with contextlib.suppress(OSError):  # killed between the renames: put it back
                    leftover.rename(output)
                    continue
            users = _users_entries(leftover, _read_manifest(leftover))
            if prefix == _OLD_PREFIX and users:
                try:
                    _move_users_entries(leftover, output, users)
                except BuildError:
                    continue
            shutil.rmtree(leftover, ignore_errors=True)


def _reason(exc: OSError) -> str:
    return str(exc.strerror or exc)


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
