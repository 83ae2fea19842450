"""What a scheduled run tells, and when (reports.plan), and how `pln run -q` says it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from aggregator import app, reports
from aggregator.cli import cli
from aggregator.errors import BuildError, LockError, StorageError
from aggregator.models import Problem, ReportedProblem
from tests.server import LocalHTTPServer
from tests.sites import items, rss, write_site

NOW = datetime(2026, 11, 23, 6, 17, tzinfo=UTC)
URL = "https://alice.example/feed.xml"
KEY = reports.source_key(URL)


def timing_out(message: str = "Alice: https://alice.example/feed.xml: no answer") -> Problem:
    return Problem(KEY, "unreachable", message)


def told(problem: Problem, at: datetime) -> ReportedProblem:
    return ReportedProblem(problem.key, problem.kind, problem.message, since=at, reported_at=at)


def test_a_problem_is_told_when_it_appears_then_not_again() -> None:
    first = reports.plan([], [timing_out()], set(), NOW)
    assert first.new == (timing_out(),) and first.keep == (told(timing_out(), NOW),)
    later = NOW + timedelta(hours=3)
    again = reports.plan(first.keep, [timing_out("other words")], set(), later)
    assert (again.new, again.changed, again.reminders, again.resolved) == ((), (), (), ())
    (kept,) = again.keep
    assert kept.since == NOW and kept.reported_at == NOW and kept.message == "other words"


def test_the_same_problem_found_twice_in_one_run_is_told_once() -> None:
    held = Problem("lock", "held", "another pln is working")
    plan = reports.plan([], [held, held], set(), NOW)
    assert plan.new == (held,) and len(plan.keep) == 1


def test_a_change_of_kind_is_told_and_keeps_when_it_began() -> None:
    previous = [told(timing_out(), NOW)]
    gone = Problem(KEY, "gone", "Alice: https://alice.example/feed.xml: HTTP 410 Gone")
    plan = reports.plan(previous, [gone], set(), NOW + timedelta(days=1))
    assert plan.changed == ((gone, previous[0]),)
    assert plan.keep[0].since == NOW and plan.keep[0].kind == "gone"


def test_a_problem_lasting_a_week_is_told_again_once() -> None:
    previous = [told(timing_out(), NOW)]
    week = NOW + reports.REMIND_AFTER
    plan = reports.plan(previous, [timing_out()], set(), week)
    assert [r.reported_at for r in plan.reminders] == [week]
    assert reports.open_for(plan.reminders[0], week) == "7 days"
    quiet = reports.plan(plan.keep, [timing_out()], set(), week + timedelta(days=1))
    assert quiet.reminders == ()


def test_resolved_unchecked_and_forgotten_keys() -> None:
    source = told(timing_out(), NOW)
    build = told(Problem("build", "failed", "the site could not be built"), NOW)
    lock = told(Problem("lock", "held", "another pln is working"), NOW)
    removed = told(Problem(reports.source_key("https://old.example/"), "gone", "old"), NOW)
    later = NOW + timedelta(hours=2)
    # The source was not tried this run (backing off): neither resolved nor told again.
    plan = reports.plan([source, build, lock, removed], [], {"build", "lock"}, later, [removed.key])
    assert plan.resolved == (build,)  # the lock's end is not worth a line
    assert set(plan.drop) == {"build", "lock", removed.key}
    assert plan.keep == ()  # the source's record is left as it is
    assert reports.open_for(build, later) == "2 hours"
    assert reports.open_for(build, build.since + timedelta(seconds=20)) == "less than a minute"
    assert reports.open_for(build, build.since + timedelta(minutes=1)) == "1 minute"


def test_stage_problems_are_in_words(tmp_path: Path) -> None:
    write_site(tmp_path, {"A": ["https://a.example/feed.xml"]})
    config = app.load_config(tmp_path)
    full = StorageError("cannot write to the database")
    full.__cause__ = OSError(28, "No space left on device")
    problem = app.stage_problem("fetch", full, config)
    assert problem.key == "disk" and problem.message.startswith("the disk is full (no space")
    built = app.stage_problem("build", BuildError("x.html:3: bad"), config)
    assert built.key == "build" and "was left as it was" in built.message
    held = app.stage_problem("fetch", LockError("another pln is working on it"), config)
    assert held.key == "lock" and "This run stopped there" in held.message


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args])


def test_run_quiet_tells_a_failing_source_once_and_when_it_works_again(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/good.xml", rss(http_server.base_url, items("good", 2)))
    http_server.status("/flaky.xml", 503)
    write_site(
        tmp_path,
        {"Good": [http_server.url("/good.xml")], "Flaky": [http_server.url("/flaky.xml")]},
    )
    first = pln(tmp_path, "-q", "run")
    assert first.exit_code == 0 and first.stdout == ""
    assert "Flaky: " in first.stderr and "HTTP 503" in first.stderr
    second = pln(tmp_path, "-q", "run", "--force")  # --force: past the back-off
    assert second.exit_code == 0 and second.output == ""
    assert "failing" in pln(tmp_path, "sources").stdout  # still visible there
    http_server.add("/flaky.xml", rss(http_server.base_url, items("flaky", 1)))
    third = pln(tmp_path, "-q", "run", "--force")
    assert third.stderr == ""
    assert third.stdout.startswith(f"ok again: Flaky: {http_server.url('/flaky.xml')} works again")
    assert pln(tmp_path, "-q", "run").output == ""
    assert not list(tmp_path.glob(app.RUN_MARK + "*"))


def test_run_quiet_tells_a_failed_build_once_and_sources_keeps_showing_it(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/good.xml", rss(http_server.base_url, items("good", 2)))
    write_site(tmp_path, {"Good": [http_server.url("/good.xml")]})
    broken = tmp_path / "templates" / "home.html"
    broken.parent.mkdir()
    broken.write_text("{% if %}", encoding="utf-8")
    first = pln(tmp_path, "-q", "run")
    assert first.exit_code == 1  # the exit status still says the build failed, every time
    assert first.stderr.startswith("error: the site could not be built: ")
    assert "was left as it was" in first.stderr and "Traceback" not in first.output
    again = pln(tmp_path, "-q", "run")
    assert again.exit_code == 1 and again.output == ""
    shown = pln(tmp_path, "sources").stdout
    assert "Problems of the scheduled runs" in shown and "could not be built" in shown
    broken.unlink()
    mended = pln(tmp_path, "-q", "run")
    assert mended.exit_code == 0
    assert mended.stdout.startswith("ok again: the site builds again (after ")
    assert "Problems of the scheduled runs" not in pln(tmp_path, "sources").stdout
