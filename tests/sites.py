"""Helpers to build site directories and small feeds for end-to-end tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    text: str
    published: datetime = BASE_TIME


def items(prefix: str, count: int, words: str = "notes") -> list[Item]:
    return [
        Item(
            guid=f"{prefix}-{n}",
            title=f"{prefix.title()} post {n} about {words}",
            text=f"<p>Post {n} of {prefix} on {words}.</p>",
            published=BASE_TIME - timedelta(hours=n),
        )
        for n in range(count)
    ]


def rss(base_url: str, entries: Sequence[Item], title: str = "A blog") -> str:
    body = "".join(
        f"""
        <item>
          <guid isPermaLink="false">{escape(item.guid)}</guid>
          <link>{base_url}/posts/{escape(item.guid)}</link>
          <title>{escape(item.title)}</title>
          <pubDate>{format_datetime(item.published)}</pubDate>
          <description>{escape(item.text)}</description>
        </item>"""
        for item in entries
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{escape(title)}</title><link>{base_url}/</link>
<description>test</description>{body}
</channel></rss>"""


def atom(base_url: str, entries: Sequence[Item], title: str = "An Atom blog") -> str:
    body = "".join(
        f"""
  <entry>
    <id>urn:test:{escape(item.guid)}</id>
    <link rel="alternate" href="{base_url}/atom/{escape(item.guid)}"/>
    <title>{escape(item.title)}</title>
    <updated>{item.published.isoformat()}</updated>
    <content type="html">{escape(item.text)}</content>
  </entry>"""
        for item in entries
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{escape(title)}</title>
<id>urn:test:feed</id><updated>{BASE_TIME.isoformat()}</updated>{body}
</feed>"""


def json_feed(base_url: str, entries: Sequence[Item], title: str = "A JSON blog") -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": base_url + "/",
            "items": [
                {
                    "id": item.guid,
                    "url": f"{base_url}/json/{item.guid}",
                    "title": item.title,
                    "content_html": item.text,
                    "date_published": item.published.isoformat(),
                }
                for item in entries
            ],
        }
    )


def html_page(feed_href: str, title: str = "A home page") -> str:
    return f"""<!doctype html><html><head><title>{escape(title)}</title>
<link rel="alternate" type="application/rss+xml" title="Feed" href="{escape(feed_href)}">
</head><body><h1>{escape(title)}</h1></body></html>"""


def write_site(
    site_dir: Path,
    people: dict[str, list[object]],
    *,
    topics: list[dict[str, str]] | None = None,
    fetch: dict[str, object] | None = None,
    timezone: str = "UTC",
) -> Path:
    """Write a sources.yaml for ``people`` (name → list of sources as sources.yaml takes them)."""
    document: dict[str, object] = {
        "site": {"title": "Test PLN", "timezone": timezone},
        "fetch": {"timeout": 2, "max_bytes": 200_000, **(fetch or {})},
        "topics": topics or [],
        "people": [{"name": name, "sources": sources} for name, sources in people.items()],
    }
    site_dir.mkdir(parents=True, exist_ok=True)
    path = site_dir / "sources.yaml"
    # JSON is YAML too, and needs no extra library.
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path
