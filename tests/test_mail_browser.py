"""The emailed digest's HTML part in a real headless Chromium, at a phone's width.

The Chromium is conftest.py's ``browser`` fixture (Debian's ``chromium``, never a downloaded
browser; the tests skip, saying why, when it is missing, or fail where it is required; every
request that leaves 127.0.0.1 is blocked and dialogs are trapped). The email is the one ``pln email
--out`` writes, read back from the .eml file, so what is checked is what a mail program gets.
Screenshots land in the test's tmp folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from aggregator import app
from aggregator.models import Config, MastodonCursor, MastodonRead, ParsedPost
from aggregator.store import Store
from tests import site_fixture
from tests.mastodon_server import FakeInstance
from tests.server import LocalHTTPServer
from tests.sites import write_site
from tests.test_browser import (  # the shared page helpers
    CORPORA,
    WIDTHS,
    _hostile_rss,
    _payloads,
    open_page,
)

LATER = site_fixture.NOW + timedelta(hours=1)
LONG_WORD = "https://example.org/" + "unbroken" * 40
# What the page must not have: script, handlers, and links that are not absolute web links.
AUDIT = """() => {
  const all = [...document.querySelectorAll('*')];
  return {
    scripts: document.querySelectorAll('script').length,
    handlers: all.flatMap(el => [...el.attributes].map(a => a.name))
      .filter(name => name.startsWith('on')),
    links: [...document.querySelectorAll('[href]')].map(el => el.getAttribute('href')),
    sources: [...document.querySelectorAll('[src]')].map(el => el.getAttribute('src')),
    overflow: document.documentElement.scrollWidth - innerWidth,
    background: getComputedStyle(document.querySelector('.container')).backgroundColor,
  };
}"""


def _hostile_posts() -> list[ParsedPost]:
    """What a feed could slip past a careless email: the parser would clean it, and the
    digest cleans a toot's HTML again on the way out; these skip the parser on purpose."""
    return [
        ParsedPost(
            guid="https://social.example/users/erin/statuses/999",
            link="https://social.example/@erin/999",
            title="hostile",
            published=site_fixture.at(23, 6, 50),
            content_html=(
                '<p>Look: <a href="javascript:alert(1)">this</a> and '
                '<img src="https://img.example/wide.png" width="2400" height="40" '
                f'onerror="alert(2)"> {LONG_WORD}</p><script>alert(3)</script>'
                '<a href="/relative/path">relative</a>'
            ),
            text=f"Look: this and {LONG_WORD}",
            has_full_content=True,
        )
    ]


def email_html(config: Config, out: Path) -> str:
    result = app.email(config, out=out, clock=lambda: LATER)
    assert result.out == out
    message = message_from_bytes(out.read_bytes(), policy=policy.default)
    html = message.get_body(("html",))
    assert html is not None
    return str(html.get_content())


