"""The digest is pure: a day's posts in, a Digest out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from aggregator.digest import build_digest, canonical_url, day_of, entry_for, excerpt
from aggregator.models import SitePost, SourceKind, TopicConfig, TopicTag

TOPICS = (
    TopicConfig(name="Water resources", slug="water", match="water"),
    TopicConfig(name="Circular economy", slug="circular", match="reuse"),
)
DAY = date(2026, 11, 20)
_ids = iter(range(1, 10_000))


def post(
    person: str = "Alice",
    *,
    link: str | None = None,
    kind: SourceKind = SourceKind.FEED,
    links: tuple[str, ...] = (),
    hour: int = 9,
    title: str | None = "A post",
    text: str = "Some words.",
    html: str | None = None,
    tags: tuple[TopicTag, ...] = (),
    **extra: object,
) -> SitePost:
    number = next(_ids)
    return SitePost(
        id=number,
        link=link if link is not None else f"https://{person.lower()}.example/{number}",
        title=title,
        person=person,
        person_slug=person.lower(),
        source_url=f"https://{person.lower()}.example/feed.xml",
        kind=kind,
        posted_at=datetime(2026, 11, 20, hour, tzinfo=UTC),
        text=text,
        html=html,
        links=links,
        tags=tags,
        **extra,  # type: ignore[arg-type]
    )


# ── links ────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("http://example.org/a", "https://example.org/a"),
        ("https://www.example.org/a", "https://example.org/a"),
        ("https://example.org/a/", "https://example.org/a"),
        ("https://EXAMPLE.org/a", "https://example.org/a"),
        ("https://example.org/a#comments", "https://example.org/a"),
        ("https://example.org/a?utm_source=x&utm_medium=y", "https://example.org/a"),
        ("https://example.org/a?fbclid=1&id=3", "https://example.org/a?id=3"),
        ("https://example.org/a?b=2&a=1", "https://example.org/a?a=1&b=2"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("https://example.org", "https://example.org/"),
    ],
)
def test_spellings_of_one_link_are_one_canonical_url(first: str, second: str) -> None:
    assert canonical_url(first) == canonical_url(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://example.org/a", "https://example.org/b"),
        ("https://example.org/a?id=1", "https://example.org/a?id=2"),
        ("https://example.org:8080/a", "https://example.org/a"),
        ("https://a.example.org/x", "https://b.example.org/x"),
    ],
)
def test_different_links_stay_different(first: str, second: str) -> None:
    assert canonical_url(first) != canonical_url(second)


def test_a_broken_url_is_its_own_key() -> None:
    assert canonical_url("http://[broken/a") == "http://[broken/a"


# ── days and excerpts ────────────────────────────────────────────────────────────────────


def test_a_post_at_2330_utc_is_the_next_day_in_berlin_and_the_same_in_new_york() -> None:
    moment = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert day_of(moment, ZoneInfo("Europe/Berlin")) == date(2026, 11, 21)
    assert day_of(moment, ZoneInfo("America/New_York")) == date(2026, 11, 20)
    assert day_of(moment, ZoneInfo("UTC")) == date(2026, 11, 20)


def test_excerpt_keeps_short_text_and_cuts_long_text_at_a_word() -> None:
    assert excerpt("one two three", 5) == "one two three"
    assert excerpt("one two three four, five", 4) == "one two three four…"
    assert excerpt("  spaced\n\nout  ", 5) == "spaced out"
    assert excerpt("", 5) == ""


# ── entries ──────────────────────────────────────────────────────────────────────────────


def test_a_blog_post_and_the_toots_about_it_are_one_entry_naming_everyone() -> None:
    original = post("Alice", link="https://alice.example/report/", title="The report")
    own_toot = post(
        "Alice",
        kind=SourceKind.MASTODON,
        link="https://social.example/@alice/1",
        links=("https://alice.example/report?utm_source=mastodon",),
        hour=10,
    )
    bob_toot = post(
        "Bob",
        kind=SourceKind.MASTODON,
        link="https://social.example/@bob/2",
        links=("http://www.alice.example/report",),
        hour=11,
    )
    digest = build_digest(DAY, [bob_toot, own_toot, original], TOPICS, 10)
    assert len(digest.entries) == 1
    entry = digest.entries[0]
    assert entry.title == "The report"
    assert entry.url == "https://alice.example/report/"
    assert [(s.person, s.kind) for s in entry.also_shared_by] == [
        ("Alice", SourceKind.MASTODON),
        ("Bob", SourceKind.MASTODON),
    ]
    assert digest.post_count == 3
    assert digest.people == ("Alice", "Bob")


def test_most_shared_lists_links_of_two_or_more_people_with_the_best_title() -> None:
    article = "https://news.example/soil"
    carol = post(
        "Carol",
        links=(article,),
        html=f'<p>Read <a href="{article}">how soil holds water</a>.</p>',
    )
    bob = post(
        "Bob",
        kind=SourceKind.MASTODON,
        links=(article + "?utm_campaign=x",),
        html=f'<p><a href="{article}">news.example/soil</a></p>',
    )
    lonely = post("Dave", links=("https://elsewhere.example/",))
    digest = build_digest(DAY, [carol, bob, lonely], TOPICS, 10)
    assert [link.title for link in digest.most_shared] == ["how soil holds water"]
    shared = digest.most_shared[0]
    assert [s.person for s in shared.sharers] == ["Carol", "Bob"]
    assert shared.canonical == canonical_url(article)


def test_most_shared_prefers_the_posts_own_title_and_falls_back_to_the_url() -> None:
    own = post("Alice", link="https://alice.example/x", title="Alice's own title")
    toot = post("Bob", kind=SourceKind.MASTODON, links=("https://alice.example/x",))
    bare = [post(name, links=("https://bare.example/page/",)) for name in ("Carol", "Dan")]
    digest = build_digest(DAY, [own, toot, *bare], TOPICS, 10)
    titles = {link.canonical: link.title for link in digest.most_shared}
    assert titles[canonical_url("https://alice.example/x")] == "Alice's own title"
    assert titles[canonical_url("https://bare.example/page")] == "bare.example/page"


def test_one_person_sharing_a_link_twice_is_not_most_shared() -> None:
    link = "https://alice.example/x"
    posts = [post("Alice", link=link), post("Alice", kind=SourceKind.MASTODON, links=(link,))]
    assert build_digest(DAY, posts, TOPICS, 10).most_shared == ()


def test_entries_are_grouped_by_topic_in_config_order_then_the_rest() -> None:
    both = post(
        "Alice",
        tags=(TopicTag("circular", ("reuse",)), TopicTag("water", ("drought", "water"))),
        hour=8,
    )
    water = post("Bob", tags=(TopicTag("water", ("water",)),), hour=9)
    plain = post("Carol")
    digest = build_digest(DAY, [plain, both, water], TOPICS, 10)
    assert [s.topic.slug if s.topic else None for s in digest.sections] == ["water", None]
    water_section = digest.sections[0]
    assert [e.post.person for e in water_section.entries] == ["Bob", "Alice"]  # newest first
    labels = water_section.entries[1].topics
    assert [(label.slug, label.terms) for label in labels] == [
        ("water", ("drought", "water")),
        ("circular", ("reuse",)),
    ]
    assert digest.sections[1].entries[0].post.person == "Carol"


def test_excerpts_are_cut_and_entries_keep_no_full_text() -> None:
    long_text = " ".join(f"word{n}" for n in range(500))
    digest = build_digest(DAY, [post(text=long_text, html="<p>big</p>")], TOPICS, 12)
    entry = digest.entries[0]
    assert entry.excerpt.split()[-1] == "word11…"
    assert entry.post.text == "" and entry.post.html is None


def test_an_excerpt_does_not_repeat_the_title_its_text_opens_with() -> None:
    """A page's full text often starts with its heading, which the entry shows already."""
    title = "Sponge streets  after the storm"
    opening = post(title=title, text="Sponge streets after the storm\n\nTuesday's storm fell.")
    assert entry_for(opening, TOPICS, 10).excerpt == "Tuesday's storm fell."
    # Only the title as a whole, and only a post with more to say than its title.
    assert entry_for(post(title=title, text="Sponge streets were dry."), TOPICS, 10).excerpt == (
        "Sponge streets were dry."
    )
    assert entry_for(post(title=title, text=title), TOPICS, 10).excerpt == (
        "Sponge streets after the storm"
    )
    toot = post(kind=SourceKind.MASTODON, title="Bus lane", text="Bus lane is red now")
    assert entry_for(toot, TOPICS, 10).excerpt == "Bus lane is red now"


