"""Source health and logs: redirects to fix, gone sources, sources failing for a week, quiet
people, `--log-file` and `-v`; through the CLI against the local server, and the pure rules."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from aggregator import app, health
from aggregator.cli import cli
from aggregator.models import (
    Config,
    PersonConfig,
    SiteConfig,
    SourceConfig,
    SourceHealth,
    SourceKind,
)
from aggregator.store import Store
from tests.server import LocalHTTPServer
from tests.sites import Item, atom, items, rss, write_site

NOW = datetime.now(UTC).replace(microsecond=0)


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args], catch_exceptions=False)


def sources_json(site: Path) -> dict[str, dict[str, object]]:
    result = pln(site, "sources", "--format", "json")
    assert result.exit_code == 0, result.output
    return {str(row["url"]): row for row in json.loads(result.stdout)}


def dated(prefix: str, count: int, newest: datetime) -> list[Item]:
    return [
        Item(
            f"{prefix}-{n}",
            f"{prefix} post {n}",
            f"<p>{prefix} {n}</p>",
            newest - timedelta(days=n),
        )
        for n in range(count)
    ]


# ── redirects ────────────────────────────────────────────────────────────────────────────


def test_fix_redirects_rewrites_the_url_in_place_and_keeps_the_history(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.redirect("/old.xml", "/new.xml", status=301)
    http_server.add("/new.xml", rss(base, items("erin", 3, "recycling")))
    http_server.redirect("/temporary.xml", "/new-b.xml", status=302)
    http_server.add("/new-b.xml", rss(base, items("bo", 1)))
    site = tmp_path / "site"
    site.mkdir()
    config_text = f"""\
site:
  title: Redirects   # a comment that stays
people:
  - name: Erin
    sources:
      - feed: "{base}/old.xml"     # her blog, before it moved
        full_text: never
  - name: Bo
    sources:
      - {base}/temporary.xml
