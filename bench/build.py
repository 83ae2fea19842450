"""Site build time: a year of a large network, built whole, then rebuilt with nothing changed.

    /work/venv/bin/python bench/build.py                  # 365 days, 200 sources, 50,000 posts
    /work/venv/bin/python bench/build.py --posts 5000 --rounds 1 --no-write
    /work/venv/bin/python bench/build.py --profile        # pyinstrument of one full build

The network (seeded) is written into a site directory through ``Store.record_success`` as
fetches store posts, then tagged by three topics; it is cached in a temporary folder between
runs. Each round builds into an empty output/ (a full build) and then again (a rebuild with
nothing changed), in-process through ``app.build`` as ``pln build`` calls it. The static
search index (Pagefind) is timed apart: its time is taken out of the build's and reported on
its own. The whole ``pln build`` process is timed once too.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import PLN, ROOT, load_average, machine, median, now_text, replace_section
from network import LANGUAGES

from aggregator import app, site
from aggregator.models import ParsedPost
from aggregator.store import Store

REPORT = ROOT / "docs" / "benchmarks.md"
NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
SEED = 365
CACHE = Path(tempfile.gettempdir()) / "pln-bench-build"

TOPICS = """\
topics:
  - name: Water
    match: 'water OR river OR watershed OR drought'
  - name: Open education
    slug: oer
    match: 'open OR commons OR license OR textbook'
  - name: Assessment
    match: 'assessment OR feedback OR exam*'
"""


def site_yaml(sources: int) -> str:
    people = []
    for index in range(sources):
        # Most people have one source, some two: about 0.85 people a source.
        person = index - 1 if index % 7 == 6 else index
        people.append((person, f"https://blog{index}.example.org/feed.xml"))
    lines = []
    current = None
    for person, url in people:
        if person != current:
            lines.append(f"  - name: Person {person}\n    sources:\n")
            current = person
        lines.append(f"      - {url}\n")
    return (
        "site:\n  title: Bench network\n  timezone: Europe/Berlin\n  home_days: 7\n"
        "fetch:\n  full_text: never\n" + TOPICS + "people:\n" + "".join(lines)
    )


def make_site(directory: Path, days: int, sources: int, posts: int) -> Path:
    """The site directory with its database filled; cached by size."""
    site_dir = directory / f"site-{days}d-{sources}s-{posts}p"
    if (site_dir / "pln.db").exists():
        return site_dir
    shutil.rmtree(site_dir, ignore_errors=True)
    site_dir.mkdir(parents=True)
    (site_dir / "sources.yaml").write_text(site_yaml(sources), encoding="utf-8")
    config = app.load_config(site_dir)
    rng = random.Random(SEED)
    words = LANGUAGES["en"].split()
    shared = [f"https://news{n}.example.net/story/{n * 7}" for n in range(2000)]
    weights = [1.0 / (rank + 1) for rank in range(len(shared))]
    start = NOW - timedelta(days=days)
    with Store.open(config.database_path) as store:
        states = store.sync_config(config, start)
        per_source = posts // len(states)
        for state in states:
            batch = []
            for number in range(per_source):
                moment = start + timedelta(seconds=rng.uniform(0, days * 86400))
                batch.append(_post(rng, words, shared, weights, state.url, number, moment))
            store.record_success(state.id, batch, NOW)
        app._retag(store, config)
    return site_dir


def _post(
    rng: random.Random,
    words: list[str],
    shared: list[str],
    weights: list[float],
    source: str,
    number: int,
    moment: datetime,
) -> ParsedPost:
    base = source.removesuffix("feed.xml")
    text = " ".join(rng.choices(words, k=rng.randint(60, 400)))
    link = rng.choices(shared, weights=weights)[0] if rng.random() < 0.3 else None
    html = f"<p>{text}</p>" + (f'<p><a href="{link}">{words[3]} {words[9]}</a></p>' if link else "")
    return ParsedPost(
        guid=f"{base}p/{number}",
        link=f"{base}{moment:%Y/%m}/post-{number}.html",
        title=" ".join(rng.choices(words, k=rng.randint(4, 10))).capitalize(),
        author=None,
        published=moment,
        summary_html=html,
        text=text,
        categories=tuple(rng.sample(words[40:], k=rng.randint(0, 3))),
        links=(link,) if link else (),
    )


_ORIGINAL_INDEX = site._index_search


def _no_index(staging: Path, previous: Path | None = None) -> bool:
    return False


class _IndexTimer:
    """Wraps site._index_search: the search index's time, kept apart from the build's."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu = 0.0  # Pagefind's CPU (a child process): not the build's
        self.original: Callable[[Path, Path | None], bool] = site._index_search

    def __call__(self, staging: Path, previous: Path | None = None) -> bool:  # (H: parts)
        started = time.perf_counter()
        cpu = cpu_seconds()
        try:
            return self.original(staging, previous)
        finally:
            self.seconds += time.perf_counter() - started
            self.cpu += cpu_seconds() - cpu


