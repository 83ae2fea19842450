"""The emailed digest: the message itself, and its delivery to a real SMTP server.

Every server here is aiosmtpd on 127.0.0.1 (tests/smtp_server.py): plain, STARTTLS and
TLS-from-the-first-byte, with and without a login, refusing logins or recipients, or down.
The TLS servers use tests/data/tls's self-signed certificate, which the client trusts
through SSL_CERT_FILE, as a user trusts a private certificate authority.

The tests through ``app.email`` fix the clock and use the small network of
tests/site_fixture.py (20–23 November 2026, Europe/Berlin); the tests through the ``pln``
command run on the real clock, so they store the same network moved to the present.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from aggregator import app, mail
from aggregator.cli import cli
from aggregator.errors import ConfigError, DeliveryError
from aggregator.models import (
    Config,
    EmailConfig,
    EmailStatus,
    MailDigest,
    MastodonCursor,
    MastodonRead,
    ParsedPost,
    SmtpConfig,
    SmtpSecurity,
)
from aggregator.store import Store
from tests import site_fixture
from tests.server import LocalHTTPServer, unused_port
from tests.sites import Item, rss, write_site
from tests.smtp_server import CERTIFICATE, RECIPIENT_UNKNOWN, SmtpServer

# aiosmtpd warns when it offers AUTH without STARTTLS: here that is over TLS from the first
# byte (which it does not count), or a plain test server on loopback.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

PASSWORD_ENV = "PLN_TEST_SMTP_PASSWORD"
PASSWORD = "correct horse battery staple"
ZOE = "Zoë Ó Súilleabháin <zoe@example.org>"
TEAM = "team@example.org"
SENDER = "PLN digest <pln@example.org>"
LATER = site_fixture.NOW + timedelta(hours=1)  # 09:00 in Berlin on Monday 23 November 2026


# ── set-up ───────────────────────────────────────────────────────────────────────────────


def email_section(port: int, **overrides: Any) -> dict[str, Any]:
    smtp = {"host": "127.0.0.1", "port": port, "security": "none"}
    smtp.update(overrides.pop("smtp", {}))
    return {"to": [ZOE, TEAM], "from": SENDER, "smtp": smtp, **overrides}


def configure(
    site_dir: Path, port: int, *, site: dict[str, Any] | None = None, **email: Any
) -> Config:
    """(Re)write the fixture's sources.yaml with an email: section for ``port``."""
    site_fixture.write_config(site_dir, **(site or {}))
    path = site_dir / "sources.yaml"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["email"] = email_section(port, **email)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return app.load_config(site_dir)


@pytest.fixture
def network(tmp_path: Path) -> Config:
    """The fixture network, stored as if fetched at site_fixture.NOW; email to port 9."""
    config = configure(tmp_path / "site", 9)
    site_fixture.fill_store(config.database_path, config)
    return config


def fill_store_now(config: Config, now: datetime) -> None:
    """The fixture network moved to ``now``: same posts, same hours apart, fetched now."""
    shift = now - site_fixture.NOW

    def moved(posts: list[ParsedPost]) -> list[ParsedPost]:
        return [
            replace(post, published=post.published and post.published + shift) for post in posts
        ]

    with Store.open(config.database_path) as store:
        states = {state.url: state for state in store.sync_config(config, now)}
        store.record_success(
            states["https://alice.example/feed.xml"].id, moved(site_fixture.ALICE_BLOG), now
        )
        store.record_success(
            states["https://carol.example/atom.xml"].id, moved(site_fixture.CAROL_POSTS), now
        )
        toots = {
            "alice": site_fixture.ALICE_TOOTS,
            "bob": site_fixture.BOB_TOOTS,
            "dana": site_fixture.DANA_TOOTS,
            "erin": site_fixture.ERIN_TOOTS,
        }
        for user, posts in toots.items():
            read = MastodonRead(
                account=site_fixture._account(user, noindex=user == "dana"),
                posts=tuple(moved(posts)),
                cursor=MastodonCursor(account_id=user, via="api"),
            )
            store.record_mastodon(states[f"{site_fixture.MASTODON}/@{user}"].id, read, now)
        site_fixture._tag(store)


