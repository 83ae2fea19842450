"""The one Jinja environment: site templates over built-in ones, autoescape, strictness."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.errors import BuildError
from aggregator.render import Renderer, builtin_templates, day_path

BERLIN = ZoneInfo("Europe/Berlin")


def renderer(site_dir: Path, builtin: Path | None = None) -> Renderer:
    return Renderer(site_dir, BERLIN, builtin=builtin)


@pytest.fixture
def builtin(tmp_path: Path) -> Path:
    folder = tmp_path / "builtin"
    (folder / "static").mkdir(parents=True)
    (folder / "page.html").write_text("built-in {{ name }}\n")
    (folder / "other.html").write_text("other built-in\n")
    (folder / "static" / "style.css").write_text("body{}")
    (folder / "static" / "search.js").write_text("// js")
    return folder


def test_the_builtin_theme_is_found_in_the_checkout() -> None:
    folder = builtin_templates()
    assert (folder / "base.html").is_file()
    assert (folder / "static" / "style.css").is_file()


def test_a_site_template_overrides_the_builtin_one_file_by_file(
    tmp_path: Path, builtin: Path
) -> None:
    site = tmp_path / "site"
    (site / "templates" / "static").mkdir(parents=True)
    (site / "templates" / "page.html").write_text("mine {{ name }}\n")
    (site / "templates" / "static" / "style.css").write_text("body{color:red}")
    (site / "templates" / "static" / "extra.txt").write_text("x")
    render = renderer(site, builtin)
    assert render.render("page.html", {"name": "A"}) == "mine A\n"
    assert render.render("other.html", {}) == "other built-in\n"
    static = dict(render.static_files())
    assert static["style.css"].read_text() == "body{color:red}"
    assert static["search.js"].read_text() == "// js"
    assert "extra.txt" in static


def test_autoescape_is_on(tmp_path: Path, builtin: Path) -> None:
    out = renderer(tmp_path, builtin).render("page.html", {"name": "<script>alert(1)</script>"})
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


def test_an_undefined_name_is_an_error_with_the_file_and_line(
    tmp_path: Path, builtin: Path
) -> None:
    site = tmp_path / "site"
    (site / "templates").mkdir(parents=True)
    (site / "templates" / "page.html").write_text("line one\n{{ nobody_passed_this }}\n")
    with pytest.raises(BuildError) as caught:
        renderer(site, builtin).render("page.html", {"name": "A"})
    error = caught.value
    assert error.file is not None and error.file.endswith("page.html")
    assert error.line == 2
    assert "nobody_passed_this" in str(error)
    assert f"{error.file}:2:" in str(error)


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path, builtin: Path) -> None:
    site = tmp_path / "site"
    (site / "templates").mkdir(parents=True)
    (site / "templates" / "page.html").write_text("ok\nok\n{% if %}\n")
    with pytest.raises(BuildError) as caught:
        renderer(site, builtin).render("page.html", {})
    assert caught.value.line == 3
    assert str(caught.value.file).endswith("page.html")


def test_an_error_in_an_included_template_names_that_template(
    tmp_path: Path, builtin: Path
) -> None:
    site = tmp_path / "site"
    (site / "templates").mkdir(parents=True)
    (site / "templates" / "page.html").write_text('{% include "part.html" %}\n')
    (site / "templates" / "part.html").write_text("\n\n{{ 1 / 0 }}\n")
    with pytest.raises(BuildError) as caught:
        renderer(site, builtin).render("page.html", {})
    assert str(caught.value.file).endswith("part.html")
    assert caught.value.line == 3
    assert "ZeroDivisionError" in str(caught.value)


def test_a_missing_template_is_a_build_error(tmp_path: Path, builtin: Path) -> None:
    with pytest.raises(BuildError, match=r"template not found: nothing\.html"):
        renderer(tmp_path, builtin).render("nothing.html", {})


def test_filters_show_times_in_the_site_time_zone(tmp_path: Path) -> None:
    render = renderer(tmp_path)
    late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert render.local_time(late) == "00:30"
    assert render.local_date(late) == "21 November 2026"
    assert render.local_day(date(2026, 11, 21)) == "Saturday, 21 November 2026"
    assert render.iso(late) == "2026-11-21T00:30:00+01:00"
    assert render.local_date_path(late) == "2026/11/21/"
    assert day_path(date(2026, 1, 5)) == "2026/01/05/"
    new_york = Renderer(tmp_path, ZoneInfo("America/New_York"))
    assert new_york.local_date_path(late) == "2026/11/20/"
