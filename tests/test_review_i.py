"""Smaller findings of the new-user review (/tmp/review-e, engineer I), each through the real
command: days the calendar lacks, names that match no one, the words for a source's kind,
-v with -q, a machine that is offline, calendar words in trends, and --out's folder."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator import app, topics
from aggregator.cli import cli
from tests import site_fixture
from tests.server import LocalHTTPServer
from tests.sites import items, rss, write_site
from tests.test_faults import UNRESOLVABLE_HOST, resolver_fails_fast
from tests.test_topics import topic_documents, trend_feed


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site fixture's five people and their posts, stored (no fetch)."""
    site = tmp_path_factory.mktemp("review-i") / "site"
    site_fixture.write_config(site)
    config = app.load_config(site)
    site_fixture.fill_store(config.database_path, config)
    return site


# ── a day the calendar lacks; YYYY-MM-DD in --help ──────────────────────────────────────


def test_a_well_written_day_the_calendar_lacks_says_so(network: Path) -> None:
    february = pln(network, "search", "drought", "--since", "2026-02-30")
    assert february.exit_code == 2
    assert "2026-02-30 is not a day of the calendar: February 2026 has 28 days" in february.stderr
    assert "does not match the format" not in february.stderr
    month = pln(network, "email", "--date", "2026-13-01", "--dry-run")
    assert month.exit_code == 2
    assert "2026-13-01 is not a day of the calendar: there is no month 13" in month.stderr
    german = pln(network, "email", "--date", "23.11.2026", "--dry-run")
    assert german.exit_code == 2
    assert "'23.11.2026' is not a day written YYYY-MM-DD (such as 2026-11-23)" in german.stderr
    leap = pln(network, "search", "drought", "--until", "2028-02-29", "--format", "json")
    assert leap.exit_code == 0, leap.output
    assert json.loads(leap.stdout)  # a real day, and the drought posts are before it


def test_help_writes_every_day_option_as_yyyy_mm_dd(network: Path) -> None:
    searching = pln(network, "search", "--help").stdout
    assert re.search(r"--since YYYY-MM-DD", searching) and re.search(
        r"--until YYYY-MM-DD", searching
    )
    assert re.search(r"--date YYYY-MM-DD", pln(network, "email", "--help").stdout)
    for command in ("search", "email", "fetch", "trends", "run"):
        assert "%Y" not in pln(network, command, "--help").stdout, command


# ── --person and --topic that name no one: exit 2 with the close names ──────────────────


def test_a_person_or_topic_that_is_not_there_is_a_usage_error(network: Path) -> None:
    typo = pln(network, "search", "drought", "--person", "Alice Exmple")
    assert typo.exit_code == 2
    assert "no one named 'Alice Exmple' in sources.yaml" in typo.stderr
    assert "did you mean 'Alice Example'?" in typo.stderr
    stranger = pln(network, "search", "drought", "--person", "Zed", "--format", "json")
    assert stranger.exit_code == 2 and stranger.stdout == ""  # no "[]" for a script to trust
    assert "the people are: Alice Example, Bob Builder, Carol Jones" in stranger.stderr
    topic = pln(network, "search", "drought", "--topic", "watr")
    assert topic.exit_code == 2
    assert "no topic 'watr' (did you mean 'water'? the topics are: water" in topic.stderr
    # A person who is there, with nothing matching, is no error.
    known = pln(network, "search", "zeppelin", "--person", "alice-example")
    assert known.exit_code == 0 and "No match." in known.stderr
    found = pln(network, "search", "drought", "--person", "Alice Example", "--format", "json")
    assert found.exit_code == 0 and {hit["person"] for hit in json.loads(found.stdout)} == {
        "Alice Example"
    }


def test_someone_taken_out_of_sources_yaml_is_still_searchable(
    network: Path, tmp_path: Path
) -> None:
    document = json.loads((network / "sources.yaml").read_text(encoding="utf-8"))
    document["people"] = [p for p in document["people"] if p["name"] != "Alice Example"]
    site = tmp_path / "site"
    site.mkdir()
    (site / "sources.yaml").write_text(json.dumps(document), encoding="utf-8")
    (site / "pln.db").write_bytes((network / "pln.db").read_bytes())
    gone = pln(site, "search", "drought", "--person", "Alice Example", "--format", "json")
    assert gone.exit_code == 0, gone.output
    assert {hit["person"] for hit in json.loads(gone.stdout)} == {"Alice Example"}


# ── the same word for a source's kind on the site as in `pln sources` ───────────────────


