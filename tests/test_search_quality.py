"""Search quality (review findings 16 and 17): a post with the words as typed ranks above one
that matches only another form of them (porter finds "parks" for "parking"), the title
first; and a hit's snippet comes from its text when the text matches, not from the title
shown right above it. Through the store, and end to end through `pln search`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import aggregator.query
import aggregator.store
from aggregator import query
from aggregator.models import Config, SiteConfig
from aggregator.store import FTS_WEIGHTS, Store
from tests.server import LocalHTTPServer
from tests.sites import Item, rss, write_site
from tests.test_search import NOW, person, pln, post

QUALITY_CONFIG = Config(
    path=Path("sources.yaml"),
    site=SiteConfig(title="T"),
    people=(
        person("Pia Planner", "https://p.example/feed"),
        person("Tom Transit", "https://t.example/feed"),
    ),
)
MINIMUMS = "What the parking minimums report means for small towns"
PLANTERS = "Borrowed forty planters from the parks depot"
WALK = "An evening walk by the river"
BUS_LANE = "Bus lane on Harbour Road is painted red as of today"
WATER = "Water quality today"
TIMETABLE = "Tram timetable"
CAFE = "A café on the square"
CAFES = "Cafés"

PIA_POSTS = [
    post("m", MINIMUMS, "The council asked what the report changes for housing.", 5),
    # The stem everywhere, "parking" nowhere: bm25 alone ranks it first for "parking".
    post(
        "p",
        PLANTERS,
        "The parks depot lent us planters. Parks staff parked a van by the "
        "park gate, and the park looked green.",
        1,
    ),
    post("w", WALK, "On the way back we found parking near the bridge, then rain.", 3),
    post("c1", CAFE, "Coffee and a view.", 7),
    post("c2", CAFES, "Cafés, cafés and more cafés: the cafés of the old town, each one.", 2),
]
TOM_POSTS = [
    post("bus", BUS_LANE, "The new bus lane opens on Monday; the bus comes every ten minutes.", 4),
    post("water", WATER, "Readings from the lake came back fine this morning.", 6),
    post("timetable", TIMETABLE, "", 8),
    # Every one of these holds "tram" in its title and its text: bm25 decides alone.
    post("t1", "Tram news", "tram " * 5 + "and more about the line", 9),
    post("t2", "Tram works on the bridge", "the tram stops there", 10),
    post("t3", "Tram", "a tram, a tram, a tram", 11),
    post("t4", "A very long title about the tram and many other things besides", "tram", 12),
    post(
        "n",
        "Notes",
        "Nothing much happened today.",
        13,
        author="Quinn Harper",
        categories=("ferries", "boats"),
    ),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("quality") / "pln.db"
    with Store.open(path) as writer:
        pia, tom = writer.sync_config(QUALITY_CONFIG, NOW)
        writer.record_success(pia.id, PIA_POSTS, NOW)
        writer.record_success(tom.id, TOM_POSTS, NOW)
    with Store.open_readonly(path) as reader:
        yield reader


def titles(store: Store, match: str, **options: object) -> list[str | None]:
    return [hit.title for hit in store.search(match, **options)]  # type: ignore[arg-type]


def by_bm25(store: Store, match: str) -> list[str]:
    """The titles of every match in bm25's order alone (ties to the newer post)."""
    weights = ", ".join(str(weight) for weight in FTS_WEIGHTS)
    rows = store.db.execute(
        f"""SELECT p.title FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid
        WHERE posts_fts MATCH ? ORDER BY bm25(posts_fts, {weights}), p.posted_at DESC""",
        [match],
    ).fetchall()
    return [row[0] for row in rows]


# ── the words as typed first ─────────────────────────────────────────────────────────────


def test_the_word_in_a_title_beats_a_post_with_only_its_stem(store: Store) -> None:
    assert by_bm25(store, "parking")[0] == PLANTERS  # what bm25 alone would put first
    # The title with the word, then the text with it, then the post with "parks" alone.
    assert titles(store, "parking") == [MINIMUMS, WALK, PLANTERS]
    assert titles(store, "Parking") == [MINIMUMS, WALK, PLANTERS]  # in any case
    assert titles(store, "parking", limit=1) == [MINIMUMS]  # the window is wider than 1


