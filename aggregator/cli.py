"""The ``pln`` command line: a thin click layer over ``aggregator.app``.

Exit status (SPEC.md): 0 done, even when some sources failed; 1 the command itself failed;
2 bad usage or an invalid configuration.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from aggregator import __version__, app, reports
from aggregator import lock as lock_module  # ── engineer F ── (app imports it anyway)
from aggregator.errors import ConfigError, InvalidQueryError, LockError, ParseError, PlnError
from aggregator.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Config,
    EmailStatus,
    FetchSummary,
    HealthReport,
    Problem,
    ReportedProblem,
    ReportPlan,
    SearchHit,
    SourceHealth,
    SourceKind,
    SourceOutcome,
    SourcesEdit,
    SourceStatus,
    Trends,
)
from aggregator.query import SEARCH_CAP  # ── search ── (pure: no import cost)

if TYPE_CHECKING:  # ── start-up (engineer E) ── rich.progress is imported for a bar only
    from rich.progress import Progress

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 128 + 2  # ── G ── stopped by Ctrl-C (SIGINT), as shells report it

_log = logging.getLogger("pln")


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
        _log.error("%s", exc, extra={"console": False})  # for --log-file: printed below
        click.echo(f"error: {exc}", err=True)
        # The config loader attaches every further problem it found as a note.
        for note in getattr(exc, "__notes__", ()):
            click.echo(f"error: {note}", err=True)
        sys.exit(EXIT_USAGE)
    except PlnError as exc:
        _log.error("%s", exc, extra={"console": False})  # for --log-file: printed below
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:  # ── G (review finding 19) ── click would say "Aborted!", exit 1
        click.echo("\nInterrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)


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
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PLN_LOG_FILE",
    help="Also append a log to this file: every source's outcome with timings, and every "
    "error, at INFO with timestamps (whatever -v or -q say).",
)
@click.version_option(__version__, prog_name="pln")
@click.pass_context
def cli(
    ctx: click.Context, site_dir: Path, verbose: int, quiet: bool, log_file: Path | None
) -> None:
    """pln: a daily digest of your one-way professional learning network.

    Follow the blogs, feeds and Mastodon accounts of the people you learn from; pln fetches
    what they published, keeps it in one SQLite file with a full-text index, and gives it
    back to search.

    Start with `pln init mysite`, edit mysite/sources.yaml, then `pln --site mysite fetch`.
    To see it all work first, offline, on a sample network: `pln demo`.
    """
    if quiet and verbose:  # ── engineer I ── SPEC: `[-v | -q]`, one or the other
        raise click.UsageError("-v and -q contradict each other: give one of them.", ctx)
    verbosity = -1 if quiet else verbose
    _configure_logging(verbosity)
    # ── engineer F ── a pln that waits for another's lock says so at once (not with -q)
    lock_module.announce_waits(None if quiet else _say_on_stderr)
    if log_file is not None:
        _log_to_file(ctx, log_file, site_dir)  # see "logs" below
    ctx.obj = Context(
        site_dir=site_dir,
        verbosity=verbosity,
        out=Console(highlight=False, soft_wrap=True),
        err=Console(stderr=True, highlight=False),
    )


def _say_on_stderr(text: str) -> None:  # ── engineer F ──
    click.echo(text, err=True)


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    # The console shows each source's outcome its own way (progress lines), not as a log.
    console = _StderrHandler()
    console.addFilter(_not_an_outcome)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[console]
    )
    logging.getLogger("pln").setLevel(logging.NOTSET)  # --log-file raises it, per command
    # Every HTTP request is -vv detail: -v is about sources, not requests.
    logging.getLogger("httpx").setLevel(logging.NOTSET if verbosity >= 2 else logging.WARNING)


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
    """Validate sources.yaml, its topic queries and site.output; exit 2 if one is wrong."""
    config = ctx.config()
    app.check_output(config)  # a build would refuse it: say so before the first run does
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


# ── site ─────────────────────────────────────────────────────────────────────────────────


@cli.command()
@pass_context
def build(ctx: Context) -> None:
    """Render the static site into output/ (site.output moves it).

    The whole site is written beside output/ and swapped in, so a failed build leaves the
    previous site as it was; files whose content did not change keep their modification
    time, so a deploy by rsync uploads only what changed.
    """
    report = app.build(ctx.config())
    _print_build(ctx, report)


@cli.command()
@click.option("--strict", is_flag=True, help="Exit 1 when any source failed (after building).")
@click.option("--force", is_flag=True, help="Also fetch sources that are backing off after errors.")
@click.option(
    "--email",
    "send_email",
    is_flag=True,
    help="Then send the emailed digest, as `pln email` does (once a day; see its --help).",
)
@pass_context
def run(ctx: Context, strict: bool, force: bool, send_email: bool) -> None:
    """Fetch every source that is due, then build the site: the command for a schedule.

    A failed source is reported and the site is built all the same; with --strict the
    exit status is then 1, so a scheduler can tell someone. With --email the digest is
    sent after the build (even when the build failed); a mail server that fails makes
    the exit status 1, and the next run sends it.

    With -q (for cron, which mails whatever a job prints) each problem is told once: when
    it first appears, when it changes (a source timing out is now gone), after a week if
    it lasts, and briefly when it is over. `pln sources` and --log-file show it meanwhile.
    """
    config = ctx.config()
    if send_email:  # ── email ── a missing setting fails now, not after a long fetch
        app.check_email(config, sending=True)
    scheduled = _ScheduledRun(ctx, config)
    try:
        summary = scheduled.stage("fetch", lambda: _fetch_for_run(ctx, config, force))
        if summary is not None:
            report = scheduled.stage("build", lambda: app.build(config))
            if report is not None:
                _print_build(ctx, report)
            if send_email:
                result = scheduled.stage("email", lambda: app.email(config))
                if result is not None and ctx.verbosity >= 0:
                    _print_email(ctx, config, result)
        scheduled.finish()
    finally:
        app.end_run(config)  # only a killed run leaves its mark behind
    if scheduled.failed:
        sys.exit(EXIT_FAILED)
    if strict and summary is not None and summary.failed:
        click.echo(f"error: {_plural(len(summary.failed), 'source')} failed (--strict)", err=True)
        sys.exit(EXIT_FAILED)


# ── reports (issue 8): what a scheduled run tells, once ──────────────────────────────────

_T = TypeVar("_T")
# What a resolved problem that is not a source's says.
_RESOLVED = {
    "disk": "the disk takes what pln writes again",
    "fetch": "the fetch works again",
    "build": "the site builds again",
    "email": "the emailed digest went out",
}


class _ScheduledRun:
    """One `pln run`: its stages, what they found, and what it tells (app.report_run).

    Without -q the run prints its whole summary as ever, and a failed stage as an error;
    with -q only what reports.plan decides is news. Either way the store learns what was
    told, so a person who saw it on a terminal is not mailed it by the next cron run."""

    def __init__(self, ctx: Context, config: Config) -> None:
        self.ctx = ctx
        self.config = config
        self.found: list[Problem] = []
        self.fine: set[str] = set()
        self.failed = False
        self.stopped = False
        self.began = False

    def stage(self, name: str, step: Callable[[], _T]) -> _T | None:
        """Run one stage; a failure becomes a problem (told below), not a traceback."""
        if not self.began:
            self._begin()
        if self.stopped:
            return None
        try:
            result = step()
        except (ConfigError, InvalidQueryError):
            raise  # bad usage: exit 2 at once, as every command does
        except (PlnError, OSError) as exc:
            self.failed = True
            # Another pln has the site: the stages after this one would only wait again.
            self.stopped = isinstance(exc, LockError)
            problem = app.stage_problem(name, _as_pln_error(exc), self.config)
            self.found.append(problem)
            if self.ctx.verbosity >= 0:
                click.echo(f"error: {problem.message}", err=True)
            return None
        self.fine.update({name, "lock"})
        if isinstance(result, FetchSummary):
            found, fine = app.source_problems(result)
            self.found.extend(found)
            self.fine.update(fine)
        return result

    def _begin(self) -> None:
        self.began = True
        for unfinished in app.begin_run(self.config):  # told once: its mark is gone now
            click.echo(f"note: {app.unfinished_problem(unfinished, self.config).message}")

    def finish(self) -> None:
        if not self.failed:  # every stage wrote what it had to: the disk takes it
            self.fine.add("disk")
        plan = app.report_run(self.config, self.found, self.fine)
        _print_plan(self.ctx, self.config, plan)


def _fetch_for_run(ctx: Context, config: Config, force: bool) -> FetchSummary:
    with _progress(ctx) as progress:
        summary = app.fetch(config, progress=progress, force=force)
    if ctx.verbosity >= 0:
        _print_summary(ctx, summary)
    return summary


def _as_pln_error(exc: Exception) -> PlnError:
    if isinstance(exc, PlnError):
        return exc
    error = PlnError(f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc))
    error.__cause__ = exc
    return error


def _print_plan(ctx: Context, config: Config, plan: ReportPlan) -> None:
    """With -q: what is news. Without: the problems were in the summary; only what is over."""
    tz = config.site.tz
    if ctx.verbosity < 0:
        for problem in plan.new:
            click.echo(_problem_line(problem.key, problem.message), err=True)
        for problem, before in plan.changed:
            since = _local_time(before.since, tz)
            line = _problem_line(problem.key, problem.message)
            click.echo(f"{line} (failing since {since}; it failed another way before)", err=True)
        for report in plan.reminders:
            line = _problem_line(report.key, report.message)
            lasting = reports.open_for(report, report.reported_at)
            click.echo(f"{line} (still failing, for {lasting})", err=True)
    now = datetime.now(UTC)
    for report in plan.resolved:
        lasted = reports.open_for(report, now)
        click.echo(f"ok again: {_resolved_subject(report)} (after {lasted})")


def _problem_line(key: str, message: str) -> str:
    return f"  ✗ {message}" if key.startswith(reports.SOURCE_PREFIX) else f"error: {message}"


def _resolved_subject(report: ReportedProblem) -> str:
    if report.key.startswith(reports.SOURCE_PREFIX):
        url = report.key.removeprefix(reports.SOURCE_PREFIX)
        head, found, _ = report.message.partition(url)
        return f"{head}{url} works again" if found else f"{url} works again"
    return _RESOLVED.get(report.key, f"{report.key} works again")


@cli.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port on 127.0.0.1 (0 picks a free one).",
)
@pass_context
def serve(ctx: Context, port: int) -> None:
    """Preview the built site (output/) on 127.0.0.1 until Ctrl+C."""
    config = ctx.config()

    def ready(url: str) -> None:
        click.echo(f"Serving {config.output_path} at {url} (Ctrl+C to stop)")

    app.serve(config, port, ready=ready)


def _print_build(ctx: Context, report: Any) -> None:
    if ctx.verbosity < 0:
        return
    click.echo(
        f"Built {report.output} in {report.elapsed:.1f} s: "
        f"{_plural(report.pages, 'page')} from {_plural(report.posts, 'post')} "
        f"over {_plural(report.days, 'day')}; {_plural(report.changed, 'file')} changed, "  # G
        f"{report.unchanged} unchanged, {report.removed} removed."
    )
    if not report.search_indexed:
        click.echo("  search: no index (the pagefind package is not installed)", err=True)


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
        from rich.progress import (  # only on a terminal: a pipe or a cron job never loads it
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

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
        detail = "no posts yet" if outcome.no_posts_yet else "unchanged"
    line = f"{_MARKS[outcome.status]} {outcome.person}: {outcome.url}: {detail}"
    if timings:
        line += f" ({outcome.elapsed:.2f} s)"
        line += "".join(f"\n    {note}" for note in outcome.notes)
    return line


def _print_summary(ctx: Context, summary: FetchSummary) -> None:
    skipped = summary.count(SourceStatus.SKIPPED)
    if ctx.verbosity >= 0:
        empty = sum(1 for outcome in summary.outcomes if outcome.no_posts_yet)
        parts = [
            _plural(summary.new_posts, "new post"),
            f"{summary.updated_posts} updated",
            # A first read of a feed with no entries changed nothing, but "unchanged" would
            # suggest it was read before: it is told apart.
            f"{_plural(summary.count(SourceStatus.UNCHANGED) - empty, 'source')} unchanged",
            *([f"{_plural(empty, 'source')} with no posts yet"] if empty else []),
            f"{summary.count(SourceStatus.FAILED)} failed",
        ]
        if summary.count(SourceStatus.GONE):
            parts.append(f"{summary.count(SourceStatus.GONE)} gone")
        if skipped:
            parts.append(f"{skipped} skipped (gone or backing off; see `pln sources`)")
        parts.extend(_full_text_parts(summary))
        fetched = len(summary.outcomes) - skipped
        click.echo(
            f"Fetched {_plural(fetched, 'source')} in {summary.elapsed:.1f} s: "
            + ", ".join(parts)
            + "."
        )
        if summary.retagged:  # topics: the definitions changed since the last fetch
            click.echo(
                f"The topics changed since the last fetch: {_plural(summary.retagged, 'post')} "
                "tagged again."
            )
    # Failures are what a person must see, even with -q; -v printed them as they happened.
    if ctx.verbosity < 1:
        for outcome in summary.outcomes:
            if outcome.status in (SourceStatus.FAILED, SourceStatus.GONE):
                click.echo(f"  {_outcome_line(outcome)}", err=True)
    if ctx.verbosity < 0:
        return
    if _every_lookup_failed(summary):  # ── engineer I ──
        click.echo(
            "  No host name could be looked up: is this machine offline? Once it is back "
            "online, `pln fetch --force` tries every source again (else they wait out a "
            "back-off).",
            err=True,
        )
    for outcome in summary.outcomes:
        for note in outcome.notes:
            if note.startswith("moved permanently"):
                click.echo(f"  → {outcome.person}: {outcome.url} {note}: update sources.yaml")


# ── engineer I: the words fetch.py gives a failed DNS lookup (_describe_connect_error) ──
HOST_LOOKUP_FAILED = "host name lookup failed"


def _every_lookup_failed(summary: FetchSummary) -> bool:
    """Whether every source tried (two at least) failed to look up its host: the machine,
    not the sources, is most likely at fault. One source could be one mistyped host."""
    tried = [o for o in summary.outcomes if o.status is not SourceStatus.SKIPPED]
    return len(tried) >= 2 and all(
        o.status is SourceStatus.FAILED and HOST_LOOKUP_FAILED in (o.error or "") for o in tried
    )


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
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Also say, per source, how many posts got their full text from their page and "
    "which kept the feed's text because their page could not be extracted.",
)
@click.option(
    "--fix-redirects",
    is_flag=True,
    help="Write the permanent redirects the sources reported into sources.yaml (comments "
    "and everything else in the file stay as they are); their history moves along.",
)
@pass_context
def sources(ctx: Context, output_format: str, verbose: int, fix_redirects: bool) -> None:
    """Every source with its health: last success, last error, posts, redirects, gone.

    Then what needs you: permanent redirects to copy into sources.yaml (--fix-redirects
    does it), sources gone, sources failing for more than a week, people quiet for 90 days.
    """
    if verbose and ctx.verbosity < 0:  # ── engineer I ── `pln -q sources -v`, as -v -q
        raise click.UsageError("-v and -q contradict each other: give one of them.")
    if verbose:  # `pln sources -v` means the same as `pln -v sources`
        ctx.verbosity = max(ctx.verbosity, 0) + verbose
    config = ctx.config()
    if fix_redirects:
        _fix_redirects(ctx, config)
        return
    report = app.health_report(config)  # see "source health" below
    health = list(report.sources)
    if output_format == "json":
        rows = [{**_health_json(h), **_attention_json(h, report)} for h in health]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not health:
        click.echo("No source fetched yet: run `pln fetch`.")
        return
    _print_health_table(ctx, config, health)
    _print_attention(ctx, config, report)
    _print_open_problems(ctx, config)  # ── reports (issue 8) ──


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
        "name": health.name,  # ── labels (D) ── the blog's name or the account's handle
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
        "articles_extracted": health.articles_extracted,
        "articles_failed": health.articles_failed,
        "article_error": health.article_error,
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
        name = f"{escape(health.name)} · " if health.name else ""  # ── labels (D) ──
        ctx.out.print(f"  {escape(health.url)}  [dim]{name}{health.kind.value}{via}[/dim]")
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
        if ctx.verbosity >= 1:
            _print_full_text(ctx, health)


_STATUS_STYLE = {"ok": "green", "failing": "red", "gone": "red", "removed": "dim"}


# ── full text ──


def _full_text_parts(summary: FetchSummary) -> list[str]:
    """For the fetch summary: articles extracted from posts' pages, pages that failed."""
    extracted = sum(outcome.articles_extracted for outcome in summary.outcomes)
    failed = sum(outcome.articles_failed for outcome in summary.outcomes)
    parts = [f"{_plural(extracted, 'article')} extracted"] if extracted else []
    if failed:
        parts.append(
            f"{_plural(failed, 'page')} not extracted (feed text kept; see `pln sources -v`)"
        )
    return parts


