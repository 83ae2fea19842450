"""How a post's source is named: the blog's own name (its feed's title), the Mastodon handle,
else the host, the same on the site, in the email and in `pln search`; and how a first fetch
of a feed with no posts is summed up."""

from __future__ import annotations

import json
import re
import sqlite3
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator import labels
from aggregator.cli import cli
from aggregator.models import SourceKind
from tests.mastodon_server import FakeInstance
from tests.server import LocalHTTPServer
from tests.sites import Item, atom, items, json_feed, rss, write_site

DAY = "2026/11/20"  # tests.sites.BASE_TIME: the day of the feeds' posts


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args], catch_exceptions=False)


# ── naming a source (pure) ───────────────────────────────────────────────────────────────


def test_a_blog_is_named_by_its_feeds_title() -> None:
    name = labels.source_name(SourceKind.FEED, "https://www.alice.example/feed.xml", "Notes", "A")
    assert name == "Notes"
    # a long name is cut at a word
    long_title = "Field notes on water, drought and the rivers of the northern plains"
    cut = labels.source_name(SourceKind.FEED, "https://a.example/f", long_title, "Alice")
    assert cut == "Field notes on water, drought and the…"
    assert len(cut) <= labels.NAME_CHARS


@pytest.mark.parametrize("title", [None, "", "   ", "Alice  Example", "alice example"])
def test_without_a_title_of_its_own_a_blog_is_named_by_its_host(title: str | None) -> None:
    """No title, or only the person's own name, which the entry shows already."""
    url = "https://www.alice.example/feed.xml"
    assert labels.source_name(SourceKind.FEED, url, title, "Alice Example") == "alice.example"


def test_a_mastodon_account_is_named_by_its_handle_and_links_its_profile() -> None:
    url = "http://127.0.0.1:8123/@alice"
    assert labels.source_name(SourceKind.MASTODON, url, None, "Alice") == "@alice@127.0.0.1"
    assert labels.source_home(SourceKind.MASTODON, url, None) == url


def test_a_name_links_the_blogs_home_page_when_it_is_a_web_address() -> None:
    feed = "https://alice.example/feed.xml"
    assert labels.source_home(SourceKind.FEED, feed, "https://alice.example/") == (
        "https://alice.example/"
    )
    assert labels.source_home(SourceKind.FEED, feed, None) is None
    assert labels.source_home(SourceKind.FEED, feed, "javascript:alert(1)") is None
    assert labels.source_home(SourceKind.BLOG, "https://b.example/", "") == "https://b.example/"
    assert labels.stored_home("data:text/html,<script>alert(1)</script>") == ""


def test_a_stored_title_is_one_line_of_printable_text() -> None:
    """An escape sequence would reach the terminal of `pln search`; a bidi override would
    reorder what follows it on a page."""
    hostile = "Good\x1b[2J\x1b]0;owned\x07 \u202eBlog\u2066\n\tname\u200b" + "x" * 500
    stored = labels.stored_title(hostile)
    assert stored.startswith("Good [2J ]0;owned Blog name x")
    assert not any(char in stored for char in "\x1b\x07\u202e\u2066\n\t\u200b")
    assert len(stored) == labels.STORED_CHARS


# ── through the commands ─────────────────────────────────────────────────────────────────


HOSTILE_TITLE = "<script>alert('name')</script>Pipes & \"Drains\"\x1b[31m"


