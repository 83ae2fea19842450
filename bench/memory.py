"""Peak memory of `pln run` on 1,000 sources, and as the archive grows.

    /work/venv/bin/python bench/memory.py                      # archive +0, +50k, +200k posts
    /work/venv/bin/python bench/memory.py --extra 0 20000 --no-write

bench/network.py serves 1,000 feeds (100 ms latency). A fresh site directory runs
``pln run`` (cold: every feed new, then the whole site built); then the archive is grown by
synthetic older posts (stored through ``Store.record_success`` on the same sources, spread
over the two years before) and ``pln run`` runs again (every feed a 304, then the whole site
built again, since the posts changed: every part of the search index is indexed anew, as the
grown months changed). Peak memory is the largest sum of the resident sizes of the whole
process tree (pln, its parse workers and their forkserver, the resource tracker, Pagefind),
sampled every 100 ms; the largest each role reached on its own is listed beside it.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import (
    PLN,
    ROOT,
    _tree,
    feed_server,
    load_average,
    machine,
    now_text,
    replace_section,
)
from network import LANGUAGES, feed_url, make_feed
from refresh import site_config

from aggregator.models import ParsedPost
from aggregator.store import Store

REPORT = ROOT / "docs" / "benchmarks.md"
SOURCES = 1000


ROLES = ("main", "parse workers + forkserver", "resource tracker", "pagefind")


def role(pid: int) -> str:
    """Which part of `pln run` a process of the tree is, from its command line."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            name = handle.read().strip()
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if name.startswith("pagefind"):
        return "pagefind"
    if "resource_tracker" in command:
        return "resource tracker"
    if "forkserver" in command or "spawn_main" in command:
        return "parse workers + forkserver"
    return "main"


@dataclass(frozen=True)
class Peaks:
    wall: float
    total: float  # MB: the largest sum over the tree
    at_peak: dict[str, float]  # MB per role at that moment
    by_role: dict[str, float]  # MB: the largest each role reached


def run_sampled(command: Sequence[str]) -> Peaks:
    """Run ``command`` to its end, sampling its process tree every 100 ms."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    total = 0
    at_peak: dict[str, int] = {}
    by_role: dict[str, int] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal total, at_peak
        while not done.is_set():
            sums: dict[str, int] = {}
            for pid, (rss, _) in _tree(process.pid).items():
                kind = role(pid)
                if kind != "gone":
                    sums[kind] = sums.get(kind, 0) + rss
            if sum(sums.values()) > total:
                total, at_peak = sum(sums.values()), sums
            for kind, value in sums.items():
                by_role[kind] = max(value, by_role.get(kind, 0))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{stderr[-3000:]}")
    return Peaks(
        wall=time.perf_counter() - started,
        total=total / 2**20,
        at_peak={kind: value / 2**20 for kind, value in at_peak.items()},
        by_role={kind: value / 2**20 for kind, value in by_role.items()},
    )


def parts_of(site: Path) -> int:
    """How many parts the search index has (the primary and the older ones)."""
    return 1 + sum(1 for path in (site / "output/search/pagefind/parts").glob("*") if path.is_dir())


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
    parser.add_argument("--port", type=int, default=8797, help="the feed server's port")
    args = parser.parse_args()
    load_start = load_average()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="pln-memory-") as temp,
        feed_server(SOURCES, 0.1, args.port) as port,
    ):
        site = Path(temp) / "site"
        site.mkdir()
        urls = [feed_url(i, port, make_feed(i).format) for i in range(SOURCES)]
        (site / "sources.yaml").write_text(site_config(urls), encoding="utf-8")
        for index, extra in enumerate(args.extra):
            if extra:
                grow(site / "pln.db", extra, index)
            measured = run_sampled([str(PLN), "--site", str(site), "-q", "run"])
            with Store.open(site / "pln.db") as store:
                total = int(store.db.execute("SELECT count(*) FROM posts").fetchone()[0])
            kind = "cold: every feed new" if index == 0 else "warm: every feed a 304"
            roles = " | ".join(f"{measured.by_role.get(name, 0):.0f}" for name in ROLES)
            at_peak = ", ".join(
                f"{name} {value:.0f}" for name, value in sorted(measured.at_peak.items())
            )
            rows.append(
                f"| {total:,} | {kind} | {measured.wall:.1f} | **{measured.total:.0f}** | "
                f"{at_peak} | {roles} | {parts_of(site)} |"
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
            "| at that moment (MB) | largest alone (MB): main | parse workers + forkserver "
            "| resource tracker | Pagefind (one part) | search index parts |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            *rows,
        ]
    )
    print(text)
    if args.write:
        replace_section(REPORT, "## Memory", text)


if __name__ == "__main__":
    main()
