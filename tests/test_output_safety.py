"""`pln build` replaces only what pln built (review E, findings 1 and 13), through the real
command: a folder holding the user's files, or a file, at ``site.output`` is refused with
exit 2 and left as it was; an empty or missing folder, a folder of an earlier build, and
the user's dotfiles at its top (kept) build as before; the counts leave those dotfiles out,
and an empty site's second build is unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator import app, site
from aggregator.cli import cli
from tests import site_fixture
from tests.sites import write_site


def pln(site_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--site", str(site_dir), *args], catch_exceptions=False)


def empty_site(tmp_path: Path, output: str | None = None) -> Path:
    """A site with no people: a build writes the empty site's pages, offline."""
    site_dir = tmp_path / "site"
    path = write_site(site_dir, {})
    if output is not None:
        document = json.loads(path.read_text(encoding="utf-8"))
        document["site"]["output"] = output
        path.write_text(json.dumps(document), encoding="utf-8")
    return site_dir


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def leftovers(site_dir: Path) -> list[str]:
    staged = (".building-", ".previous-")
    return sorted(path.name for path in site_dir.iterdir() if path.name.startswith(staged))


def test_a_folder_of_the_users_files_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path, output="docs")
    docs = site_dir / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "thesis.txt").write_text("my thesis\n")
    (docs / "sub" / "notes.md").write_text("notes\n")
    before = tree(docs)

    result = pln(site_dir, "build")

    assert result.exit_code == 2
    assert "site.output" in result.stderr and "holds files pln did not write" in result.stderr
    assert "sub/notes.md, thesis.txt" in result.stderr and "Nothing was changed" in result.stderr
    assert "Traceback" not in result.output
    assert tree(docs) == before
    assert leftovers(site_dir) == []


def test_a_file_at_site_output_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path, output="hostname")
    (site_dir / "hostname").write_text("myhost\n")

    result = pln(site_dir, "build")

    assert result.exit_code == 2
    assert "is a file, not a folder" in result.stderr and "site.output" in result.stderr
    assert (site_dir / "hostname").read_text() == "myhost\n"
    assert leftovers(site_dir) == []


def test_an_empty_folder_is_built_and_its_dotfiles_are_kept_and_not_counted(
    tmp_path: Path,
) -> None:
    site_dir = empty_site(tmp_path, output="docs")
    docs = site_dir / "docs"
    docs.mkdir()
    (docs / ".nojekyll").write_text("")
    (docs / ".git").mkdir()  # a gh-pages checkout: a dot-folder of the user's
    (docs / ".git" / "HEAD").write_text("ref: refs/heads/gh-pages\n")

    first = pln(site_dir, "build")
    assert first.exit_code == 0, first.output
    assert (docs / "index.html").is_file() and (docs / site.MANIFEST_NAME).is_file()
    assert (docs / ".nojekyll").is_file()
    assert (docs / ".git" / "HEAD").read_text() == "ref: refs/heads/gh-pages\n"
    listed = (docs / site.MANIFEST_NAME).read_text().splitlines()
    assert "index.html" in listed and ".nojekyll" not in listed and ".git/HEAD" not in listed

    # Finding 13: an empty site's rebuild changed feed.xml (its <updated> was the build's
    # time) and counted a kept dotfile as removed.
    feed_mtime = (docs / "feed.xml").stat().st_mtime_ns
    second = pln(site_dir, "build")
    assert second.exit_code == 0, second.output
    assert " 0 files changed, " in second.stdout and " 0 removed." in second.stdout
    assert (docs / "feed.xml").stat().st_mtime_ns == feed_mtime
    assert (docs / ".nojekyll").is_file() and (docs / ".git" / "HEAD").is_file()
    assert leftovers(site_dir) == []


def test_a_file_put_into_a_built_site_is_refused(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path)
    assert pln(site_dir, "build").exit_code == 0
    output = site_dir / "output"
    (output / "people" / "cv.pdf").write_bytes(b"%PDF-1.7 mine")
    before = tree(output)

    result = pln(site_dir, "build")

    assert result.exit_code == 2
    assert "(people/cv.pdf)" in result.stderr and "templates/static/" in result.stderr
    assert tree(output) == before


def test_a_site_an_earlier_pln_built_is_rebuilt_without_a_question(tmp_path: Path) -> None:
    """A pln from before the list of files left none: its pages are what a build writes."""
    site_dir = empty_site(tmp_path)
    assert pln(site_dir, "build").exit_code == 0
    output = site_dir / "output"
    (output / site.MANIFEST_NAME).unlink()
    (output / ".gitkeep").write_text("")  # README's set-up keeps output/ in git by it

    result = pln(site_dir, "build")

    assert result.exit_code == 0, result.output
    assert " 0 files changed, " in result.stdout and " 0 removed." in result.stdout
    assert (output / ".gitkeep").is_file() and (output / site.MANIFEST_NAME).is_file()