"""
    (site / "sources.yaml").write_text(config_text, encoding="utf-8")
    assert pln(site, "fetch").exit_code == 0

    shown = pln(site, "sources")
    assert "Needs your attention" in shown.stdout
    assert f"Erin: {base}/old.xml → {base}/new.xml" in shown.stdout
    assert "--fix-redirects" in shown.stdout
    assert "temporary.xml →" not in shown.stdout  # a 302 is not to be copied

    fixed = pln(site, "sources", "--fix-redirects")
    assert fixed.exit_code == 0, fixed.output
    assert f"{base}/old.xml → {base}/new.xml" in fixed.stdout
    after = (site / "sources.yaml").read_text(encoding="utf-8")
    assert after == config_text.replace(f'"{base}/old.xml"     #', f'"{base}/new.xml"     #')

    again = pln(site, "fetch")
    assert again.exit_code == 0, again.output
    assert "0 new posts" in again.stdout
    health = sources_json(site)
    assert f"{base}/old.xml" not in health
    assert health[f"{base}/new.xml"]["posts"] == 3
    assert health[f"{base}/new.xml"]["redirect_to"] is None
    with sqlite3.connect(site / "pln.db") as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 4

    nothing = pln(site, "sources", "--fix-redirects")
    assert "No permanent redirect to copy" in nothing.stdout
    assert (site / "sources.yaml").read_text(encoding="utf-8") == after


# ── failing for a week, gone, quiet ──────────────────────────────────────────────────────


def test_sources_failing_for_a_week_gone_and_quiet_people(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.status("/long.xml", 500)
    http_server.add("/short.xml", rss(base, dated("short", 2, NOW - timedelta(days=1))))
    http_server.status("/gone.xml", 410)
    http_server.add("/quiet.xml", rss(base, dated("quiet", 2, NOW - timedelta(days=120))))
    http_server.add(
        "/lively.atom",
        atom(base, dated("lively", 2, NOW - timedelta(days=3))),
        content_type="application/atom+xml",
    )
    site = tmp_path / "site"
    write_site(
        site,
        {
            "Long": [f"{base}/long.xml"],
            "Short": [f"{base}/short.xml"],
            "Gone": [f"{base}/gone.xml"],
            "Quiet": [f"{base}/quiet.xml"],
            "Lively": [f"{base}/lively.atom", f"{base}/quiet.xml?second"],
        },
    )
    http_server.add("/quiet.xml?second", rss(base, dated("second", 1, NOW - timedelta(days=95))))
    config = app.load_config(site)
    eight_days_ago = NOW - timedelta(days=8)
    app.fetch(config, clock=lambda: eight_days_ago)
    http_server.status("/short.xml", 503)
    app.fetch(config, clock=lambda: NOW - timedelta(days=2), force=True)
    app.fetch(config, clock=lambda: NOW - timedelta(hours=1), force=True)

    rows = sources_json(site)
    long_row, short_row = rows[f"{base}/long.xml"], rows[f"{base}/short.xml"]
    assert long_row["failing_for_a_week"] is True
    assert long_row["failing_since"] == eight_days_ago.isoformat()
    assert long_row["failures"] == 3
    assert short_row["failing_for_a_week"] is False
    assert short_row["failing_since"] == (NOW - timedelta(days=2)).isoformat()
    assert rows[f"{base}/gone.xml"]["failing_for_a_week"] is False  # gone is its own list
    assert rows[f"{base}/quiet.xml"]["person_quiet"] is True
    assert rows[f"{base}/quiet.xml"]["person_last_post"] == (NOW - timedelta(days=120)).isoformat()
    assert rows[f"{base}/lively.atom"]["person_quiet"] is False
    assert rows[f"{base}/quiet.xml?second"]["person_quiet"] is False  # Lively posted lately
    assert rows[f"{base}/long.xml"]["person_quiet"] is False  # never read: failing, not quiet

    text = pln(site, "sources").stdout
    attention = text[text.index("Needs your attention") :]
    assert "Gone (the server answered 410 Gone)" in attention
    assert f"Gone: {base}/gone.xml" in attention
    week = attention[attention.index("Failing for more than a week") :]
    assert f"Long: {base}/long.xml: failing since " in week and "HTTP 500" in week
    assert "Short:" not in attention
    quiet = attention[attention.index("Quiet for 90 days") :]
    assert "Quiet: last post " in quiet and "Lively" not in quiet

    # A source that works again is no longer failing.
    http_server.add("/long.xml", rss(base, dated("long", 1, NOW)))
    app.fetch(config, force=True)
    row = sources_json(site)[f"{base}/long.xml"]
    assert row["failing_since"] is None and row["failing_for_a_week"] is False


def health_row(person: str, **fields: object) -> SourceHealth:
    values: dict[str, object] = {
        "person": person,
        "url": f"https://{person.lower()}.example/feed",
        "kind": SourceKind.FEED,
        "active": True,
        "fetch_url": None,
        "last_success": NOW - timedelta(days=1),
        "last_error": None,
        "last_error_at": None,
        "failures": 0,
        "next_due": None,
        "gone": False,
        "redirect_to": None,
        "posts": 1,
        "last_post": NOW - timedelta(days=1),
    }
    values.update(fields)
    return SourceHealth(**values)  # type: ignore[arg-type]


def test_the_rules_at_their_edges() -> None:
    week = NOW - health.FAILING_LONG
    rows = [
        health_row("Exactly", failures=2, failing_since=week),  # not more than a week yet
        health_row("Over", failures=2, failing_since=week - timedelta(seconds=1)),
        health_row("Removed", active=False, failures=9, failing_since=week - timedelta(days=9)),
        health_row("Empty", posts=0, last_post=None),
        health_row("Unread", posts=0, last_post=None, last_success=None),
        health_row("Old", last_post=NOW - health.QUIET_AFTER - timedelta(minutes=1)),
        health_row("Moved", redirect_to="https://moved.example/feed"),
    ]
    report = health.assess(rows, NOW)
    assert [h.person for h in report.failing_long] == ["Over"]
    assert [q.name for q in report.quiet] == ["Empty", "Old"]
    assert [h.person for h in report.redirects] == ["Moved"]
    assert report.last_posts["Empty"] is None and "Removed" not in report.last_posts


def test_failing_since_is_kept_by_the_database(tmp_path: Path) -> None:
    config = Config(
        path=tmp_path / "sources.yaml",
        site=SiteConfig(title="T"),
        people=(
            PersonConfig("A", "a", (SourceConfig("https://a.example/f", SourceKind.FEED, "A"),)),
        ),
    )
    with Store.open(tmp_path / "pln.db") as store:
        (state,) = store.sync_config(config, NOW)
        store.record_failure(state.id, "HTTP 500", NOW - timedelta(days=3))
        store.record_failure(state.id, "HTTP 500", NOW - timedelta(days=2))
        (row,) = store.source_health()
        assert row.failing_since == NOW - timedelta(days=3)
        store.record_success(state.id, [], NOW)
        (row,) = store.source_health()
        assert row.failing_since is None and row.failures == 0
        store.record_failure(state.id, "HTTP 503", NOW)
        (row,) = store.source_health()
        assert row.failing_since == NOW


# ── logs ─────────────────────────────────────────────────────────────────────────────────


def test_log_file_holds_every_outcome_with_timestamps_person_and_source(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.add("/alice.xml", rss(base, items("alice", 2)))
    http_server.status("/error.xml", 500)
    site = tmp_path / "site"
    write_site(site, {"Alice": [f"{base}/alice.xml"], "Failing Fay": [f"{base}/error.xml"]})
    log_file = tmp_path / "logs" / "pln.log"
    log_file.parent.mkdir()

    first = pln(site, "--log-file", str(log_file), "fetch")
    assert first.exit_code == 0, first.output
    assert "pln.sources" not in first.stderr  # the console shows outcomes its own way
    assert f"Failing Fay: {base}/error.xml: HTTP 500" in first.stderr
    lines = log_file.read_text(encoding="utf-8").splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert all(re.match(stamp + " (INFO|WARNING|ERROR) pln", line) for line in lines), lines
    text = "\n".join(lines)
    assert re.search(
        rf"INFO pln.sources: updated Alice: {re.escape(base)}/alice.xml \(feed\): "
        r"2 new, 0 updated \[\d+\.\d\d s\]",
        text,
    )
    assert re.search(
        rf"WARNING pln.sources: failed Failing Fay: {re.escape(base)}/error.xml \(feed\): "
        r"HTTP 500 Internal Server Error \[\d+\.\d\d s\]",
        text,
    )
    assert "fetch done in" in text and "1 failed" in text
    assert re.search(r"INFO pln: pln fetch \(process \d+, site ", text)

    # Appended, and a command that fails says why in the log too.
    (site / "sources.yaml").write_text("site: {}\n", encoding="utf-8")
    broken = pln(site, "--log-file", str(log_file), "-q", "fetch")
    assert broken.exit_code == 2
    again = log_file.read_text(encoding="utf-8")
    assert again.startswith(text)
    assert re.search(r"ERROR pln: .*sources.yaml.*title", again)


def test_verbose_shows_each_source_with_its_timing(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.add("/a.xml", rss(base, items("a", 1)))
    http_server.status("/b.xml", 404)
    site = tmp_path / "site"
    write_site(site, {"Ann": [f"{base}/a.xml"], "Ben": [f"{base}/b.xml"]})
    result = pln(site, "-v", "fetch")
    assert result.exit_code == 0
    assert re.search(
        rf"\+ Ann: {re.escape(base)}/a.xml: 1 new, 0 updated \(\d+\.\d\d s\)", result.stderr
    )
    assert re.search(rf"✗ Ben: {re.escape(base)}/b.xml: HTTP 404.* \(\d+\.\d\d s\)", result.stderr)
    assert result.stderr.count("Ben:") == 1  # once, not again in the summary
