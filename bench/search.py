"""Search latency (and topic tagging, trends) at 20k and 200k synthetic posts.

    /work/venv/bin/python bench/search.py                # both sizes; writes docs/benchmarks.md
    /work/venv/bin/python bench/search.py --sizes 20000  # one size
    /work/venv/bin/python bench/search.py --no-write     # prints only

The corpus is synthetic and seeded, so runs compare: people with one feed each, posts spread
over three years, titles of 8 words and texts of 150 words drawn from a 30,000-word
vocabulary with Zipf frequencies (a few words very common, most rare), and the words of three
topics mixed in at rates of a few percent. Posts are stored through ``Store.record_success``,
as a fetch stores them (FTS triggers, tagging queue and all), then tagged.

Every query is run through ``Store.search`` on a read-only store, as ``pln search`` does,
``REPEATS`` times after one warm-up; the figures are wall-clock milliseconds per query, the
median and the 95th percentile over all runs of a kind. Process start-up of the ``pln``
command is left out (it is measured once, apart, by running the command).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator import topics  # noqa: E402
from aggregator.models import (  # noqa: E402
    Config,
    ParsedPost,
    PersonConfig,
    SiteConfig,
    SourceConfig,
    SourceKind,
    TopicConfig,
)
from aggregator.store import Store  # noqa: E402

REPORT = ROOT / "docs" / "benchmarks.md"
HEADING = "## Search"
REPEATS = 15
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SPAN_DAYS = 3 * 365
PEOPLE = 400
VOCABULARY = 30_000
TITLE_WORDS = 8
TEXT_WORDS = 150
BATCH = 500  # posts per record_success call: a big feed

TOPICS = (
    TopicConfig("Water", "water", 'water OR watershed OR drought OR "water quality"'),
    TopicConfig("Circular economy", "circular", '"circular economy" OR recycling OR reuse'),
    TopicConfig("Energy", "energy", "solar OR wind* OR NEAR(energy storage, 5)"),
)
# Topic words and how often a post carries each: enough to make the topics real, not all.
PLANTED = {
    "water": 0.05,
    "watershed": 0.01,
    "drought": 0.01,
    "water quality": 0.005,
    "circular economy": 0.01,
    "recycling": 0.02,
    "reuse": 0.01,
    "solar": 0.02,
    "windpower": 0.005,
    "energy storage": 0.005,
}

# (kind, query, options) — the kinds are what the report groups by.
QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("common word", "water", {}),
    ("common word", "lorem", {}),
    ("rare word", "watershed", {}),
    ("rare word", "zoqueru", {}),
    ("phrase", '"water quality"', {}),
    ("prefix", "recycl*", {}),
    ("boolean", "water OR drought NOT solar", {}),
    ("column filter", "title:drought", {}),
    ("typed, falls back", "it's e-learning", {}),
    ("sort by date", "water", {"sort": "date"}),
    ("topic filter", "drought", {"topic": "water"}),
    ("person filter", "water", {"person": "person-7"}),
    ("date range", "water", {"since": "-60", "until": "-30"}),
    ("limit 200", "water", {"limit": 200}),
]


@dataclass
class Corpus:
    words: list[str]
    cumulative: list[float]  # cumulative weights: random.choices is slow without them


def make_corpus(rng: random.Random) -> Corpus:
    """Pseudo-words from syllables, the first ones most frequent (Zipf, exponent 1)."""
    syllables = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"]
    seen: set[str] = {"lorem"}
    words = ["lorem"]  # the most common word of all, for the "common word" query
    while len(words) < VOCABULARY:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    words[VOCABULARY // 2] = "zoqueru"  # a rare word with a known spelling
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))
    return Corpus(words, cumulative)


def make_post(rng: random.Random, corpus: Corpus, number: int) -> ParsedPost:
    title = rng.choices(corpus.words, cum_weights=corpus.cumulative, k=TITLE_WORDS)
    text = rng.choices(corpus.words, cum_weights=corpus.cumulative, k=TEXT_WORDS)
    for phrase, rate in PLANTED.items():
        if rng.random() < rate:
            target = title if rng.random() < 0.3 else text
            target.insert(rng.randrange(len(target) + 1), phrase)
    published = NOW - timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
    return ParsedPost(
        guid=f"post-{number}",
        link=f"https://example.org/posts/{number}",
        title=" ".join(title).capitalize(),
        text=" ".join(text) + ".",
        published=published,
    )


def make_config(path: Path) -> Config:
    people = tuple(
        PersonConfig(
            name=f"Person {n}",
            slug=f"person-{n}",
            sources=(
                SourceConfig(
                    url=f"https://p{n}.example.org/feed", kind=SourceKind.FEED, person=f"Person {n}"
                ),
            ),
            topics=("energy",) if n % 50 == 0 else (),
        )
        for n in range(PEOPLE)
    )
    return Config(path=path, site=SiteConfig(title="Bench"), topics=TOPICS, people=people)


def build(size: int, directory: Path) -> tuple[Path, Config, dict[str, float]]:
    """A database of ``size`` posts; returns it with the times of storing and tagging."""
    rng = random.Random(size)
    corpus = make_corpus(rng)
    config = make_config(directory / "sources.yaml")
    database = directory / f"bench-{size}.db"
    timings: dict[str, float] = {}
    with Store.open(database) as store:
        states = store.sync_config(config, NOW)
        started = time.perf_counter()
        for start in range(0, size, BATCH):
            state = states[(start // BATCH) % len(states)]
            posts = [make_post(rng, corpus, n) for n in range(start, min(size, start + BATCH))]
            store.record_success(state.id, posts, NOW)
        timings["store"] = time.perf_counter() - started
        rules = topics.topic_rules(config.topics)
        people = topics.person_topics(config.people)
        started = time.perf_counter()
        store.retag_all(rules, people, topics.definitions_hash(config))
        timings["retag all"] = time.perf_counter() - started
        # A day's fetch: 100 new posts from one feed, tagged as the fetch tags them.
        fresh = [make_post(rng, corpus, size + n) for n in range(100)]
        store.record_success(states[0].id, fresh, NOW)
        started = time.perf_counter()
        store.tag_untagged(rules, people)
        timings["tag 100 new"] = time.perf_counter() - started
        store.db.execute("PRAGMA optimize")
    return database, config, timings


def search_options(options: dict[str, Any]) -> dict[str, Any]:
    resolved = dict(options)
    for key in ("since", "until"):
        if key in resolved:
            resolved[key] = NOW + timedelta(days=int(resolved[key]))
    return resolved


def measure(call: Callable[[], object]) -> list[float]:
    call()  # warm-up: the page cache, as a person's second search would find it
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        call()
        runs.append((time.perf_counter() - started) * 1000)
    return runs


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class SizeResult:
    size: int
    by_kind: dict[str, list[float]]
    matches: dict[str, int]  # query → how many posts match it
    timings: dict[str, float]
    trends_ms: float
    cli_ms: float
    database_mb: float


def run_size(size: int, directory: Path) -> SizeResult:
    print(f"building {size:,} posts…", file=sys.stderr)
    database, config, timings = build(size, directory)
    by_kind: dict[str, list[float]] = {}
    matches: dict[str, int] = {}
    with Store.open_readonly(database) as store:
        for kind, text, options in QUERIES:
            kwargs = search_options(options)
            runs = measure(lambda t=text, k=kwargs: store.search(t, **k))
            by_kind.setdefault(kind, []).extend(runs)
            hits = store.search(text, **kwargs)
            if not options:
                matches[text] = count_matches(store, text)
            print(
                f"  {kind:18} {text!r:32} {len(hits):4} hits  "
                f"median {statistics.median(runs):7.1f} ms",
                file=sys.stderr,
            )
        started = time.perf_counter()
        store.trend_counts(NOW - timedelta(days=7), NOW - timedelta(days=97), NOW)
        trends_ms = (time.perf_counter() - started) * 1000
    return SizeResult(
        size=size,
        by_kind=by_kind,
        matches=matches,
        timings=timings,
        trends_ms=trends_ms,
        cli_ms=cli_search_ms(database, config),
        database_mb=database.stat().st_size / 1e6,
    )


def count_matches(store: Store, text: str) -> int:
    try:
        row = store.db.execute(
            "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?", [text]
        ).fetchone()
    except sqlite3.OperationalError:
        return 0  # searched as plain words instead: see the table
    return int(row[0])


def cli_search_ms(database: Path, config: Config) -> float:
    """`pln search water` as a person runs it: process start-up included (median of 5)."""
    site = database.parent / f"site-{database.stem}"
    site.mkdir(exist_ok=True)
    topic_lines = "".join(
        f"  - name: {t.name}\n    slug: {t.slug}\n    match: '{t.match}'\n" for t in TOPICS
    )
    (site / "sources.yaml").write_text(
        f"site:\n  title: Bench\n  database: ../{database.name}\ntopics:\n{topic_lines}"
        "people:\n  - name: Person 0\n    sources: [https://p0.example.org/feed]\n",
        encoding="utf-8",
    )
    command = [str(Path(sys.executable).parent / "pln"), "--site", str(site), "search", "water"]
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        done = subprocess.run([*command, "--format", "json"], capture_output=True, text=True)
        runs.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            print(f"`pln search` failed:\n{done.stderr}", file=sys.stderr)
            return math.nan
    return statistics.median(runs)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    return (
        f"{model}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def report(results: list[SizeResult], load: tuple[float, float]) -> str:
    sizes = " | ".join(f"{r.size:,} posts: median / p95 (ms)" for r in results)
    lines = [
        HEADING,
        "",
        f"`bench/search.py`, run {date.today().isoformat()} on {machine()}. Load average "
        f"(1 min) {load[0]:.1f} at the start and {load[1]:.1f} at the end: other work shared "
        "the machine, so read the figures as upper bounds.",
        "",
        "Synthetic corpus (seeded): 400 people, posts over three years, 8-word titles and",
        "150-word texts from a 30,000-word Zipf vocabulary, three topics. Each query runs",
        f"{REPEATS} times through `Store.search` on a read-only store after a warm-up;",
        "figures are wall-clock milliseconds per query, start-up of the command left out.",
        "",
        f"| query | {sizes} |",
        "| --- |" + " --- |" * len(results),
    ]
    kinds = list(dict.fromkeys(kind for kind, _, _ in QUERIES))
    everything = [[ms for runs in r.by_kind.values() for ms in runs] for r in results]
    for kind in [*kinds, "all queries"]:
        cells = []
        for index, result in enumerate(results):
            runs = everything[index] if kind == "all queries" else result.by_kind[kind]
            cells.append(f"{statistics.median(runs):.1f} / {percentile(runs, 0.95):.1f}")
        label = f"**{kind}**" if kind == "all queries" else kind
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    largest = results[-1]
    counted = ", ".join(f"`{text}` {count:,}" for text, count in largest.matches.items())
    lines += ["", f"Posts each query matches at {largest.size:,} posts: {counted}."]
    lines += ["", "Around the searches (seconds unless marked):", ""]
    lines.append("| | " + " | ".join(f"{r.size:,} posts" for r in results) + " |")
    lines.append("| --- |" + " --- |" * len(results))
    rows: list[tuple[str, Callable[[SizeResult], str]]] = [
        ("store every post (record_success, FTS triggers)", lambda r: f"{r.timings['store']:.1f}"),
        ("tag every post by 3 topics (retag_all)", lambda r: f"{r.timings['retag all']:.2f}"),
        ("tag 100 new posts (a fetch's tag_untagged)", lambda r: f"{r.timings['tag 100 new']:.3f}"),
        ("trend counts, 7 days against the 90 before", lambda r: f"{r.trends_ms / 1000:.2f}"),
        ("`pln search water --format json`, whole process", lambda r: f"{r.cli_ms:.0f} ms"),
        ("database size", lambda r: f"{r.database_mb:.0f} MB"),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")
    return "\n".join(lines) + "\n"


def write_report(section: str) -> None:
    """Replace (or add) the Search section of docs/benchmarks.md, leaving the rest."""
    current = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Benchmarks\n"
    start = current.find(HEADING + "\n")
    if start < 0:
        updated = current.rstrip("\n") + "\n\n" + section
    else:
        following = current.find("\n## ", start + len(HEADING))
        rest = current[following + 1 :] if following >= 0 else ""
        updated = current[:start] + section + ("\n" + rest if rest else "")
    REPORT.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--no-write", action="store_true", help="print, do not write the docs")
    parser.add_argument("--keep", type=Path, help="build the databases in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pln-bench-") as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        load_start = os.getloadavg()[0]
        results = [run_size(size, directory) for size in args.sizes]
    section = report(results, (load_start, os.getloadavg()[0]))
    print(section)
    if not args.no_write:
        write_report(section)
        print(f"written to {REPORT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
