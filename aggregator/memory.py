"""Giving memory back to the system between the steps of one process (issue 9, memory).

CPython frees objects but keeps the heap they lived in: after a fetch that peaked at 120 MB,
a build in the same process would start from that high-water mark, and the Pagefind runs
that follow the build would sit beside it. ``give_back`` collects cycles and asks glibc to
return its free pages (``malloc_trim``); the multiprocessing helpers that outlive a process
pool (the forkserver and the resource tracker, 40 MB between them) are stopped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import multiprocessing.forkserver
import multiprocessing.resource_tracker
from collections.abc import Callable

__all__ = ["give_back", "stop_pool_helpers"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def give_back() -> None:
    """Free what is garbage now and return the heap's free pages to the system."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def stop_pool_helpers() -> None:
    """Stop the forkserver and the resource tracker a process pool left running.

    They restart by themselves when another pool needs them. Their ``_stop`` is private
    (CPython's own tests use it) but has been there since 3.8; without it they stay.
    """
    for helper in (
        multiprocessing.forkserver._forkserver,
        multiprocessing.resource_tracker._resource_tracker,
    ):
        stop = getattr(helper, "_stop", None)
        if stop is not None:
            stop()