def _print_full_text(ctx: Context, health: SourceHealth) -> None:
    """What extracting the posts' pages gave: articles, and posts left with the feed's text."""
    if not (health.articles_extracted or health.articles_failed):
        return
    line = f"    full text: {_plural(health.articles_extracted, 'article')} extracted"
    if health.articles_failed:
        line += (
            f" · [yellow]{_plural(health.articles_failed, 'post')} kept the feed's text: "
            f"the page could not be extracted ({escape(health.article_error or 'unknown')})"
            "[/yellow]"
        )
    ctx.out.print(line)


def _local_time(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "never"


# ── engineer I: a day on the command line (SPEC: DATE is YYYY-MM-DD) ──
_DAY_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


class DayType(click.ParamType[date, Any]):  # the value made, and what it is made from
    """A day written YYYY-MM-DD, as a ``date``. click.DateTime says a well-written day that
    the calendar lacks (2026-02-30) "does not match the format"; this says what is wrong."""

    name = "day"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        written = _DAY_TEXT.fullmatch(text)
        if written is None:
            self.fail(f"{text!r} is not a day written YYYY-MM-DD (such as 2026-11-23)", param, ctx)
        year, month, day = (int(part) for part in written.groups())
        try:
            return date(year, month, day)
        except ValueError:
            why = _why_no_day(year, month)
            self.fail(f"{text} is not a day of the calendar: {why}", param, ctx)


def _why_no_day(year: int, month: int) -> str:
    """Why a well-written YYYY-MM-DD names no day, for a person ("February 2026 has 28
    days" rather than date()'s "day is out of range for month")."""
    import calendar  # only for this message

    if not 1 <= month <= 12:
        return f"there is no month {month}"
    if year < 1:
        return "the years start at 0001"
    days = calendar.monthrange(year, month)[1]
    return f"{calendar.month_name[month]} {year} has {days} days"


DAY = DayType()


# ── search ───────────────────────────────────────────────────────────────────────────────


@cli.command()
@click.argument("query")
@click.option(
    "--topic", metavar="SLUG", help="Only posts tagged with this topic (its slug or its name)."
)
@click.option("--person", metavar="NAME", help="Only posts of this person (name or slug).")
@click.option(
    "--since",
    type=DAY,  # engineer I
    help="From this day on (a day in site.timezone).",
)
@click.option(
    "--until",
    type=DAY,  # engineer I
    help="Up to this day, included (a day in site.timezone).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most N results."
)
@click.option(
    "--sort",
    type=click.Choice(["rank", "date"]),
    default="rank",
    show_default=True,
    help="rank: best match first (a title counts most; ties go to the newer post); "
    "date: newest first.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for a person, json for a script (fields in README.md, Search).",
)
@click.option(
    "--pager/--no-pager",
    default=True,
    show_default=True,
    help="Page text longer than the terminal through $PAGER (or less).",
)
@click.option(
    "--exhaustive",
    is_flag=True,
    help=f"Rank every match, not only the newest {SEARCH_CAP:,} (slower when many match).",
)
@pass_context
def search(
    ctx: Context,
    query: str,
    topic: str | None,
    person: str | None,
    since: date | None,
    until: date | None,
    limit: int,
    sort: str,
    output_format: str,
    pager: bool,
    exhaustive: bool,
) -> None:
    """Search everything ever fetched.

    QUERY uses SQLite FTS5 syntax: words (all must match), "a phrase", prefix*, OR, NOT,
    AND, parentheses, and column filters: title:, text:, author:, categories: (as in
    title:drought). Words match their other forms (water finds waters) and accents are
    ignored (cafe finds café); among the best matches, posts with the words as typed come
    first, with them in the title before the rest. A query that is not valid syntax (a
    stray quote, e-learning, it's) is searched as plain words.

    When more than 10,000 posts match (after --topic, --person, --since and --until, which
    are always exact), only the newest 10,000 (the last fetched) are ranked, so that a
    common word stays fast in a large archive, and a line after the results says so;
    --exhaustive ranks every match (about 2 ms more per 1,000 matches). --sort date
    always looks at every match.

    \b
    Examples:
      pln search drought
      pln search '"water quality" OR watershed' --since 2026-01-01
      pln search 'recycl* NOT plastic' --topic circular-economy --sort date
      pln search title:solar --person "Alice Example" --format json
    """
    config = ctx.config()
    if since and until and since > until:
        raise click.BadParameter("the day is after --until", param_hint="--since")
    found = app.search(
        config,
        query,
        limit=limit,
        sort=sort,
        person=person,
        topic=_topic_slug(config, topic) if topic else None,
        since=since,
        until=until,
        exhaustive=exhaustive,
    )
    hits = found.hits
    # ── engineer I ── a name that matches no one is a typo, as an unknown --topic is: exit 2.
    # Asked after the search: someone no longer in sources.yaml still has posts to find.
    if person and not hits and not _known_person(config, person):
        raise click.BadParameter(_no_such_person(config, person), param_hint="--person")
    if output_format == "json":
        click.echo(json.dumps([_hit_json(hit) for hit in hits], indent=2, ensure_ascii=False))
    else:
        _show_hits(config, hits, pager)
    if found.ranked_newest is not None and ctx.verbosity >= 0:
        # On stderr: after the results on a terminal, and out of a script's JSON.
        click.echo(
            f"Ranked the newest {found.ranked_newest:,} matches only; "
            "--exhaustive ranks every match.",
            err=True,
        )
    reread = _reread_query_note(query)  # G (review finding 9)
    if reread and ctx.verbosity >= 0:
        click.echo(reread, err=True)


# ── G (review finding 9): say when a query was searched as its plain words ──
# Words, spaces and lower-case operators are always valid FTS5: no need to ask SQLite.
_PLAIN_QUERY = re.compile(r"(?:(?!\b(?:AND|OR|NOT|NEAR)\b)[^\W_]|\s)*")


def _reread_query_note(text: str) -> str | None:
    """The line telling the user that ``text`` was not valid query syntax and was searched
    as its plain words instead (as the store does); None when it was valid or has no word."""
    if _PLAIN_QUERY.fullmatch(text):
        return None
    from aggregator.config_hints import query_problem  # all three are loaded by app already
    from aggregator.query import literal_query
    from aggregator.store import FTS_COLUMNS, check_fts_query

    problem = check_fts_query(text)
    literal = literal_query(text) if problem else None
    if problem is None or literal is None:
        return None
    words = " ".join(re.findall(r"[^\W_]+(?:['’-][^\W_]+)*", literal))
    column = re.fullmatch(r"no such column: (.+)", problem)
    if column and f"{column.group(1)}:".casefold() in text.casefold():
        known = ", ".join(f"{name}:" for name in FTS_COLUMNS)
        why = f"{column.group(1)}: is not a column (the columns are {known})"
    elif column:  # FTS5 read "e-learning" as a column filter: no detail helps there
        why = "not valid query syntax"
    else:
        why = f"not valid query syntax ({query_problem(problem)})"
    return f"({why}; searched as plain words: {words})"


def _known_person(config: Config, wanted: str) -> bool:
    return any(wanted.casefold() in (p.name.casefold(), p.slug) for p in config.people)


def _topic_slug(config: Config, wanted: str) -> str:
    """The slug of the topic named by its slug or its name; a usage error when none is."""
    for topic in config.topics:
        if wanted.casefold() in (topic.slug.casefold(), topic.name.casefold()):
            return topic.slug
    known = ", ".join(topic.slug for topic in config.topics)
    hint = f"the topics are: {known}" if known else "sources.yaml defines no topics"
    # ── engineer I ── the close names first, as for --person
    names = {key: t.slug for t in config.topics for key in (t.slug, t.name)}
    close = _did_you_mean(wanted, names)
    raise click.BadParameter(f"no topic {wanted!r} ({close}{hint})", param_hint="--topic")


# ── engineer I: --person and --topic name what is not there (review finding 19) ──
LIST_AT_MOST = 12  # more names than this are no help in one line: `pln sources` lists them


def _no_such_person(config: Config, wanted: str) -> str:
    names = {key: p.name for p in config.people for key in (p.name, p.slug)}
    close = _did_you_mean(wanted, names)
    everyone = [person.name for person in config.people]
    if close:
        hint = f"{close}--person takes a name or a slug"
    elif not everyone:
        hint = "sources.yaml names no one"
    elif len(everyone) <= LIST_AT_MOST:
        hint = f"the people are: {', '.join(everyone)}"
    else:
        hint = "`pln sources` lists everyone; --person takes a name or a slug"
    return f"no one named {wanted!r} in sources.yaml ({hint})"


def _did_you_mean(wanted: str, names: dict[str, str]) -> str:
    """``"did you mean 'x'? "`` for the names (each name or slug → what to show) that look
    like ``wanted``, or "" when none does."""
    import difflib  # only for this message

    by_folded = {key.casefold(): shown for key, shown in names.items()}
    close = difflib.get_close_matches(wanted.casefold(), list(by_folded), n=3, cutoff=0.6)
    shown = list(dict.fromkeys(by_folded[key] for key in close))
    return f"did you mean {' or '.join(map(repr, shown))}? " if shown else ""


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    return {
        "title": hit.title,
        "url": hit.url,
        "person": hit.person,
        "source": hit.source,
        "source_name": hit.source_name,  # ── labels (D) ── the blog's name or the handle
        "kind": hit.kind.value,
        "published": _iso(hit.published),
        "topics": list(hit.topics),
        "topic_terms": {tag.slug: list(tag.terms) for tag in hit.tags},
        "snippet": _plain_snippet(hit.snippet),
        "rank": hit.rank,
    }


def _plain_snippet(snippet: str) -> str:
    return " ".join(snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "").split())