def test_an_earlier_builds_folder_with_a_file_of_the_users_is_refused(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path)
    assert pln(site_dir, "build").exit_code == 0
    output = site_dir / "output"
    (output / site.MANIFEST_NAME).unlink()
    (output / "thesis.txt").write_text("mine")
    before = tree(output)

    result = pln(site_dir, "build")

    assert result.exit_code == 2
    assert "(thesis.txt)" in result.stderr
    assert tree(output) == before
    assert leftovers(site_dir) == []


def test_a_file_of_the_theme_is_the_builds_own(tmp_path: Path) -> None:
    """templates/static/ is where files to publish go: they are listed, so the next build
    replaces them quietly, and one taken out of the theme is removed from output/."""
    site_dir = empty_site(tmp_path)
    static = site_dir / "templates" / "static"
    static.mkdir(parents=True)
    (static / "CNAME").write_text("pln.example.org\n")
    assert pln(site_dir, "build").exit_code == 0
    assert (site_dir / "output" / "CNAME").read_text() == "pln.example.org\n"

    (static / "CNAME").unlink()
    result = pln(site_dir, "build")
    assert result.exit_code == 0, result.output
    assert " 1 removed." in result.stdout
    assert not (site_dir / "output" / "CNAME").exists()


def test_a_killed_build_gives_the_users_dotfiles_back(tmp_path: Path) -> None:
    """Killed after the new site went in but before the user's dotfiles moved into it: the
    old site, left beside output/, still holds them; the next build moves them back."""
    site_dir = empty_site(tmp_path)
    assert pln(site_dir, "build").exit_code == 0
    output = site_dir / "output"
    old = site_dir / f".previous-output-{os.getpid() + 1}"
    old.mkdir()
    (old / site.MANIFEST_NAME).write_text((output / site.MANIFEST_NAME).read_text())
    (old / "index.html").write_text("the old site")
    (old / ".gitkeep").write_text("kept")

    result = pln(site_dir, "build")

    assert result.exit_code == 0, result.output
    assert (output / ".gitkeep").read_text() == "kept"
    assert leftovers(site_dir) == []


def test_a_rebuild_with_nothing_new_is_skipped_beside_the_users_dotfiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The skip compared every file of output/ with the last build's count, so a .gitkeep
    (or now the list of files) meant a full build every time."""
    site_dir = tmp_path / "site"
    site_fixture.write_config(site_dir)
    config = app.load_config(site_dir)
    site_fixture.fill_store(config.database_path, config)
    config.output_path.mkdir()
    (config.output_path / ".gitkeep").write_text("")
    first = app.build(config, clock=lambda: site_fixture.NOW)
    assert first.changed > 0 and first.removed == 0

    def not_again(*_: object) -> site.BuildReport:
        raise AssertionError("the site was built again, with nothing changed")

    monkeypatch.setattr(site, "build_site", not_again)
    again = app.build(config, clock=lambda: site_fixture.NOW)
    assert (again.changed, again.unchanged, again.removed) == (0, first.changed, 0)
    assert (config.output_path / ".gitkeep").is_file()


def test_a_symlinked_output_is_built_where_it_points_and_stays_a_link(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path)
    served = tmp_path / "www" / "pln"  # missing at first: the first build makes it
    (site_dir / "output").symlink_to(served, target_is_directory=True)

    for _ in range(2):  # a new site, then a build over the first one
        result = pln(site_dir, "build")
        assert result.exit_code == 0, result.output
        assert (site_dir / "output").is_symlink()
        assert (served / "index.html").is_file()
    assert leftovers(site_dir) == [] and leftovers(served.parent) == []
    assert (site_dir / "output").resolve() == served.resolve()


def test_check_names_an_output_a_build_would_refuse(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path, output="docs")
    (site_dir / "docs").mkdir()
    assert pln(site_dir, "check").exit_code == 0  # an empty folder is fine

    (site_dir / "docs" / "thesis.txt").write_text("my thesis\n")
    result = pln(site_dir, "check")

    assert result.exit_code == 2
    assert "thesis.txt" in result.output and "site.output" in result.output
    assert (site_dir / "docs" / "thesis.txt").read_text() == "my thesis\n"


def test_links_the_user_put_in_output_are_refused_and_kept(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path)
    assert pln(site_dir, "build").exit_code == 0
    output, media = site_dir / "output", tmp_path / "media"
    media.mkdir()
    (output / "photos").symlink_to(media, target_is_directory=True)
    (output / "archive" / "gone").symlink_to(tmp_path / "nowhere")

    result = pln(site_dir, "build")

    assert result.exit_code == 2
    assert "photos" in result.output and "archive/gone" in result.output
    assert (output / "photos").is_symlink() and (output / "archive" / "gone").is_symlink()


def test_a_loop_of_links_at_output_is_a_config_error(tmp_path: Path) -> None:
    site_dir = empty_site(tmp_path, output="loop")
    (site_dir / "loop").symlink_to(site_dir / "loop")

    result = pln(site_dir, "build")

    assert result.exit_code == 2
    assert "site.output" in result.output and "Traceback" not in result.output
