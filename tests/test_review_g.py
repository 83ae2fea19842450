"""Findings of the new-user review (/tmp/review-e, engineer G), each through the real path."""

from __future__ import annotations

import functools
import gzip
import json
import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator import app, config_hints, extract, searchindex
from aggregator.cli import cli
from aggregator.models import ParsedFeed
from aggregator.parse import read
from tests import site_fixture
from tests.server import LocalHTTPServer
from tests.sites import items, rss, write_site
from tests.smtp_server import SmtpServer
from tests.test_mail import PASSWORD, PASSWORD_ENV, configure, fill_store_now, login, set_port

needs_pagefind = pytest.mark.skipif(
    searchindex.pagefind_binary() is None, reason="the pagefind package is not installed"
)

FEEDS = Path(__file__).parent / "data" / "feeds"


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args], catch_exceptions=False)


# ── finding 4: one bad byte in a UTF-8 feed ──────────────────────────────────────────────


def test_one_bad_byte_in_a_utf8_feed_spoils_only_itself(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add(
        "/zurich.xml",
        (FEEDS / "utf8-one-bad-byte.xml").read_bytes(),
        content_type="application/rss+xml",
    )
    site = tmp_path / "site"
    write_site(site, {"Zora": [http_server.url("/zurich.xml")]})
    assert pln(site, "fetch").exit_code == 0
    result = pln(site, "search", "byte", "--format", "json")
    assert result.exit_code == 0, result.output
    [hit] = json.loads(result.stdout)
    assert hit["title"] == "Café in Zürich, naïve résumé — “quotes”"
    assert "Straße und Öl, then one bad byte: \ufffd here." in hit["snippet"]


def test_a_windows_1252_feed_labelled_utf8_is_still_read_as_windows_1252(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Smart quotes “hello” café naïve</title>"
        "<link>https://x.example/1</link></item></channel></rss>"
    ).encode("cp1252")
    http_server.add("/cp.xml", feed, content_type="application/rss+xml")
    site = tmp_path / "site"
    write_site(site, {"Carla": [http_server.url("/cp.xml")]})
    assert pln(site, "fetch").exit_code == 0
    [hit] = json.loads(pln(site, "search", "hello", "--format", "json").stdout)
    assert hit["title"] == "Smart quotes “hello” café naïve"


# ── finding 6: a post's title is not its text ────────────────────────────────────────────

ARTICLE_PAGE = """<!doctype html><html lang="en"><head><title>Shade audit | Tomás's notes</title>
</head><body><nav><a href="/">Home</a> <a href="/about/">About</a></nav>
<main><article><h1>A shade audit of every bus stop</h1>
<p>Waiting for a bus in full sun at 36 degrees is a health risk, not an inconvenience.</p>
<p>So we checked every one of the city's 1,240 stops for shade at two in the afternoon.</p>
<p>Only 31 percent had any: a shelter roof, a tree or the shadow of a building nearby.</p>
<p>The stops with the most riders and the least shade are listed below, street by street.</p>
</article></main><footer>© Tomás</footer></body></html>"""


def test_an_extracted_article_does_not_start_with_its_title(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.add(
        "/feed.xml",
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Notes</title>'
        f"<link>{base}/</link><item><title>A shade audit of every bus stop</title>"
        f"<link>{base}/shade/</link><guid>{base}/shade/</guid>"
        "<pubDate>Mon, 13 Oct 2025 08:00:00 GMT</pubDate>"
        "<description>Waiting for a bus in full sun…</description></item></channel></rss>",
        content_type="application/rss+xml",
    )
    http_server.add("/shade/", ARTICLE_PAGE, content_type="text/html")
    site = tmp_path / "site"
    write_site(site, {"Tomás": [f"{base}/feed.xml"]}, fetch={"full_text": "always"})
    assert pln(site, "fetch").exit_code == 0
    assert len(http_server.requests_for("/shade/")) == 1
    with sqlite3.connect(site / "pln.db") as db:
        [(text,)] = db.execute("SELECT text FROM posts").fetchall()
    assert text.startswith("Waiting for a bus in full sun at 36 degrees")
    assert "A shade audit" not in text


def test_a_first_paragraph_is_dropped_only_when_it_is_the_title() -> None:
    text = "A “Shade” audit — of every bus-stop\n\nWaiting for a bus."
    assert extract.without_title(text, "A shade audit of every bus stop") == "Waiting for a bus."
    assert extract.without_title(text, None, "Another title") == text
    # a text that is only its title is left as it is: it is all the post has
    assert extract.without_title("Just the title", "Just the title") == "Just the title"


@needs_pagefind
def test_the_search_index_leaves_out_made_up_titles_of_toots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "trends", lambda *a, **k: ["drought"], raising=False)
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    app.build(config, clock=lambda: site_fixture.NOW)
    day_pages = list(config.output_path.glob("2026/*/*/index.html"))
    assert any("on Mastodon</a>" in page.read_text() for page in day_pages)
    indexed = " ".join(pagefind_texts(config.output_path / searchindex.PRIMARY_DIR))
    assert "Carol found it too" in indexed  # a toot's own words are there
    assert "on Mastodon" not in indexed


def pagefind_texts(index: Path) -> list[str]:
    """The text Pagefind indexed of each page: its fragments are gzipped JSON after a tag."""
    texts = []
    for fragment in index.rglob("*.pf_fragment"):
        data = gzip.decompress(fragment.read_bytes()).removeprefix(b"pagefind_dcd")
        texts.append(json.loads(data)["content"])
    assert texts, f"no fragment in {index}"
    return texts


# ── finding 2: colours in the pager ──────────────────────────────────────────────────────

FAKE_LESS = """#!/bin/sh
# Stands in for less: writes down the LESS it was given and the text it was to show.
printf 'LESS=%s\\n' "${LESS-(unset)}" > "$PAGED"
cat >> "$PAGED"
"""


@pytest.fixture
def many_hits(tmp_path: Path, http_server: LocalHTTPServer) -> Path:
    http_server.add("/feed.xml", rss(http_server.base_url, items("ana", 12, "parking minimums")))
    site = tmp_path / "site"
    write_site(site, {"Ana": [http_server.url("/feed.xml")]})
    assert pln(site, "fetch").exit_code == 0
    return site


def search_on_a_terminal(site: Path, tmp_path: Path, **environment: str) -> str:
    """``pln search parking`` with stdin and stdout on a pseudo-terminal of 8 lines, paging
    into a fake ``less``; what the pager was given."""
    fake = tmp_path / "bin" / "less"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(FAKE_LESS)
    fake.chmod(0o755)
    paged = tmp_path / "paged.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("LESS", "NO_COLOR", "FORCE_COLOR")}
    env.update(PAGER=str(fake), PAGED=str(paged), LINES="8", COLUMNS="80", TERM="xterm")
    env.update(environment)
    controller, terminal = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "aggregator", "--site", str(site), "search", "parking"],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env=env,
            timeout=60,
            check=True,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    return paged.read_text()


