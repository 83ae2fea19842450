"""The static site end to end: a fixed database and clock, built as `pln build` builds it."""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

import feedparser
import pytest
from click.testing import CliRunner, Result

from aggregator import app, site
from aggregator.cli import cli
from aggregator.models import Config
from tests import site_fixture
from tests.server import LocalHTTPServer
from tests.sites import items, rss, write_site

GOLDEN = Path(__file__).parent / "data" / "golden"
# Pagefind's index is binary and belongs to the pagefind version: checked apart, not diffed.
NOT_GOLDEN = ("search/pagefind/",)
# (engineer F) the list of a build's files names Pagefind's too: checked in test_output_safety
NOT_GOLDEN += (site.MANIFEST_NAME,)
TRENDS = ["drought", "rivers", "textbooks"]
ATOM = "{http://www.w3.org/2005/Atom}"


def pln(site_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site_dir), *args], catch_exceptions=False)


def fixed_trends(config: Config, days: int, **_: object) -> list[str]:
    return TRENDS


@pytest.fixture
def network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """The fixed network of tests/site_fixture.py, stored; trends fixed too."""
    monkeypatch.setattr(app, "trends", fixed_trends, raising=False)
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    return config


def build(config: Config) -> site.BuildReport:
    return app.build(config, clock=lambda: site_fixture.NOW)


def output_files(root: Path) -> dict[str, Path]:
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.relative_to(root).as_posix().startswith(NOT_GOLDEN)
    }


def all_text(root: Path) -> Iterator[tuple[str, str]]:
    for relative, path in output_files(root).items():
        if path.suffix in (".html", ".xml", ".css", ".js"):
            yield relative, path.read_text(encoding="utf-8")


# ── the golden site ──────────────────────────────────────────────────────────────────────


def test_the_site_matches_the_golden_tree(network: Config) -> None:
    """UPDATE_GOLDEN=1 rewrites tests/data/golden; review the diff before committing it."""
    build(network)
    built = output_files(network.output_path)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for relative, path in built.items():
            target = GOLDEN / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    expected = output_files(GOLDEN)
    assert sorted(built) == sorted(expected), "pages added or missing: UPDATE_GOLDEN=1?"
    different = [
        relative
        for relative in built
        if not filecmp.cmp(built[relative], expected[relative], shallow=False)
    ]
    assert different == [], f"pages differ from tests/data/golden: {different}"


def test_every_page_of_the_spec_is_written(network: Config) -> None:
    report = build(network)
    out = network.output_path
    for page in (
        "index.html",
        "2026/11/20/index.html",
        "2026/11/23/index.html",
        "topics/index.html",
        "topics/water/index.html",
        "topics/water/feed.xml",
        "people/index.html",
        "people/alice-example/index.html",
        "archive/index.html",
        "feed.xml",
        "search/index.html",
        "search/pagefind/pagefind.js",
        "style.css",
    ):
        assert (out / page).is_file(), page
    assert report.days == 4
    assert report.posts == 10  # Dana's toot is not one of them
    assert report.search_indexed


def test_pages_hold_the_digest(network: Config) -> None:
    build(network)
    out = network.output_path
    day = (out / "2026/11/21/index.html").read_text()
    assert "Most shared in your network" in day
    assert "The drought report: what the rivers told us" in day
    assert re.search(r"Also shared by.*Alice Example.*Bob Builder", day, re.S)
    # the report is one entry, not three
    assert day.count('class="entry-title"') == 1
    home = (out / "index.html").read_text()
    assert "Trending in your network" in home and "search/?q=drought" in home
    assert "Monday, 23 November 2026" in home and "Saturday, 21 November 2026" in home
    assert "Friday, 20 November 2026" not in home  # home_days: 3
    warning = (out / "2026/11/22/index.html").read_text()
    assert re.search(r"<details[^>]*>\s*<summary>Content warning: flood pictures", warning)
    assert 'lang="en"' in home and 'class="skip-link"' in home
    assert 'rel="alternate" type="application/atom+xml"' in home


def test_people_who_asked_not_to_be_indexed_appear_nowhere(network: Config) -> None:
    build(network)
    for relative, text in all_text(network.output_path):
        assert "Dana" not in text, relative
        assert "DANA-SECRET" not in text, relative
        assert "social.example/@dana" not in text, relative
    assert not (network.output_path / "people/dana-private").exists()


def test_no_script_or_handler_reaches_a_page(network: Config) -> None:
    build(network)
    for relative, text in all_text(network.output_path):
        if relative.endswith(".html"):
            scripts = re.findall(r"<script\b[^>]*>", text)
            # G (review finding 5): search.js is a classic script, to speak up from file://
            assert scripts in ([], ['<script defer src="../search.js">']), relative
            assert not re.search(r"\son[a-z]+\s*=", text), relative
            assert "javascript:" not in text.lower(), relative