@pytest.fixture
def live_site(tmp_path: Path) -> Path:
    """A site directory whose posts were fetched just now (for the `pln` command)."""
    site_dir = tmp_path / "site"
    config = configure(site_dir, 9)
    fill_store_now(config, datetime.now(UTC))
    return site_dir


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return PASSWORD


@pytest.fixture
def trusted_certificate(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Trust the test servers' self-signed certificate, as a private authority is trusted."""
    monkeypatch.setenv("SSL_CERT_FILE", str(CERTIFICATE))
    return CERTIFICATE


def login(username: str = "zoe@example.org") -> dict[str, Any]:
    return {"username": username, "password_env": PASSWORD_ENV}


def pln(site_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site_dir), *args], catch_exceptions=False)


def set_port(site_dir: Path, port: int, **smtp: Any) -> None:
    path = site_dir / "sources.yaml"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["email"]["smtp"].update({"port": port, **smtp})
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def sent_days(config: Config) -> list[tuple[str, str]]:
    with Store.open(config.database_path) as store:
        rows = store.db.execute("SELECT day, recipients FROM email_sent ORDER BY id").fetchall()
    return [(row[0], row[1]) for row in rows]


def written(config: Config, tmp_path: Path, **options: Any) -> EmailMessage:
    """The digest as ``--out`` writes it, read back as a mail program reads an .eml file."""
    out = tmp_path / "digest.eml"
    result = app.email(config, out=out, clock=lambda: LATER, **options)
    assert result.status is EmailStatus.WRITTEN, result
    parsed = message_from_bytes(out.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls.extend(value or "" for name, value in attrs if name in ("href", "src"))


def links_and_tags(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


# ── pure parts ───────────────────────────────────────────────────────────────────────────


def test_text_is_wrapped_at_72_with_hanging_items_and_urls_whole() -> None:
    url = "https://example.org/" + "a-very-long-path/" * 6
    text = (
        "* " + "word " * 30 + "\n"
        "  indented " + "text " * 20 + "\n"
        "12. numbered " + "item " * 20 + "\n"
        f"  {url}\n\n\n\n-- \nsignature\n"
    )
    lines = mail.wrap_text(text).splitlines()
    assert all(len(line) <= 72 for line in lines if line.strip() != url)
    assert lines[0].startswith("* word") and lines[1].startswith("  word")  # hangs under the text
    assert any(line.startswith("  indented") for line in lines)
    numbered = next(i for i, line in enumerate(lines) if line.startswith("12. "))
    assert lines[numbered + 1].startswith("    item")
    assert f"  {url}" in lines  # never broken
    assert "\n\n\n" not in mail.wrap_text(text)  # runs of blank lines become one
    assert "-- " in lines  # the signature separator keeps its space


def test_the_subject_fills_title_date_and_count() -> None:
    email = EmailConfig(to=(TEAM,), sender=SENDER, smtp=SmtpConfig("localhost"))
    digest = MailDigest(day=date(2026, 11, 23), digests=())
    subject = mail.subject_for(email, "Grünes Netz", digest, None)
    assert subject == "Grünes Netz: 23 November 2026"
    custom = replace(email, subject="{count} posts · {title} · {date:%Y-%m-%d}")
    assert mail.subject_for(custom, "PLN", digest, None) == "0 posts · PLN · 2026-11-23"
    unknown = replace(email, subject="{title} {weekday}")
    with pytest.raises(ConfigError) as refused:
        mail.subject_for(unknown, "PLN", digest, Path("sources.yaml"))
    assert "email.subject" in str(refused.value) and "{title}, {date}, {count}" in str(
        refused.value
    )


def test_days_label_spans_days_months_and_years() -> None:
    assert mail.days_label([date(2026, 11, 23)]) == "23 November 2026"
    assert mail.days_label([date(2026, 11, 23), date(2026, 11, 20)]) == "20–23 November 2026"
    assert (
        mail.days_label([date(2026, 11, 29), date(2026, 12, 2)]) == "29 November – 2 December 2026"
    )
    assert (
        mail.days_label([date(2026, 12, 31), date(2027, 1, 1)])
        == "31 December 2026 – 1 January 2027"
    )


def test_a_login_needs_the_password_variable_and_the_error_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    smtp = SmtpConfig("smtp.example.org", username="zoe", password_env=PASSWORD_ENV)
    with pytest.raises(ConfigError, match=f"environment variable {PASSWORD_ENV} is not set"):
        mail.smtp_password(smtp, {})
    assert mail.smtp_password(smtp, {PASSWORD_ENV: "pw"}) == "pw"
    assert mail.smtp_password(replace(smtp, username=None), {}) is None  # no login, no password
    with pytest.raises(ConfigError, match="no password_env"):
        mail.smtp_password(replace(smtp, password_env=None), {})


# ── the message ──────────────────────────────────────────────────────────────────────────


def test_the_message_has_both_parts_and_every_header(tmp_path: Path) -> None:
    config = configure(tmp_path / "site", 9, site={"title": "Grünes Netz — Zoë's PLN"})
    site_fixture.fill_store(config.database_path, config)
    out = tmp_path / "digest.eml"
    app.email(config, out=out, clock=lambda: LATER)
    raw = out.read_bytes()
    head = raw.split(b"\n\n", 1)[0]
    head.decode("ascii")  # every header encoded: no raw UTF-8 outside the parts
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in message.iter_parts())
    assert message["Subject"] == "Grünes Netz — Zoë's PLN: 23 November 2026"
    assert message["From"] == SENDER
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        ("Zoë Ó Súilleabháin", "zoe@example.org"),
        ("", TEAM),
    ]
    assert message["Date"] == "Mon, 23 Nov 2026 09:00:00 +0100"  # the clock, in site.timezone
    assert re.fullmatch(r"<[^@<>\s]+@example\.org>", message["Message-ID"])
    assert message["List-Id"].endswith("<grunes-netz-zoe-s-pln.pln.example>")
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_text_part_reads_on_its_own(network: Config, tmp_path: Path) -> None:
    text, _ = parts(written(network, tmp_path))
    assert text.startswith("Open Learning PLN: 20–23 November 2026\n")
    for expected in (
        "11 posts from 5 people over 4 days.",
        "MONDAY, 23 NOVEMBER 2026",
        "MOST SHARED IN YOUR NETWORK",
        "1. The drought report: what the rivers told us",
        "   https://alice.example/2026/drought-report/",
        "WATER RESOURCES (1)",
        "* Reuse, repair, and the water behind our things",
        "  Carol Jones · carol.example · 10:00",  # Berlin time
        "  Content warning: flood pictures (open the post to read it)",
        "https://pln.example/digest/2026/11/21/",  # the day's page on the site
    ):
        assert expected in text, expected
    assert "The flood pictures from the valley" not in text  # hidden behind its warning
    too_long = [line for line in text.splitlines() if len(line) > 72 and " " in line.strip()]
    assert too_long == []


