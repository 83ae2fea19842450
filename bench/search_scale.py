"""Search at scale: one- to three-word queries with snippets and filters, at 20,000 and
1,000,000 posts, and reader's search on the same 20,000 posts, side by side.

    /work/venv/bin/python bench/search_scale.py                       # 20k (+ reader), 1M
    /work/venv/bin/python bench/search_scale.py --sizes 20000 --no-write

The posts are bench/search.py's synthetic corpus (same seed, same generator: 400 people,
three years, 8-word titles, 150-word texts from a 30,000-word Zipf vocabulary, three
topics), built once into ``--dir`` and reused. The queries are words of that vocabulary
chosen by frequency rank (rank 60 is in about a quarter of all posts, rank 8,000 in one in
six hundred) and the topic words, alone, in twos and in threes; each runs plain, with a topic
filter, with a person filter and with a date range, through ``Store.search`` (top 20 with
their snippets and topics) on a read-only store, ``REPEATS`` times after a warm-up.

The words in nearly every post (rank 1 and 5: "stop words", which a person searching
rarely types) are measured and shown apart from the p95.

``Store.search`` ranks only the newest ``SEARCH_CAP`` matches when more pass the filters
(as ``pln search`` does); the table says how many of the queries that was, and the same
queries are timed again with ``cap=None`` (``pln search --exhaustive``) for comparison.

At 1,000,000 posts a filtered search reads the two halves of its ids on two threads
(``store.SPLIT_MIN_IDS``) when the load average leaves a core free (``store._core_free``):
measure on a quiet machine; ``--cpu`` counts both threads' CPU time, not the time a person
waits.

reader (bench/.venv-reader): the same 20,000 posts as entries of 400 feeds, search
enabled, ``search_entries(query, limit=20)`` with its highlights, the same plain queries
(reader has no topic or date filter), interleaved with pln's run of them.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import search as corpus_bench
from harness import (
    READER_PYTHON,
    ROOT,
    ensure_reader,
    load_average,
    machine,
    median,
    now_text,
    percentile,
    replace_section,
)

from aggregator.query import SEARCH_CAP
from aggregator.store import Store

REPORT = ROOT / "docs" / "benchmarks.md"
REPEATS = 7
# What is timed: wall-clock time, or with --cpu this process's CPU time (which a machine
# loaded by other work inflates far less; reader is then timed the same way).
CLOCK: list[Callable[[], float]] = [time.perf_counter]
ONE_WORD_RANKS = (60, 120, 250, 500, 1000, 2000, 4000, 8000)
STOP_WORD_RANKS = (0, 5)
FILTERS: dict[str, dict[str, Any]] = {
    "plain": {},
    "topic": {"topic": "water"},
    "person": {"person": "Person 7"},
    "dates": {"since": -60, "until": -30},
}


def vocabulary(size: int) -> list[str]:
    """The corpus words of bench/search.py's database of ``size`` posts, by rank."""
    return corpus_bench.make_corpus(random.Random(size)).words


def query_set(words: list[str]) -> dict[str, list[str]]:
    rng = random.Random(9)
    ones = [words[rank] for rank in ONE_WORD_RANKS] + ["water", "drought", "recycling"]
    twos = [f"{rng.choice(ones)} {words[rng.choice(ONE_WORD_RANKS)]}" for _ in range(8)]
    twos += ["water quality", "circular economy"]
    threes = [" ".join(words[rng.choice(ONE_WORD_RANKS[:5])] for _ in range(3)) for _ in range(8)]
    threes += ["water quality drought"]
    return {"1 word": ones, "2 words": twos, "3 words": threes}


def database(size: int, directory: Path) -> Path:
    path = directory / f"bench-{size}.db"
    if not path.exists():
        print(f"building {size:,} posts (once) …", file=sys.stderr, flush=True)
        corpus_bench.build(size, directory)
    Store.open(path).close()  # a database built by an older pln: its migrations, once
    return path


def options(filter_name: str) -> dict[str, Any]:
    chosen = dict(FILTERS[filter_name])
    for key in ("since", "until"):
        if key in chosen:
            chosen[key] = corpus_bench.NOW + timedelta(days=chosen[key])
    return chosen


