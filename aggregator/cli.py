"""The ``pln`` command line: a thin click layer over ``aggregator.app``.

Exit status (SPEC.md): 0 done, even when some sources failed; 1 the command itself failed;
2 bad usage or an invalid configuration.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aggregator import __version__, app
from aggregator.errors import ConfigError, InvalidQueryError, PlnError
from aggregator.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Config,
    FetchSummary,
    SearchHit,
    SourceHealth,
    SourceOutcome,
    SourceStatus,
)

EXIT_FAILED = 1
EXIT_USAGE = 2


@dataclass
class Context:
    site_dir: Path
    verbosity: int  # -1 quiet, 0 normal, 1+ verbose
    out: Console
    err: Console

    def config(self) -> Config:
        return app.load_config(self.site_dir)


@contextmanager
def _errors_to_exit_status() -> Iterator[None]:
    """Turn our errors into a message and SPEC.md's exit status, never a traceback."""
    try:
        yield
    except (ConfigError, InvalidQueryError) as exc:
        click.echo(f"error: {exc}", err=True)
        # The config loader attaches every further problem it found as a note.
        for note in getattr(exc, "__notes__", ()):
            click.echo(f"error: {note}", err=True)
        sys.exit(EXIT_USAGE)
    except PlnError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)


class PlnGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        with _errors_to_exit_status():
            return super().invoke(ctx)


@click.group(cls=PlnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--site",
    "site_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PLN_SITE",
    default=".",
    show_default="the current directory, or $PLN_SITE",
    help="The site directory: it holds sources.yaml, pln.db and output/.",
)
@click.option("-v", "--verbose", count=True, help="Say more: per-source detail and timings.")
@click.option("-q", "--quiet", is_flag=True, help="Print only what needs a person: errors.")
@click.version_option(__version__, prog_name="pln")
@click.pass_context
def cli(ctx: click.Context, site_dir: Path, verbose: int, quiet: bool) -> None:
    """pln: a daily digest of your one-way professional learning network.

    Follow the blogs, feeds and Mastodon accounts of the people you learn from; pln fetches
    what they published, keeps it in one SQLite file with a full-text index, and gives it
    back to search.

    Start with `pln init mysite`, edit mysite/sources.yaml, then `pln --site mysite fetch`.
    """
    verbosity = -1 if quiet else verbose
    _configure_logging(verbosity)
    ctx.obj = Context(
        site_dir=site_dir,
        verbosity=verbosity,
        out=Console(highlight=False, soft_wrap=True),
        err=Console(stderr=True, highlight=False),
    )


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


pass_context = click.make_pass_decorator(Context)


# ── init, check ──────────────────────────────────────────────────────────────────────────


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@pass_context
def init(ctx: Context, directory: Path | None) -> None:
    """Create a site directory with a commented sources.yaml to edit."""
    site_dir = directory or ctx.site_dir
    created = app.init_site(site_dir)
    if ctx.verbosity >= 0:
        click.echo(f"Created {created}")
        click.echo(f"Next: edit it, then run `pln --site {site_dir} check` and `fetch`.")


@cli.command()
@pass_context
def check(ctx: Context) -> None:
    """Validate sources.yaml and its topic queries; exit 2 if it is invalid."""
    config = ctx.config()
    sources = config.sources
    if ctx.verbosity >= 0:
        click.echo(
            f"{config.path} is valid: {_plural(len(config.people), 'person', 'people')}, "
            f"{_plural(len(sources), 'source')}, {_plural(len(config.topics), 'topic')}."
        )


# ── fetch ────────────────────────────────────────────────────────────────────────────────


@cli.command()
@click.option("--force", is_flag=True, help="Also fetch sources that are backing off after errors.")
@pass_context
def fetch(ctx: Context, force: bool) -> None:
    """Fetch every source that is due; a progress bar, then a summary.

    Refetches are conditional (ETag, Last-Modified); failing sources back off; a source
    that answered 410 Gone is not fetched again. A failed source is reported, not fatal.
    """
    config = ctx.config()
    with _progress(ctx) as progress:
        summary = app.fetch(config, progress=progress, force=force)
    _print_summary(ctx, summary)


