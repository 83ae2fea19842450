"""Does the fast path (aggregator/fastparse.py) read feeds exactly as the feedparser path? Evidence.

    /work/venv/bin/python bench/fastparse_compare.py      # compares; writes docs/benchmarks.md
    /work/venv/bin/python bench/fastparse_compare.py --no-write --show 20   # prints differences

Every XML document of ../shared/corpora/realworld-feeds, ../shared/corpora/feedparser-tests
and bench/network.py's synthetic network is read twice by ``aggregator.parse.read``: with the
fast path (``parse.fast_path = True``, what pln does) and without it (feedparser for
everything). An entry counts as identical when EVERY field of its ParsedPost is equal; a feed
the fast path declines takes the feedparser path, so its entries count as identical, and the
share of feeds (and entries) the fast path accepts is counted apart. The feed's own fields
(title, link, format, problems) and errors are compared too. Times are CPU per feed of each
path on the feeds the fast path accepts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import ROOT, load_average, machine, now_text, replace_section

from aggregator import fastparse, parse
from aggregator.errors import ParseError
from aggregator.models import FeedLinks, ParsedFeed

CORPORA = ROOT.parent / "shared" / "corpora"
REPORT = ROOT / "docs" / "benchmarks.md"
URL = "https://example.org/feeds/feed.xml"


@dataclass
class Tally:
    feeds: int = 0
    accepted: int = 0
    entries: int = 0
    accepted_entries: int = 0
    identical: int = 0
    feed_differences: int = 0
    fast_seconds: float = 0.0
    slow_seconds: float = 0.0
    examples: list[str] = field(default_factory=list)


def corpus_documents() -> Iterator[tuple[str, str, bytes]]:
    """(corpus, name, body) of every XML document of the corpora."""
    realworld = CORPORA / "realworld-feeds"
    manifest = json.loads((realworld / "manifest.json").read_text(encoding="utf-8"))
    for item in manifest:
        if not item["file"].endswith(".json"):
            yield "realworld-feeds", item["file"], (realworld / item["file"]).read_bytes()
    tests = CORPORA / "feedparser-tests"
    for path in sorted(tests.rglob("*")):
        if path.is_file() and path.suffix in (".xml", ".rss", ".atom", ".rdf"):
            yield "feedparser-tests", str(path.relative_to(tests)), path.read_bytes()


def synthetic_documents(count: int) -> Iterator[tuple[str, str, bytes]]:
    from network import feed_url, make_feed, render

    for index in range(count):
        feed = make_feed(index)
        if feed.format != "json":
            yield "synthetic", f"feed {index}", render(feed, feed_url(index, 1, feed.format))


def _read(body: bytes, fast: bool) -> tuple[object, float]:
    parse.fast_path = fast
    started = time.process_time()
    try:
        result: object = parse.read(body, URL, None)
    except ParseError as error:
        result = ("ParseError", str(error))
    except Exception as error:  # a crash is a difference worth seeing, not a stop
        result = ("crash", repr(error))
    finally:
        parse.fast_path = True
    return result, time.process_time() - started


def _accepts(body: bytes) -> bool:
    """Whether the fast path reads ``body`` (as parse.py would hand it over)."""
    accepted: list[bool] = []
    original = fastparse.read

    def spy(xml_body: bytes, url: str, content_type: str) -> object:
        result = original(xml_body, url, content_type)
        accepted.append(result is not None)
        return result

    fastparse.read = spy  # type: ignore[assignment]
    try:
        _read(body, fast=True)
    finally:
        fastparse.read = original
    return any(accepted)


def _differing_fields(slow: ParsedFeed, fast: ParsedFeed, index: int) -> list[str]:
    other = fast.posts[index] if index < len(fast.posts) else None
    if other is None:
        return ["missing"]
    mine = slow.posts[index]
    return [f.name for f in fields(mine) if getattr(mine, f.name) != getattr(other, f.name)]


def compare_one(tally: Tally, corpus: str, name: str, body: bytes, show: int) -> None:
    tally.feeds += 1
    slow, slow_time = _read(body, fast=False)
    if isinstance(slow, FeedLinks) or not _accepts(body):
        tally.entries += len(slow.posts) if isinstance(slow, ParsedFeed) else 0
        tally.identical += len(slow.posts) if isinstance(slow, ParsedFeed) else 0
        return
    fast, fast_time = _read(body, fast=True)
    tally.accepted += 1
    tally.slow_seconds += slow_time
    tally.fast_seconds += fast_time
    if not isinstance(slow, ParsedFeed) or not isinstance(fast, ParsedFeed):
        tally.feed_differences += slow != fast
        if slow != fast and len(tally.examples) < show:
            tally.examples.append(f"{corpus} {name}: {slow!r:.200} vs {fast!r:.200}")
        return
    tally.entries += len(slow.posts)
    tally.accepted_entries += len(slow.posts)
    feed_fields = ("format", "title", "link", "problems")
    if any(getattr(slow, f) != getattr(fast, f) for f in feed_fields) or len(slow.posts) != len(
        fast.posts
    ):
        tally.feed_differences += 1
        if len(tally.examples) < show:
            tally.examples.append(f"{corpus} {name}: feed fields or entry count differ")
    for index in range(len(slow.posts)):
        wrong = _differing_fields(slow, fast, index)
        if not wrong:
            tally.identical += 1
        elif len(tally.examples) < show:
            first = wrong[0]
            theirs = getattr(fast.posts[index], first) if first != "missing" else None
            tally.examples.append(
                f"{corpus} {name} #{index}: {wrong}: "
                f"{getattr(slow.posts[index], first, None)!r:.120} vs {theirs!r:.120}"
            )


def compare(synthetic: int, show: int) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    documents = [*corpus_documents(), *synthetic_documents(synthetic)]
    for corpus, name, body in documents:
        compare_one(tallies.setdefault(corpus, Tally()), corpus, name, body, show)
    return tallies


def report(tallies: dict[str, Tally], synthetic: int) -> str:
    rows = []
    total = Tally()
    for corpus, tally in tallies.items():
        rows.append(_row(corpus, tally))
        for name in ("feeds", "accepted", "entries", "accepted_entries", "identical"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
        total.feed_differences += tally.feed_differences
        total.fast_seconds += tally.fast_seconds
        total.slow_seconds += tally.slow_seconds
    rows.append(_row("**all**", total))
    share = total.identical / total.entries * 100 if total.entries else 100.0
    return f"""\
