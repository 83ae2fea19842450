"""What the full build's shortcuts (issue 9, goal 4) must keep: each gives what the plain
way gives. Speed itself is measured by bench/build.py, never asserted here."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import markupsafe
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import app, digest, fragments, site
from aggregator.errors import BuildError
from aggregator.models import Config, SitePost, SourceKind, TopicConfig, TopicTag
from aggregator.render import builtin_templates
from tests import site_fixture

TOPICS = (
    TopicConfig("Water", "water", "water"),
    TopicConfig("Open education", "oer", "open"),
)

URLS = [
    "https://www.Example.org/a/b/",
    "HTTP://WWW.EXAMPLE.ORG/A",
    "https://example.org",
    "https://example.org/",
    "https://example.org:443/a",
    "https://example.org:8080/a",
    "https://user@example.org/a",
    "https://[::1]/a",
    "https://example.org/a?utm_source=x&b=2&a=1",
    "https://example.org/a#top",
    "https://example.org/a\tb",
    "https://example.org/a b",
    " https://example.org/a ",
    "example.org/a",
    "mailto:someone@example.org",
    "https://exämple.org/ü",
    "https://www./",
    "1http://example.org/a",
    "https://example.org/%7Euser/",
    "https://example.org:bad/",
]


def test_canonical_url_reads_simple_links_as_urlsplit_does() -> None:
    for url in URLS:
        assert digest.canonical_url(url) == digest._canonical_by_parts(url.strip()), url


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["http", "https", "HTTPS", "ftp", "a+b"]),
    st.text(alphabet="abcXYZ019.-_:@[]w", min_size=0, max_size=12),
    st.text(alphabet="ab/%~?#=& \t\n.é", min_size=0, max_size=12),
)
def test_canonical_url_agrees_with_urlsplit_on_any_link(scheme: str, host: str, path: str) -> None:
    url = f"{scheme}://{host}{path}"
    assert digest.canonical_url(url) == digest._canonical_by_parts(url.strip())


@given(st.text())
def test_the_fast_escape_is_markupsafes(text: str) -> None:
    assert fragments.escape(text) == str(markupsafe.escape(text))
    assert fragments._escape_by_replacing(text) == str(markupsafe.escape(text))


def _post(number: int, link: str | None, kind: SourceKind, slug: str, *tags: TopicTag) -> SitePost:
    return SitePost(
        id=number,
        link=link,
        title=f"Post {number}",
        person=slug.title(),
        person_slug=slug,
        source_url=f"https://{slug}.example/feed.xml",
        kind=kind,
        posted_at=datetime(2026, 11, 20, 8, tzinfo=UTC) + timedelta(minutes=number),
        text=f"words of post {number} " * 20,
        html=f'<p>see <a href="{link}">the shared story</a></p>' if link else None,
        links=(link,) if link and kind == SourceKind.MASTODON else (),
        tags=tags,
    )


def test_each_posts_own_entry_is_what_entry_for_makes() -> None:
    """A person's page lists every post as an entry of its own; posts grouped with others
    on the day page get theirs made apart, the rest reuse the day's entry."""
    story = "https://news.example/story"
    water = TopicTag("water", ("drought",))
    oer = TopicTag("oer", ("open", "license"))
    posts = [
        _post(1, story, SourceKind.FEED, "alice", water),
        _post(2, story, SourceKind.MASTODON, "bob", oer),
        _post(3, story + "?utm_source=x", SourceKind.MASTODON, "carol"),
        _post(4, "https://alice.example/alone", SourceKind.FEED, "alice", water, oer),
        _post(5, None, SourceKind.MASTODON, "bob"),
    ]
    day = date(2026, 11, 20)
    found, own = digest.digest_and_own_entries(day, posts, TOPICS, 12)
    assert found == digest.build_digest(day, posts, TOPICS, 12)
    assert set(own) == {1, 2, 3, 4, 5}
    for post in posts:
        assert own[post.id] == digest.entry_for(post, TOPICS, 12), post.id
    grouped = next(e for e in found.entries if e.post.id == 1)
    assert [s.person for s in grouped.also_shared_by] == ["Bob", "Carol"]
    assert own[1] != grouped  # alone, Alice's post names nobody else