def test_the_word_in_a_text_beats_its_stem_in_a_title(store: Store) -> None:
    assert by_bm25(store, "parking NOT council") == [PLANTERS, WALK]
    assert titles(store, "parking NOT council") == [WALK, PLANTERS]


def test_diacritics_and_case_are_folded_as_fts5_folds_them(store: Store) -> None:
    assert by_bm25(store, "cafe")[0] == CAFES  # "cafés": the stem, many times
    for typed in ("cafe", "café", "CAFÉ", "title:cafe"):
        assert titles(store, typed) == [CAFE, CAFES], typed
    assert titles(store, "cafés") == [CAFES, CAFE]  # now the plural is the word typed


def test_where_every_post_holds_the_word_bm25_decides(store: Store) -> None:
    ranked = titles(store, "tram")
    assert ranked == by_bm25(store, "tram")
    assert len(ranked) == 5  # the four, and the timetable with no text
    hits = store.search("tram")
    assert [hit.rank for hit in hits] == sorted(hit.rank for hit in hits)


def test_a_prefix_asks_for_any_form_so_bm25_decides(store: Store) -> None:
    assert titles(store, "park*") == by_bm25(store, "park*")
    assert titles(store, "park*")[0] == PLANTERS


def test_sort_by_date_is_untouched(store: Store) -> None:
    assert titles(store, "parking", sort="date") == [PLANTERS, WALK, MINIMUMS]


