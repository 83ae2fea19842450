"""One writer per site directory: the only module that uses filelock.

The lock is an OS-level lock on ``.pln.lock`` in the site directory, so it is released when
the process ends, however it ends (a ``kill -9`` leaves no stale lock). The file also names
the holder, so a second process can say who it is waiting for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from aggregator.errors import LockError

LOCK_NAME = ".pln.lock"
HOLDER_NAME = ".pln.lock.holder"


# How long a second pln waits for the first before giving up; PLN_LOCK_WAIT overrides it.
DEFAULT_WAIT = 60.0


@contextmanager
def site_lock(site_dir: Path, what: str, wait: float | None = None) -> Iterator[None]:
    """Hold the site directory's write lock while ``what`` runs, waiting a while for it."""
    if wait is None:
        wait = float(os.environ.get("PLN_LOCK_WAIT", DEFAULT_WAIT))
    lock = FileLock(site_dir / LOCK_NAME, timeout=wait)
    holder = site_dir / HOLDER_NAME
    try:
        lock.acquire()
    except Timeout as exc:
        raise LockError(
            f"another pln is working on {site_dir} ({_describe_holder(holder)}); "
            f"waited {wait:.0f} s. Try again when it has finished."
        ) from exc
    try:
        holder.write_text(f"{os.getpid()} {what}\n", encoding="utf-8")
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _describe_holder(holder: Path) -> str:
    try:
        pid, _, what = holder.read_text(encoding="utf-8").strip().partition(" ")
    except OSError:
        return "process unknown"
    return f"process {pid}, running `pln {what}`" if pid else "process unknown"
