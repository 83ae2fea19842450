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
from urllib.parse import quote, urljoin

import jinja2
from markupsafe import Markup

from aggregator import fragments
from aggregator.errors import BuildError
from aggregator.fragments import day_path
from aggregator.models import Digest, DigestEntry

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
# The file whose ``entry`` macro the built-in theme writes in Python (aggregator/fragments).
MACROS = "_macros.html"


def builtin_templates() -> Path:
    """The built-in theme: inside the installed package, or at the top of a checkout."""
    packaged = Path(__file__).parent / TEMPLATE_DIR_NAME
    if packaged.is_dir():
        return packaged
    return Path(__file__).parents[1] / TEMPLATE_DIR_NAME


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
                "host": fragments.host,
            }
        )
        self.env.globals["absolute"] = _absolute
        self.env.globals["entry_html"] = self.entry_html
        self.env.globals["digest_html"] = self.digest_html
        self._fast_entry = fragments.EntryWriter(tz) if self._builtin_macros(builtin) else None

    # ── entries: the one piece every page repeats ────────────────────────────────────────

    def entry_html(
        self, root: str, e: DigestEntry, level: int = 3, show_day: bool = False
    ) -> Markup:
        """An entry as the ``entry`` macro of ``_macros.html`` writes it: in Python while
        that file is the built-in one, else through the site's own macro."""
        if self._fast_entry is not None:
            return self._fast_entry(root, e, level, show_day)
        macro = self.env.get_template(MACROS).module.entry  # type: ignore[attr-defined]
        return macro(root, e, level, show_day=show_day)  # type: ignore[no-any-return]

    def digest_html(self, root: str, d: Digest, level: int = 2, prefix: str = "") -> Markup:
        """A day's digest as the ``digest_body`` macro of ``_macros.html`` writes it: in
        Python while that file is the built-in one, else through the site's own macro."""
        if self._fast_entry is not None:
            return self._fast_entry.digest(root, d, level, prefix)
        macro = self.env.get_template(MACROS).module.digest_body  # type: ignore[attr-defined]
        return macro(root, d, level, prefix)  # type: ignore[no-any-return]

    def _builtin_macros(self, builtin: Path | None) -> bool:
        theme = (builtin or builtin_templates()).resolve()
        for folder in self.search_path:
            if (folder / MACROS).is_file():
                return folder == theme
        return False

    # ── rendering ────────────────────────────────────────────────────────────────────────

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render template ``name``; any failure is a BuildError with the template's place."""
        return "".join(self.stream(name, context))

    # ── memory (H) ── a page written as it is rendered: a 30 MB feed rendered into one
    # string took the build from 174 to 304 MB (bench/memory.py's network, 24k posts).
    def stream(self, name: str, context: Mapping[str, Any]) -> Iterator[str]:
        """Render template ``name`` piece by piece; failures as ``render``'s."""
        try:
            yield from self.env.get_template(name).generate(context)
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
        return fragments.day_text(moment.astimezone(self.tz).date())

    def local_day(self, day: date) -> str:
        """``Friday, 20 November 2026``."""
        return f"{day:%A}, {fragments.day_text(day)}"

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


def _month_name(day: date) -> str:
    return f"{day:%B %Y}"


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _urlquote(value: str) -> str:
    return quote(value, safe="")


def _absolute(base: str | None, path: str) -> str:
    """``path`` under the site's base_url, or left relative when there is none."""
    return urljoin(base, path) if base else path
