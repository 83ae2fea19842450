"""Moving in and out, end to end through the CLI: `pln import`, `pln export`, `pln add`."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import listparser
import pytest
from click.testing import CliRunner, Result

from aggregator import config as config_module
from aggregator.cli import cli
from tests.mastodon_server import FakeInstance
from tests.server import LocalHTTPServer
from tests.sites import atom, html_page, items, rss

DATA = Path(__file__).parent / "data" / "import"


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args], catch_exceptions=False)


def inserted_lines(before: str, after: str) -> list[str]:
    """What ``after`` adds to ``before``, asserting that nothing else changed."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    added: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        assert tag in ("equal", "insert"), (tag, old[i1:i2], new[j1:j2])
        if tag == "insert":
            added += new[j1:j2]
    return added


def commented_site(tmp_path: Path, base: str) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sources.yaml").write_text(
        f"""\
# My learning network: hand-written, with comments that must survive every edit.
site:
  title: Water PLN        # shown on every page
  timezone: UTC

fetch:
  timeout: 2              # the test server is local

topics:
  - name: Water resources
    slug: water
    match: 'water OR watershed'

people:
  # Colleagues first.
  - name: Known Person
    sources:
      - {base}/known.xml   # the one feed I started with

# email: not yet
""",
        encoding="utf-8",
    )
    return site


@pytest.fixture
def served(http_server: LocalHTTPServer) -> str:
    base = http_server.base_url
    http_server.add("/known.xml", rss(base, items("known", 2, "tides")))
    http_server.add("/alice.xml", rss(base, items("alice", 3, "watershed"), title="Alice's Notes"))
    http_server.add(
        "/bob.atom", atom(base, items("bob", 2, "rivers")), content_type="application/atom+xml"
    )
    http_server.add("/carol/", html_page("/carol/feed.xml", "Carol"), content_type="text/html")
    http_server.add("/carol/feed.xml", rss(base, items("carol", 2, "compost"), title="Carol Cycle"))
    http_server.add("/nofeed/", "<html><body>no feed here</body></html>", content_type="text/html")
    return base


def served_opml(tmp_path: Path, base: str) -> Path:
    path = tmp_path / "reader.opml"
    text = (DATA / "served.opml").read_text(encoding="utf-8").replace("{base}", base)
    path.write_text(text, encoding="utf-8")
    return path


# ── import ───────────────────────────────────────────────────────────────────────────────


def test_import_opml_keeps_the_file_and_the_people_are_fetched(tmp_path: Path, served: str) -> None:
    site = commented_site(tmp_path, served)
    before = (site / "sources.yaml").read_text(encoding="utf-8")
    opml = served_opml(tmp_path, served)

    result = pln(site, "import", str(opml))
    assert result.exit_code == 0, result.output
    assert "Read OPML 2.0 (folders read as groups)" in result.stdout
    assert "Added 3 sources" in result.stdout and "3 new people" in result.stdout
    assert (
        f"= {served}/known.xml/ (The known one): already in sources.yaml, under Known Person"
        in (result.stdout)
    )
    assert "Folders and tags that name no topic (not used): Science" in result.stdout

    after = (site / "sources.yaml").read_text(encoding="utf-8")
    assert inserted_lines(before, after) == [
        "  - name: Alice Waters\n",
        "    topics: [water]\n",
        "    sources:\n",
        f"      - {served}/alice.xml\n",
        "  - name: Bob Rivers\n",
        "    topics: [water]\n",
        "    sources:\n",
        f"      - {served}/bob.atom\n",
        "  - name: Carol Cycle\n",
        "    sources:\n",
        f"      - {served}/carol/\n",
    ]
    assert after.rstrip().endswith("# email: not yet")
    assert pln(site, "check").exit_code == 0

    fetched = pln(site, "fetch")
    assert fetched.exit_code == 0, fetched.output
    assert "9 new posts" in fetched.stdout  # 2 known + 3 + 2 + 2
    hits = json.loads(pln(site, "search", "compost", "--format", "json").stdout)
    assert {hit["person"] for hit in hits} == {"Carol Cycle"}

    again = pln(site, "import", str(opml))
    assert again.exit_code == 0
    assert "Nothing new to add" in again.stdout and "Skipped 4" in again.stdout
    assert (site / "sources.yaml").read_text(encoding="utf-8") == after


def test_import_dry_run_changes_nothing(tmp_path: Path, served: str) -> None:
    site = commented_site(tmp_path, served)
    before = (site / "sources.yaml").read_bytes()
    result = pln(site, "import", "--dry-run", str(served_opml(tmp_path, served)))
    assert result.exit_code == 0
    assert "Would add 3 sources (--dry-run)" in result.stdout
    assert (site / "sources.yaml").read_bytes() == before


