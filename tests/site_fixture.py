"""A fixed small network, stored without any fetch, for the site tests and the golden site.

Four days of posts in Europe/Berlin (20–23 November 2026) by five people:

- Alice blogs about a drought report and toots about it (with tracking parameters): one entry.
- Bob toots the same report (``www.`` and a trailing slash) and an article Carol links too:
  both are "most shared".
- Carol's post sits in two topics; a toot of Bob's carries a content warning; Erin boosts.
- Dana asked not to be indexed: she shares the report too, and must appear nowhere.
- A post at 23:30 UTC on the 21st belongs to the 22nd in Berlin.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from aggregator.models import MastodonAccount, MastodonCursor, MastodonRead, ParsedPost
from aggregator.store import Store

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
REPORT = "https://alice.example/2026/drought-report/"
ARTICLE = "https://news.example/soil-and-water"
MASTODON = "https://social.example"

CONFIG = {
    "site": {
        "title": "Open Learning PLN",
        "description": "What my network wrote today",
        "base_url": "https://pln.example/digest/",
        "timezone": "Europe/Berlin",
        "language": "en",
        "home_days": 3,
        "excerpt_words": 24,
    },
    "topics": [
        {"name": "Water resources", "slug": "water", "match": "water OR drought"},
        {"name": "Circular economy", "slug": "circular", "match": "recycling OR reuse"},
        {"name": "Open education", "slug": "oer", "match": "OER"},
    ],
    "people": [
        {
            "name": "Alice Example",
            "url": "https://alice.example/",
            "sources": ["https://alice.example/feed.xml", "@alice@social.example"],
        },
        {"name": "Bob Builder", "sources": ["@bob@social.example"]},
        {"name": "Carol Jones", "sources": ["https://carol.example/atom.xml"]},
        {"name": "Dana Private", "sources": ["@dana@social.example"]},
        {"name": "Erin Ó Súilleabháin", "sources": ["@erin@social.example"]},
    ],
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def _blog(guid: str, title: str, text: str, when: datetime, **extra: object) -> ParsedPost:
    html = str(extra.pop("html", f"<p>{text}</p>"))
    return ParsedPost(
        guid=guid,
        link=str(extra.pop("link", f"https://example.invalid/{guid}")),
        title=title,
        published=when,
        summary_html=html,
        text=text,
        **extra,  # type: ignore[arg-type]
    )


def _toot(
    user: str, number: int, html: str, text: str, when: datetime, **extra: object
) -> ParsedPost:
    link = f"{MASTODON}/@{user}/{number}"
    return ParsedPost(
        guid=f"{MASTODON}/users/{user}/statuses/{number}",
        link=link,
        title=text[:40],
        published=when,
        content_html=html,
        text=text,
        has_full_content=True,
        **extra,  # type: ignore[arg-type]
    )


ALICE_BLOG = [
    _blog(
        "alice-1",
        "The drought report: what the rivers told us",
        "This year the rivers ran lower than in any summer we measured. The report collects "
        "twelve months of water data from forty stations, and what it means for farms, towns "
        "and the fish that depend on cold water.",
        at(21, 8, 30),
        link=REPORT,
    ),
    _blog(
        "alice-2",
        "Notes on open textbooks",
        "A short list of open textbooks (OER) for a first course in hydrology, with what each "
        "does well and where each falls short.",
        at(23, 6, 10),
        link="https://alice.example/2026/open-textbooks/",
    ),
]
ALICE_TOOTS = [
    _toot(
        "alice",
        101,
        f'<p>New on the blog: the drought report. <a href="{REPORT}?utm_source=mastodon'
        f'&amp;utm_medium=social#top">alice.example/2026/drought-r…</a></p>',
        "New on the blog: the drought report. alice.example/2026/drought-r…",
        at(21, 9, 0),
        links=(f"{REPORT}?utm_source=mastodon&utm_medium=social#top",),
    ),
]
BOB_TOOTS = [
    _toot(
        "bob",
        201,
        '<p>Read this before the water board meets: <a href="http://www.alice.example/2026/'
        'drought-report">the drought report</a></p>',
        "Read this before the water board meets: the drought report",
        at(21, 12, 15),
        links=("http://www.alice.example/2026/drought-report",),
    ),
    _toot(
        "bob",
        202,
        f'<p>Carol found it too: <a href="{ARTICLE}">how soil holds water</a> — recycling '
        "grey water at home.</p>",
        "Carol found it too: how soil holds water — recycling grey water at home.",
        at(22, 10, 0),
        links=(ARTICLE,),
    ),
    _toot(
        "bob",
        203,
        "<p>The flood pictures from the valley are hard to look at. Thinking of everyone "
        "there.</p>",
        "flood pictures\n\nThe flood pictures from the valley are hard to look at.",
        at(22, 18, 0),
        content_warning="flood pictures",
    ),
]
CAROL_POSTS = [
    _blog(
        "carol-1",
        "Reuse, repair, and the water behind our things",
        "Every pair of jeans takes thousands of litres of water; reuse and recycling of "
        "clothes saves more than we think. Via an article on soil and water.",
        at(22, 9, 0),
        link="https://carol.example/reuse-repair",
        links=(ARTICLE,),
        html=f'<p>Every pair of jeans takes thousands of litres of water. Via <a href="{ARTICLE}">'
        "an article on soil and water</a>.</p>",
    ),
    _blog(
        "carol-late",
        "Late night thoughts on the commons",
        "Written just before midnight in New York, just after it in Berlin.",
        at(21, 23, 30),
        link="https://carol.example/late-night",
    ),
    _blog(
        "carol-old",
        "A quiet start",
        "The first post of the network in this archive, with no topic at all.",
        at(20, 10, 0),
        link="https://carol.example/quiet-start",
    ),
]
DANA_TOOTS = [
    _toot(
        "dana",
        301,
        f'<p>Private: <a href="{REPORT}">the report</a></p>',
        "Private: the report DANA-SECRET",
        at(21, 13, 0),
        links=(REPORT,),
    ),
]
ERIN_TOOTS = [
    _toot(
        "erin",
        401,
        "<p>Recycling plastic is not enough: reuse first. <strong>Boosting</strong> this.</p>",
        "Recycling plastic is not enough: reuse first. Boosting this.",
        at(23, 6, 40),
        author="Frank Remote",
        is_share=True,
    ),
]

# post guid → (topic slug, terms): what the topics issue's tagging would record.
TAGS = {
    "alice-1": [("water", "drought, water")],
    f"{MASTODON}/users/alice/statuses/101": [("water", "drought")],
    f"{MASTODON}/users/bob/statuses/201": [("water", "water, drought")],
    f"{MASTODON}/users/bob/statuses/202": [("water", "water"), ("circular", "recycling")],
    "carol-1": [("circular", "reuse, recycling"), ("water", "water")],
    "alice-2": [("oer", "OER")],
    f"{MASTODON}/users/erin/statuses/401": [("circular", "recycling, reuse")],
    f"{MASTODON}/users/dana/statuses/301": [("water", "drought")],
}


# Each feed's own title and link, as a fetch would store them (labels.stored_title): Alice's
# blog is named by its title; Carol's feed is titled with her own name, so its host names it.
FEED_TITLES = {
    "https://alice.example/feed.xml": ("Field Notes on Water", "https://alice.example/"),
    "https://carol.example/atom.xml": ("Carol Jones", ""),
}


def _account(user: str, noindex: bool = False) -> MastodonAccount:
    return MastodonAccount(
        id=user,
        acct=f"{user}@social.example",
        url=f"{MASTODON}/@{user}",
        display_name=user.title(),
        noindex=noindex,
    )


def write_config(site_dir: Path, **site: object) -> Path:
    document = json.loads(json.dumps(CONFIG))
    document["site"].update(site)
    site_dir.mkdir(parents=True, exist_ok=True)
    path = site_dir / "sources.yaml"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def fill_store(database: Path, config: object) -> None:
    """Store every post above as if fetched at NOW, and tag them as TAGS says."""
    from aggregator.models import Config

    assert isinstance(config, Config)
    with Store.open(database) as store:
        states = {state.url: state for state in store.sync_config(config, NOW)}
        by_url = {source.url: source for source in config.sources}
        feeds = {
            "https://alice.example/feed.xml": ALICE_BLOG,
            "https://carol.example/atom.xml": CAROL_POSTS,
        }
        toots = {
            "alice": ALICE_TOOTS,
            "bob": BOB_TOOTS,
            "dana": DANA_TOOTS,
            "erin": ERIN_TOOTS,
        }
        for url, posts in feeds.items():
            title, home = FEED_TITLES[url]
            store.record_success(states[url].id, posts, NOW, title=title, home=home)
        for user, posts in toots.items():
            url = f"{MASTODON}/@{user}"
            assert url in by_url, url
            read = MastodonRead(
                account=_account(user, noindex=user == "dana"),
                posts=tuple(posts),
                cursor=MastodonCursor(account_id=user, via="api"),
            )
            store.record_mastodon(states[url].id, read, NOW)
        _tag(store)


def _tag(store: Store) -> None:
    db = store.db
    db.execute("DELETE FROM post_topics")
    for guid, tags in TAGS.items():
        row = db.execute("SELECT id FROM posts WHERE guid = ?", [guid]).fetchone()
        assert row, guid
        for slug, terms in tags:
            db.execute(
                "INSERT INTO post_topics (post_id, topic, terms) VALUES (?, ?, ?)",
                [row[0], slug, terms],
            )
    db.conn.commit()