@pytest.fixture
def network(tmp_path: Path, http_server: LocalHTTPServer) -> Path:
    base = http_server.base_url
    http_server.add("/alice.xml", rss(base, items("alice", 2, "water"), title="Field Notes"))
    http_server.add(
        "/bob.atom",
        atom(base, items("bob", 1, "water"), title=HOSTILE_TITLE),
        content_type="application/atom+xml",
    )
    http_server.add("/carol.xml", rss(base, items("carol", 1, "water"), title="Carol"))
    http_server.add(
        "/dave.json",
        json_feed(base, items("dave", 1, "water"), title=""),
        content_type="application/feed+json",
    )
    instance = FakeInstance(http_server)
    instance.add_account("erin")
    instance.post("erin", "<p>Water news</p>")
    site = tmp_path / "site"
    write_site(
        site,
        {
            "Alice": [http_server.url("/alice.xml")],
            "Bob": [http_server.url("/bob.atom")],
            "Carol": [http_server.url("/carol.xml")],
            "Dave": [http_server.url("/dave.json")],
            "Erin": [{"mastodon": instance.profile_url("erin")}],
        },
    )
    document = json.loads((site / "sources.yaml").read_text(encoding="utf-8"))
    document["email"] = {
        "to": ["me@example.org"],
        "from": "pln@example.org",
        "smtp": {"host": "127.0.0.1", "port": 9, "security": "none"},
    }
    (site / "sources.yaml").write_text(json.dumps(document), encoding="utf-8")
    fetched = pln(site, "fetch")
    assert fetched.exit_code == 0 and "0 failed" in fetched.stdout, fetched.output
    return site


def _meta_lines(page: str) -> dict[str, str]:
    """Each entry's person → what names the source beside it, as markup."""
    found = re.findall(
        r'<a class="person" href="[^"]*">([^<]*)</a>\s*<span class="dot"[^>]*>·</span>\s*'
        r'<span class="kind">(.*?)</span>',
        page,
    )
    return dict(found)


def test_the_site_names_each_source_and_links_it(network: Path, http_server: LocalHTTPServer):
    assert pln(network, "build").exit_code == 0
    output = network / "output"
    day = (output / DAY / "index.html").read_text(encoding="utf-8")
    base = http_server.base_url
    shown = _meta_lines(day)
    assert shown["Alice"] == f'<a href="{base}/">Field Notes</a>'
    assert shown["Carol"] == f'<a href="{base}/">127.0.0.1</a>'  # titled with her own name
    assert shown["Dave"] == f'<a href="{base}/">127.0.0.1</a>'  # no title at all
    # The hostile title is text: escaped, its escape character gone, nothing to run.
    assert "<script>alert('name')" not in day and "\x1b" not in day
    assert "Pipes &amp; &#34;Drains&#34;" in shown["Bob"]
    toots = "".join((output / path).read_text(encoding="utf-8") for path in _toot_pages(output))
    assert '<a href="' + base + '/@erin">@erin@127.0.0.1</a>' in _meta_lines(toots)["Erin"]
    # the same on the person's page and in the feed
    person = (output / "people" / "alice" / "index.html").read_text(encoding="utf-8")
    assert _meta_lines(person)["Alice"] == f'<a href="{base}/">Field Notes</a>'
    assert f'<td><a href="{base}/alice.xml">Field Notes</a></td>' in person  # her sources
    assert "&lt;a href=&#34;" + base + "/&#34;&gt;Field Notes&lt;/a&gt;" in (
        output / "feed.xml"
    ).read_text(encoding="utf-8")


def _toot_pages(output: Path) -> list[Path]:
    return [
        path.relative_to(output)
        for path in output.glob("20*/*/*/index.html")
        if "@erin" in path.read_text(encoding="utf-8")
    ]


def test_search_names_the_source(network: Path) -> None:
    result = pln(network, "search", "water", "--format", "json", "--limit", "50")
    assert result.exit_code == 0, result.output
    names = {hit["person"]: hit["source_name"] for hit in json.loads(result.stdout)}
    assert names["Alice"] == "Field Notes"
    assert names["Carol"] == names["Dave"] == "127.0.0.1"
    assert names["Erin"] == "@erin@127.0.0.1"
    assert "\x1b" not in names["Bob"] and "Pipes &" in names["Bob"]
    text = pln(network, "search", "alice", "--no-pager").stdout
    assert re.search(r"^   Alice · Field Notes · 2026-11-20$", text, re.MULTILINE), text
    bob = pln(network, "search", "bob", "--no-pager").stdout
    assert "\x1b" not in bob and "Pipes &" in bob