def test_search_colours_show_in_less_when_the_user_has_no_less_options(
    many_hits: Path, tmp_path: Path
) -> None:
    paged = search_on_a_terminal(many_hits, tmp_path)
    assert paged.startswith("LESS=-R\n")
    assert "\x1b[1m" in paged  # bold titles, which less -R shows as bold


def test_search_leaves_colours_out_when_the_users_less_would_show_them_as_text(
    many_hits: Path, tmp_path: Path
) -> None:
    paged = search_on_a_terminal(many_hits, tmp_path, LESS="-X")
    assert paged.startswith("LESS=-X\n")  # the user's own setting is left alone
    assert "Ana post" in paged
    assert "\x1b[" not in paged


def test_search_keeps_colours_for_a_less_told_to_show_them(many_hits: Path, tmp_path: Path) -> None:
    paged = search_on_a_terminal(many_hits, tmp_path, LESS="-FRX")
    assert paged.startswith("LESS=-FRX\n")
    assert "\x1b[1m" in paged


# ── finding 9: a query searched as its plain words says so ───────────────────────────────


def test_an_invalid_query_says_it_was_searched_as_plain_words(many_hits: Path) -> None:
    result = pln(many_hits, "search", "NOT parking", "--no-pager")
    assert result.exit_code == 0
    assert "Ana post 0 about parking minimums" in result.stdout
    assert 'not valid query syntax (syntax error near "NOT")' in result.stderr
    assert "searched as plain words: parking)\n" in result.stderr