def test_import_nested_outlines_as_people(tmp_path: Path, served: str) -> None:
    site = commented_site(tmp_path, served)
    result = pln(site, "import", "--folders", "people", str(DATA / "people.opml"))
    assert result.exit_code == 0, result.output
    config = config_module.load_config(site / "sources.yaml")
    people = {p.name: [s.url for s in p.sources] for p in config.people}
    assert people["Carol Example"] == [
        "https://carol.pln.test/feed.xml",
        "https://links.carol.pln.test/rss",
    ]
    assert people["Dan Example"] == ["https://dan.pln.test/index.xml"]
    assert next(iter(people)) == "Known Person"


def test_import_mastodon_csv(tmp_path: Path, served: str) -> None:
    site = commented_site(tmp_path, served)
    before = (site / "sources.yaml").read_text(encoding="utf-8")
    result = pln(site, "import", str(DATA / "following_accounts.csv"))
    assert result.exit_code == 0, result.output
    assert "Read Mastodon CSV" in result.stdout and "Added 3 sources" in result.stdout
    assert "not-an-address: not an account address like user@host" in result.stdout
    added = "".join(inserted_lines(before, (site / "sources.yaml").read_text(encoding="utf-8")))
    assert "      - mastodon: '@alice@mastodon.pln.test'\n        boosts: true\n" in added
    assert "      - '@bob@social.pln.test'\n" in added
    config = config_module.load_config(site / "sources.yaml")
    accounts = {s.url: s.boosts for s in config.sources if s.kind == "mastodon"}
    assert accounts == {
        "https://mastodon.pln.test/@alice": True,
        "https://social.pln.test/@bob": False,
        "https://fosstodon.pln.test/@carol": False,
    }
    # Followed again from another export, the accounts are known whatever the case.
    second = tmp_path / "again.csv"
    second.write_text("Account address,Show boosts\nBOB@social.pln.test,true\n", encoding="utf-8")
    result = pln(site, "import", str(second))
    assert "Nothing new to add" in result.stdout and "under @bob@social.pln.test" in result.stdout


def test_import_refuses_what_is_no_subscription_list(tmp_path: Path, served: str) -> None:
    site = commented_site(tmp_path, served)
    before = (site / "sources.yaml").read_bytes()
    bad = tmp_path / "notes.txt"
    bad.write_text("just some notes\n", encoding="utf-8")
    result = pln(site, "import", str(bad))
    assert result.exit_code == 2
    assert "notes.txt" in result.stderr and "neither OPML nor a Mastodon export" in result.stderr
    missing = pln(site, "import", str(tmp_path / "nowhere.opml"))
    assert missing.exit_code == 2
    assert (site / "sources.yaml").read_bytes() == before


# ── export ───────────────────────────────────────────────────────────────────────────────


def test_export_parses_back_grouped_by_person(
    tmp_path: Path, served: str, http_server: LocalHTTPServer
) -> None:
    instance = FakeInstance(http_server)
    instance.add_account("mona", display_name="Mona")
    instance.generate("mona", 3)
    http_server.redirect("/moved.xml", "/alice.xml", status=301)
    site = commented_site(tmp_path, served)
    pln(site, "add", f"{served}/carol/", "--name", "Carol")
    pln(site, "add", f"{served}/moved.xml", "--name", "Known Person")
    pln(site, "add", instance.profile_url("mona"), "--name", "Carol")
    assert pln(site, "fetch").exit_code == 0

    result = pln(site, "export")
    assert result.exit_code == 0, result.output
    parsed = listparser.parse(result.stdout.encode())
    assert parsed.version == "opml2" and parsed.meta.title == "Water PLN"
    exported = [(feed.categories[-1][0], feed.url) for feed in parsed.feeds]
    assert exported == [
        ("Known Person", f"{served}/known.xml"),
        ("Known Person", f"{served}/alice.xml"),  # moved.xml, as where it moved to
        ("Carol", f"{served}/carol/feed.xml"),  # the page, as the feed found on it
        ("Carol", f"{http_server.base_url}/@mona.rss"),  # the account's RSS feed
    ]

    out = tmp_path / "pln.opml"
    assert pln(site, "export", "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8") == result.stdout.replace(
        _date_line(result.stdout), _date_line(out.read_text(encoding="utf-8"))
    )


def _date_line(text: str) -> str:
    return next(line for line in text.splitlines() if "<dateCreated>" in line)


# ── add ──────────────────────────────────────────────────────────────────────────────────


def test_add_a_feed_with_a_topic(tmp_path: Path, served: str) -> None:
    site = commented_site(tmp_path, served)
    before = (site / "sources.yaml").read_text(encoding="utf-8")
    result = pln(site, "add", f"{served}/alice.xml", "--topic", "water")
    assert result.exit_code == 0, result.output
    assert f"Added {served}/alice.xml" in result.stdout
    assert "for a new person, Alice's Notes" in result.stdout
    assert 'A feed "Alice\'s Notes": 3 posts to fetch.' in result.stdout
    after = (site / "sources.yaml").read_text(encoding="utf-8")
    assert inserted_lines(before, after) == [
        '  - name: "Alice\'s Notes"\n',
        "    topics: [water]\n",
        "    sources:\n",
        f"      - {served}/alice.xml\n",
    ] or inserted_lines(before, after) == [
        "  - name: Alice's Notes\n",
        "    topics: [water]\n",
        "    sources:\n",
        f"      - {served}/alice.xml\n",
    ]


