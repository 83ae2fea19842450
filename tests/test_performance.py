"""The optimizations of issue 9 keep every behaviour: what each one must still do.

Speed itself is measured in bench/ (docs/benchmarks.md), never asserted here.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator import app
from aggregator.errors import StorageError
from aggregator.models import Config, ParsedPost
from aggregator.store import Store
from tests import site_fixture
from tests.test_store import make_config, post

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "pln.db")
    yield opened
    opened.close()


def _source(store: Store) -> int:
    return store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)[0].id


def _fts_rows(store: Store) -> int:
    # posts_fts_docsize holds one row per indexed post: a re-index shows as a new version.
    return int(store.db.execute("SELECT count(*) FROM posts_fts_docsize").fetchone()[0])


def _integrity(store: Store) -> None:
    store.db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")


# ── the FTS trigger fires only when an indexed column changes (m009) ─────────────────────


def test_updating_a_column_that_is_not_indexed_leaves_the_index_alone(store: Store) -> None:
    source = _source(store)
    store.record_success(source, [post("1", "Drought report", "rivers ran dry")], NOW)
    post_id = store.db.execute("SELECT id FROM posts").fetchone()[0]
    store.db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('optimize')")
    segments = store.db.execute("SELECT count(*) FROM posts_fts_data").fetchone()[0]
    store.db.execute("UPDATE posts SET extract_state = 'skip' WHERE id = ?", [post_id])
    store.db.conn.commit()
    # No delete-and-insert in the index: its data did not grow by a new segment.
    assert store.db.execute("SELECT count(*) FROM posts_fts_data").fetchone()[0] == segments
    _integrity(store)
    assert [hit.title for hit in store.search("drought")] == ["Drought report"]


def test_an_edited_text_is_indexed_anew_and_the_old_words_are_gone(store: Store) -> None:
    source = _source(store)
    first = post("1", "Report", "rivers ran dry", summary_html="<p>rivers ran dry</p>")
    edited = post("1", "Report", "the glacier melted", summary_html="<p>the glacier melted</p>")
    store.record_success(source, [first], NOW)
    assert store.record_success(source, [edited], NOW).updated == 1
    _integrity(store)
    assert [hit.title for hit in store.search("glacier")] == ["Report"]
    assert store.search("rivers") == []
    assert _fts_rows(store) == 1


def test_settling_posts_without_a_page_keeps_them_searchable(store: Store) -> None:
    source = _source(store)
    store.record_success(source, [post(str(n), f"Water {n}", "watershed") for n in range(5)], NOW)
    waiting = store.posts_awaiting_page(source, NOW, 100)
    store.settle_without_page(waiting)
    _integrity(store)
    assert len(store.search("watershed", limit=50)) == 5
    assert store.posts_awaiting_page(source, NOW, 100) == []


def test_an_older_database_gets_the_narrow_trigger(tmp_path: Path) -> None:
    Store.open(tmp_path / "pln.db").close()
    with sqlite3.connect(tmp_path / "pln.db") as db:
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_au'").fetchone()[0]
    assert "UPDATE OF title, text, author, categories" in sql


# ── inserts through one prepared statement ───────────────────────────────────────────────


def test_every_field_of_a_new_post_is_stored(store: Store) -> None:
    source = _source(store)
    published = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    full = ParsedPost(
        guid="g1",
        link="https://a.example/1",
        title="Title",
        author="Alice",
        published=published,
        updated=published,
        summary_html="<p>Summary</p>",
        content_html="<p>Content</p>",
        text="Content",
        categories=("water", "soil"),
        links=("https://b.example/x",),
        has_full_content=True,
        content_warning="cw",
        is_share=True,
    )
    counts = store.record_success(source, [full, post("g2", "Other")], NOW)
    assert (counts.new, counts.updated) == (2, 0)
    row = store.db.execute(
        """SELECT guid, link, title, author, published, updated, first_seen, posted_at,
                  summary_html, content_html, text, categories, links, has_full_content,
                  content_warning, is_share
           FROM posts WHERE guid = 'g1'"""
    ).fetchone()
    assert row == (
        "g1",
        "https://a.example/1",
        "Title",
        "Alice",
        "2026-11-20T08:30:00+00:00",
        "2026-11-20T08:30:00+00:00",
        "2026-11-22T12:00:00+00:00",
        "2026-11-20T08:30:00+00:00",
        "<p>Summary</p>",
        "<p>Content</p>",
        "Content",
        "water, soil",
        '["https://b.example/x"]',
        1,
        "cw",
        1,
    )
    assert store.db.execute("SELECT count(*) FROM untagged").fetchone()[0] == 2


# ── the store's thread during a fetch ────────────────────────────────────────────────────


def test_store_thread_runs_calls_in_order_off_the_event_loop(store: Store) -> None:
    source = _source(store)
    threads: list[str] = []

    def record(number: int) -> int:
        threads.append(threading.current_thread().name)
        return store.record_success(source, [post(str(number), f"Post {number}")], NOW).new

    async def run() -> list[int]:
        with app._StoreThread(store) as writes:
            return await asyncio.gather(*(writes.call(record, n) for n in range(20)))

    assert asyncio.run(run()) == [1] * 20
    assert set(threads) == {"pln-store"}
    titles = [row[0] for row in store.db.execute("SELECT title FROM posts ORDER BY id")]
    assert titles == [f"Post {n}" for n in range(20)]


def test_a_failed_call_undoes_itself_only_and_is_raised_to_its_caller(store: Store) -> None:
    source = _source(store)

    def broken() -> None:
        store.record_success(source, [post("bad", "Half")], NOW)
        raise StorageError("disk trouble")

    async def run() -> list[object]:
        with app._StoreThread(store) as writes:
            return await asyncio.gather(
                writes.call(store.record_success, source, [post("1", "Before")], NOW),
                writes.call(broken),
                writes.call(store.record_success, source, [post("2", "After")], NOW),
                return_exceptions=True,
            )

    before, failed, after = asyncio.run(run())
    assert isinstance(failed, StorageError)
    assert not isinstance(before, BaseException) and not isinstance(after, BaseException)
    # The broken call's insert was rolled back with its savepoint; the others committed.
    with sqlite3.connect(store.path) as other:
        titles = {row[0] for row in other.execute("SELECT title FROM posts")}
    assert titles == {"Before", "After"}


def test_results_arrive_only_after_their_group_is_committed(store: Store) -> None:
    source = _source(store)
    seen_by_another_reader: list[int] = []

    async def run() -> None:
        with app._StoreThread(store) as writes:
            await writes.call(store.record_success, source, [post("1", "One")], NOW)
            with sqlite3.connect(store.path) as other:
                seen_by_another_reader.append(
                    other.execute("SELECT count(*) FROM posts").fetchone()[0]
                )

    asyncio.run(run())
    assert seen_by_another_reader == [1]


# ── a rebuild with nothing changed leaves output/ as it is ───────────────────────────────


@pytest.fixture
def network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setattr(app, "trends", lambda *_, **__: ["drought"], raising=False)
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    return config


def _files(output: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(output).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(output.rglob("*"))
        # The manifest is the build's own bookkeeping, not one of the files it counts.
        if path.is_file() and path.name != ".pln-manifest"
    }


def _pages(files: dict[str, tuple[bytes, int]]) -> dict[str, bytes]:
    return {name: data for name, (data, _) in files.items() if "pagefind" not in name}


def _forget_stamp(config: Config) -> None:
    with Store.open(config.database_path) as store:
        store.db.execute("DELETE FROM meta WHERE key = 'site_build'")
        store.db.conn.commit()


def test_a_rebuild_with_nothing_changed_leaves_every_file_as_it_was(network: Config) -> None:
    first = app.build(network, clock=lambda: site_fixture.NOW)
    before = _files(network.output_path)
    again = app.build(network, clock=lambda: site_fixture.NOW + timedelta(minutes=5))
    assert (again.changed, again.removed) == (0, 0)
    assert (again.pages, again.posts, again.days) == (first.pages, first.posts, first.days)
    assert again.unchanged == len(before)
    assert _files(network.output_path) == before
    # What skipping saved is what a real build would have written: the same bytes.
    _forget_stamp(network)
    app.build(network, clock=lambda: site_fixture.NOW + timedelta(minutes=5))
    # (Pagefind names some of its files anew on every run: its own choice, left aside.)
    rebuilt = _files(network.output_path)
    assert _pages(rebuilt) == _pages(before)


def _new_post(config: Config) -> None:
    with Store.open(config.database_path) as store:
        source = store.source_states()[0].id
        late = ParsedPost(
            guid="late",
            link="https://alice.example/late",
            title="A late post about water",
            text="water",
            published=site_fixture.NOW - timedelta(hours=1),
        )
        store.record_success(source, [late], site_fixture.NOW)


def _untag(config: Config) -> None:
    with Store.open(config.database_path) as store:
        store.db.execute(
            "DELETE FROM post_topics WHERE post_id = (SELECT min(post_id) FROM post_topics)"
        )
        store.db.conn.commit()


def _own_template(config: Config) -> None:
    folder = config.site_dir / "templates"
    folder.mkdir()
    builtin = Path(app.__file__).parent.parent / "templates" / "archive.html"
    text = builtin.read_text(encoding="utf-8").replace("</h1>", " (own)</h1>", 1)
    (folder / "archive.html").write_text(text, encoding="utf-8")


def _retitle(config: Config) -> None:
    path = config.site_dir / "sources.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Open Learning PLN", "Another PLN"),
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    "change", [_new_post, _untag, _own_template, _retitle], ids=lambda f: f.__name__
)
def test_any_change_of_what_a_build_reads_builds_again(network: Config, change: Any) -> None:
    app.build(network, clock=lambda: site_fixture.NOW)
    before = _files(network.output_path)
    change(network)
    config = app.load_config(network.site_dir)
    report = app.build(config, clock=lambda: site_fixture.NOW)
    assert report.changed > 0
    assert _files(network.output_path) != before


def test_the_next_day_builds_again(network: Config) -> None:
    app.build(network, clock=lambda: site_fixture.NOW)
    report = app.build(network, clock=lambda: site_fixture.NOW + timedelta(days=1))
    assert report.changed > 0


def test_a_post_leaving_the_last_30_days_builds_again_the_same_day(network: Config) -> None:
    with Store.open(network.database_path) as store:
        slug, posted = store.posting_times(site_fixture.NOW - timedelta(days=10))[0]
    leaves = posted + timedelta(days=30)  # the instant it stops counting as recent
    app.build(network, clock=lambda: leaves - timedelta(minutes=1))
    page = network.output_path / "people" / slug / "index.html"
    before = page.read_bytes()
    report = app.build(network, clock=lambda: leaves + timedelta(minutes=1))
    assert report.changed > 0
    assert page.read_bytes() != before


def test_a_deleted_output_is_built_again(network: Config) -> None:
    app.build(network, clock=lambda: site_fixture.NOW)
    shutil.rmtree(network.output_path)
    report = app.build(network, clock=lambda: site_fixture.NOW)
    assert report.changed == report.changed + report.unchanged > 0
    assert (network.output_path / "index.html").is_file()


def test_a_post_leaving_the_trends_window_builds_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our own trends: not their answer but which posts they read is fingerprinted."""
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    built: list[datetime] = []
    real_build = app.site_module.build_site

    def counting(source: Any, renderer: Any) -> Any:
        built.append(source.now)
        return real_build(source, renderer)

    monkeypatch.setattr(app.site_module, "build_site", counting)
    with Store.open(config.database_path) as store:
        newest = max(
            moment for _, moment in store.posting_times(site_fixture.NOW - timedelta(days=30))
        )
    # The recent window is site.home_days long and ends a second after now.
    leaves = newest + timedelta(days=config.site.home_days)
    app.build(config, clock=lambda: leaves - timedelta(seconds=30))
    app.build(config, clock=lambda: leaves - timedelta(seconds=20))  # nothing moved: skipped
    app.build(config, clock=lambda: leaves + timedelta(seconds=30))  # the post left the window
    assert len(built) == 2


