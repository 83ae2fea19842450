"""What the side-by-side benchmarks share: the machine's description, timing a whole process
(wall clock, CPU of it and its children, peak memory of the process tree), medians, and the
local feed server of bench/network.py.
"""

from __future__ import annotations

import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PLN = Path(sys.executable).with_name("pln")
READER_VENV = BENCH / ".venv-reader"
READER_PYTHON = READER_VENV / "bin" / "python"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


@dataclass(frozen=True)
class Measured:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process and all its descendants
    peak_rss: float  # MB: the largest sum of RSS over the process tree, sampled every 100 ms
    peak_by_program: dict[str, float]  # MB: the same, per program (pln and its workers, …)
    stdout: str


_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _program(pid: int) -> str:
    """What a process of the tree is: Pagefind, or pln (its Python processes)."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            name = handle.read().strip()
    except OSError:
        return "gone"
    return "pagefind" if name.startswith("pagefind") else "pln"


def _tree(root: int) -> dict[int, tuple[int, float]]:
    """RSS bytes and CPU seconds of ``root`` and each of its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    found: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        cpu = (int(fields[11]) + int(fields[12])) / _TICK
        found[pid] = (int(fields[21]) * _PAGE, cpu)
    tree: dict[int, tuple[int, float]] = {}
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in found:
            tree[pid] = found[pid]
        stack.extend(children.get(pid, ()))
    return tree


def run_measured(command: Sequence[str], *, env: dict[str, str] | None = None) -> Measured:
    """Run ``command`` to its end; fail loudly if it fails (a benchmark of a failure is void)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    peak = 0
    by_program: dict[str, int] = {}
    sampled_cpu: dict[int, float] = {}  # the last CPU seen of each process of the tree
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            tree = _tree(process.pid)
            peak = max(peak, sum(rss for rss, _ in tree.values()))
            sums: dict[str, int] = {}
            for pid, (rss, _) in tree.items():
                program = _program(pid)
                sums[program] = sums.get(program, 0) + rss
            for program, total in sums.items():
                by_program[program] = max(total, by_program.get(program, 0))
            for pid, (_, cpu) in tree.items():
                sampled_cpu[pid] = max(cpu, sampled_cpu.get(pid, 0.0))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{stderr[-3000:]}")
    # rusage misses processes whose parent never waited for them (a forkserver's workers);
    # sampling /proc sees them but misses each one's last 100 ms: the larger of the two.
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = max(waited, sum(sampled_cpu.values()))
    programs = {name: value / 2**20 for name, value in by_program.items() if name != "gone"}
    return Measured(wall, cpu, peak / 2**20, programs, stdout)


@contextmanager
def feed_server(sources: int, latency: float, port: int = 8770) -> Iterator[int]:
    """bench/network.py serving ``sources`` feeds in a process of its own; yields the port."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(BENCH / "network.py"),
            "serve",
            f"--sources={sources}",
            f"--latency={latency}",
            f"--port={port}",
            "--max-seconds=7200",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY"):
        process.kill()
        raise RuntimeError(f"the feed server did not start: {line!r}")
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def ensure_reader() -> None:
    """reader in its own virtual environment (git-ignored), created on first use."""
    if READER_PYTHON.exists():
        return
    subprocess.run([sys.executable, "-m", "venv", str(READER_VENV)], check=True)
    subprocess.run(
        [str(READER_VENV / "bin" / "pip"), "install", "-q", "reader", "sgmllib3k"], check=True
    )


def replace_section(report: Path, heading: str, body: str) -> None:
    """Put ``heading`` + ``body`` into docs/benchmarks.md, replacing that section if present."""
    text = report.read_text(encoding="utf-8") if report.exists() else "# Benchmarks\n"
    section = f"{heading}\n\n{body.strip()}\n"
    start = text.find(f"\n{heading}\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        level = heading.split(" ", 1)[0]
        end = text.find(f"\n{level} ", start + len(heading) + 2)
        text = text[: start + 1] + section + (text[end:] if end >= 0 else "")
    report.write_text(text, encoding="utf-8")
