"""Search: query syntax, stemming, diacritics, ranking and every option of `pln search`;
in the store, and end to end through the CLI against the local HTTP server."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aggregator.store
from aggregator import query, topics
from aggregator.cli import cli
from aggregator.errors import InvalidQueryError
from aggregator.models import (
    Config,
    ParsedPost,
    PersonConfig,
    SearchHit,
    SiteConfig,
    SourceConfig,
    SourceKind,
    TopicConfig,
)
from aggregator.query import SEARCH_CAP
from aggregator.store import FILTER_SET_LIMITS, SNIPPET_RANGE_ROWS, SPLIT_MIN_IDS, Store
from tests.server import LocalHTTPServer
from tests.sites import Item, atom, rss, write_site

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WATER = TopicConfig("Water resources", "water", 'water OR watershed OR drought OR "water quality"')
CIRCULAR = TopicConfig("Circular economy", "circular", '"circular economy" OR recycling OR reuse')


def post(
    guid: str, title: str, text: str = "", hours_ago: float = 0, **extra: object
) -> ParsedPost:
    return ParsedPost(
        guid=guid,
        link=f"https://a.example/{guid}",
        title=title,
        text=text,
        content_html=f"<p>{text}</p>",
        published=NOW - timedelta(hours=hours_ago),
        **extra,  # type: ignore[arg-type]
    )


def person(name: str, url: str) -> PersonConfig:
    return PersonConfig(
        name=name,
        slug=name.lower().replace(" ", "-"),
        sources=(SourceConfig(url, SourceKind.FEED, name),),
    )


CONFIG = Config(
    path=Path("sources.yaml"),
    site=SiteConfig(title="T"),
    topics=(WATER, CIRCULAR),
    people=(
        person("Alice Example", "https://a.example/feed"),
        person("Bob", "https://b.example/feed"),
    ),
)

ALICE_POSTS = [
    post("a1", "Drought", "dry summer, the drought emptied wells", 1),
    post("a2", "Notes from a meeting", "we talked about a drought for a while", 2),
    post("a3", "Le café du coin", "un café au Zürich", 3),
    post("a4", "Why e-learning works", "it's a study of e-learning at school", 4),
    post("a5", "Waters of the north", "the waters and the watering can", 5),
    post("a6", "Water quality report", "water quality is fine this year", 6),
    post("a7", "Recycling plans", "recycling and reuse: the circular economy", 7, author="Eve"),
    post("a8", "Quality water", "quality of tap water", 8),
]
BOB_POSTS = [
    post("b1", "Watershed restoration in practice", "watershed restoration, step by step", 1.5),
    post("b2", "A long walk", "words " * 40 + "watershed and restoration", 2.5),
    post("b3", "Restoration", "of a watershed near home", 3.5),
    # The same text twice, a day apart: equal scores, so the newer comes first.
    post("b4", "Twin", "identical twin text about aquifers", 30),
    post("b5", "Twin", "identical twin text about aquifers", 6),
    post("b6", "Tagged", "nothing but a tag", 9, categories=("drought",)),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("search") / "pln.db"
    with Store.open(path) as writer:
        alice, bob = writer.sync_config(CONFIG, NOW)
        writer.record_success(alice.id, ALICE_POSTS, NOW)
        writer.record_success(bob.id, BOB_POSTS, NOW)
        writer.retag_all(topics.topic_rules(CONFIG.topics), {}, topics.definitions_hash(CONFIG))
    with Store.open_readonly(path) as reader:
        yield reader


def titles(store: Store, query: str, **options: object) -> list[str | None]:
    return [hit.title for hit in store.search(query, **options)]  # type: ignore[arg-type]


# ── what a query finds ───────────────────────────────────────────────────────────────────


def test_stemming_finds_other_forms_of_a_word(corpus: Store) -> None:
    assert "Waters of the north" in titles(corpus, "water")
    assert "Water quality report" in titles(corpus, "waters")
    # The same posts; each word as typed ranks its own posts first (test_search_quality.py).
    assert set(titles(corpus, "watering")) == set(titles(corpus, "water"))
    assert titles(corpus, "watering")[0] == "Waters of the north"  # "the watering can"
    assert set(titles(corpus, "droughts")) == {"Drought", "Notes from a meeting", "Tagged"}


def test_diacritics_are_folded_both_ways(corpus: Store) -> None:
    assert titles(corpus, "cafe") == ["Le café du coin"]
    assert titles(corpus, "café") == ["Le café du coin"]
    assert titles(corpus, "zurich") == ["Le café du coin"]
    assert titles(corpus, "CAFÉ") == ["Le café du coin"]


def test_phrases_prefixes_and_booleans(corpus: Store) -> None:
    assert titles(corpus, '"water quality"') == ["Water quality report"]
    assert set(titles(corpus, "quality water")) == {"Water quality report", "Quality water"}
    assert titles(corpus, "recycl*") == ["Recycling plans"]
    assert set(titles(corpus, "cafe OR recycling")) == {"Le café du coin", "Recycling plans"}
    assert titles(corpus, "drought NOT meeting", limit=5) == ["Drought", "Tagged"]
    assert titles(corpus, "drought AND wells") == ["Drought"]
    assert titles(corpus, "(cafe OR tap) AND quality") == ["Quality water"]
    assert titles(corpus, "NEAR(watershed restoration, 1)") == [
        "Watershed restoration in practice",
        "A long walk",
    ]


def test_column_filters(corpus: Store) -> None:
    assert titles(corpus, "title:drought") == ["Drought"]
    assert titles(corpus, "author:eve") == ["Recycling plans"]
    assert titles(corpus, "categories:drought") == ["Tagged"]
    assert titles(corpus, "{title categories}: drought") == ["Drought", "Tagged"]


def test_ranking_has_a_known_best_answer(corpus: Store) -> None:
    ranked = titles(corpus, "watershed restoration")
    assert ranked[0] == "Watershed restoration in practice"  # in the title and the text
    assert ranked[-1] == "A long walk"  # once, deep in a long text
    assert titles(corpus, "drought")[0] == "Drought"  # the title weighs most
    hits = corpus.search("drought")
    assert [hit.rank for hit in hits] == sorted(hit.rank for hit in hits)


def test_ties_go_to_the_newer_post(corpus: Store) -> None:
    twins = corpus.search("aquifers")
    assert [hit.url for hit in twins] == ["https://a.example/b5", "https://a.example/b4"]
    assert twins[0].rank == twins[1].rank


def test_hits_carry_their_topics_and_the_terms_that_earned_them(corpus: Store) -> None:
    (hit,) = corpus.search("wells")
    assert hit.topics == ("water",)
    assert [(tag.slug, tag.terms) for tag in hit.tags] == [("water", ("drought",))]
    assert hit.person == "Alice Example"
    assert hit.source == "https://a.example/feed"
    assert "\x02wells\x03" in hit.snippet
    (recycling,) = corpus.search("recycling")
    assert {tag.slug: tag.terms for tag in recycling.tags} == {
        "circular": ("circular economy", "recycling", "reuse")
    }


def test_filters_sort_and_limit(corpus: Store) -> None:
    assert set(titles(corpus, "drought", topic="water")) == {
        "Drought",
        "Notes from a meeting",
        "Tagged",
    }
    assert titles(corpus, "recycling", topic="water") == []
    assert titles(corpus, "watershed", person="bob") == titles(corpus, "watershed")
    assert titles(corpus, "drought", person="alice example") == titles(
        corpus, "drought", person="alice-example"
    )
    assert titles(corpus, "drought", person="Bob") == ["Tagged"]
    assert titles(corpus, "drought", person="nobody") == []
    dated = titles(corpus, "drought OR watershed OR restoration", sort="date")
    assert dated[:3] == ["Drought", "Watershed restoration in practice", "Notes from a meeting"]
    assert len(titles(corpus, "drought OR watershed", limit=2)) == 2
    window = titles(
        corpus,
        "drought OR water",
        since=NOW - timedelta(hours=5, minutes=30),
        until=NOW - timedelta(hours=1, minutes=30),
        sort="date",
    )
    assert window == ["Notes from a meeting", "Waters of the north"]


# ── queries people type ──────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ('"water quality', "Water quality report"),  # a stray quote
        ("e-learning", "Why e-learning works"),
        ("it's", "Why e-learning works"),
        ("drought AND", "Drought"),  # a dangling operator
        ("title:", None),
        ("TITLE:drought", "Drought"),  # column names in any case
        ("(drought", "Drought"),
        ("café)", "Le café du coin"),
        ("*drought", "Drought"),
        ("drought - meeting", "Notes from a meeting"),
    ],
)
def test_queries_people_type_work(corpus: Store, typed: str, found: str | None) -> None:
    try:
        result = titles(corpus, typed)
    except InvalidQueryError:
        assert found is None, typed
        return
    if found is None:  # nothing it could mean: an error, or no hit
        assert result == [], (typed, result)
    else:
        assert found in result, (typed, result)


@pytest.mark.parametrize("typed", ["-", " - ", '"', "*", "()", "AND", "NOT OR", "", "   "])
def test_a_query_with_no_word_is_a_clear_error(corpus: Store, typed: str) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        corpus.search(typed)
    assert "no word" in str(raised.value)


QUERY_PIECES = [
    *"ab -\"*:^+{}(),.'\\\x00",
    "OR ",
    "AND ",
    "NOT ",
    "NEAR(",
    "title:",
    "text:",
    "{title author}:",
    "water",
    "café",
    "\ud800",  # a lone surrogate: undecodable bytes on a command line
    "🌊",
    " ",
]


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(),
        st.text(st.characters(codec=None, exclude_categories=())),
        st.lists(st.sampled_from(QUERY_PIECES), max_size=10).map("".join),
    )
)
def test_no_query_raises_anything_but_invalid_query(corpus: Store, typed: str) -> None:
    try:
        hits = corpus.search(typed, limit=5)
    except InvalidQueryError as error:
        assert str(error).startswith("invalid query")
        return
    assert len(hits) <= 5


# ── end to end through the CLI ───────────────────────────────────────────────────────────


def pln(site: Path, *args: str, **invoke: object) -> Result:
    return CliRunner().invoke(
        cli,
        ["--site", str(site), *args],
        catch_exceptions=False,
        **invoke,  # type: ignore[arg-type]
    )


BERLIN_MIDNIGHT = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)  # 00:30 on the 20th in Berlin


@pytest.fixture
def site(tmp_path: Path, http_server: LocalHTTPServer) -> Path:
    base = http_server.base_url
    alice = [
        Item("a-1", "Drought in the valley", "<p>the long drought dried the watershed</p>",
             BERLIN_MIDNIGHT),
        Item("a-2", "Meeting notes", "<p>we talked about drought briefly</p>",
             datetime(2026, 11, 18, 10, tzinfo=UTC)),
        Item("a-3", "Le café du coin", "<p>un café au coin</p>",
             datetime(2026, 11, 17, 10, tzinfo=UTC)),
    ]  # fmt: skip
    bob = [
        Item("b-1", "Recycling plans", "<p>recycling and reuse, the circular economy</p>",
             datetime(2026, 11, 19, 8, tzinfo=UTC)),
        *[Item(f"b-n{n}", f"Bulletin {n}", f"<p>bulletin number {n} of many</p>",
               datetime(2026, 10, 1, tzinfo=UTC) + timedelta(hours=n)) for n in range(30)],
    ]  # fmt: skip
    http_server.add("/alice.xml", rss(base, alice))
    http_server.add("/bob.atom", atom(base, bob), content_type="application/atom+xml")
    directory = tmp_path / "site"
    topic_documents = [
        {"name": WATER.name, "slug": WATER.slug, "match": WATER.match},
        {"name": CIRCULAR.name, "slug": CIRCULAR.slug, "match": CIRCULAR.match},
    ]
    write_site(
        directory,
        {"Alice Example": [f"{base}/alice.xml"], "Bob Builder": [f"{base}/bob.atom"]},
        topics=topic_documents,
        timezone="Europe/Berlin",
    )
    fetched = pln(directory, "fetch")
    assert fetched.exit_code == 0, fetched.output
    return directory


def search_json(site: Path, *args: str) -> list[dict[str, object]]:
    result = pln(site, "search", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert isinstance(hits, list)
    return hits


def test_search_json_fields(site: Path, http_server: LocalHTTPServer) -> None:
    (hit,) = search_json(site, "valley")
    assert hit == {
        "title": "Drought in the valley",
        "url": f"{http_server.base_url}/posts/a-1",
        "person": "Alice Example",
        "source": f"{http_server.base_url}/alice.xml",
        "source_name": "A blog",  # the feed's title (labels)
        "kind": "feed",
        "published": "2026-11-19T23:30:00+00:00",
        "topics": ["water"],
        "topic_terms": {"water": ["watershed", "drought"]},
        "snippet": "the long drought dried the watershed",  # the title alone matched
        "rank": hit["rank"],
    }
    assert isinstance(hit["rank"], float)


def test_search_options_of_the_spec(site: Path) -> None:
    def found(*args: str) -> list[object]:
        return [hit["title"] for hit in search_json(site, *args)]

    assert found("drought") == ["Drought in the valley", "Meeting notes"]
    assert found("drought", "--topic", "water") == ["Drought in the valley", "Meeting notes"]
    assert found("drought OR recycling", "--topic", "circular") == ["Recycling plans"]
    assert found("drought OR recycling", "--topic", "Circular economy") == ["Recycling plans"]
    assert found("drought OR recycling", "--topic", "CIRCULAR") == ["Recycling plans"]
    assert found("drought OR recycling", "--person", "Bob Builder") == ["Recycling plans"]
    assert found("drought OR recycling", "--person", "bob-builder") == ["Recycling plans"]
    assert found("drought OR recycling", "--person", "alice example") == [
        "Drought in the valley",
        "Meeting notes",
    ]
    # Days are days in site.timezone: 23:30 UTC on the 19th is the 20th in Berlin.
    assert found("drought", "--since", "2026-11-20") == ["Drought in the valley"]
    assert found("drought", "--until", "2026-11-19") == ["Meeting notes"]
    assert found(
        "drought OR cafe", "--since", "2026-11-17", "--until", "2026-11-18", "--sort", "date"
    ) == [
        "Meeting notes",
        "Le café du coin",
    ]
    assert len(found("bulletin")) == 20  # the default limit
    assert len(found("bulletin", "--limit", "3")) == 3
    assert found("bulletin", "--sort", "date", "--limit", "2") == ["Bulletin 29", "Bulletin 28"]
    by_rank = found("drought OR recycling OR cafe", "--sort", "rank")
    assert sorted(by_rank) == [
        "Drought in the valley",
        "Le café du coin",
        "Meeting notes",
        "Recycling plans",
    ]


def test_search_usage_errors_exit_2(site: Path) -> None:
    unknown = pln(site, "search", "drought", "--topic", "wter")
    assert unknown.exit_code == 2
    assert "no topic 'wter'" in unknown.stderr and "water, circular" in unknown.stderr
    backwards = pln(site, "search", "drought", "--since", "2026-11-20", "--until", "2026-11-01")
    assert backwards.exit_code == 2
    bad_day = pln(site, "search", "drought", "--since", "yesterday")
    assert bad_day.exit_code == 2
    nothing = pln(site, "search", "-")
    assert nothing.exit_code == 2
    assert "no word" in nothing.stderr and "Traceback" not in nothing.output
    assert pln(site, "search", "drought", "--limit", "0").exit_code == 2


def test_search_text_for_a_person(site: Path, http_server: LocalHTTPServer) -> None:
    result = pln(site, "search", "watershed")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "1. Drought in the valley"
    assert lines[1] == "   Alice Example · A blog · 2026-11-20"  # her feed's title; Berlin's day
    assert lines[2] == "   water: watershed, drought"
    assert lines[3] == f"   {http_server.base_url}/posts/a-1"
    assert "dried the watershed" in lines[4]
    assert "\x1b" not in result.stdout and "\x02" not in result.stdout  # not a terminal
    nothing = pln(site, "search", "zeppelin")
    assert nothing.exit_code == 0 and "No match." in nothing.stderr
    stranger = pln(site, "search", "drought", "--person", "Zed")
    assert stranger.exit_code == 2  # a name that matches no one is a typo, as --topic's
    assert "no one named 'Zed' in sources.yaml" in stranger.stderr


def test_matches_are_bold_on_a_terminal_and_plain_with_no_color(site: Path) -> None:
    forced = pln(
        site, "search", "watershed", env={"FORCE_COLOR": "1", "NO_COLOR": None}, color=True
    )
    assert "\x1b[1mwatershed\x1b[22m" in forced.stdout
    assert "\x1b[1m1. Drought in the valley" in forced.stdout
    plain = pln(site, "search", "watershed", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}, color=True)
    assert "\x1b[" not in plain.stdout
    assert "dried the watershed" in plain.stdout


class PagerSpy:
    def __init__(self) -> None:
        self.pages: list[str] = []

    def __call__(self, text: str, color: bool | None = None) -> None:
        self.pages.append(text)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> PagerSpy:
    """A 10-line terminal on standard output, and a pager that only records."""
    import aggregator.cli

    spy = PagerSpy()
    monkeypatch.setattr(aggregator.cli, "_stdout_is_terminal", lambda: True)
    monkeypatch.setattr(
        aggregator.cli.shutil, "get_terminal_size", lambda: os.terminal_size((80, 10))
    )
    monkeypatch.setattr(click, "echo_via_pager", spy)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return spy


def test_long_results_are_paged_on_a_terminal(site: Path, terminal: PagerSpy) -> None:
    long = pln(site, "search", "bulletin")
    assert long.exit_code == 0
    (page,) = terminal.pages
    assert "20. Bulletin" in page and "\x1b[1m" in page  # bold on a terminal
    assert long.stdout == ""

    terminal.pages.clear()
    unpaged = pln(site, "search", "bulletin", "--no-pager")
    assert terminal.pages == [] and "20. Bulletin" in unpaged.stdout

    short = pln(site, "search", "valley")
    assert terminal.pages == [] and "1. Drought in the valley" in short.stdout


def test_search_help_explains_the_syntax(site: Path) -> None:
    result = pln(site, "search", "--help")
    assert result.exit_code == 0
    for words in ("title:drought", "--no-pager", "prefix*", "cafe finds café", "site.timezone"):
        assert words in result.stdout, words


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from([p for p in QUERY_PIECES if "\x00" not in p and "\ud800" not in p]),
        min_size=1,
        max_size=8,
    ).map("".join)
)
def test_any_typed_query_is_an_answer_or_a_clear_error(site: Path, typed: str) -> None:
    if typed.startswith("-"):
        typed = " " + typed  # click would read it as an option; a person types `-- -x`
    result = pln(site, "search", typed)
    assert result.exit_code in (0, 2), (typed, result.output)
    if result.exit_code == 2:
        assert result.stderr.startswith("error: invalid query"), result.stderr


# ── one statement: the same answers as the four statements before it ─────────────────────


def reference_search(store: Store, match: str, **filters: object) -> list[tuple[object, ...]]:
    """What search answered before its statements were merged: ranked ids, then details,
    snippets and topics each by its own statement (the code of commit 03237d7, inlined);
    since review findings 16 and 17 (H), bm25's best 200 put in query.exact_first's order
    (tested in test_search_quality.py), and the snippet from the text when it matches or
    when the title does."""
    clauses = ["posts_fts MATCH :match"]
    params: dict[str, object] = {"match": match}
    if "person" in filters:
        clauses.append(
            "p.source_id IN (SELECT s.id FROM sources s JOIN people pe ON pe.id = s.person_id "
            "WHERE pe.name = :person COLLATE NOCASE OR pe.slug = lower(:person))"
        )
    if "topic" in filters:
        clauses.append("p.id IN (SELECT post_id FROM post_topics WHERE topic = :topic)")
    if "since" in filters:
        clauses.append("p.posted_at >= :since")
    if "until" in filters:
        clauses.append("p.posted_at < :until")
    for key, value in filters.items():
        params[key] = value.isoformat() if isinstance(value, datetime) else value
    by_date = bool(filters.pop("sort", None))
    order = "p.posted_at DESC, score" if by_date else "score, p.posted_at DESC"
    window = store.db.execute(
        f"""SELECT p.id, bm25(posts_fts, 10.0, 1.0, 3.0, 2.0) AS score,
        p.title, p.text, p.author, p.categories
        FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid
        WHERE {" AND ".join(clauses)} ORDER BY {order} LIMIT {20 if by_date else 200}""",
        params,
    ).fetchall()
    if not by_date:
        words = query.own_words(match)
        window = [window[i] for i in query.exact_first(words, [row[2:] for row in window])]
    answers = []
    for post_id, score, *_fields in window[:20]:
        title, person_name = store.db.execute(
            """SELECT p.title, pe.name FROM posts p JOIN sources s ON s.id = p.source_id
            JOIN people pe ON pe.id = s.person_id WHERE p.id = ?""",
            [post_id],
        ).fetchone()
        in_text, in_title, best = store.db.execute(
            "SELECT snippet(posts_fts, 1, char(2), char(3), '…', 24), "
            "snippet(posts_fts, 0, char(2), char(3), '…', 24), "
            "snippet(posts_fts, -1, char(2), char(3), '…', 24) FROM posts_fts "
            "WHERE posts_fts MATCH ? AND rowid = ?",
            [match, post_id],
        ).fetchone()
        text_start = in_text and "\x02" in in_title  # the title matched: the text's start
        snippet = in_text if "\x02" in in_text or text_start else best
        tags = store.db.execute(
            "SELECT topic, terms FROM post_topics WHERE post_id = ? ORDER BY topic", [post_id]
        ).fetchall()
        answers.append((post_id, score, title, person_name, snippet, [tuple(t) for t in tags]))
    return answers


def answers(store: Store, match: str, **filters: object) -> list[tuple[object, ...]]:
    return [
        (
            hit.id,
            hit.rank,
            hit.title,
            hit.person,
            hit.snippet,
            [(tag.slug, topics.format_terms(tag.terms)) for tag in hit.tags],
        )
        for hit in store.search(match, **filters)  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize(
    "match",
    ["drought", "water", "watershed restoration", "aquifers", '"water quality"', "cafe OR tap",
     "recycl*", "title:drought", "quality water", "restoration OR drought OR water"],
)  # fmt: skip
@pytest.mark.parametrize(
    "filters",
    [{}, {"person": "Bob"}, {"person": "alice-example"}, {"topic": "water"},
     {"since": NOW - timedelta(hours=5)}, {"until": NOW - timedelta(hours=3)},
     {"sort": "date"}, {"topic": "water", "person": "Alice Example",
                        "since": NOW - timedelta(days=1)}],
)  # fmt: skip
# Each filter as a set of ids (every filter of these few posts), or checked per row; the
# snippets in one pass over the hits' rowids, or one FTS5 query per hit.
@pytest.mark.parametrize(
    ("set_limit", "snippet_rows"), [(max(FILTER_SET_LIMITS.values()), SNIPPET_RANGE_ROWS), (0, 0)]
)
# A filtered search in one statement, or in two halves of ids on two threads.
@pytest.mark.parametrize("split_min_ids", [SPLIT_MIN_IDS, 0])
def test_one_statement_answers_as_the_four_did(
    corpus: Store,
    match: str,
    filters: dict[str, object],
    set_limit: int,
    snippet_rows: int,
    split_min_ids: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aggregator.store, "SNIPPET_RANGE_ROWS", snippet_rows)
    monkeypatch.setattr(aggregator.store, "SPLIT_MIN_IDS", split_min_ids)
    monkeypatch.setattr(aggregator.store, "_core_free", lambda: True)  # however busy
    monkeypatch.setattr(
        aggregator.store, "FILTER_SET_LIMITS", dict.fromkeys(FILTER_SET_LIMITS, set_limit)
    )
    expected = reference_search(corpus, match, **dict(filters))
    assert answers(corpus, match, **filters) == expected
    assert answers(corpus, match, cap=None, **filters) == expected  # nothing near the cap


# ── the cap: only the newest matches ranked when very many match ─────────────────────────

RIVER_CONFIG = Config(
    path=Path("sources.yaml"),
    site=SiteConfig(title="T"),
    topics=(WATER,),
    people=(
        person("Old Olga", "https://o.example/feed"),
        person("New Nina", "https://n.example/feed"),
    ),
)
RIVER_CAP = 40


def river_post(number: int, hours_ago: float) -> ParsedPost:
    # Each post says "river" a different number of times, so their scores differ; every
    # third is about a drought too (the water topic).
    words = ["river"] * (1 + number % 7) + ["bank"] * (number % 5) + ["mud"] * 20
    if number % 3 == 0:
        words.append("drought")
    return post(f"r{number}", f"Notes {number}", " ".join(words), hours_ago)


@pytest.fixture(scope="module")
def rivers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """300 posts saying "river": Olga's 60 first (the oldest rows), then Nina's 240; and one
    old post of Olga's with "river" in its title, the best match of all."""
    path = tmp_path_factory.mktemp("rivers") / "pln.db"
    with Store.open(path) as writer:
        olga, nina = writer.sync_config(RIVER_CONFIG, NOW)
        best = post("best", "River river river", "river river river", 5000)
        writer.record_success(olga.id, [best] + [river_post(n, 1000 + n) for n in range(60)], NOW)
        writer.record_success(nina.id, [river_post(n, 300 - n) for n in range(60, 300)], NOW)
        writer.retag_all(
            topics.topic_rules(RIVER_CONFIG.topics), {}, topics.definitions_hash(RIVER_CONFIG)
        )
    with Store.open_readonly(path) as reader:
        yield reader