def time_query(
    store: Store, text: str, chosen: dict[str, Any], repeats: int = REPEATS
) -> list[float]:
    store.search(text, **chosen)
    runs = []
    for _ in range(repeats):
        started = CLOCK[0]()
        store.search(text, **chosen)
        runs.append((CLOCK[0]() - started) * 1000)
    return runs


def measure_pln(
    path: Path, queries: dict[str, list[str]], **extra: Any
) -> dict[tuple[str, str, str], list[float]]:
    found: dict[tuple[str, str, str], list[float]] = {}
    with Store.open_readonly(path) as store:
        for group, texts in queries.items():
            for text in texts:
                for name in FILTERS:
                    found[(group, text, name)] = time_query(store, text, options(name) | extra)
    return found


def capped_count(path: Path, queries: dict[str, list[str]]) -> int:
    """How many of the query × filter pairs match more posts than SEARCH_CAP."""
    with Store.open_readonly(path) as store:
        return sum(
            store.search_results(text, **options(name)).ranked_newest is not None
            for texts in queries.values()
            for text in texts
            for name in FILTERS
        )


def export_posts(size: int, target: Path) -> None:
    """The posts of bench/search.py's database of ``size``, as reader_search.py loads them."""
    rng = random.Random(size)
    corpus = corpus_bench.make_corpus(rng)
    with target.open("w", encoding="utf-8") as handle:
        for start in range(0, size, corpus_bench.BATCH):
            person = (start // corpus_bench.BATCH) % corpus_bench.PEOPLE
            for number in range(start, min(size, start + corpus_bench.BATCH)):
                post = corpus_bench.make_post(rng, corpus, number)
                assert post.published is not None
                row = {
                    "feed": f"https://p{person}.example.org/feed",
                    "id": post.guid,
                    "title": post.title,
                    "link": post.link,
                    "published": post.published.isoformat(),
                    "text": post.text,
                }
                handle.write(json.dumps(row) + "\n")


def measure_reader(size: int, directory: Path, texts: list[str]) -> dict[str, list[float]]:
    ensure_reader()
    posts = directory / f"reader-{size}.jsonl"
    reader_db = directory / f"reader-{size}.sqlite"
    if not reader_db.exists():
        export_posts(size, posts)
    queries = directory / "reader-queries.json"
    queries.write_text(json.dumps(texts), encoding="utf-8")
    done = subprocess.run(
        [str(READER_PYTHON), str(ROOT / "bench" / "reader_search.py"), str(reader_db),
         str(posts), str(queries), *(["cpu"] if CLOCK[0] is time.process_time else [])],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, list[float]] = json.loads(done.stdout)
    return result


def match_costs(
    path: Path, words: list[str], ours: dict[tuple[str, str, str], list[float]]
) -> list[str]:
    """Per one-word query: how many posts match, how many are ranked (the newest
    SEARCH_CAP at most) and what each ranked match costs."""
    rows = []
    with Store.open_readonly(path) as store:
        for rank in ONE_WORD_RANKS:
            word = words[rank]
            count = store.db.execute(
                "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?", [word]
            ).fetchone()[0]
            ms = median(ours[("1 word", word, "plain")])
            ranked = min(count, SEARCH_CAP)
            rows.append(
                f"| {word} ({rank}) | {count:,} | {ranked:,} | {ms:.1f} "
                f"| {ms * 1000 / max(ranked, 1):.1f} |"
            )
    return rows


def summary(runs: list[float]) -> str:
    return f"{median(runs):.1f} / {percentile(runs, 0.95):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/pln-bench-search"))
    parser.add_argument("--no-write", dest="write", action="store_false")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time CPU (both threads of a split search), not the wall clock",
    )
    args = parser.parse_args()
    if args.cpu:
        CLOCK[0] = time.process_time
    args.dir.mkdir(parents=True, exist_ok=True)
    load_start = load_average()
    lines: list[str] = []
    table: dict[int, dict[str, list[float]]] = {}
    stop_rows: dict[int, dict[str, list[float]]] = {}
    comparison = ""
    per_match: dict[int, list[str]] = {}
    capped: dict[int, int] = {}
    for size in args.sizes:
        path = database(size, args.dir)
        words = vocabulary(size)
        queries = query_set(words)
        plain = [text for texts in queries.values() for text in texts]
        reader_runs: dict[str, list[float]] = {}
        ours = {}
        # A B A B: pln's plain runs, reader's, and again, so that both share the same load.
        for _ in range(2 if size == args.sizes[0] else 1):
            ours_round = measure_pln(path, queries)
            for key, runs in ours_round.items():
                ours.setdefault(key, []).extend(runs)
            if size == args.sizes[0]:
                for text, runs in measure_reader(size, args.dir, plain).items():
                    reader_runs.setdefault(text, []).extend(runs)
        groups: dict[str, list[float]] = {}
        for (group, _text, name), runs in ours.items():
            groups.setdefault(group, []).extend(runs)
            groups.setdefault(f"filter: {name}", []).extend(runs)
            groups.setdefault("all", []).extend(runs)
        table[size] = groups
        with Store.open_readonly(path) as store:
            stop_rows[size] = {
                words[rank]: time_query(store, words[rank], {}) for rank in STOP_WORD_RANKS
            }
        print(f"{size:,}: all {summary(groups['all'])}", file=sys.stderr, flush=True)
        capped[size] = capped_count(path, queries)
        exhaustive = measure_pln(path, queries, cap=None)
        groups["all, --exhaustive (not in the goal)"] = [
            ms for runs in exhaustive.values() for ms in runs
        ]
        per_match[size] = match_costs(path, words, ours)
        if reader_runs:
            pln_plain = [ms for (g, t, n), runs in ours.items() if n == "plain" for ms in runs]
            theirs = [ms for runs in reader_runs.values() for ms in runs]
            comparison = (
                f"At {size:,} posts, the same {len(plain)} plain queries (top 20 with "
                f"snippets): pln median {median(pln_plain):.2f} ms, p95 "
                f"{percentile(pln_plain, 0.95):.2f} ms; reader 3.26 `search_entries` median "
                f"{median(theirs):.2f} ms, p95 {percentile(theirs, 0.95):.2f} ms: pln is "
                f"**{median(theirs) / median(pln_plain):.1f}×** faster at the median."
            )
    sizes = args.sizes
    header = " | ".join(f"{size:,} posts: median / p95 ms" for size in sizes)
    lines += [
        f"- date: {now_text()}; machine: {machine()}",
        f"- load average (1/5/15 min) at the start: {load_start}; at the end: {load_average()}",
        f"- command: `/work/venv/bin/python bench/search_scale.py --sizes "
        f"{' '.join(str(s) for s in sizes)}{' --cpu' if args.cpu else ''}`"
        + (" (CPU time of the searching process, not wall clock)" if args.cpu else ""),
        "",
        f"| queries | {header} |",
        "| --- |" + " --- |" * len(sizes),
    ]
    for group in table[sizes[0]]:
        cells = " | ".join(summary(table[size][group]) for size in sizes)
        label = "**all 1–3 word queries, every filter**" if group == "all" else group
        lines.append(f"| {label} | {cells} |")
    for rank in STOP_WORD_RANKS:
        cells = " | ".join(summary(stop_rows[size][vocabulary(size)[rank]]) for size in sizes)
        lines.append(f"| stop word (rank {rank}), plain, not in the p95 | {cells} |")
    pairs = sum(len(texts) for texts in query_set(vocabulary(sizes[0])).values()) * len(FILTERS)
    cells = " | ".join(f"{capped[size]} of {pairs}" for size in sizes)
    lines.append(f"| queries over the cap ({SEARCH_CAP:,}): newest ranked | {cells} |")
    largest = sizes[-1]
    lines += ["", f"Where the time goes at {largest:,} posts (one word, plain):", ""]
    lines += [
        "| word (frequency rank) | posts matching | ranked | median ms | µs per ranked match |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += per_match[largest]
    lines += ["", comparison]
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section(REPORT, "## Search at scale", text)


if __name__ == "__main__":
    main()
