"""Full text end to end: feeds that only tease, `blog:` sources with a feed or only a sitemap,
pages served by the local HTTP server, through the CLI and the app; and the store's part."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner, Result
from sqlite_utils import Database

from aggregator import app
from aggregator.cli import cli
from aggregator.models import Article, ParsedPost
from aggregator.store import Store, migrations
from tests.server import LocalHTTPServer
from tests.sites import write_site

PAGES = Path(__file__).parent / "data" / "pages"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args], catch_exceptions=False)


def search(site: Path, query: str) -> list[dict[str, object]]:
    result = pln(site, "search", query, "--format", "json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert isinstance(hits, list)
    return hits


def page(name: str) -> bytes:
    return (PAGES / f"{name}.html").read_bytes()


def atom_summaries(base: str, entries: list[tuple[str, str, str]]) -> str:
    """An Atom feed whose entries carry only a summary: (slug, title, summary)."""
    body = "".join(
        f"""
  <entry><id>urn:alice:{slug}</id><title>{escape(title)}</title>
    <link rel="alternate" href="{base}/alice/{slug}/"/>
    <updated>2025-10-1{n}T08:00:00Z</updated>
    <summary type="html">{escape(summary)}</summary></entry>"""
        for n, (slug, title, summary) in enumerate(entries)
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Alice</title><id>urn:alice</id>
<updated>2025-10-20T00:00:00Z</updated>{body}</feed>"""


