"""What pln does, step by step: the only module that sequences I/O.

The CLI calls these functions; they take a ``clock`` so tests can fix the time, and report
progress through a small ``Progress`` observer so the CLI decides how it looks.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar
from urllib.parse import urljoin

from aggregator import (
    buildstamp,
    extract,
    health,
    labels,  # ── labels (D) ──
    lazy,
    mastodon,
    policy,
    reports,
    sitemap,
    subscriptions,
    topics,
)
from aggregator import config as config_module
from aggregator.config_hints import query_problem  # ── G (review finding 11)
from aggregator.errors import (
    ConfigError,
    DeliveryError,
    FetchError,
    HttpStatusError,
    LockError,
    ParseError,
    PlnError,
    StorageError,
    WriteError,  # ── engineer F ──
)
from aggregator.fetch import Fetcher, spread_hosts
from aggregator.lock import site_lock
from aggregator.models import (
    Article,
    Config,
    Digest,
    EmailConfig,
    EmailStatus,
    FeedLinks,
    FetchResult,
    FetchSummary,
    FullText,
    HealthReport,
    MailDigest,
    MastodonCursor,
    NewPerson,
    NewSource,
    PagePost,
    ParsedFeed,
    ParsedPost,
    Problem,
    ReportedProblem,
    ReportPlan,
    SearchResults,  # ── search ──
    SentDigest,
    SitePost,
    SkippedSource,
    SourceConfig,
    SourceHealth,
    SourceKind,
    SourceOutcome,
    SourcesEdit,
    SourceState,
    SourceStatus,
    Trends,
    UnfinishedRun,
)
from aggregator.query import SEARCH_CAP  # ── search ──
from aggregator.sitemap import SitemapEntry
from aggregator.store import PageDecision, SaveCounts, Store, check_fts_query

# ── start-up (engineer E) ── what only build, serve and email use is loaded when first used:
# Jinja2, css-inline and the site builder cost a fetch 0.1 s of start-up otherwise.
# A warm fetch parses nothing in this process (feedparser: the parse pool's workers load it).
if TYPE_CHECKING:
    from aggregator import digest as digest_module
    from aggregator import mail as mail_module
    from aggregator import parse
    from aggregator import render as render_module
    from aggregator import site as site_module
    from aggregator.render import Renderer
else:
    digest_module = lazy.module("aggregator.digest")
    mail_module = lazy.module("aggregator.mail")
    parse = lazy.module("aggregator.parse")
    render_module = lazy.module("aggregator.render")
    site_module = lazy.module("aggregator.site")

log = logging.getLogger("pln")

Clock = Callable[[], datetime]

# A page may name several feeds; trying more than a few is wasted requests.
MAX_DISCOVERED_TRIES = 3


def system_clock() -> datetime:
    return datetime.now(UTC)


class Progress(Protocol):
    """What the app tells its caller while it fetches."""

    def start(self, total: int) -> None: ...

    def source_done(self, outcome: SourceOutcome) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        pass

    def source_done(self, outcome: SourceOutcome) -> None:
        pass


# ── configuration ────────────────────────────────────────────────────────────────────────


def load_config(site_dir: Path) -> Config:
    """Read and fully validate a site directory's sources.yaml, topic queries included."""
    path = config_module.find_config(site_dir)
    config = config_module.load_config(path)
    for index, topic in enumerate(config.topics):
        problem = check_fts_query(topic.match)
        if problem is not None:
            # ── G (review finding 11): the path as the user gave it, the match: line, and
            # what SQLite's reason means
            raise ConfigError(
                f"topic {topic.name!r}: the match query is not valid FTS5 syntax "
                f"({query_problem(problem)})",
                file=path,
                line=topic.match_line or topic.line,
                key=f"topics[{index}].match",
            )
    return config


def init_site(site_dir: Path) -> Path:
    """Create a site directory with the commented starter sources.yaml; never overwrite."""
    target = site_dir / "sources.yaml"
    if target.exists():
        raise ConfigError(f"{target} already exists: nothing was changed")
    # ── engineer F ── a read-only disk, or a file where a folder goes: one line, not a traceback
    try:
        site_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError.from_os_error(site_dir, exc) from exc
    try:
        target.write_text(config_module.starter_text(), encoding="utf-8")
    except OSError as exc:
        raise WriteError.from_os_error(target, exc) from exc
    return target


# ── fetch ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class _Fetched:
    """A source's answer, read and parsed, ready to store."""

    feed: ParsedFeed | None  # None: nothing changed since last time
    fetch_url: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    redirect_to: str | None
    notes: tuple[str, ...]


def fetch(
    config: Config,
    *,
    clock: Clock = system_clock,
    progress: Progress | None = None,
    force: bool = False,
) -> FetchSummary:
    """Fetch every due source of ``config`` into its store; one failed source is a result."""
    with site_lock(config.site_dir, "fetch"), Store.open(config.database_path) as store:
        started = time.monotonic()  # after the lock: waiting for another pln is no fetch time
        states = store.sync_config(config, clock())
        retagged = _retag_if_topics_changed(store, config)
        sources = {source.url: source for source in config.sources}
        logged = _LoggedProgress(progress or NoProgress())  # see "logs" below
        outcomes = asyncio.run(_fetch_all(config, store, states, sources, clock, logged, force))
        _tag_new_posts(store, config)
    summary = FetchSummary(
        outcomes=tuple(outcomes), elapsed=time.monotonic() - started, retagged=retagged
    )
    _log_summary(summary)
    return summary


async def _fetch_all(
    config: Config,
    store: Store,
    states: Sequence[SourceState],
    sources: dict[str, SourceConfig],
    clock: Clock,
    progress: Progress,
    force: bool,
) -> list[SourceOutcome]:
    now = clock()
    due = [s for s in states if _should_fetch(s, now, force)]
    waiting = [_waiting_outcome(s) for s in states if not _should_fetch(s, now, force)]
    progress.start(len(due))
    if not due:
        return waiting
    budget = mastodon.InstanceBudget()  # shared: rate limits are per instance, not per account
    async with Fetcher(config.fetch) as fetcher:
        with (
            _parse_pool(len(due)) as pool,
            _article_pool(config, pool) as articles,
            _StoreThread(store) as writes,
        ):
            reader = _SourceReader(fetcher, pool, store, budget, clock, progress, articles, writes)
            # The store answers this first, while the first requests are on their way.
            awaiting = asyncio.ensure_future(
                _awaiting_pages(writes, store, now, len(due), len(states))
            )
            reader = replace(
                reader,
                in_hand=asyncio.Semaphore(_IN_HAND * config.fetch.concurrency),
                awaiting_pages=awaiting,
            )
            # ── warm refresh (engineer E) ── started host by host in turn, so each host's
            # connection is reused; the outcomes keep the order of `due`.
            order = spread_hosts([state.url for state in due])
            started = await asyncio.gather(
                *(reader.run(due[index], sources[due[index].url]) for index in order)
            )
            fetched = [started[place] for place in sorted(range(len(order)), key=order.__getitem__)]
            await awaiting  # answered long before, unless no source needed it
    return [*fetched, *waiting]


async def _awaiting_pages(
    writes: _StoreThread, store: Store, now: datetime, due: int, known: int
) -> frozenset[int] | None:
    """── warm refresh (E) ── the sources with posts awaiting pages, when most are due.

    The one question reads every post, as the per-source ones it spares read those of the due
    sources: worth it when they are most of the sources, not for a few out of back-off.
    """
    if due * 2 < known:
        return None
    return await writes.call(store.sources_awaiting_pages, now)


def _should_fetch(state: SourceState, now: datetime, force: bool) -> bool:
    if state.gone:
        return False
    return force or policy.is_due(state, now)


def _waiting_outcome(state: SourceState) -> SourceOutcome:
    """A source not fetched this run: gone for good, or waiting out a back-off."""
    if state.gone:
        note = "gone: it answered 410 and is not fetched until you change it in sources.yaml"
    else:
        when = state.next_due.isoformat(timespec="minutes") if state.next_due else "later"
        note = (
            f"backing off after {_plural(state.failures, 'failed try', 'failed tries')}: "
            f"next try {when}"
            if state.failures
            else f"paused until {when}: the server's rate limit was nearly spent"
        )
    return SourceOutcome(
        url=state.url,
        person=state.person,
        kind=state.kind,
        status=SourceStatus.SKIPPED,
        error=state.last_error,
        notes=(note,),
    )


# (H, memory) sources in hand at once, per allowed request: as many again wait for the parse
# pool or the store as are being fetched.
_IN_HAND = 2