def test_the_html_part_is_made_for_mail_clients(network: Config, tmp_path: Path) -> None:
    _, html = parts(written(network, tmp_path))
    found = links_and_tags(html)
    assert "script" not in found.tags and "link" not in found.tags and "iframe" not in found.tags
    assert "@font-face" not in html and "@import" not in html and "javascript:" not in html
    assert all(re.match(r"https?://|mailto:", url) for url in found.urls), found.urls
    assert "https://pln.example/digest/2026/11/22/" in found.urls  # a day's page
    assert "https://pln.example/digest/topics/water/" in found.urls
    assert "https://alice.example/2026/drought-report/" in found.urls
    # CSS inlined; only what cannot be (phones, dark mode) stays in <style>
    container = re.search(r'<table class="container"[^>]*>', html)
    assert container and 'width="600"' in container[0] and "max-width:600px" in container[0]
    assert re.search(r'<h4 class="entry-title"[^>]*style="[^"]*font-family', html)
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style and "@media" in style.group(1) and "prefers-color-scheme: dark" in style.group(1)
    assert ".entry { padding" not in style.group(1)  # the base rules went into style="""
    assert 'role="presentation"' in html  # layout tables say they are no data tables


def test_without_a_base_url_the_email_links_only_to_the_posts(tmp_path: Path) -> None:
    config = configure(tmp_path / "site", 9, site={"base_url": None})
    site_fixture.fill_store(config.database_path, config)
    text, html = parts(written(config, tmp_path))
    urls = links_and_tags(html).urls
    assert urls and all(url.startswith("https://") and "pln.example" not in url for url in urls)
    assert "on the site" not in html and "pln.example" not in text