def test_the_atom_feeds_parse_with_absolute_links(network: Config) -> None:
    build(network)
    base = "https://pln.example/digest/"
    for relative in ("feed.xml", "topics/water/feed.xml", "topics/oer/feed.xml"):
        data = (network.output_path / relative).read_bytes()
        ElementTree.fromstring(data)  # well-formed XML
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (relative, parsed.get("bozo_exception"))
        assert parsed.feed.title.startswith("Open Learning PLN")
        for entry in parsed.entries:
            assert entry.link.startswith(base), entry.link
            assert entry.id.startswith(base)
            for href in re.findall(r'href="([^"]+)"', entry.content[0].value):
                assert urlsplit(href).scheme in ("http", "https"), href
    site_feed = feedparser.parse((network.output_path / "feed.xml").read_bytes())
    assert [e.link for e in site_feed.entries] == [
        f"{base}2026/11/{day}/" for day in ("23", "22", "21", "20")
    ]
    assert "The drought report" in site_feed.entries[2].content[0].value
    water = feedparser.parse((network.output_path / "topics/water/feed.xml").read_bytes())
    assert [e.link for e in water.entries] == [f"{base}2026/11/22/", f"{base}2026/11/21/"]


def test_the_feeds_work_without_a_base_url(tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir, base_url=None)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    build(config)
    tree = ElementTree.parse(config.output_path / "feed.xml")
    links = [link.get("href") for link in tree.iter(f"{ATOM}link")]
    assert "2026/11/23/" in links
    assert not feedparser.parse((config.output_path / "feed.xml").read_bytes()).bozo


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append(value)


def test_every_internal_link_leads_to_a_file(network: Config) -> None:
    build(network)
    out = network.output_path
    for relative, text in all_text(out):
        if not relative.endswith(".html"):
            continue
        parser = _Links()
        parser.feed(text)
        for target in parser.targets:
            parts = urlsplit(urljoin(f"http://site.invalid/{relative}", target))
            if parts.netloc != "site.invalid":
                continue
            path = out / parts.path.lstrip("/")
            if parts.path.endswith("/"):
                path = path / "index.html"
            assert path.is_file(), f"{relative} links to {target}"


# ── HTML validity ────────────────────────────────────────────────────────────────────────

# .ci/run installs the npm package vnu-jar into .tools/ (not committed); PLN_VNU_JAR overrides.
VNU_JAR = Path(
    os.environ.get(
        "PLN_VNU_JAR",
        Path(__file__).parents[1] / ".tools/node_modules/vnu-jar/build/dist/vnu.jar",
    )
)


def test_every_page_passes_the_nu_html_checker(network: Config) -> None:
    java = shutil.which("java")
    if java is None or not VNU_JAR.is_file():
        pytest.skip(f"the Nu Html Checker needs java and {VNU_JAR} (npm install vnu-jar)")
    build(network)
    pages = sorted(str(path) for path in network.output_path.rglob("*.html"))
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "gnu", *pages],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr or result.stdout
    assert len(pages) >= 15


# ── building ─────────────────────────────────────────────────────────────────────────────


def test_unchanged_files_keep_their_bytes_and_mtime(network: Config) -> None:
    build(network)
    out = network.output_path
    past = time.time() - 86_400
    for path in output_files(out).values():
        os.utime(path, (past, past))
    second = build(network)
    # Pagefind writes its filter and meta files in no fixed order (a few small files may
    # change name); every page of ours keeps its bytes and time.
    assert second.changed <= 4
    assert all(p.stat().st_mtime == past for p in output_files(out).values())
    # a new post changes its day page and what lists it, not the days before
    with site_fixture.Store.open(network.database_path) as store:
        store.db.execute("UPDATE posts SET title = 'A new title' WHERE guid = 'alice-2'")
        store.db.conn.commit()
    third = build(network)
    assert third.changed > 0
    assert (out / "2026/11/23/index.html").stat().st_mtime > past
    assert (out / "2026/11/20/index.html").stat().st_mtime == past


def test_a_failed_build_leaves_the_previous_site_and_names_the_template_line(
    network: Config,
) -> None:
    build(network)
    out = network.output_path
    before = {rel: (p.read_bytes(), p.stat().st_mtime_ns) for rel, p in output_files(out).items()}
    templates = network.site_dir / "templates"
    templates.mkdir()
    (templates / "day.html").write_text(
        '{% extends "base.html" %}\n{% block main %}\n<p>{{ digest.no_such_field }}</p>\n'
        "{% endblock %}\n"
    )
    result = pln(network.site_dir, "build")
    assert result.exit_code == 1
    assert re.search(r"day\.html:3: .*no_such_field", result.stderr), result.stderr
    after = {rel: (p.read_bytes(), p.stat().st_mtime_ns) for rel, p in output_files(out).items()}
    assert after == before
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert not [name for name in leftovers if "output" in name]


