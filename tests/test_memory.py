"""Memory between the steps of `pln run`: aggregator/memory.py, and the sources a fetch holds."""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from aggregator import app, memory
from tests.server import LocalHTTPServer
from tests.sites import items, rss, write_site


def square(number: int) -> int:
    return number * number


def run_pool() -> list[int]:
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        return list(pool.map(square, range(5)))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_helpers_a_pool_leaves_are_stopped_and_start_again() -> None:
    assert run_pool() == [0, 1, 4, 9, 16]
    forkserver = multiprocessing.forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    tracker = multiprocessing.resource_tracker._resource_tracker._pid
    assert forkserver is not None and alive(forkserver)
    assert tracker is not None and alive(tracker)

    memory.stop_pool_helpers()
    assert not alive(forkserver)
    assert not alive(tracker)
    memory.stop_pool_helpers()  # nothing left to stop: no error

    assert run_pool() == [0, 1, 4, 9, 16]  # the next pool starts them anew


_FRAGMENTED_HEAP = """
from aggregator import memory

def rss_kib():
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])

before = rss_kib()
# objects over pymalloc's 512 bytes live in glibc's heap; one in 50 kept alive pins it,
# so freeing the rest returns nothing by itself (measured: 103 of 104 MB stay)
held = [bytes(1000) + str(number).encode() for number in range(100_000)]
pinned = held[::50]
grown = rss_kib() - before
del held
memory.give_back()
print(grown, rss_kib() - before, len(pinned))
"""


def test_giving_back_returns_a_fragmented_heap_to_the_system() -> None:
    # In a process of its own: pytest's heap, fragmented by every test before, would take
    # the allocation into its own free space and hide both the growth and the return.
    result = subprocess.run(
        [sys.executable, "-c", _FRAGMENTED_HEAP], capture_output=True, text=True, check=True
    )
    grown, left, pinned = (int(word) for word in result.stdout.split())
    assert grown > 80_000
    assert left < 40_000
    assert pinned == 2_000


# ── sources in hand during a fetch (app._SourceReader.in_hand) ───────────────────────────


def fetch_counting_in_hand(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """Fetch 12 feeds with one request at a time; (most sources in hand at once, posts)."""
    people: dict[str, list[object]] = {}
    for number in range(12):
        http_server.add(f"/feed-{number}.xml", rss(http_server.base_url, items(f"f{number}", 3)))
        people[f"Person {number}"] = [http_server.url(f"/feed-{number}.xml")]
    site_dir = tmp_path / "site"
    write_site(site_dir, people, fetch={"concurrency": 1, "per_host": 1})
    in_hand = most = 0
    original = app._read_feed_or_blog

    async def counting(reader: Any, state: Any) -> Any:
        nonlocal in_hand, most
        in_hand += 1
        most = max(most, in_hand)
        try:
            return await original(reader, state)
        finally:
            in_hand -= 1

    monkeypatch.setattr(app, "_read_feed_or_blog", counting)
    monkeypatch.setenv("PLN_WORKERS", "0")
    summary = app.fetch(app.load_config(site_dir))
    return most, summary.new_posts


def test_a_fetch_holds_at_most_twice_its_concurrency_in_hand(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    most, posts = fetch_counting_in_hand(tmp_path, http_server, monkeypatch)
    assert posts == 36
    assert most == 2


def test_without_the_limit_every_source_would_be_in_hand(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "_IN_HAND", 100)
    most, posts = fetch_counting_in_hand(tmp_path, http_server, monkeypatch)
    assert posts == 36
    assert most == 12
