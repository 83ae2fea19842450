"""Giving memory back between a fetch and a build (aggregator/memory.py)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
from concurrent.futures import ProcessPoolExecutor

from aggregator import memory


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


def test_giving_back_returns_a_fragmented_heap_to_the_system() -> None:
    def rss_kib() -> int:
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1])

    before = rss_kib()
    # objects over pymalloc's 512 bytes live in glibc's heap; one in 50 kept alive pins it,
    # so freeing the rest returns nothing by itself (measured: 103 of 104 MB stay)
    held = [bytes(1000) + str(number).encode() for number in range(100_000)]
    pinned = held[::50]
    assert rss_kib() - before > 80_000
    del held
    memory.give_back()
    assert rss_kib() - before < 40_000
    assert len(pinned) == 2_000
