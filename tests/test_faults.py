"""A bad network, end to end: every fault is one source's failure, told in words, never the run's.

Each fault is served on 127.0.0.1 (tests/faults.py plays the failures below HTTP, the
``http_server`` fixture the ones above it) beside a good source, and fetched by the real
``pln fetch``. What must hold every time: the command exits 0, the good source's posts are
stored, and the faulty source is reported with words a person can act on, on the terminal
and in ``pln sources``.
"""

from __future__ import annotations

import functools
import json
import socket
import sqlite3
import threading
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator.cli import cli
from tests.faults import (
    FaultServer,
    answer,
    gzip_bomb,
    never_answer,
    reset_halfway,
    self_signed_context,
    short_body_answer,
    tls,
)
from tests.server import LocalHTTPServer, Reply
from tests.sites import items, rss, write_site

MAX_BYTES = 200_000
# fetch.timeout: how long the silent servers cost; short, but long enough for a good answer
# on a loaded CI machine
TIMEOUT = 2
# A gzip body of about 200 KB that inflates to 256 MB: 1,280 times fetch.max_bytes.
BOMB_SIZE = 256 * 1024 * 1024
# A name under .invalid never resolves (RFC 6761): the lookup fails without any server.
UNRESOLVABLE_HOST = "feeds.pln-test.invalid"
UNRESOLVABLE = f"http://{UNRESOLVABLE_HOST}/feed.xml"


@functools.cache
def resolver_fails_fast() -> bool:
    """Whether this machine says "no such name" within the fetch timeout.

    A resolver that cannot be reached makes the lookup wait out its own timeouts instead;
    pln then reports "timed out", truthfully, but the words under test are not produced.
    """
    outcome: list[bool] = []

    def look_up() -> None:
        try:
            socket.getaddrinfo(UNRESOLVABLE_HOST, 80)
        except socket.gaierror:
            outcome.append(True)

    worker = threading.Thread(target=look_up, daemon=True)
    worker.start()
    worker.join(timeout=TIMEOUT * 0.8)
    return bool(outcome)


@dataclass(frozen=True)
class Fault:
    person: str
    url: str
    words: str  # what the report must say about it


def pln(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site), *args], catch_exceptions=False)