def test_the_site_names_a_kind_as_pln_sources_does(network: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for name in ("sources.yaml", "pln.db"):
        (site / name).write_bytes((network / name).read_bytes())
    built = pln(site, "build")
    assert built.exit_code == 0, built.output
    output = site / "output"
    rows = json.loads(pln(site, "sources", "--format", "json").stdout)
    kinds = {row["url"]: row["kind"] for row in rows}
    assert kinds["https://alice.example/feed.xml"] == "feed"
    page = (output / "people" / "alice-example" / "index.html").read_text(encoding="utf-8")
    cells = re.findall(r"<td>(feed|blog|Mastodon)</td>", page)
    assert cells == ["feed", "Mastodon"]
    people = " ".join(
        re.sub(r"<[^>]+>", " ", (output / "people" / "index.html").read_text("utf-8")).split()
    )
    assert "1 feed, 1 Mastodon" in people and "1 blog" not in people


# ── -v and -q ────────────────────────────────────────────────────────────────────────────


def test_verbose_and_quiet_together_are_a_usage_error(network: Path) -> None:
    both = pln(network, "-v", "-q", "check")
    assert both.exit_code == 2
    assert "-v and -q contradict each other" in both.stderr
    assert "Usage:" in both.stderr
    late = pln(network, "-q", "sources", "-v")
    assert late.exit_code == 2 and "-v and -q contradict each other" in late.stderr
    assert pln(network, "-q", "check").exit_code == 0


# ── every host name lookup failed: the machine may be offline ───────────────────────────

OFFLINE_HINT = "No host name could be looked up: is this machine offline?"


def test_a_fetch_where_every_lookup_failed_asks_whether_the_machine_is_offline(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    if not resolver_fails_fast():
        pytest.skip("this machine's resolver does not answer for .invalid within the timeout")
    unresolvable = [f"http://{name}.{UNRESOLVABLE_HOST}/feed.xml" for name in ("a", "b")]
    offline = tmp_path / "offline"
    write_site(offline, {"Ann": [unresolvable[0]], "Ben": [unresolvable[1]]})
    result = pln(offline, "fetch")
    assert result.exit_code == 0, result.output
    assert "2 failed" in result.stdout
    assert OFFLINE_HINT in result.stderr
    assert "`pln fetch --force` tries every source again" in result.stderr
    assert OFFLINE_HINT not in pln(offline, "-q", "fetch", "--force").output

    # One host that does not resolve beside one that works is a typo, not an offline machine.
    http_server.add("/good.xml", rss(http_server.base_url, items("good", 2)))
    mixed = tmp_path / "mixed"
    write_site(mixed, {"Ann": [unresolvable[0]], "Good": [http_server.url("/good.xml")]})
    one_bad = pln(mixed, "fetch")
    assert one_bad.exit_code == 0 and "1 failed" in one_bad.stdout
    assert "host name lookup failed" in one_bad.stderr and OFFLINE_HINT not in one_bad.stderr


# ── trends: the calendar is no news ──────────────────────────────────────────────────────

CALENDAR_WORDS = ("month", "tuesday", "yesterday")


def test_calendar_words_do_not_trend(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(19)
    now = datetime.now(UTC)
    rising = {"microplastics": 3, **dict.fromkeys(CALENDAR_WORDS, 4)}
    people: dict[str, list[object]] = {}
    for person in ("ann", "ben", "cy", "dee"):
        feed = trend_feed(rng, person, now, rising if person != "dee" else {})
        http_server.add(f"/{person}.xml", rss(http_server.base_url, feed))
        people[person.title()] = [f"{http_server.base_url}/{person}.xml"]
    site = tmp_path / "site"
    write_site(site, people, topics=topic_documents())
    assert pln(site, "fetch").exit_code == 0

    def trending() -> list[str]:
        result = pln(site, "trends", "--format", "json")
        assert result.exit_code == 0, result.output
        return [term["term"] for term in json.loads(result.stdout)["terms"]]

    found = trending()
    assert "microplastics" in found
    assert not set(CALENDAR_WORDS) & set(found), found
    # The same posts with the calendar words taken out of the stop words: they would trend,
    # so the assertion above is about the stop words and not about the planted counts.
    monkeypatch.setattr(topics, "STOP_WORDS", topics.STOP_WORDS - set(CALENDAR_WORDS))
    assert set(CALENDAR_WORDS) <= set(trending())


# ── email --out: a folder that is not there is said, not made ───────────────────────────


def test_email_out_into_a_missing_folder_is_refused(network: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    refused = pln(network, "email", "--date", "2026-11-22", "--out", str(missing / "x.eml"))
    assert refused.exit_code == 1
    assert f"there is no folder {missing}" in refused.stderr
    assert not (tmp_path / "no").exists()
    assert "FILE's folder must exist" in pln(network, "email", "--help").stdout
    written = pln(network, "email", "--date", "2026-11-22", "--out", str(tmp_path / "x.eml"))
    assert written.exit_code == 0, written.output
    message = message_from_bytes((tmp_path / "x.eml").read_bytes(), policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