def test_people_who_asked_not_to_be_indexed_are_in_the_private_email(
    network: Config, tmp_path: Path
) -> None:
    # The public site leaves Dana out; the email is for its reader alone, like local search.
    text, html = parts(written(network, tmp_path))
    assert "Dana Private" in text and "Dana Private" in html


def test_a_site_template_overrides_the_built_in_email(network: Config, tmp_path: Path) -> None:
    own = network.site_dir / "templates" / "email"
    own.mkdir(parents=True)
    (own / "digest.txt").write_text(
        "{% autoescape false %}Only {{ mail.post_count }} posts & no more.{% endautoescape %}\n"
    )
    text, html = parts(written(network, tmp_path))
    assert text == "Only 11 posts & no more.\n"
    assert "Most shared in your network" in html  # the HTML is still the built-in one


# ── which posts, which day ───────────────────────────────────────────────────────────────


def store_at(config: Config, seen: datetime, *posts: tuple[str, datetime]) -> None:
    """Posts of Carol's feed (guid, published), first seen at ``seen``."""
    items = [
        ParsedPost(
            guid=guid,
            link=f"https://carol.example/{guid}",
            title=f"Post {guid}",
            published=published,
            summary_html=f"<p>About {guid}.</p>",
            text=f"About {guid}.",
        )
        for guid, published in posts
    ]
    with Store.open(config.database_path) as store:
        states = {state.url: state for state in store.sync_config(config, seen)}
        store.record_success(states["https://carol.example/atom.xml"].id, items, seen)


def berlin(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour - 1, tzinfo=UTC)  # CET is UTC+1 in November


def titles(result: app.EmailResult) -> list[str]:
    return [entry.title for digest in result.digest.digests for entry in digest.entries]


def test_a_missed_day_is_not_lost_and_a_week_is_the_limit(tmp_path: Path, password: str) -> None:
    with SmtpServer() as server:
        config = configure(tmp_path / "site", server.port)
        store_at(config, berlin(10, 7), ("a", berlin(9, 20)))
        first = app.email(config, clock=lambda: berlin(10, 8))
        assert titles(first) == ["Post a"] and first.recorded
        store_at(config, berlin(10, 13), ("b", berlin(10, 12)))  # after the digest of the 10th
        store_at(config, berlin(11, 11), ("c", berlin(11, 10)), ("old", berlin(2, 10)))
        # nothing sent on the 11th (the machine was off); the 12th catches up
        third = app.email(config, clock=lambda: berlin(12, 8))
        assert titles(third) == ["Post c", "Post b"]  # newest day first; "old" is 10 days old
        assert third.digest.since == berlin(10, 8)
        assert [d.day for d in third.digest.digests] == [date(2026, 11, 11), date(2026, 11, 10)]
        again = app.email(config, clock=lambda: berlin(12, 9))
        assert again.status is EmailStatus.ALREADY_SENT
        store_at(config, berlin(12, 10), ("d", berlin(12, 9)))
        forced = app.email(config, force=True, clock=lambda: berlin(12, 11))
        assert titles(forced) == ["Post d", "Post c", "Post b"]  # the day's window, resent
        assert len(server.received) == 3
    assert [day for day, _ in sent_days(config)] == ["2026-11-10", "2026-11-12", "2026-11-12"]


def test_date_sends_one_day_and_leaves_the_daily_window(tmp_path: Path, password: str) -> None:
    with SmtpServer() as server:
        config = configure(tmp_path / "site", server.port)
        store_at(
            config, berlin(12, 7), ("x", berlin(10, 9)), ("y", berlin(11, 9)), ("z", berlin(12, 6))
        )
        one = app.email(config, day=date(2026, 11, 11), clock=lambda: berlin(12, 8))
        assert titles(one) == ["Post y"] and one.digest.day == date(2026, 11, 11)
        assert "11 November 2026" in str(server.received[0].message["Subject"])
        daily = app.email(config, clock=lambda: berlin(12, 8))
        assert titles(daily) == ["Post z", "Post y", "Post x"]  # --date did not move the window
        twice = app.email(config, day=date(2026, 11, 11), clock=lambda: berlin(12, 9))
        assert twice.status is EmailStatus.ALREADY_SENT
        assert len(server.received) == 2


