"""The cron-loop soak of tests/test_soak.py, for minutes instead of one schedule (by hand).

    /work/venv/bin/python bench/soak.py --minutes 5 [--seed N]

Real `pln -q --log-file … run --email` processes with cron's environment, against a local
feed server (five growing feeds, one broken) and a local SMTP server that is down for the
first rounds; runs are SIGKILLed at seeded random moments, overlap (waiting, and giving up),
and run under a file-size limit, round after round of tests/test_soak.SCHEDULE until the
time is up. Prints the figures and the final checks (the test asserts the same ones).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.server import LocalHTTPServer, unused_port
from tests.smtp_server import SmtpServer
from tests.test_soak import (
    SCHEDULE,
    SMTP_DOWN_ROUNDS,
    SoakLoop,
    Verdict,
    subjects,
    verdict,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    with tempfile.TemporaryDirectory(prefix="pln-soak-") as temp, LocalHTTPServer() as server:
        smtp_port = unused_port()
        loop = SoakLoop(Path(temp) / "site", server, smtp_port, args.seed)
        smtp = SmtpServer(port=smtp_port)
        started = time.monotonic()
        rounds = 0
        with ExitStack() as stack:
            while time.monotonic() - started < args.minutes * 60:
                if rounds == SMTP_DOWN_ROUNDS:
                    stack.enter_context(smtp)
                loop.round(SCHEDULE[rounds % len(SCHEDULE)])
                loop.check_database()  # raises at once if SQLite finds anything wrong
                rounds += 1
            if rounds <= SMTP_DOWN_ROUNDS:
                stack.enter_context(smtp)
            loop.publish()
            loop.finish(loop.start())
            loop.check_database()
            found = verdict(loop, subjects(smtp))
        report(loop, rounds, time.monotonic() - started, found)


def report(loop: SoakLoop, rounds: int, elapsed: float, found: Verdict) -> None:
    tally, printed = loop.tally, found.printed
    load = os.getloadavg()
    print(f"{rounds} rounds in {elapsed / 60:.1f} min (load average {load[0]:.2f} {load[1]:.2f})")
    print(
        f"runs {tally.runs}, killed {tally.kills} ({len(tally.killed_after_requests)} after "
        f"their first request), overlaps {tally.overlaps} "
        f"({tally.give_ups} giving up), full-disk runs {tally.full_disk_runs}"
    )
    statuses = [run.status for run in tally.finished]
    print(
        "exit statuses: "
        + ", ".join(
            f"{s if s is not None else 'killed'}: {statuses.count(s)}" for s in set(statuses)
        )
    )
    print(
        f"posts published {sum(map(len, loop.published.values()))}, missing {found.missing}, "
        f"stored twice {found.twice}; integrity_check ok after every run"
    )
    print(f"site complete {found.site_complete}, leftovers {found.leftovers or 'none'}")
    print(f"digests per day {found.digests_per_day}")
    print(
        "problems printed: broken source "
        f"{len(printed.broken)}, mail down {len(printed.mail_down)} (back "
        f"{len(printed.mail_back)}), disk full {len(printed.disk_full)} (back "
        f"{len(printed.disk_back)}), lock held {len(printed.lock_held)}, unfinished runs "
        f"{len(printed.unfinished)} (distinct {len(set(printed.unfinished))}; killed after a "
        f"request and not told: {len(tally.killed_after_requests - set(printed.unfinished))}), "
        f"other lines {len(printed.other)}, tracebacks {found.tracebacks}"
    )
    for line in printed.other:
        print(f"  other: {line}")
    told = (*printed.broken, *printed.mail_down, *printed.disk_full, *printed.lock_held)
    for run in tally.finished:
        for line in run.output.splitlines():
            if line in told or line.startswith("ok again"):
                print(f"  {run.action} (process {run.pid}, exit {run.status}): {line}")


if __name__ == "__main__":
    main()
