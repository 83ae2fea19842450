"""Every XML attack of the hostile-inputs corpus, served as a feed and fetched by `pln fetch`.

Billion laughs, quadratic blow-up, external entities (files and URLs), external DTDs,
parameter entities, XInclude and stylesheets (tests/attack_corpus.py builds them): one run of
the real command in a child process, whose peak memory we read. What must hold:

- no file is read: a planted secret never reaches the database;
- no request leaves for anything but the feeds themselves (the local server logs them all);
- no entity is expanded, and memory stays bounded (generously: the figures measured per
  attack are in docs/reliability.md, from bench/xml_attacks.py);
- every attack is one source's result; feed-shaped attacks are stored as the feeds they are.

No timing is asserted: time goes to docs/reliability.md.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.attack_corpus import (
    EXTERNAL_PREFIX,
    HOSTILE,
    SECRET_TEXT,
    attacks,
    extra_attacks,
    run_pln_measured,
)
from tests.server import LocalHTTPServer
from tests.sites import write_site

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not HOSTILE.is_dir(), reason="../shared/corpora is not there"),
]

# A plain fetch takes about 55 MB here; feedparser alone on the quadratic blow-up, 317 MB.
MAX_RSS = 256 * 1024 * 1024
# Runs of expanded entity text: quadratic.xml's "B"s, billion laughs' "dos", xmlbomb's digits.
EXPANSIONS = (b"B" * 1000, b"dosdosdosdos", b"1234567890" * 3, b"lollollol")


def test_no_xml_attack_reads_a_file_reaches_out_or_blows_up(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_TEXT, encoding="utf-8")
    served = attacks(secret, http_server.base_url) + extra_attacks(secret, http_server.base_url)
    for attack in served:
        http_server.add(attack.path, attack.body, content_type="application/rss+xml")
    site = tmp_path / "site"
    write_site(
        site,
        {attack.name: [http_server.url(attack.path)] for attack in served},
        # the default size cap: the attacks must be stopped by the parser, not by max_bytes;
        # no full text: a post's page would be a request of its own
        fetch={"timeout": 20, "max_bytes": 10_000_000, "full_text": "never"},
    )

    run = run_pln_measured(site, "fetch")

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    # Only the feeds were asked for, each once: no external entity, DTD, XInclude or
    # stylesheet was fetched, from the local server or anywhere it was pointed.
    requested = sorted(request.path for request in http_server.requests)
    assert requested == sorted(attack.path for attack in served)
    assert not any(path.startswith(EXTERNAL_PREFIX) for path in requested)
    # Nothing read, nothing expanded: not in the database, its WAL, or its shared memory.
    stored = b"".join(path.read_bytes() for path in site.glob("pln.db*"))
    assert SECRET_TEXT.encode() not in stored
    for expansion in EXPANSIONS:
        assert expansion not in stored, expansion[:20]
    assert 0 < run.max_rss < MAX_RSS, f"peak RSS {run.max_rss / 2**20:.0f} MiB"
    # The feed-shaped attacks are feeds after all: each stored its one post, entities unexpanded.
    feed_shaped = [attack for attack in served if attack.shape != "as is"]
    with sqlite3.connect(site / "pln.db") as db:
        titles = [row[0] for row in db.execute("SELECT title FROM posts")]
    assert len(titles) == len(feed_shaped) >= 100
    assert all(SECRET_TEXT not in (title or "") for title in titles)
