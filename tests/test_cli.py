"""End to end: the `pln` commands as a user runs them, against a real local HTTP server."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator.cli import cli
from tests.mastodon_server import FakeInstance
from tests.server import LocalHTTPServer, RecordedRequest, unused_port
from tests.sites import atom, html_page, items, json_feed, rss, write_site


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args], catch_exceptions=False)


def search_json(site: Path, query: str, *extra: str) -> list[dict[str, object]]:
    result = pln(site, "search", query, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert isinstance(hits, list)
    return hits


def sources_json(site: Path) -> dict[str, dict[str, object]]:
    result = pln(site, "sources", "--format", "json")
    assert result.exit_code == 0, result.output
    return {row["url"]: row for row in json.loads(result.stdout)}


@pytest.fixture
def mixed_site(tmp_path: Path, http_server: LocalHTTPServer) -> Path:
    """A network of good, broken, gone, rate-limited, slow, huge and redirecting sources."""
    base = http_server.base_url
    http_server.add("/alice.xml", rss(base, items("alice", 5, "watershed restoration")))
    http_server.add(
        "/bob.atom",
        atom(base, items("bob", 3, "water quality")),
        content_type="application/atom+xml",
    )
    http_server.add(
        "/carol.json",
        json_feed(base, items("carol", 4, "circular economy")),
        content_type="application/feed+json",
    )
    http_server.add("/dave/", html_page("/dave/feed.xml"), content_type="text/html")
    http_server.add("/dave/feed.xml", rss(base, items("dave", 2, "drought")))
    http_server.redirect("/erin-old.xml", "/erin.xml", status=301)
    http_server.add("/erin.xml", rss(base, items("erin", 2, "recycling")))
    http_server.add("/gzip.xml", rss(base, items("gina", 2, "compost")), gzip=True)
    http_server.add("/broken.xml", "<rss><channel><item><title>never closed", status=200)
    http_server.status("/gone.xml", 410)
    http_server.status("/limited.xml", 429, headers={"Retry-After": "7200"})
    http_server.status("/error.xml", 500)
    http_server.add("/slow.xml", rss(base, items("slow", 1)), delay=5)
    http_server.huge("/huge.xml", 1_000_000)
    http_server.redirect("/loop-a.xml", "/loop-b.xml", status=302)
    http_server.redirect("/loop-b.xml", "/loop-a.xml", status=302)
    http_server.add("/page-without-feed/", "<html><body>hi</body></html>", content_type="text/html")
    site = tmp_path / "site"
    write_site(
        site,
        {
            "Alice": [f"{base}/alice.xml"],
            "Bob": [{"feed": f"{base}/bob.atom"}],
            "Carol": [f"{base}/carol.json"],
            "Dave": [f"{base}/dave/"],
            "Erin": [f"{base}/erin-old.xml"],
            "Gina": [f"{base}/gzip.xml"],
            "Broken": [f"{base}/broken.xml"],
            "Gone": [f"{base}/gone.xml"],
            "Limited": [f"{base}/limited.xml"],
            "Failing": [f"{base}/error.xml"],
            "Slow": [f"{base}/slow.xml"],
            "Huge": [f"{base}/huge.xml"],
            "Loop": [f"{base}/loop-a.xml"],
            "Nofeed": [f"{base}/page-without-feed/"],
            "Dead": [f"http://127.0.0.1:{unused_port()}/feed.xml"],
        },
        # 3 s: short enough for /slow.xml (5 s) to time out, long enough that a good source
        # on a loaded machine never does.
        fetch={"timeout": 3, "max_bytes": 100_000},
    )
    return site


def test_fetch_a_mixed_network(mixed_site: Path, http_server: LocalHTTPServer) -> None:
    result = pln(mixed_site, "fetch")
    assert result.exit_code == 0, result.output
    assert "19 new posts" in result.stdout  # 18 good, and the one the broken feed still holds
    errors = result.stderr
    for person in ("Gone", "Limited", "Failing", "Slow", "Huge", "Loop", "Nofeed", "Dead"):
        assert f"{person}:" in errors, person
    assert "410" in errors and "429" in errors and "500" in errors
    assert "timed out" in errors
    assert "erin-old.xml moved permanently to" in result.stdout

    health = sources_json(mixed_site)
    base = http_server.base_url
    assert health[f"{base}/alice.xml"]["posts"] == 5
    assert health[f"{base}/alice.xml"]["last_error"] is None
    assert health[f"{base}/dave/"]["fetch_url"] == f"{base}/dave/feed.xml"
    assert health[f"{base}/erin-old.xml"]["redirect_to"] == f"{base}/erin.xml"
    assert health[f"{base}/gone.xml"]["status"] == "gone"
    assert health[f"{base}/limited.xml"]["status"] == "failing"
    assert health[f"{base}/huge.xml"]["posts"] == 0
    for row in health.values():
        assert row["kind"] == "feed"
        assert set(row) >= {"person", "url", "kind", "last_success", "last_error", "posts"}

    hits = search_json(mixed_site, "watershed")
    assert [hit["person"] for hit in hits] == ["Alice"] * 5
    first = hits[0]
    assert first["url"].startswith(f"{base}/posts/alice-")
    assert first["source"] == f"{base}/alice.xml"
    assert str(first["published"]).endswith("+00:00")
    assert "watershed" in str(first["snippet"]).lower()
    assert first["topics"] == []
    assert [h["person"] for h in search_json(mixed_site, "compost")] == ["Gina", "Gina"]
    assert [h["person"] for h in search_json(mixed_site, "drought")] == ["Dave", "Dave"]


def test_second_fetch_is_conditional_and_stores_no_duplicate(
    mixed_site: Path, http_server: LocalHTTPServer
) -> None:
    assert pln(mixed_site, "fetch").exit_code == 0
    posts_before = _post_count(mixed_site)
    first_run = len(http_server.requests)

    result = pln(mixed_site, "fetch")
    assert result.exit_code == 0, result.output
    assert "0 new posts" in result.stdout
    assert _post_count(mixed_site) == posts_before

    second_run = http_server.requests[first_run:]

    def asked(path: str) -> list[RecordedRequest]:
        return [request for request in second_run if request.path == path]

    (alice,) = asked("/alice.xml")
    assert alice.headers.get("If-None-Match")
    (dave_feed,) = asked("/dave/feed.xml")
    assert dave_feed.headers.get("If-None-Match"), "the discovered feed is fetched directly"
    assert asked("/dave/") == []
    assert asked("/erin-old.xml") == [], "a permanent redirect is followed"
    # Gone is never asked again; the rate-limited and failing sources wait out their back-off.
    for path in ("/gone.xml", "/limited.xml", "/error.xml"):
        assert asked(path) == [], path
    assert "skipped" in result.stdout


def test_an_unchanged_body_without_validators_is_not_stored_again(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add(
        "/plain.xml", rss(http_server.base_url, items("p", 3)), etag=False, last_modified=False
    )
    site = tmp_path / "site"
    write_site(site, {"P": [http_server.url("/plain.xml")]})
    assert "3 new posts" in pln(site, "fetch").stdout
    again = pln(site, "fetch")
    assert "0 new posts" in again.stdout and "1 source unchanged" in again.stdout


def test_edited_posts_are_updated_not_duplicated(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    entries = items("ed", 2, "first draft")
    http_server.add("/ed.xml", rss(http_server.base_url, entries))
    site = tmp_path / "site"
    write_site(site, {"Ed": [http_server.url("/ed.xml")]})
    pln(site, "fetch")
    edited = [entries[0], entries[1].__class__(**{**entries[1].__dict__, "title": "Revised"})]
    http_server.add("/ed.xml", rss(http_server.base_url, edited))
    result = pln(site, "fetch")
    assert "0 new posts, 1 updated" in result.stdout
    assert _post_count(site) == 2
    assert [hit["title"] for hit in search_json(site, "revised")] == ["Revised"]


def test_search_text_output_and_bad_queries(mixed_site: Path) -> None:
    pln(mixed_site, "fetch")
    text = pln(mixed_site, "search", "water quality")
    assert text.exit_code == 0
    assert "Bob post" in text.stdout and "Bob ·" in text.stdout
    assert "\x02" not in text.stdout
    for typed in ['"water', "water-quality", "quality AND", "it's"]:
        assert pln(mixed_site, "search", typed).exit_code == 0, typed
    nothing = pln(mixed_site, "search", " - ")
    assert nothing.exit_code == 2
    assert "no word" in nothing.stderr


def test_check_init_and_errors(tmp_path: Path) -> None:
    site = tmp_path / "new"
    created = pln(tmp_path, "init", str(site))
    assert created.exit_code == 0, created.output
    assert (site / "sources.yaml").is_file()
    checked = pln(site, "check")
    assert checked.exit_code == 0, checked.output
    assert "is valid" in checked.stdout
    assert pln(tmp_path, "init", str(site)).exit_code == 2, "init never overwrites"

    missing = pln(tmp_path / "nowhere", "check")
    assert missing.exit_code == 2
    assert "sources.yaml" in missing.stderr

    bad = tmp_path / "bad"
    write_site(bad, {"A": ["https://a.example/feed"]}, topics=[{"name": "W", "match": "water AND"}])
    invalid = pln(bad, "check")
    assert invalid.exit_code == 2
    assert "topics[0].match" in invalid.stderr and "'W'" in invalid.stderr
    assert "Traceback" not in invalid.output


def test_sources_before_any_fetch(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_site(site, {"A": ["https://a.example/feed"]})
    result = pln(site, "sources")
    assert result.exit_code == 0
    assert "pln fetch" in result.stdout
    assert pln(site, "sources", "--format", "json").stdout.strip() == "[]"
    searched = pln(site, "search", "water")
    assert searched.exit_code == 1
    assert "pln fetch" in searched.stderr


def test_removed_source_keeps_its_posts(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    http_server.add("/a.xml", rss(http_server.base_url, items("a", 2, "wetlands")))
    site = tmp_path / "site"
    write_site(site, {"A": [http_server.url("/a.xml")]})
    pln(site, "fetch")
    write_site(site, {"B": [http_server.url("/b.xml")]})
    http_server.add("/b.xml", rss(http_server.base_url, items("b", 1)))
    pln(site, "fetch")
    assert len(search_json(site, "wetlands")) == 2
    assert sources_json(site)[http_server.url("/a.xml")]["status"] == "removed"
    assert len(http_server.requests_for("/a.xml")) == 1


def test_a_corrupt_database_is_exit_1(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_site(site, {"A": ["https://a.example/feed"]})
    (site / "pln.db").write_bytes(gzip.compress(b"not a database") * 50)
    result = pln(site, "fetch")
    assert result.exit_code == 1
    assert "database" in result.stderr and "Traceback" not in result.output


def test_python_dash_m_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "aggregator", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("pln, version")


def _post_count(site: Path) -> int:
    with sqlite3.connect(site / "pln.db") as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])


def test_a_second_fetch_waits_then_says_who_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    site = tmp_path / "site"
    write_site(site, {"A": ["https://a.example/feed"]})
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from aggregator.lock import site_lock\n"
            "with site_lock(Path(sys.argv[1]), 'fetch'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(30)\n",
            str(site),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        monkeypatch.setenv("PLN_LOCK_WAIT", "0.3")
        result = pln(site, "fetch")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert f"process {holder.pid}, running `pln fetch`" in result.stderr
    # The holder was killed: the OS released its lock, and the next fetch goes ahead.
    assert pln(site, "fetch").exit_code == 0


def test_follow_mastodon_accounts_through_the_api(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    instance = FakeInstance(http_server)
    instance.add_account("alice", display_name="Alice Water")
    instance.generate("alice", 95)
    instance.add_account("bob")
    instance.post("bob", "<p>Watershed <script>alert(1)</script>notes</p>", spoiler_text="long")
    site = tmp_path / "site"
    host = http_server.base_url.removeprefix("http://")
    write_site(
        site,
        {
            "Alice": [{"mastodon": instance.profile_url("alice")}],
            "Bob": [{"mastodon": f"{http_server.base_url}/@bob", "boosts": True}],
        },
    )
    first = pln(site, "fetch")
    assert first.exit_code == 0, first.output
    assert "96 new posts" in first.stdout
    assert len(instance.status_requests("alice")) == 3, "95 statuses: three pages of 40"

    hits = search_json(site, "toot number 7", "--person", "Alice")
    assert hits and hits[0]["person"] == "Alice"
    assert str(hits[0]["url"]).startswith(f"{http_server.base_url}/@alice/")
    assert hits[0]["kind"] == "mastodon"
    (bob,) = search_json(site, "watershed")
    assert "alert" not in str(bob["snippet"])

    health = sources_json(site)
    assert {row["via"] for row in health.values()} == {"api"}
    assert health[instance.profile_url("alice")]["posts"] == 95

    instance.generate("alice", 2, newest=instance.now + timedelta(hours=2))
    asked_before = len(instance.status_requests("alice"))
    second = pln(site, "fetch")
    assert "2 new posts" in second.stdout
    (refetch,) = instance.status_requests("alice")[asked_before:]
    assert "min_id" in refetch.query or "since_id" in refetch.query
    assert host in instance.profile_url("alice")


def test_mastodon_falls_back_to_rss_when_the_api_is_refused(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    instance = FakeInstance(http_server)
    instance.add_account("carol")
    instance.generate("carol", 5)
    instance.refuse_api = True
    site = tmp_path / "site"
    write_site(site, {"Carol": [{"mastodon": instance.profile_url("carol")}]})
    result = pln(site, "fetch")
    assert result.exit_code == 0, result.output
    assert "5 new posts" in result.stdout
    (row,) = sources_json(site).values()
    assert row["via"] == "rss" and row["kind"] == "mastodon"
    assert len(search_json(site, "water")) == 5
