"""The built-in entry in Python writes the bytes of the ``entry`` macro, on every branch;
a site's own ``_macros.html`` still decides how entries look on every page."""

from __future__ import annotations

import itertools
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator import app
from aggregator.models import (
    Config,
    Digest,
    DigestEntry,
    DigestSection,
    SharedLink,
    Sharer,
    SitePost,
    SourceKind,
    TopicLabel,
)
from aggregator.render import MACROS, Renderer, builtin_templates
from tests import site_fixture

HOSTILE = "<b>\"Tom\" & 'Jerry'</b>"


# A source's name and link (labels): none (the host stands in), a name alone, a linked one.
SOURCES: list[tuple[str, str | None]] = [
    ("", None),
    (HOSTILE, None),
    ("@tom@social.example", 'https://social.example/@tom?a=1&b="2"'),
]


def _post(
    kind: SourceKind, warning: str | None, moment: datetime, name: str, number: int = 0
) -> SitePost:
    source_name, source_home = SOURCES[number % len(SOURCES)]
    return SitePost(
        id=7,
        link="https://www.blog.example/a?x=1&y=<2>",
        title="t",
        person=name,
        person_slug="tom-&-jerry",
        source_url="https://www.blog.example/feed.xml",
        kind=kind,
        posted_at=moment,
        content_warning=warning,
        source_name=source_name,
        source_home=source_home,
    )