def test_the_sources_command_names_each_source(network: Path) -> None:
    result = pln(network, "sources", "--format", "json")
    names = {row["person"]: row["name"] for row in json.loads(result.stdout)}
    assert names == {
        "Alice": "Field Notes",
        "Bob": 'Pipes & "Drains" [31m',  # the escape character is gone
        "Carol": "127.0.0.1",
        "Dave": "127.0.0.1",
        "Erin": "@erin@127.0.0.1",
    }
    table = pln(network, "sources").stdout
    assert re.search(r"^  http://\S+/alice\.xml  Field Notes · feed$", table, re.MULTILINE), table


def test_the_email_names_the_source(network: Path, tmp_path: Path) -> None:
    out = tmp_path / "digest.eml"
    result = pln(network, "email", "--date", "2026-11-20", "--out", str(out))
    assert result.exit_code == 0, result.output
    message = message_from_bytes(out.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    text, markup = plain.get_content(), html.get_content()
    assert "Alice · Field Notes ·" in text and "Carol · 127.0.0.1 ·" in text
    assert "\x1b" not in text
    assert ">Field Notes</a>" in markup and "<script>alert('name')" not in markup


def test_a_new_title_renames_the_blog_on_the_next_fetch(
    network: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.add("/alice.xml", rss(base, items("alice", 2, "water"), title="Wet Notes"))
    assert pln(network, "fetch", "--force").exit_code == 0
    hits = json.loads(pln(network, "search", "alice", "--format", "json").stdout)
    assert {hit["source_name"] for hit in hits} == {"Wet Notes"}


def test_a_database_from_before_labels_names_its_blogs_after_the_next_fetch(
    network: Path, http_server: LocalHTTPServer
) -> None:
    """m013_labels on a database whose feeds all answer 304: each is read whole once."""
    asked = len(http_server.requests)
    assert pln(network, "fetch", "--force").exit_code == 0  # a refetch is conditional
    (alice,) = [r for r in http_server.requests[asked:] if r.path == "/alice.xml"]
    assert alice.headers.get("If-None-Match")
    with sqlite3.connect(network / "pln.db") as db:  # as it was before m013_labels
        db.executescript(
            """
            ALTER TABLE sources DROP COLUMN title;
            ALTER TABLE sources DROP COLUMN home;
            DELETE FROM _sqlite_migrations WHERE name = 'm013_labels';
            """
        )
    db.close()
    refused = pln(network, "search", "alice")
    assert refused.exit_code == 1 and "run `pln fetch` to upgrade it" in refused.stderr
    asked = len(http_server.requests)
    again = pln(network, "fetch", "--force")
    assert again.exit_code == 0 and "0 new posts" in again.stdout, again.output
    (alice,) = [r for r in http_server.requests[asked:] if r.path == "/alice.xml"]
    assert "If-None-Match" not in alice.headers and "If-Modified-Since" not in alice.headers
    hits = json.loads(pln(network, "search", "alice", "--format", "json").stdout)
    assert {hit["source_name"] for hit in hits} == {"Field Notes"}


# ── the fetch summary ────────────────────────────────────────────────────────────────────


def test_a_first_fetch_of_an_empty_feed_says_it_has_no_posts_yet(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.add("/empty.xml", rss(base, []))
    http_server.add("/full.xml", rss(base, [Item("f-1", "A post", "<p>Words.</p>")]))
    site = tmp_path / "site"
    people = {"Nina": [http_server.url("/empty.xml")], "Otto": [http_server.url("/full.xml")]}
    write_site(site, people, fetch={"full_text": "never"})
    first = pln(site, "-v", "fetch")
    assert first.exit_code == 0, first.output
    assert (
        "Fetched 2 sources in" in first.stdout
        and ": 1 new post, 0 updated, 0 sources unchanged, 1 source with no posts yet, 0 failed."
        in first.stdout
    ), first.stdout
    assert f"= Nina: {http_server.url('/empty.xml')}: no posts yet" in first.stderr
    again = pln(site, "fetch", "--force")
    assert "0 new posts, 0 updated, 2 sources unchanged, 0 failed." in again.stdout, again.stdout
    assert "no posts yet" not in again.stdout
