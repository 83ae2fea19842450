"""The cold write path's shortcuts (issue 9, goal 1) keep what is stored exactly the same.

- new posts go in through multi-row INSERTs (not executemany): same ids, same FTS index;
- new posts whose page is not wanted are stored settled (`PageDecision`), as the fetch's
  question after storing (`posts_awaiting_page` + `settle_without_page`) would settle them;
- lone surrogates are found without a regex search.
"""

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator import extract
from aggregator import store as store_module
from aggregator.models import (
    Config,
    FullText,
    PagePost,
    ParsedPost,
    PersonConfig,
    SiteConfig,
    SourceConfig,
    SourceKind,
)
from aggregator.sanitize import without_surrogates
from aggregator.store import PageDecision, Store

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FEED = "https://a.example/feed"
LIMIT = 1000  # app._MAX_UNDECIDED


def _config() -> Config:
    source = SourceConfig(url=FEED, kind=SourceKind.FEED, person="Alice")
    person = PersonConfig(name="Alice", slug="alice", sources=(source,))
    return Config(path=Path("sources.yaml"), site=SiteConfig(title="Test"), people=(person,))


def _open(path: Path) -> tuple[Store, int]:
    store = Store.open(path)
    (state,) = store.sync_config(_config(), NOW)
    return store, state.id


def _posts(count: int) -> list[ParsedPost]:
    """Teasers, long articles, short summaries, full content, posts without a link."""
    posts = []
    for index in range(count):
        words = " ".join(f"word{index}x{n}" for n in range(5 if index % 3 else 300))
        posts.append(
            ParsedPost(
                guid=f"g{index}",
                link=None if index % 7 == 6 else f"https://a.example/p{index}",
                title=None if index % 5 == 4 else f"Post {index}",
                author="Alice" if index % 2 else None,
                published=NOW - timedelta(hours=index),
                text=words + (" Read more" if index % 4 == 1 else ""),
                has_full_content=index % 6 == 0,
                summary_html=f"<p>{words}</p>",
            )
        )
    return posts


def _fetch_decides(store: Store, source_id: int, mode: FullText, limit: int) -> list[PagePost]:
    """What app._fill_full_text does after storing: ask, settle the unwanted, keep the rest."""
    undecided = store.posts_awaiting_page(source_id, NOW, limit)
    wanted = [post for post in undecided if extract.wants_page(mode, post)]
    chosen = {post.id for post in wanted}
    settled = [post for post in undecided if post.id not in chosen]
    if settled:
        store.settle_without_page(settled)
    return wanted


def _stored(store: Store) -> list[tuple[object, ...]]:
    return store.db.execute(
        "SELECT id, guid, title, text, extract_hash, extract_state FROM posts ORDER BY id"
    ).fetchall()


@pytest.mark.parametrize("mode", list(FullText))
@pytest.mark.parametrize("limit", [LIMIT, 10])
def test_new_posts_stored_settled_end_as_the_question_after_storing_leaves_them(
    tmp_path: Path, mode: FullText, limit: int
) -> None:
    posts = _posts(40)
    decision = PageDecision(functools.partial(extract.wants_page, mode), limit)
    before, source_id = _open(tmp_path / "before.db")
    after, same_source = _open(tmp_path / "after.db")
    before.record_success(source_id, posts, NOW)
    after.record_success(same_source, posts, NOW, pages=decision)
    settled_at_insert = sum(row[5] == "skip" for row in _stored(after))
    wanted_before = _fetch_decides(before, source_id, mode, limit)
    wanted_after = _fetch_decides(after, same_source, mode, limit)
    assert _stored(after) == _stored(before)
    assert wanted_after == wanted_before
    skipped = sum(row[5] == "skip" for row in _stored(after))
    # the shortcut was taken when the question had room for all 40 (and not otherwise)
    assert settled_at_insert == (skipped if limit == LIMIT else 0)
    assert (skipped > 0) == (mode is not FullText.ALWAYS)


def test_posts_are_settled_at_insert_only_when_all_fit_the_question(tmp_path: Path) -> None:
    store, source_id = _open(tmp_path / "pln.db")
    never = PageDecision(functools.partial(extract.wants_page, FullText.NEVER), 10)
    store.record_success(source_id, _posts(40), NOW, pages=never)
    # 40 posts, a question that looks at 10: the fetch's question settles them, not the insert
    assert {row[5] for row in _stored(store)} == {None}
    store.record_success(source_id, _posts(40)[:5], NOW, pages=never)
    assert {row[5] for row in _stored(store)} == {None}  # nothing new: nothing to decide


def test_multi_row_inserts_keep_ids_in_feed_order_and_the_index_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_ROWS_PER_INSERT", 7)  # 40 posts: 6 statements
    store, source_id = _open(tmp_path / "pln.db")
    posts = _posts(40)
    counts = store.record_success(source_id, posts, NOW)
    assert counts.new == 40
    rows = _stored(store)
    assert [row[1] for row in rows] == [post.guid for post in posts]
    store.db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
    for index in (0, 6, 7, 39):  # either side of a statement's edge
        (found,) = store.db.execute(
            "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", [f"word{index}x3"]
        ).fetchall()
        assert found[0] == rows[index][0]


_SURROGATE = re.compile("[\ud800-\udfff]")


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_surrogates_are_found_as_the_regex_finds_them(text: str) -> None:
    expected: Callable[[str], str] = lambda value: _SURROGATE.sub("\ufffd", value)  # noqa: E731
    assert without_surrogates(text) == expected(text)
    assert without_surrogates([text, {"k": text}]) == [expected(text), {"k": expected(text)}]
