"""Peak memory of `pln run` on 1,000 sources, and as the archive grows.

    /work/venv/bin/python bench/memory.py                      # archive +0, +50k, +200k posts
    /work/venv/bin/python bench/memory.py --extra 0 20000 --no-write

bench/network.py serves 1,000 feeds (100 ms latency). A fresh site directory runs
``pln run`` (cold: every feed new, then the whole site built); then the archive is grown by
synthetic older posts (stored through ``Store.record_success`` on the same sources, spread
over the two years before) and ``pln run`` runs again (every feed a 304, then the whole site
built again, since the posts changed). Peak memory is the largest sum of the resident sizes
of the whole process tree (pln, its parse workers and their forkserver, Pagefind), sampled
every 100 ms.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import (
    PLN,
    ROOT,
    feed_server,
    load_average,
    machine,
    now_text,
    replace_section,
    run_measured,
)
from network import LANGUAGES, feed_url, make_feed
from refresh import site_config

from aggregator.models import ParsedPost
from aggregator.store import Store

REPORT = ROOT / "docs" / "benchmarks.md"
SOURCES = 1000


def grow(database: Path, count: int, seed: int) -> None:
    """Add ``count`` older posts to the archive."""
    rng = random.Random(seed)
    words = LANGUAGES["en"].split()
    now = datetime.now(UTC)
    with Store.open(database) as store:
        states = store.source_states()
        per_source = max(1, count // len(states))
        for state in states:
            posts = []
            for number in range(per_source):
                moment = now - timedelta(days=30 + rng.uniform(0, 700))
                text = " ".join(rng.choices(words, k=rng.randint(60, 300)))
                posts.append(
                    ParsedPost(
                        guid=f"old-{seed}-{state.id}-{number}",
                        link=f"https://old.example.org/{seed}/{state.id}/{number}",
                        title=" ".join(rng.choices(words, k=6)),
                        published=moment,
                        summary_html=f"<p>{text}</p>",
                        text=text,
                    )
                )
            store.record_success(state.id, posts, now, etag=state.etag, body_hash=state.body_hash)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--extra", type=int, nargs="+", default=[0, 50_000, 200_000])
    parser.add_argument("--no-write", dest="write", action="store_false")
    args = parser.parse_args()
    load_start = load_average()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="pln-memory-") as temp,
        feed_server(SOURCES, 0.1) as port,
    ):
        site = Path(temp) / "site"
        site.mkdir()
        urls = [feed_url(i, port, make_feed(i).format) for i in range(SOURCES)]
        (site / "sources.yaml").write_text(site_config(urls), encoding="utf-8")
        for index, extra in enumerate(args.extra):
            if extra:
                grow(site / "pln.db", extra, index)
            measured = run_measured([str(PLN), "--site", str(site), "-q", "run"])
            with Store.open(site / "pln.db") as store:
                total = int(store.db.execute("SELECT count(*) FROM posts").fetchone()[0])
            kind = "cold: every feed new" if index == 0 else "warm: every feed a 304"
            programs = measured.peak_by_program
            rows.append(
                f"| {total:,} | {kind} | {measured.wall:.1f} | **{measured.peak_rss:.0f}** | "
                f"{programs.get('pln', 0):.0f} | {programs.get('pagefind', 0):.0f} |"
            )
            print(rows[-1], flush=True)
    text = "\n".join(
        [
            f"- date: {now_text()}; machine: {machine()}",
            f"- load average at the start: {load_start}; at the end: {load_average()}",
            "- command: `/work/venv/bin/python bench/memory.py --extra "
            + " ".join(str(e) for e in args.extra)
            + "`",
            "",
            "| posts in the archive | `pln run` | seconds | peak MB, whole process tree "
            "| of it pln (Python: main, forkserver, parse workers) | of it Pagefind |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
        ]
    )
    print(text)
    if args.write:
        replace_section(REPORT, "## Memory", text)


if __name__ == "__main__":
    main()
