"""The one Jinja environment of pln: the only module that uses jinja2.

Templates are looked up first in the site directory's own ``templates/`` and then in the
built-in theme, file by file, so a user overrides ``base.html`` alone and keeps the rest.
Autoescaping is on for every template and a name a template uses but nobody passed is an
error (``StrictUndefined``), so a typo fails the build instead of printing nothing.

A template that fails, at load or while rendering, becomes a BuildError naming the
template's file and line.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from datetime import date, datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import jinja2

from aggregator.errors import BuildError

__all__ = [
    "TEMPLATE_DIR_NAME",
    "Renderer",
    "builtin_templates",
    "day_path",
]

TEMPLATE_DIR_NAME = "templates"
STATIC_DIR_NAME = "static"
# Template files a traceback frame may belong to.
_TEMPLATE_SUFFIXES = (".html", ".xml", ".txt", ".j2", ".jinja")


def builtin_templates() -> Path:
    """The built-in theme: inside the installed package, or at the top of a checkout."""
    packaged = Path(__file__).parent / TEMPLATE_DIR_NAME
    if packaged.is_dir():
        return packaged
    return Path(__file__).parents[1] / TEMPLATE_DIR_NAME


def day_path(day: date) -> str:
    """Where a day's digest lives under output/, as a directory URL: ``2026/11/20/``."""
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}/"


class Renderer:
    """Renders pln's templates for one site: its own templates first, then the built-in."""

    def __init__(self, site_dir: Path, tz: tzinfo, *, builtin: Path | None = None) -> None:
        self.tz = tz
        own = site_dir / TEMPLATE_DIR_NAME
        self.search_path = _search_path(own, builtin or builtin_templates())
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(path) for path in self.search_path]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters.update(
            {
                "local_date": self.local_date,
                "local_day": self.local_day,
                "local_time": self.local_time,
                "iso": self.iso,
                "day_path": day_path,
                "local_date_path": self.local_date_path,
                "month_name": _month_name,
                "plural": _plural,
                "urlquote": _urlquote,
                "host": _host,
            }
        )
        self.env.globals["absolute"] = _absolute

    # ── rendering ────────────────────────────────────────────────────────────────────────

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render template ``name``; any failure is a BuildError with the template's place."""
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as exc:
            message = exc.message or "syntax error"
            raise BuildError(message, file=exc.filename, line=exc.lineno) from exc
        except jinja2.TemplateNotFound as exc:
            raise BuildError(f"template not found: {exc.name}") from exc
        except Exception as exc:
            file, line = self._template_frame(exc.__traceback__)
            raise BuildError(f"{type(exc).__name__}: {exc}", file=file, line=line) from exc

    def _template_frame(self, tb: TracebackType | None) -> tuple[str | None, int | None]:
        """The innermost frame that runs a template file (Jinja maps its lines back)."""
        found: tuple[str | None, int | None] = (None, None)
        for frame in traceback.extract_tb(tb):
            if frame.filename.endswith(_TEMPLATE_SUFFIXES) and self._is_template(frame.filename):
                found = (frame.filename, frame.lineno)
        return found

    def _is_template(self, filename: str) -> bool:
        path = Path(filename)
        return any(path.is_relative_to(folder) for folder in self.search_path)

    # ── static files ─────────────────────────────────────────────────────────────────────

    def static_files(self) -> Iterator[tuple[str, Path]]:
        """Each file of ``static/`` as (relative path, source), a site's own file first."""
        seen: set[str] = set()
        for folder in self.search_path:
            root = folder / STATIC_DIR_NAME
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root).as_posix()
                if path.is_file() and relative not in seen:
                    seen.add(relative)
                    yield relative, path

    # ── filters ──────────────────────────────────────────────────────────────────────────

    def local_date(self, moment: datetime) -> str:
        """``20 November 2026``, in the site's time zone."""
        return _day_text(moment.astimezone(self.tz).date())

    def local_day(self, day: date) -> str:
        """``Friday, 20 November 2026``."""
        return f"{day:%A}, {_day_text(day)}"

    def local_date_path(self, moment: datetime) -> str:
        """The day page a moment belongs to, in the site's time zone."""
        return day_path(moment.astimezone(self.tz).date())

    def local_time(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%H:%M")

    def iso(self, moment: datetime | date) -> str:
        if isinstance(moment, datetime):
            return moment.astimezone(self.tz).isoformat(timespec="seconds")
        return moment.isoformat()


def _search_path(site_templates: Path, builtin: Path) -> list[Path]:
    paths = [site_templates] if site_templates.is_dir() else []
    if builtin.resolve() not in {path.resolve() for path in paths}:
        paths.append(builtin)
    return [path.resolve() for path in paths]


def _day_text(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _month_name(day: date) -> str:
    return f"{day:%B %Y}"


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _urlquote(value: str) -> str:
    return quote(value, safe="")


def _host(url: str) -> str:
    """``alice.example`` of ``https://www.alice.example/feed.xml``."""
    return (urlsplit(url).hostname or url).removeprefix("www.")


def _absolute(base: str | None, path: str) -> str:
    """``path`` under the site's base_url, or left relative when there is none."""
    return urljoin(base, path) if base else path