@dataclass(frozen=True)
class _SourceReader:
    """What reading one source needs, shared by every source of a run."""

    fetcher: Fetcher
    pool: Executor | None
    store: Store
    budget: mastodon.InstanceBudget
    clock: Clock
    progress: Progress
    articles: _Articles | None = None  # full text: extraction of post pages (see below)
    writes: _StoreThread | None = None  # the store's calls, off the event loop (see below)
    # ── memory (H) ── sources holding a body or its parse, from the request to the store: a
    # slower parse pool would otherwise let every fetched body wait in memory (on a loaded
    # machine the main process grew to 230 MB by bodies queued for the pool).
    in_hand: asyncio.Semaphore | None = None
    # ── warm refresh (engineer E) ── the sources with a post awaiting its page when the run
    # began (None: not asked): any other source that brings no new or edited post has none.
    awaiting_pages: asyncio.Future[frozenset[int] | None] | None = None

    async def _db(self, method: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Call a method of ``self.store`` on the store's thread (in-line without one)."""
        if self.writes is None:
            return method(*args, **kwargs)
        return await self.writes.call(method, *args, **kwargs)

    async def run(self, state: SourceState, source: SourceConfig) -> SourceOutcome:
        started = time.monotonic()
        outcome = SourceOutcome(state.url, state.person, state.kind, SourceStatus.UNCHANGED)
        try:
            outcome = await self._read_and_store(state, source)
        except HttpStatusError as exc:
            gone = exc.status == 410
            await self._db(
                self.store.record_failure,
                state.id,
                exc.message,
                self.clock(),
                retry_after=exc.retry_after,
                gone=gone,
            )
            status = SourceStatus.GONE if gone else SourceStatus.FAILED
            outcome = replace(
                outcome, status=status, error=_describe_status(exc), problem_kind=_kind_of(exc)
            )
        except StorageError:  # ── reports ── the database's trouble, not the source's
            raise
        except PlnError as exc:
            await self._db(self.store.record_failure, state.id, _message(exc), self.clock())
            outcome = replace(
                outcome,
                status=SourceStatus.FAILED,
                error=_message(exc),
                problem_kind=_kind_of(exc),
            )
        except Exception as exc:  # a bug must cost one source, not the run
            log.exception("unexpected error while fetching %s (%s)", state.url, state.person)
            error = f"internal error: {type(exc).__name__}: {exc}"
            await self._db(self.store.record_failure, state.id, error, self.clock())
            outcome = replace(
                outcome, status=SourceStatus.FAILED, error=error, problem_kind="internal"
            )
        outcome = replace(outcome, elapsed=time.monotonic() - started)
        self.progress.source_done(outcome)
        return outcome

    async def _read_and_store(self, state: SourceState, source: SourceConfig) -> SourceOutcome:
        if state.kind == SourceKind.MASTODON:
            cursor = await self._db(self.store.mastodon_cursor, state.id)
            read = await mastodon.read_account(
                self.fetcher, source, cursor, self.budget, self.clock()
            )
            counts = await self._db(self.store.record_mastodon, state.id, read, self.clock())
            return _outcome(state, counts, read.notes)
        async with self.in_hand or contextlib.nullcontext():
            fetched = await _read_feed_or_blog(self, state)
            pages = self._page_decision(state, source)
            outcome = await self._db(
                _store_fetched, self.store, state, fetched, self.clock(), pages
            )
        return await _fill_full_text(self, state, source, outcome)

    def _page_decision(self, state: SourceState, source: SourceConfig) -> PageDecision | None:
        """── performance (goal 1) ── _fill_full_text's decision, for the store to take as it
        inserts new posts (Store._settle_unwanted); None when this run fetches no pages."""
        if self.articles is None:
            return None
        mode = extract.full_text_mode(state.kind, source.full_text, self.articles.default_mode)
        return PageDecision(functools.partial(extract.wants_page, mode), _MAX_UNDECIDED)


def _outcome(state: SourceState, counts: SaveCounts, notes: tuple[str, ...]) -> SourceOutcome:
    changed = counts.new + counts.updated > 0
    return SourceOutcome(
        url=state.url,
        person=state.person,
        kind=state.kind,
        status=SourceStatus.UPDATED if changed else SourceStatus.UNCHANGED,
        new_posts=counts.new,
        updated_posts=counts.updated,
        notes=notes,
        # ── labels (D) ── a source never read before holds no post unless this read brought one
        no_posts_yet=state.last_success is None and not changed,
    )


def _store_fetched(
    store: Store,
    state: SourceState,
    fetched: _Fetched,
    now: datetime,
    pages: PageDecision | None = None,
) -> SourceOutcome:
    posts = fetched.feed.posts if fetched.feed else ()
    counts = store.record_success(
        state.id,
        posts,
        now,
        fetch_url=fetched.fetch_url,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        body_hash=fetched.body_hash,
        redirect_to=fetched.redirect_to,
        # ── labels (D) ── the feed's own name and site, kept as each parsed fetch finds them
        title=labels.stored_title(fetched.feed.title) if fetched.feed else None,
        home=labels.stored_home(fetched.feed.link) if fetched.feed else None,
        pages=pages,
    )
    return _outcome(state, counts, fetched.notes)


async def _read_source(fetcher: Fetcher, pool: Executor | None, state: SourceState) -> _Fetched:
    """Fetch a source's feed (discovering it on a page if need be) and parse it."""
    request_url = state.fetch_url or state.url
    result = await fetcher.get(request_url, etag=state.etag, last_modified=state.last_modified)
    notes: list[str] = []
    redirect_to = _redirect_to_report(state, request_url, result)
    if result.permanent_redirect:
        notes.append(f"moved permanently to {result.permanent_redirect}")
    if result.not_modified:
        return _unchanged(state, result, request_url, redirect_to, notes)
    body_hash = hashlib.sha256(result.body).hexdigest()
    if body_hash == state.body_hash and not result.truncated:
        # Many servers ignore conditional requests; an identical body needs no parsing.
        return _unchanged(state, result, request_url, redirect_to, notes)
    if result.truncated:
        notes.append("the response was larger than fetch.max_bytes and was cut off")
    document = await _parse_cut_off_aware(pool, result)
    fetch_url = result.permanent_redirect or (state.fetch_url or None)
    if isinstance(document, FeedLinks):
        return await _read_discovered(fetcher, pool, state, document, redirect_to, notes)
    return _Fetched(
        feed=document,
        fetch_url=fetch_url if fetch_url != state.url else None,
        etag=result.etag,
        last_modified=result.last_modified,
        body_hash=body_hash,
        redirect_to=redirect_to,
        notes=(*notes, *document.problems),
    )


async def _read_discovered(
    fetcher: Fetcher,
    pool: Executor | None,
    state: SourceState,
    page: FeedLinks,
    redirect_to: str | None,
    notes: list[str],
) -> _Fetched:
    """The source URL is a page: use the first feed it names that really is one."""
    if not page.feeds:
        raise ParseError(page.url, "not a feed, and the page names no feed to follow")
    last_error: PlnError | None = None
    for feed_url in page.feeds[:MAX_DISCOVERED_TRIES]:
        try:
            result = await fetcher.get(feed_url)
            document = await _parse(pool, result)
        except PlnError as exc:
            last_error = exc
            continue
        if isinstance(document, ParsedFeed):
            return _Fetched(
                feed=document,
                fetch_url=result.permanent_redirect or feed_url,
                etag=result.etag,
                last_modified=result.last_modified,
                body_hash=hashlib.sha256(result.body).hexdigest(),
                redirect_to=redirect_to,
                notes=(*notes, f"feed found on the page: {feed_url}", *document.problems),
            )
    reason = f": {_message(last_error)}" if last_error else ""
    raise ParseError(page.url, f"the page names feeds, but none could be read{reason}")


def _redirect_to_report(state: SourceState, request_url: str, result: FetchResult) -> str | None:
    """A permanent redirect of the URL the user wrote is worth telling them about."""
    if result.permanent_redirect and request_url == state.url:
        return result.permanent_redirect
    return state.redirect_to


def _unchanged(
    state: SourceState,
    result: FetchResult,
    request_url: str,
    redirect_to: str | None,
    notes: list[str],
) -> _Fetched:
    fetch_url = result.permanent_redirect or state.fetch_url
    return _Fetched(
        feed=None,
        fetch_url=fetch_url if fetch_url != state.url else None,
        etag=result.etag or state.etag,
        last_modified=result.last_modified or state.last_modified,
        body_hash=None,
        redirect_to=redirect_to,
        notes=tuple(notes),
    )


async def _parse_cut_off_aware(
    pool: Executor | None, result: FetchResult
) -> ParsedFeed | FeedLinks:
    """Parse; when a cut-off body cannot be read, say the size was the cause."""
    try:
        return await _parse(pool, result)
    except ParseError as exc:
        if not result.truncated:
            raise
        raise ParseError(
            exc.url,
            f"the response was larger than fetch.max_bytes and was cut off; "
            f"the part that arrived is not a readable feed ({exc.message})",
        ) from exc


async def _parse(pool: Executor | None, result: FetchResult) -> ParsedFeed | FeedLinks:
    """Parse off the event loop, so fetching goes on while the CPU works."""
    if pool is None:
        return parse.read(result.body, result.final_url, result.content_type)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        pool, parse.read, result.body, result.final_url, result.content_type
    )