def test_add_a_page_that_names_its_feed_to_an_existing_person(tmp_path: Path, served: str) -> None:
    site = commented_site(tmp_path, served)
    result = pln(site, "add", f"{served}/carol/", "--name", "known person")
    assert result.exit_code == 0, result.output
    assert "for Known Person, already there" in result.stdout
    assert f"feed found on the page: {served}/carol/feed.xml" in result.stdout
    config = config_module.load_config(site / "sources.yaml")
    (known,) = config.people
    assert [s.url for s in known.sources] == [f"{served}/known.xml", f"{served}/carol/"]


def test_add_a_mastodon_account(tmp_path: Path, served: str, http_server: LocalHTTPServer) -> None:
    instance = FakeInstance(http_server)
    instance.add_account("alice", display_name="Alice Water")
    instance.generate("alice", 5)
    site = commented_site(tmp_path, served)
    result = pln(site, "add", instance.profile_url("alice"))
    assert result.exit_code == 0, result.output
    assert "for a new person, Alice Water" in result.stdout
    assert 'A Mastodon account "Alice Water": 5 posts to fetch.' in result.stdout
    assert len(instance.lookup_requests()) == 1
    text = (site / "sources.yaml").read_text(encoding="utf-8")
    assert f"      - mastodon: {instance.profile_url('alice')}\n" in text
    fetched = pln(site, "fetch")
    assert "7 new posts" in fetched.stdout  # 5 toots and the 2 posts of Known Person


def test_add_a_mastodon_account_whose_api_is_closed(
    tmp_path: Path, served: str, http_server: LocalHTTPServer
) -> None:
    instance = FakeInstance(http_server)
    instance.add_account("carol")
    instance.generate("carol", 4)
    instance.refuse_api = True
    site = commented_site(tmp_path, served)
    result = pln(site, "add", instance.profile_url("carol"), "--name", "Carol")
    assert result.exit_code == 0, result.output
    assert f"read through its RSS feed {http_server.base_url}/@carol.rss" in result.stdout


def test_a_profile_like_url_that_is_a_page_with_a_feed(
    tmp_path: Path, served: str, http_server: LocalHTTPServer
) -> None:
    # Not every /@name is Mastodon (Medium, for one): no account, so it is read as a page.
    http_server.add("/@writer", html_page("/carol/feed.xml", "Writer"), content_type="text/html")
    site = commented_site(tmp_path, served)
    result = pln(site, "add", f"{served}/@writer")
    assert result.exit_code == 0, result.output
    config = config_module.load_config(site / "sources.yaml")
    added = config.people[-1].sources[0]
    assert (added.url, added.kind) == (f"{served}/@writer", "feed")


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/nofeed/", 1, "an HTML page that names no feed"),
        ("/missing.xml", 1, "HTTP 404"),
    ],
)
def test_add_refuses_what_is_not_a_source(
    tmp_path: Path, served: str, path: str, status: int, words: str
) -> None:
    site = commented_site(tmp_path, served)
    before = (site / "sources.yaml").read_bytes()
    result = pln(site, "add", served + path)
    assert result.exit_code == status, result.output
    assert words in result.stderr and served + path in result.stderr
    assert "Traceback" not in result.output
    assert (site / "sources.yaml").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["not a url"], "neither a URL nor a Mastodon handle"),
        (["@nobody"], "names no server"),
        (["ftp://x.example/feed"], "only http:// and https://"),
        (["https://x.example/feed", "--topic", "nosuch"], "unknown topic 'nosuch'"),
    ],
)
def test_add_bad_usage_is_exit_2(tmp_path: Path, served: str, args: list[str], words: str) -> None:
    site = commented_site(tmp_path, served)
    before = (site / "sources.yaml").read_bytes()
    result = pln(site, "add", *args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert (site / "sources.yaml").read_bytes() == before


def test_add_what_is_already_followed_asks_nothing_and_changes_nothing(
    tmp_path: Path, served: str, http_server: LocalHTTPServer
) -> None:
    site = commented_site(tmp_path, served)
    before = (site / "sources.yaml").read_bytes()
    result = pln(site, "add", f"{served.replace('http://', 'HTTP://')}/known.xml/")
    assert result.exit_code == 0, result.output
    assert "already in sources.yaml, under Known Person: nothing changed" in result.stdout
    assert http_server.requests == []
    assert (site / "sources.yaml").read_bytes() == before


def test_add_without_checking(tmp_path: Path, served: str, http_server: LocalHTTPServer) -> None:
    site = commented_site(tmp_path, served)
    result = pln(site, "add", "@zed@mastodon.pln.test", "--no-check")
    assert result.exit_code == 0, result.output
    assert http_server.requests == []
    assert "      - '@zed@mastodon.pln.test'\n" in (site / "sources.yaml").read_text(
        encoding="utf-8"
    )