def _entries() -> list[DigestEntry]:
    """Every branch of the macro: kinds, warnings, bodies, excerpts, labels, sharers."""
    labels = [
        (),
        (TopicLabel("water", "Water & <rivers>", ("drought", "<b>", "a&b")),),
        (TopicLabel("water", "Water", ()), TopicLabel("oer", 'Open "education"', ("OER",))),
    ]
    sharers = [
        (),
        (Sharer("Bob", "bob", SourceKind.MASTODON, "https://social.example/@bob/1?a=1&b=2"),),
        (
            Sharer(HOSTILE, "tom", SourceKind.FEED, None),
            Sharer("Carol", "carol", SourceKind.BLOG, "https://c.example/"),
            Sharer("Dan", "dan", SourceKind.MASTODON, None),
        ),
    ]
    moments = [
        datetime(2026, 11, 21, 23, 30, tzinfo=UTC),  # the next day in Berlin
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),  # the hour clocks change
    ]
    found = []
    for number, (kind, warning, body, excerpt, topics, shared, url, moment) in enumerate(
        itertools.product(
            list(SourceKind),
            [None, "", HOSTILE],
            [None, "<p>Hi <a href='x'>there</a></p>"],
            ["", "An excerpt with <tags> & ampersands…"],
            labels,
            sharers,
            [None, 'https://example.org/?a=1&b="2"'],
            moments,
        )
    ):
        post = _post(kind, warning, moment, HOSTILE if number % 2 else "Alice", number // 5)
        found.append(
            DigestEntry(
                anchor=f"alice-{number}",
                post=post,
                title=HOSTILE if number % 3 else "Plain title",
                url=url,
                excerpt=excerpt,
                body_html=body,
                topics=topics,
                also_shared_by=shared,
            )
        )
    return found


def test_the_python_entry_writes_the_macros_bytes_on_every_branch(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, ZoneInfo("Europe/Berlin"))
    macro = renderer.env.get_template(MACROS).module.entry  # type: ignore[attr-defined]
    entries = _entries()
    assert len(entries) == 3 * 3 * 2 * 2 * 3 * 3 * 2 * 2
    for e in entries:
        for root, level, show_day in [("../../", 3, False), ("https://x.example/?a&b", 2, True)]:
            fast = renderer.entry_html(root, e, level, show_day)
            assert str(fast) == str(macro(root, e, level, show_day=show_day)), e
    # Every way of naming the source was among them, escaped.
    shown = "".join(str(renderer.entry_html("/", e)) for e in entries)
    assert '<span class="kind">blog.example</span>' in shown
    escaped = "&lt;b&gt;&#34;Tom&#34; &amp; &#39;Jerry&#39;&lt;/b&gt;"
    assert f'<span class="kind">{escaped}</span>' in shown
    assert (
        '<span class="kind"><a href="https://social.example/@tom?a=1&amp;b=&#34;2&#34;">'
        "@tom@social.example</a></span>"
    ) in shown


def _digests() -> list[Digest]:
    entries = _entries()
    bob = Sharer("Bob", "bob", SourceKind.MASTODON)
    odd = Sharer(HOSTILE, "t&j", SourceKind.FEED, "https://x.example/?a&b")
    shared = (
        SharedLink("https://a.example/?q=<1>&r", "a.example", HOSTILE, (bob, odd)),
        SharedLink("https://b.example/", "b.example", "B", (odd, bob, bob), "alice-1"),
    )
    water = TopicLabel("water", "Water & <rivers>")
    return [
        Digest(date(2026, 11, 20), (), (), 0, ()),
        Digest(date(2026, 11, 20), shared, (DigestSection(None, tuple(entries[:3])),), 3, ()),
        Digest(
            date(2026, 11, 21),
            shared[:1],
            (
                DigestSection(water, tuple(entries[10:15])),
                DigestSection(TopicLabel("oer", "OER"), ()),
                DigestSection(None, tuple(entries[100:104])),
            ),
            9,
            ("Alice",),
        ),
    ]


def test_the_python_digest_writes_the_macros_bytes(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, ZoneInfo("Europe/Berlin"))
    macro = renderer.env.get_template(MACROS).module.digest_body  # type: ignore[attr-defined]
    for d in _digests():
        for root, level, prefix in [("../../../", 2, ""), ("https://x/?a&b", 3, "2026-<11>-")]:
            fast = renderer.digest_html(root, d, level, prefix)
            assert str(fast) == str(macro(root, d, level, prefix)), d


def test_the_builtin_theme_uses_the_python_entry(tmp_path: Path) -> None:
    assert Renderer(tmp_path, UTC)._fast_entry is not None


@pytest.fixture
def network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setattr(app, "trends", lambda *_, **__: ["drought"], raising=False)
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    return config


def _pages(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        # The manifest lists Pagefind's files, whose names change from build to build.
        if path.is_file() and "pagefind" not in path.parts and path.name != ".pln-manifest"
    }


def test_a_copy_of_the_builtin_macros_builds_the_same_site(network: Config) -> None:
    """The site's own _macros.html (the same text) goes through Jinja: the same bytes."""
    app.build(network, clock=lambda: site_fixture.NOW)
    fast = _pages(network.output_path)
    own = network.site_dir / "templates"
    own.mkdir()
    shutil.copyfile(builtin_templates() / MACROS, own / MACROS)
    assert Renderer(network.site_dir, UTC)._fast_entry is None
    app.build(network, clock=lambda: site_fixture.NOW)
    assert _pages(network.output_path) == fast


def test_a_sites_own_entry_macro_shows_on_every_page_that_lists_entries(
    network: Config,
) -> None:
    own = network.site_dir / "templates"
    own.mkdir()
    text = (builtin_templates() / MACROS).read_text(encoding="utf-8")
    marked = text.replace(
        '<article class="entry{%', '<article data-mine="{{ e.anchor }}" class="entry{%', 1
    )
    assert marked != text
    (own / MACROS).write_text(marked, encoding="utf-8")
    app.build(network, clock=lambda: site_fixture.NOW)
    out = network.output_path
    for page in [
        "2026/11/22/index.html",
        "index.html",
        "people/carol-jones/index.html",
        "topics/water/index.html",
        "topics/water/feed.xml",
        "feed.xml",
    ]:
        assert "data-mine=" in (out / page).read_text(encoding="utf-8"), page