@contextmanager
def _parse_pool(jobs: int) -> Iterator[Executor | None]:
    """A process pool for parsing, sized to the machine; none for a handful of sources.

    ``PLN_WORKERS=0`` parses in-process (useful under a debugger).
    """
    workers = int(os.environ.get("PLN_WORKERS", os.cpu_count() or 1))
    if workers <= 0 or jobs < 4:
        yield None
        return
    # forkserver: a clean child, not a fork of a process running an event loop and threads.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["aggregator.parse"])
    with ProcessPoolExecutor(max_workers=min(workers, jobs), mp_context=context) as pool:
        yield pool


_P = ParamSpec("_P")
_T = TypeVar("_T")
# Calls grouped into one transaction at most: enough to spare SQLite and FTS5 a commit per
# source, few enough that a source's outcome is not held back long.
_GROUP_MAX = 64


class _StoreThread:
    """The store's calls of a fetch run, on one thread of their own, in the order made.

    The event loop never waits for SQLite (FTS5 indexes a new post's text as it is
    inserted, which releases the GIL), and the calls that queued up while one group ran
    are committed together as the next group: one transaction for several sources, each
    call still all-or-nothing (its own savepoint). A call's result is handed back only
    once its group is committed, so an outcome is never reported before it is stored.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="pln-store", daemon=True)

    def __enter__(self) -> _StoreThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._calls.put(None)
        self._thread.join()

    async def call(self, method: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        self._calls.put(_Call(functools.partial(method, *args, **kwargs), future, loop))
        return await future

    def _work(self) -> None:
        while True:
            first = self._calls.get()
            if first is None:
                return
            group = [first]
            while len(group) < _GROUP_MAX:
                try:
                    following = self._calls.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    self._run_group(group)
                    return
                group.append(following)
            self._run_group(group)

    def _run_group(self, group: list[_Call]) -> None:
        results: list[tuple[_Call, Any, BaseException | None]] = []
        try:
            with self.store.batch():
                for call in group:
                    try:
                        with self.store.batch():  # a savepoint: a failure undoes this call
                            results.append((call, call.work(), None))
                    except Exception as exc:  # the caller's: raised where it awaits
                        results.append((call, None, exc))
        except Exception as exc:  # the commit failed: nothing of the group was stored
            # ── reports (issue 8) ── SQLite rolls the whole transaction back on an I/O
            # error (a full disk), so the commit then fails with "no transaction is
            # active": the call's own error names the cause.
            cause = next((e for _, _, e in results if isinstance(e, StorageError)), exc)
            results = [(call, None, cause) for call in group]
        for call, value, error in results:
            call.loop.call_soon_threadsafe(_settle, call.future, value, error)


@dataclass(frozen=True)
class _Call:
    work: Callable[[], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _describe_status(exc: HttpStatusError) -> str:
    if exc.status == 410:
        return f"{exc.message}: the source is gone and will not be fetched again"
    if exc.retry_after is not None:
        wait = wait_in_words(round(exc.retry_after))  # G (review finding 15): not "1:00:00"
        return f"{exc.message}: the server asked us to wait {wait}"
    return exc.message


# ── G (review finding 15) ──
def wait_in_words(seconds: int) -> str:
    """A wait as people say it: "45 seconds", "10 minutes", "1 hour 30 minutes", "3 days"."""

    def count(number: int, unit: str) -> str:
        return f"{number} {unit}{'' if number == 1 else 's'}"

    if seconds < 60:
        return count(max(seconds, 0), "second")
    minutes = round(seconds / 60)
    if minutes < 60:
        return count(minutes, "minute")
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return count(hours, "hour") + (f" {count(minutes, 'minute')}" if minutes else "")
    days, hours = divmod(hours, 24)
    return count(days, "day") + (f" {count(hours, 'hour')}" if hours else "")


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _message(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    if isinstance(exc, FetchError | ParseError):
        return exc.message
    return str(exc)


# ── full text ────────────────────────────────────────────────────────────────────────────
#
# After a feed or blog source's posts are stored, the posts that want their page (extract.
# wants_page: a teaser, a short summary, or every post of a `blog:` source) have it fetched
# through the same Fetcher, once each, and extracted off the event loop, so that the pages
# of one source are fetched while those of another are extracted. A page that failed keeps
# the feed's text and is tried again later, a few times (extract.next_try).

# The most pages one source has fetched in one run, newest first; the rest wait for the next.
MAX_PAGES_PER_SOURCE = 50
# A few pages are extracted in a thread; past this many in a run, a process pool sized to the
# machine is started (about a second to start and import trafilatura, then both cores work).
THREAD_PAGES = 3
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, text/plain;q=0.5, */*;q=0.1"
_MAX_UNDECIDED = 1000  # posts looked at per source and run: far more than any feed holds


class _Articles:
    """Extraction of article pages for one run; never on the event loop.

    The parse pool is reused when the run has one; otherwise the first few pages go to a
    thread and a process pool of our own is started when more come.
    """

    def __init__(self, default_mode: FullText, shared: Executor | None) -> None:
        self.default_mode = default_mode
        self._shared = shared
        self._own: ProcessPoolExecutor | None = None
        self._pages = 0

    async def extract(
        self, page: FetchResult, metadata: bool, title: str | None = None
    ) -> Article | None:
        self._pages += 1
        work = functools.partial(  # G (review finding 6): title, left out of the text
            extract.extract_page,
            page.body,
            page.final_url,
            page.content_type,
            metadata=metadata,
            title=title,
        )
        return await asyncio.get_running_loop().run_in_executor(self._executor(), work)

    def _executor(self) -> Executor | None:
        """The pool for the next page; None is the event loop's default thread pool."""
        if self._shared is not None:
            return self._shared
        workers = _worker_count()
        if self._own is None and workers > 0 and self._pages > THREAD_PAGES:
            context = multiprocessing.get_context("forkserver")
            self._own = ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=extract.warm_up
            )
        return self._own

    def close(self) -> None:
        if self._own is not None:
            self._own.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _article_pool(config: Config, shared: Executor | None) -> Iterator[_Articles]:
    articles = _Articles(config.fetch.full_text, shared)
    try:
        yield articles
    finally:
        articles.close()


def _worker_count() -> int:
    return int(os.environ.get("PLN_WORKERS", os.cpu_count() or 1))


async def _nothing_awaits_page(
    reader: _SourceReader, state: SourceState, outcome: SourceOutcome
) -> bool:
    """No post of this source can want its page: none new or edited now, none waiting before."""
    if reader.awaiting_pages is None or outcome.new_posts or outcome.updated_posts:
        return False
    awaiting = await reader.awaiting_pages
    return awaiting is not None and state.id not in awaiting


async def _fill_full_text(
    reader: _SourceReader, state: SourceState, source: SourceConfig, outcome: SourceOutcome
) -> SourceOutcome:
    """Fetch and extract the pages of the source's posts that want them; say what happened."""
    if reader.articles is None or state.kind == SourceKind.MASTODON:
        return outcome
    if await _nothing_awaits_page(reader, state, outcome):
        return outcome  # ── warm refresh (E) ── spares the store one question per source
    mode = extract.full_text_mode(state.kind, source.full_text, reader.articles.default_mode)
    undecided = await reader._db(
        reader.store.posts_awaiting_page, state.id, reader.clock(), _MAX_UNDECIDED
    )
    wanted = [post for post in undecided if extract.wants_page(mode, post)]
    if len(wanted) < len(undecided):
        chosen = {post.id for post in wanted}
        settled = [p for p in undecided if p.id not in chosen]
        await reader._db(reader.store.settle_without_page, settled)
    if not wanted:
        return outcome
    articles = reader.articles
    results = await asyncio.gather(
        *(_read_article(reader, articles, post) for post in wanted[:MAX_PAGES_PER_SOURCE])
    )
    return replace(
        outcome,
        notes=(*outcome.notes, _full_text_note(results, len(wanted))),
        articles_extracted=sum(1 for result in results if result.state == "done"),
        articles_failed=sum(1 for result in results if result.state == "failed"),
    )


