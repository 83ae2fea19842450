"""The site's search index: Pagefind over the day pages, built in parts of bounded size.

Pagefind holds everything it indexes in memory at once (seven to ten times the HTML of
the pages it reads) and has no incremental mode, so one run over the whole archive grows with it:
422 MB at 24,000 posts, 2 GB at 224,000. Instead the day pages are cut into parts, each at
most ``PART_BYTES`` of HTML, and Pagefind runs once per part:

    search/pagefind/                 the newest part, with Pagefind's scripts: the primary
    search/pagefind/parts/<day>/     every older part (its index files only), named by its
                                     first day; ``pln-part.txt`` holds its fingerprint
    search/pagefind/parts.json       the older parts, newest first, for the search page

A part never spans two months, and is cut oldest day first, so a part of a past month keeps
its days from one build to the next. An older part whose pages have the same bytes as last
time (same fingerprint, same Pagefind) is copied from the previous output/ instead of being
indexed again: a daily build indexes only the newest part and whatever changed. The search
page (templates/static/search.js) loads the primary and merges the others (Pagefind's
``mergeIndex``), so a search and its filters still cover the whole archive.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from aggregator.errors import BuildError

__all__ = ["PART_BYTES", "PRIMARY_DIR", "Part", "index_site", "pagefind_binary", "plan_parts"]

PRIMARY_DIR = "search/pagefind"
PARTS_DIR = "parts"  # inside PRIMARY_DIR
MANIFEST = "parts.json"  # inside PRIMARY_DIR
STAMP = "pln-part.txt"  # inside each older part: the fingerprint of what it indexed
# HTML a Pagefind run reads at most. Pagefind's peak was measured at 7-10× the HTML it reads
# (6.3 MB: 65 MB, 10 MB: 94 MB, 21.8 MB: 189 MB), so a part costs it under 100 MB; at about
# 2 KB of day page a post, that is some 5,000 posts. Larger parts would mean fewer indexes
# for the search page to merge, and more memory.
PART_BYTES = 10 * 2**20
TIMEOUT = 600  # seconds for one Pagefind run
# Bump when the command line or the layout changes: every kept part is indexed again.
_FORMAT = "2"
# A Mastodon entry's heading ("Elif Demir on Mastodon", "… boosted …") is made up by pln, not
# written by anyone: indexed, every toot would match its author's name and "Mastodon" as text.
_NOT_WORDS_OF_A_POST = ".entry-toot > .entry-title"
# What a merged part needs; the scripts, styles and WebAssembly come from the primary.
_INDEX_FILES = ("pagefind-entry.json", "index", "filter", "fragment")
_DAY_PAGES = "[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/index.html"


@dataclass(frozen=True)
class Part:
    """Consecutive day pages of one month, indexed together."""

    pages: tuple[str, ...]  # relative to the site root, oldest first

    @property
    def key(self) -> str:
        """The part's folder name: its first day, ``YYYY-MM-DD``."""
        return self.pages[0].removesuffix("/index.html").replace("/", "-")


# ── which pages go together (pure) ───────────────────────────────────────────────────────


def plan_parts(pages: Sequence[tuple[str, int]], budget: int | None = None) -> list[Part]:
    """Cut day pages (relative path and size, any order) into parts, oldest first.

    A part holds days of one month only, added oldest first while the part stays within
    ``budget`` bytes (``PART_BYTES``; a single larger day is a part of its own).
    """
    limit = PART_BYTES if budget is None else budget
    parts: list[Part] = []
    current: list[str] = []
    size = 0
    for path, bytes_ in sorted(pages):
        month = path[:7]
        if current and (current[0][:7] != month or size + bytes_ > limit):
            parts.append(Part(tuple(current)))
            current, size = [], 0
        current.append(path)
        size += bytes_
    if current:
        parts.append(Part(tuple(current)))
    return parts


def fingerprint(root: Path, part: Part, pagefind_version: str) -> str:
    """What an index of ``part`` depends on: the pages' bytes and Pagefind's version."""
    digest = hashlib.sha256(f"{_FORMAT}\0{pagefind_version}\0".encode())
    for page in part.pages:
        digest.update(page.encode() + b"\0")
        digest.update(hashlib.sha256((root / page).read_bytes()).digest())
    return digest.hexdigest()


# ── running Pagefind ─────────────────────────────────────────────────────────────────────


