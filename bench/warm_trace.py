"""Where a `pln fetch` spends its wall time: start-up, the requests, the requests in flight.

    /work/venv/bin/python bench/warm_trace.py SITE_DIR      # a site fetched once already

Runs ``pln --site SITE_DIR fetch`` in this process with `Fetcher._send` (one exchange, inside
its host's and the run's slots) wrapped to record when each exchange starts and ends, then
prints on stderr: the time from exec to the first request (imports, configuration, store),
the span of the requests, what came after them, the exchanges' durations, and how many
requests were in flight every 100 ms (at most ``fetch.concurrency``). bench/warm.py sets up
such a site (every answer a 304) on bench/network.py's synthetic network.
"""

from __future__ import annotations

import atexit
import bisect
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

STARTED = time.perf_counter()


def _seconds_since_exec() -> float:
    with open("/proc/self/stat", encoding="ascii") as handle:
        start_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime", encoding="ascii") as handle:
        uptime = float(handle.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


EXEC_AGE = _seconds_since_exec()

import aggregator.cli as cli  # noqa: E402 - timed from the start of this process
from aggregator import fetch  # noqa: E402

IMPORTED = time.perf_counter()
spans: list[tuple[float, float]] = []


def _traced(send: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def traced(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await send(*args, **kwargs)
        finally:
            spans.append((start, time.perf_counter()))

    return traced


def in_flight(step: float = 0.1) -> list[int]:
    starts = sorted(start for start, _ in spans)
    ends = sorted(end for _, end in spans)
    counts, moment = [], starts[0]
    while moment < ends[-1]:
        counts.append(bisect.bisect_right(starts, moment) - bisect.bisect_right(ends, moment))
        moment += step
    return counts


def report() -> None:
    if not spans:
        return
    end = time.perf_counter()
    exec_at = STARTED - EXEC_AGE
    first = min(start for start, _ in spans)
    last = max(stop for _, stop in spans)
    starts = sorted(start for start, _ in spans)
    took = sorted(stop - start for start, stop in spans)
    say = [
        f"import aggregator.cli {IMPORTED - STARTED:.3f} s; exec to first request "
        f"{first - exec_at:.3f} s; requests {last - first:.3f} s; after them "
        f"{end - last:.3f} s; total {end - exec_at:.3f} s; CPU {time.process_time():.2f} s",
        f"second request started {1000 * (starts[1] - first):.0f} ms after the first",
        f"exchange ms: median {1000 * took[len(took) // 2]:.0f}, 90th "
        f"{1000 * took[int(len(took) * 0.9)]:.0f}, max {1000 * took[-1]:.0f}",
        "in flight every 100 ms: " + " ".join(map(str, in_flight())),
    ]
    print("\n".join(say), file=sys.stderr)


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    fetch.Fetcher._send = _traced(fetch.Fetcher._send)  # type: ignore[method-assign,assignment]
    atexit.register(report)
    sys.argv = ["pln", "--site", sys.argv[1], "fetch"]
    cli.main()


if __name__ == "__main__":
    main()