def every_match(store: Store, match: str, **filters: object) -> list[SearchHit]:
    return store.search(match, limit=1000, cap=None, **filters)  # type: ignore[arg-type]


def best_of_newest(hits: list[SearchHit], newest: int, limit: int = 20) -> list[int]:
    """The ids of the best ``limit`` among the ``newest`` last-stored of ``hits``, in the order
    search ranks them (score, then the newer date)."""
    kept = sorted(hits, key=lambda hit: hit.id)[-newest:]
    assert all(hit.published for hit in kept)
    kept.sort(key=lambda hit: (hit.rank, -hit.published.timestamp()))  # type: ignore[union-attr]
    return [hit.id for hit in kept[:limit]]


def test_over_the_cap_only_the_newest_matches_are_ranked(rivers: Store) -> None:
    everything = every_match(rivers, "river")
    assert len(everything) == 301
    capped = rivers.search_results("river", cap=RIVER_CAP)
    assert capped.ranked_newest == RIVER_CAP
    assert [hit.id for hit in capped.hits] == best_of_newest(everything, RIVER_CAP)
    newest_ids = sorted(hit.id for hit in everything)[-RIVER_CAP:]
    assert {hit.id for hit in capped.hits} <= set(newest_ids)
    # The best match of all is old: ranked first when every match is ranked, and not
    # among the newest 40.
    assert everything[0].title == "River river river"
    assert "River river river" not in [hit.title for hit in capped.hits]
    exhaustive = rivers.search_results("river", cap=None)
    assert exhaustive.ranked_newest is None
    assert exhaustive.hits[0].title == "River river river"
    assert [hit.id for hit in exhaustive.hits] == [hit.id for hit in everything[:20]]


