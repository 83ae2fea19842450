"""A site pln cannot write to is one line and an exit status, never a traceback (review E,
finding 3), through the real commands.

A read-only folder (chmod) stops no one running as root, as CI may: those tests skip then,
and the same failures are made for root too by putting something in the way (a file where
a folder goes, a folder where a file goes)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator.cli import cli
from aggregator.lock import HOLDER_NAME, LOCK_NAME
from tests.sites import write_site

AS_ROOT = os.geteuid() == 0
FEED = "http://127.0.0.1:9/feed.xml"  # never fetched: every command here stops before
CSV = "Account address,Show boosts\nalice@social.example,true\n"


def pln(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def site(tmp_path: Path) -> Path:
    site_dir = tmp_path / "site"
    write_site(site_dir, {"A": [FEED]})
    return site_dir


def assert_one_line(result: Result, *words: str) -> None:
    """Exit 1, and one line on stderr that says what could not be written."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "cannot " in lines[0] and "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]


# ── a folder chmod'ed read-only (not for root) ───────────────────────────────────────────


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    if AS_ROOT:
        pytest.skip("root writes into a read-only folder: see the tests below for root")
    site_dir = site(tmp_path)
    mode = site_dir.stat().st_mode
    os.chmod(site_dir, stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield site_dir
    finally:
        os.chmod(site_dir, mode)


@pytest.mark.parametrize("command", ["fetch", "build", "retag", "run"])
def test_a_read_only_site_cannot_be_written(read_only: Path, command: str) -> None:
    assert_one_line(pln("--site", str(read_only), command), str(read_only))


def test_a_read_only_sources_yaml_folder_cannot_be_edited(read_only: Path, tmp_path: Path) -> None:
    before = (read_only / "sources.yaml").read_bytes()
    added = pln("--site", str(read_only), "add", "--no-check", "https://b.example/feed.xml")
    assert_one_line(added, "sources.yaml", "permission denied")
    follows = tmp_path / "follows.csv"
    follows.write_text(CSV)
    imported = pln("--site", str(read_only), "import", str(follows))
    assert_one_line(imported, "sources.yaml")
    assert "follows.csv" not in imported.stderr  # the file read is not the one to blame
    assert (read_only / "sources.yaml").read_bytes() == before


def test_init_in_a_read_only_folder(read_only: Path) -> None:
    assert_one_line(pln("init", str(read_only / "new")), str(read_only / "new"))


# ── the same failures, for root too ──────────────────────────────────────────────────────


def test_init_where_a_file_is_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("a file")
    result = pln("init", str(tmp_path / "x" / "y"))
    assert_one_line(result, str(tmp_path / "x" / "y"), "not a directory")


@pytest.mark.parametrize("command", ["fetch", "build", "retag", "run"])
def test_a_lock_that_cannot_be_made(tmp_path: Path, command: str) -> None:
    site_dir = site(tmp_path)
    (site_dir / LOCK_NAME).mkdir()
    result = pln("--site", str(site_dir), command)
    assert_one_line(result, str(site_dir / LOCK_NAME), "is a directory")
    assert not list(site_dir.glob(".pln.run.*"))  # `pln run` took its mark away


def test_a_holder_file_that_cannot_be_written_releases_the_lock(tmp_path: Path) -> None:
    site_dir = site(tmp_path)
    (site_dir / HOLDER_NAME).mkdir()
    assert_one_line(pln("--site", str(site_dir), "build"), str(site_dir / HOLDER_NAME))
    (site_dir / HOLDER_NAME).rmdir()
    built = pln("--site", str(site_dir), "build")  # the lock was let go
    assert built.exit_code == 0, built.output


def test_sources_yaml_that_cannot_be_replaced(tmp_path: Path) -> None:
    """The temporary file beside sources.yaml is in the way: the clean-up of the failed
    write used to fail the same way inside its own handler, and hid the error."""
    site_dir = site(tmp_path)
    before = (site_dir / "sources.yaml").read_bytes()
    (site_dir / f".sources.yaml.{os.getpid()}.tmp").mkdir()  # CliRunner: this process
    added = pln("--site", str(site_dir), "add", "--no-check", "https://b.example/feed.xml")
    assert_one_line(added, str(site_dir / "sources.yaml"), "is a directory")
    follows = tmp_path / "follows.csv"
    follows.write_text(CSV)
    imported = pln("--site", str(site_dir), "import", str(follows))
    assert_one_line(imported, str(site_dir / "sources.yaml"))
    assert "follows.csv" not in imported.stderr
    assert (site_dir / "sources.yaml").read_bytes() == before


def test_an_output_under_a_file(tmp_path: Path) -> None:
    site_dir = site(tmp_path)
    (site_dir / "x").write_text("a file")
    path = site_dir / "sources.yaml"
    text = path.read_text().replace('"title": "Test PLN"', '"title": "T", "output": "x/out"')
    path.write_text(text)
    result = pln("--site", str(site_dir), "build")
    assert_one_line(result, str(site_dir / "x"))
    assert (site_dir / "x").read_text() == "a file"


def test_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    site_dir = site(tmp_path)
    (site_dir / LOCK_NAME).mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "--site", str(site_dir), "fetch"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == f"error: cannot write {site_dir / LOCK_NAME}: is a directory\n"
