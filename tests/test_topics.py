"""Topics: the terms of a topic query, tagging in the store, re-tagging, trends; end to end
through `pln fetch`, `pln retag` and `pln trends` against the local HTTP server."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import topics
from aggregator.cli import cli
from aggregator.models import (
    Config,
    MastodonCursor,
    MastodonRead,
    ParsedPost,
    PersonConfig,
    SearchHit,
    SiteConfig,
    SourceConfig,
    SourceKind,
    TopicConfig,
    TopicTag,
)
from aggregator.store import Store, check_fts_query
from aggregator.topics import Term, TermCount, query_terms, rank_trends
from tests.mastodon_server import FakeInstance
from tests.server import LocalHTTPServer
from tests.sites import Item, atom, html_page, json_feed, rss, write_site

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

WATER = TopicConfig("Water resources", "water", 'water OR watershed OR drought OR "water quality"')
CIRCULAR = TopicConfig("Circular economy", "circular", '"circular economy" OR recycling OR reuse')
ENERGY = TopicConfig("Energy", "energy", "solar OR NEAR(energy storage, 3) OR title:wind*")
TOPICS = (WATER, CIRCULAR, ENERGY)


# ── the terms of a query ─────────────────────────────────────────────────────────────────


def labels(match: str) -> list[str]:
    return [term.label for term in query_terms(match)]


def test_terms_of_the_spec_examples() -> None:
    assert labels(WATER.match) == ["water", "watershed", "drought", "water quality"]
    assert labels(CIRCULAR.match) == ["circular economy", "recycling", "reuse"]


def test_terms_keep_column_filters_prefixes_and_initial_tokens() -> None:
    (flood,) = query_terms("title:flood*")
    assert flood == Term("flood*", '{"title"} : "flood"*')
    (both,) = query_terms("{title text}: solar")
    assert both.query == '{"title" "text"} : "solar"'
    (first,) = query_terms("^drought")
    assert first.query == '^ "drought"'
    (outside,) = query_terms("-author: water")
    assert outside.query == '- {"author"} : "water"'
    assert labels("title:(dam OR levee)") == ["dam", "levee"]
    assert [t.query for t in query_terms("title:(dam OR levee)")] == [
        '{"title"} : "dam"',
        '{"title"} : "levee"',
    ]


def test_terms_leave_out_what_cannot_make_a_post_match() -> None:
    assert labels("water NOT desalination") == ["water"]
    assert labels("water NOT (desalination OR bottled) drought") == ["water", "drought"]
    assert labels("water AND drought OR flood") == ["water", "drought", "flood"]


def test_near_groups_and_plus_phrases() -> None:
    assert labels("NEAR(energy storage, 3)") == ["energy", "storage"]
    assert labels('NEAR("heat pump" grid)') == ["heat pump", "grid"]
    assert labels("one + two*") == ["one two*"]
    assert labels('"don\'t panic" OR water') == ["don t panic", "water"]


def test_duplicate_terms_are_one() -> None:
    assert labels("water OR (water AND drought)") == ["water", "drought"]


def test_operators_are_case_sensitive_as_in_fts5() -> None:
    # Lower-case "or" is a word to FTS5, not an operator.
    assert labels("water or drought") == ["water", "or", "drought"]


QUERY_PIECES = [*'ab ()"*:^+{}-,', "OR ", "NOT ", "AND ", "NEAR(", "title", "water", "2"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(QUERY_PIECES), max_size=12).map("".join))
def test_terms_of_any_text_never_raise_and_always_parse(match: str) -> None:
    terms = query_terms(match)
    if check_fts_query(match) is not None:
        return  # FTS5 refuses it: config checking stops it before tagging ever runs
    for term in terms:
        assert term.label and "," not in term.label
        assert check_fts_query(term.query) is None, (match, term)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_terms_of_arbitrary_unicode_never_raise(match: str) -> None:
    for term in query_terms(match):
        assert term.label


# ── the definitions hash ─────────────────────────────────────────────────────────────────


def config_with(topic_list: Sequence[TopicConfig], person_topics: tuple[str, ...] = ()) -> Config:
    person = PersonConfig(
        name="Alice",
        slug="alice",
        sources=(SourceConfig("https://a.example/feed", SourceKind.FEED, "Alice"),),
        topics=person_topics,
    )
    return Config(
        path=Path("sources.yaml"),
        site=SiteConfig(title="T"),
        topics=tuple(topic_list),
        people=(person,),
    )


def test_the_hash_follows_what_decides_the_tags() -> None:
    base = topics.definitions_hash(config_with(TOPICS))
    renamed = replace(WATER, name="Water", line=40)
    assert topics.definitions_hash(config_with((renamed, CIRCULAR, ENERGY))) == base
    assert topics.definitions_hash(config_with((ENERGY, WATER, CIRCULAR))) == base
    edited = replace(WATER, match="water OR drought")
    assert topics.definitions_hash(config_with((edited, CIRCULAR, ENERGY))) != base
    assert topics.definitions_hash(config_with((WATER, CIRCULAR))) != base
    assert topics.definitions_hash(config_with(TOPICS, ("energy",))) != base


# ── trends, pure ─────────────────────────────────────────────────────────────────────────


def test_log_likelihood_is_zero_for_equal_shares_and_grows_with_evidence() -> None:
    assert topics.log_likelihood(10, 100, 100, 1000) == pytest.approx(0.0, abs=1e-9)
    small = topics.log_likelihood(2, 10, 1, 100)
    large = topics.log_likelihood(20, 100, 10, 1000)
    assert 0 < small < large


def test_rank_trends_puts_the_rise_first_and_leaves_out_noise() -> None:
    counts = [
        TermCount("microplastics", recent=12, before=1, people=4),
        TermCount("garden", recent=30, before=290, people=5),  # as common as ever
        TermCount("the", recent=100, before=10, people=5),  # a stop word
        TermCount("drought", recent=20, before=2, people=4),  # the user's own topic word
        TermCount("droughts", recent=9, before=0, people=3),  # its plural
        TermCount("podcast", recent=15, before=0, people=1),  # one person's habit
        TermCount("heatwave", recent=5, before=0, people=2),
        TermCount("heatwaves", recent=3, before=0, people=2),
        TermCount("2026", recent=40, before=0, people=5),  # a number
        TermCount("flood", recent=2, before=0, people=2),  # too few posts to tell
        TermCount("recycled", recent=9, before=0, people=3),  # matches the prefix recycl*
    ]
    excluded = topics.topic_words((WATER, replace(CIRCULAR, match="recycl* OR reuse")))
    ranked = rank_trends(counts, 100, 1000, excluded=excluded, min_people=2)
    assert [trend.term for trend in ranked] == ["microplastics", "heatwave"]
    first = ranked[0]
    assert (first.posts, first.people, first.before_posts) == (12, 4, 1)
    assert first.share == pytest.approx(0.12)
    assert first.before_share == pytest.approx(0.001)


def test_rank_trends_needs_history() -> None:
    assert rank_trends([TermCount("anything", 10, 0, 3)], 50, 0) == []
    assert rank_trends([TermCount("anything", 10, 0, 3)], 0, 50) == []


def test_tags_are_put_in_the_order_of_sources_yaml() -> None:
    hit = SearchHit(
        title="t",
        url=None,
        person="p",
        source="s",
        kind=SourceKind.FEED,
        published=None,
        topics=("circular", "energy", "old", "water"),
        snippet="",
        rank=0.0,
        tags=(TopicTag("circular"), TopicTag("energy"), TopicTag("old"), TopicTag("water")),
    )
    ordered = topics.in_topic_order(hit, ["water", "energy", "circular"])
    assert ordered.topics == ("water", "energy", "circular", "old")
    assert [tag.slug for tag in ordered.tags] == ["water", "energy", "circular", "old"]


# ── tagging in the store ─────────────────────────────────────────────────────────────────


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "pln.db")
    yield opened
    opened.close()


def post(guid: str, title: str, text: str = "", **extra: object) -> ParsedPost:
    return ParsedPost(
        guid=guid,
        link=f"https://a.example/{guid}",
        title=title,
        text=text,
        content_html=f"<p>{text}</p>",
        **extra,  # type: ignore[arg-type]
    )


RULES = topics.topic_rules(TOPICS)


def tags_of(store: Store) -> dict[str, dict[str, tuple[str, ...]]]:
    """guid → topic slug → terms, for every post."""
    rows = store.db.execute("SELECT id, guid FROM posts").fetchall()
    found = store.topic_tags([post_id for post_id, _ in rows])
    return {guid: {tag.slug: tag.terms for tag in found.get(post_id, ())} for post_id, guid in rows}


def test_new_posts_are_tagged_with_the_terms_that_earned_them(store: Store) -> None:
    config = config_with(TOPICS)
    (state,) = store.sync_config(config, NOW)
    store.record_success(
        state.id,
        [
            post("1", "Dry summer", "the droughts emptied the watershed"),
            post("2", "Notes", "a waterfall, solaris and windmills"),  # near misses
            post("3", "Windmills", "recycled paper and energy storage at home"),
            post("4", "Grid", "energy prices rose all through the winter despite storage"),
            post("5", "Tags", "nothing here", categories=("Drought",)),
            post("6", "By", "nothing here", author="Water Quality Lab"),
        ],
        NOW,
    )
    assert store.untagged_count() == 6
    assert store.tag_untagged(RULES, {}) == 6
    assert store.untagged_count() == 0
    assert tags_of(store) == {
        "1": {"water": ("watershed", "drought")},
        "2": {},
        "3": {"circular": ("recycling",), "energy": ("energy", "storage", "wind*")},
        "4": {},
        "5": {"water": ("drought",)},
        "6": {"water": ("water", "water quality")},
    }


def test_an_edited_post_is_tagged_again_and_others_are_left_alone(store: Store) -> None:
    (state,) = store.sync_config(config_with(TOPICS), NOW)
    store.record_success(state.id, [post("1", "A", "drought"), post("2", "B", "solar")], NOW)
    store.tag_untagged(RULES, {})
    store.record_success(state.id, [post("1", "A", "recycling now"), post("2", "B", "solar")], NOW)
    assert store.untagged_count() == 1
    store.tag_untagged(RULES, {})
    assert tags_of(store) == {"1": {"circular": ("recycling",)}, "2": {"energy": ("solar",)}}


def test_full_text_replacing_a_teaser_queues_the_post(store: Store) -> None:
    (state,) = store.sync_config(config_with(TOPICS), NOW)
    store.record_success(state.id, [post("1", "A teaser", "Read more…")], NOW)
    store.tag_untagged(RULES, {})
    # What the full-text step does when it stores an article (issue 4): an UPDATE of text.
    store.db.execute("UPDATE posts SET text = 'the whole article about drought' WHERE guid='1'")
    assert store.untagged_count() == 1
    store.tag_untagged(RULES, {})
    assert tags_of(store) == {"1": {"water": ("drought",)}}


def test_a_persons_topics_apply_to_every_post_of_theirs(store: Store) -> None:
    config = config_with(TOPICS, person_topics=("energy",))
    (state,) = store.sync_config(config, NOW)
    store.record_success(state.id, [post("1", "Cats", "purring"), post("2", "Sun", "solar")], NOW)
    store.tag_untagged(RULES, topics.person_topics(config.people))
    assert tags_of(store) == {"1": {"energy": ()}, "2": {"energy": ("solar",)}}
    (tag,) = store.topic_tags([1])[1]
    assert tag.from_person


def test_a_source_moving_to_another_person_is_tagged_again(store: Store) -> None:
    alice = config_with(TOPICS, person_topics=("energy",))
    (state,) = store.sync_config(alice, NOW)
    store.record_success(state.id, [post("1", "Cats", "purring")], NOW)
    store.tag_untagged(RULES, topics.person_topics(alice.people))
    bob = replace(
        alice,
        people=(
            *alice.people,
            PersonConfig(
                name="Bob",
                slug="bob",
                sources=(SourceConfig("https://a.example/feed", SourceKind.FEED, "Bob"),),
            ),
        ),
    )
    bob = replace(bob, people=(replace(bob.people[0], sources=()), bob.people[1]))
    store.sync_config(bob, NOW)
    store.tag_untagged(RULES, topics.person_topics(bob.people))
    assert tags_of(store) == {"1": {}}


def test_mastodon_posts_are_tagged(store: Store) -> None:
    config = replace(
        config_with(TOPICS),
        people=(
            PersonConfig(
                name="Gina",
                slug="gina",
                sources=(SourceConfig("https://m.example/@gina", SourceKind.MASTODON, "Gina"),),
            ),
        ),
    )
    (state,) = store.sync_config(config, NOW)
    read = MastodonRead(
        account=None,
        posts=(post("101", "Reuse day", "we swapped reuse tips", categories=("circular",)),),
        cursor=MastodonCursor(newest_id="101", via="api"),
    )
    store.record_mastodon(state.id, read, NOW)
    store.tag_untagged(RULES, {})
    assert tags_of(store) == {"101": {"circular": ("reuse",)}}


def test_retag_all_follows_an_edited_topic_and_records_the_hash(store: Store) -> None:
    config = config_with(TOPICS)
    (state,) = store.sync_config(config, NOW)
    store.record_success(state.id, [post("1", "A", "watershed"), post("2", "B", "drought")], NOW)
    assert store.topics_hash() is None
    assert store.retag_all(RULES, {}, topics.definitions_hash(config)) == 2
    assert store.topics_hash() == topics.definitions_hash(config)
    assert store.untagged_count() == 0
    assert tags_of(store) == {"1": {"water": ("watershed",)}, "2": {"water": ("drought",)}}
    edited = config_with((replace(WATER, match="drought"), CIRCULAR, ENERGY))
    store.retag_all(topics.topic_rules(edited.topics), {}, topics.definitions_hash(edited))
    assert tags_of(store) == {"1": {}, "2": {"water": ("drought",)}}
    assert store.topic_counts() == {"water": 1}


def test_tagging_a_prefix_topic_over_queued_posts_only(store: Store) -> None:
    """The queued posts are tagged and the rest are not touched, prefix queries included."""
    (state,) = store.sync_config(config_with(TOPICS), NOW)
    store.record_success(state.id, [post(str(n), f"Wind{n}", "x") for n in range(50)], NOW)
    store.tag_untagged(RULES, {})
    store.db.execute("DELETE FROM post_topics WHERE post_id <= 10")  # pretend: older rules
    store.record_success(state.id, [post("new", "Windy day", "x")], NOW)
    store.tag_untagged(RULES, {})
    counts = store.topic_counts()
    assert counts == {"energy": 50 - 10 + 1}


# ── trends in the store ──────────────────────────────────────────────────────────────────


def test_trend_counts_count_posts_people_and_windows(store: Store) -> None:
    people = [
        PersonConfig(
            name=name,
            slug=name.lower(),
            sources=(SourceConfig(f"https://{name}.example/feed", SourceKind.FEED, name),),
        )
        for name in ("Ann", "Ben", "Cy")
    ]
    config = replace(config_with(()), people=tuple(people))
    states = store.sync_config(config, NOW)
    recent = NOW - timedelta(days=2)
    older = NOW - timedelta(days=30)
    ancient = NOW - timedelta(days=400)  # outside both windows
    for index, state in enumerate(states):
        store.record_success(
            state.id,
            [
                post(f"{index}-r", "Kelp farms", "Kelp and more kelp", published=recent),
                post(f"{index}-o", "Gardens", "soil and kelp", published=older),
                post(f"{index}-a", "Kelp", "kelp", published=ancient),
            ],
            NOW,
        )
    counts = store.trend_counts(NOW - timedelta(days=7), NOW - timedelta(days=97), NOW)
    assert (counts.recent_posts, counts.before_posts, counts.people) == (3, 3, 3)
    by_term = {count.term: count for count in counts.terms}
    assert by_term["kelp"] == TermCount("kelp", recent=3, before=3, people=3)
    assert by_term["farms"] == TermCount("farms", recent=3, before=0, people=3)
    assert "soil" not in by_term  # no recent post holds it
    # The temporary tables are gone: a second call works the same.
    assert store.trend_counts(NOW - timedelta(days=7), NOW - timedelta(days=97), NOW) == counts


# ── end to end: a few hundred posts through the CLI ──────────────────────────────────────


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args], catch_exceptions=False)


FILLER = ("meeting", "notes", "garden", "bicycle", "library", "museum", "harbor", "lantern",
          "pottery", "violin", "orchard", "quilt", "canyon", "ferry", "pebble", "meadow", "tram",
          "kettle")  # fmt: skip


@dataclass(frozen=True)
class Plant:
    """A phrase put into a post, and the topic terms it makes present.

    ``energy~storage`` stands for the NEAR group being satisfied; ``wind*`` for a title word
    starting with wind.
    """

    text: str
    present: frozenset[str]
    in_title: bool = False


PLANTS = (
    Plant("the waters rose", frozenset({"water"})),
    Plant("a watershed plan", frozenset({"watershed"})),
    Plant("two droughts", frozenset({"drought"})),
    Plant("water quality tests", frozenset({"water", "water quality"})),
    Plant("the circular economy", frozenset({"circular economy"})),
    Plant("recycled paper", frozenset({"recycling"})),
    Plant("solar roofs", frozenset({"solar"})),
    Plant("energy storage", frozenset({"energy", "storage", "energy~storage"})),
    Plant("Windmills", frozenset({"wind*"}), in_title=True),
    # Near misses: tagging must not take them.
    Plant("a waterfall", frozenset()),
    Plant("the solaris project", frozenset()),
    Plant("windmills", frozenset()),  # in the text, where title:wind* does not look
    Plant("reusable cups", frozenset()),
    Plant("energy bills rose sharply all winter despite storage", frozenset({"energy", "storage"})),
)
# Mastodon posts take their title from their text: a wind word there would be a title word.
TOOT_PLANTS = tuple(plant for plant in PLANTS if "wind" not in plant.text.lower())


@dataclass(frozen=True)
class TopicModel:
    """What a topic query matches, in terms of Plant.present: any of ``matches``."""

    slug: str
    matches: frozenset[str]
    terms: tuple[str, ...]  # in the query's order


MODELS = (
    TopicModel("water", frozenset({"water", "watershed", "drought", "water quality"}),
               ("water", "watershed", "drought", "water quality")),
    TopicModel("circular", frozenset({"circular economy", "recycling", "reuse"}),
               ("circular economy", "recycling", "reuse")),
    TopicModel("energy", frozenset({"solar", "energy~storage", "wind*"}),
               ("solar", "energy", "storage", "wind*")),
)  # fmt: skip


@dataclass
class Network:
    """The generated posts: url → what each one holds."""

    present: dict[str, frozenset[str]] = field(default_factory=dict)
    person: dict[str, str] = field(default_factory=dict)


def expected_tags(
    network: Network, models: Sequence[TopicModel], person_topics: dict[str, tuple[str, ...]]
) -> dict[str, dict[str, list[str]]]:
    expected: dict[str, dict[str, list[str]]] = {}
    for url, present in network.present.items():
        tags: dict[str, list[str]] = {}
        for model in models:
            own = model.slug in person_topics.get(network.person[url], ())
            if present & model.matches or own:
                terms = [term for term in model.terms if term in present]
                # A person's topic with no term of the query found: no terms.
                tags[model.slug] = terms if present & model.matches else []
        expected[url] = tags
    return expected


def make_posts(
    rng: random.Random, prefix: str, count: int, plants: Sequence[Plant]
) -> list[tuple[str, str, frozenset[str]]]:
    """(title, html, present) for ``count`` posts with zero to two plants each."""
    made = []
    for n in range(count):
        chosen = rng.sample(list(plants), rng.choice((0, 1, 1, 2)))
        title_words = [*rng.sample(FILLER, 3), f"{prefix}{n}"]
        text_words = ["bulletin", *rng.sample(FILLER, 8)]
        present: set[str] = set()
        for plant in chosen:
            (title_words if plant.in_title else text_words).insert(1, plant.text)
            present |= plant.present
        made.append((" ".join(title_words), f"<p>{' '.join(text_words)}.</p>", frozenset(present)))
    return made


FEEDS = {  # person → (path, builder, url prefix, posts)
    "Alice": ("/alice.xml", rss, "/posts/", 60),
    "Bob": ("/bob.atom", atom, "/atom/", 60),
    "Carol": ("/carol.json", json_feed, "/json/", 60),
    "Dave": ("/dave/feed.xml", rss, "/posts/", 50),
    "Erin": ("/erin.xml", rss, "/posts/", 40),
}
CONTENT_TYPES = {"/bob.atom": "application/atom+xml", "/carol.json": "application/feed+json"}


def serve_network(http_server: LocalHTTPServer, instance: FakeInstance) -> Network:
    rng = random.Random(5)
    network = Network()
    base = http_server.base_url
    start = datetime.now(UTC) - timedelta(days=1)
    for person, (path, builder, prefix, count) in FEEDS.items():
        slug = person.lower()
        entries = []
        for n, (title, html, present) in enumerate(make_posts(rng, slug, count, PLANTS)):
            guid = f"{slug}-{n}"
            entries.append(Item(guid, title, html, start - timedelta(hours=n)))
            network.present[f"{base}{prefix}{guid}"] = present
            network.person[f"{base}{prefix}{guid}"] = person
        content_type = CONTENT_TYPES.get(path, "application/rss+xml; charset=utf-8")
        http_server.add(path, builder(base, entries), content_type=content_type)
    http_server.add("/dave/", html_page("/dave/feed.xml"), content_type="text/html")
    instance.add_account("gina", note="<p>Notes.</p>")
    for n, (_, html, present) in enumerate(make_posts(rng, "gina", 39, TOOT_PLANTS)):
        status = instance.post("gina", html, created_at=start - timedelta(hours=n))
        network.present[status["url"]] = present
        network.person[status["url"]] = "Gina"
    # The feed's own categories count: a hashtag alone earns the topic.
    status = instance.post(
        "gina", "<p>bulletin kettle tram.</p>", created_at=start - timedelta(hours=50),
        tags=["drought"],
    )  # fmt: skip
    network.present[status["url"]] = frozenset({"drought"})
    network.person[status["url"]] = "Gina"
    return network


def topic_documents(models_override: dict[str, str] | None = None) -> list[dict[str, str]]:
    documents = [{"name": t.name, "slug": t.slug, "match": t.match} for t in TOPICS]
    for document in documents:
        document["match"] = (models_override or {}).get(document["slug"], document["match"])
    return documents


def write_network_site(
    site: Path, http_server: LocalHTTPServer, instance: FakeInstance, water_match: str | None
) -> None:
    base = http_server.base_url
    people: dict[str, list[object]] = {
        "Alice": [f"{base}/alice.xml"],
        "Bob": [{"feed": f"{base}/bob.atom"}],
        "Carol": [f"{base}/carol.json"],
        "Dave": [f"{base}/dave/"],
        "Erin": [f"{base}/erin.xml"],
        "Gina": [{"mastodon": instance.profile_url("gina")}],
    }
    override = {"water": water_match} if water_match else None
    path = write_site(site, people, topics=topic_documents(override))
    document = json.loads(path.read_text(encoding="utf-8"))
    for person in document["people"]:
        if person["name"] == "Erin":
            person["topics"] = ["energy"]  # every post of Erin's is about energy
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def stored_tags(site: Path) -> dict[str, dict[str, list[str]]]:
    """url → topic slug → terms, as `pln search --format json` reports them."""
    result = pln(site, "search", "bulletin", "--limit", "1000", "--format", "json")
    assert result.exit_code == 0, result.output
    return {hit["url"]: hit["topic_terms"] for hit in json.loads(result.stdout)}


@pytest.fixture
def network_site(
    tmp_path: Path, http_server: LocalHTTPServer
) -> tuple[Path, Network, FakeInstance]:
    instance = FakeInstance(http_server)
    network = serve_network(http_server, instance)
    site = tmp_path / "site"
    write_network_site(site, http_server, instance, water_match=None)
    return site, network, instance


def test_every_post_carries_exactly_the_topics_its_text_deserves(
    network_site: tuple[Path, Network, FakeInstance], http_server: LocalHTTPServer
) -> None:
    site, network, instance = network_site
    fetched = pln(site, "fetch")
    assert fetched.exit_code == 0, fetched.output
    assert f"{len(network.present)} new posts" in fetched.stdout
    assert len(network.present) == 310
    erin = {"Erin": ("energy",)}
    assert stored_tags(site) == expected_tags(network, MODELS, erin)

    # Edit a topic: the next run re-tags every post, once, though no feed changed.
    write_network_site(site, http_server, instance, water_match='drought OR "water quality"')
    again = pln(site, "fetch")
    assert again.exit_code == 0, again.output
    assert "The topics changed since the last fetch: 310 posts tagged again." in again.stdout
    edited = TopicModel(
        "water", frozenset({"drought", "water quality"}), ("drought", "water quality")
    )
    models = (edited, *MODELS[1:])
    assert stored_tags(site) == expected_tags(network, models, erin)
    third = pln(site, "fetch")
    assert "tagged again" not in third.stdout

    # `pln retag` forces it, and says how many posts each topic holds.
    retagged = pln(site, "retag")
    assert retagged.exit_code == 0, retagged.output
    assert "Tagged 310 posts by 3 topics:" in retagged.stdout
    expected = expected_tags(network, models, erin)
    for model in models:
        holding = sum(1 for tags in expected.values() if model.slug in tags)
        assert f"  {model.slug}: {holding} posts" in retagged.stdout


def test_new_and_edited_posts_are_tagged_in_the_run_that_stores_them(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    first = [Item("a-1", "Plain", "<p>kettle</p>"), Item("a-2", "Dry", "<p>two droughts</p>")]
    http_server.add("/a.xml", rss(base, first))
    site = tmp_path / "site"
    write_site(site, {"Ann": [f"{base}/a.xml"]}, topics=topic_documents())
    assert pln(site, "fetch").exit_code == 0
    second = [
        Item("a-1", "Plain", "<p>solar kettle</p>"),
        *first[1:],
        Item("a-3", "New", "<p>reuse</p>"),
    ]
    http_server.add("/a.xml", rss(base, second))
    result = pln(site, "fetch")
    assert "1 new post, 1 updated" in result.stdout
    tags = {hit["title"]: hit["topic_terms"] for hit in json.loads(
        pln(site, "search", "kettle OR droughts OR reuse", "--format", "json").stdout
    )}  # fmt: skip
    assert tags == {
        "Plain": {"energy": ["solar"]},
        "Dry": {"water": ["drought"]},
        "New": {"circular": ["reuse"]},
    }
    text = pln(site, "search", "droughts").stdout
    assert "water: drought" in text


# ── end to end: trends ───────────────────────────────────────────────────────────────────


def trend_feed(
    rng: random.Random, person: str, now: datetime, planted: dict[str, int]
) -> list[Item]:
    """100 days of posts, one a day; ``planted`` words go into that many of the last 6 days'."""
    items = []
    for day in range(100):
        words = rng.sample(FILLER, 8)
        if day < 6:
            for word, count in planted.items():
                if day < count:
                    words.insert(rng.randrange(len(words)), word)
        published = now - timedelta(days=day, hours=rng.randrange(1, 20))
        items.append(
            Item(f"{person}-{day}", f"{person} day {day}", f"<p>{' '.join(words)}</p>", published)
        )
    return items


