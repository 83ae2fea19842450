"""One writer per site directory: the only module that uses filelock.

The lock is an OS-level lock on ``.pln.lock`` in the site directory, so it is released when
the process ends, however it ends (a ``kill -9`` leaves no stale lock). The file also names
the holder, so a second process can say who it is waiting for, as soon as it starts waiting.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from aggregator.errors import LockError, WriteError

LOCK_NAME = ".pln.lock"
HOLDER_NAME = ".pln.lock.holder"


# How long a second pln waits for the first before giving up; PLN_LOCK_WAIT overrides it.
DEFAULT_WAIT = 60.0

# Told, once, when a pln has to wait for another: the command line prints it on stderr (and
# sets None for -q). A module-level hook, because every command that writes takes the lock
# deep inside app.py, and a wait is the one thing it has to say before it can start.
_waiting_notice: Callable[[str], None] | None = None


def announce_waits(notice: Callable[[str], None] | None) -> None:
    """Send the line that says a pln waits for another to ``notice`` (None: say nothing)."""
    global _waiting_notice
    _waiting_notice = notice


@contextmanager
def site_lock(site_dir: Path, what: str, wait: float | None = None) -> Iterator[None]:
    """Hold the site directory's write lock while ``what`` runs, waiting a while for it."""
    if wait is None:
        wait = float(os.environ.get("PLN_LOCK_WAIT", DEFAULT_WAIT))
    lock = FileLock(site_dir / LOCK_NAME)
    holder = site_dir / HOLDER_NAME
    _acquire(lock, site_dir, holder, wait)
    try:
        try:
            holder.write_text(f"{os.getpid()} {what}\n", encoding="utf-8")
        except OSError as exc:
            raise WriteError.from_os_error(holder, exc) from exc
        yield
    finally:
        with contextlib.suppress(OSError):  # a holder we could not write is not there
            holder.unlink(missing_ok=True)
        lock.release()


def _acquire(lock: FileLock, site_dir: Path, holder: Path, wait: float) -> None:
    """Take the lock at once if it is free; else say who holds it, and wait up to ``wait``."""
    try:
        try:
            lock.acquire(timeout=0)
            return
        except Timeout:
            pass
        if _waiting_notice is not None and wait > 0:  # PLN_LOCK_WAIT=0: the error says it
            _waiting_notice(
                f"Waiting for another pln ({_describe_holder(holder)}) to finish with "
                f"{site_dir}: up to {wait:.0f} s (PLN_LOCK_WAIT)…"
            )
        lock.acquire(timeout=wait)
    except Timeout as exc:
        raise LockError(
            f"another pln is working on {site_dir} ({_describe_holder(holder)}); "
            f"waited {wait:.0f} s. Try again when it has finished."
        ) from exc
    except OSError as exc:  # read-only disk, no permission, something else in the way
        raise WriteError.from_os_error(site_dir / LOCK_NAME, exc) from exc


def _describe_holder(holder: Path) -> str:
    try:
        pid, _, what = holder.read_text(encoding="utf-8").strip().partition(" ")
    except OSError:
        return "process unknown"
    return f"process {pid}, running `pln {what}`" if pid else "process unknown"