def stored_posts(site: Path) -> dict[str, list[dict[str, object]]]:
    """Every stored post, by person: read from the SQLite file itself."""
    with sqlite3.connect(site / "pln.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            """
            SELECT pe.name AS person, p.title, p.link, p.text, p.published
            FROM posts p JOIN sources s ON s.id = p.source_id JOIN people pe ON pe.id = s.person_id
            ORDER BY p.id
            """
        ).fetchall()
    posts: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        posts.setdefault(row["person"], []).append(dict(row))
    return posts


def source_errors(site: Path) -> dict[str, str | None]:
    result = pln(site, "sources", "--format", "json")
    assert result.exit_code == 0, result.output
    return {row["person"]: row["last_error"] for row in json.loads(result.stdout)}


def write_fault_site(site: Path, good_url: str, faults: list[Fault]) -> None:
    people: dict[str, list[object]] = {"Good": [good_url]}
    people.update({fault.person: [fault.url] for fault in faults})
    # full_text never: the faults are about feeds; article pages would only add requests.
    fetch = {"timeout": TIMEOUT, "max_bytes": MAX_BYTES, "full_text": "never"}
    write_site(site, people, fetch=fetch)


def assert_only_the_fault_failed(site: Path, result: Result, faults: list[Fault]) -> None:
    assert result.exit_code == 0, result.output  # a failed source is no failure of the run
    assert "Traceback" not in result.output
    assert f"{len(faults)} failed" in result.stdout
    assert [post["title"] for post in stored_posts(site).get("Good", [])] == [
        f"Good post {n} about notes" for n in range(3)
    ]
    errors = source_errors(site)
    assert errors["Good"] is None
    for fault in faults:
        # On the terminal, on the fault's own line (log records may repeat it) …
        lines = [
            line
            for line in result.stderr.splitlines()
            if line.lstrip().startswith("✗") and f" {fault.person}: " in line
        ]
        assert len(lines) == 1 and fault.words in lines[0], (fault, result.stderr)
        assert "internal error" not in lines[0]
        # … and remembered for `pln sources`.
        assert fault.words in (errors[fault.person] or ""), errors


# ── the faults ───────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(BOMB_SIZE)


@pytest.fixture
def servers(http_server: LocalHTTPServer, bomb: bytes) -> Iterator[dict[str, Fault]]:
    """Every fault, each on its own path or server, and a good feed at /good.xml."""
    base = http_server.base_url
    http_server.add("/good.xml", rss(base, items("good", 3)))
    feed = rss(base, items("cut", 20)).encode()
    http_server.raw("/short.xml", short_body_answer(feed[: len(feed) // 2], len(feed)))
    http_server.add_handler(
        "/bomb.xml",
        lambda _request: Reply(
            200, bomb, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        ),
    )
    http_server.hang("/hang.xml")
    with (
        FaultServer(reset_halfway(feed)) as resetting,
        FaultServer(never_answer) as silent,
        FaultServer(tls(self_signed_context(), answer(feed))) as self_signed,
    ):
        faults = [
            Fault(
                "Reset",
                resetting.url("/feed.xml"),
                "the connection was reset before the response was complete",
            ),
            Fault(
                "Short",
                http_server.url("/short.xml"),
                "the connection closed before the response was complete",
            ),
            Fault("Silent", silent.url("/feed.xml"), f"timed out after {TIMEOUT} s"),
            Fault("Hanging", http_server.url("/hang.xml"), f"timed out after {TIMEOUT} s"),
            Fault(
                "Tls",
                self_signed.url("/feed.xml", scheme="https"),
                "TLS certificate not accepted: self-signed certificate",
            ),
            Fault("Dns", UNRESOLVABLE, "cannot connect: host name lookup failed"),
            Fault(
                "Bomb",
                http_server.url("/bomb.xml"),
                "the response was larger than fetch.max_bytes and was cut off",
            ),
        ]
        yield {fault.person: fault for fault in faults}


FAULT_NAMES = ["Reset", "Short", "Silent", "Hanging", "Tls", "Dns", "Bomb"]


@pytest.mark.parametrize("name", FAULT_NAMES)
def test_one_fault_beside_a_good_source(
    name: str, servers: dict[str, Fault], http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    if name == "Dns" and not resolver_fails_fast():
        pytest.skip("this machine's resolver does not answer for .invalid within the timeout")
    fault = servers[name]
    site = tmp_path / "site"
    write_fault_site(site, http_server.url("/good.xml"), [fault])
    result = pln(site, "fetch")
    assert_only_the_fault_failed(site, result, [fault])


def test_every_fault_at_once(
    servers: dict[str, Fault], http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    faults = [f for f in servers.values() if f.person != "Dns" or resolver_fails_fast()]
    site = tmp_path / "site"
    write_fault_site(site, http_server.url("/good.xml"), faults)
    result = pln(site, "fetch")
    assert_only_the_fault_failed(site, result, faults)
    # The next run tries none of them again at once: each backs off, the good one is fetched.
    again = pln(site, "fetch")
    assert again.exit_code == 0, again.output
    assert f"{len(faults)} skipped" in again.stdout


def test_the_bomb_is_never_inflated_past_the_limit(
    servers: dict[str, Fault], http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    write_fault_site(site, http_server.url("/good.xml"), [servers["Bomb"]])
    tracemalloc.start()
    try:
        result = pln(site, "fetch")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0
    # Inflated whole, the bomb would take 256 MB; pln keeps max_bytes and a decoding step.
    assert peak < 64 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


# ── wrong charsets: read right, and said ─────────────────────────────────────────────────


def feed_in(charset: str, declared: str) -> bytes:
    text = rss("https://cafe.example", items("café", 2, "crème brûlée"), title="Café")
    return text.replace('encoding="utf-8"', f'encoding="{declared}"').encode(charset)


@pytest.mark.parametrize(
    ("charset", "header", "declared", "note"),
    [
        # the server says UTF-8, the bytes are Latin-1 (and the document says so too)
        ("latin-1", "utf-8", "iso-8859-1", "wrong character encoding"),
        # the server says Latin-1 (a default it adds to everything), the bytes are UTF-8
        ("utf-8", "iso-8859-1", "utf-8", "the server said iso-8859-1 but sent UTF-8"),
        # Windows-1252 bytes under a UTF-8 label everywhere
        ("cp1252", "utf-8", "utf-8", "wrong character encoding"),
        # a charset no one has heard of
        ("utf-8", "klingon", "utf-8", ""),
    ],
)
def test_a_wrong_charset_is_read_right_and_noted(
    charset: str,
    header: str,
    declared: str,
    note: str,
    http_server: LocalHTTPServer,
    tmp_path: Path,
) -> None:
    http_server.add("/good.xml", rss(http_server.base_url, items("good", 3)))
    http_server.add(
        "/cafe.xml",
        feed_in(charset, declared),
        content_type=f"application/rss+xml; charset={header}",
    )
    site = tmp_path / "site"
    write_site(
        site,
        {"Good": [http_server.url("/good.xml")], "Cafe": [http_server.url("/cafe.xml")]},
        fetch={"full_text": "never"},
    )
    result = pln(site, "-v", "fetch")
    assert result.exit_code == 0, result.output
    posts = stored_posts(site)
    assert len(posts["Good"]) == 3
    titles = [post["title"] for post in posts["Cafe"]]
    assert titles == ["Café post 0 about crème brûlée", "Café post 1 about crème brûlée"]
    assert "crème brûlée" in str(posts["Cafe"][0]["text"])
    assert note in result.stderr