def test_a_short_toot_is_shown_whole_and_sanitized_again() -> None:
    toot = post(
        kind=SourceKind.MASTODON,
        text="Hello there",
        html='<p>Hello <a href="https://x.example/" onclick="alert(1)">there</a></p>'
        "<script>alert(2)</script>",
    )
    entry = build_digest(DAY, [toot], TOPICS, 10).entries[0]
    assert entry.body_html is not None
    assert "Hello" in entry.body_html and "https://x.example/" in entry.body_html
    assert "onclick" not in entry.body_html and "<script" not in entry.body_html
    assert entry.title == "Alice on Mastodon"


def test_a_long_toot_becomes_an_excerpt() -> None:
    words = " ".join(["word"] * 100)
    toot = post(kind=SourceKind.MASTODON, text=words, html=f"<p>{words}</p>")
    entry = build_digest(DAY, [toot], TOPICS, 10).entries[0]
    assert entry.body_html is None
    assert entry.excerpt.endswith("…")


def test_a_boost_names_whose_post_it_is() -> None:
    boost = post("Erin", kind=SourceKind.MASTODON, is_share=True, author="Frank Remote")
    assert entry_for(boost, TOPICS, 10).title == "Erin boosted Frank Remote"


def test_untitled_posts_are_titled_by_their_link() -> None:
    untitled = post(link="https://www.alice.example/notes/7/", title=None)
    assert build_digest(DAY, [untitled], TOPICS, 10).entries[0].title == "alice.example/notes/7"


def test_an_empty_day_is_an_empty_digest() -> None:
    digest = build_digest(DAY, [], TOPICS, 10)
    assert digest.sections == () and digest.most_shared == () and digest.post_count == 0
