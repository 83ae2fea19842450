"""Time and memory of `pln fetch` on every XML attack of the hostile-inputs corpus.

    /work/venv/bin/python bench/xml_attacks.py             # prints, and updates docs/reliability.md
    /work/venv/bin/python bench/xml_attacks.py --no-write  # prints only

For each attack document (tests/attack_corpus.py: the document as it comes, and its DOCTYPE in
front of an RSS and an Atom feed), one scratch site with those feeds and one run of the real
command in a child process, parsing in that process (PLN_WORKERS=0): wall time, the child's
peak RSS (os.wait4), and whether anything reached out (requests to the local server other
than the feeds, the planted secret in the database). A plain three-post feed gives the
baseline. For scale, the same child process running feedparser alone (no pln, no defusing)
on the bombs of the corpus shows what the defusing saves.

tests/test_xml_attacks.py asserts the safety properties in the normal suite; this script
measures.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.attack_corpus import (  # noqa: E402
    HOSTILE,
    SECRET_TEXT,
    Attack,
    Measured,
    attacks,
    extra_attacks,
    run_pln_measured,
)
from tests.server import LocalHTTPServer  # noqa: E402
from tests.sites import items, rss, write_site  # noqa: E402

REPORT = ROOT / "docs" / "reliability.md"
START, END = "<!-- xml-attacks:start -->", "<!-- xml-attacks:end -->"
# The bombs of the corpus, for feedparser alone.
BOMBS = ("defusedxml/quadratic.xml", "defusedxml/xmlbomb.xml", "xxe/billion_laughs_4level.xml")
MIB = 2**20


@dataclass(frozen=True)
class Row:
    origin: str
    variants: int
    stored: int  # posts stored
    refused: int  # sources that failed (not a feed)
    run: Measured
    outside: int  # requests beyond the feeds
    secret: bool  # the planted secret reached the database


def measure(origin: str, served: list[Attack], server: LocalHTTPServer, workdir: Path) -> Row:
    server.reset()
    for attack in served:
        server.add(attack.path, attack.body, content_type="application/rss+xml")
    site = workdir / re.sub(r"\W+", "-", origin)
    write_site(
        site,
        {attack.name: [server.url(attack.path)] for attack in served},
        fetch={"timeout": 60, "max_bytes": 10_000_000, "full_text": "never"},
    )
    run = run_pln_measured(site, "fetch")
    feeds = {attack.path for attack in served}
    outside = sum(1 for r in server.requests if r.path not in feeds)
    database = b"".join(path.read_bytes() for path in site.glob("pln.db*"))
    return Row(
        origin=origin,
        variants=len(served),
        stored=_number(run.stdout, r"(\d+) new posts"),
        refused=_number(run.stdout, r"(\d+) failed"),
        run=run,
        outside=outside,
        secret=SECRET_TEXT.encode() in database,
    )


def _number(text: str, pattern: str) -> int:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else -1


def baseline(server: LocalHTTPServer, workdir: Path) -> Measured:
    """A plain feed, fetched twice into fresh sites: the second run, with warm caches, counts."""
    server.reset()
    server.add("/plain.xml", rss(server.base_url, items("plain", 3)))
    runs = []
    for attempt in ("cold", "warm"):
        site = workdir / f"baseline-{attempt}"
        write_site(site, {"Plain": [server.url("/plain.xml")]}, fetch={"full_text": "never"})
        runs.append(run_pln_measured(site, "fetch"))
    return runs[-1]


def feedparser_alone(origin: str) -> tuple[float, int]:
    """Seconds and peak RSS of a child process that gives feedparser the raw document."""
    folder, name = origin.split("/")
    path = HOSTILE / ("defusedxml" if folder == "defusedxml" else "payloadsallthethings/xxe") / name
    code = "import sys, feedparser; feedparser.parse(open(sys.argv[1], 'rb').read())"
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, str(path)])
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped above
    return time.perf_counter() - started, usage.ru_maxrss * 1024


def render(rows: list[Row], base: Measured, alone: dict[str, tuple[float, int]]) -> str:
    corpus = [row for row in rows if not row.origin.startswith("extra")]
    corpus_feeds = sum(row.variants for row in corpus)
    worst_rss = max(rows, key=lambda row: row.run.max_rss)
    worst_time = max(rows, key=lambda row: row.run.seconds)
    lines = [
        START,
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.node()} ({platform.machine()}, "
        f"{os.cpu_count()} cores), Python {platform.python_version()}, with "
        "`/work/venv/bin/python bench/xml_attacks.py`.",
        "",
        f"- {len(corpus)} attack documents of the corpus as {corpus_feeds} feeds (each as it "
        "is, and its DOCTYPE in front of an RSS and an Atom feed), and "
        f"{sum(r.variants for r in rows) - corpus_feeds} attacks written for pln "
        "(tests/attack_corpus.py `extra_attacks`).",
        f"- Requests beyond the feeds themselves: {sum(r.outside for r in rows)}. "
        f"Runs whose database held the planted secret: {sum(r.secret for r in rows)}. "
        f"Runs that exited non-zero: {sum(r.run.returncode != 0 for r in rows)}.",
        f"- Baseline, a plain three-post feed: {base.seconds:.2f} s, "
        f"{base.max_rss / MIB:.0f} MiB peak RSS.",
        f"- Highest peak RSS of an attack run: {worst_rss.run.max_rss / MIB:.0f} MiB "
        f"({worst_rss.origin}); longest run: {worst_time.run.seconds:.2f} s "
        f"({worst_time.origin}). Both are the whole `pln fetch` process: start-up, fetch, "
        "parse, store.",
        "",
        "feedparser alone on the raw bombs, for scale (what the defusing in parse.py avoids):",
        "",
        "| document | s | peak RSS MiB |",
        "| --- | ---: | ---: |",
        *[f"| {o} | {s:.2f} | {m / MIB:.0f} |" for o, (s, m) in alone.items()],
        "",
        "| attack document | feeds | posts stored | refused | s | peak RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {r.origin} | {r.variants} | {r.stored} | {r.refused} | {r.run.seconds:.2f} "
            f"| {r.run.max_rss / MIB:.0f} |"
            for r in rows
        ],
        END,
    ]
    return "\n".join(lines)


def write_report(table: str) -> None:
    text = REPORT.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{REPORT} has no {START} … {END} section to replace")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    REPORT.write_text(before + table + after, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Time and memory of pln on XML attacks.")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if not HOSTILE.is_dir():
        sys.exit(f"{HOSTILE} is not there: nothing to measure")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch, LocalHTTPServer() as server:
        workdir = Path(scratch)
        secret = workdir / "secret.txt"
        secret.write_text(SECRET_TEXT, encoding="utf-8")
        base = baseline(server, workdir)
        served = attacks(secret, server.base_url) + extra_attacks(secret, server.base_url)
        by_origin: dict[str, list[Attack]] = {}
        for attack in served:
            by_origin.setdefault(attack.origin, []).append(attack)
        for origin, group in by_origin.items():
            row = measure(origin, group, server, workdir)
            print(
                f"{origin}: {row.run.seconds:.2f} s, {row.run.max_rss / MIB:.0f} MiB",
                file=sys.stderr,
            )
            rows.append(row)
    alone = {origin: feedparser_alone(origin) for origin in BOMBS}
    table = render(rows, base, alone)
    print(table)
    if not args.no_write:
        write_report(table)
        print(f"updated {REPORT}", file=sys.stderr)


if __name__ == "__main__":
    main()