def test_under_the_cap_nothing_changes(rivers: Store) -> None:
    for match, filters in [("bank", {}), ("river", {"person": "Old Olga"}), ("drought", {})]:
        under = rivers.search_results(match, cap=1000, **filters)  # type: ignore[arg-type]
        assert under.ranked_newest is None
        assert under.hits == rivers.search(match, cap=None, **filters)  # type: ignore[arg-type]


def test_exactly_the_cap_is_not_over_it(rivers: Store) -> None:
    count = len(every_match(rivers, "drought"))
    assert count == 100  # every third of 300
    assert rivers.search_results("drought", cap=count).ranked_newest is None
    assert rivers.search_results("drought", cap=count - 1).ranked_newest == count - 1


@pytest.mark.parametrize("set_limit", [max(FILTER_SET_LIMITS.values()), 0])
def test_filters_stay_exact_under_the_cap(
    rivers: Store, set_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        aggregator.store, "FILTER_SET_LIMITS", dict.fromkeys(FILTER_SET_LIMITS, set_limit)
    )
    # Olga's posts are the oldest rows: the newest 40 matches of "river" are all Nina's,
    # yet a search for Olga's finds hers, ranked in full (61 matches: over the cap too).
    olga = every_match(rivers, "river", person="Old Olga")
    assert len(olga) == 61 and {hit.person for hit in olga} == {"Old Olga"}
    capped = rivers.search_results("river", person="Old Olga", cap=RIVER_CAP)
    assert capped.ranked_newest == RIVER_CAP
    assert {hit.person for hit in capped.hits} == {"Old Olga"}
    assert [hit.id for hit in capped.hits] == best_of_newest(olga, RIVER_CAP)
    # A topic and a date range: the newest 40 of those that pass the filters.
    since = NOW - timedelta(hours=1030)
    tagged = every_match(rivers, "river", topic="water", since=since)
    assert len(tagged) > RIVER_CAP and all(hit.topics == ("water",) for hit in tagged)
    capped = rivers.search_results("river", topic="water", since=since, cap=RIVER_CAP)
    assert capped.ranked_newest == RIVER_CAP
    assert [hit.id for hit in capped.hits] == best_of_newest(tagged, RIVER_CAP)
    old_enough = every_match(rivers, "river", until=NOW - timedelta(hours=999))
    assert len(old_enough) == 61 and all(hit.person == "Old Olga" for hit in old_enough)


