"""Cold and warm refresh of a synthetic network, pln against lemon24/reader, side by side.

    /work/venv/bin/python bench/refresh.py                          # 1,000 sources, 100 ms
    /work/venv/bin/python bench/refresh.py --sources 300 --rounds 2 --no-write
    /work/venv/bin/python bench/refresh.py --trees /tmp/pln-head /work/main --rounds 4

bench/network.py serves the network on loopback addresses with ``--latency`` before every
answer. Each round runs, in alternating order (A B, then B A, ...):

- pln: a fresh site directory with one person per source (``full_text: never``: reader
  reads no pages either; three topics, so tagging is paid for), ``pln fetch`` (cold: every
  feed new), then ``pln fetch`` again (warm: every answer a 304);
- reader: a fresh database, ``update_feeds(scheduled=False, workers=W)`` (cold), then again
  (warm), through bench/reader_refresh.py in bench/.venv-reader.

Each figure is a whole process, start-up included, as a scheduled run pays it. CPU is user +
system time of the process and its children (pln's parse workers). The network limit is
⌈N / concurrency⌉ × latency: pln's fetch.concurrency is 32. ``--write`` (the default) puts
the results into docs/benchmarks.md under "## Refresh".

``--trees A B`` compares two checkouts of pln instead (say the last commit, extracted with
``git archive``, and the working tree): cold ``pln fetch`` only, each run importing
``aggregator`` from its tree (``PYTHONPATH``, ``python -P``), in alternating order; it prints
every run and the medians and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BENCH,
    PLN,
    READER_PYTHON,
    ROOT,
    Measured,
    ensure_reader,
    feed_server,
    load_average,
    machine,
    median,
    now_text,
    replace_section,
    run_measured,
)
from network import SEED, feed_url, make_feed

REPORT = ROOT / "docs" / "benchmarks.md"
CONCURRENCY = 32

TOPICS = """\
topics:
  - name: Water
    match: 'water OR river OR Wasser OR eau OR agua'
  - name: Learning
    match: 'learning OR Lernen OR apprentissage OR aprendizaje OR "open textbook"'
  - name: Energy
    match: 'energy OR Energie OR énergie OR energía'