def pagefind_binary() -> Path | None:
    """The Pagefind binary of the ``pagefind[bin]`` package, or None when it is missing."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        return None
    return get_executable()


def _pagefind_version() -> str:
    try:
        return metadata.version("pagefind_bin")
    except metadata.PackageNotFoundError:
        return "unknown"


def index_site(staging: Path, previous: Path | None) -> bool:
    """Index the day pages of ``staging`` in parts; False (no index) without Pagefind.

    ``previous`` is the output/ this build replaces: older parts whose pages did not change
    are copied from it. Raises BuildError when Pagefind fails; ``staging`` is then the
    caller's to throw away, and ``previous`` was only read.
    """
    binary = pagefind_binary()
    if binary is None:
        return False
    pages = [
        (path.relative_to(staging).as_posix(), path.stat().st_size)
        for path in staging.glob(_DAY_PAGES)
    ]
    parts = plan_parts(pages)
    primary = staging / PRIMARY_DIR
    if not parts:  # no day yet: an index of the site as it is, so the search page loads
        _run(binary, staging, "**/*.{html}", primary)
        _write_manifest(primary, [])
        return True
    *older, newest = parts
    kept = _kept_parts(previous)
    version = _pagefind_version()
    for part in older:
        _older_part(binary, staging, part, fingerprint(staging, part, version), kept)
    _run(binary, staging, _glob(newest), primary)
    _write_manifest(primary, [part.key for part in reversed(older)])
    return True


def _older_part(
    binary: Path, staging: Path, part: Part, print_: str, kept: dict[str, Path]
) -> None:
    target = staging / PRIMARY_DIR / PARTS_DIR / part.key
    found = kept.get(print_)
    if found is not None and found.name == part.key:
        _copy_index(found, target)
    else:
        _run(binary, staging, _glob(part), target)
        _strip_to_index(target)
    (target / STAMP).write_text(print_ + "\n", encoding="utf-8")


def _kept_parts(previous: Path | None) -> dict[str, Path]:
    """The older parts of the previous build, by fingerprint."""
    if previous is None:
        return {}
    found: dict[str, Path] = {}
    for stamp in (previous / PRIMARY_DIR / PARTS_DIR).glob(f"*/{STAMP}"):
        try:
            found[stamp.read_text(encoding="utf-8").strip()] = stamp.parent
        except OSError:
            continue  # unreadable: index that part again
    return found


def _glob(part: Part) -> str:
    """A Pagefind glob naming exactly the part's pages."""
    return "{" + ",".join(part.pages) + "}"


def _run(binary: Path, staging: Path, glob: str, output: Path) -> None:
    command = [
        str(binary),
        "--site",
        str(staging),
        "--glob",
        glob,
        "--output-path",
        str(output),
        "--exclude-selectors",
        _NOT_WORDS_OF_A_POST,
        "--silent",
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"the search index could not be built: {exc}") from exc
    if result.returncode == -signal.SIGXFSZ:  # ── reports (issue 8): past a file-size limit
        raise BuildError("the search index could not be built: a file grew too large") from (
            OSError(errno.EFBIG, os.strerror(errno.EFBIG))
        )
    if result.returncode != 0 or not (output / "pagefind-entry.json").is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BuildError(
            "the search index could not be built: "
            + (detail[-1] if detail else f"pagefind exited with {result.returncode}")
        )


def _index_entries(folder: Path) -> Iterator[Path]:
    for name in _INDEX_FILES:
        path = folder / name
        if path.exists():
            yield path
    yield from folder.glob("*.pf_meta")


def _strip_to_index(folder: Path) -> None:
    """Leave only what ``mergeIndex`` reads: the primary serves the scripts."""
    keep = set(_index_entries(folder))
    for path in folder.iterdir():
        if path not in keep:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


def _copy_index(source: Path, target: Path) -> None:
    try:
        target.mkdir(parents=True)
        for path in _index_entries(source):
            if path.is_dir():
                shutil.copytree(path, target / path.name)
            else:
                shutil.copyfile(path, target / path.name)
    except OSError as exc:
        raise BuildError(f"cannot copy the search index part {source}: {exc}") from exc


def _write_manifest(primary: Path, keys: Sequence[str]) -> None:
    """The older parts, newest first, as paths relative to the primary's folder."""
    listed = {"parts": [f"{PARTS_DIR}/{key}/" for key in keys]}
    (primary / MANIFEST).write_text(json.dumps(listed, indent=1) + "\n", encoding="utf-8")