def timed_build(site_dir: Path, *, index: bool = True) -> tuple[float, float, Any]:
    """(seconds without the search index, seconds of the search index, report);
    ``index`` False leaves the search index out altogether. The build's CPU seconds
    (this process and its day-page child, Pagefind's taken out) go to ``LAST_CPU``."""
    global LAST_CPU
    config = app.load_config(site_dir)
    cpu = cpu_seconds()
    timer = _IndexTimer()
    if not index:
        timer.original = _no_index
    site._index_search = timer
    try:
        started = time.perf_counter()
        report = app.build(config, clock=lambda: NOW)
        total = time.perf_counter() - started
    finally:
        site._index_search = _ORIGINAL_INDEX
    LAST_CPU = cpu_seconds() - cpu - timer.cpu
    return total - timer.seconds, timer.seconds, report


LAST_CPU = 0.0


def one_process_build(site_dir: Path) -> tuple[float, float]:
    """A full build with the day pages in this process only (PLN_WORKERS=1): (wall, CPU)."""
    shutil.rmtree(site_dir / "output", ignore_errors=True)
    os.environ["PLN_WORKERS"] = "1"
    try:
        seconds, _, _ = timed_build(site_dir, index=False)
        return seconds, LAST_CPU
    finally:
        del os.environ["PLN_WORKERS"]


def cpu_seconds() -> float:
    """CPU of this process and of its children that ended (the build's day-page child)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="pyinstrument one full build")
    parser.add_argument("--no-write", dest="write", action="store_false")
    args = parser.parse_args()
    load_start = load_average()
    started = time.perf_counter()
    site_dir = make_site(CACHE, args.days, args.sources, args.posts)
    print(f"site ready in {time.perf_counter() - started:.1f} s: {site_dir}", flush=True)
    if args.profile:
        from pyinstrument import Profiler

        shutil.rmtree(site_dir / "output", ignore_errors=True)
        with Profiler() as profiler:
            timed_build(site_dir)
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        with Profiler() as profiler:
            timed_build(site_dir)
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    full: list[float] = []
    full_cpu: list[float] = []
    alone: list[float] = []
    alone_cpu: list[float] = []
    again: list[float] = []
    index: list[float] = []
    report = None
    for round_number in range(args.rounds):
        seconds, cpu = one_process_build(site_dir)
        alone.append(seconds)
        alone_cpu.append(cpu)
        shutil.rmtree(site_dir / "output", ignore_errors=True)
        seconds, indexing, report = timed_build(site_dir)
        full.append(seconds)
        index.append(indexing)
        full_cpu.append(LAST_CPU)
        seconds, indexing, _ = timed_build(site_dir)
        again.append(seconds)
        print(
            f"round {round_number + 1}: full {full[-1]:.2f} s (one process {alone[-1]:.2f} s), "
            f"rebuild {again[-1]:.2f} s, pagefind {index[-1]:.2f} s",
            flush=True,
        )
    # As a person runs it (the real clock): once to build, then the rebuild that is timed.
    command = [str(PLN), "--site", str(site_dir), "build"]
    subprocess.run(command, check=True, capture_output=True)
    for _ in range(3):  # pln's own code is fingerprinted: an edit in between builds again
        process = time.perf_counter()
        said = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        process = time.perf_counter() - process
        if " 0 files changed" in said:
            break
    assert report is not None
    text = f"""\
- date: {now_text()}; machine: {machine()}
- load average (1/5/15 min) at the start: {load_start}; at the end: {load_average()}
- command: `/work/venv/bin/python bench/build.py --days {args.days} --sources {args.sources} \
--posts {args.posts} --rounds {args.rounds}`
- site: {args.days} days, {args.sources} sources, {report.posts} posts, {report.pages} pages

| build | median s (of {args.rounds}) | every run |
| --- | --- | --- |
| full build into an empty output/, search index left out | **{median(full):.2f}** | \
{" ".join(f"{v:.2f}" for v in full)} |
| the same, day pages in one process only (`PLN_WORKERS=1`) | {median(alone):.2f} | \
{" ".join(f"{v:.2f}" for v in alone)} |
| CPU seconds of the full build, both processes (Pagefind's left out) | \
{median(full_cpu):.2f} | {" ".join(f"{v:.2f}" for v in full_cpu)} |
| CPU seconds of the one-process build | {median(alone_cpu):.2f} | \
{" ".join(f"{v:.2f}" for v in alone_cpu)} |
| rebuild, nothing changed, search index left out | **{median(again):.2f}** | \
{" ".join(f"{v:.2f}" for v in again)} |
| the static search index (Pagefind), timed apart | {median(index):.2f} | \
{" ".join(f"{v:.2f}" for v in index)} |
| `pln build` whole process (start-up included), rebuild, nothing changed | {process:.2f} | |
"""
    print(text)
    if args.write:
        replace_section(REPORT, "## Build", text)


if __name__ == "__main__":
    main()