@dataclass(frozen=True)
class _ArticleResult:
    post_id: int
    state: str  # done: the article is the post's text now; kept: the feed's was fuller; failed
    error: str | None = None


async def _read_article(
    reader: _SourceReader, articles: _Articles, post: PagePost
) -> _ArticleResult:
    """Fetch one post's page and store its article; a failure is recorded, never raised."""
    try:
        page = await reader.fetcher.get(post.link, accept=PAGE_ACCEPT)
        if not extract.is_html(page.content_type, page.body):
            kind = (page.content_type or "unknown").partition(";")[0]
            return await _article_failed(reader, post, f"not a web page ({kind})", final=True)
        article = await articles.extract(page, post.needs_metadata, post.title)  # G: finding 6
    except HttpStatusError as exc:
        final = exc.status == 410
        return await _article_failed(reader, post, exc.message, exc.retry_after, final=final)
    except PlnError as exc:
        return await _article_failed(reader, post, _message(exc))
    except Exception as exc:  # trafilatura or a worker that died: this page, not the source
        log.warning("extracting %s failed", post.link, exc_info=True)
        error = f"extraction failed: {type(exc).__name__}: {exc}"
        return await _article_failed(reader, post, error)
    if article is None:
        return await _article_failed(reader, post, "no article text found on the page")
    use_text = extract.keeps_article(post.text, article.text)
    await reader._db(reader.store.record_article, post, article, reader.clock(), use_text=use_text)
    return _ArticleResult(post.id, "done" if use_text else "kept")


async def _article_failed(
    reader: _SourceReader,
    post: PagePost,
    error: str,
    retry_after: float | None = None,
    *,
    final: bool = False,
) -> _ArticleResult:
    now = reader.clock()
    attempts = extract.MAX_ATTEMPTS if final else post.attempts + 1
    next_try = extract.next_try(attempts, now, retry_after)
    await reader._db(reader.store.record_article_failure, post, error, now, next_try)
    return _ArticleResult(post.id, "failed", error)


def _full_text_note(results: Sequence[_ArticleResult], wanted: int) -> str:
    done = sum(1 for result in results if result.state == "done")
    kept = sum(1 for result in results if result.state == "kept")
    failed = [result for result in results if result.state == "failed"]
    parts = [f"full text: {done} of {len(results)} articles extracted"]
    if kept:
        parts.append(f"{kept} kept the feed's fuller text")
    if failed:
        parts.append(f"{len(failed)} failed ({failed[-1].error}), kept the feed's text")
    if wanted > len(results):
        parts.append(f"{wanted - len(results)} more next run")
    return ", ".join(parts)


# A `blog:` whose page names no feed: its posts come from its sitemap.


async def _read_feed_or_blog(reader: _SourceReader, state: SourceState) -> _Fetched:
    try:
        return await _read_source(reader.fetcher, reader.pool, state)
    except ParseError as exc:
        # Only a blog that never had a feed falls back; a feed that broke is a failure.
        if state.kind != SourceKind.BLOG or state.fetch_url:
            raise
        return await _read_blog_sitemap(reader.fetcher, state, exc)


async def _read_blog_sitemap(fetcher: Fetcher, state: SourceState, cause: ParseError) -> _Fetched:
    """The blog's newest posts as its sitemap lists them: URLs only; the pages give the rest."""
    robots = await _optional_text(fetcher, urljoin(state.url, "/robots.txt"))
    for candidate in sitemap.sitemap_candidates(state.url, robots):
        try:
            pages = await _sitemap_pages(fetcher, candidate, depth=0)
        except PlnError:
            continue
        posts = sitemap.newest_posts(pages, state.url)
        if posts:
            feed = ParsedFeed(
                url=candidate,
                format="sitemap",
                title=None,
                link=state.url,
                posts=tuple(ParsedPost(guid=p.url, link=p.url, title=None) for p in posts),
            )
            note = f"the page names no feed: its posts are taken from the sitemap {candidate}"
            return _Fetched(feed, None, None, None, None, state.redirect_to, (note,))
    raise ParseError(state.url, f"{cause.message}; and no sitemap lists posts of the blog")


async def _sitemap_pages(fetcher: Fetcher, url: str, depth: int) -> tuple[SitemapEntry, ...]:
    """The pages a sitemap lists, following a sitemap index one level down."""
    result = await fetcher.get(url, accept=SITEMAP_ACCEPT)
    found = sitemap.read_sitemap(result.body, result.final_url)
    pages = list(found.pages)
    if depth == 0:
        for child in sitemap.ranked_children(found.children):
            if len(pages) >= sitemap.MAX_POSTS:
                break
            try:
                pages.extend(await _sitemap_pages(fetcher, child, depth + 1))
            except PlnError as exc:
                log.info("skipping the sitemap %s: %s", child, exc)
    return tuple(pages)


async def _optional_text(fetcher: Fetcher, url: str) -> str | None:
    """A small text file that may well not exist (robots.txt): None when it cannot be had."""
    try:
        result = await fetcher.get(url, accept="text/plain, */*;q=0.1")
    except PlnError:
        return None
    return result.body.decode("utf-8", "replace")


# ── reading back ─────────────────────────────────────────────────────────────────────────


def search(
    config: Config,
    text: str,
    *,
    limit: int = 20,
    sort: str = "rank",
    person: str | None = None,
    topic: str | None = None,
    since: date | None = None,
    until: date | None = None,
    exhaustive: bool = False,
) -> SearchResults:
    """Search every stored post; ``since``/``until`` are whole days in site.timezone.

    Only the newest matches are ranked when very many match (store.SEARCH_CAP), unless
    ``exhaustive``: the results say when."""
    with Store.open_readonly(config.database_path) as store:
        found = store.search_results(
            text,
            limit=limit,
            sort=sort,
            person=person,
            topic=topic,
            since=_day_start(since, config) if since else None,
            until=_day_start(until + timedelta(days=1), config) if until else None,
            cap=None if exhaustive else SEARCH_CAP,
        )
        names = store.source_names([hit.source for hit in found.hits])  # ── labels (D) ──
    order = [topic.slug for topic in config.topics]
    hits = [
        replace(topics.in_topic_order(hit, order), source_name=names.get(hit.source, ""))
        for hit in found.hits
    ]
    return replace(found, hits=hits)


def source_health(config: Config) -> list[SourceHealth]:
    """Every source ever followed, active ones first; empty before the first fetch."""
    if not config.database_path.exists():
        return []
    with Store.open_readonly(config.database_path) as store:
        return store.source_health()


def _day_start(day: date, config: Config) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=config.site.tz).astimezone(UTC)


# ── topics ───────────────────────────────────────────────────────────────────────────────


def _retag_if_topics_changed(store: Store, config: Config) -> int | None:
    """Re-tag every post when the topic definitions differ from those the tags were made
    with (or none were ever recorded); the number of posts, or None when nothing changed."""
    if store.topics_hash() == topics.definitions_hash(config):
        return None
    return _retag(store, config)


def _retag(store: Store, config: Config) -> int:
    return store.retag_all(
        topics.topic_rules(config.topics),
        topics.person_topics(config.people),
        topics.definitions_hash(config),
    )


def _tag_new_posts(store: Store, config: Config) -> int:
    """Tag the posts this run stored or changed (queued by the store as it saved them)."""
    return store.tag_untagged(
        topics.topic_rules(config.topics), topics.person_topics(config.people)
    )


def retag(config: Config) -> int:
    """Tag every stored post again by the topics of ``config``; return how many posts."""
    with site_lock(config.site_dir, "retag"), Store.open(config.database_path) as store:
        return _retag(store, config)


def topic_counts(config: Config) -> dict[str, int]:
    """How many stored posts carry each topic (by slug); empty before the first fetch."""
    if not config.database_path.exists():
        return {}
    with Store.open_readonly(config.database_path) as store:
        return store.topic_counts()


TREND_BASELINE_DAYS = 90


def trend_windows(
    now: datetime, days: int, baseline_days: int
) -> tuple[datetime, datetime, datetime]:
    """(recent start, start of the window before, end) of the trends at ``now``."""
    # The second of grace keeps a post stored this very second inside the window.
    end = now + timedelta(seconds=1)
    recent_start = end - timedelta(days=days)
    return recent_start, recent_start - timedelta(days=baseline_days), end


def trends(
    config: Config,
    days: int = 7,
    *,
    baseline_days: int = TREND_BASELINE_DAYS,
    limit: int = 20,
    clock: Clock = system_clock,
) -> Trends:
    """The words the network used more in the last ``days`` than in the ``baseline_days``
    before, most surprising first; the user's own topic words and stop words aside."""
    if not config.database_path.exists():
        return Trends(days, baseline_days, 0, 0, ())
    recent_start, before_start, end = trend_windows(clock(), days, baseline_days)
    with Store.open_readonly(config.database_path) as store:
        counts = store.trend_counts(recent_start, before_start, end)
    ranked = topics.rank_trends(
        counts.terms,
        counts.recent_posts,
        counts.before_posts,
        excluded=topics.topic_words(config.topics),
        limit=limit,
        min_people=topics.min_people_for(counts.people),
    )
    return Trends(days, baseline_days, counts.recent_posts, counts.before_posts, tuple(ranked))