def test_a_template_syntax_error_fails_the_build_with_its_line(network: Config) -> None:
    templates = network.site_dir / "templates"
    templates.mkdir()
    (templates / "archive.html").write_text("{% extends 'base.html' %}\n\n{% block main %}\n")
    result = pln(network.site_dir, "build")
    assert result.exit_code == 1
    assert "archive.html:3:" in result.stderr
    assert not network.output_path.exists()


def test_a_site_template_overrides_the_theme(network: Config) -> None:
    templates = network.site_dir / "templates"
    (templates / "static").mkdir(parents=True)
    (templates / "archive.html").write_text(
        "{% extends 'base.html' %}{% block main %}<p>My own archive</p>{% endblock %}"
    )
    (templates / "static" / "style.css").write_text("body { color: teal; }")
    build(network)
    assert "My own archive" in (network.output_path / "archive/index.html").read_text()
    assert "teal" in (network.output_path / "style.css").read_text()
    assert "Most shared" in (network.output_path / "2026/11/21/index.html").read_text()


@pytest.mark.parametrize(
    ("timezone", "day"), [("Europe/Berlin", "2026/11/22"), ("America/New_York", "2026/11/21")]
)
def test_a_post_at_2330_utc_lands_on_the_day_of_the_site_time_zone(
    tmp_path: Path, timezone: str, day: str
) -> None:
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir, timezone=timezone)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    build(config)
    pages = {
        path.parent.relative_to(config.output_path).as_posix()
        for path in config.output_path.glob("2026/*/*/index.html")
        if "Late night thoughts" in path.read_text()
    }
    assert pages == {day}


def test_a_first_build_with_nothing_fetched_says_what_to_do(tmp_path: Path) -> None:
    site_dir = tmp_path / "new"
    assert pln(site_dir, "init", str(site_dir)).exit_code == 0
    result = pln(site_dir, "build")
    assert result.exit_code == 0, result.output
    assert "Built" in result.stdout
    home = (site_dir / "output" / "index.html").read_text()
    assert "Nothing to read yet" in home and "pln run" in home
    assert "pln run" in (site_dir / "output" / "archive" / "index.html").read_text()


def test_run_fetches_then_builds_and_strict_fails_on_a_failed_source(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/good.xml", rss(http_server.base_url, items("good", 3, "water")))
    http_server.status("/broken.xml", 500)
    site_dir = tmp_path / "site"
    write_site(
        site_dir,
        {
            "Good Person": [http_server.url("/good.xml")],
            "Broken Person": [http_server.url("/broken.xml")],
        },
    )
    relaxed = pln(site_dir, "run")
    assert relaxed.exit_code == 0, relaxed.output
    assert "Good post 0 about water" in (site_dir / "output/2026/11/20/index.html").read_text()
    strict = pln(site_dir, "run", "--strict", "--force")
    assert strict.exit_code == 1
    assert "failed (--strict)" in strict.stderr
    assert "Built" in strict.stdout  # the site was built all the same


def test_serve_previews_the_output_on_loopback(network: Config) -> None:
    build(network)
    urls: list[str] = []
    thread = threading.Thread(
        target=site.serve, args=(network.output_path, 0), kwargs={"ready": urls.append}
    )
    thread.daemon = True
    thread.start()
    deadline = time.monotonic() + 10
    while not urls and time.monotonic() < deadline:
        time.sleep(0.02)
    assert urls and urls[0].startswith("http://127.0.0.1:")
    with urllib.request.urlopen(urls[0]) as answer:
        assert b"Open Learning PLN" in answer.read()
    with urllib.request.urlopen(urls[0] + "feed.xml") as answer:
        assert answer.headers["Content-Type"].startswith("application/atom+xml")


def test_serve_refuses_an_empty_output(tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    write_site(site_dir, {"A": ["https://a.example/feed.xml"]})
    result = pln(site_dir, "serve", "--port", "0")
    assert result.exit_code == 1
    assert "run `pln build`" in result.stderr


def test_a_build_keeps_the_output_placeholder_git_tracks(tmp_path: Path) -> None:
    from aggregator.site import _swap

    output = tmp_path / "output"
    output.mkdir()
    (output / ".gitkeep").write_text("")
    (output / "old.html").write_text("old")
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "index.html").write_text("new")
    _swap(staging, output)
    assert sorted(p.name for p in output.iterdir()) == [".gitkeep", "index.html"]