# ── a filtered search split in two halves of ids, each on its own thread ──────────────────
# The rivers' ids run from 1 (the best, Olga's) to 301; Olga's are 1–61, Nina's 62–301. With
# every filtered search split, the halves are ids 0–150 and 151–301.
def split_every_filtered_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aggregator.store, "SPLIT_MIN_IDS", 0)
    monkeypatch.setattr(aggregator.store, "_core_free", lambda: True)  # however busy


SPLIT_CASES: list[tuple[str, dict[str, object], int]] = [
    # the newer half alone holds more than the cap: the older one is not waited for
    ("river", {"person": "New Nina"}, RIVER_CAP),
    # the newer half holds none of Olga's: the cap is reached in the older half
    ("river", {"person": "Old Olga"}, RIVER_CAP),
    # the newer half holds exactly the cap (151 of Nina's): the older half only cuts
    ("river", {"person": "New Nina"}, 151),
    ("river", {"person": "New Nina"}, 152),
    # under the cap, both halves ranked in full; none at all; a topic and dates
    ("river", {"topic": "water"}, 1000),
    ("drought", {"topic": "water"}, 99),
    ("drought", {"topic": "water"}, 100),
    ("nothing", {"topic": "water"}, RIVER_CAP),
    ("river bank", {"since": NOW - timedelta(hours=1030), "person": "Old Olga"}, 10),
    ("river", {"until": NOW - timedelta(hours=200), "topic": "water"}, 30),
    # a query FTS5 cannot parse, retried as its words
    ("river AND", {"person": "Old Olga"}, RIVER_CAP),
]