# ── moving in and out ────────────────────────────────────────────────────────────────────
#
# import, export, add and fix-redirects change sources.yaml only through config's editing
# functions (splices that keep every comment), and only after the new text reads back as a
# valid configuration; the file is replaced atomically.


FolderMode = subscriptions.FolderMode  # how OPML folders are read: for the CLI


@dataclass(frozen=True)
class ImportResult:
    edit: SourcesEdit
    format: str  # "OPML 2.0", "Mastodon CSV"
    folders: subscriptions.FolderMode | None  # how OPML folders were read
    unmatched_groups: tuple[str, ...]  # folders and tags that name no topic
    written: bool


def import_subscriptions(
    config: Config,
    data: bytes,
    name: str,
    *,
    folders: subscriptions.FolderMode = subscriptions.FolderMode.AUTO,
    dry_run: bool = False,
) -> ImportResult:
    """Add the people of an OPML file or a Mastodon CSV export (``data``) to sources.yaml."""
    found = subscriptions.read_subscriptions(data, name, folders)
    people, unmatched = subscriptions.assign_topics(found.people, config.topics)
    original = config_module.read_config_text(config.path)
    edit = config_module.add_people(original, config.path, people)
    edit = replace(edit, skipped=(*found.skipped, *edit.skipped))
    written = edit.changed and not dry_run
    if written:
        config_module.save_config_text(config.path, edit.text, original)
    return ImportResult(edit, found.format, found.folders, unmatched, written)


def export_opml(config: Config, *, clock: Clock = system_clock) -> str:
    """OPML 2.0 of every source, grouped by person, with the feed a reader should follow:
    the feed discovered on a page, a redirect's target, a Mastodon account's RSS."""
    known = {h.url: h.fetch_url for h in _stored_health(config) if h.fetch_url}
    feed_urls: dict[str, str] = {}
    for source in config.sources:
        if source.kind is SourceKind.MASTODON:
            feed_urls[source.url] = mastodon.rss_url(*mastodon.profile_parts(source.url))
        elif source.url in known:
            feed_urls[source.url] = known[source.url]
    return subscriptions.write_opml(config, feed_urls, clock())


def _stored_health(config: Config) -> list[SourceHealth]:
    """What the store knows of the sources; nothing when it cannot tell (no database yet)."""
    try:
        return source_health(config)
    except PlnError:
        return []


@dataclass(frozen=True)
class SourceCheck:
    """What reading a source before adding it found."""

    kind: SourceKind
    title: str | None  # the feed's title, the account's display name
    posts: int
    feed_url: str | None  # the feed found on a page, or the RSS of an account read through it
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AddResult:
    edit: SourcesEdit
    person: str
    check: SourceCheck | None  # None: not checked (--no-check), or already followed
    already: SkippedSource | None = None  # the source is already in sources.yaml


def add_source(
    config: Config,
    target: str,
    *,
    name: str | None = None,
    topics: Sequence[str] = (),
    check: bool = True,
    clock: Clock = system_clock,
) -> AddResult:
    """Add one feed, page or Mastodon account to sources.yaml, once it is seen to work.

    ``target`` is a URL or ``@user@host``. A profile URL is tried as a Mastodon account
    first, then as a feed or a page naming one. Raises ConfigError for a target that is no
    source at all or an unknown topic (bad usage), and FetchError or ParseError when the
    source cannot be read (nothing is written then).
    """
    _require_topics(config, topics)
    candidates = _add_candidates(target)
    first = candidates[0]
    owner = config_module.followed_by(config, first)
    if owner is not None:
        reason = f"already in sources.yaml, under {owner}"
        skipped = SkippedSource(first.url, owner, reason)
        original = config_module.read_config_text(config.path)
        return AddResult(SourcesEdit(original, False, skipped=(skipped,)), owner, None, skipped)
    chosen, found = first, None
    if check:
        chosen, found = asyncio.run(_check_candidates(config, candidates, clock))
    person = NewPerson(name or _name_for(chosen, found), (chosen,), tuple(topics))
    original = config_module.read_config_text(config.path)
    edit = config_module.add_people(original, config.path, [person])
    if edit.changed:
        config_module.save_config_text(config.path, edit.text, original)
    written_as = edit.added[0].person if edit.added else person.name
    already = edit.skipped[0] if edit.skipped and not edit.changed else None
    return AddResult(edit, written_as, found, already)


def _require_topics(config: Config, topics: Sequence[str]) -> None:
    known = [topic.slug for topic in config.topics]
    for slug in topics:
        if slug not in known:
            listed = ", ".join(known) if known else "none are defined under topics:"
            raise ConfigError(f"unknown topic {slug!r} (the topics are: {listed})", key="--topic")


def _add_candidates(target: str) -> list[NewSource]:
    """What ``target`` may be, most likely first; ConfigError when it cannot be a source."""
    text = target.strip()
    if text.startswith("@"):
        config_module.parse_source(text, "", key="source")  # a clear error for a bad handle
        return [NewSource(text, SourceKind.MASTODON)]
    source = config_module.parse_source(text, "", key="source")
    feed = NewSource(source.url, SourceKind.FEED)
    try:
        mastodon.profile_parts(source.url)
    except ValueError:
        return [feed]
    return [NewSource(source.url, SourceKind.MASTODON), feed]


async def _check_candidates(
    config: Config, candidates: Sequence[NewSource], clock: Clock
) -> tuple[NewSource, SourceCheck]:
    """The first candidate that reads as a source; the last one's error when none does."""
    problems: list[PlnError] = []
    async with Fetcher(config.fetch) as fetcher:
        for candidate in candidates:
            try:
                return candidate, await _check_one(fetcher, candidate, clock)
            except PlnError as exc:
                problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    as_account, as_feed = (_message(problem) for problem in problems[:2])
    raise ParseError(
        candidates[0].url, f"neither a Mastodon account ({as_account}) nor a feed ({as_feed})"
    )


async def _check_one(fetcher: Fetcher, candidate: NewSource, clock: Clock) -> SourceCheck:
    """Read the source as a fetch would (the same code), storing nothing."""
    source = config_module.parse_source(_candidate_value(candidate), "", key="source")
    if source.kind is SourceKind.MASTODON:
        budget = mastodon.InstanceBudget()
        read = await mastodon.read_account(fetcher, source, MastodonCursor(), budget, clock())
        account = read.account
        rss = mastodon.rss_url(*mastodon.profile_parts(source.url))
        return SourceCheck(
            kind=SourceKind.MASTODON,
            title=(account.display_name or None) if account else None,
            posts=len(read.posts),
            feed_url=rss if read.cursor.via == "rss" else None,
            notes=read.notes,
        )
    state = SourceState(id=0, url=source.url, kind=source.kind, person="")
    fetched = await _read_source(fetcher, None, state)
    feed = fetched.feed
    return SourceCheck(
        kind=source.kind,
        title=feed.title if feed else None,
        posts=len(feed.posts) if feed else 0,
        feed_url=fetched.fetch_url,
        notes=fetched.notes,
    )


def _candidate_value(candidate: NewSource) -> object:
    if candidate.kind is SourceKind.MASTODON:
        return {"mastodon": candidate.url}
    return candidate.url


def _name_for(source: NewSource, found: SourceCheck | None) -> str:
    """A person's name when none was given: what the source calls itself, else its address."""
    if found is not None and found.title and found.title.strip():
        return " ".join(found.title.split())
    if source.kind is SourceKind.MASTODON:
        if source.url.startswith("@"):
            return source.url
        base, user = mastodon.profile_parts(source.url)
        return f"@{user}@{base.split('://', 1)[1]}"
    return source.url.split("://", 1)[-1].split("/", 1)[0]


def fix_redirects(config: Config, *, dry_run: bool = False) -> SourcesEdit:
    """Write the permanent redirects the sources reported into sources.yaml.

    The store then moves each source's history to its new URL on the next fetch (it
    recognizes a redirect target appearing in the file), so nothing is fetched twice.
    """
    moves = {
        h.url: h.redirect_to
        for h in source_health(config)
        if h.active and h.redirect_to and not h.gone
    }
    original = config_module.read_config_text(config.path)
    edit = config_module.replace_sources(original, config.path, moves)
    if edit.changed and not dry_run:
        config_module.save_config_text(config.path, edit.text, original)
    return edit