def test_only_bm25s_best_window_is_reordered(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert by_bm25(store, "parking")[:2] == [PLANTERS, MINIMUMS]
    monkeypatch.setattr(aggregator.query, "RERANK_WINDOW", 1)
    assert titles(store, "parking", limit=1) == [PLANTERS]  # the window: bm25's best alone
    assert titles(store, "parking", limit=2) == [MINIMUMS, PLANTERS]  # the window is 2


def test_a_split_search_reorders_as_one_statement_does(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = store.search_results("parking", person="Pia Planner")
    assert [hit.title for hit in whole.hits] == [MINIMUMS, WALK, PLANTERS]
    halves: list[int] = []
    part = aggregator.store._part

    def counted_part(*args: object) -> object:
        halves.append(1)
        return part(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(aggregator.store, "SPLIT_MIN_IDS", 0)
    monkeypatch.setattr(aggregator.store, "_core_free", lambda: True)
    monkeypatch.setattr(aggregator.store, "_part", counted_part)
    assert store.search_results("parking", person="Pia Planner") == whole
    assert len(halves) == 2


def test_the_query_words_as_typed() -> None:
    assert query.own_words("parking") == ("parking",)
    assert query.own_words('Parking "Small Towns" OR café') == ("parking", "small", "towns", "cafe")
    assert query.own_words("parking NOT depot") == ("parking",)
    assert query.own_words("title:parking minim* NEAR(bus lane, 3)") == ("parking", "bus", "lane")
    assert query.own_words("recycl*") == ()
    assert query.own_words("it's e-learning") == ("it", "s", "e", "learning")


def test_exact_first_counts_words_in_the_title_then_anywhere() -> None:
    posts = [
        ("Parks", "parks and more parks", None, ""),  # the stem only
        ("A walk", "we found parking", "", ""),  # the word in the text
        ("Parking minimums", "", "", ""),  # the word in the title
        ("Park", "", "", "parking"),  # the word as a category
        ("Parking_lot reform", "", "", ""),  # "_" parts words, as in unicode61
        ("Carparking", "", "", ""),  # inside a longer word: not the word
    ]
    assert query.exact_first(["parking"], posts) == [2, 4, 1, 3, 0, 5]
    assert query.exact_first([], posts) == [0, 1, 2, 3, 4, 5]
    two = [("Small towns", "parking", "", ""), ("Parking in small towns", "", "", "")]
    assert query.exact_first(["parking", "small", "towns"], two) == [1, 0]


def test_fold_is_unicode61_with_diacritics_removed() -> None:
    assert query.fold("Café ZÜRICH Ångström") == "cafe zurich angstrom"
    assert query.fold("plain ascii") == "plain ascii"


# ── the snippet ──────────────────────────────────────────────────────────────────────────


@pytest.fixture(params=["one pass", "a query per hit"])
def snippet_way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways the store reads snippets: one FTS5 pass over the hits, or one per hit."""
    if request.param == "a query per hit":
        monkeypatch.setattr(aggregator.store, "SNIPPET_RANGE_ROWS", 0)


def snippet(store: Store, match: str, **options: object) -> str:
    (hit,) = store.search(match, **options)  # type: ignore[arg-type]
    return hit.snippet


@pytest.mark.usefixtures("snippet_way")
def test_the_snippet_comes_from_the_text_when_the_text_matches(store: Store) -> None:
    by_rank = snippet(store, "harbour bus")
    assert by_rank.startswith("The new \x02bus\x03 lane opens")
    assert "Harbour" not in by_rank  # the title is not repeated
    assert snippet(store, "harbour bus", sort="date") == by_rank


@pytest.mark.usefixtures("snippet_way")
def test_when_the_title_alone_matches_the_snippet_is_the_texts_start(store: Store) -> None:
    assert snippet(store, "quality") == "Readings from the lake came back fine this morning."
    # The text holds "bus", but the query asks for the title alone: nothing to highlight.
    assert snippet(store, "title:bus") == TOM_POSTS[0].text
    mixed = {hit.title: hit.snippet for hit in store.search("water OR bus")}
    assert mixed[WATER] == "Readings from the lake came back fine this morning."
    assert mixed[BUS_LANE].startswith("The new \x02bus\x03 lane")


@pytest.mark.usefixtures("snippet_way")
def test_otherwise_the_snippet_is_the_best_column(store: Store) -> None:
    assert snippet(store, "timetable") == "Tram \x02timetable\x03"  # a post with no text
    assert snippet(store, "harper") == "Quinn \x02Harper\x03"  # the author matched
    assert snippet(store, "categories:ferries") == "\x02ferries\x03, boats"


# ── through `pln search` ─────────────────────────────────────────────────────────────────


@pytest.fixture
def site(tmp_path: Path, http_server: LocalHTTPServer) -> Path:
    def item(entry: object, hours_ago: float) -> Item:
        title, text = entry.title, entry.text  # type: ignore[attr-defined]
        return Item(entry.guid, title, f"<p>{text}</p>" if text else "",  # type: ignore[attr-defined]
                    datetime(2026, 11, 20, tzinfo=UTC) - timedelta(hours=hours_ago))  # fmt: skip

    base = http_server.base_url
    pia = [item(entry, n) for n, entry in enumerate(PIA_POSTS)]
    tom = [item(entry, n + 0.5) for n, entry in enumerate(TOM_POSTS)]
    http_server.add("/pia.xml", rss(base, pia))
    http_server.add("/tom.xml", rss(base, tom, title="Tom's notes"))
    directory = tmp_path / "site"
    write_site(directory, {"Pia Planner": [f"{base}/pia.xml"], "Tom Transit": [f"{base}/tom.xml"]})
    fetched = pln(directory, "fetch")
    assert fetched.exit_code == 0, fetched.output
    return directory


def test_pln_search_ranks_the_word_first_and_shows_the_text(site: Path) -> None:
    result = pln(site, "search", "parking", "--format", "json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [hit["title"] for hit in hits] == [MINIMUMS, WALK, PLANTERS]
    fields = {"title", "url", "person", "source", "source_name", "kind", "published", "topics",
              "topic_terms", "snippet", "rank"}  # fmt: skip
    assert all(set(hit) == fields for hit in hits)
    assert hits[1]["snippet"] == "On the way back we found parking near the bridge, then rain."

    text = pln(site, "search", "bus")
    assert text.exit_code == 0, text.output
    assert text.stdout.count("Bus lane on Harbour Road") == 1  # the title, not the snippet
    assert "The new bus lane opens on Monday" in text.stdout
    water = json.loads(pln(site, "search", "quality", "--format", "json").stdout)
    assert [hit["snippet"] for hit in water] == [TOM_POSTS[1].text]