@pytest.mark.parametrize(("match", "filters", "cap"), SPLIT_CASES)
def test_a_split_search_answers_as_one_statement(
    rivers: Store,
    match: str,
    filters: dict[str, object],
    cap: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole = rivers.search_results(match, cap=cap, **filters)  # type: ignore[arg-type]
    halves: list[int] = []
    part = aggregator.store._part

    def counted_part(*args: object) -> object:
        halves.append(1)
        return part(*args)  # type: ignore[arg-type]

    split_every_filtered_search(monkeypatch)
    monkeypatch.setattr(aggregator.store, "_part", counted_part)
    split = rivers.search_results(match, cap=cap, **filters)  # type: ignore[arg-type]
    assert len(halves) >= 2  # it was split
    assert split == whole
    assert [hit.rank for hit in split.hits] == [hit.rank for hit in whole.hits]


def test_a_split_search_keeps_the_newest_passing_matches_of_both_halves(
    rivers: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Olga's 61 matches are all in the older half; with Nina's, over the cap of 250 (301
    # match): the newest 250 are Nina's 240 and Olga's newest 10, ranked together.
    split_every_filtered_search(monkeypatch)
    since = NOW - timedelta(days=1000)
    everything = every_match(rivers, "river", since=since)
    assert len(everything) == 301
    split = rivers.search_results("river", since=since, cap=250, limit=300)
    assert split.ranked_newest == 250
    assert [hit.id for hit in split.hits] == best_of_newest(everything, 250, limit=300)
    assert {hit.person for hit in split.hits} == {"Old Olga", "New Nina"}


def test_a_split_search_sees_what_its_own_transaction_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second connection would not see an uncommitted edit of an old post (in the older
    # half): inside a transaction the search is not split.
    split_every_filtered_search(monkeypatch)
    with Store.open(tmp_path / "pln.db") as store:
        olga, _nina = store.sync_config(RIVER_CONFIG, NOW)
        store.record_success(olga.id, [river_post(n, 10 - n) for n in range(6)], NOW)
        edited = post("r0", "Notes 0", "river estuary", 10)
        with store.batch():
            store.record_success(olga.id, [edited], NOW)
            found = store.search("estuary", person="Old Olga")
        assert [hit.title for hit in found] == ["Notes 0"]
        assert store.search("estuary", person="Old Olga") == found  # split, once committed


def test_the_second_connection_closes_with_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    split_every_filtered_search(monkeypatch)
    with Store.open(tmp_path / "pln.db") as writer:
        olga, _nina = writer.sync_config(RIVER_CONFIG, NOW)
        writer.record_success(olga.id, [river_post(n, n) for n in range(5)], NOW)
    store = Store.open_readonly(tmp_path / "pln.db")
    assert len(store.search("river", person="Old Olga")) == 5
    side = store._side
    assert side is not None
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        side.execute("SELECT 1")


def test_a_busy_machine_runs_a_search_whole(rivers: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aggregator.store, "SPLIT_MIN_IDS", 0)
    monkeypatch.setattr(aggregator.store.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(aggregator.store.os, "getloadavg", lambda: (2.5, 1.0, 1.0))
    assert not aggregator.store._core_free()
    halves: list[object] = []
    monkeypatch.setattr(aggregator.store, "_part", lambda *args: halves.append(args))
    assert rivers.search("river", person="Old Olga", cap=RIVER_CAP)  # one statement
    assert halves == []
    monkeypatch.setattr(aggregator.store.os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert aggregator.store._core_free()

    def no_load_average() -> tuple[float, float, float]:
        raise OSError("no load average")

    monkeypatch.setattr(aggregator.store.os, "getloadavg", no_load_average)
    assert aggregator.store._core_free()


def test_a_date_range_bounds_the_ids_of_its_matches(rivers: Store) -> None:
    since, until = NOW - timedelta(hours=250), NOW - timedelta(hours=100)
    params = {"since": since.isoformat(), "until": until.isoformat()}
    plan = rivers._search_plan(("dates",), params, True, True)
    ids = [
        row[0]
        for row in rivers.db.execute(
            "SELECT id FROM posts WHERE posted_at >= :since AND posted_at < :until", params
        ).fetchall()
    ]
    assert (plan.id_low, plan.id_high) == (min(ids), max(ids))
    assert plan.forms == (("dates", "set"),)
    # Without dates, or with more posts in the range than a set holds: every id.
    assert rivers._search_plan(("person",), {"person": "x"}, False, False).id_high == 301
    wide = {**FILTER_SET_LIMITS, "dates": 10}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aggregator.store, "FILTER_SET_LIMITS", wide)
        plan = rivers._search_plan(("dates",), params, True, True)
    assert (plan.forms, plan.id_low, plan.id_high) == ((("dates", "row"),), 0, 301)


def test_sort_by_date_looks_at_every_match(rivers: Store) -> None:
    dated = rivers.search_results("river", sort="date", cap=RIVER_CAP, limit=500)
    assert dated.ranked_newest is None
    assert len(dated.hits) == 301
    assert dated.hits[-1].title == "River river river"  # the oldest, last


def numbered_titles(text: str) -> set[str]:
    """The titles of the hits in `pln search`'s text ("3. Title")."""
    return {line.split(". ", 1)[1] for line in text.splitlines() if line[:1].isdigit()}


def test_pln_search_says_when_only_the_newest_were_ranked(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aggregator.app

    monkeypatch.setattr(aggregator.app, "SEARCH_CAP", 5)
    capped = pln(site, "search", "bulletin", "--no-pager")  # 30 match
    assert capped.exit_code == 0
    assert capped.stderr.strip().endswith(
        "Ranked the newest 5 matches only; --exhaustive ranks every match."
    )
    assert numbered_titles(capped.stdout) == {f"Bulletin {n}" for n in range(25, 30)}  # newest
    everything = pln(site, "search", "bulletin", "--exhaustive", "--no-pager")
    assert "Ranked the newest" not in everything.stderr
    assert len(numbered_titles(everything.stdout)) == 20
    # The JSON on standard output stays the array of SPEC.md; the note goes to stderr.
    as_json = pln(site, "search", "bulletin", "--format", "json")
    assert len(json.loads(as_json.stdout)) == 5 and "Ranked the newest 5" in as_json.stderr
    under = pln(site, "search", "drought")  # 2 match: under the cap
    assert "Ranked the newest" not in under.stderr
    quiet = pln(site, "-q", "search", "bulletin")
    assert quiet.exit_code == 0 and "Ranked the newest" not in quiet.stderr


def test_search_help_tells_of_the_cap(site: Path) -> None:
    result = pln(site, "search", "--help")
    assert "--exhaustive" in result.stdout
    assert f"{SEARCH_CAP:,}" in " ".join(result.stdout.split())