def test_trends_show_a_planted_trend_first(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    rng = random.Random(9)
    now = datetime.now(UTC)
    plans = {
        "ann": {"microplastics": 3, "drought": 5},
        "ben": {"microplastics": 2, "drought": 5},
        "cy": {"microplastics": 2, "sourdough": 0},
        "dee": {"sourdough": 6},  # one person's habit is no trend of the network
        "eve": {},
    }
    people: dict[str, list[object]] = {}
    for person, planted in plans.items():
        http_server.add(
            f"/{person}.xml", rss(http_server.base_url, trend_feed(rng, person, now, planted))
        )
        people[person.title()] = [f"{http_server.base_url}/{person}.xml"]
    site = tmp_path / "site"
    write_site(site, people, topics=topic_documents())

    nothing = pln(site, "trends")
    assert nothing.exit_code == 0
    assert "No posts in the last 7 days" in nothing.stdout
    assert pln(site, "fetch").exit_code == 0

    result = pln(site, "trends", "--format", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert (found["days"], found["baseline_days"]) == (7, 90)
    assert found["recent_posts"] == 5 * 7
    terms = [term["term"] for term in found["terms"]]
    assert terms[0] == "microplastics"
    assert "sourdough" not in terms  # one person's
    assert "drought" not in terms  # the user's own topic word
    top = found["terms"][0]
    assert (top["posts"], top["people"], top["before_posts"]) == (7, 3, 0)

    text = pln(site, "trends", "--days", "7", "--limit", "3")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].startswith("Trending in the last 7 days (35 posts), against the 90 days")
    assert lines[1].split()[:2] == ["1.", "microplastics"]
    assert "7 posts by 3 people" in lines[1]
    assert len(lines) <= 4