def test_an_unknown_column_names_the_columns_there_are(many_hits: Path) -> None:
    result = pln(many_hits, "search", "subject:parking", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []  # stdout stays JSON; no post says "subject"
    assert (
        "(subject: is not a column (the columns are title:, text:, author:, categories:); "
        "searched as plain words: subject parking)"
    ) in result.stderr


def test_a_valid_query_says_nothing_more(many_hits: Path) -> None:
    for valid in ("parking", "title:parking NOT tram", '"parking minimums" OR tram*'):
        result = pln(many_hits, "search", valid, "--no-pager")
        assert result.exit_code == 0
        assert "searched as" not in result.stderr, valid


# ── finding 11: config errors say how to fix them ────────────────────────────────────────


def test_a_topic_query_error_points_at_its_match_line_in_the_path_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "mine"
    site.mkdir()
    (site / "sources.yaml").write_text(
        "site:\n  title: Mine\ntopics:\n  - name: Water\n    match: (water OR rivers\npeople: []\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--site", "mine", "check"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: mine/sources.yaml:5: topics[0].match: topic 'Water': the match query is not "
        "valid FTS5 syntax (it stops too early: an unclosed parenthesis or quote, or nothing "
        "after an operator or a column:)\n"
    )


def test_a_yaml_slip_is_reported_with_its_fix_by_pln_check(tmp_path: Path) -> None:
    site = tmp_path / "mine"
    site.mkdir()
    (site / "sources.yaml").write_text(
        "site:\n  title: Mine: the sequel\npeople: []\n", encoding="utf-8"
    )
    result = pln(site, "check")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "sources.yaml:2: invalid YAML at column 14: mapping values are not allowed here; "
        'put a value that holds ": " in double quotes: title: "Mine: the sequel"\n'
    )


# ── finding 12: pln import knows a Mastodon export when it sees one ───────────────────────

EMAIL = """From: Urban Planning PLN <digest@pln.example>
To: reader@example.org
Subject: What your network wrote today
Content-Type: text/plain; charset=utf-8

Priya Raman @ her blog: A shade audit of every bus stop
Tomás Herrera: Ten years without parking minimums
"""


def an_empty_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    write_site(site, {})
    return site


def test_import_refuses_an_email_named_like_a_subscription_list(tmp_path: Path) -> None:
    site = an_empty_site(tmp_path)
    mail = tmp_path / "x.opml"
    mail.write_text(EMAIL, encoding="utf-8")
    before = (site / "sources.yaml").read_bytes()
    result = pln(site, "import", str(mail))
    assert result.exit_code == 2
    assert "neither OPML nor a Mastodon export" in result.stderr
    assert str(mail) in result.stderr
    assert "not an account address" not in result.output  # no line-by-line skip report
    assert (site / "sources.yaml").read_bytes() == before


def test_import_refuses_a_list_that_only_starts_with_an_address(tmp_path: Path) -> None:
    site = an_empty_site(tmp_path)
    notes = tmp_path / "notes.csv"
    notes.write_text("ana@social.example\nmeeting notes\nbuy milk\nsee you, Ana\n")
    result = pln(site, "import", str(notes))
    assert result.exit_code == 2
    assert "only 1 of its 4 lines are account addresses such as user@host" in result.stderr


def test_import_still_takes_an_old_export_without_a_header(tmp_path: Path) -> None:
    site = an_empty_site(tmp_path)
    old_export = Path(__file__).parent / "data" / "import" / "following_accounts_old.csv"
    result = pln(site, "import", str(old_export))
    assert result.exit_code == 0, result.output
    assert "@dave@old.pln.test" in (site / "sources.yaml").read_text(encoding="utf-8")


# ── findings 8 and 15: words on the People page and in summaries ─────────────────────────