def _styled_output() -> bool:
    """Bold and colour only for a terminal, and never when NO_COLOR is set (no-color.org);
    FORCE_COLOR asks for them even through a pipe."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _stdout_is_terminal()


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _show_hits(config: Config, hits: list[SearchHit], pager: bool) -> None:
    if not hits:
        click.echo("No match.", err=True)
        return
    styled = _styled_output()
    terminal = shutil.get_terminal_size()
    text = format_hits(hits, config, styled=styled, width=min(terminal.columns, 100))
    if pager and _stdout_is_terminal() and text.count("\n") >= terminal.lines:
        click.echo_via_pager(text, color=_pager_color(styled))  # G (review finding 2)
    else:
        click.echo(text, nl=False, color=styled)


# ── G (review finding 2): colours in the pager ──
def _pager_color(styled: bool) -> bool | None:
    """What to tell click about colours when paging: None lets it decide by the pager, as
    True would not. For ``less`` click then sets ``LESS=-R`` when the user has no LESS, keeps
    the colours when their LESS shows raw control characters, and strips them otherwise (and
    for any other pager), where they would show as ``ESC[1m``."""
    return None if styled else False


def format_hits(hits: list[SearchHit], config: Config, *, styled: bool, width: int = 100) -> str:
    """Search hits for a person: title, person and day, topics with the terms that earned
    them, the link, and the snippet with the matched words in bold (when ``styled``)."""

    def style(text: str, **styles: Any) -> str:
        return click.style(text, **styles) if styled else text

    tz = config.site.tz
    blocks = []
    for number, hit in enumerate(hits, 1):
        lines = [style(f"{number}. {hit.title or '(untitled)'}", bold=True)]
        when = hit.published.astimezone(tz).strftime("%Y-%m-%d") if hit.published else ""
        # ── labels (D) ── the person, their blog's name or account's handle, the day
        shown = (hit.person, hit.source_name, when)
        lines.append("   " + " · ".join(part for part in shown if part))
        if hit.tags:
            lines.append("   " + style(_describe_tags(hit), fg="cyan"))
        if hit.url:
            lines.append("   " + style(hit.url, fg="blue"))
        lines.extend(_snippet_lines(hit.snippet, styled, width))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _describe_tags(hit: SearchHit) -> str:
    """``water: drought, watershed; energy: via Alice`` (via: the person's own topics)."""
    return "; ".join(
        f"{tag.slug}: {', '.join(tag.terms) if tag.terms else 'via ' + hit.person}"
        for tag in hit.tags
    )


def _snippet_lines(snippet: str, styled: bool, width: int) -> list[str]:
    flat = " ".join(snippet.split())
    if not flat:
        return []
    lines = textwrap.wrap(flat, width=max(width, 40), initial_indent="   ", subsequent_indent="   ")
    start, end = ("\x1b[1m", "\x1b[22m") if styled else ("", "")
    # A highlight may span a line break: close it at the end of the line, reopen it after.
    marked = []
    open_mark = False
    for line in lines:
        if open_mark:
            line = "   " + HIGHLIGHT_START + line[3:]
        open_mark = line.rfind(HIGHLIGHT_START) > line.rfind(HIGHLIGHT_END)
        if open_mark:
            line += HIGHLIGHT_END
        marked.append(line.replace(HIGHLIGHT_START, start).replace(HIGHLIGHT_END, end))
    return marked


# ── topics: retag, trends ────────────────────────────────────────────────────────────────


@cli.command()
@pass_context
def retag(ctx: Context) -> None:
    """Tag every stored post again by the topics of sources.yaml.

    `pln fetch` does this by itself, once, when the topics (or people's topics:) changed
    since the last run; retag forces it, say to search a new topic before the next fetch.
    """
    config = ctx.config()
    count = app.retag(config)
    if ctx.verbosity < 0:
        return
    click.echo(
        f"Tagged {_plural(count, 'post')} by {_plural(len(config.topics), 'topic')}"
        + (":" if config.topics else ".")
    )
    counts = app.topic_counts(config)
    for topic in config.topics:
        click.echo(f"  {topic.slug}: {_plural(counts.get(topic.slug, 0), 'post')}")


@cli.command()
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=7,
    show_default=True,
    help="The recent window: the last N days.",
)
@click.option(
    "--baseline",
    "baseline_days",
    type=click.IntRange(1, 3660),
    default=app.TREND_BASELINE_DAYS,
    show_default=True,
    help="Compared with the N days before the window.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most N words."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for a person, json for a script (fields in README.md, Topics and trends).",
)
@pass_context
def trends(ctx: Context, days: int, baseline_days: int, limit: int, output_format: str) -> None:
    """What your network is writing about more than usual.

    The words whose share of posts rose most in the last --days against the --baseline days
    before, the most surprising rise first. Common English words and the words of your own
    topics are left out; so is a word fewer than three recent posts hold, or (in a network
    of several people) only one person wrote.
    """
    config = ctx.config()
    found = app.trends(config, days, baseline_days=baseline_days, limit=limit)
    if output_format == "json":
        click.echo(json.dumps(_trends_json(found), indent=2, ensure_ascii=False))
        return
    _print_trends(found)


def _trends_json(found: Trends) -> dict[str, Any]:
    return {
        "days": found.days,
        "baseline_days": found.baseline_days,
        "recent_posts": found.recent_posts,
        "before_posts": found.before_posts,
        "terms": [
            {
                "term": term.term,
                "posts": term.posts,
                "people": term.people,
                "before_posts": term.before_posts,
                "share": round(term.share, 6),
                "before_share": round(term.before_share, 6),
                "score": round(term.score, 3),
            }
            for term in found.terms
        ],
    }


def _print_trends(found: Trends) -> None:
    window = f"the last {_plural(found.days, 'day')}"
    if not found.recent_posts:
        click.echo(f"No posts in {window}: nothing to compare.")
        return
    if not found.before_posts:
        click.echo(
            f"No posts in the {found.baseline_days} days before {window}: trends need that "
            "history to compare with."
        )
        return
    click.echo(
        f"Trending in {window} ({_plural(found.recent_posts, 'post')}), against the "
        f"{found.baseline_days} days before ({_plural(found.before_posts, 'post')}):"
    )
    if not found.terms:
        click.echo("  nothing stands out.")
        return
    width = max(len(term.term) for term in found.terms)
    for number, term in enumerate(found.terms, 1):
        click.echo(
            f"{number:3}. {term.term:{width}}  {_plural(term.posts, 'post')} by "
            f"{_plural(term.people, 'person', 'people')}; "
            f"{term.before_share:.1%} of posts before, {term.share:.1%} now"
        )


# ── source health ────────────────────────────────────────────────────────────────────────


def _attention_json(health: SourceHealth, report: HealthReport) -> dict[str, Any]:
    """The fields of `sources --format json` that say what needs a person."""
    quiet = {person.name for person in report.quiet}
    failing_long = {h.url for h in report.failing_long}
    return {
        "failing_since": _iso(health.failing_since),
        "failing_for_a_week": health.url in failing_long,
        "person_last_post": _iso(report.last_posts.get(health.person)),
        "person_quiet": health.active and health.person in quiet,
    }


def _print_attention(ctx: Context, config: Config, report: HealthReport) -> None:
    """After the table: what needs the person who keeps sources.yaml, in one place."""
    tz = config.site.tz
    sections: list[tuple[str, list[str]]] = [
        (
            "Moved permanently: copy the new addresses into sources.yaml "
            "(`pln sources --fix-redirects` does it)",
            [f"{h.person}: {h.url} → {h.redirect_to}" for h in report.redirects],
        ),
        (
            "Gone (the server answered 410 Gone): remove or replace them in sources.yaml",
            [f"{h.person}: {h.url}" for h in report.gone],
        ),
        (
            "Failing for more than a week: check the address, or remove them",
            [
                f"{h.person}: {h.url}: failing since {_local_time(h.failing_since, tz)}: "
                f"{h.last_error}"
                for h in report.failing_long
            ],
        ),
        (
            "Quiet for 90 days: no post from them since",
            [
                f"{q.name}: last post {_local_time(q.last_post, tz)}"
                if q.last_post
                else f"{q.name}: nothing posted at all"
                for q in report.quiet
            ],
        ),
    ]
    shown = [(title, lines) for title, lines in sections if lines]
    if not shown:
        return
    ctx.out.print("\n[bold]Needs your attention[/bold]")
    for title, lines in shown:
        ctx.out.print(f"  [yellow]{escape(title)}[/yellow]")
        for line in lines:
            ctx.out.print(f"    {escape(line)}")


def _print_open_problems(ctx: Context, config: Config) -> None:
    """── reports (issue 8) ── What `pln run` told of besides sources (the build, the mail
    server, the disk, the lock) and is not over yet: a cron mail says it once, this always."""
    tz = config.site.tz
    open_problems = [
        report
        for report in app.open_problems(config)
        if not report.key.startswith(reports.SOURCE_PREFIX)  # the table above has them
    ]
    if not open_problems:
        return
    ctx.out.print("\n[bold]Problems of the scheduled runs, not over yet[/bold]")
    for report in open_problems:
        since = _local_time(report.since, tz)
        ctx.out.print(f"  since {since}: {escape(report.message)}")


def _fix_redirects(ctx: Context, config: Config) -> None:
    edit = app.fix_redirects(config)
    for skipped in edit.skipped:
        click.echo(f"  not changed: {skipped.person}: {skipped.source}: {skipped.reason}", err=True)
    if not edit.changed:
        if ctx.verbosity >= 0:
            click.echo("No permanent redirect to copy: sources.yaml is up to date.")
        return
    if ctx.verbosity >= 0:
        click.echo(f"Updated {_plural(len(edit.replaced), 'source')} in {config.path}:")
        for old, new in edit.replaced:
            click.echo(f"  {old} → {new}")
        click.echo("Their history moves to the new addresses at the next `pln fetch`.")


# ── moving in and out ────────────────────────────────────────────────────────────────────


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--folders",
    type=click.Choice([mode.value for mode in app.FolderMode]),
    default=app.FolderMode.AUTO.value,
    show_default=True,
    help="How OPML folders are read. groups: every feed is a person of its own, named by "
    "its title, and a folder whose name is a topic gives them that topic. people: the "
    "innermost folder is a person and its feeds are their sources. auto: people for a file "
    "pln exported, groups for any other.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be added; change nothing.")
