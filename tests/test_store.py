import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.errors import InvalidQueryError, StorageError
from aggregator.models import (
    Config,
    ParsedPost,
    PersonConfig,
    SiteConfig,
    SourceConfig,
    SourceKind,
)
from aggregator.store import Store, check_fts_query

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def make_config(*people: tuple[str, list[str]]) -> Config:
    return Config(
        path=Path("sources.yaml"),
        site=SiteConfig(title="Test"),
        people=tuple(
            PersonConfig(
                name=name,
                slug=name.lower().replace(" ", "-"),
                sources=tuple(
                    SourceConfig(url=url, kind=SourceKind.FEED, person=name) for url in urls
                ),
            )
            for name, urls in people
        ),
    )


def post(guid: str, title: str, text: str = "", **extra: object) -> ParsedPost:
    return ParsedPost(guid=guid, link=f"https://a.example/{guid}", title=title, text=text, **extra)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "pln.db")
    yield opened  # type: ignore[misc]
    opened.close()


def test_schema_is_created_once_in_wal_mode(tmp_path: Path) -> None:
    Store.open(tmp_path / "pln.db").close()
    again = Store.open(tmp_path / "pln.db")
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"people", "sources", "posts", "posts_fts", "post_topics"} <= set(again.db.table_names())
    again.close()


def test_sync_config_keeps_removed_sources_inactive_with_their_posts(store: Store) -> None:
    states = store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    store.record_success(states[0].id, [post("1", "Hello")], NOW)
    states = store.sync_config(make_config(("Bob", ["https://b.example/feed"])), NOW)
    assert [s.url for s in states] == ["https://b.example/feed"]
    health = {h.url: h for h in store.source_health()}
    assert health["https://a.example/feed"].active is False
    assert health["https://a.example/feed"].posts == 1
    # Back in the file, it carries on with its history.
    states = store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    assert states[0].last_success == NOW


def test_posts_are_inserted_once_and_edits_update_in_place(store: Store) -> None:
    (state,) = store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    first = store.record_success(state.id, [post("1", "One"), post("2", "Two")], NOW)
    assert (first.new, first.updated) == (2, 0)
    later = NOW + timedelta(hours=1)
    second = store.record_success(state.id, [post("1", "One"), post("2", "Two, edited")], later)
    assert (second.new, second.updated) == (0, 1)
    assert store.post_count() == 2
    hits = store.search("edited")
    assert [h.title for h in hits] == ["Two, edited"]
    # The edit keeps the first-seen time, so the post stays on the day it first appeared.
    row = store.db.execute("SELECT first_seen FROM posts WHERE guid = '2'").fetchone()
    assert row[0] == NOW.isoformat()


def test_duplicate_guids_in_one_feed_store_one_post(store: Store) -> None:
    (state,) = store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    counts = store.record_success(state.id, [post("1", "Old"), post("1", "New")], NOW)
    assert counts.new == 1
    assert [h.title for h in store.search("new")] == ["New"]


def test_failures_back_off_and_success_resets(store: Store) -> None:
    (state,) = store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    store.record_failure(state.id, "HTTP 500", NOW)
    store.record_failure(state.id, "HTTP 500", NOW)
    (state,) = store.source_states()
    assert state.failures == 2
    assert state.next_due == NOW + timedelta(minutes=30)
    store.record_success(state.id, [], NOW, etag='"abc"')
    (state,) = store.source_states()
    assert (state.failures, state.next_due, state.etag) == (0, None, '"abc"')


def test_gone_is_remembered(store: Store) -> None:
    (state,) = store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    store.record_failure(state.id, "HTTP 410 Gone", NOW, gone=True)
    (state,) = store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    assert state.gone


def test_copying_a_redirect_target_into_the_file_keeps_the_posts(store: Store) -> None:
    (state,) = store.sync_config(make_config(("Alice", ["https://old.example/feed"])), NOW)
    store.record_success(state.id, [post("1", "Kept")], NOW, redirect_to="https://new.example/feed")
    (moved,) = store.sync_config(make_config(("Alice", ["https://new.example/feed"])), NOW)
    assert moved.id == state.id
    assert moved.redirect_to is None
    again = store.record_success(moved.id, [post("1", "Kept")], NOW)
    assert again.new == 0


def test_search_ranks_title_matches_first_and_stems_and_folds(store: Store) -> None:
    (state,) = store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    store.record_success(
        state.id,
        [
            post("1", "Notes from a meeting", "we talked about drought for a while"),
            post("2", "Drought", "dry summer"),
            post("3", "Le café", "un article"),
        ],
        NOW,
    )
    assert [h.title for h in store.search("drought")] == ["Drought", "Notes from a meeting"]
    assert next(h.title for h in store.search("droughts")) == "Drought"
    assert [h.title for h in store.search("cafe")] == ["Le café"]
    assert [h.title for h in store.search("title:drought")] == ["Drought"]


def test_search_falls_back_to_literal_words(store: Store) -> None:
    (state,) = store.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    store.record_success(state.id, [post("1", "Why e-learning works", "a study")], NOW)
    for typed in ['"e-learning', "e-learning", "works)", "works AND", "e-learning -"]:
        assert [h.title for h in store.search(typed)] == ["Why e-learning works"], typed
    with pytest.raises(InvalidQueryError):
        store.search("-")


def test_search_filters_by_person_and_date(store: Store) -> None:
    states = store.sync_config(
        make_config(("Alice", ["https://a.example/feed"]), ("Bob", ["https://b.example/feed"])),
        NOW,
    )
    a, b = states
    store.record_success(a.id, [post("1", "Water A", published=NOW - timedelta(days=3))], NOW)
    store.record_success(b.id, [post("2", "Water B", published=NOW - timedelta(days=1))], NOW)
    assert [h.person for h in store.search("water", person="bob")] == ["Bob"]
    assert [h.person for h in store.search("water", person="Alice")] == ["Alice"]
    recent = store.search("water", since=NOW - timedelta(days=2))
    assert [h.title for h in recent] == ["Water B"]
    by_date = store.search("water", sort="date")
    assert [h.title for h in by_date] == ["Water B", "Water A"]


def test_check_fts_query() -> None:
    assert check_fts_query('water OR "water quality" OR title:drought OR irrigat*') is None
    assert check_fts_query("water AND") is not None
    assert check_fts_query("nosuchcolumn:water") is not None


def test_readonly_open_refuses_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="run `pln fetch` first"):
        Store.open_readonly(tmp_path / "none.db")


def test_a_corrupt_file_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "pln.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="cannot open"):
        Store.open(path)
    assert isinstance(StorageError("x").__cause__, type(None))


def test_readers_do_not_block_on_an_open_write(tmp_path: Path) -> None:
    writer = Store.open(tmp_path / "pln.db")
    (state,) = writer.sync_config(make_config(("Alice", ["https://a.example/feed"])), NOW)
    writer.record_success(state.id, [post("1", "Committed")], NOW)
    writer.db.execute("BEGIN IMMEDIATE")
    writer.db.execute("UPDATE posts SET title = 'Half written'")
    reader = Store.open_readonly(tmp_path / "pln.db")
    assert [h.title for h in reader.search("committed")] == ["Committed"]
    reader.close()
    writer.db.conn.rollback()
    writer.close()
    assert (
        sqlite3.connect(tmp_path / "pln.db").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    )