def test_the_people_page_keeps_kinds_and_failures_apart(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/a.xml", rss(http_server.base_url, items("a", 1)))
    http_server.add("/b.xml", rss(http_server.base_url, items("b", 1)))
    http_server.status("/broken.xml", 500)
    site = tmp_path / "site"
    write_site(
        site,
        {
            "Priya": [http_server.url(f"/{name}.xml") for name in "ab"]
            + [http_server.url("/broken.xml")]
        },
    )
    assert pln(site, "fetch").exit_code == 0
    built = pln(site, "build")
    assert built.exit_code == 0, built.output
    page = (site / "output" / "people" / "index.html").read_text(encoding="utf-8")
    text = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert "3 feeds · 1 source failing" in text  # the kind as `pln sources` says it


def test_a_rate_limit_says_how_long_in_words(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    http_server.status("/busy.xml", 503, headers={"Retry-After": "3600"})
    site = tmp_path / "site"
    write_site(site, {"Busy": [http_server.url("/busy.xml")]})
    result = pln(site, "fetch")
    assert "the server asked us to wait 1 hour" in result.output
    assert "1:00:00" not in result.output


def test_waits_in_words() -> None:
    assert [
        app.wait_in_words(seconds)
        for seconds in (1, 59, 60, 90 * 60, 3600, 2 * 3600 + 60, 47 * 3600, 49 * 3600, 7 * 86400)
    ] == [
        "1 second",
        "59 seconds",
        "1 minute",
        "1 hour 30 minutes",
        "1 hour",
        "2 hours 1 minute",
        "47 hours",
        "2 days 1 hour",
        "7 days",
    ]


def test_a_build_counts_one_file_in_the_singular(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_site(site, {})
    assert pln(site, "build").exit_code == 0
    (site / "output" / "style.css").write_text("changed by hand")
    again = pln(site, "build")
    assert "; 1 file changed," in again.output, again.output


def test_a_server_without_login_says_what_to_check_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    live_site = tmp_path / "site"
    fill_store_now(configure(live_site, 9), datetime.now(UTC))
    with SmtpServer(security="none") as server:  # offers no AUTH
        set_port(live_site, server.port, security="none", **login())
        result = pln(live_site, "email")
    assert result.exit_code == 1
    assert (
        "SMTP AUTH extension not supported by server (check email.smtp.security and port)"
        in result.output
    )
    assert server.received == []


# ── finding 19: Ctrl-C ───────────────────────────────────────────────────────────────────


def test_ctrl_c_during_a_fetch_exits_130_without_click_s_aborted(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/slow.xml", rss(http_server.base_url, items("slow", 1)), delay=30)
    site = tmp_path / "site"
    write_site(site, {"Slow": [http_server.url("/slow.xml")]}, fetch={"timeout": 60})
    command = [sys.executable, "-m", "aggregator", "--site", str(site), "fetch"]
    # A shell's background job inherits SIGINT ignored (CI may start the suite that way),
    # and Python then leaves it ignored: the child gets Ctrl-C's default disposition back.
    restore_sigint = functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL)
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, preexec_fn=restore_sigint
    ) as running:
        for _ in range(600):  # until the request is in flight, at most about a minute
            if http_server.requests_for("/slow.xml") or running.poll() is not None:
                break
            threading.Event().wait(0.1)
        running.send_signal(signal.SIGINT)
        _, stderr = running.communicate(timeout=60)
    assert running.returncode == 130, stderr
    assert "Interrupted." in stderr
    assert "Aborted!" not in stderr
    assert "Traceback" not in stderr


def test_yaml_hints_for_the_common_slips() -> None:
    at = "found character '@' that cannot start any token"
    text = "people:\n  - name: A\n    sources:\n      - mastodon: @a@b.example\n"
    assert config_hints.yaml_hint(at, text, 4) == (
        'put a value that starts with @ in double quotes: - mastodon: "@a@b.example"'
    )
    colon = "mapping values are not allowed here"
    assert config_hints.yaml_hint(colon, 'site:\n  title: Say "hi": now\n', 2) == (
        'put a value that holds ": " in double quotes: title: "Say \\"hi\\": now"'
    )
    indentation = "expected <block end>, but found '<block mapping start>'"
    assert config_hints.yaml_hint(indentation, "site:\n  title: T\n   x: 1\n", 3) == (
        "this line is indented by 3 spaces and the line above by 2 spaces: "
        "the keys of one section must line up exactly"
    )
    assert config_hints.yaml_hint("found unexpected end of stream", "a: 'b\n", 1) is None
    assert config_hints.yaml_hint(colon, "a: b: c\n", None) is None


def test_a_utf8_byte_order_mark_or_no_declaration_counts_as_utf8() -> None:
    sample = (FEEDS / "utf8-one-bad-byte.xml").read_bytes()
    undeclared = sample.replace(b' encoding="utf-8"', b"")
    for body in (b"\xef\xbb\xbf" + sample, undeclared):
        for content_type in ("application/rss+xml", "text/xml", None):
            parsed = read(body, "https://notizen.example.ch/feed.xml", content_type)
            assert isinstance(parsed, ParsedFeed)
            assert parsed.posts[0].title == "Café in Zürich, naïve résumé — “quotes”"
            assert parsed.problems == ("replaced 1 invalid UTF-8 sequence with U+FFFD",)


def test_a_feed_that_declares_another_charset_is_read_in_it() -> None:
    body = (
        '<?xml version="1.0" encoding="iso-8859-15"?><rss version="2.0"><channel><title>T'
        "</title><item><title>Prix: 5 € pour un très bon café</title><link>https://x.example/1</link>"
        "</item></channel></rss>"
    ).encode("iso-8859-15")
    parsed = read(body, "https://x.example/feed.xml", "application/rss+xml")
    assert isinstance(parsed, ParsedFeed)
    assert parsed.posts[0].title == "Prix: 5 € pour un très bon café"
    assert parsed.problems == ()
