"""A pln that has to wait for another's lock says so at once, on stderr, naming the holder
and how long it waits (review E, finding 10); -q keeps it quiet. The waiting itself is
SPEC's: the second waits for the first, or says why it cannot. Real processes throughout."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.sites import write_site

HOLD = (
    "import sys\n"
    "from pathlib import Path\n"
    "from aggregator.lock import site_lock\n"
    "with site_lock(Path(sys.argv[1]), 'fetch'):\n"
    "    print('held', flush=True)\n"
    "    sys.stdin.readline()\n"  # holds the lock until told to let go
)


@contextmanager
def holder(site_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another pln holding the site's lock, as `pln fetch` would, until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(site_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        yield process
    finally:
        process.kill()
        process.wait()


def pln(site_dir: Path, *args: str, wait: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", "--site", str(site_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PLN_LOCK_WAIT": wait},
    )


def empty_site(tmp_path: Path) -> Path:
    site_dir = tmp_path / "site"
    write_site(site_dir, {})
    return site_dir


def test_a_second_pln_says_at_once_whom_it_waits_for_and_goes_on(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path)
    with holder(site_dir) as first:
        second = pln(site_dir, "build", wait="120")
        assert second.stderr is not None
        line = second.stderr.readline()  # printed while the first still holds the lock
        holder_named = f"Waiting for another pln (process {first.pid}, running `pln fetch`)"
        assert line.startswith(holder_named), line
        assert f"to finish with {site_dir}: up to 120 s" in line
        assert first.stdin is not None
        first.stdin.write("go\n")
        first.stdin.close()
        out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert out.startswith("Built ") and err == ""


def test_a_wait_that_runs_out_says_who_held_it(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path)
    with holder(site_dir) as first:
        out, err = pln(site_dir, "build", wait="0.2").communicate(timeout=120)
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Waiting for another pln"), err
    assert lines[1].startswith(f"error: another pln is working on {site_dir} (process {first.pid}")
    assert out == ""


def test_quiet_waits_without_a_word(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path)
    with holder(site_dir):
        second = pln(site_dir, "-q", "build", wait="0.2")
        _, err = second.communicate(timeout=120)
    assert second.returncode == 1
    assert "Waiting" not in err and err.startswith("error: another pln is working on")