# ── ranking: with and without filters the same order; ties go to the newer post ──────────

_LONG_AGO = datetime(
    1970, 1, 2, tzinfo=UTC
)  # a date filter that keeps every post: the joined query


def _ranked(store: Store, query: str, limit: int, joined: bool) -> list[int]:
    since = _LONG_AGO if joined else None
    return [hit.id for hit in store.search(query, limit=limit, since=since)]


def test_ties_go_to_the_newer_post_inside_and_across_the_last_place(store: Store) -> None:
    source = _source(store)
    same = [
        post(f"t{n}", "Drought", "the same words", published=NOW - timedelta(days=n))
        for n in range(6)
    ]
    other = [post(f"o{n}", f"Other {n}", "drought " * (n + 1)) for n in range(4)]
    store.record_success(source, [*same, *other], NOW)
    for limit in range(1, 12):
        fast = _ranked(store, "drought", limit, joined=False)
        assert fast == _ranked(store, "drought", limit, joined=True), limit
    titles = [hit.title for hit in store.search("drought", limit=3)]
    assert titles == ["Drought", "Drought", "Drought"]
    newest_three = [hit.published for hit in store.search("drought", limit=3)]
    assert newest_three == sorted(newest_three, reverse=True)


def test_ranking_in_fts_agrees_with_the_joined_query_on_many_queries(store: Store) -> None:
    import random

    rng = random.Random(5)
    words = ["water", "river", "soil", "rain", "drought", "policy", "data", "school"]
    source = _source(store)
    posts = [
        post(
            f"p{n}",
            " ".join(rng.choices(words, k=3)),
            " ".join(rng.choices(words, k=rng.randint(3, 30))),
            published=NOW - timedelta(hours=rng.randint(0, 500)),
        )
        for n in range(300)
    ]
    store.record_success(source, posts, NOW)
    for query in ["water", "river rain", "soil OR data", '"water river"', "sch*"]:
        for limit in (1, 5, 20, 500):
            fast = _ranked(store, query, limit, joined=False)
            assert fast == _ranked(store, query, limit, joined=True), (query, limit)


def test_a_page_removed_from_output_by_hand_is_built_again(network: Config) -> None:
    app.build(network, clock=lambda: site_fixture.NOW)
    page = network.output_path / "archive" / "index.html"
    page.unlink()
    report = app.build(network, clock=lambda: site_fixture.NOW)
    assert page.is_file()
    assert report.changed + report.unchanged == len(_files(network.output_path))
