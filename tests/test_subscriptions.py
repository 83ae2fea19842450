"""OPML and Mastodon CSV in and out (aggregator.subscriptions): pure, on files in tests/data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import listparser
import pytest

from aggregator import config as config_module
from aggregator.errors import ParseError
from aggregator.models import NewPerson, NewSource, SourceKind, TopicConfig
from aggregator.subscriptions import (
    PERSON_CATEGORY,
    FolderMode,
    assign_topics,
    read_subscriptions,
    write_opml,
)

DATA = Path(__file__).parent / "data" / "import"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
TOPICS = (
    TopicConfig(name="Water resources", slug="water", match="water"),
    TopicConfig(name="Drought", slug="drought", match="drought"),
)


def read(name: str, folders: FolderMode = FolderMode.AUTO) -> list[NewPerson]:
    found = read_subscriptions((DATA / name).read_bytes(), name, folders)
    return list(found.people)


def by_name(people: list[NewPerson]) -> dict[str, NewPerson]:
    return {person.name: person for person in people}


def test_a_feed_readers_folders_are_groups_and_each_feed_a_person() -> None:
    found = read_subscriptions((DATA / "feed_reader.opml").read_bytes(), "feed_reader.opml")
    assert found.format == "OPML 2.0" and found.folders is FolderMode.GROUPS
    people = by_name(list(found.people))
    assert list(people) == [
        "Alice on watersheds",
        "Rivers & Deltas",
        "Dry Lands Weekly",
        "Notes (one.pln.test)",  # two feeds with one title are two people, told apart
        "Notes (two.pln.test)",
        "Zoë Ångström",
        "Already followed",
    ]
    assert people["Alice on watersheds"].sources == (
        NewSource("https://alice.pln.test/feed.xml", label="Alice on watersheds"),
    )
    assert people["Dry Lands Weekly"].groups == ("Water", "Drought")
    assert people["Dry Lands Weekly"].sources[0].url == "http://drylands.pln.test/rss"  # feed://
    assert people["Zoë Ångström"].groups == ()
    (page_only,) = found.skipped
    assert page_only.source == "https://page-only.pln.test/"
    assert "no feed" in page_only.reason


def test_folders_can_be_people() -> None:
    people = by_name(read("people.opml", FolderMode.PEOPLE))
    assert list(people) == ["Carol Example", "Dan Example", "Erin Solo"]
    carol = people["Carol Example"]
    assert [s.url for s in carol.sources] == [
        "https://carol.pln.test/feed.xml",
        "https://links.carol.pln.test/rss",
    ]
    assert carol.groups == ("Colleagues",)
    assert people["Erin Solo"].groups == ()
    # The same file read as groups: every feed a person, named by its title.
    assert [p.name for p in read("people.opml", FolderMode.GROUPS)] == [
        "Carol's blog",
        "Carol's links",
        "Dan writes",
        "Erin Solo",
    ]


def test_groups_that_name_a_topic_become_the_persons_topics() -> None:
    people, unmatched = assign_topics(read("feed_reader.opml"), TOPICS)
    topics = {person.name: person.topics for person in people}
    assert topics["Alice on watersheds"] == ("water",)  # folder "Water" is the topic's slug
    assert topics["Dry Lands Weekly"] == ("water", "drought")  # "Drought" is its name
    assert topics["Notes (one.pln.test)"] == ()
    assert unmatched == ("Tech",)


def test_mastodon_following_accounts_csv() -> None:
    found = read_subscriptions((DATA / "following_accounts.csv").read_bytes(), "f.csv")
    assert found.format == "Mastodon CSV"
    assert [(p.name, p.sources) for p in found.people] == [
        (
            "@alice@mastodon.pln.test",
            (NewSource("@alice@mastodon.pln.test", SourceKind.MASTODON, boosts=True),),
        ),
        ("@bob@social.pln.test", (NewSource("@bob@social.pln.test", SourceKind.MASTODON),)),
        (
            "@carol@Fosstodon.pln.test",
            (NewSource("@carol@Fosstodon.pln.test", SourceKind.MASTODON),),
        ),
    ]
    (bad,) = found.skipped
    assert bad.source == "not-an-address"


def test_an_old_export_without_header() -> None:
    people = read("following_accounts_old.csv")
    assert [p.sources[0].url for p in people] == ["@dave@old.pln.test", "@erin@old.pln.test"]
    assert not any(p.sources[0].boosts for p in people)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"name,url\nAlice,https://a.example/\n", "neither OPML nor a Mastodon export"),
        (b"", "empty"),
        (b"<html><body><p>hello</p></body></html>", "not an OPML"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
    ],
)
def test_what_is_neither_is_refused_in_words(data: bytes, words: str) -> None:
    with pytest.raises(ParseError) as caught:
        read_subscriptions(data, "mystery.txt")
    assert words in str(caught.value)
    assert "mystery.txt" in str(caught.value)


def test_a_string_that_looks_like_a_url_is_never_fetched() -> None:
    # listparser fetches a str starting with http://; we always hand it bytes.
    with pytest.raises(ParseError):
        read_subscriptions(b"http://127.0.0.1:9/opml", "x.opml")


def test_export_round_trips_through_listparser(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    config = config_module.parse_config(
        """
site: {title: "Water & Co <PLN>"}
topics:
  - {name: Water resources, slug: water, match: water}
people:
  - name: Alice Example
    url: https://alice.example/
    topics: [water]
    sources:
      - https://alice.example/feed.xml
      - https://alice.example/links.xml
      - mastodon: https://social.example/@alice
  - name: Bob "the builder" Example
    sources:
      - blog: https://bob.example/
""",
        path,
    )
    feed_urls = {
        "https://social.example/@alice": "https://social.example/@alice.rss",
        "https://bob.example/": "https://bob.example/feed/",
    }
    text = write_opml(config, feed_urls, NOW)
    parsed = listparser.parse(text.encode())
    assert parsed.version == "opml2" and not parsed.bozo
    assert parsed.meta.title == "Water & Co <PLN>"
    rows = [(f.url, f.categories[-1], f.title) for f in parsed.feeds]
    assert rows == [
        (
            "https://alice.example/feed.xml",
            ["Alice Example"],
            "Alice Example (alice.example/feed.xml)",
        ),
        (
            "https://alice.example/links.xml",
            ["Alice Example"],
            "Alice Example (alice.example/links.xml)",
        ),
        (
            "https://social.example/@alice.rss",
            ["Alice Example"],
            "Alice Example (@alice@social.example)",
        ),
        ("https://bob.example/feed/", ['Bob "the builder" Example'], 'Bob "the builder" Example'),
    ]
    assert all(PERSON_CATEGORY.strip("/").split("/") in f.categories for f in parsed.feeds)
    assert "water" in parsed.feeds[0].tags

    # And back: the same people, Mastodon as an account again, the topic kept.
    back = by_name(list(read_subscriptions(text.encode(), "export.opml").people))
    assert list(back) == ["Alice Example", 'Bob "the builder" Example']
    alice = back["Alice Example"]
    assert alice.sources[2] == NewSource(
        "https://social.example/@alice",
        SourceKind.MASTODON,
        label="Alice Example (@alice@social.example)",
    )
    assert [s.url for s in alice.sources[:2]] == [
        "https://alice.example/feed.xml",
        "https://alice.example/links.xml",
    ]
    people, unmatched = assign_topics(back.values(), config.topics)
    assert people[0].topics == ("water",) and unmatched == ()