def test_an_empty_digest_sends_nothing_unless_send_empty(tmp_path: Path, password: str) -> None:
    with SmtpServer() as server:
        config = configure(tmp_path / "site", server.port)
        quiet = app.email(config, clock=lambda: berlin(12, 8))
        assert quiet.status is EmailStatus.EMPTY and server.received == []
        assert sent_days(config) == []  # nothing recorded: tomorrow's digest starts as far back
        eager = configure(tmp_path / "site", server.port, send_empty=True)
        sent = app.email(eager, clock=lambda: berlin(12, 8))
        assert sent.status is EmailStatus.SENT and len(server.received) == 1
        text, _ = parts(server.received[0].message)
        assert "0 posts from 0 people." in text and "Nobody in your network posted" in text


def test_to_sends_a_test_that_records_nothing(network: Config, password: str) -> None:
    with SmtpServer() as server:
        config = configure(network.site_dir, server.port)
        test = app.email(config, to=["Me Testing <me@example.net>"], clock=lambda: LATER)
        assert test.status is EmailStatus.SENT and not test.recorded
        assert server.received[0].rcpt_tos == ("me@example.net",)
        real = app.email(config, clock=lambda: LATER)
        assert real.recorded and server.received[1].rcpt_tos == ("zoe@example.org", TEAM)
        with pytest.raises(ConfigError, match="not an email address"):
            app.email(config, to=["not-an-address"], clock=lambda: LATER)


# ── delivery, through `pln email` ────────────────────────────────────────────────────────


def test_pln_email_delivers_once_then_says_so_and_force_sends_again(live_site: Path) -> None:
    with SmtpServer() as server:
        set_port(live_site, server.port)
        first = pln(live_site, "email")
        assert first.exit_code == 0, first.output
        assert re.search(
            r'Sent "Open Learning PLN: .+" \(11 posts from 5 people\) to Zoë', first.stdout
        )
        assert len(server.received) == 1
        received = server.received[0]
        assert received.mail_from == "pln@example.org"
        assert received.rcpt_tos == ("zoe@example.org", TEAM)  # one message, both recipients
        message = received.message
        text, html = parts(message)
        assert "The drought report: what the rivers told us" in text and "<html" in html
        assert message["To"].addresses[0].display_name == "Zoë Ó Súilleabháin"
        for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Id"):
            assert message[header], header

        second = pln(live_site, "email")
        assert second.exit_code == 0, second.output
        assert "was already sent" in second.stdout and "nothing sent" in second.stdout
        assert len(server.received) == 1

        forced = pln(live_site, "email", "--force")
        assert forced.exit_code == 0, forced.output
        assert len(server.received) == 2
        assert server.received[1].message["Message-ID"] != message["Message-ID"]


def test_starttls_with_a_login(live_site: Path, password: str, trusted_certificate: Path) -> None:
    with SmtpServer(security="starttls", users={"zoe@example.org": PASSWORD}) as server:
        set_port(live_site, server.port, security="starttls", **login())
        result = pln(live_site, "email")
        assert result.exit_code == 0, result.output
        (received,) = server.received
        assert received.tls and received.login == "zoe@example.org"


def test_ssl_from_the_first_byte(live_site: Path, password: str, trusted_certificate: Path) -> None:
    with SmtpServer(security="ssl", users={"zoe@example.org": PASSWORD}) as server:
        set_port(live_site, server.port, security="ssl", **login())
        result = pln(live_site, "email")
        assert result.exit_code == 0, result.output
        (received,) = server.received
        assert received.tls and received.login == "zoe@example.org"