@pass_context
def import_(ctx: Context, file: Path, folders: str, dry_run: bool) -> None:
    """Add people from an OPML file or a Mastodon following_accounts.csv.

    FILE is a feed reader's OPML export, or the CSV of accounts you follow that Mastodon
    exports (Preferences > Import and export). Sources already in sources.yaml, under any
    person, are skipped and listed. sources.yaml keeps its comments and order: the new
    people are added at the end of people:, and the file is checked before it is written.
    """
    config = ctx.config()
    # ── engineer F ── only reading FILE is FILE's fault; writing sources.yaml fails as itself
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise click.FileError(str(file), exc.strerror or str(exc)) from exc
    try:
        result = app.import_subscriptions(
            config, data, str(file), folders=app.FolderMode(folders), dry_run=dry_run
        )
    except ParseError as exc:  # the file is not what the command takes: bad usage
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    _print_import(ctx, result)


def _print_import(ctx: Context, result: app.ImportResult) -> None:
    edit = result.edit
    how = f" (folders read as {result.folders.value})" if result.folders else ""
    if not edit.added and ctx.verbosity >= 0:
        click.echo(f"Read {result.format}{how}. Nothing new to add: sources.yaml is unchanged.")
    elif ctx.verbosity >= 0:
        verb = "Added" if result.written else "Would add"
        where = "to sources.yaml" if result.written or not edit.changed else "(--dry-run)"
        new = len(edit.new_people)
        click.echo(
            f"Read {result.format}{how}. {verb} {_plural(len(edit.added), 'source')} {where}: "
            f"{_plural(new, 'new person', 'new people')}, "
            f"{_plural(len(edit.added) - _new_people_sources(edit), 'source')} "
            "for people already there."
        )
        for source in edit.added:
            click.echo(f"  + {source.person}: {source.url}")
    if edit.skipped and ctx.verbosity >= 0:
        click.echo(f"Skipped {len(edit.skipped)}:")
        for skipped in edit.skipped:
            person = f" ({skipped.person})" if skipped.person else ""
            click.echo(f"  = {skipped.source}{person}: {skipped.reason}")
    if result.unmatched_groups and ctx.verbosity >= 0:
        click.echo(
            "Folders and tags that name no topic (not used): "
            + ", ".join(result.unmatched_groups)
        )
    if result.written and ctx.verbosity >= 0:
        click.echo("Next: `pln check`, then `pln fetch`.")