class _LineProgress:
    """Progress as plain lines, for logs and pipes."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def start(self, total: int) -> None:
        if self.ctx.verbosity >= 1:
            click.echo(f"Fetching {_plural(total, 'source')}…", err=True)

    def source_done(self, outcome: SourceOutcome) -> None:
        if self.ctx.verbosity >= 1:
            click.echo(_outcome_line(outcome, timings=True), err=True)


class _BarProgress:
    """A rich progress bar on a terminal; per-source lines above it with -v."""

    def __init__(self, ctx: Context, bar: Progress) -> None:
        self.ctx = ctx
        self.bar = bar
        self.task = bar.add_task("Fetching", total=None)

    def start(self, total: int) -> None:
        self.bar.update(self.task, total=total)

    def source_done(self, outcome: SourceOutcome) -> None:
        self.bar.advance(self.task)
        if self.ctx.verbosity >= 1:
            self.bar.console.print(escape(_outcome_line(outcome, timings=True)))


@contextmanager
def _progress(ctx: Context) -> Iterator[app.Progress]:
    if ctx.verbosity < 0:
        yield app.NoProgress()
    elif not ctx.err.is_terminal:
        yield _LineProgress(ctx)
    else:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=ctx.err, transient=True) as bar:
            yield _BarProgress(ctx, bar)


_MARKS = {
    SourceStatus.UPDATED: "+",
    SourceStatus.UNCHANGED: "=",
    SourceStatus.FAILED: "✗",
    SourceStatus.GONE: "⊘",
    SourceStatus.SKIPPED: "…",
}


def _outcome_line(outcome: SourceOutcome, timings: bool = False) -> str:
    detail = outcome.error or ""
    if outcome.status == SourceStatus.UPDATED:
        detail = f"{outcome.new_posts} new, {outcome.updated_posts} updated"
    elif outcome.status == SourceStatus.UNCHANGED:
        detail = "unchanged"
    line = f"{_MARKS[outcome.status]} {outcome.person}: {outcome.url}: {detail}"
    if timings:
        line += f" ({outcome.elapsed:.2f} s)"
        line += "".join(f"\n    {note}" for note in outcome.notes)
    return line


def _print_summary(ctx: Context, summary: FetchSummary) -> None:
    skipped = summary.count(SourceStatus.SKIPPED)
    if ctx.verbosity >= 0:
        parts = [
            f"{summary.new_posts} new posts",
            f"{summary.updated_posts} updated",
            f"{summary.count(SourceStatus.UNCHANGED)} sources unchanged",
            f"{summary.count(SourceStatus.FAILED)} failed",
        ]
        if summary.count(SourceStatus.GONE):
            parts.append(f"{summary.count(SourceStatus.GONE)} gone")
        if skipped:
            parts.append(f"{skipped} skipped (gone or backing off; see `pln sources`)")
        fetched = len(summary.outcomes) - skipped
        click.echo(
            f"Fetched {_plural(fetched, 'source')} in {summary.elapsed:.1f} s: "
            + ", ".join(parts)
            + "."
        )
    # Failures are what a person must see, even with -q; -v printed them as they happened.
    if ctx.verbosity < 1:
        for outcome in summary.outcomes:
            if outcome.status in (SourceStatus.FAILED, SourceStatus.GONE):
                click.echo(f"  {_outcome_line(outcome)}", err=True)
    if ctx.verbosity < 0:
        return
    for outcome in summary.outcomes:
        for note in outcome.notes:
            if note.startswith("moved permanently"):
                click.echo(f"  → {outcome.person}: {outcome.url} {note}: update sources.yaml")


# ── sources ──────────────────────────────────────────────────────────────────────────────


@cli.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for a person, json for a script.",
)
@pass_context
def sources(ctx: Context, output_format: str) -> None:
    """Every source with its health: last success, last error, posts, redirects, gone."""
    config = ctx.config()
    health = app.source_health(config)
    if output_format == "json":
        click.echo(json.dumps([_health_json(h) for h in health], indent=2, ensure_ascii=False))
        return
    if not health:
        click.echo("No source fetched yet: run `pln fetch`.")
        return
    _print_health_table(ctx, config, health)


def _health_status(health: SourceHealth) -> str:
    if not health.active:
        return "removed"
    if health.gone:
        return "gone"
    if health.failures:
        return "failing"
    if health.last_success is None:
        return "new"
    return "ok"


def _health_json(health: SourceHealth) -> dict[str, Any]:
    return {
        "person": health.person,
        "url": health.url,
        "kind": health.kind.value,
        "status": _health_status(health),
        "fetch_url": health.fetch_url,
        "via": health.via,
        "last_success": _iso(health.last_success),
        "last_error": health.last_error,
        "last_error_at": _iso(health.last_error_at),
        "failures": health.failures,
        "next_due": _iso(health.next_due),
        "posts": health.posts,
        "last_post": _iso(health.last_post),
        "gone": health.gone,
        "redirect_to": health.redirect_to,
        "active": health.active,
    }


def _print_health_table(ctx: Context, config: Config, rows: list[SourceHealth]) -> None:
    """Two lines a source, grouped by person: readable in a terminal and in a cron mail."""
    tz = config.site.tz
    person = None
    for health in rows:
        if health.person != person:
            person = health.person
            ctx.out.print(f"[bold]{escape(person)}[/bold]")
        status = _health_status(health)
        style = _STATUS_STYLE.get(status, "")
        via = f" via {health.via}" if health.via else ""
        ctx.out.print(f"  {escape(health.url)}  [dim]{health.kind.value}{via}[/dim]")
        facts = [f"[{style}]{status}[/]" if style else status, _plural(health.posts, "post")]
        facts.append(f"last success {_local_time(health.last_success, tz)}")
        if health.last_post:
            facts.append(f"last post {_local_time(health.last_post, tz)}")
        if health.failures or health.gone:
            facts.append(escape(health.last_error or ""))
        if health.next_due and not health.gone:
            facts.append(f"next try {_local_time(health.next_due, tz)}")
        ctx.out.print("    " + " · ".join(facts))
        if health.redirect_to:
            ctx.out.print(
                f"    [yellow]moved permanently to {escape(health.redirect_to)}: "
                "update sources.yaml[/yellow]"
            )


_STATUS_STYLE = {"ok": "green", "failing": "red", "gone": "red", "removed": "dim"}


def _local_time(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "never"


# ── search ───────────────────────────────────────────────────────────────────────────────


@cli.command()
@click.argument("query")
@click.option("--topic", help="Only posts tagged with this topic slug.")
@click.option("--person", help="Only posts of this person (name or slug).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this day (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Up to this day, included.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--sort", type=click.Choice(["rank", "date"]), default="rank", show_default=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@pass_context
def search(
    ctx: Context,
    query: str,
    topic: str | None,
    person: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    sort: str,
    output_format: str,
) -> None:
    """Search everything ever fetched.

    QUERY uses SQLite FTS5 syntax: words (all must match), "a phrase", prefix*, OR, NOT,
    and column filters such as title:drought. A query that is not valid syntax is searched
    as plain words.
    """
    config = ctx.config()
    hits = app.search(
        config,
        query,
        limit=limit,
        sort=sort,
        person=person,
        topic=topic,
        since=_day(since),
        until=_day(until),
    )
    if output_format == "json":
        click.echo(json.dumps([_hit_json(hit) for hit in hits], indent=2, ensure_ascii=False))
        return
    _print_hits(ctx, config, hits)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    return {
        "title": hit.title,
        "url": hit.url,
        "person": hit.person,
        "source": hit.source,
        "kind": hit.kind.value,
        "published": _iso(hit.published),
        "topics": list(hit.topics),
        "snippet": _plain_snippet(hit.snippet),
        "rank": hit.rank,
    }


def _plain_snippet(snippet: str) -> str:
    return snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")


def _print_hits(ctx: Context, config: Config, hits: list[SearchHit]) -> None:
    if not hits:
        click.echo("No match.", err=True)
        return
    tz = config.site.tz
    for number, hit in enumerate(hits, 1):
        when = hit.published.astimezone(tz).strftime("%Y-%m-%d") if hit.published else ""
        meta = " · ".join(part for part in (hit.person, when, " ".join(hit.topics)) if part)
        snippet = escape(" ".join(hit.snippet.split()))
        snippet = snippet.replace(HIGHLIGHT_START, "[bold]").replace(HIGHLIGHT_END, "[/bold]")
        ctx.out.print(f"[bold]{number}. {escape(hit.title or '(untitled)')}[/bold]")
        ctx.out.print(f"   {escape(meta)}")
        if hit.url:
            ctx.out.print(f"   {escape(hit.url)}")
        ctx.out.print(f"   {snippet}\n")


# ── helpers ──────────────────────────────────────────────────────────────────────────────


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def main() -> None:
    cli(prog_name="pln")