def rss_full_content(base: str, path: str, slug: str, title: str, article_html: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>{escape(title)}</title><link>{base}{path}</link><description>d</description>
<item><guid>{base}{path}{slug}/</guid><link>{base}{path}{slug}/</link><title>{escape(title)}</title>
<pubDate>Mon, 13 Oct 2025 08:00:00 GMT</pubDate>
<description>{escape("A first sentence of the post.")}</description>
<content:encoded><![CDATA[{article_html}]]></content:encoded></item>
</channel></rss>"""


WHOLE_ARTICLE = "".join(
    f"<p>Paragraph {n} of a complete post about estuaries, saltmarsh and tidal creeks.</p>"
    for n in range(30)  # more words than any page of tests/data/pages
)

SITEMAP_INDEX = """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/dan/page-sitemap.xml</loc><lastmod>2025-10-30</lastmod></sitemap>
<sitemap><loc>{base}/dan/post-sitemap.xml</loc><lastmod>2025-10-14</lastmod></sitemap>
</sitemapindex>"""
POST_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{base}/dan/</loc><lastmod>2025-10-30</lastmod></url>
<url><loc>{base}/dan/2025/riparian-buffers/</loc><lastmod>2025-10-14</lastmod></url>
<url><loc>{base}/dan/2025/mycorrhiza/</loc><lastmod>2025-09-02</lastmod></url>
<url><loc>{base}/dan/tag/soil/</loc><lastmod>2025-10-29</lastmod></url>
</urlset>"""


@pytest.fixture
def network(tmp_path: Path, http_server: LocalHTTPServer) -> Iterator[Path]:
    """Alice: an Atom feed of teasers. Bob: a feed with whole posts. Carol: a `blog:` with a
    feed. Dan: a `blog:` with no feed, only a sitemap named in robots.txt."""
    base = http_server.base_url
    teasers = [
        ("riparian", "Riparian buffers", "Every spring the same stretch of creek turns brown […]"),
        ("fungi", "Mycorrhizal networks", "The story of the wood wide web is irresistible…"),
        ("grundwasser", "Grundwasser", "Die Grundwasserstände sind gefallen. Weiterlesen"),
        ("broken", "Aquifer recharge", "A teaser about aquifer recharge… Read more"),
    ]
    http_server.add(
        "/alice/atom.xml", atom_summaries(base, teasers), content_type="application/atom+xml"
    )
    http_server.add("/alice/riparian/", page("boilerplate"), content_type="text/html")
    http_server.add("/alice/fungi/", page("comment-spam"), content_type="text/html")
    # no charset in the header: the page's <meta> says iso-8859-1, its bytes are windows-1252
    http_server.add("/alice/grundwasser/", page("windows-1252"), content_type="text/html")
    http_server.status("/alice/broken/", 500)

    http_server.add(
        "/bob/feed.xml", rss_full_content(base, "/bob/", "estuaries", "Estuaries", WHOLE_ARTICLE)
    )

    http_server.add(
        "/carol/",
        f"""<html><head><title>Carol</title><link rel="alternate"
        type="application/rss+xml" href="{base}/carol/feed.xml"></head><body>Hi</body></html>""",
        content_type="text/html",
    )
    http_server.add(
        "/carol/feed.xml",
        rss_full_content(base, "/carol/", "fungi", "Fungi", "<p>Fungal threads connect roots.</p>"),
    )
    http_server.add("/carol/fungi/", page("comment-spam"), content_type="text/html")

    http_server.add(
        "/dan/", "<html><body><h1>Dan's garden</h1></body></html>", content_type="text/html"
    )
    http_server.add(
        "/robots.txt",
        f"User-agent: *\nDisallow:\nSitemap: {base}/dan/sitemap_index.xml\n",
        content_type="text/plain",
    )
    http_server.add(
        "/dan/sitemap_index.xml", SITEMAP_INDEX.format(base=base), content_type="application/xml"
    )
    http_server.add(
        "/dan/post-sitemap.xml", POST_SITEMAP.format(base=base), content_type="application/xml"
    )
    http_server.add("/dan/2025/riparian-buffers/", page("boilerplate"), content_type="text/html")
    http_server.add("/dan/2025/mycorrhiza/", page("comment-spam"), content_type="text/html")

    site = tmp_path / "site"
    write_site(
        site,
        {
            "Alice": [f"{base}/alice/atom.xml"],
            "Bob": [{"feed": f"{base}/bob/feed.xml"}],
            "Carol": [{"blog": f"{base}/carol/"}],
            "Dan": [{"blog": f"{base}/dan/"}],
        },
    )
    yield site


ARTICLE_PAGES = (
    "/alice/riparian/",
    "/alice/fungi/",
    "/alice/grundwasser/",
    "/alice/broken/",
    "/carol/fungi/",
    "/dan/2025/riparian-buffers/",
    "/dan/2025/mycorrhiza/",
)


def test_article_text_becomes_searchable_and_each_page_is_fetched_once(
    network: Path, http_server: LocalHTTPServer
) -> None:
    first = pln(network, "-v", "fetch")
    assert first.exit_code == 0, first.output
    assert "0 failed" in first.stdout
    assert "6 articles extracted, 1 page not extracted (feed text kept" in first.stdout
    assert "full text: 3 of 4 articles extracted" in first.stderr
    assert "posts are taken from the sitemap" in first.stderr

    # The article's words are found; the teasers never held them.
    assert {hit["person"] for hit in search(network, "sedge willow")} == {"Alice", "Dan"}
    assert {hit["person"] for hit in search(network, "hyphae")} == {"Alice", "Carol", "Dan"}
    (grundwasser,) = search(network, "Ordnungswidrigkeit")
    assert grundwasser["title"] == "Grundwasser"
    assert "€" in str(search(network, "Trinkwasser")[0]["snippet"])
    # Boilerplate, comments and spam never reach the index.
    for noise in ("cookies", "casino", "viagra", "bitcoin", "newsletter", "Popular", "rights"):
        assert search(network, noise) == [], noise
    # The page that failed leaves the feed's teaser searchable.
    (broken,) = search(network, "aquifer")
    assert broken["person"] == "Alice"

    # Complete content is not fetched again; everything else exactly once.
    assert http_server.requests_for("/bob/estuaries/") == []
    for path in ARTICLE_PAGES:
        assert len(http_server.requests_for(path)) == 1, path
    asked = http_server.requests_for("/alice/riparian/")[0]
    assert asked.headers["User-Agent"].startswith("pln/")
    assert asked.headers["Accept"].startswith("text/html")
    assert http_server.requests_for("/dan/page-sitemap.xml") == []

    before = len(http_server.requests)
    again = pln(network, "fetch")
    assert again.exit_code == 0, again.output
    again_paths = [request.path for request in http_server.requests[before:]]
    assert not set(again_paths) & set(ARTICLE_PAGES), again_paths
    assert "0 new posts" in again.stdout


def test_sitemap_posts_take_title_and_date_from_their_pages(network: Path) -> None:
    assert pln(network, "fetch").exit_code == 0
    hits = {hit["title"]: hit for hit in search(network, "trout OR phosphorus")}
    dan = [hit for hit in hits.values() if hit["person"] == "Dan"]
    assert {hit["title"] for hit in dan} == {
        "Riparian buffers that work",
        "Mycorrhizal networks are not the internet",
    }
    riparian = next(hit for hit in dan if hit["title"] == "Riparian buffers that work")
    assert riparian["published"] == "2025-10-14T05:30:00+00:00"
    assert str(riparian["url"]).endswith("/dan/2025/riparian-buffers/")


def test_the_feed_keeps_what_it_said_and_the_page_fills_the_gaps(network: Path) -> None:
    assert pln(network, "fetch").exit_code == 0
    with sqlite3.connect(network / "pln.db") as db:
        row = db.execute(
            "SELECT title, author, published, language FROM posts WHERE link LIKE ?",
            ["%/alice/riparian/"],
        ).fetchone()
    # The feed named the title and date: they stay; the page adds the author and language.
    assert row == ("Riparian buffers", "Alice Example", "2025-10-10T08:00:00+00:00", "en-GB")


def test_sources_says_which_posts_kept_their_feed_text(
    network: Path, http_server: LocalHTTPServer
) -> None:
    assert pln(network, "fetch").exit_code == 0
    base = http_server.base_url
    plain = pln(network, "sources")
    assert "kept the feed" not in plain.stdout
    for command in (("sources", "-v"), ("-v", "sources")):
        verbose = pln(network, *command)
        assert verbose.exit_code == 0, verbose.output
        assert "full text: 3 articles extracted" in verbose.stdout
        assert "1 post kept the feed's text" in verbose.stdout
        assert "HTTP 500" in verbose.stdout
    rows = {
        row["url"]: row for row in json.loads(pln(network, "sources", "--format", "json").stdout)
    }
    alice = rows[f"{base}/alice/atom.xml"]
    assert (alice["articles_extracted"], alice["articles_failed"]) == (3, 1)
    assert "500" in alice["article_error"]
    assert rows[f"{base}/bob/feed.xml"]["articles_extracted"] == 0
    assert rows[f"{base}/dan/"]["kind"] == "blog" and rows[f"{base}/dan/"]["posts"] == 2


def test_full_text_never_and_always(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    base = http_server.base_url
    http_server.add(
        "/never/atom.xml",
        atom_summaries(base, [("riparian", "R", "A teaser…")]).replace("/alice/", "/never/"),
        content_type="application/atom+xml",
    )
    http_server.add(
        "/always/feed.xml",
        rss_full_content(base, "/always/", "post", "Whole", WHOLE_ARTICLE),
    )
    http_server.add("/always/post/", page("boilerplate"), content_type="text/html")
    site = tmp_path / "site"
    write_site(
        site,
        {
            "N": [{"feed": f"{base}/never/atom.xml", "full_text": "never"}],
            "A": [f"{base}/always/feed.xml"],
        },
        fetch={"full_text": "always"},
    )
    assert pln(site, "fetch").exit_code == 0
    assert http_server.requests_for("/never/riparian/") == []
    assert len(http_server.requests_for("/always/post/")) == 1
    # The page held fewer words than the whole article of the feed: the feed's text stays.
    assert [hit["person"] for hit in search(site, "saltmarsh")] == ["A"]
    assert search(site, "sedge") == []


def test_a_failed_page_is_retried_with_back_off_then_left(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.add(
        "/alice/atom.xml",
        atom_summaries(base, [("riparian", "Riparian", "Every spring the creek […]")]),
        content_type="application/atom+xml",
        etag=False,
        last_modified=False,
    )
    http_server.status("/alice/riparian/", 503)
    site = tmp_path / "site"
    write_site(site, {"Alice": [f"{base}/alice/atom.xml"]})
    config = app.load_config(site)

    def run(at: datetime) -> int:
        before = len(http_server.requests_for("/alice/riparian/"))
        app.fetch(config, clock=lambda: at)
        return len(http_server.requests_for("/alice/riparian/")) - before

    assert run(NOW) == 1
    assert run(NOW + timedelta(minutes=10)) == 0, "backing off"
    assert run(NOW + timedelta(minutes=31)) == 1
    assert run(NOW + timedelta(hours=3)) == 1
    assert run(NOW + timedelta(hours=12)) == 1
    assert run(NOW + timedelta(days=30)) == 0, "given up after four tries"
    with Store.open(config.database_path) as store:
        (health,) = store.source_health()
    assert health.articles_failed == 1 and "503" in (health.article_error or "")

    # A new version of the entry (an edit in the feed) gets its own tries; this one works.
    http_server.add(
        "/alice/atom.xml",
        atom_summaries(base, [("riparian", "Riparian", "Every spring, the creek […]")]),
        content_type="application/atom+xml",
    )
    http_server.add("/alice/riparian/", page("boilerplate"), content_type="text/html")
    assert run(NOW + timedelta(days=31)) == 1
    assert [hit["person"] for hit in search(site, "sedge")] == ["Alice"]


def test_many_pages_are_extracted_in_a_process_pool(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLN_WORKERS", "2")
    base = http_server.base_url
    names = ["boilerplate", "comment-spam", "windows-1252"]
    teasers = [(f"p{n}", f"Post {n}", f"Teaser {n}…") for n in range(8)]
    http_server.add(
        "/alice/atom.xml", atom_summaries(base, teasers), content_type="application/atom+xml"
    )
    for n in range(8):
        http_server.add(f"/alice/p{n}/", page(names[n % 3]), content_type="text/html")
    site = tmp_path / "site"
    write_site(site, {"Alice": [f"{base}/alice/atom.xml"]})
    result = pln(site, "-v", "fetch")
    assert result.exit_code == 0, result.output
    assert "full text: 8 of 8 articles extracted" in result.stderr
    assert len(search(site, "sedge")) == 3
    assert len(search(site, "Grundwasserstände")) == 2


# ── the store's part ─────────────────────────────────────────────────────────────────────


def parsed(guid: str, text: str = "A teaser…") -> ParsedPost:
    return ParsedPost(
        guid=guid,
        link=f"https://b.example/{guid}/",
        title=guid.title(),
        summary_html=f"<p>{text}</p>",
        text=text,
    )


def source_id(store: Store) -> int:
    row = store.db.execute("SELECT id FROM sources").fetchone()
    return int(row[0])


def test_posts_stored_before_the_migration_are_not_new(tmp_path: Path) -> None:
    path = tmp_path / "pln.db"
    db = Database(sqlite3.connect(path))
    migrations.apply(db, stop_before="m004_full_text")
    db.execute("INSERT INTO people (name, slug) VALUES ('A', 'a')")
    db.execute("INSERT INTO sources (url, kind, person_id, added_at) VALUES ('u', 'feed', 1, 'x')")
    db.execute(
        """INSERT INTO posts (source_id, guid, link, first_seen, posted_at, content_hash)
        VALUES (1, 'old', 'https://b.example/old/', ?, ?, 'h')""",
        ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"],
    )
    db.conn.commit()
    db.close()
    with Store.open(path) as store:
        store.record_success(1, [parsed("new")], NOW)
        awaiting = store.posts_awaiting_page(1, NOW, 100)
    assert [post.link for post in awaiting] == ["https://b.example/new/"]


def test_store_records_articles_and_failures(tmp_path: Path) -> None:
    from tests.sites import write_site as _write

    _write(tmp_path, {"A": ["https://b.example/feed"]})
    config = app.load_config(tmp_path)
    with Store.open(tmp_path / "pln.db") as store:
        store.sync_config(config, NOW)
        sid = source_id(store)
        store.record_success(sid, [parsed("one"), parsed("two"), parsed("three")], NOW)
        one, two, three = sorted(store.posts_awaiting_page(sid, NOW, 10), key=lambda p: p.link)[:3]
        assert one.needs_metadata, "the feed gave no author and no date"

        article = Article(
            text="The whole article about groundwater.",
            title="Ignored title",
            author="Page Author",
            published=datetime(2025, 1, 2, 12, tzinfo=UTC),
            language="en",
        )
        assert store.record_article(one, article, NOW, use_text=True)
        store.record_article_failure(two, "HTTP 404", NOW, NOW + timedelta(minutes=30))
        store.settle_without_page([three])

        assert store.posts_awaiting_page(sid, NOW, 10) == []
        (due,) = store.posts_awaiting_page(sid, NOW + timedelta(hours=1), 10)
        assert due.id == two.id and due.attempts == 1

        hits = store.search("groundwater")
        assert [hit.title for hit in hits] == ["One"], "the feed's title is kept"
        row = store.db.execute(
            "SELECT author, published, posted_at, language FROM posts WHERE id = ?", [one.id]
        ).fetchone()
        assert row == (
            "Page Author",
            "2025-01-02T12:00:00+00:00",
            "2025-01-02T12:00:00+00:00",
            "en",
        )
        (health,) = store.source_health()
        assert (health.articles_extracted, health.articles_failed) == (1, 1)
        assert health.article_error == "HTTP 404"

        # An edit of the entry in the feed: its text is the feed's again, and it is due again.
        store.record_success(sid, [parsed("one", "An edited teaser…")], NOW)
        awaiting = store.posts_awaiting_page(sid, NOW, 10)
        assert one.id in {post.id for post in awaiting}
        assert store.search("groundwater") == []
        # A result for an older version of the entry is not stored over the newer one.
        assert not store.record_article(one, article, NOW, use_text=True)


def test_topics_are_worked_out_from_the_article_text(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.add(
        "/alice/atom.xml",
        atom_summaries(base, [("riparian", "Riparian buffers", "Every spring the creek […]")]),
        content_type="application/atom+xml",
    )
    http_server.add("/alice/riparian/", page("boilerplate"), content_type="text/html")
    site = tmp_path / "site"
    write_site(
        site,
        {"Alice": [f"{base}/alice/atom.xml"]},
        topics=[{"name": "Fish", "slug": "fish", "match": "trout OR salmon"}],
    )
    assert pln(site, "fetch").exit_code == 0
    (hit,) = search(site, "sedge")
    assert hit["topics"] == ["fish"], "only the article, not the teaser, mentions trout"


def test_pages_that_are_not_articles_are_not_tried_again(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    teasers = [("pdf", "A PDF", "A report…"), ("gone", "Gone", "A teaser…")]
    http_server.add(
        "/alice/atom.xml", atom_summaries(base, teasers), content_type="application/atom+xml"
    )
    http_server.add("/alice/pdf/", b"%PDF-1.7 ...", content_type="application/pdf")
    http_server.status("/alice/gone/", 410)
    site = tmp_path / "site"
    write_site(site, {"Alice": [f"{base}/alice/atom.xml"]})
    config = app.load_config(site)
    app.fetch(config, clock=lambda: NOW)
    app.fetch(config, clock=lambda: NOW + timedelta(days=2))
    assert len(http_server.requests_for("/alice/pdf/")) == 1
    assert len(http_server.requests_for("/alice/gone/")) == 1
    with Store.open(config.database_path) as store:
        (health,) = store.source_health()
    assert health.articles_failed == 2
    assert health.article_error in ("not a web page (application/pdf)", "HTTP 410 Gone")


def test_a_blog_without_feed_or_sitemap_fails_with_a_reason(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.add("/eve/", "<html><body>No feed here</body></html>", content_type="text/html")
    site = tmp_path / "site"
    write_site(site, {"Eve": [{"blog": f"{base}/eve/"}]})
    result = pln(site, "fetch")
    assert result.exit_code == 0
    assert "1 failed" in result.stdout
    assert "names no feed" in result.stderr and "no sitemap lists posts" in result.stderr
    assert len(http_server.requests_for("/robots.txt")) == 1
    assert len(http_server.requests_for("/sitemap.xml")) == 1


def test_a_feed_source_never_falls_back_to_a_sitemap(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    http_server.add("/eve/", "<html><body>No feed here</body></html>", content_type="text/html")
    site = tmp_path / "site"
    write_site(site, {"Eve": [f"{base}/eve/"]})
    assert "1 failed" in pln(site, "fetch").stdout
    assert http_server.requests_for("/robots.txt") == []


def test_extraction_never_runs_on_the_event_loop(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from aggregator import extract

    monkeypatch.setenv("PLN_WORKERS", "0")  # in this process, so the threads can be seen
    threads: list[str] = []
    real = extract.extract_page

    def watched(*args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(extract, "extract_page", watched)
    base = http_server.base_url
    teasers = [(f"p{n}", f"Post {n}", f"Teaser {n}…") for n in range(5)]
    http_server.add(
        "/alice/atom.xml", atom_summaries(base, teasers), content_type="application/atom+xml"
    )
    for n in range(5):
        http_server.add(f"/alice/p{n}/", page("boilerplate"), content_type="text/html")
    site = tmp_path / "site"
    write_site(site, {"Alice": [f"{base}/alice/atom.xml"]})
    assert pln(site, "fetch").exit_code == 0
    assert len(threads) == 5
    assert threading.main_thread().name not in threads


# ── warm refresh (engineer E) ── a run asks the store once which sources have posts awaiting
# their pages; an unchanged source that is not among them is not asked about its posts.
def test_the_store_names_the_sources_whose_posts_await_their_pages(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base_url
    for name in ("alice", "bob"):
        http_server.add(
            f"/{name}/atom.xml",
            atom_summaries(base, [(f"{name}-post", "Post", "A teaser […]")]),  # links: /alice/
            content_type="application/atom+xml",
        )
    http_server.status("/alice/alice-post/", 503)
    http_server.add("/alice/bob-post/", page("boilerplate"), content_type="text/html")
    site = tmp_path / "site"
    write_site(site, {"Alice": [f"{base}/alice/atom.xml"], "Bob": [f"{base}/bob/atom.xml"]})
    config = app.load_config(site)
    app.fetch(config, clock=lambda: NOW)

    with Store.open(config.database_path) as store:
        alice = {s.url: s.id for s in store.source_states()}[f"{base}/alice/atom.xml"]
        assert store.sources_awaiting_pages(NOW) == frozenset(), "Alice's page is backing off"
        assert store.sources_awaiting_pages(NOW + timedelta(minutes=31)) == {alice}

    # The feeds answer as before (unchanged): Alice's page is tried again when due, Bob's not.
    app.fetch(config, clock=lambda: NOW + timedelta(minutes=31))
    assert len(http_server.requests_for("/alice/alice-post/")) == 2
    assert len(http_server.requests_for("/alice/bob-post/")) == 1