def _new_people_sources(edit: SourcesEdit) -> int:
    new = set(edit.new_people)
    return sum(1 for source in edit.added if source.person in new)


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the OPML to this file instead of standard output.",
)
@pass_context
def export(ctx: Context, output: Path | None) -> None:
    """OPML 2.0 of every source, grouped by person, to standard output.

    Any feed reader imports it. A page is exported as the feed found on it, a source that
    moved as its new address, and a Mastodon account as its RSS feed (https://host/@user.rss).
    `pln import` of this file gives the same people back.
    """
    text = app.export_opml(ctx.config())
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.FileError(str(output), exc.strerror or str(exc)) from exc


@cli.command()
@click.argument("target", metavar="URL|@USER@HOST")
@click.option(
    "--name",
    help="The person's name; default: the feed's title or the account's display name. "
    "A person of that name already in sources.yaml gets the source.",
)
@click.option(
    "--topic",
    "topics",
    multiple=True,
    metavar="SLUG",
    help="A topic every post of theirs carries (a slug under topics:); repeatable.",
)
@click.option("--no-check", is_flag=True, help="Add it without reading it first (offline).")
@pass_context
def add(
    ctx: Context, target: str, name: str | None, topics: tuple[str, ...], no_check: bool
) -> None:
    """Add one feed, web page or Mastodon account to sources.yaml, once it is seen to work.

    URL is a feed, a page that names its feed, or a Mastodon profile (https://host/@user);
    @user@host is a Mastodon account. It is read first, as `pln fetch` would read it: a
    URL that is no feed and names none, or an account that cannot be found, is refused
    (exit 1) and nothing is written. sources.yaml keeps its comments and order.
    """
    config = ctx.config()
    result = app.add_source(config, target, name=name, topics=topics, check=not no_check)
    if result.already is not None:
        click.echo(f"{target} is {result.already.reason}: nothing changed.")
        return
    if ctx.verbosity < 0:
        return
    (source,) = result.edit.added
    new = result.person in result.edit.new_people
    whom = f"a new person, {result.person}" if new else f"{result.person}, already there"
    click.echo(f"Added {source.url} to {config.path}, for {whom}.")
    if result.check is not None:
        click.echo(f"  {_describe_check(result.check)}")
        for note in result.check.notes:
            click.echo(f"  {note}")


