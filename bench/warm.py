"""Warm refresh (every answer a 304) and start-up, pln against lemon24/reader, side by side.

    /work/venv/bin/python bench/warm.py                      # 1,000 sources, 100 ms, 5 rounds
    /work/venv/bin/python bench/warm.py --rounds 3 --no-write

Against bench/network.py's synthetic network (as bench/refresh.py), each side first fetches
every feed once (cold, not timed here: bench/refresh.py times it); then the rounds run
``pln fetch`` and reader's ``update_feeds(scheduled=False, workers=W)`` in alternating order
(A B, then B A, ...), every answer a 304. Each figure is a whole process, start-up included;
CPU is user + system time of the process tree. Then the start-up of a few commands that read
the same 1,000-source site: ``pln --help``, ``pln sources``, ``pln search water``.

The goal (issue 9): warm within 1.3× the network limit ⌈N / concurrency⌉ × latency, at least
1.8× faster than reader, under 2 ms of CPU per unchanged source. ``--write`` (the default)
puts the results into docs/benchmarks.md under "## Warm refresh and start-up".
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import tempfile
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
    now_text,
    replace_section,
    run_measured,
)
from network import SEED, SOURCES_PER_HOST, feed_url, make_feed
from refresh import CONCURRENCY, site_config

REPORT = ROOT / "docs" / "benchmarks.md"
HEADING = "## Warm refresh and start-up"
PORT = 8772  # apart from bench/refresh.py's, so both can be set up on one machine
COMMANDS = {
    "pln --help": ["--help"],
    "pln sources": ["sources"],
    "pln search water": ["search", "water"],
}


def pln(site: Path, *args: str) -> Measured:
    return run_measured([str(PLN), "--site", str(site), *args])


def pln_fetch(site: Path) -> Measured:
    measured = pln(site, "fetch")
    failed = re.search(r"(\d+) failed", measured.stdout)
    if failed is None or failed.group(1) != "0":  # a benchmark of failures is void
        raise RuntimeError(f"pln: {measured.stdout[-2000:]}")
    return measured


def reader_update(database: Path, urls_file: Path, workers: int) -> Measured:
    command = [
        str(READER_PYTHON),
        str(BENCH / "reader_refresh.py"),
        str(database),
        str(urls_file),
        f"--workers={workers}",
    ]
    measured = run_measured(command)
    if json.loads(measured.stdout.strip().splitlines()[-1])["failed"]:
        raise RuntimeError("reader: feeds failed")
    return measured


def describe(runs: list[Measured]) -> tuple[float, float]:
    """Median wall and median CPU seconds."""
    return statistics.median(m.wall for m in runs), statistics.median(m.cpu for m in runs)


def report(args: argparse.Namespace, runs: dict[str, list[Measured]], load: tuple[str, str]) -> str:
    limit = math.ceil(args.sources / CONCURRENCY) * args.latency
    ours, our_cpu = describe(runs["pln warm"])
    theirs, their_cpu = describe(runs["reader warm"])
    walls = {name: " ".join(f"{m.wall:.2f}" for m in found) for name, found in runs.items()}
    startup_rows = [
        f"| `{name}` | {describe(runs[name])[0]:.2f} | {describe(runs[name])[1]:.2f} |"
        for name in COMMANDS
    ]
    return "\n".join(
        [
            f"- date: {now_text()}; machine: {machine()}",
            f"- load average (1/5/15 min) at the start: {load[0]}; at the end: {load[1]}",
            f"- command: `/work/venv/bin/python bench/warm.py --sources {args.sources} "
            f"--latency {args.latency} --rounds {args.rounds} --reader-workers "
            f"{args.reader_workers}`",
            f"- network: {args.sources} sources (bench/network.py, seed {SEED}) on "
            f"{math.ceil(args.sources / SOURCES_PER_HOST)} hosts, "
            f"{args.latency * 1000:.0f} ms per answer, every answer a 304",
            f"- pln: `pln fetch`, fetch.concurrency {CONCURRENCY}, per_host 4; reader 3.26: "
            f"`update_feeds(scheduled=False, workers={args.reader_workers})`",
            "",
            "| warm refresh | median s | CPU s | CPU a source |",
            "| --- | --- | --- | --- |",
            f"| pln | {ours:.2f} | {our_cpu:.2f} | {our_cpu / args.sources * 1000:.2f} ms |",
            f"| reader | {theirs:.2f} | {their_cpu:.2f} | "
            f"{their_cpu / args.sources * 1000:.2f} ms |",
            "",
            f"pln is **{theirs / ours:.2f}×** as fast as reader; the network limit "
            f"⌈{args.sources}/{CONCURRENCY}⌉ × {args.latency * 1000:.0f} ms = {limit:.2f} s, "
            f"pln takes **{ours / limit:.2f}×** that; CPU per unchanged source "
            f"**{our_cpu / args.sources * 1000:.2f} ms** (the whole process tree, start-up "
            f"included). Medians of {args.rounds} interleaved rounds.",
            "",
            "| start-up, whole process (same site) | median s | CPU s |",
            "| --- | --- | --- |",
            *startup_rows,
            "",
            "Every run (s): " + "; ".join(f"{name}: {value}" for name, value in walls.items()),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reader-workers", type=int, default=16)
    parser.add_argument("--no-write", dest="write", action="store_false")
    args = parser.parse_args()
    ensure_reader()
    load_start = load_average()
    runs: dict[str, list[Measured]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="pln-warm-") as temp,
        feed_server(args.sources, args.latency, port=PORT) as port,
    ):
        work = Path(temp)
        urls = [feed_url(i, port, make_feed(i).format) for i in range(args.sources)]
        urls_file = work / "urls.txt"
        urls_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
        site = work / "pln-site"
        site.mkdir()
        (site / "sources.yaml").write_text(site_config(urls), encoding="utf-8")
        database = work / "reader.sqlite"
        pln_fetch(site)  # cold: every feed new
        reader_update(database, urls_file, args.reader_workers)
        for number in range(args.rounds):
            sides = ["pln", "reader"] if number % 2 == 0 else ["reader", "pln"]
            for side in sides:
                if side == "pln":
                    runs.setdefault("pln warm", []).append(pln_fetch(site))
                else:
                    measured = reader_update(database, urls_file, args.reader_workers)
                    runs.setdefault("reader warm", []).append(measured)
            last = {name: f"{found[-1].wall:.2f}" for name, found in runs.items()}
            print(f"round {number + 1}: {last} load {load_average()}", flush=True)
        for _ in range(args.rounds):
            for name, command in COMMANDS.items():
                runs.setdefault(name, []).append(pln(site, *command))
    text = report(args, runs, (load_start, load_average()))
    print(text)
    if args.write:
        replace_section(REPORT, HEADING, text)


if __name__ == "__main__":
    main()