def test_an_untrusted_certificate_is_refused_and_nothing_recorded(
    live_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with SmtpServer(security="starttls") as server:
        set_port(live_site, server.port, security="starttls")
        result = pln(live_site, "email")
        assert result.exit_code == 1
        assert "is not trusted: self-signed certificate" in result.stderr
        assert "SSL_CERT_FILE" in result.stderr
        assert server.received == []
    assert sent_days(app.load_config(live_site)) == []


def test_a_refused_login_exits_1_in_the_servers_words_and_a_later_run_sends(
    live_site: Path, monkeypatch: pytest.MonkeyPatch, trusted_certificate: Path
) -> None:
    with SmtpServer(security="starttls", users={"zoe@example.org": PASSWORD}) as server:
        set_port(live_site, server.port, security="starttls", **login())
        monkeypatch.setenv(PASSWORD_ENV, "a wrong password")
        refused = pln(live_site, "email")
        assert refused.exit_code == 1
        assert "refused the login of zoe@example.org: 535 5.7.8" in refused.stderr
        assert "Nothing was recorded as sent" in refused.stderr
        assert server.received == []
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
        later = pln(live_site, "email")
        assert later.exit_code == 0, later.output
        assert len(server.received) == 1


def test_a_server_that_is_down_exits_1_and_a_later_run_sends(live_site: Path) -> None:
    port = unused_port()
    set_port(live_site, port)
    down = pln(live_site, "email")
    assert down.exit_code == 1
    assert f"cannot connect to 127.0.0.1:{port}: Connection refused" in down.stderr
    assert sent_days(app.load_config(live_site)) == []
    with SmtpServer(port=port) as server:
        later = pln(live_site, "email")
        assert later.exit_code == 0, later.output
        assert len(server.received) == 1


def test_refused_recipients(live_site: Path) -> None:
    with SmtpServer(refuse=frozenset({"zoe@example.org", TEAM})) as nobody:
        set_port(live_site, nobody.port)
        result = pln(live_site, "email")
        assert result.exit_code == 1
        assert f"refused every recipient: zoe@example.org: {RECIPIENT_UNKNOWN}" in result.stderr
    assert sent_days(app.load_config(live_site)) == []
    with SmtpServer(refuse=frozenset({TEAM})) as some:
        set_port(live_site, some.port)
        partly = pln(live_site, "email")
        assert partly.exit_code == 1  # someone did not get it: a person must look
        assert f"refused some recipients ({TEAM}: 550" in partly.stderr
        assert some.received[0].rcpt_tos == ("zoe@example.org",)
    # Zoë has it: recorded, so she does not get it twice
    assert sent_days(app.load_config(live_site))[0][1] == '["zoe@example.org"]'


def test_a_missing_password_variable_is_bad_configuration(
    live_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    set_port(live_site, 9, **login())
    result = pln(live_site, "email")
    assert result.exit_code == 2
    assert f"the environment variable {PASSWORD_ENV} is not set" in result.stderr
    assert "email.smtp.password_env" in result.stderr
    assert pln(live_site, "email", "--dry-run").exit_code == 0  # sends nothing: no password


def test_no_email_section_is_bad_configuration_for_a_send(tmp_path: Path) -> None:
    # (engineer F) only a send needs the section: a preview is tested in test_output_safety
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    result = pln(site_dir, "email")
    assert result.exit_code == 2 and "there is no email: section" in result.stderr


def test_a_preview_needs_no_email_section(tmp_path: Path) -> None:
    """(engineer F, review finding 14) --dry-run and --out build the digest with placeholder
    addresses, say what sending needs, and record nothing."""
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)

    dry = pln(site_dir, "email", "--date", "2026-11-22", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would send" in dry.stdout and "to you@example.invalid." in dry.stdout
    assert "To send it, add an email: section (to, from and smtp)" in dry.stdout

    eml = tmp_path / "preview.eml"
    out = pln(site_dir, "email", "--date", "2026-11-22", "--out", str(eml))
    assert out.exit_code == 0, out.output
    assert "nothing sent. To send it, add an email: section" in out.stdout
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "you@example.invalid"
    assert message["From"] == "pln@example.invalid"
    text, _ = parts(message)
    assert message["Subject"] == "Open Learning PLN: 22 November 2026"
    assert "4 posts from 2 people" in text and "https://news.example/soil-and-water" in text
    assert sent_days(config) == []


def test_dry_run_and_out_send_nothing(live_site: Path, tmp_path: Path) -> None:
    with SmtpServer() as server:
        set_port(live_site, server.port)
        dry = pln(live_site, "email", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "Dry run: would send" in dry.stdout and "MOST SHARED IN YOUR NETWORK" in dry.stdout
        out = tmp_path / "today.eml"
        written_out = pln(live_site, "email", "--out", str(out))
        assert written_out.exit_code == 0 and f"to {out}: nothing sent" in written_out.stdout
        message = message_from_bytes(out.read_bytes(), policy=policy.default)
        assert message.get_content_type() == "multipart/alternative"
        assert server.received == []
        # and the day was not spent: a real run still sends
        assert pln(live_site, "email").exit_code == 0 and len(server.received) == 1


def test_date_option_checks_its_format(live_site: Path) -> None:
    result = pln(live_site, "email", "--date", "23.11.2026", "--dry-run")
    assert result.exit_code == 2
    assert "'23.11.2026' is not a day written YYYY-MM-DD" in result.stderr


# ── pln run --email ──────────────────────────────────────────────────────────────────────


def test_run_with_email_fetches_builds_then_sends(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    now = datetime.now(UTC)
    entries = [
        Item(
            f"w{n}", f"Watershed notes {n}", f"<p>Notes {n} on water.</p>", now - timedelta(hours=n)
        )
        for n in range(3)
    ]
    http_server.add("/feed.xml", rss(http_server.base_url, entries))
    site_dir = tmp_path / "site"
    write_site(site_dir, {"Wanda Water": [http_server.url("/feed.xml")]})
    with SmtpServer() as server:
        path = site_dir / "sources.yaml"
        document = json.loads(path.read_text(encoding="utf-8"))
        document["email"] = email_section(server.port, to=[TEAM])
        path.write_text(json.dumps(document), encoding="utf-8")
        result = pln(site_dir, "run", "--email")
        assert result.exit_code == 0, result.output
        assert "Built" in result.stdout and 'Sent "Test PLN: ' in result.stdout
        (received,) = server.received
        text, _ = parts(received.message)
        assert "Watershed notes 0" in text and "Wanda Water" in text
        again = pln(site_dir, "run", "--email")
        assert again.exit_code == 0 and "already sent" in again.stdout
        assert len(server.received) == 1


def test_run_with_email_checks_the_password_before_fetching(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    http_server.add("/feed.xml", rss(http_server.base_url, []))
    site_dir = tmp_path / "site"
    write_site(site_dir, {"Wanda Water": [http_server.url("/feed.xml")]})
    path = site_dir / "sources.yaml"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["email"] = email_section(9, smtp=login())
    path.write_text(json.dumps(document), encoding="utf-8")
    result = pln(site_dir, "run", "--email")
    assert result.exit_code == 2 and PASSWORD_ENV in result.stderr
    assert http_server.requests == []  # refused before a single request


# ── a server that never answers ──────────────────────────────────────────────────────────


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield int(listener.getsockname()[1])


def test_a_silent_server_is_given_up_on_after_the_timeout(silent_port: int) -> None:
    message = EmailMessage()
    message["From"], message["To"] = SENDER, TEAM
    message.set_content("hello")
    smtp = SmtpConfig("127.0.0.1", silent_port, SmtpSecurity.NONE)
    with pytest.raises(DeliveryError, match=f"no answer from 127.0.0.1:{silent_port} within 0.3 s"):
        mail.send(message, smtp, password=None, timeout=0.3)


def test_a_broken_email_template_fails_with_its_line_and_sends_nothing(
    live_site: Path,
) -> None:
    own = live_site / "templates" / "email"
    own.mkdir(parents=True)
    (own / "digest.html").write_text("<p>fine</p>\n<p>{{ mail.nothing_here }}</p>\n")
    with SmtpServer() as server:
        set_port(live_site, server.port)
        result = pln(live_site, "email")
        assert result.exit_code == 1
        assert "email/digest.html:2" in result.stderr and "nothing_here" in result.stderr
        assert server.received == []
    assert sent_days(app.load_config(live_site)) == []
