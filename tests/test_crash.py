"""Crash safety and overlapping runs, with real `pln fetch` processes and SIGKILL.

A network of growing feeds (some slow, so a run lasts a while) is fetched again and again by
real `pln` processes that are killed with SIGKILL at seeded random moments. After every kill
the database must pass SQLite's integrity checks (the tables and the FTS index), hold no post
twice, have lost nothing that was committed before, and hold for each source exactly the
entries of one version of its feed: a source's new posts are committed together or not at all.
A last complete run must then hold every entry served, once.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aggregator.lock import HOLDER_NAME
from tests.server import LocalHTTPServer
from tests.sites import Item, rss, write_site

FEEDS = 30
SLOW = {3: 0.2, 7: 0.1, 11: 0.25, 15: 0.1, 19: 0.15, 23: 0.2}  # feed number → seconds
GROWTH = 4  # new entries per feed and round
KILLS = 15
SEED = 20261122


def feed_path(number: int) -> str:
    return f"/feed-{number:02d}.xml"


def entries(number: int, count: int) -> list[Item]:
    return [
        Item(f"f{number}-{n}", f"Feed {number} entry {n}", f"<p>Entry {n} about water.</p>")
        for n in range(count)
    ]


class GrowingNetwork:
    """FEEDS feeds on the local server; each round adds GROWTH entries to every feed."""

    def __init__(self, server: LocalHTTPServer) -> None:
        self.server = server
        self.sizes: dict[str, list[int]] = {feed_path(n): [] for n in range(FEEDS)}

    def grow(self) -> None:
        for number in range(FEEDS):
            path = feed_path(number)
            size = (len(self.sizes[path]) + 1) * GROWTH
            self.sizes[path].append(size)
            body = rss(self.server.base_url, entries(number, size), title=f"Feed {number}")
            self.server.add(path, body, delay=SLOW.get(number, 0.0))

    def served(self) -> int:
        return sum(sizes[-1] for sizes in self.sizes.values())


def start_fetch(site: Path, **env: str) -> subprocess.Popen[str]:
    """A real `pln fetch` in its own process group, so its parse workers die with it."""
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", "--site", str(site), "-q", "fetch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, **env},
    )


def wait_for_requests(server: LocalHTTPServer, process: subprocess.Popen[str], count: int) -> None:
    """Until the server has seen ``count`` requests in all (or the process ended)."""
    deadline = time.monotonic() + 30
    while len(server.requests) < count and process.poll() is None:
        if time.monotonic() > deadline:  # a guard against hanging, not a speed check
            pytest.fail(f"pln made {len(server.requests)} requests, not {count}, in 30 s")
        time.sleep(0.005)


def kill_group(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


@contextmanager
def database(site: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(site / "pln.db")
    try:
        yield conn
    finally:
        conn.close()


def stored(site: Path) -> dict[str, set[str]]:
    """Every stored post as feed path → guids, after checking the file is sound."""
    with database(site) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # The full-text index must match the posts exactly (raises if it does not).
        conn.execute("INSERT INTO posts_fts(posts_fts) VALUES ('integrity-check')")
        twice = conn.execute(
            "SELECT source_id, guid FROM posts GROUP BY 1, 2 HAVING count(*) > 1"
        ).fetchall()
        assert twice == []
        rows = conn.execute(
            "SELECT s.url, p.guid FROM posts p JOIN sources s ON s.id = p.source_id"
        ).fetchall()
    found: dict[str, set[str]] = {}
    for url, guid in rows:
        found.setdefault("/" + url.rsplit("/", 1)[1], set()).add(guid)
    return found


def check_after_kill(
    site: Path, network: GrowingNetwork, before: dict[str, set[str]]
) -> dict[str, set[str]]:
    """What is stored now, checked against what was before the kill; returned for next time."""
    now = stored(site)
    for path, guids in before.items():
        assert guids <= now.get(path, set()), f"{path}: committed posts were lost"
    for path, guids in now.items():
        number = int(path[6:8])
        # All of one version of the feed, never part of one: one transaction per source.
        assert len(guids) in network.sizes[path], (path, len(guids), network.sizes[path])
        assert guids == {item.guid for item in entries(number, len(guids))}
    return now


def is_part_way(now: dict[str, set[str]], network: GrowingNetwork) -> bool:
    """Whether a run stopped with some sources stored this round and others not yet."""
    done = [len(now.get(path, ())) == sizes[-1] for path, sizes in network.sizes.items()]
    return any(done) and not all(done)


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    network = GrowingNetwork(http_server)
    site = tmp_path / "site"
    write_site(
        site,
        {f"Person {n}": [http_server.url(feed_path(n))] for n in range(FEEDS)},
        fetch={"full_text": "never", "timeout": 5},
    )
    network.grow()
    first = start_fetch(site)
    _, errors = first.communicate(timeout=60)
    assert first.returncode == 0, errors
    before = stored(site)
    assert sum(map(len, before.values())) == network.served()

    chance = random.Random(SEED)
    finished_anyway = caught_mid_run = 0
    for _ in range(KILLS):
        network.grow()
        asked_before = len(http_server.requests)
        process = start_fetch(site)
        # Most kills land mid-fetch, after a random number of feeds were asked for (and
        # so while others are being stored); some land while pln is still starting.
        wait_for_requests(http_server, process, asked_before + chance.randint(-3, FEEDS))
        time.sleep(chance.uniform(0.0, 0.05))
        if process.poll() is None:
            kill_group(process)
        else:  # the run beat the kill: it must have ended well
            finished_anyway += 1
            assert process.returncode == 0, process.communicate()[1]
        if (site / "pln.db").exists():
            before = check_after_kill(site, network, before)
            caught_mid_run += is_part_way(before, network)
    assert finished_anyway < KILLS / 2, "most runs must be killed, or the test proves little"
    assert caught_mid_run >= 3, "few kills landed between one source's commit and another's"

    # The next complete run carries on where the killed ones stopped.
    last = start_fetch(site)
    _, errors = last.communicate(timeout=60)
    assert last.returncode == 0, errors
    final = stored(site)
    assert sum(map(len, final.values())) == network.served()
    for path, sizes in network.sizes.items():
        assert len(final[path]) == sizes[-1]


# ── two at once ──────────────────────────────────────────────────────────────────────────


def slow_site(tmp_path: Path, server: LocalHTTPServer, delay: float) -> Path:
    """Six feeds, the first answering after ``delay`` seconds: a run lasts at least that."""
    for number in range(6):
        body = rss(server.base_url, entries(number, 3), title=f"Feed {number}")
        server.add(feed_path(number), body, delay=delay if number == 0 else 0.0)
    site = tmp_path / "site"
    write_site(
        site,
        {f"Person {n}": [server.url(feed_path(n))] for n in range(6)},
        fetch={"full_text": "never", "timeout": 10},
    )
    return site


def wait_for_holder(site: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while not (site / HOLDER_NAME).exists():
        assert process.poll() is None, process.communicate()
        if time.monotonic() > deadline:  # a guard against hanging, not a speed check
            pytest.fail("the first pln never took the lock")
        time.sleep(0.02)


def test_a_second_fetch_waits_for_the_first_then_runs(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    site = slow_site(tmp_path, http_server, delay=0.8)
    first = start_fetch(site)
    wait_for_holder(site, first)
    second = start_fetch(site, PLN_LOCK_WAIT="30")
    assert first.wait(timeout=30) == 0
    assert second.wait(timeout=30) == 0
    for number in range(6):
        asked = http_server.requests_for(feed_path(number))
        assert len(asked) == 2
        # The second run read the state the first one had committed: its requests are
        # conditional, which they could not be had the two run side by side.
        assert asked[0].headers.get("If-None-Match") is None
        assert asked[1].headers.get("If-None-Match")
    assert sum(map(len, stored(site).values())) == 18


def test_a_second_fetch_that_cannot_wait_names_the_holder(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    site = slow_site(tmp_path, http_server, delay=6.0)  # far longer than the second waits
    first = start_fetch(site)
    try:
        wait_for_holder(site, first)
        second = start_fetch(site, PLN_LOCK_WAIT="0.2")
        _, errors = second.communicate(timeout=30)
        assert second.returncode == 1
        assert f"process {first.pid}, running `pln fetch`" in errors
        assert "Traceback" not in errors
    finally:
        assert first.wait(timeout=30) == 0
    assert sum(map(len, stored(site).values())) == 18