def health_report(config: Config, *, clock: Clock = system_clock) -> HealthReport:
    """Every source's health, and what in it needs the person who keeps sources.yaml."""
    return health.assess(source_health(config), clock())


# ── logs ─────────────────────────────────────────────────────────────────────────────────
#
# Every source's outcome is logged at INFO (failures at WARNING), naming the person and the
# source, so a --log-file holds the whole story of a scheduled run. The CLI's console shows
# the same outcomes its own way (the progress lines), so it filters these records out.

OUTCOME_LOGGER = "pln.sources"
outcome_log = logging.getLogger(OUTCOME_LOGGER)


class _LoggedProgress:
    """Passes progress on, and logs each source's outcome."""

    def __init__(self, inner: Progress) -> None:
        self.inner = inner

    def start(self, total: int) -> None:
        outcome_log.info("fetching %s", _plural(total, "due source", "due sources"))
        self.inner.start(total)

    def source_done(self, outcome: SourceOutcome) -> None:
        _log_outcome(outcome)
        self.inner.source_done(outcome)


def _log_outcome(outcome: SourceOutcome) -> None:
    where = f"{outcome.person}: {outcome.url} ({outcome.kind.value})"
    timing = f"{outcome.elapsed:.2f} s"
    notes = "".join(f"; {note}" for note in outcome.notes)
    status = outcome.status.value
    if outcome.status in (SourceStatus.FAILED, SourceStatus.GONE):
        outcome_log.warning("%s %s: %s [%s]%s", status, where, outcome.error, timing, notes)
    elif outcome.status == SourceStatus.UPDATED:
        counts = f"{outcome.new_posts} new, {outcome.updated_posts} updated"
        outcome_log.info("%s %s: %s [%s]%s", status, where, counts, timing, notes)
    else:
        detail = f": {outcome.error}" if outcome.error else ""
        outcome_log.info("%s %s%s [%s]%s", status, where, detail, timing, notes)


def _log_summary(summary: FetchSummary) -> None:
    outcome_log.info(
        "fetch done in %.1f s: %d new posts, %d updated, %d unchanged, %d failed, %d gone, "
        "%d skipped",
        summary.elapsed,
        summary.new_posts,
        summary.updated_posts,
        summary.count(SourceStatus.UNCHANGED),
        summary.count(SourceStatus.FAILED),
        summary.count(SourceStatus.GONE),
        summary.count(SourceStatus.SKIPPED),
    )


# ── site ─────────────────────────────────────────────────────────────────────────────────

# Trending terms on the home page: at most this many, over the last site.home_days days.
SITE_TRENDS = 12


def check_output(config: Config) -> None:
    """What `pln build` would refuse about ``site.output`` (a file, a folder of the user's
    own files), raised now as the same ConfigError, so `pln check` finds it first."""
    output = site_module.resolved_output(config.output_path, config.path)
    site_module.check_output(output, config.path)


def build(config: Config, *, clock: Clock = system_clock) -> site_module.BuildReport:
    """Render the whole static site into output/; a failure leaves the previous one as it was.

    Holds the site lock, so a build never reads a half-written fetch. Every page kind is one
    query: the posts stream once, oldest first; people and source health are one query each.
    """
    started = time.monotonic()
    # ── memory (H) ── after a fetch in this process (`pln run`), the pool's helpers and
    # the heap the fetch peaked at are given back, so the build does not start from them.
    from aggregator import memory

    memory.stop_pool_helpers()
    memory.give_back()
    renderer = render_module.Renderer(config.site_dir, config.site.tz)
    with site_lock(config.site_dir, "build"):
        now = clock()
        with Store.open(config.database_path) as store:
            people = store.site_people()
            public = {person.name for person in people}
            health = [source for source in store.source_health() if source.person in public]
            fingerprint = _site_fingerprint(config, renderer, store, people, health, now)
            kept = _unchanged_site(config, store, fingerprint)
            if kept is not None:
                return replace(kept, elapsed=time.monotonic() - started)
            trending = _site_trends(config, lambda: now)  # one instant for the whole build
            # An excerpt, or a short toot shown whole, needs no more text than this.
            words = config.site.excerpt_words * digest_module.TOOT_WHOLE_FACTOR
            source = site_module.SiteInput(
                config=config,
                posts=store.site_posts(text_chars=words * 12 + 200),
                people=people,
                health=health,
                now=now,
                trends=trending,
                reader=_SitePostReader(config.database_path, words * 12 + 200),  # ── G ──
            )
            report = site_module.build_site(source, renderer)
            store.save_build_stamp(buildstamp.dumps(_stamp_of(fingerprint, report)))
            return report


# ── build speed (engineer G, issue 9): the day pages of a big archive in two processes ──


@dataclass(frozen=True)
class _SitePostReader:
    """site.PostReader: parts of the public posts, each call through a read connection of
    its own, so a child process of the build reads its days itself (nothing is pickled)."""

    database: Path
    text_chars: int

    def between(self, since: datetime | None, until: datetime | None) -> Iterator[SitePost]:
        with Store.open_readonly(self.database) as store:
            yield from store.site_posts(self.text_chars, since=since, until=until)

    def time_at(self, position: float, at_least: int) -> datetime | None:
        with Store.open_readonly(self.database) as store:
            return store.site_post_time(position=position, at_least=at_least)

    def last_before(self, moment: datetime) -> datetime | None:
        with Store.open_readonly(self.database) as store:
            return store.site_post_time(before=moment)


# ── performance: a rebuild with nothing changed leaves output/ as it is ──────────────────
#
# The stamp of the last build (buildstamp: a fingerprint of every input, kept in the store)
# is compared with the inputs of this one; when they are the same, and output/ is still
# there, the build would write the very bytes output/ holds (pages are deterministic), so it
# is skipped. Any change (a post, a tag, the configuration, a template, pln itself, the
# day, a post's place in the activity counts) builds as before.


def _site_fingerprint(
    config: Config,
    renderer: Renderer,
    store: Store,
    people: Sequence[object],
    health: Sequence[SourceHealth],
    now: datetime,
) -> str:
    tz = config.site.tz
    window = buildstamp.activity_window(site_module.ACTIVITY_WEEKS)
    times = store.posting_times(now - window)
    own_templates = config.site_dir / "templates"
    prints_now = buildstamp.names_now(own_templates) or store.has_empty_feed(
        [topic.slug for topic in config.topics]
    )
    return buildstamp.fingerprint(
        [
            buildstamp.files_digest([Path(__file__).parent]),
            buildstamp.files_digest(renderer.search_path),
            config,
            people,
            health,
            _trend_inputs(config, store, now),
            store.site_version(),
            now.astimezone(tz).date(),
            buildstamp.activity_marks(times, now, site_module.ACTIVITY_WEEKS),
            now if prints_now else None,
            site_module._pagefind_binary(),  # a Pagefind installed or removed since
        ]
    )


def _trend_inputs(config: Config, store: Store, now: datetime) -> object:
    """What the home page's trends are made of at ``now``: which posts are in which window
    (the posts themselves are covered by the site version); the trends only when another
    finder than ours makes them."""
    finder = globals().get("trends")
    if finder is None:
        return None
    if finder is not _OUR_TRENDS:
        return _site_trends(config, lambda: now)
    windows = trend_windows(now, config.site.home_days, TREND_BASELINE_DAYS)
    return store.trend_membership(*windows)


def _unchanged_site(
    config: Config, store: Store, fingerprint: str
) -> site_module.BuildReport | None:
    stamp = buildstamp.loads(store.build_stamp())
    output = config.output_path
    if stamp is None or stamp.fingerprint != fingerprint or not (output / "index.html").is_file():
        return None
    # A file removed from (or put into) output/ by hand: build, so the site is whole again.
    # (engineer F) not counting the build's list of its files nor the user's dotfiles
    if site_module.built_file_count(output) != stamp.files:
        return None
    return site_module.BuildReport(
        output=output,
        pages=stamp.pages,
        days=stamp.days,
        posts=stamp.posts,
        changed=0,
        unchanged=stamp.files,
        removed=0,
        search_indexed=stamp.search_indexed,
        elapsed=0.0,
    )


_OUR_TRENDS = trends  # _trend_inputs: a finder put in its place (tests) is asked itself


def _stamp_of(fingerprint: str, report: site_module.BuildReport) -> buildstamp.Stamp:
    return buildstamp.Stamp(
        fingerprint=fingerprint,
        pages=report.pages,
        days=report.days,
        posts=report.posts,
        files=report.changed + report.unchanged,
        search_indexed=report.search_indexed,
    )