def _describe_check(check: app.SourceCheck) -> str:
    """What was found, in a line; the reader's own notes (feed found, moved) follow it."""
    title = f' "{check.title}"' if check.title else ""
    posts = _plural(check.posts, "post")
    if check.kind is SourceKind.MASTODON:
        via = f", read through its RSS feed {check.feed_url}" if check.feed_url else ""
        return f"A Mastodon account{title}: {posts} to fetch{via}."
    return f"A feed{title}: {posts} to fetch."


# ── email ────────────────────────────────────────────────────────────────────────────────


@cli.command()
@click.option(
    "--date",
    "day",
    type=DAY,  # engineer I
    help="The digest of this one day (a day in site.timezone), instead of "
    "everything since the last digest.",
)
@click.option(
    "--dry-run", is_flag=True, help="Build the message and print its text; send nothing."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the message to FILE as an .eml file your mail program opens; send nothing. "
    "FILE's folder must exist (it is not created).",  # engineer I
)
@click.option("--force", is_flag=True, help="Send it even if this day's digest went out already.")
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDR",
    help="Send it to ADDR instead of email.to (repeatable): a test send, which records "
    "nothing, so the day still goes to email.to.",
)
@pass_context
def email(
    ctx: Context,
    day: date | None,
    dry_run: bool,
    out: Path | None,
    force: bool,
    to: tuple[str, ...],
) -> None:
    """Send the digest by email, through the email: section of sources.yaml.

    It holds every post first seen since the last digest went out (at most a week of
    them), so a day that was missed is not lost; --date sends one day's digest instead.
    A day is recorded as sent once the mail server accepted it, and is not sent twice
    unless --force. Nothing new: nothing is sent, unless email.send_empty is true.

    A failure (server down, login or recipient refused) exits 1 with the server's words
    and records nothing: the next run sends it. The password comes from the environment
    variable that email.smtp.password_env names, never from the file.
    """
    config = ctx.config()
    result = app.email(
        config,
        day=day,
        dry_run=dry_run,
        out=out,
        force=force,
        to=to or None,
    )
    _print_email(ctx, config, result)