@pytest.fixture(scope="module")
def digest_html(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The HTML part of the fixture network's digest, with a hostile toot among the posts."""
    site_dir = tmp_path_factory.mktemp("mail-browser") / "site"
    site_fixture.write_config(site_dir)
    path = site_dir / "sources.yaml"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["email"] = {
        "to": ["Zoë Ó Súilleabháin <zoe@example.org>"],
        "from": "pln@example.org",
        "smtp": {"host": "127.0.0.1", "port": 9, "security": "none"},
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    with Store.open(config.database_path) as store:
        erin = next(s for s in store.source_states() if s.url.endswith("/@erin"))
        read = MastodonRead(
            account=None, posts=tuple(_hostile_posts()), cursor=MastodonCursor(via="api")
        )
        store.record_mastodon(erin.id, read, site_fixture.NOW)
    yield email_html(config, site_dir / "digest.eml")


def audit(browser: Any, html: str, *, dark: bool, shot: Path) -> dict[str, Any]:
    context, page, log = open_page(browser, WIDTHS["phone"], dark=dark)
    try:
        page.set_content(html, wait_until="load")
        page.screenshot(path=str(shot), full_page=True)
        found: dict[str, Any] = page.evaluate(AUDIT)
        found["fired"] = page.evaluate("window.__fired")
        # images elsewhere are blocked (nothing leaves 127.0.0.1): that failure is expected
        found["console_errors"] = [
            error for error in log.console_errors if "Failed to load resource" not in error
        ]
        return found
    finally:
        context.close()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_email_fits_a_phone_without_scrolling_sideways(
    browser: Any, digest_html: str, dark: bool, tmp_path: Path
) -> None:
    shot = tmp_path / f"email-phone-{'dark' if dark else 'light'}.png"
    found = audit(browser, digest_html, dark=dark, shot=shot)
    assert found["overflow"] <= 0, f"the email scrolls sideways by {found['overflow']}px"
    assert shot.stat().st_size > 10_000
    assert found["fired"] == [] and found["console_errors"] == []
    # dark mode: the mail client's dark setting darkens the card (inline colours are light)
    light_or_dark = "rgb(27, 31, 36)" if dark else "rgb(255, 255, 255)"
    assert found["background"] == light_or_dark


def test_the_email_has_no_script_no_handler_and_only_absolute_web_links(
    browser: Any, digest_html: str, tmp_path: Path
) -> None:
    found = audit(browser, digest_html, dark=False, shot=tmp_path / "email.png")
    assert found["scripts"] == 0 and found["handlers"] == []
    assert found["links"], "the email links to nothing"
    unsafe = [url for url in found["links"] if not url.startswith(("https://", "http://"))]
    assert unsafe == []
    assert all(url.startswith("https://") for url in found["sources"]), found["sources"]
    assert "https://pln.example/digest/2026/11/23/" in found["links"]  # the day on the site


@pytest.mark.corpus
def test_hostile_feeds_make_a_harmless_email(
    browser: Any, tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    """The XSS payload lists of ../shared/corpora, fetched as a feed and a Mastodon account."""
    if not (CORPORA / "hostile-inputs").is_dir():
        pytest.skip("../shared/corpora is absent")
    payloads = _payloads()[:400]  # one day's digest; the site test takes them all
    http_server.add("/hostile.xml", _hostile_rss(http_server.base_url, payloads))
    instance = FakeInstance(http_server, now=datetime(2026, 11, 20, 12, tzinfo=UTC))
    instance.add_account("mallory", display_name="<img src=x onerror=alert(1)>")
    for text in payloads[:30]:
        instance.post("mallory", text, spoiler_text=text[:50])
    site_dir = tmp_path / "site"
    write_site(
        site_dir,
        {
            "Payload <script>alert(1)</script>": [http_server.url("/hostile.xml")],
            "Mallory": [{"mastodon": instance.profile_url("mallory")}],
        },
        topics=[{"name": "Alerts <b>", "match": "alert OR script OR img"}],
    )
    path = site_dir / "sources.yaml"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["site"]["base_url"] = "https://pln.example/"
    document["email"] = {
        "to": ["me@example.org"],
        "from": "pln@example.org",
        "smtp": {"host": "127.0.0.1", "port": 9, "security": "none"},
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    config = app.load_config(site_dir)
    # Playwright's sync API keeps an event loop in this thread: the fetch runs its own apart.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(app.fetch, config).result().new_posts > 300
    out = tmp_path / "hostile.eml"
    result = app.email(config, day=datetime(2026, 11, 20).date(), out=out)
    assert result.digest.post_count > 300
    message = message_from_bytes(out.read_bytes(), policy=policy.default)
    html = message.get_body(("html",))
    assert html is not None
    found = audit(browser, str(html.get_content()), dark=False, shot=tmp_path / "hostile.png")
    assert found["fired"] == [] and found["scripts"] == 0 and found["handlers"] == []
    unsafe = [url for url in found["links"] if not url.startswith(("https://", "http://"))]
    assert unsafe == []
    assert found["overflow"] <= 0