- date: {now_text()}; machine: {machine()}; load average {load_average()}
- command: `/work/venv/bin/python bench/fastparse_compare.py` ({synthetic} synthetic feeds)
- every XML document of realworld-feeds and feedparser-tests, and bench/network.py's
  RSS and Atom feeds, read by `parse.read` with the fast path and without it (feedparser for
  everything); an entry is identical when every ParsedPost field is equal; a declined feed
  goes to feedparser, so its entries are identical by construction.

{_HEADER}
{chr(10).join(rows)}

**{share:.2f}%** of entries identical (the bar: 99%)."""


_HEADER = (
    "| corpus | feeds | accepted by the fast path | entries | of them in accepted feeds "
    "| entries identical | feeds whose own fields differ | feedparser path ms a feed "
    "| fast path ms a feed |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def _row(corpus: str, tally: Tally) -> str:
    slow = tally.slow_seconds / tally.accepted * 1000 if tally.accepted else 0.0
    fast = tally.fast_seconds / tally.accepted * 1000 if tally.accepted else 0.0
    identical = tally.identical / tally.entries * 100 if tally.entries else 100.0
    return (
        f"| {corpus} | {tally.feeds} | {tally.accepted} | {tally.entries} | "
        f"{tally.accepted_entries} | {identical:.2f}% | {tally.feed_differences} | "
        f"{slow:.2f} | {fast:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", type=int, default=0, help="print this many differences")
    parser.add_argument("--synthetic", type=int, default=300, help="synthetic feeds to read")
    parser.add_argument("--no-write", dest="write", action="store_false")
    args = parser.parse_args()
    tallies = compare(args.synthetic, args.show)
    for tally in tallies.values():
        for example in tally.examples:
            print(example)
    text = report(tallies, args.synthetic)
    print(text)
    if args.write:
        replace_section(REPORT, "## The fast path against feedparser", text)


if __name__ == "__main__":
    main()