def _print_email(ctx: Context, config: Config, result: app.EmailResult) -> None:
    tz = config.site.tz
    digest = result.digest
    day = f"{digest.day.day} {digest.day:%B %Y}"
    what = (
        f"{_plural(digest.post_count, 'post')} from "
        f"{_plural(len(digest.people), 'person', 'people')}"
    )
    if result.status is EmailStatus.ALREADY_SENT and result.previous is not None:
        sent = result.previous
        click.echo(
            f"The digest for {day} was already sent at {_local_time(sent.sent_at, tz)} to "
            f"{', '.join(sent.recipients)}: nothing sent (--force sends it again)."
        )
        return
    if result.status is EmailStatus.EMPTY:
        what_is_empty = (
            f"Nothing new since the last digest ({_local_time(digest.since, tz)})"
            if digest.since
            else f"Nothing to send for {day}"
        )
        click.echo(f"{what_is_empty}: no email sent (email.send_empty: true sends one anyway).")
        return
    if ctx.verbosity < 0:
        return
    subject = f'"{result.subject}"'
    recipients = ", ".join(result.recipients)
    # ── engineer F ── a preview without an email: section says what sending needs
    missing = (
        " To send it, add an email: section (to, from and smtp) to sources.yaml; the starter "
        "file has one commented out."
        if result.preview_only
        else ""
    )
    if result.status is EmailStatus.WRITTEN:
        click.echo(f"Wrote {subject} ({what}) to {result.out}: nothing sent.{missing}")
    elif result.status is EmailStatus.DRY_RUN:
        click.echo(f"Dry run: would send {subject} ({what}) to {recipients}.{missing}\n")
        text = result.message.get_body(("plain",)) if result.message else None
        if text is not None:
            click.echo(text.get_content(), nl=False)
    else:
        note = "" if result.recorded else " (a test send: not recorded)"
        click.echo(f"Sent {subject} ({what}) to {recipients}{note}.")


