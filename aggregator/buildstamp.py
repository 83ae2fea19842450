"""A build's stamp: the fingerprint of everything a site build reads, so that a rebuild
with nothing changed can leave output/ as it is instead of writing the same bytes again.

Pure: the caller (app.build) gathers the inputs from the store, the configuration, the
templates and the clock, and keeps the stamp (in the store's meta table).

What a build reads, and how the fingerprint covers it:

- pln's own code (every module of the package) and the templates and static files of the
  site and of the built-in theme: their bytes;
- the configuration (``repr`` of the whole ``Config``), the people and source health rows,
  the trending terms;
- the posts and their topics: ``Store.site_version``, which triggers raise on every change;
- time: today's date in the site's time zone, and, for each post of the last weeks, where
  it falls in the activity counts of a person's page (the last 30 days and the weekly
  bars, relative to now, computed as site.py does). A template that can print ``now``
  itself (a feed with no entry, or a site template naming ``now``) puts ``now`` itself in
  the fingerprint: such a site is rebuilt every time, as before.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

# Bump when the stamp's meaning changes: an old stamp then never matches.
STAMP_FORMAT = 1
_NAMES_NOW = re.compile(rb"\bnow\b")


@dataclass(frozen=True)
class Stamp:
    fingerprint: str
    pages: int
    days: int
    posts: int
    files: int  # files in output/ after that build
    search_indexed: bool


def fingerprint(parts: Iterable[object]) -> str:
    digest = hashlib.sha256(f"pln-build-{STAMP_FORMAT}".encode())
    for part in parts:
        data = part if isinstance(part, bytes) else repr(part).encode("utf-8", "replace")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def files_digest(folders: Sequence[Path]) -> str:
    """Names and bytes of every file under ``folders`` (in order): templates, code."""
    digest = hashlib.sha256()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def names_now(folder: Path) -> bool:
    """Whether any template of a site's own ``folder`` may print the build time."""
    if not folder.is_dir():
        return False
    return any(
        _NAMES_NOW.search(path.read_bytes())
        for path in folder.rglob("*")
        if path.is_file() and path.suffix in (".html", ".xml", ".txt")
    )


def activity_window(weeks: int) -> timedelta:
    """How far back a post's place in the activity counts can still change with time."""
    return timedelta(days=max(7 * weeks, 30) + 1)


def activity_marks(
    times: Sequence[tuple[str, datetime]], now: datetime, weeks: int, recent_days: int = 30
) -> list[tuple[str, bool, int]]:
    """Per post: its person, whether it counts in the last ``recent_days``, and its week
    bar (-1: none), exactly as site._Pages._count_activity counts them at ``now``."""
    marks = []
    for slug, moment in times:
        age = now - moment
        recent = timedelta(0) <= age < timedelta(days=recent_days)
        week = age.days // 7
        marks.append((slug, recent, week if 0 <= week < weeks else -1))
    return marks


def dumps(stamp: Stamp) -> str:
    return json.dumps(asdict(stamp), sort_keys=True)


def loads(text: str | None) -> Stamp | None:
    if not text:
        return None
    try:
        return Stamp(**json.loads(text))
    except (ValueError, TypeError):
        return None