def _site_trends(config: Config, clock: Clock) -> list[str]:
    """The trending terms for the home page; none when topics cannot say (yet)."""
    finder = globals().get("trends")  # from the topics issue; the site works without it
    if finder is None:
        return []
    try:
        found = finder(config, config.site.home_days, clock=clock)
    except PlnError as exc:
        log.warning("trending terms left off the home page: %s", exc)
        return []
    terms = getattr(found, "terms", found) or ()
    return [str(getattr(term, "term", term)) for term in terms][:SITE_TRENDS]


@dataclass(frozen=True)
class RunResult:
    summary: FetchSummary
    build: site_module.BuildReport
    email: EmailResult | None = None  # ── email ── run(email=True)


def run(
    config: Config,
    *,
    clock: Clock = system_clock,
    progress: Progress | None = None,
    force: bool = False,
    email: bool = False,
) -> RunResult:
    """Fetch every due source, then build the site (then send the emailed digest):
    the one command for a schedule."""
    if email:  # ── email ── a missing setting fails before a long fetch, not after
        check_email(config, sending=True)
    summary = fetch(config, clock=clock, progress=progress, force=force)
    report = build(config, clock=clock)
    emailed = _email_digest(config, clock=clock) if email else None
    return RunResult(summary=summary, build=report, email=emailed)


def serve(config: Config, port: int, ready: Callable[[str], None] | None = None) -> None:
    """Preview output/ on 127.0.0.1 until interrupted."""
    site_module.serve(config.output_path, port, ready=ready)


# ── email ────────────────────────────────────────────────────────────────────────────────
#
# The daily digest holds the posts first seen since the digest of an earlier day was made,
# so a day pln did not send (the machine was off, the server was down) is not lost; posts
# older than a week are left out however long the gap. The day is recorded as sent only
# once the server accepted the message: a failure records nothing, and the next run sends.

EMAIL_DAYS = 7  # a digest catching up on missed days covers a week at most


@dataclass(frozen=True)
class EmailResult:
    status: EmailStatus
    digest: MailDigest
    subject: str | None = None
    recipients: tuple[str, ...] = ()  # the To of the message
    message: EmailMessage | None = None
    previous: SentDigest | None = None  # the digest sent before for the same day, if any
    out: Path | None = None  # the .eml file written (--out)
    recorded: bool = False  # the day is now recorded as sent
    preview_only: bool = False  # (engineer F) no email: section: placeholder addresses


def check_email(config: Config, *, sending: bool) -> EmailConfig:
    """The email settings, or a ConfigError saying what is missing (the section, or the
    SMTP password's environment variable when a message is to be sent). A preview that
    sends nothing makes do with placeholder addresses (engineer F)."""
    if config.email is None and not sending:
        return mail_module.PREVIEW_SETTINGS
    if config.email is None:
        raise ConfigError(
            "there is no email: section: add one (to, from and smtp) to send the digest; "
            "the starter sources.yaml has it commented out",
            file=config.path,
            key="email",
        )
    if sending:
        mail_module.smtp_password(config.email.smtp, os.environ, config.path)
    return config.email


def email(
    config: Config,
    *,
    day: date | None = None,
    dry_run: bool = False,
    out: Path | None = None,
    force: bool = False,
    to: Sequence[str] | None = None,
    clock: Clock = system_clock,
) -> EmailResult:
    """Send the emailed digest: the posts since the last digest, or the digest of ``day``.

    ``dry_run`` builds it and sends nothing, ``out`` writes it as an .eml file instead;
    ``to`` sends it to other addresses as a test, recording nothing. A day already sent is
    not sent again unless ``force``. Raises DeliveryError in the server's words.
    """
    sending = not dry_run and out is None
    settings = check_email(config, sending=sending)
    preview_only = config.email is None  # ── engineer F ── compose reads config.email
    config = replace(config, email=settings)
    recording = sending and not to
    recipients = _recipients(to) if to else settings.to
    now = clock()
    target = day or digest_module.day_of(now, config.site.tz)
    with _email_lock(config, sending), Store.open(config.database_path) as store:
        previous = store.email_sent(target)
        if previous is not None and recording and not force:
            return EmailResult(EmailStatus.ALREADY_SENT, MailDigest(target, ()), previous=previous)
        digest = _mail_digest(store, config, target, one_day=day is not None, now=now)
        if not digest.post_count and not settings.send_empty:
            return EmailResult(EmailStatus.EMPTY, digest, previous=previous)
        renderer = render_module.Renderer(config.site_dir, config.site.tz)
        message = mail_module.compose(config, digest, renderer, now=now, to=recipients)
        result = EmailResult(
            EmailStatus.DRY_RUN,
            digest,
            subject=str(message["Subject"]),
            recipients=recipients,
            message=message,
            previous=previous,
            preview_only=preview_only,  # ── engineer F ──
        )
        if not sending:
            return _email_written(result, out)
        delivery = _deliver(message, settings, config, recording)
        recorded = recording and bool(delivery.accepted)
        if recorded:  # only now: the server has the message
            window = None if day else (digest.since, now)
            store.record_email_sent(_sent_record(message, digest, delivery, clock(), window))
    result = replace(result, status=EmailStatus.SENT, recorded=recorded)
    if delivery.refused:
        raise DeliveryError(_partly_refused(settings, delivery, recorded))
    return result


_email_digest = email  # run() takes a flag named ``email``


def _recipients(addresses: Sequence[str]) -> tuple[str, ...]:
    """--to addresses, each checked: a typo is bad usage, not a delivery failure."""
    for address in addresses:
        local, at, domain = mail_module.envelope_address(address).rpartition("@")
        if not (local and at and domain):
            raise ConfigError(f"{address!r} is not an email address", key="--to")
    return tuple(addresses)


def _deliver(
    message: EmailMessage, settings: EmailConfig, config: Config, recording: bool
) -> mail_module.Delivery:
    password = mail_module.smtp_password(settings.smtp, os.environ, config.path)
    try:
        return mail_module.send(message, settings.smtp, password=password)
    except DeliveryError as exc:
        if not recording:
            raise
        raise DeliveryError(
            f"{exc}. Nothing was recorded as sent: the next `pln email` sends it."
        ) from exc


@contextmanager
def _email_lock(config: Config, sending: bool) -> Iterator[None]:
    """A real send holds the site lock: no fetch adds posts between reading and recording."""
    if not sending:
        yield
        return
    with site_lock(config.site_dir, "email"):
        yield


def _mail_digest(
    store: Store, config: Config, target: date, *, one_day: bool, now: datetime
) -> MailDigest:
    """The digest of each day the email covers, through the site's digest code."""
    words = config.site.excerpt_words
    text_chars = words * digest_module.TOOT_WHOLE_FACTOR * 12 + 200  # as the site reads them
    since: datetime | None = None
    if one_day:
        posts = store.email_posts(
            posted_from=_day_start(target, config),
            posted_until=_day_start(target + timedelta(days=1), config),
            text_chars=text_chars,
        )
    else:
        since = store.email_window_start(target)
        posts = store.email_posts(
            posted_from=_day_start(target - timedelta(days=EMAIL_DAYS - 1), config),
            seen_after=since,
            seen_until=now,
            text_chars=text_chars,
        )
    return MailDigest(day=target, digests=_digests_by_day(posts, config), since=since)


def _digests_by_day(posts: Sequence[SitePost], config: Config) -> tuple[Digest, ...]:
    """One digest per day (site.timezone), newest day first."""
    by_day: dict[date, list[SitePost]] = {}
    for post in posts:
        by_day.setdefault(digest_module.day_of(post.posted_at, config.site.tz), []).append(post)
    words = config.site.excerpt_words
    return tuple(
        digest_module.build_digest(day, by_day[day], config.topics, words)
        for day in sorted(by_day, reverse=True)
    )


def _email_written(result: EmailResult, out: Path | None) -> EmailResult:
    """A dry run, or an .eml file: nothing is sent or recorded."""
    if out is None or result.message is None:
        return result
    # ── engineer I ── no folder is made for it: a mistyped path (/nonexistent/x.eml) is
    # said, as a shell's `> file` or `pln export -o` say it, not created.
    if not out.parent.is_dir():
        raise PlnError(f"cannot write {out}: there is no folder {out.parent}")
    try:
        out.write_bytes(mail_module.eml_bytes(result.message))
    except OSError as exc:
        raise PlnError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return replace(result, status=EmailStatus.WRITTEN, out=out)


def _sent_record(
    message: EmailMessage,
    digest: MailDigest,
    delivery: mail_module.Delivery,
    sent_at: datetime,
    window: tuple[datetime | None, datetime] | None,
) -> SentDigest:
    """What the store keeps of a sent digest; ``window`` is None for a --date digest."""
    covers_from, covers_until = window if window else (None, None)
    return SentDigest(
        day=digest.day,
        sent_at=sent_at,
        message_id=str(message["Message-ID"]),
        recipients=delivery.accepted,
        posts=digest.post_count,
        covers_from=covers_from,
        covers_until=covers_until,
    )


