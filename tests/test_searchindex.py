"""The search index in parts: how day pages are cut, what is kept between builds, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator import app, searchindex
from aggregator.errors import BuildError
from aggregator.models import Config
from tests import site_fixture

needs_pagefind = pytest.mark.skipif(
    searchindex.pagefind_binary() is None, reason="the pagefind package is not installed"
)


def day(path: str, size: int = 100) -> tuple[str, int]:
    return (f"{path}/index.html", size)


# ── plan_parts (pure) ────────────────────────────────────────────────────────────────────


def test_a_part_never_spans_two_months() -> None:
    parts = searchindex.plan_parts([day("2026/10/31"), day("2026/11/01"), day("2026/11/02")])
    assert [part.pages for part in parts] == [
        ("2026/10/31/index.html",),
        ("2026/11/01/index.html", "2026/11/02/index.html"),
    ]
    assert [part.key for part in parts] == ["2026-10-31", "2026-11-01"]


def test_days_are_packed_oldest_first_within_the_budget() -> None:
    pages = [day(f"2026/11/{number:02d}", 40) for number in range(1, 8)]
    parts = searchindex.plan_parts(list(reversed(pages)), budget=100)
    assert [len(part.pages) for part in parts] == [2, 2, 2, 1]
    assert parts[0].key == "2026-11-01"
    # a day larger than the budget is a part of its own, never dropped
    big = searchindex.plan_parts([day("2026/11/01", 500), day("2026/11/02", 10)], budget=100)
    assert [part.key for part in big] == ["2026-11-01", "2026-11-02"]


def test_a_new_day_leaves_the_earlier_parts_as_they_were() -> None:
    month = [day(f"2026/11/{number:02d}", 30) for number in range(1, 10)]
    before = searchindex.plan_parts(month, budget=100)
    after = searchindex.plan_parts([*month, day("2026/11/10", 30)], budget=100)
    assert after[: len(before) - 1] == before[:-1]


# ── index_site with the real Pagefind ────────────────────────────────────────────────────


def write_day(root: Path, path: str, words: str) -> None:
    page = root / path / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        f'<!doctype html><html lang="en"><head><title>{path}</title></head><body>'
        f"<main data-pagefind-body><h1>{path}</h1><p>{words}</p></main></body></html>",
        encoding="utf-8",
    )


class CountingRuns:
    """Pagefind runs, counted by the folder each wrote (the real binary still runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.outputs: list[str] = []
        self._original = searchindex._run
        monkeypatch.setattr(searchindex, "_run", self)

    def __call__(self, binary: Path, staging: Path, glob: str, output: Path) -> None:
        self.outputs.append(output.relative_to(staging).as_posix())
        self._original(binary, staging, glob, output)


@needs_pagefind
def test_parts_are_indexed_listed_and_kept_when_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(searchindex, "PART_BYTES", 1)  # every day a part of its own
    runs = CountingRuns(monkeypatch)
    first = tmp_path / "first"
    for number, words in [(1, "alder"), (2, "birch"), (3, "cedar")]:
        write_day(first, f"2026/11/{number:02d}", words)
    assert searchindex.index_site(first, None)
    primary = first / "search/pagefind"
    assert (primary / "pagefind.js").is_file()
    listed = json.loads((primary / "parts.json").read_text())
    assert listed == {"parts": ["parts/2026-11-02/", "parts/2026-11-01/"]}  # newest first
    older = primary / "parts/2026-11-01"
    assert (older / "pagefind-entry.json").is_file() and list(older.glob("*.pf_meta"))
    assert not (older / "pagefind.js").exists()  # the primary serves the scripts
    assert len(runs.outputs) == 3

    # The next build: day 2 changed, day 4 is new. Day 1 is copied, days 2 and 3 indexed.
    second = tmp_path / "second"
    for number, words in [(1, "alder"), (2, "birch beech"), (3, "cedar"), (4, "damson")]:
        write_day(second, f"2026/11/{number:02d}", words)
    runs.outputs.clear()
    searchindex.index_site(second, first)
    assert sorted(runs.outputs) == [
        "search/pagefind",
        "search/pagefind/parts/2026-11-02",
        "search/pagefind/parts/2026-11-03",
    ]
    kept = second / "search/pagefind/parts/2026-11-01"
    for path in older.rglob("*"):
        if path.is_file():
            assert (kept / path.relative_to(older)).read_bytes() == path.read_bytes()


@needs_pagefind
def test_another_pagefind_version_indexes_every_part_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(searchindex, "PART_BYTES", 1)
    for root in (tmp_path / "a", tmp_path / "b"):
        write_day(root, "2026/11/01", "alder")
        write_day(root, "2026/11/02", "birch")
    searchindex.index_site(tmp_path / "a", None)
    monkeypatch.setattr(searchindex, "_pagefind_version", lambda: "9.9.9")
    runs = CountingRuns(monkeypatch)
    searchindex.index_site(tmp_path / "b", tmp_path / "a")
    assert "search/pagefind/parts/2026-11-01" in runs.outputs


def test_no_pagefind_means_no_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(searchindex, "pagefind_binary", lambda: None)
    write_day(tmp_path, "2026/11/01", "alder")
    assert not searchindex.index_site(tmp_path, None)
    assert not (tmp_path / "search").exists()


# ── through a build ──────────────────────────────────────────────────────────────────────


@pytest.fixture
def network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setattr(app, "trends", lambda *a, **k: ["drought"], raising=False)
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    return config


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }


@needs_pagefind
def test_a_build_indexes_every_day_in_parts(
    network: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(searchindex, "PART_BYTES", 1)
    report = app.build(network, clock=lambda: site_fixture.NOW)
    assert report.search_indexed
    primary = network.output_path / "search/pagefind"
    listed = json.loads((primary / "parts.json").read_text())["parts"]
    # four days (20 to 23 November): the newest is the primary, three older parts
    assert listed == ["parts/2026-11-22/", "parts/2026-11-21/", "parts/2026-11-20/"]
    for part in listed:
        assert (primary / part / searchindex.STAMP).is_file()


@needs_pagefind
def test_a_failed_part_leaves_the_previous_site_as_it_was(
    network: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(searchindex, "PART_BYTES", 1)
    app.build(network, clock=lambda: site_fixture.NOW)
    before = snapshot(network.output_path)
    failing = tmp_path / "pagefind"
    failing.write_text("#!/bin/sh\necho 'Error: disk quota exceeded' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setattr(searchindex, "pagefind_binary", lambda: failing)
    with pytest.raises(BuildError, match="disk quota exceeded"):
        # the next day: the site would change, so the build does not stop at its stamp
        app.build(network, clock=lambda: site_fixture.NOW.replace(day=24))
    assert snapshot(network.output_path) == before
    staged = (".building-", ".previous-")  # site.py's staging folders: removed on failure
    leftovers = [p.name for p in network.output_path.parent.iterdir() if p.name.startswith(staged)]
    assert leftovers == []
