"""sitemap.py: robots.txt lines, sitemaps and indexes, and picking a blog's newest posts."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

from aggregator import sitemap
from aggregator.sitemap import SitemapEntry

BLOG = "https://blog.example/"


def test_robots_sitemap_lines_come_first_then_the_usual_place() -> None:
    robots = """User-agent: *
Disallow: /wp-admin/
Sitemap: https://blog.example/sitemap_index.xml
sitemap:/news-sitemap.xml
Sitemap: ftp://blog.example/nope.xml
Sitemap: https://blog.example/sitemap_index.xml
"""
    assert sitemap.sitemap_candidates(BLOG, robots) == (
        "https://blog.example/sitemap_index.xml",
        "https://blog.example/news-sitemap.xml",
        "https://blog.example/sitemap.xml",
    )
    assert sitemap.sitemap_candidates("https://blog.example/notes/", None) == (
        "https://blog.example/sitemap.xml",
    )


URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://blog.example/</loc><lastmod>2025-10-20</lastmod></url>
  <url><loc>https://blog.example/2025/10/riparian-buffers/</loc>
       <lastmod>2025-10-14T07:30:00+02:00</lastmod></url>
  <url><loc> https://blog.example/2025/09/mycorrhiza/ </loc><lastmod>2025-09-02</lastmod></url>
  <url><loc>https://blog.example/tag/water/</loc><lastmod>2025-10-21</lastmod></url>
  <url><loc>https://blog.example/category/soil/</loc></url>
  <url><loc>https://blog.example/about/</loc><lastmod>2025-10-22</lastmod></url>
  <url><loc>https://blog.example/page/2/</loc></url>
  <url><loc>https://blog.example/2024/old-post/</loc></url>
  <url><loc>https://elsewhere.example/2025/10/not-ours/</loc><lastmod>2025-10-23</lastmod></url>
  <url><loc>https://blog.example/wp-content/uploads/map.pdf</loc></url>
  <url><loc><![CDATA[https://blog.example/2025/10/q-and-a/?a=1&b=2]]></loc>
       <lastmod>2025-10-01</lastmod></url>
  <url><loc>https://blog.example/2025/08/escaped/?a=1&amp;b=2</loc>
       <lastmod>2025-08-01</lastmod></url>
</urlset>"""


def test_a_urlset_lists_pages_with_their_dates() -> None:
    found = sitemap.read_sitemap(URLSET, "https://blog.example/sitemap.xml")
    assert found.children == ()
    assert len(found.pages) == 12
    riparian = found.pages[1]
    assert riparian == SitemapEntry(
        "https://blog.example/2025/10/riparian-buffers/", datetime(2025, 10, 14, 5, 30, tzinfo=UTC)
    )
    assert found.pages[2].url == "https://blog.example/2025/09/mycorrhiza/"
    assert found.pages[10].url == "https://blog.example/2025/10/q-and-a/?a=1&b=2"
    assert found.pages[11].url == "https://blog.example/2025/08/escaped/?a=1&b=2"


def test_newest_posts_of_the_blog_only() -> None:
    pages = sitemap.read_sitemap(URLSET, "https://blog.example/sitemap.xml").pages
    newest = [entry.url for entry in sitemap.newest_posts(pages, BLOG)]
    assert newest == [
        "https://blog.example/2025/10/riparian-buffers/",
        "https://blog.example/2025/10/q-and-a/?a=1&b=2",
        "https://blog.example/2025/09/mycorrhiza/",
        "https://blog.example/2025/08/escaped/?a=1&b=2",
        "https://blog.example/2024/old-post/",  # no lastmod: after the dated ones
    ]
    assert len(sitemap.newest_posts(pages, BLOG, limit=2)) == 2


def test_a_blog_under_a_path_keeps_to_it_and_www_does_not_matter() -> None:
    pages = (
        SitemapEntry("https://www.site.example/notes/first/"),
        SitemapEntry("https://site.example/notes/"),
        SitemapEntry("https://site.example/shop/item/"),
        SitemapEntry("https://site.example/notes-elsewhere/x/"),
    )
    newest = sitemap.newest_posts(pages, "https://site.example/notes")
    assert [entry.url for entry in newest] == ["https://www.site.example/notes/first/"]


INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://blog.example/page-sitemap.xml</loc><lastmod>2025-10-30</lastmod></sitemap>
  <sitemap><loc>https://blog.example/post-sitemap.xml</loc><lastmod>2025-10-14</lastmod></sitemap>
  <sitemap><loc>https://blog.example/post-sitemap2.xml</loc><lastmod>2025-10-20</lastmod></sitemap>
  <sitemap><loc>https://blog.example/category-sitemap.xml</loc></sitemap>
  <sitemap><loc>https://blog.example/misc-sitemap.xml</loc></sitemap>
  <sitemap><loc>https://blog.example/author-sitemap.xml</loc></sitemap>
</sitemapindex>"""


def test_an_index_names_children_and_post_sitemaps_are_read_first() -> None:
    found = sitemap.read_sitemap(INDEX, "https://blog.example/sitemap_index.xml")
    assert found.pages == ()
    assert sitemap.ranked_children(found.children) == (
        "https://blog.example/post-sitemap2.xml",
        "https://blog.example/post-sitemap.xml",
        "https://blog.example/misc-sitemap.xml",
    )


def test_gzipped_and_plain_text_sitemaps() -> None:
    found = sitemap.read_sitemap(gzip.compress(URLSET), "https://blog.example/sitemap.xml.gz")
    assert len(found.pages) == 12
    text = b"https://blog.example/a/\n\nnot a url\nhttps://blog.example/b/\n"
    plain = sitemap.read_sitemap(text, "https://blog.example/sitemap.txt")
    assert [entry.url for entry in plain.pages] == [
        "https://blog.example/a/",
        "https://blog.example/b/",
    ]


def test_broken_and_hostile_sitemaps_give_what_can_be_read() -> None:
    broken = b"<urlset><url><loc>https://blog.example/a/</loc></url><url><loc>https://blog"
    assert [e.url for e in sitemap.read_sitemap(broken, BLOG).pages] == ["https://blog.example/a/"]
    bomb = b"""<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<urlset><url><loc>https://blog.example/&b;/</loc></url></urlset>"""
    (entry,) = sitemap.read_sitemap(bomb, BLOG).pages
    assert "aaaa" not in entry.url, "entities are never expanded"
    assert sitemap.read_sitemap(b"\x1f\x8bnot gzip", BLOG).pages == ()
    assert (
        sitemap.read_sitemap(b"<urlset><url><loc>javascript:x</loc></url></urlset>", BLOG).pages
        == ()
    )
