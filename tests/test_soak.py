"""A site directory driven only by `pln run -q --email` from a cron-like loop (issue 8).

Real `pln` processes, started as cron starts them (a bare environment, `-q`, a log file),
run again and again against a local feed server whose sources keep publishing, one of them
broken, and a local SMTP server that is down for the first part of the loop. Along the way
some runs are killed with SIGKILL at seeded random moments, some overlap (one waits for the
lock, one gives up), and one runs under a file-size limit, so its writes fail as on a full
disk. After every run the database must pass SQLite's checks; at the end every post ever
published is stored once, the site is whole with no staging folder left, the digest went
out once a day, and each injected problem was printed exactly once, in words.

The loop itself lives in ``SoakLoop`` so that bench/soak.py runs it for minutes by hand.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.lock import HOLDER_NAME
from tests.server import LocalHTTPServer, unused_port
from tests.sites import Item, rss, write_site
from tests.smtp_server import SmtpServer

GOOD_FEEDS = 5
SLOW_FEED = 0  # answers after SLOW_DELAY, so a run holds the lock long enough to overlap
SLOW_DELAY = 0.4
GROWTH = 2  # new posts per good feed and round
BROKEN = "/broken.xml"
FILE_SIZE_LIMIT = 120_000  # above SQLite's 32 KiB shared-memory file, below Pagefind's files
SEED = 20261123
CRON_PATH = "/usr/bin:/bin"

# Each round does one of these; the loop repeats the schedule as long as it is asked to.
SCHEDULE = (
    "run",
    "kill-fetch",
    "run",
    "overlap-wait",
    "kill-late",
    "full-disk",
    "run",
    "kill-fetch",
    "overlap-give-up",
    "run",
    "kill-fetch",
    "overlap-wait",
    "kill-late",
    "run",
)
SMTP_DOWN_ROUNDS = 6  # the mail server is down for the first rounds


def feed_path(number: int) -> str:
    return f"/feed-{number}.xml"


def post_title(number: int, index: int) -> str:
    return f"Feed {number} post {index} on watersheds"


def pln_command() -> list[str]:
    """`pln` as installed beside this Python, the way a crontab line names it."""
    script = Path(sys.executable).parent / "pln"
    return [str(script)] if script.exists() else [sys.executable, "-m", "aggregator"]


def cron_environment() -> dict[str, str]:
    """What cron gives a job: HOME, LOGNAME, SHELL and a short PATH; nothing else."""
    return {
        "HOME": os.environ.get("HOME", "/"),
        "LOGNAME": os.environ.get("LOGNAME", "pln"),
        "SHELL": "/bin/sh",
        "PATH": CRON_PATH,
    }


def limit_file_size() -> None:  # runs in the child, before pln starts
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, resource.RLIM_INFINITY))


@dataclass
class Finished:
    pid: int
    status: int | None  # None: killed
    output: str
    action: str = ""  # the round's, from SCHEDULE


@dataclass
class Tally:
    runs: int = 0
    kills: int = 0
    overlaps: int = 0
    give_ups: int = 0  # overlaps whose second run gave up waiting for the lock
    full_disk_runs: int = 0
    killed_after_requests: set[int] = field(default_factory=set)
    killed: set[int] = field(default_factory=set)
    finished: list[Finished] = field(default_factory=list)


class SoakLoop:
    """The site, its network and its mail server, and one round of the loop at a time."""

    def __init__(self, site: Path, server: LocalHTTPServer, smtp_port: int, seed: int) -> None:
        self.site = site
        self.server = server
        self.smtp_port = smtp_port
        self.chance = random.Random(seed)
        self.published: dict[int, list[str]] = {n: [] for n in range(GOOD_FEEDS)}
        self.tally = Tally()
        self.log_file = site / "pln.log"
        self.action = "first"
        self.server.status(BROKEN, 500)
        people: dict[str, list[object]] = {
            f"Person {n}": [server.url(feed_path(n))] for n in range(GOOD_FEEDS)
        }
        people["Broken Person"] = [server.url(BROKEN)]
        path = write_site(site, people, fetch={"full_text": "never", "timeout": 5})
        document = json.loads(path.read_text(encoding="utf-8"))
        document["email"] = {
            "to": ["me@example.org"],
            "from": "PLN <pln@example.org>",
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none"},
        }
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    # ── the network ──

    def publish(self) -> None:
        """GROWTH new posts on every good feed, dated now (so the daily digest wants them)."""
        now = datetime.now(UTC)
        for number, guids in self.published.items():
            for _ in range(GROWTH):
                guids.append(f"f{number}-{len(guids)}")
            entries = [
                Item(
                    guid,
                    post_title(number, index),
                    f"<p>Post {index} about water.</p>",
                    now - timedelta(minutes=len(guids) - index),
                )
                for index, guid in enumerate(guids)
            ]
            delay = SLOW_DELAY if number == SLOW_FEED else 0.0
            body = rss(self.server.base_url, entries, title=f"Feed {number}")
            self.server.add(feed_path(number), body, delay=delay)

    # ── runs ──

    def start(
        self, env: dict[str, str] | None = None, limit: Callable[[], None] | None = None
    ) -> subprocess.Popen[str]:
        command = [*pln_command(), "--site", str(self.site), "-q", "--log-file"]
        command += [str(self.log_file), "run", "--email"]
        self.tally.runs += 1
        return subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.site,
            start_new_session=True,  # its own group: its workers die with it
            env={**cron_environment(), **(env or {})},
            preexec_fn=limit,
        )

    def finish(self, process: subprocess.Popen[str], timeout: float = 90) -> Finished:
        output, _ = process.communicate(timeout=timeout)
        done = Finished(process.pid, process.returncode, output, self.action)
        self.tally.finished.append(done)
        return done

    def kill(self, process: subprocess.Popen[str], asked: int) -> None:
        if process.poll() is not None:
            self.finish(process)
            return
        made_requests = len(self.server.requests) > asked
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        self.tally.finished.append(Finished(process.pid, None, output, self.action))
        self.tally.kills += 1
        self.tally.killed.add(process.pid)
        # It had started, and the kill came before its last step took its mark away (a
        # "kill-late" on a fast machine can land after that, and there is nothing to tell):
        # its mark is left for the next run to tell.
        if made_requests and (self.site / f".pln.run.{process.pid}").exists():
            self.tally.killed_after_requests.add(process.pid)

    def round(self, action: str) -> None:
        self.action = action
        self.publish()
        asked = len(self.server.requests)
        if action == "run":
            self.finish(self.start())
        elif action == "kill-fetch":
            process = self.start()
            self.wait_for_requests(process, asked + self.chance.randint(1, GOOD_FEEDS))
            time.sleep(self.chance.uniform(0.0, 0.05))
            self.kill(process, asked)
        elif action == "kill-late":  # after the fetch: in the build, or the email
            process = self.start()
            self.wait_for_requests(process, asked + GOOD_FEEDS)
            time.sleep(self.chance.uniform(0.05, 0.6))
            self.kill(process, asked)
        elif action == "full-disk":
            self.tally.full_disk_runs += 1
            self.finish(self.start(limit=limit_file_size))
        elif action in ("overlap-wait", "overlap-give-up"):
            self.overlap(give_up=action == "overlap-give-up")
        else:
            raise ValueError(action)

    def overlap(self, *, give_up: bool) -> None:
        """A second run starts while the first holds the lock: cron fired again early."""
        first = self.start()
        self.wait_for_lock(first)
        self.tally.overlaps += 1
        self.tally.give_ups += give_up
        second = self.start({"PLN_LOCK_WAIT": "0"} if give_up else None)
        self.finish(second)
        self.finish(first)

    def wait_for_requests(self, process: subprocess.Popen[str], count: int) -> None:
        # A guard against a hang (a pln stuck before its requests), not a speed check.
        for _ in range(6_000):
            if len(self.server.requests) >= count or process.poll() is not None:
                return
            time.sleep(0.005)
        raise RuntimeError("pln made too few requests and never ended")

    def wait_for_lock(self, process: subprocess.Popen[str]) -> None:
        """Until ``process`` holds the lock (a killed run may have left its holder file)."""
        for _ in range(6_000):  # a guard against a hang, as above
            if self.holds_lock(process) or process.poll() is not None:
                return
            time.sleep(0.005)
        raise RuntimeError("the first pln never took the lock and never ended")

    def holds_lock(self, process: subprocess.Popen[str]) -> bool:
        try:
            holder = (self.site / HOLDER_NAME).read_text(encoding="utf-8")
        except OSError:
            return False
        return holder.startswith(f"{process.pid} ")

    # ── checks ──

    def check_database(self) -> None:
        conn = sqlite3.connect(self.site / "pln.db")
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            conn.execute("INSERT INTO posts_fts(posts_fts) VALUES ('integrity-check')")
        finally:
            conn.close()

    def stored(self) -> Counter[tuple[str, str]]:
        conn = sqlite3.connect(self.site / "pln.db")
        try:
            rows = conn.execute(
                "SELECT s.url, p.guid FROM posts p JOIN sources s ON s.id = p.source_id"
            ).fetchall()
        finally:
            conn.close()
        return Counter((url, guid) for url, guid in rows)

    def expected(self) -> Counter[tuple[str, str]]:
        return Counter(
            (self.server.url(feed_path(number)), guid)
            for number, guids in self.published.items()
            for guid in guids
        )

    def leftovers(self) -> list[str]:
        """Staging folders of builds, and marks of runs, that nobody took away."""
        names = (".building-", ".previous-", ".pln.run.")
        return sorted(p.name for p in self.site.iterdir() if p.name.startswith(names))

    def day_pages_text(self) -> str:
        output = self.site / "output"
        return "".join(
            page.read_text(encoding="utf-8")
            for page in output.glob("[0-9][0-9][0-9][0-9]/*/*/index.html")
        )


# ── what was printed ─────────────────────────────────────────────────────────────────────

NOTE = re.compile(r"^note: the `pln run` of process (\d+), started .*, did not finish")


@dataclass
class Printed:
    """Every line the runs printed, sorted by the problem it tells."""

    broken: list[str] = field(default_factory=list)
    mail_down: list[str] = field(default_factory=list)
    mail_back: list[str] = field(default_factory=list)
    disk_full: list[str] = field(default_factory=list)
    disk_back: list[str] = field(default_factory=list)
    lock_held: list[str] = field(default_factory=list)
    unfinished: list[int] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


def sort_output(lines: list[str], broken_url: str, smtp_port: int) -> Printed:
    printed = Printed()
    for line in lines:
        note = NOTE.match(line)
        if note:
            printed.unfinished.append(int(note.group(1)))
        elif broken_url in line:
            printed.broken.append(line)
        elif line.startswith("error: ") and f"127.0.0.1:{smtp_port}" in line:
            printed.mail_down.append(line)
        elif line.startswith("ok again: the emailed digest went out"):
            printed.mail_back.append(line)
        elif line.startswith("error: the disk is full ("):
            printed.disk_full.append(line)
        elif line.startswith("ok again: the disk takes what pln writes again"):
            printed.disk_back.append(line)
        elif line.startswith("error: another pln is working on"):
            printed.lock_held.append(line)
        else:
            printed.other.append(line)
    return printed


@dataclass
class Verdict:
    """The final checks, for the test to assert and bench/soak.py to print."""

    stored_once: bool
    missing: int
    twice: int
    site_complete: bool
    leftovers: list[str]
    digests_per_day: dict[str, int]
    printed: Printed
    tracebacks: int


def verdict(loop: SoakLoop, received_subjects: list[str]) -> Verdict:
    stored, expected = loop.stored(), loop.expected()
    pages = loop.day_pages_text()
    titles = [
        post_title(number, index)
        for number, guids in loop.published.items()
        for index in range(len(guids))
    ]
    lines = [line for run in loop.tally.finished for line in run.output.splitlines() if line]
    return Verdict(
        stored_once=all(stored[key] == 1 for key in expected),
        missing=sum(1 for key in expected if stored[key] == 0),
        twice=sum(1 for count in stored.values() if count > 1),
        site_complete=(loop.site / "output" / "index.html").is_file()
        and all(title in pages for title in titles),
        leftovers=loop.leftovers(),
        digests_per_day=dict(Counter(received_subjects)),
        printed=sort_output(lines, loop.server.url(BROKEN), loop.smtp_port),
        tracebacks=sum(run.output.count("Traceback") for run in loop.tally.finished),
    )


def run_loop(
    loop: SoakLoop, rounds: int, smtp_down_rounds: int, smtp: SmtpServer, stack: ExitStack
) -> None:
    """``rounds`` rounds of SCHEDULE; the mail server starts after ``smtp_down_rounds``."""
    for number in range(rounds):
        if number == smtp_down_rounds:
            stack.enter_context(smtp)
        loop.round(SCHEDULE[number % len(SCHEDULE)])
        loop.check_database()
    loop.publish()
    loop.finish(loop.start())  # the last, ordinary run: everything must be whole now
    loop.check_database()


def subjects(smtp: SmtpServer) -> list[str]:
    return [str(received.message["Subject"]) for received in smtp.received]


# ── the test ─────────────────────────────────────────────────────────────────────────────


def test_a_cron_loop_survives_kills_overlaps_a_full_disk_and_a_mail_server_down(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    smtp_port = unused_port()
    loop = SoakLoop(tmp_path / "site", http_server, smtp_port, SEED)
    smtp = SmtpServer(port=smtp_port)
    with ExitStack() as stack:
        run_loop(loop, len(SCHEDULE), SMTP_DOWN_ROUNDS, smtp, stack)
    found = verdict(loop, subjects(smtp))

    assert found.tracebacks == 0, [run.output for run in loop.tally.finished]
    assert found.missing == 0 and found.twice == 0 and found.stored_once
    assert found.site_complete
    assert found.leftovers == []
    assert found.digests_per_day and set(found.digests_per_day.values()) == {1}
    printed = found.printed
    assert printed.other == [], printed.other  # nothing but the problems, told in words
    assert len(printed.broken) == 1 and "HTTP 500 Internal Server Error" in printed.broken[0]
    assert len(printed.mail_down) == 1 and "cannot connect to" in printed.mail_down[0]
    assert "Nothing was recorded as sent" in printed.mail_down[0]
    assert len(printed.mail_back) == 1
    assert len(printed.disk_full) == 1, printed.disk_full
    assert "was left as it was" in printed.disk_full[0] or "nothing stored" in printed.disk_full[0]
    assert len(printed.disk_back) <= 1  # told when the run could remember the problem
    assert len(printed.lock_held) == 1 and "This run stopped there" in printed.lock_held[0]
    # Every killed run that had started is told once by a later run; no other run is.
    assert Counter(printed.unfinished).most_common(1)[0][1] == 1 if printed.unfinished else True
    assert loop.tally.killed_after_requests  # at least one kill left its mark behind
    assert loop.tally.killed_after_requests <= set(printed.unfinished) <= loop.tally.killed
    assert loop.tally.kills >= 4 and loop.tally.overlaps == 3
    # The exit status tells a scheduler what happened: killed runs aside, 0 or 1, never a crash.
    assert {run.status for run in loop.tally.finished} <= {None, 0, 1}