def test_an_entry_keeps_every_field_of_its_post_but_the_body() -> None:
    post = _post(9, "https://x.example/a", SourceKind.FEED, "erin", TopicTag("water", ()))
    entry = digest.entry_for(post, TOPICS, 12)
    assert entry.post == SitePost(**{**post.__dict__, "html": None, "text": ""})
    assert [label.slug for label in entry.topics] == ["water"]


# ── the older days in a child process ──────────────────────────────────────────────────


@pytest.fixture
def network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setattr(app, "trends", lambda *_, **__: ["drought"], raising=False)
    monkeypatch.delenv("PLN_WORKERS", raising=False)
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    return config


def _files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "pagefind" not in path.parts
        and path.name != site.MANIFEST_NAME  # (engineer F) it lists Pagefind's files too
    }


def _forks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Split even the small fixture in two; the list records each child started."""
    started: list[object] = []
    original = site._OlderDays.start

    def start(pages: object, split: site._Split) -> site._OlderDays:
        started.append(split)
        return original(pages, split)  # type: ignore[arg-type]

    monkeypatch.setattr(site, "PARALLEL_MIN_POSTS", 1)
    # Earlier tests may leave idle threads (servers) behind; `pln build` has none.
    monkeypatch.setattr(site.threading, "active_count", lambda: 1)
    monkeypatch.setattr(site._OlderDays, "start", staticmethod(start))
    return started


def test_a_build_in_two_processes_writes_the_same_site(
    network: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLN_WORKERS", "1")
    one = app.build(network, clock=lambda: site_fixture.NOW)
    alone = _files(network.output_path)
    monkeypatch.delenv("PLN_WORKERS")
    started = _forks(monkeypatch)
    shutil.rmtree(network.output_path)
    two = app.build(network, clock=lambda: site_fixture.NOW)
    assert len(started) == 1  # the archive was cut: older days in a child
    split = started[0]
    assert isinstance(split, site._Split)
    assert split.day_before < split.day
    assert _files(network.output_path) == alone  # day links across the cut, every page
    assert (two.pages, two.days, two.posts) == (one.pages, one.days, one.posts)


def test_a_template_error_in_the_childs_days_fails_the_build_with_its_line(
    network: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.build(network, clock=lambda: site_fixture.NOW)
    before = {name: (path.stat().st_mtime_ns) for name, path in _walk(network.output_path)}
    own = network.site_dir / "templates"
    own.mkdir()
    day = (builtin_templates() / "day.html").read_text(encoding="utf-8")
    # Only the oldest day fails: it is the child's.
    broken = day.replace(
        "{% block main %}\n",
        "{% block main %}\n{% if digest.day.day == 20 %}{{ no_such_name }}{% endif %}\n",
        1,
    )
    assert broken != day
    (own / "day.html").write_text(broken, encoding="utf-8")
    started = _forks(monkeypatch)
    with pytest.raises(BuildError) as caught:
        app.build(network, clock=lambda: site_fixture.NOW)
    assert started
    assert caught.value.file is not None and caught.value.file.endswith("day.html")
    assert (
        caught.value.line
        == broken.splitlines().index("{% if digest.day.day == 20 %}{{ no_such_name }}{% endif %}")
        + 1
    )
    after = {name: (path.stat().st_mtime_ns) for name, path in _walk(network.output_path)}
    assert after == before  # the previous site, untouched
    assert not list(network.output_path.parent.glob(".building-*"))


def _walk(root: Path) -> list[tuple[str, Path]]:
    return [(p.relative_to(root).as_posix(), p) for p in sorted(root.rglob("*")) if p.is_file()]