"""


def site_config(urls: list[str]) -> str:
    people = "".join(
        f"  - name: Person {index}\n    sources:\n      - {url}\n" for index, url in enumerate(urls)
    )
    return (
        "site:\n  title: Bench\n  timezone: UTC\n"
        f"fetch:\n  concurrency: {CONCURRENCY}\n  per_host: 4\n  full_text: never\n"
        f"{TOPICS}people:\n{people}"
    )


@dataclass
class Results:
    runs: dict[str, list[Measured]] = field(default_factory=dict)
    entries: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, measured: Measured) -> None:
        self.runs.setdefault(name, []).append(measured)

    def wall(self, name: str) -> float:
        return median([m.wall for m in self.runs[name]])

    def cpu(self, name: str) -> float:
        return median([m.cpu for m in self.runs[name]])

    def rss(self, name: str) -> float:
        return max(m.peak_rss for m in self.runs[name])


def run_pln(work: Path, urls: list[str], results: Results) -> None:
    site = work / "pln-site"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    (site / "sources.yaml").write_text(site_config(urls), encoding="utf-8")
    command = [str(PLN), "--site", str(site), "fetch"]
    for name in ("pln cold", "pln warm"):
        measured = run_measured(command)
        failed = re.search(r"(\d+) failed", measured.stdout)
        if failed is None or failed.group(1) != "0":  # a benchmark of failures is void
            raise RuntimeError(f"pln: {measured.stdout[-2000:]}")
        results.add(name, measured)
    import sqlite3

    with sqlite3.connect(site / "pln.db") as db:
        results.entries["pln"] = db.execute("SELECT count(*) FROM posts").fetchone()[0]


def run_trees(args: argparse.Namespace) -> None:
    """Cold `pln fetch` from each of ``args.trees``, interleaved (A B, B A, ...)."""
    print(f"load average at the start: {load_average()}", flush=True)
    results = Results()
    with (
        tempfile.TemporaryDirectory(prefix="pln-trees-") as temp,
        feed_server(args.sources, args.latency, args.port) as port,
    ):
        urls = [feed_url(i, port, make_feed(i).format) for i in range(args.sources)]
        site = Path(temp) / "site"
        for round_number in range(args.rounds):
            order = args.trees if round_number % 2 == 0 else args.trees[::-1]
            for tree in order:
                shutil.rmtree(site, ignore_errors=True)
                site.mkdir()
                (site / "sources.yaml").write_text(site_config(urls), encoding="utf-8")
                # -P: the current directory is not put first, so the tree's aggregator is used
                env = {**os.environ, "PYTHONPATH": tree}
                command = [sys.executable, "-P", "-m", "aggregator", "--site", str(site), "fetch"]
                measured = run_measured(command, env=env)
                if not re.search(r"\b0 failed", measured.stdout):
                    raise RuntimeError(f"{tree}: {measured.stdout[-2000:]}")
                results.add(tree, measured)
                print(
                    f"{tree}: {measured.wall:.2f} s, CPU {measured.cpu:.1f} s "
                    f"(load {load_average()})",
                    flush=True,
                )
    for tree in args.trees:
        print(f"{tree}: median {results.wall(tree):.2f} s, CPU {results.cpu(tree):.1f} s")


def run_reader(work: Path, urls_file: Path, workers: int, results: Results) -> None:
    database = work / "reader.sqlite"
    for leftover in work.glob("reader.sqlite*"):
        leftover.unlink()
    command = [
        str(READER_PYTHON),
        str(BENCH / "reader_refresh.py"),
        str(database),
        str(urls_file),
        f"--workers={workers}",
    ]
    for name in ("reader cold", "reader warm"):
        measured = run_measured(command)
        reported = json.loads(measured.stdout.strip().splitlines()[-1])
        if reported["failed"]:
            raise RuntimeError(f"reader: {reported['failed']} feeds failed")
        results.entries["reader"] = reported["entries"]
        results.add(name, measured)


def report(args: argparse.Namespace, results: Results, load: tuple[str, str]) -> str:
    limit = math.ceil(args.sources / CONCURRENCY) * args.latency
    rows = []
    for kind in ("cold", "warm"):
        ours, theirs = results.wall(f"pln {kind}"), results.wall(f"reader {kind}")
        rows.append(
            f"| {kind} | {ours:.2f} | {theirs:.2f} | **{theirs / ours:.1f}×** | "
            f"{results.cpu(f'pln {kind}'):.1f} | {results.cpu(f'reader {kind}'):.1f} | "
            f"{results.rss(f'pln {kind}'):.0f} | {results.rss(f'reader {kind}'):.0f} |"
        )
    warm = results.wall("pln warm")
    per_source_ms = results.cpu("pln warm") / args.sources * 1000
    walls = {name: " ".join(f"{m.wall:.2f}" for m in runs) for name, runs in results.runs.items()}
    lines = [
        f"- date: {now_text()}; machine: {machine()}",
        f"- load average (1/5/15 min) at the start: {load[0]}; at the end: {load[1]}",
        f"- command: `/work/venv/bin/python bench/refresh.py --sources {args.sources} "
        f"--latency {args.latency} --rounds {args.rounds} --reader-workers "
        f"{args.reader_workers}`",
        f"- network: {args.sources} sources (bench/network.py, seed {SEED}), "
        f"{args.latency * 1000:.0f} ms per answer, gzip, ETag; pln stored "
        f"{results.entries.get('pln')} posts, reader {results.entries.get('reader')} entries",
        f"- pln: `pln fetch`, fetch.concurrency {CONCURRENCY}, per_host 4; reader 3.26: "
        f"`update_feeds(scheduled=False, workers={args.reader_workers})`",
        "",
        "| refresh | pln s | reader s | ratio | pln CPU s | reader CPU s | pln peak MB "
        "| reader peak MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"Medians of {args.rounds} interleaved rounds, whole processes. Network limit "
        f"⌈{args.sources}/{CONCURRENCY}⌉ × {args.latency * 1000:.0f} ms = {limit:.2f} s: "
        f"warm pln is **{warm / limit:.2f}×** that; CPU per unchanged source "
        f"{per_source_ms:.2f} ms (the whole process's CPU over {args.sources} sources, "
        "start-up included).",
        "",
        "Every run (s): " + "; ".join(f"{name}: {value}" for name, value in walls.items()),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reader-workers", type=int, default=16)
    parser.add_argument("--only", choices=["pln", "reader"], help="run one side only")
    parser.add_argument(
        "--port", type=int, default=8770, help="the feed server's port (another run may hold one)"
    )
    parser.add_argument("--no-write", dest="write", action="store_false")
    parser.add_argument(
        "--trees", nargs=2, metavar=("A", "B"), help="compare two pln trees (cold, pln only)"
    )
    args = parser.parse_args()
    if args.trees:
        run_trees(args)
        return
    if args.only != "pln":
        ensure_reader()
    load_start = load_average()
    results = Results()
    with (
        tempfile.TemporaryDirectory(prefix="pln-refresh-") as temp,
        feed_server(args.sources, args.latency, args.port) as port,
    ):
        work = Path(temp)
        urls = [feed_url(i, port, make_feed(i).format) for i in range(args.sources)]
        urls_file = work / "urls.txt"
        urls_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
        for round_number in range(args.rounds):
            sides = ["pln", "reader"] if round_number % 2 == 0 else ["reader", "pln"]
            for side in sides:
                if args.only and side != args.only:
                    continue
                if side == "pln":
                    run_pln(work, urls, results)
                else:
                    run_reader(work, urls_file, args.reader_workers, results)
                last = {k: f"{v[-1].wall:.2f}" for k, v in results.runs.items()}
                print(f"round {round_number + 1}: {last}", flush=True)
    if args.only:
        for name, runs in results.runs.items():
            print(name, [f"{m.wall:.2f}s cpu {m.cpu:.1f} rss {m.peak_rss:.0f}" for m in runs])
        return
    text = report(args, results, (load_start, load_average()))
    print(text)
    if args.write:
        replace_section(REPORT, "## Refresh", text)


if __name__ == "__main__":
    main()
