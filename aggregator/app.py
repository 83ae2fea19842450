"""What pln does, step by step: the only module that sequences I/O.

The CLI calls these functions; they take a ``clock`` so tests can fix the time, and report
progress through a small ``Progress`` observer so the CLI decides how it looks.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from aggregator import config as config_module
from aggregator import mastodon, parse, policy
from aggregator.errors import ConfigError, FetchError, HttpStatusError, ParseError, PlnError
from aggregator.fetch import Fetcher
from aggregator.lock import site_lock
from aggregator.models import (
    Config,
    FeedLinks,
    FetchResult,
    FetchSummary,
    ParsedFeed,
    SearchHit,
    SourceConfig,
    SourceHealth,
    SourceKind,
    SourceOutcome,
    SourceState,
    SourceStatus,
)
from aggregator.store import SaveCounts, Store, check_fts_query

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
            raise ConfigError(
                f"topic {topic.name!r}: the match query is not valid FTS5 syntax ({problem})",
                file=config.path,
                line=topic.line,
                key=f"topics[{index}].match",
            )
    return config


def init_site(site_dir: Path) -> Path:
    """Create a site directory with the commented starter sources.yaml; never overwrite."""
    target = site_dir / "sources.yaml"
    if target.exists():
        raise ConfigError(f"{target} already exists: nothing was changed")
    site_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(config_module.starter_text(), encoding="utf-8")
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
    started = time.monotonic()
    with site_lock(config.site_dir, "fetch"), Store.open(config.database_path) as store:
        states = store.sync_config(config, clock())
        sources = {source.url: source for source in config.sources}
        outcomes = asyncio.run(
            _fetch_all(config, store, states, sources, clock, progress or NoProgress(), force)
        )
    return FetchSummary(outcomes=tuple(outcomes), elapsed=time.monotonic() - started)


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
        with _parse_pool(len(due)) as pool:
            reader = _SourceReader(fetcher, pool, store, budget, clock, progress)
            fetched = await asyncio.gather(
                *(reader.run(state, sources[state.url]) for state in due)
            )
    return [*fetched, *waiting]


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


@dataclass(frozen=True)
class _SourceReader:
    """What reading one source needs, shared by every source of a run."""

    fetcher: Fetcher
    pool: Executor | None
    store: Store
    budget: mastodon.InstanceBudget
    clock: Clock
    progress: Progress

    async def run(self, state: SourceState, source: SourceConfig) -> SourceOutcome:
        started = time.monotonic()
        outcome = SourceOutcome(state.url, state.person, state.kind, SourceStatus.UNCHANGED)
        try:
            outcome = await self._read_and_store(state, source)
        except HttpStatusError as exc:
            gone = exc.status == 410
            self.store.record_failure(
                state.id, exc.message, self.clock(), retry_after=exc.retry_after, gone=gone
            )
            status = SourceStatus.GONE if gone else SourceStatus.FAILED
            outcome = replace(outcome, status=status, error=_describe_status(exc))
        except PlnError as exc:
            self.store.record_failure(state.id, _message(exc), self.clock())
            outcome = replace(outcome, status=SourceStatus.FAILED, error=_message(exc))
        except Exception as exc:  # a bug must cost one source, not the run
            log.exception("unexpected error while fetching %s", state.url)
            error = f"internal error: {type(exc).__name__}: {exc}"
            self.store.record_failure(state.id, error, self.clock())
            outcome = replace(outcome, status=SourceStatus.FAILED, error=error)
        outcome = replace(outcome, elapsed=time.monotonic() - started)
        self.progress.source_done(outcome)
        return outcome

    async def _read_and_store(self, state: SourceState, source: SourceConfig) -> SourceOutcome:
        if state.kind == SourceKind.MASTODON:
            cursor = self.store.mastodon_cursor(state.id)
            read = await mastodon.read_account(
                self.fetcher, source, cursor, self.budget, self.clock()
            )
            counts = self.store.record_mastodon(state.id, read, self.clock())
            return _outcome(state, counts, read.notes)
        fetched = await _read_source(self.fetcher, self.pool, state)
        return _store_fetched(self.store, state, fetched, self.clock())


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
    )


def _store_fetched(
    store: Store, state: SourceState, fetched: _Fetched, now: datetime
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


def _describe_status(exc: HttpStatusError) -> str:
    if exc.status == 410:
        return f"{exc.message}: the source is gone and will not be fetched again"
    if exc.retry_after is not None:
        wait = timedelta(seconds=round(exc.retry_after))
        return f"{exc.message}: the server asked us to wait {wait}"
    return exc.message


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _message(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    if isinstance(exc, FetchError | ParseError):
        return exc.message
    return str(exc)


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
) -> list[SearchHit]:
    """Search every stored post; ``since``/``until`` are whole days in site.timezone."""
    with Store.open_readonly(config.database_path) as store:
        return store.search(
            text,
            limit=limit,
            sort=sort,
            person=person,
            topic=topic,
            since=_day_start(since, config) if since else None,
            until=_day_start(until + timedelta(days=1), config) if until else None,
        )


def source_health(config: Config) -> list[SourceHealth]:
    """Every source ever followed, active ones first; empty before the first fetch."""
    if not config.database_path.exists():
        return []
    with Store.open_readonly(config.database_path) as store:
        return store.source_health()


def _day_start(day: date, config: Config) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=config.site.tz).astimezone(UTC)