# ── demo (issue 8: `pln demo`; aggregator/demo.py) ───────────────────────────────────────


@cli.command()
@click.argument(
    "directory", metavar="[DIR]", required=False, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--serve",
    "keep_serving",
    is_flag=True,
    help="Then preview the site on 127.0.0.1 until Ctrl+C, with the sample network still "
    "served, so the links to its posts open too.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="With --serve: the preview's port on 127.0.0.1 (0 picks a free one).",
)
@pass_context
def demo(ctx: Context, directory: Path | None, keep_serving: bool, port: int) -> None:
    """The whole pipeline offline, on a bundled sample network: a first look at pln.

    Creates DIR (default ./pln-demo, or --site when given) with a sources.yaml for twelve
    invented people in urban planning: three weeks of posts, dated up to yesterday, in RSS,
    Atom, JSON Feed and on a Mastodon-shaped API, with teasers completed from their pages.
    A small server on 127.0.0.1 plays their blogs and accounts while pln fetches them,
    builds the site with its search, and writes the emailed digest to DIR/digest.eml
    (nothing is sent). No request leaves the machine.

    Run it again in the same directory the same day, and it keeps what it stored and
    fetches again with conditional requests, as a daily run would; another day, it starts
    anew. sources.yaml is written afresh each time; delete DIR to start from nothing. A
    directory that holds anything else is refused.
    """
    from aggregator import demo as demo_module  # only this command needs it

    target = directory or _demo_directory(ctx, demo_module.DEFAULT_DIRECTORY)
    with demo_module.running(target, clock=app.system_clock) as site:
        _print_demo_start(ctx, site)
        config = app.load_config(target)
        with _progress(ctx) as progress:
            summary = app.fetch(config, progress=progress)
        _print_summary(ctx, summary)
        _print_build(ctx, app.build(config))
        _print_email(ctx, config, app.email(config, out=site.email_file))
        _print_demo_next(ctx, site, keep_serving)
        if keep_serving:

            def ready(url: str) -> None:
                click.echo(
                    f"Serving the site at {url}, the sample network at {site.base_url}/ "
                    "(Ctrl+C to stop)"
                )

            app.serve(config, port, ready=ready)


def _demo_directory(ctx: Context, default: str) -> Path:
    """--site (or PLN_SITE) when the user gave it; else a new folder here, never `.`."""
    root = click.get_current_context().find_root()
    source = root.get_parameter_source("site_dir")
    given = source not in (None, click.core.ParameterSource.DEFAULT)
    return ctx.site_dir if given else Path(default)


def _print_demo_start(ctx: Context, site: Any) -> None:
    if ctx.verbosity < 0:
        return
    click.echo(
        f"Serving a sample network of {site.people} people in urban planning "
        f"({site.sources} sources: RSS, Atom, JSON Feed and Mastodon) at {site.base_url}; "
        f"fetching it into {site.directory}."
    )
    if not site.fresh:
        click.echo(  # ── engineer I ── (review: README vs reality)
            "  An earlier demo from today is here: keeping what it stored, so this fetch asks "
            "each source only for what changed."
        )


def _print_demo_next(ctx: Context, site: Any, keep_serving: bool) -> None:
    if ctx.verbosity < 0:
        return
    import shlex

    where = shlex.quote(str(site.directory))
    lines = [
        "",
        "The demo is ready. Try:",
        f"  open the site      {site.index_html.resolve()}",
        f"    or preview it    pln --site {where} serve",
        f"  read the email     {site.email_file}  (open it in a mail program; nothing was sent)",
        f'  search             pln --site {where} search "parking minimums"',
        f'                     pln --site {where} search "cool roofs" --person "Tomás Herrera"',
        f"                     pln --site {where} search bus --topic transit --sort date",
        f"  source health      pln --site {where} sources",
        "  your own network   pln init mysite",
    ]
    if not keep_serving:
        lines.append(
            "The sample posts' own pages were on the demo server, which has stopped: "
            "`pln demo --serve` keeps it up while you look."
        )
    click.echo("\n".join(lines))


# ── logs ─────────────────────────────────────────────────────────────────────────────────


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Logs to whatever sys.stderr is when a record comes (click's test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def _not_an_outcome(record: logging.LogRecord) -> bool:
    """Outcomes, and the lines that open and close a log file, are not for the console."""
    return not record.name.startswith(app.OUTCOME_LOGGER) and getattr(record, "console", True)


class _LogFileHandler(logging.FileHandler):
    """── reports (issue 8) ── A log file the disk cannot take (full) is skipped quietly:
    logging's own complaint is a traceback on standard error, which cron would mail on
    every run; the problem itself is told in words by the command."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


def _log_to_file(ctx: click.Context, log_file: Path, site_dir: Path) -> None:
    """Append pln's own log, at INFO with timestamps, to ``log_file`` for this command."""
    try:
        handler = _LogFileHandler(log_file, encoding="utf-8")
    except OSError as exc:
        raise click.BadParameter(
            f"cannot open it: {exc.strerror or exc}", param_hint="--log-file"
        ) from exc
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("pln")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if logger.getEffectiveLevel() > logging.INFO else logger.level)
    pid, command = os.getpid(), ctx.invoked_subcommand
    file_only = {"console": False}
    _log.info("pln %s (process %d, site %s)", command, pid, site_dir, extra=file_only)

    def close() -> None:
        _log.info("pln done (process %d)", pid, extra=file_only)
        logger.removeHandler(handler)
        handler.close()

    ctx.call_on_close(close)


# ── helpers ──────────────────────────────────────────────────────────────────────────────


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def main() -> None:
    cli(prog_name="pln")