def _partly_refused(settings: EmailConfig, delivery: mail_module.Delivery, recorded: bool) -> str:
    refused = "; ".join(f"{address}: {words}" for address, words in delivery.refused)
    where = f"{settings.smtp.host}:{settings.smtp.port}"
    accepted = ", ".join(delivery.accepted)
    outcome = (
        f"it was delivered to {accepted} and recorded as sent; "
        "send it to the others with `pln email --to ADDRESS`"
        if recorded
        else f"it was delivered to {accepted} only"
    )
    return f"{where} refused some recipients ({refused}): {outcome}"


# ── reports (issue 8): what a scheduled run tells a person, once ─────────────────────────
#
# `pln run` hands what it found to reports.plan with what the store remembers having told;
# the CLI prints the plan (with -q nothing else), and the store keeps it. Each source
# failure, a stage that failed (fetch, build, email), another pln holding the lock and a
# run that never finished are told once; the log file has every one of them every run.

# A disk that takes no more: full, over a file-size limit (ulimit -f), over a quota.
_DISK_FULL_WORDS = {
    errno.ENOSPC: "no space left on it",
    errno.EFBIG: "a file reached the size limit set for pln",
    errno.EDQUOT: "your disk quota is used up",
}
# SQLite's result codes for the same: SQLITE_FULL; and SQLITE_IOERR, plain or as
# IOERR_WRITE, IOERR_FSYNC, IOERR_TRUNCATE: a write the system refused, as it refuses one
# past a file-size limit (SQLite keeps the errno to itself; a failing disk says the same).
_SQLITE_FULL = 13
_SQLITE_WRITE_REFUSED = frozenset({10, 778, 1034, 1546})

_AFTER_DISK_FULL = {
    "fetch": "pln could not write to its database; nothing stored before was lost, and the "
    "next run fetches again",
    "build": "{output} was left as it was; the next run builds it",
    "email": "the digest was not recorded as sent; the next run sends it",
}


def _kind_of(exc: PlnError) -> str:
    """A source failure's class: a change of class is told again, a repeat is not."""
    if isinstance(exc, HttpStatusError):
        named = {410: "gone", 404: "not-found", 401: "refused", 403: "refused"}
        if exc.status in named:
            return named[exc.status]
        if exc.status == 429:
            return "rate-limited"
        return "server-error" if exc.status >= 500 else f"http-{exc.status}"
    if isinstance(exc, FetchError):
        return "unreachable"
    if isinstance(exc, ParseError):
        return "unreadable"
    return "failed"


def source_problems(summary: FetchSummary) -> tuple[list[Problem], set[str]]:
    """The sources that failed this run, and the keys of those that worked; a source not
    tried (backing off, gone) is neither, so what was told of it stays as it was."""
    found: list[Problem] = []
    fine: set[str] = set()
    for outcome in summary.outcomes:
        key = reports.source_key(outcome.url)
        if outcome.status in (SourceStatus.FAILED, SourceStatus.GONE):
            message = f"{outcome.person}: {outcome.url}: {outcome.error}"
            found.append(Problem(key, outcome.problem_kind or "failed", message))
        elif outcome.status in (SourceStatus.UPDATED, SourceStatus.UNCHANGED):
            fine.add(key)
    return found, fine


def stage_problem(stage: str, exc: PlnError, config: Config) -> Problem:
    """A stage of `pln run` (fetch, build, email) that failed, in words a person acts on."""
    if isinstance(exc, LockError):
        words = f"{exc} This run stopped there; the next one carries on."
        return Problem("lock", "held", words)
    full = disk_full(exc)
    if full is not None:
        after = _AFTER_DISK_FULL[stage].format(output=config.output_path)
        words = f"the disk is full ({full}): {after}. Free some space."
        return Problem("disk", "full", words)  # one problem, whichever stage met it
    if stage == "build":
        message = f"the site could not be built: {exc}; {config.output_path} was left as it was"
        return Problem(stage, "failed", message)
    if stage == "email":
        return Problem(stage, "delivery", str(exc))
    return Problem(stage, "failed", f"the {stage} failed: {exc}")


def disk_full(exc: BaseException) -> str | None:
    """Why, in words, when ``exc`` (or what caused it) is a disk that took no more."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in _DISK_FULL_WORDS:
            return _DISK_FULL_WORDS[cause.errno]
        code = getattr(cause, "sqlite_errorcode", None)
        if code == _SQLITE_FULL:
            return _DISK_FULL_WORDS[errno.ENOSPC]
        if code in _SQLITE_WRITE_REFUSED:
            return "it refused the database's writes, or it is failing"
        cause = cause.__cause__ or cause.__context__
    return None


# A `pln run` going on leaves this file in the site directory, named with its process id,
# and takes it away when it ends, however it ends but killed: a file whose process is gone
# tells the next run that one never finished. A file, not a row, since removing it needs no
# room on a full disk.
RUN_MARK = ".pln.run."


def begin_run(config: Config) -> list[UnfinishedRun]:
    """Note that this `pln run` is going on; return the earlier runs that never finished,
    each to be told once (the first run to take its mark away tells it)."""
    unfinished = []
    for mark in config.site_dir.glob(RUN_MARK + "*"):
        pid_text = mark.name.removeprefix(RUN_MARK)
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        if _process_alive(int(pid_text)):
            continue
        try:
            started = datetime.fromtimestamp(mark.stat().st_mtime, UTC)
            mark.unlink()
        except FileNotFoundError:  # another run took it first, and tells it
            continue
        unfinished.append(UnfinishedRun(int(pid_text), "run", started))
    with contextlib.suppress(OSError):  # a full disk: the run goes on unmarked
        _run_mark(config).touch()
    return unfinished


def end_run(config: Config) -> None:
    # (engineer F) a read-only site dir: no mark was made, and unlink says EROFS, not ENOENT
    with contextlib.suppress(OSError):
        _run_mark(config).unlink(missing_ok=True)


def _run_mark(config: Config) -> Path:
    return config.site_dir / f"{RUN_MARK}{os.getpid()}"


def unfinished_problem(run: UnfinishedRun, config: Config) -> Problem:
    started = run.started_at.astimezone(config.site.tz).strftime("%Y-%m-%d %H:%M")
    return Problem(
        f"unfinished {run.pid}",
        "unfinished",
        f"the `pln {run.command}` of process {run.pid}, started {started}, did not finish "
        "(it was killed, or the machine stopped): this run carried on where it stopped, "
        "and nothing it had stored was lost",
    )


def report_run(
    config: Config,
    found: Sequence[Problem],
    fine: Collection[str],
    *,
    clock: Clock = system_clock,
) -> ReportPlan:
    """Decide what this run tells (reports.plan) and remember it; note the run finished.

    A database that cannot be read or written (a full disk) costs only the memory of
    what was told: everything found is then told, and told again next time."""
    for problem in found:
        if not problem.key.startswith(reports.SOURCE_PREFIX):  # sources are logged as outcomes
            log.error("%s", problem.message, extra={"console": False})
    now = clock()
    previous: list[ReportedProblem] = []
    try:
        with Store.open(config.database_path) as store:
            previous = store.reported_problems()
            decided = _plan_for(config, previous, found, fine, now)
            store.save_reports(decided.keep, decided.drop)
    except StorageError as exc:
        # Told now, and told again by the next run, which finds no memory of it.
        log.warning("what this run told is not remembered: %s", exc, extra={"console": False})
        return _plan_for(config, previous, found, fine, now)
    return decided


def _plan_for(
    config: Config,
    previous: Sequence[ReportedProblem],
    found: Sequence[Problem],
    fine: Collection[str],
    now: datetime,
) -> ReportPlan:
    known = {reports.source_key(source.url) for source in config.sources}
    forget = {
        report.key
        for report in previous
        if report.key.startswith(reports.SOURCE_PREFIX) and report.key not in known
    }
    return reports.plan(previous, found, fine, now, forget)


def open_problems(config: Config) -> list[ReportedProblem]:
    """The problems scheduled runs told of that are still open (none before the first run)."""
    if not config.database_path.exists():
        return []
    with Store.open_readonly(config.database_path) as store:
        try:
            return store.reported_problems()
        except StorageError:  # a database from before m011_reports: nothing told yet
            return []


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    try:  # a killed process its parent has not reaped yet is a zombie: gone all the same
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()
    except OSError:
        return True
    return not state or state[0] not in ("Z", "X")
