"""sources.yaml → Config: the one module that reads YAML.

The file is parsed with ruamel.yaml's round-trip loader because it remembers where every key
and list item sits, so each problem can be reported as ``file:line: dotted.key: what is wrong``.
A valid file is read faster by libyaml (PyYAML's C parser) first, with the same values and
lines; ruamel.yaml reads whatever libyaml could read otherwise, and every file with a problem.
Checking goes on after the first problem, so one run of ``pln check`` can show all of them: the
first in file order is raised as a ConfigError, and the others ride along on it as notes
(PEP 678 ``__notes__``), so callers that print only ``str(error)`` still print something true.

What this module does not check: whether a topic's ``match`` is valid FTS5 syntax. That needs
SQLite, which belongs to the store; the app reports it with the topic's ``line``.
"""

from __future__ import annotations

import contextlib  # engineer F
import difflib
import enum
import functools
import hashlib
import io
import json
import math
import os
import re
import shlex
import stat
import string
import sys
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from email.utils import parseaddr
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .config_hints import yaml_hint  # ── G (review finding 11) ── pure, imports nothing
from .errors import ConfigError, WriteError  # WriteError: engineer F
from .models import (
    Config,
    EmailConfig,
    FetchConfig,
    FullText,
    NewPerson,
    NewSource,
    PersonConfig,
    SiteConfig,
    SkippedSource,
    SmtpConfig,
    SmtpSecurity,
    SourceConfig,
    SourceKind,
    SourcesEdit,
    TopicConfig,
)

# ── start-up (engineer E) ── ruamel.yaml (pure Python, 15-20 ms to import) is loaded only for
# a file libyaml declines or finds a problem in, and for edits: imported in those functions.
if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError

_yaml: ModuleType | None
_libyaml: ModuleType | None
try:  # PyYAML's libyaml parser reads sources.yaml first; pure-Python PyYAML would not be faster
    import yaml as _yaml
    from yaml import cyaml as _libyaml
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _yaml = _libyaml = None

__all__ = [
    "CONFIG_NAME",
    "add_people",
    "find_config",
    "followed_by",
    "load_config",
    "parse_config",
    "parse_source",
    "read_config_text",
    "replace_sources",
    "save_config_text",
    "slugify",
    "starter_text",
]

CONFIG_NAME = "sources.yaml"

# The defaults live in models.py; these instances let us read them without repeating them.
_SITE_DEFAULTS = SiteConfig(title="")
_FETCH_DEFAULTS = FetchConfig()
_SMTP_DEFAULTS = SmtpConfig(host="")
_EMAIL_DEFAULTS = EmailConfig(to=(), sender="", smtp=_SMTP_DEFAULTS)
_SOURCE_DEFAULTS = SourceConfig(url="", kind=SourceKind.FEED, person="")
_SSL_PORT = 465  # implicit TLS listens here, not on the submission port 587

_SECTIONS = ("site", "fetch", "topics", "people", "email")
_SITE_KEYS = (
    "title",
    "description",
    "base_url",
    "timezone",
    "language",
    "home_days",
    "excerpt_words",
    "database",
    "output",
)
_FETCH_KEYS = ("concurrency", "per_host", "timeout", "max_bytes", "full_text")
_TOPIC_KEYS = ("name", "slug", "match")
_PERSON_KEYS = ("name", "slug", "url", "topics", "sources")
_EMAIL_KEYS = ("to", "from", "subject", "send_empty", "smtp")
_SMTP_KEYS = ("host", "port", "security", "username", "password_env")
_SOURCE_KINDS: dict[str, SourceKind] = {
    "feed": SourceKind.FEED,
    "blog": SourceKind.BLOG,
    "mastodon": SourceKind.MASTODON,
}
_SOURCE_OPTIONS: dict[SourceKind, tuple[str, ...]] = {
    SourceKind.FEED: ("full_text",),
    SourceKind.BLOG: ("full_text",),
    SourceKind.MASTODON: ("replies", "boosts"),
}
_SOURCE_KEYS = ("feed", "blog", "mastodon", "full_text", "replies", "boosts")

_MAX_NOTES = 50  # a file that is wrong everywhere should not bury the terminal

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")
_LOOKS_LIKE_HOST = re.compile(r"[\w-]+(?:\.[\w-]+)+(?::\d+)?(?:[/?#].*)?", re.ASCII)
_USER = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"  # Mastodon's, plus . and - of others
_HANDLE = re.compile(rf"@(?P<user>{_USER})@(?P<host>[\w-]+(?:\.[\w-]+)*(?::\d+)?)")
_PROFILE_PATH = re.compile(
    rf"""/(?:
        @(?P<user>{_USER})(?:@(?P<host>[^/@]+))?   # /@bob, or /@bob@other.host seen from here
        | users/(?P<local>{_USER})                 # /users/bob, the ActivityPub address
    )/?""",
    re.VERBOSE,
)
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOST_NAME = re.compile(r"[\w.-]+|\[[0-9A-Fa-f:.]+\]")
_SLUG_MAX = 60

# Letters NFKD does not split into a base letter plus an accent, folded by hand.
_FOLD = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
    }
)

T = TypeVar("T")
E = TypeVar("E", bound=enum.StrEnum)


# ── public API ───────────────────────────────────────────────────────────────────────────


def find_config(site_dir: Path) -> Path:
    """The sources.yaml of ``site_dir``, or a ConfigError saying where we looked."""
    candidate = site_dir / CONFIG_NAME
    if candidate.is_file():
        return candidate
    init = _init_command(site_dir)
    if not site_dir.exists():
        message = f"the site directory {site_dir} does not exist; run '{init}' to create it"
    elif not site_dir.is_dir():
        message = f"{site_dir} is a file, but --site (or PLN_SITE) must name a directory"
    elif (site_dir / "sources.yml").is_file():
        message = f"found sources.yml in {site_dir}, but pln reads only {CONFIG_NAME}: rename it"
    else:
        message = (
            f"no {CONFIG_NAME} in {site_dir} (pln looks in --site DIR, else $PLN_SITE, "
            f"else the current directory); run '{init}' to create a commented one"
        )
    raise ConfigError(message, file=candidate)


def load_config(path: Path) -> Config:
    """Read and check ``path``; every problem is a ConfigError naming file, line and key."""
    return parse_config(_read_text(path), path)


def parse_config(text: str, path: Path) -> Config:
    """Check the YAML ``text`` as if read from ``path`` (used in messages and for site_dir).

    libyaml reads the file first (1,000 sources: 20 ms against ruamel.yaml's 400 ms); when it
    declines (anything YAML 1.1 and 1.2 read differently) or the file has a problem, ruamel.yaml
    reads it again, so every error and every value is ruamel.yaml's.
    """
    try:
        data = _load_fast(text)
    except _NotFast:
        return _read_with_ruamel(text, path)
    try:
        return _ConfigReader(path).read(data)
    except ConfigError:
        return _read_with_ruamel(text, path)


def _read_with_ruamel(text: str, path: Path) -> Config:
    return _ConfigReader(path).read(_parse_yaml(text, path))


def parse_source(
    value: object,
    person: str,
    line: int | None = None,
    *,
    key: str = "source",
    file: Path | str | None = None,
) -> SourceConfig:
    """Classify one entry of a person's ``sources:`` list.

    ``value`` is a bare string (``@user@host`` or an http(s) URL) or a mapping with exactly
    one of ``feed:``, ``blog:``, ``mastodon:``. Raises ConfigError with ``key`` (extended by
    the offending sub-key) and ``line`` (or the sub-key's own line, when the mapping came
    from the YAML loader).
    """
    try:
        if isinstance(value, str):
            return _source_from_text(str(value), person, line)
        if isinstance(value, Mapping):
            return _source_from_mapping(value, person, line)
        raise _Invalid(
            "expected a feed URL, a Mastodon handle like '@user@host', or a mapping such "
            f"as 'feed: URL', got {_describe(value)}"
        )
    except _Invalid as problem:
        raise ConfigError(
            problem.message, file=file, line=problem.line or line, key=key + problem.suffix
        ) from None


def slugify(text: str) -> str:
    """A URL-safe name for ``text``: lowercase ASCII words joined by single hyphens.

    Accents are folded (``Zoë Ångström`` → ``zoe-angstrom``); text with no Latin letters or
    digits at all gets a short stable hash instead, so a slug is never empty.
    """
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > _SLUG_MAX:
        slug = slug[:_SLUG_MAX].rstrip("-")
    if slug:
        return slug
    return hashlib.blake2s(text.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()


def starter_text() -> str:
    """The commented sources.yaml that ``pln init`` writes: the repository's own."""
    here = Path(__file__).resolve().parent
    candidates = (
        here / "templates" / "init" / CONFIG_NAME,  # inside an installed wheel
        here.parent / CONFIG_NAME,  # the repository root, in an editable install
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(f"this installation of pln lacks its starter {CONFIG_NAME}")


# ── reading the file ─────────────────────────────────────────────────────────────────────


def _init_command(site_dir: Path) -> str:
    return "pln init" if str(site_dir) in ("", ".") else f"pln init {shlex.quote(str(site_dir))}"


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        init = _init_command(path.parent)
        raise ConfigError(
            f"the file does not exist; run '{init}' to create a commented {CONFIG_NAME}",
            file=path,
        ) from error
    except IsADirectoryError as error:
        message = f"this is a directory, not a {CONFIG_NAME} file"
        raise ConfigError(message, file=path) from error
    except OSError as error:
        message = f"the file cannot be read: {error.strerror or error}"
        raise ConfigError(message, file=path) from error
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        bad = raw[error.start]
        raise ConfigError(
            f"the file is not UTF-8 text (byte 0x{bad:02x}); save it as UTF-8",
            file=path,
            line=line,
        ) from error


def _parse_yaml(text: str, path: Path) -> object:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    try:
        return YAML(typ="rt").load(text)
    except DuplicateKeyError as error:
        raise ConfigError(
            _duplicate_key_message(error), file=path, line=_mark_line(error)
        ) from error
    except MarkedYAMLError as error:
        # ── G (review finding 11) ── the fix for a common slip, beside the reader's words
        line = _mark_line(error)
        hint = yaml_hint(str(error.problem or error.context or ""), text, line)
        message = _yaml_message(error) + (f"; {hint}" if hint else "")
        raise ConfigError(message, file=path, line=line) from error
    except ReaderError as error:
        line = text.count("\n", 0, max(error.position, 0)) + 1
        character = error.character
        shown = f"U+{character:04X}" if isinstance(character, int) else repr(character)
        message = f"invalid YAML: the character {shown} is not allowed in a YAML file"
        raise ConfigError(message, file=path, line=line) from error
    except YAMLError as error:
        raise ConfigError(f"invalid YAML: {error}", file=path) from error
    except RecursionError as error:
        raise ConfigError("invalid YAML: nested too deeply to read", file=path) from error
    except (ValueError, TypeError, OverflowError) as error:
        # An explicit tag the constructor cannot honour, such as `!!int abc`.
        raise ConfigError(f"invalid YAML: {error}", file=path) from error
    except (IndexError, KeyError, AttributeError) as error:
        # ruamel.yaml's own slip on an odd plain scalar (`name: -_` resolves as an integer
        # and its constructor indexes an empty string): a file pln cannot read, not a crash.
        raise ConfigError(
            f"invalid YAML: the YAML reader failed on a value ({error}); "
            "put unusual values in quotes",
            file=path,
        ) from error


def _mark_line(error: MarkedYAMLError) -> int | None:
    mark = error.problem_mark or error.context_mark
    return None if mark is None else int(mark.line) + 1


def _yaml_message(error: MarkedYAMLError) -> str:
    problem = error.problem or error.context or "cannot be parsed"
    mark, context_mark = error.problem_mark, error.context_mark
    column = "" if mark is None else f" at column {mark.column + 1}"
    context = ""
    if error.context and error.problem:
        started = context_mark is not None and (mark is None or context_mark.line != mark.line)
        where = f" from line {context_mark.line + 1}" if started and context_mark else ""
        context = f" ({error.context}{where})"
    if "'\\t'" in problem:
        context += "; indent with spaces, not tabs"
    return f"invalid YAML{column}: {problem}{context}"


def _duplicate_key_message(error: DuplicateKeyError) -> str:
    # ruamel's text quotes both values; one of them could be a secret, so name the key only.
    found = re.search(r'found duplicate key "(.*?)" with value', error.problem or "")
    key = found.group(1) if found else "?"
    return f"invalid YAML: the key {key!r} appears twice in the same mapping"


# ── the fast reader: libyaml's events, for files both readers see alike ──────────────────
#
# ruamel.yaml's round-trip loader is pure Python; libyaml (PyYAML's C parser) reads the same
# file 30× faster. Only the parser's events are used: the values are resolved here by YAML
# 1.2's rules as ruamel.yaml applies them, and wherever the two could differ (YAML 1.1's
# yes/no/on/off, octal, sexagesimal and dates; floats beyond plain decimals; tags, anchors,
# merges, directives, duplicate keys, NEL/LS/PS line breaks) the fast reader declines and
# ruamel.yaml reads the file. The containers answer `.lc.key()`, `.lc.item()` and `.lc.line`
# as ruamel.yaml's do, so a Config carries the same line numbers either way.


class _NotFast(Exception):
    """The fast reader cannot vouch for reading this text as ruamel.yaml does."""


# libyaml treats these as line breaks (YAML 1.1), YAML 1.2 does not: line numbers could differ.
_OTHER_BREAKS = re.compile("[\x85\u2028\u2029]")
_PLAIN_CONSTANTS: dict[str, object] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_PLAIN_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+")
# A plain scalar starting so may be a number, a date, a merge or a value key in one of the two
# YAML versions; these words are booleans in YAML 1.1 only.
_UNSURE_START = frozenset("0123456789+-.=<~")
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off"})


class _Positions:
    """Where a container and its keys or items start (0-based line, column), as ruamel's `lc`."""

    __slots__ = ("col", "line", "places")

    def __init__(self, line: int, column: int) -> None:
        self.line = line
        self.col = column
        self.places: dict[object, tuple[int, int]] = {}

    def key(self, key: object) -> tuple[int, int]:
        return self.places[key]

    def item(self, index: int) -> tuple[int, int]:
        return self.places[index]


class _PlacedMap(dict[Any, Any]):
    __slots__ = ("lc",)

    def __init__(self, lc: _Positions) -> None:
        super().__init__()
        self.lc = lc


class _PlacedList(list[Any]):
    __slots__ = ("lc",)

    def __init__(self, lc: _Positions) -> None:
        super().__init__()
        self.lc = lc


def _load_fast(text: str) -> object:
    """The document as ruamel.yaml would load it, or `_NotFast`."""
    if _yaml is None or _libyaml is None or _OTHER_BREAKS.search(text):
        raise _NotFast
    parser = _libyaml.CParser(text)
    try:
        return _EventReader().read(parser)
    except _yaml.YAMLError as error:
        raise _NotFast from error
    finally:
        parser.dispose()


def _plain_value(text: str) -> object:
    if text in _PLAIN_CONSTANTS:
        return _PLAIN_CONSTANTS[text]
    if _PLAIN_INT.fullmatch(text):
        return int(text)
    if _PLAIN_DECIMAL.fullmatch(text):
        return float(text)
    if text[0] in _UNSURE_START or text.lower() in _YAML11_WORDS:
        raise _NotFast
    return text


class _EventReader:
    """Builds the document from parser events: one container per start event."""

    def __init__(self) -> None:
        self.open: list[_PlacedMap | _PlacedList] = []
        self.pending_keys: list[object] = []  # per open container: its key awaiting a value
        self.root: object = None
        self.documents = 0

    def read(self, parser: Any) -> object:
        assert _yaml is not None
        events = _yaml.events
        while True:
            event = parser.get_event()
            kind = type(event)
            if kind is events.ScalarEvent:
                self.plain_node(event)
                value = _plain_value(event.value) if event.implicit[0] else event.value
                self.add(value, event.start_mark)
            elif kind is events.MappingStartEvent or kind is events.SequenceStartEvent:
                self.plain_node(event)
                lc = _Positions(event.start_mark.line, event.start_mark.column)
                container = _PlacedMap(lc) if kind is events.MappingStartEvent else _PlacedList(lc)
                self.add(container, event.start_mark)
                self.open.append(container)
                self.pending_keys.append(_NO_KEY)
            elif kind is events.MappingEndEvent or kind is events.SequenceEndEvent:
                self.open.pop()
                self.pending_keys.pop()
            elif kind is events.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1 or event.version is not None or event.tags:
                    raise _NotFast  # more than one document, or %YAML / %TAG directives
            elif kind is events.StreamEndEvent:
                return self.root
            elif kind is events.AliasEvent:
                raise _NotFast

    @staticmethod
    def plain_node(event: Any) -> None:
        if event.anchor is not None or event.tag is not None:
            raise _NotFast  # ruamel.yaml gives anchored and tagged values types of their own

    def add(self, value: object, mark: Any) -> None:
        if not self.open:
            self.root = value
            return
        container = self.open[-1]
        if isinstance(container, _PlacedList):
            container.lc.places[len(container)] = (mark.line, mark.column)
            container.append(value)
            return
        key = self.pending_keys[-1]
        if key is _NO_KEY:
            if isinstance(value, dict | list) or value in container:
                raise _NotFast  # a complex key, or a duplicate: ruamel.yaml's error to give
            container.lc.places[value] = (mark.line, mark.column)
            self.pending_keys[-1] = value
        else:
            container[key] = value
            self.pending_keys[-1] = _NO_KEY


_NO_KEY = object()


# ── describing and converting values ─────────────────────────────────────────────────────


class _Invalid(Exception):
    """A value that cannot be used. ``suffix`` extends the key path (``.full_text``,
    ``[2]``) and ``line`` overrides the caller's line when the problem is deeper down."""

    def __init__(self, message: str, *, suffix: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suffix = suffix
        self.line = line


def _is_bool(value: object) -> bool:
    # ruamel gives an anchored boolean as ScalarBoolean, an int subclass.
    return isinstance(value, bool) or _is_ruamel(value, "ruamel.yaml.scalarbool", "ScalarBoolean")


def _is_tagged(value: object) -> bool:
    return _is_ruamel(value, "ruamel.yaml.comments", "TaggedScalar")


def _is_ruamel(value: object, module_name: str, class_name: str) -> bool:
    """Whether ``value`` is of a ruamel.yaml class; never, while ruamel.yaml is not loaded."""
    module = sys.modules.get(module_name)
    return module is not None and isinstance(value, getattr(module, class_name))


def _describe(value: object) -> str:
    """The value as the user wrote it, short, for 'got ...' in messages."""
    if value is None:
        return "nothing"
    if _is_bool(value):
        return "true" if value else "false"
    if isinstance(value, str):
        text = str(value)
        return repr(text if len(text) <= 60 else text[:57] + "...")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return f"a date and time ({value.isoformat()})"
    if isinstance(value, date):
        return f"a date ({value.isoformat()})"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if _is_tagged(value):
        return f"a value tagged {getattr(value, 'tag', '')}"
    return f"a {type(value).__name__} value"


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def _unknown_key_message(key: object, allowed: Sequence[str]) -> str:
    if not isinstance(key, str):
        return f"unknown key {_describe(key)} (expected one of: {', '.join(allowed)})"
    hint = _did_you_mean(key, allowed) or f" (expected one of: {', '.join(allowed)})"
    return f"unknown key {str(key)!r}{hint}"


def _text(value: object) -> str:
    """Non-empty text; numbers and dates are refused rather than guessed at."""
    if not isinstance(value, str) or _is_tagged(value):
        hint = ""
        if _is_bool(value) or isinstance(value, int | float | date):
            hint = " (put it in quotes to use it as text)"
        raise _Invalid(f"expected text, got {_describe(value)}{hint}")
    text = str(value).strip()
    if not text:
        raise _Invalid("expected text, got an empty string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # "\ud800" in a double-quoted scalar: half of a character, which nothing can print.
        raise _Invalid("contains an escape of half a character (a lone surrogate)") from None
    return text


def _optional_text(value: object) -> str:
    if isinstance(value, str) and not value.strip():
        return ""
    return _text(value)


def _one_line(value: object) -> str:
    text = _text(value)
    if "\n" in text or "\r" in text:
        raise _Invalid("must fit on one line")
    return text


def _whole(value: object, *, minimum: int = 1) -> int:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)  # `max_bytes: 1e7` means ten million
    if _is_bool(value) or not isinstance(value, int):
        raise _Invalid(f"expected a whole number, got {_describe(value)}")
    if value < minimum:
        wanted = "a positive whole number" if minimum == 1 else f"a whole number ≥ {minimum}"
        raise _Invalid(f"expected {wanted}, got {value}")
    return int(value)


def _positive_whole(value: object) -> int:
    return _whole(value)


def _seconds(value: object) -> float:
    if _is_bool(value) or not isinstance(value, int | float):
        raise _Invalid(f"expected a number of seconds, got {_describe(value)}")
    if not math.isfinite(value) or value <= 0:
        raise _Invalid(f"expected a positive number of seconds, got {_describe(value)}")
    return float(value)


def _flag(value: object) -> bool:
    if not _is_bool(value):
        raise _Invalid(f"expected true or false, got {_describe(value)}")
    return bool(value)


def _choice(kind: type[E]) -> Callable[[object], E]:
    options = [member.value for member in kind]

    def convert(value: object) -> E:
        if isinstance(value, str) and value.strip().lower() in options:
            return kind(value.strip().lower())
        hint = _did_you_mean(str(value), options) if isinstance(value, str) else ""
        raise _Invalid(f"expected one of {', '.join(options)}, got {_describe(value)}{hint}")

    return convert


def _port(value: object) -> int:
    port = _whole(value)
    if port > 65535:
        raise _Invalid(f"expected a port number from 1 to 65535, got {port}")
    return port


def _timezone(value: object) -> str:
    name = _text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        hint = _did_you_mean(name, sorted(available_timezones()))
        raise _Invalid(
            f"unknown time zone {name!r}{hint}; use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from None
    return name


def _language(value: object) -> str:
    tag = _text(value)
    if not _LANGUAGE.fullmatch(tag):
        raise _Invalid(f"expected a language tag such as 'en' or 'pt-BR', got {tag!r}")
    return tag


def _slug(value: object) -> str:
    slug = _text(value)
    if not _SLUG.fullmatch(slug):
        raise _Invalid(
            f"{slug!r} is not a slug: use lowercase letters, digits and single hyphens, "
            f"such as {slugify(slug)!r}"
        )
    return slug


def _relative_path(value: object) -> Path:
    text = _text(value)
    if "\x00" in text:
        raise _Invalid("a path cannot contain a NUL character")
    if text != "~" and not text.startswith("~/"):
        return Path(text)  # ~user is left alone: it is rare, and a lookup can fail oddly
    try:
        return Path(text).expanduser()
    except RuntimeError:
        raise _Invalid(f"cannot expand {text!r}: no home directory is known") from None


def _env_name(value: object) -> str:
    name = _text(value)
    if not _ENV_NAME.fullmatch(name):
        raise _Invalid(f"expected the name of an environment variable, got {name!r}")
    return name


def _host(value: object) -> str:
    host = _text(value)
    if not _HOST_NAME.fullmatch(host):
        raise _Invalid(f"expected a host name such as 'smtp.example.org', got {host!r}")
    return host


def _address(value: object) -> str:
    text = _one_line(value)
    _, address = parseaddr(text)
    local, at, domain = address.rpartition("@")
    if not (at and local and domain):
        raise _Invalid(f"{text!r} is not an email address")
    return text


def _addresses(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (_address(value),)
    if not isinstance(value, list):
        raise _Invalid(f"expected an email address or a list of them, got {_describe(value)}")
    if not value:
        raise _Invalid("expected at least one address, got an empty list")
    addresses = []
    for index, item in enumerate(value):
        try:
            addresses.append(_address(item))
        except _Invalid as problem:
            line = _item_line(value, index)
            raise _Invalid(problem.message, suffix=f"[{index}]", line=line) from None
    return tuple(addresses)


# What email.subject may name: the site's title, the digest's day, its number of posts.
SUBJECT_FIELDS = ("title", "date", "count")


def _subject(value: object) -> str:
    subject = _one_line(value)
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(subject) if name is not None]
    except ValueError as error:
        raise _Invalid(
            f"{subject!r} is not a valid template ({error}); write {{{{ and }}}} for braces"
        ) from None
    for name in fields:
        if name not in SUBJECT_FIELDS:
            raise _Invalid(
                f"{{{name}}} is not a placeholder; use {{title}}, {{date}} or {{count}}"
            )
    return subject


# ── URLs and sources ─────────────────────────────────────────────────────────────────────


def _http_url(value: object) -> str:
    return _canonical_url(_text(value))


def _base_url(value: object) -> str:
    url = _http_url(value)
    parts = urlsplit(url)
    if parts.query:
        raise _Invalid(f"{url!r} has a query; a base URL names a directory")
    # Links are joined onto it, and urljoin drops a last path segment without a slash.
    return url if url.endswith("/") else url + "/"


def _canonical_url(text: str) -> str:
    """``text`` as an http(s) URL with its scheme and host in lower case, no default port and
    no fragment; anything else is refused with a hint."""
    if _NOT_IN_URL.search(text):
        raise _Invalid(f"{text!r} is not a URL: it contains a space or a control character")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise _Invalid(f"{text!r} is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        if "://" not in text and _LOOKS_LIKE_HOST.fullmatch(text):
            raise _Invalid(f"{text!r} is not a URL: write it in full, as 'https://{text}'")
        raise _Invalid(f"{text!r} is not an http(s) URL: only http:// and https:// can be fetched")
    host = parts.hostname
    if not host:
        raise _Invalid(f"{text!r} has no host name")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rpartition("@")[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _mastodon_url(text: str) -> str:
    """The profile URL of a Mastodon account given as ``@user@host`` or a profile URL."""
    if text.startswith("@"):
        return _url_from_handle(text)
    url = _canonical_url(text)
    parts = urlsplit(url)
    found = _PROFILE_PATH.fullmatch(parts.path)
    if found is None or parts.query:
        raise _Invalid(
            f"{text!r} is not a Mastodon profile URL; write it as 'https://host/@user' "
            "or as '@user@host'"
        )
    if found["host"]:
        # https://here.example/@bob@there.example is this server's view of a remote account.
        return _url_from_handle(f"@{found['user']}@{found['host']}")
    user = found["user"] or found["local"]
    return f"{parts.scheme}://{parts.netloc}/@{user}"


def _url_from_handle(handle: str) -> str:
    found = _HANDLE.fullmatch(handle)
    if found is None:
        if "@" not in handle[1:]:
            raise _Invalid(
                f"{handle!r} names no server: write the whole handle, such as "
                f"'{handle}@mastodon.example'"
            )
        raise _Invalid(f"{handle!r} is not a Mastodon handle like '@user@host'")
    home = _canonical_url(f"https://{found['host']}/")
    return f"{home}@{found['user']}"


def _source_from_text(text: str, person: str, line: int | None) -> SourceConfig:
    text = text.strip()
    if not text:
        raise _Invalid("expected a feed URL or a Mastodon handle, got an empty string")
    if text.startswith("@"):
        return SourceConfig(_url_from_handle(text), SourceKind.MASTODON, person, line=line)
    if "://" not in text and re.fullmatch(r"[^@\s/]+@[^@\s/]+\.[^@\s/]+", text):
        raise _Invalid(
            f"{text!r} looks like an email address; a Mastodon handle starts with '@': '@{text}'"
        )
    if "://" not in text and not _LOOKS_LIKE_HOST.fullmatch(text):
        raise _Invalid(f"{text!r} is neither a URL nor a Mastodon handle like '@user@host'")
    return SourceConfig(_canonical_url(text), SourceKind.FEED, person, line=line)


def _source_from_mapping(entry: Mapping[Any, Any], person: str, line: int | None) -> SourceConfig:
    for key in entry:
        if key not in _SOURCE_KEYS:
            raise _Invalid(
                _unknown_key_message(key, _SOURCE_KEYS),
                suffix=f".{key}",
                line=_key_line(entry, key),
            )
    kinds = [name for name in _SOURCE_KINDS if name in entry]
    if not kinds:
        raise _Invalid("a source mapping needs one of feed:, blog: or mastodon:")
    if len(kinds) > 1:
        raise _Invalid(
            f"a source has one kind, but this one has {kinds[0]}: and {kinds[1]}: "
            "(list them as two sources)",
            line=_key_line(entry, kinds[1]),
        )
    kind_key = kinds[0]
    kind = _SOURCE_KINDS[kind_key]

    def located(problem: _Invalid, key: str) -> _Invalid:
        return _Invalid(problem.message, suffix=f".{key}", line=_key_line(entry, key))

    for key in entry:
        if key != kind_key and key not in _SOURCE_OPTIONS[kind]:
            takes = " and ".join(_SOURCE_OPTIONS[kind])
            problem = _Invalid(f"does not apply to a {kind_key}: source (it takes only {takes})")
            raise located(problem, key)
    try:
        text = _text(entry[kind_key])
        url = _mastodon_url(text) if kind is SourceKind.MASTODON else _canonical_url(text)
    except _Invalid as problem:
        raise located(problem, kind_key) from None
    if kind is SourceKind.MASTODON:
        replies = _mastodon_flag(entry, "replies", _SOURCE_DEFAULTS.replies, located)
        boosts = _mastodon_flag(entry, "boosts", _SOURCE_DEFAULTS.boosts, located)
        return SourceConfig(url, kind, person, replies=replies, boosts=boosts, line=line)
    full_text = _full_text_option(entry, kind, located)
    return SourceConfig(url, kind, person, full_text=full_text, line=line)


def _mastodon_flag(
    entry: Mapping[Any, Any],
    key: str,
    default: bool,
    located: Callable[[_Invalid, str], _Invalid],
) -> bool:
    if entry.get(key) is None:
        return default
    try:
        return _flag(entry[key])
    except _Invalid as problem:
        raise located(problem, key) from None


def _full_text_option(
    entry: Mapping[Any, Any], kind: SourceKind, located: Callable[[_Invalid, str], _Invalid]
) -> FullText | None:
    value = entry.get("full_text")
    try:
        full_text = None if value is None else _choice(FullText)(value)
    except _Invalid as problem:
        raise located(problem, "full_text") from None
    if kind is not SourceKind.BLOG:
        return full_text
    if full_text not in (None, FullText.ALWAYS):
        refusal = _Invalid("a blog: source always extracts the full text; use feed: to choose")
        raise located(refusal, "full_text")
    return FullText.ALWAYS


def _source_identity(source: SourceConfig) -> str:
    """Two sources are the same when their URLs differ only in scheme, a trailing slash, or
    (for Mastodon accounts, whose names ignore case) letter case."""
    parts = urlsplit(source.url)
    path = parts.path.rstrip("/") or "/"
    identity = f"{parts.netloc}{path}" + (f"?{parts.query}" if parts.query else "")
    return identity.lower() if source.kind is SourceKind.MASTODON else identity


# ── where things are in the file ─────────────────────────────────────────────────────────


def _key_line(mapping: object, key: object) -> int | None:
    try:
        return int(mapping.lc.key(key)[0]) + 1  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError, IndexError):
        return None  # a plain dict, or a key that came in through a `<<:` merge


def _item_line(sequence: object, index: int) -> int | None:
    try:
        return int(sequence.lc.item(index)[0]) + 1  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def _own_line(node: object) -> int | None:
    line = getattr(getattr(node, "lc", None), "line", None)
    return line + 1 if isinstance(line, int) else None


@dataclass
class _Problems:
    file: Path
    found: list[ConfigError] = field(default_factory=list)

    def add(self, message: str, *, line: int | None, key: str | None) -> None:
        self.found.append(ConfigError(message, file=self.file, line=line, key=key))

    def raise_first(self) -> None:
        if not self.found:
            return
        ordered = sorted(self.found, key=lambda problem: problem.line or 0)
        first, rest = ordered[0], ordered[1:]
        for problem in rest[:_MAX_NOTES]:
            first.add_note(str(problem))
        if len(rest) > _MAX_NOTES:
            first.add_note(f"... and {len(rest) - _MAX_NOTES} more problems")
        raise first


@dataclass
class _Node:
    """A mapping from the file with its dotted path and line, reading values out of it
    and recording (instead of raising) what is wrong, so that checking can go on."""

    data: Mapping[Any, Any]
    path: str  # "" for the top of the file
    line: int | None
    problems: _Problems
    allowed: Sequence[str]  # the keys this mapping may have

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def line_of(self, key: object) -> int | None:
        return _key_line(self.data, key) or self.line

    def report(self, message: str, key: str | None = None, line: int | None = None) -> None:
        where = self.key_path(key) if key else self.path or None
        self.problems.add(message, line=line or self.line_of(key), key=where)

    def check_keys(self, *, refused: Sequence[str] = ()) -> None:
        """Report unknown keys; ``refused`` ones are reported elsewhere and never suggested."""
        for key in self.data:
            if key not in self.allowed and key not in refused:
                where = self.key_path(key if isinstance(key, str) else _describe(key))
                message = _unknown_key_message(key, self.allowed)
                self.problems.add(message, line=self.line_of(key), key=where)

    def get(self, key: str, convert: Callable[[object], T], default: T) -> T:
        value = self.data.get(key)
        if value is None:  # absent, or present with nothing after the colon
            return default
        try:
            return convert(value)
        except _Invalid as problem:
            self.report(problem.message, key + problem.suffix, problem.line or self.line_of(key))
            return default

    def misspelt(self, key: str) -> bool:
        """Whether an unknown key looks like ``key``: its 'did you mean' says enough."""
        return any(
            isinstance(other, str)
            and other not in self.allowed
            and difflib.get_close_matches(other.lower(), [key], n=1, cutoff=0.6)
            for other in self.data
        )

    def report_missing(self, key: str, why: str = "") -> None:
        if not self.misspelt(key):
            self.report(f"missing required key {key!r}{why}")

    def require(self, key: str, convert: Callable[[object], T]) -> T | None:
        if self.data.get(key) is None:
            if key in self.data:
                self.report("has no value, but it is required", key)
            else:
                self.report_missing(key)
            return None
        return self.get(key, convert, None)

    def section(self, key: str, allowed: Sequence[str], *, required: bool = False) -> _Node | None:
        """The mapping under ``key``; None when it is absent (reported if required)."""
        if key not in self.data:
            if required:
                self.report_missing(key)
            return None
        value = self.data[key]
        if value is None:  # a section whose keys are all commented out
            if not required:
                return None  # as if absent: the defaults, or no email at all
            value = {}
        if not isinstance(value, Mapping):
            self.report(f"expected a mapping of keys, got {_describe(value)}", key)
            return None
        return _Node(value, self.key_path(key), self.line_of(key), self.problems, allowed)

    def items(self, key: str, what: str) -> Iterator[tuple[int, object, int | None]]:
        """(index, item, line) of the list under ``key``; nothing when absent or empty."""
        value = self.data.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            self.report(
                f"expected a list of {what} (each item starts with '- '), got {_describe(value)}",
                key,
            )
            return
        for index, item in enumerate(value):
            yield index, item, _item_line(value, index) or self.line_of(key)


# ── the sections ─────────────────────────────────────────────────────────────────────────


class _ConfigReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.site_dir = path.absolute().parent
        self.problems = _Problems(path)

    def read(self, data: object) -> Config:
        if data is None:
            raise ConfigError(
                "the file is empty; it needs at least a site: section with a title", file=self.path
            )
        if not isinstance(data, Mapping):
            raise ConfigError(
                "expected a mapping of sections (site:, fetch:, topics:, people:, email:), "
                f"got {_describe(data)}",
                file=self.path,
                line=_own_line(data) or 1,
            )
        top = _Node(data, "", None, self.problems, _SECTIONS)
        top.check_keys()
        site = self.read_site(top)
        fetch = self.read_fetch(top)
        topics, topic_names = self.read_topics(top)
        people = self.read_people(top, topic_names)
        email = self.read_email(top)
        self.problems.raise_first()
        assert site is not None  # a missing title was reported above
        return Config(
            path=self.path.absolute(),
            site=site,
            fetch=fetch,
            topics=tuple(topics),
            people=tuple(people),
            email=email,
        )

    def read_site(self, top: _Node) -> SiteConfig | None:
        site = top.section("site", _SITE_KEYS, required=True)
        if site is None:
            return None
        site.check_keys()
        title = site.require("title", _text)
        defaults = _SITE_DEFAULTS
        config = SiteConfig(
            title=title or "",
            description=site.get("description", _optional_text, defaults.description),
            base_url=site.get("base_url", _base_url, defaults.base_url),
            timezone=site.get("timezone", _timezone, defaults.timezone),
            language=site.get("language", _language, defaults.language),
            home_days=site.get("home_days", _positive_whole, defaults.home_days),
            excerpt_words=site.get("excerpt_words", _positive_whole, defaults.excerpt_words),
            database=site.get("database", _relative_path, defaults.database),
            output=site.get("output", _relative_path, defaults.output),
        )
        self.check_places(site, config)
        return config if title is not None else None

    def check_places(self, site: _Node, config: SiteConfig) -> None:
        """Every build replaces output/, so it must hold neither the site nor the database."""
        site_dir = Path(os.path.normpath(self.site_dir))
        output = Path(os.path.normpath(self.site_dir / config.output))
        database = Path(os.path.normpath(self.site_dir / config.database))
        if site_dir == output or site_dir.is_relative_to(output):
            site.report(
                f"{str(config.output)!r} is the site directory or holds it, and every build "
                "replaces the output directory",
                "output",
            )
        elif database.is_relative_to(output):
            site.report(
                f"{str(config.database)!r} is inside the output directory "
                f"{str(config.output)!r}, which every build replaces",
                "database",
            )

    def read_fetch(self, top: _Node) -> FetchConfig:
        fetch = top.section("fetch", _FETCH_KEYS)
        if fetch is None:
            return _FETCH_DEFAULTS
        fetch.check_keys()
        defaults = _FETCH_DEFAULTS
        return FetchConfig(
            concurrency=fetch.get("concurrency", _positive_whole, defaults.concurrency),
            per_host=fetch.get("per_host", _positive_whole, defaults.per_host),
            timeout=fetch.get("timeout", _seconds, defaults.timeout),
            max_bytes=fetch.get("max_bytes", _positive_whole, defaults.max_bytes),
            full_text=fetch.get("full_text", _choice(FullText), defaults.full_text),
        )

    def read_topics(self, top: _Node) -> tuple[list[TopicConfig], dict[str, str]]:
        """The topics, and every slug seen mapped to its topic's name (a topic with other
        problems still counts, so people naming it get no second, misleading error)."""
        topics: list[TopicConfig] = []
        slugs: dict[str, tuple[str, int | None]] = {}  # slug → (key path, line)
        names: dict[str, str] = {}
        for index, item, line in top.items("topics", "topics"):
            path = f"topics[{index}]"
            if not isinstance(item, Mapping):
                self.problems.add(
                    f"expected a mapping with name: and match:, got {_describe(item)}",
                    line=line,
                    key=path,
                )
                continue
            topic = _Node(item, path, line, self.problems, _TOPIC_KEYS)
            topic.check_keys()
            name = topic.require("name", _text)
            match = topic.require("match", _text)
            slug_key = "slug" if item.get("slug") is not None else "name"
            slug = topic.get("slug", _slug, None) or (slugify(name) if name else None)
            if slug is None or name is None:
                continue
            if slug in slugs:
                other_path, other_line = slugs[slug]
                topic.report(
                    f"duplicate topic slug {slug!r} (also {other_path} at line {other_line})"
                    + ("" if slug_key == "slug" else "; give one of them a slug:"),
                    slug_key,
                )
                continue
            slugs[slug] = (path, line)
            names[slug] = name
            if match is not None:
                topics.append(
                    TopicConfig(
                        name=name,
                        slug=slug,
                        match=match,
                        line=line,
                        match_line=topic.line_of("match"),  # ── G (review finding 11)
                    )
                )
        return topics, names

    def read_people(self, top: _Node, topic_names: dict[str, str]) -> list[PersonConfig]:
        people: list[PersonConfig] = []
        names: dict[str, int | None] = {}  # casefolded name → line
        slugs: dict[str, tuple[str, int | None]] = {}  # slug → (name, line)
        sources: dict[str, tuple[str, int | None]] = {}  # identity → (key path, line)
        for index, item, line in top.items("people", "people"):
            if not isinstance(item, Mapping):
                self.problems.add(
                    f"expected a mapping with name: and sources:, got {_describe(item)}",
                    line=line,
                    key=f"people[{index}]",
                )
                continue
            person = _Node(item, f"people[{index}]", line, self.problems, _PERSON_KEYS)
            name = person.require("name", _text)
            unique = name is not None and self.claim_name(person, name, names)
            if unique and name is not None:
                person.path = f"people[{name}]"  # easier to find than an index
            person.check_keys()
            slug = self.person_slug(person, name, slugs) if unique else None
            url = person.get("url", _http_url, None)
            no_topics: tuple[str, ...] = ()
            topics = person.get("topics", lambda v: _topic_refs(v, topic_names), no_topics)
            found = self.read_sources(person, name or "", sources)
            if unique and name is not None and slug is not None and found:
                people.append(
                    PersonConfig(
                        name=name,
                        slug=slug,
                        sources=found,
                        url=url,
                        topics=topics,
                        line=line,
                    )
                )
        return people

    def claim_name(self, person: _Node, name: str, names: dict[str, int | None]) -> bool:
        key = name.casefold()
        if key in names:
            person.report(f"duplicate person {name!r} (first at line {names[key]})", "name")
            return False
        names[key] = person.line
        return True

    def person_slug(
        self, person: _Node, name: str | None, slugs: dict[str, tuple[str, int | None]]
    ) -> str | None:
        slug = person.get("slug", _slug, None) or (slugify(name) if name else None)
        if slug is None or name is None:
            return None
        if slug in slugs:
            other, other_line = slugs[slug]
            person.report(
                f"the slug {slug!r} is taken by {other!r} (line {other_line}); "
                "give one of them a different slug:",
                "slug" if person.data.get("slug") is not None else "name",
            )
            return None
        slugs[slug] = (name, person.line)
        return slug

    def read_sources(
        self, person: _Node, name: str, seen: dict[str, tuple[str, int | None]]
    ) -> tuple[SourceConfig, ...]:
        if person.data.get("sources") is None:
            if "sources" in person.data:
                person.report("a person needs at least one source", "sources")
            else:
                person.report_missing("sources", " (a person needs at least one)")
            return ()
        entries = list(person.items("sources", "sources"))
        if not entries and isinstance(person.data["sources"], list):
            person.report("a person needs at least one source", "sources")
        found: list[SourceConfig] = []
        for index, entry, line in entries:
            key = f"{person.path}.sources[{index}]"
            try:
                source = parse_source(entry, name, line, key=key, file=self.path)
            except ConfigError as problem:
                self.problems.found.append(problem)
                continue
            identity = _source_identity(source)
            if identity in seen:
                other_key, other_line = seen[identity]
                self.problems.add(
                    f"{source.url!r} is listed twice: also at line {other_line} ({other_key})",
                    line=line,
                    key=key,
                )
                continue
            seen[identity] = (key, line)
            found.append(source)
        return tuple(found)

    def read_email(self, top: _Node) -> EmailConfig | None:
        email = top.section("email", _EMAIL_KEYS)
        if email is None:
            return None
        email.check_keys()
        to = email.require("to", _addresses)
        sender = email.require("from", _address)
        subject = email.get("subject", _subject, _EMAIL_DEFAULTS.subject)
        send_empty = email.get("send_empty", _flag, _EMAIL_DEFAULTS.send_empty)
        smtp = self.read_smtp(email)
        if to is None or sender is None or smtp is None:
            return None
        return EmailConfig(to=to, sender=sender, smtp=smtp, subject=subject, send_empty=send_empty)

    def read_smtp(self, email: _Node) -> SmtpConfig | None:
        smtp = email.section("smtp", _SMTP_KEYS, required=True)
        if smtp is None:
            return None
        if "password" in smtp.data:
            smtp.report(
                "a password does not belong in this file: delete it, and put it in the "
                "environment variable that password_env names (for example PLN_SMTP_PASSWORD)",
                "password",
            )
        smtp.check_keys(refused=["password"])
        host = smtp.require("host", _host)
        security = smtp.get("security", _choice(SmtpSecurity), _SMTP_DEFAULTS.security)
        default_port = _SSL_PORT if security is SmtpSecurity.SSL else _SMTP_DEFAULTS.port
        config = SmtpConfig(
            host=host or "",
            port=smtp.get("port", _port, default_port),
            security=security,
            username=smtp.get("username", _one_line, None),
            password_env=smtp.get("password_env", _env_name, None),
        )
        return config if host is not None else None


def _topic_refs(value: object, known: dict[str, str]) -> tuple[str, ...]:
    """A person's ``topics:``: slugs of topics defined under ``topics:``."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _Invalid(f"expected a list of topic slugs, got {_describe(value)}")
    slugs: list[str] = []
    for index, item in enumerate(items):
        try:
            slug = _known_topic(item, known)
        except _Invalid as problem:
            line = _item_line(items, index) if items is value else None
            suffix = f"[{index}]" if items is value else ""
            raise _Invalid(problem.message, suffix=suffix, line=line) from None
        if slug not in slugs:
            slugs.append(slug)
    return tuple(slugs)


def _known_topic(item: object, known: dict[str, str]) -> str:
    text = _text(item)
    if text in known:
        return text
    if not known:
        raise _Invalid(f"unknown topic {text!r}: no topics are defined under topics:")
    by_name = {name.casefold(): slug for slug, name in known.items()}
    if text.casefold() in by_name:
        slug = by_name[text.casefold()]
        raise _Invalid(f"unknown topic {text!r}: name a topic by its slug, {slug!r}")
    hint = _did_you_mean(text, list(known)) or f" (the topics are: {', '.join(known)})"
    raise _Invalid(f"unknown topic {text!r}{hint}")


# ── editing sources.yaml ─────────────────────────────────────────────────────────────────
#
# `pln import`, `pln add` and `pln sources --fix-redirects` change the user's own file, so
# they splice: ruamel.yaml's round-trip loader says where each person, list and URL sits,
# ruamel.yaml renders the new entries, and the text changes only there. Every other byte
# (comments, blank lines, quoting, alignment) stays as the user wrote it; dumping the whole
# document instead would move trailing comments (such as a commented-out email: section)
# and blank lines. Where a splice has no place to go (a list in flow style, `[a, b]`), the
# round-trip document is changed and dumped whole. Either way the new text is read back with
# parse_config and must hold exactly the sources intended, or nothing is written.


def read_config_text(path: Path) -> str:
    """The text of ``path`` (a ConfigError when it cannot be read), for editing."""
    return _read_text(path)


def add_people(text: str, path: Path, people: Sequence[NewPerson]) -> SourcesEdit:
    """Add ``people`` to the sources.yaml ``text``; skip sources it already has.

    A person whose name is already in the file (in any letter case) gets the new sources and
    topics; a new name whose slug is taken is told apart by the host of its first source.
    Raises ConfigError when ``text`` is invalid, or the edit would make it so.
    """
    data = _editable(text, path)
    book = _PeopleBook.of(data, path)
    for person in people:
        book.add(person)
    planned = [entry for entry in book.entries if entry.values or entry.topics]
    if not planned:
        return SourcesEdit(text=text, changed=False, skipped=tuple(book.skipped))
    expected = book.expected()
    new_text = _splice_people(text, data, planned)
    if new_text is None or _holds(new_text, path) != expected:
        new_text = _round_trip_people(text, planned)
        _require(new_text, path, expected)
    return SourcesEdit(
        text=new_text,
        changed=True,
        added=tuple(source for entry in planned for source in entry.sources),
        new_people=tuple(entry.name for entry in planned if entry.index is None),
        skipped=tuple(book.skipped),
    )


def replace_sources(text: str, path: Path, moves: Mapping[str, str]) -> SourcesEdit:
    """Write each source URL of ``moves`` (as pln identifies it) as its new URL, in place.

    A new URL already followed elsewhere in the file is skipped. Options, comments and
    quoting stay as they were.
    """
    data = _editable(text, path)
    lines = text.splitlines(keepends=True)
    owners = _owners(data, path)
    expected = set(owners.items())
    edits: list[_TextEdit] = []
    replaced: list[tuple[str, str]] = []
    skipped: list[SkippedSource] = []
    for source, where in _located_sources(data, path):
        target = moves.get(source.url)
        if target is None or target == source.url:
            continue
        try:
            moved = parse_source(_moved_value(where.entry, target), source.person, file=path)
        except ConfigError as problem:
            skipped.append(SkippedSource(target, source.person, problem.message))
            continue
        owner = owners.get(_source_identity(moved))
        if owner is not None:
            reason = f"{target} is already in sources.yaml, under {owner}"
            skipped.append(SkippedSource(source.url, source.person, reason))
            continue
        edit = _replace_scalar(lines, where.line, where.column, target, len(edits))
        if edit is None:
            reason = "pln cannot rewrite this entry in place: change it by hand"
            skipped.append(SkippedSource(source.url, source.person, reason))
            continue
        owners[_source_identity(moved)] = source.person
        expected.discard((_source_identity(source), source.person))
        expected.add((_source_identity(moved), source.person))
        edits.append(edit)
        replaced.append((source.url, moved.url))
    if not edits:
        return SourcesEdit(text=text, changed=False, skipped=tuple(skipped))
    new_text = _apply(lines, edits)
    _require(new_text, path, frozenset(expected))
    return SourcesEdit(
        text=new_text, changed=True, replaced=tuple(replaced), skipped=tuple(skipped)
    )


def followed_by(config: Config, source: NewSource) -> str | None:
    """The person of ``config`` who already has ``source`` (the same feed or account)."""
    try:
        wanted = _source_identity(parse_source(_source_value(source), "", key="source"))
    except ConfigError:
        return None
    return next((s.person for s in config.sources if _source_identity(s) == wanted), None)


def save_config_text(path: Path, text: str, original: str) -> None:
    """Write ``text`` over ``path`` atomically, if the file still holds ``original``.

    A temporary file beside it is written, flushed to disk and renamed over it, so a crash
    leaves either the old file or the new one, never half of one. The file's permissions are
    kept, and a symbolic link is followed to the file it names.
    """
    target = path.resolve()
    if _read_text(target) != original:
        raise ConfigError(
            "the file changed while pln was editing it: nothing was written; run the "
            "command again",
            file=path,
        )
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        bom = b"\xef\xbb\xbf" if target.read_bytes().startswith(b"\xef\xbb\xbf") else b""
        with open(temporary, "wb") as handle:
            handle.write(bom + text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        os.replace(temporary, target)
        _sync_directory(target.parent)
    except OSError as error:
        # ── engineer F ── the clean-up meets the same read-only disk: it must not hide why
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise WriteError.from_os_error(path, error) from error


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# What a file holds, for checking an edit: (source identity, person name) pairs.
_Holdings = frozenset[tuple[str, str]]


def _holds(text: str, path: Path) -> _Holdings | None:
    try:
        config = parse_config(text, path)
    except ConfigError:
        return None
    return frozenset((_source_identity(s), s.person) for s in config.sources)


def _require(text: str, path: Path, expected: _Holdings) -> None:
    """Refuse an edit whose result is invalid, or holds other sources than intended."""
    try:
        config = parse_config(text, path)
    except ConfigError as problem:
        raise ConfigError(
            f"the edited file would be invalid ({problem}); nothing was written", file=path
        ) from problem
    found = frozenset((_source_identity(s), s.person) for s in config.sources)
    if found != expected:
        raise ConfigError(
            "pln could not edit this file as intended; nothing was written", file=path
        )


def _editable(text: str, path: Path) -> Mapping[Any, Any]:
    data = _parse_yaml(text, path)
    _ConfigReader(path).read(data)  # edit only a valid file: its errors are the user's first
    if not isinstance(data, Mapping):  # parse_config has refused anything else
        raise ConfigError("expected a mapping of sections", file=path)
    return data


def _source_value(source: NewSource) -> object:
    """How a new source is written: a bare string where that says it all."""
    if source.kind is SourceKind.FEED:
        return source.url
    from ruamel.yaml.comments import CommentedMap

    entry = CommentedMap()
    if source.kind is SourceKind.BLOG:
        entry["blog"] = source.url
        return entry
    if source.url.startswith("@") and not source.boosts:
        return source.url
    entry["mastodon"] = source.url
    if source.boosts:
        entry["boosts"] = True
    return entry


def _owners(data: Mapping[Any, Any], path: Path) -> dict[str, str]:
    """Each source identity in the file, mapped to the name of the person who has it."""
    return {_source_identity(source): source.person for source, _ in _located_sources(data, path)}


@dataclass(frozen=True)
class _Where:
    entry: object  # the list item: a string, or a mapping with feed:/blog:/mastodon:
    line: int  # 0-based, of the URL's scalar
    column: int


def _located_sources(data: Mapping[Any, Any], path: Path) -> Iterator[tuple[SourceConfig, _Where]]:
    """Every source of the (valid) file, with where its URL is written."""
    for person in _people_items(data):
        name = str(person.get("name", "")).strip()
        entries = person.get("sources")
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            try:
                source = parse_source(entry, name, file=path)
                line, column = _url_position(entries, index, entry)
            except (ConfigError, AttributeError, KeyError, TypeError, IndexError):
                continue
            yield source, _Where(entry, line, column)


def _people_items(data: Mapping[Any, Any]) -> list[Mapping[Any, Any]]:
    people = data.get("people")
    if not isinstance(people, list):
        return []
    return [person for person in people if isinstance(person, Mapping)]


def _url_position(entries: Any, index: int, entry: object) -> tuple[int, int]:
    if isinstance(entry, Mapping):
        key = next(name for name in _SOURCE_KINDS if name in entry)
        line, column = entry.lc.value(key)  # type: ignore[attr-defined]
    else:
        line, column = entries.lc.item(index)
    return int(line), int(column)


def _moved_value(entry: object, url: str) -> object:
    if isinstance(entry, Mapping):
        moved = dict(entry)
        key = next(name for name in _SOURCE_KINDS if name in entry)
        moved[key] = url
        return moved
    return url


# ── planning an addition ──


@dataclass
class _Planned:
    """One person of the edit: already in the file (``index``) or new."""

    name: str
    index: int | None
    known_topics: list[str]
    values: list[object] = field(default_factory=list)  # source entries to write
    sources: list[SourceConfig] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)  # slugs to add


@dataclass
class _PeopleBook:
    """Who is in the file, which sources it has, and what the edit adds."""

    path: Path
    by_name: dict[str, _Planned]
    slugs: set[str]
    owners: dict[str, str]  # source identity → person name
    entries: list[_Planned] = field(default_factory=list)
    listed: set[int] = field(default_factory=set)  # ids of the entries, to find them fast
    skipped: list[SkippedSource] = field(default_factory=list)

    @classmethod
    def of(cls, data: Mapping[Any, Any], path: Path) -> _PeopleBook:
        by_name: dict[str, _Planned] = {}
        slugs: set[str] = set()
        people = data.get("people")
        for index, person in enumerate(people if isinstance(people, list) else []):
            if not isinstance(person, Mapping):
                continue
            name = str(person.get("name", "")).strip()
            topics = person.get("topics") or []
            known = [str(t) for t in (topics if isinstance(topics, list) else [topics])]
            by_name[name.casefold()] = _Planned(name, index, known)
            slugs.add(str(person.get("slug") or slugify(name)))
        return cls(path, by_name, slugs, _owners(data, path))

    def add(self, person: NewPerson) -> None:
        entry = self.by_name.get(person.name.casefold())
        name = entry.name if entry else person.name
        kept: list[tuple[object, SourceConfig]] = []
        for new in person.sources:
            value = _source_value(new)
            try:
                source = parse_source(value, name, file=self.path)
            except ConfigError as problem:
                self.skipped.append(SkippedSource(new.url, person.name, problem.message))
                continue
            owner = self.owners.get(_source_identity(source))
            if owner is not None:
                reason = f"already in sources.yaml, under {owner}"
                self.skipped.append(SkippedSource(new.url, person.name, reason))
                continue
            self.owners[_source_identity(source)] = name
            kept.append((value, source))
        if not kept:
            return
        if entry is None:
            entry = self._new_entry(person.name, kept[0][1].url)
            for _, source in kept:
                self.owners[_source_identity(source)] = entry.name
        elif id(entry) not in self.listed:
            self.entries.append(entry)
            self.listed.add(id(entry))
        entry.values += [value for value, _ in kept]
        entry.sources += [replace(source, person=entry.name) for _, source in kept]
        entry.topics += [t for t in person.topics if t not in entry.known_topics + entry.topics]

    def _new_entry(self, wanted: str, first_url: str) -> _Planned:
        host = urlsplit(first_url).hostname or "new"
        candidates = [wanted, f"{wanted} ({host})", *(f"{wanted} ({n})" for n in range(2, 100))]
        name = next(
            candidate
            for candidate in candidates
            if candidate.casefold() not in self.by_name and slugify(candidate) not in self.slugs
        )
        entry = _Planned(name, None, [])
        self.by_name[name.casefold()] = entry
        self.slugs.add(slugify(name))
        self.entries.append(entry)
        self.listed.add(id(entry))
        return entry

    def expected(self) -> _Holdings:
        return frozenset(self.owners.items())


# ── splicing text ──


@dataclass(frozen=True)
class _TextEdit:
    start: int  # 0-based line; lines[start:end] are replaced by ``lines``
    end: int
    lines: tuple[str, ...]
    order: int  # among edits at the same place, the lower comes first


def _apply(lines: Sequence[str], edits: Sequence[_TextEdit]) -> str:
    out: list[str] = []
    position = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.order)):
        out += lines[position : edit.start]
        out += edit.lines
        position = max(position, edit.end)
    out += lines[position:]
    return "".join(out)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _splice_people(
    text: str, data: Mapping[Any, Any], planned: Sequence[_Planned]
) -> str | None:
    """The text with ``planned`` spliced in, or None where a list is not in block style."""
    lines = text.splitlines(keepends=True)
    newline = _newline(text)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    people = data.get("people")
    edits: list[_TextEdit] = []
    new_people = [entry for entry in planned if entry.index is None]
    for entry in planned:
        if entry.index is None:
            continue
        person = people[entry.index]  # type: ignore[index]
        person_edits = _person_edits(lines, data, person, entry, newline, len(edits))
        if person_edits is None:
            return None
        edits += person_edits
    if new_people:
        # After any source added to the last person: they end where the new people begin.
        people_edit = _new_people_edit(lines, data, new_people, newline, len(edits) + 1000)
        if people_edit is None:
            return None
        edits.append(people_edit)
    return _apply(lines, edits)


def _new_people_edit(
    lines: list[str],
    data: Mapping[Any, Any],
    entries: Sequence[_Planned],
    newline: str,
    order: int,
) -> _TextEdit | None:
    people = data.get("people")
    items = [_new_person_map(entry) for entry in entries]
    if "people" not in data:
        head = ["people:" + newline]
        if lines and lines[-1].strip():
            head.insert(0, newline)
        return _TextEdit(len(lines), len(lines), (*head, *_render(items, 2, newline)), order)
    key_line, key_column = (int(n) for n in data.lc.key("people"))  # type: ignore[attr-defined]
    if people is None:
        below_key = _render(items, key_column + 2, newline)
        return _TextEdit(key_line + 1, key_line + 1, tuple(below_key), order)
    if not _is_block_list(people) or not people:
        return None
    dash = _dash_column(lines, people)
    if dash is None:
        return None
    end = _region_end(lines, key_line, _next_key_line(data, "people", len(lines)), dash)
    spaced = len(people) > 1 and not lines[int(people.lc.item(1)[0]) - 1].strip()
    rendered: list[str] = []
    for item in items:
        if spaced:
            rendered.append(newline)
        rendered += _render([item], dash, newline, _list_style(lines, data))
    return _TextEdit(end, end, tuple(rendered), order)


def _person_edits(
    lines: list[str],
    data: Mapping[Any, Any],
    person: Any,
    entry: _Planned,
    newline: str,
    order: int,
) -> list[_TextEdit] | None:
    sources = person.get("sources")
    if not _is_block_list(sources) or not sources or entry.index is None:
        return None
    dash = _dash_column(lines, sources)
    if dash is None:
        return None
    stop = _person_stop(lines, data, person, entry.index, "sources")
    sources_line = int(person.lc.key("sources")[0])
    edits = []
    if entry.values:
        end = _region_end(lines, sources_line, stop, dash)
        rendered = _render(entry.values, dash, newline, _list_style(lines, data))
        edits.append(_TextEdit(end, end, tuple(rendered), order))
    if entry.topics:
        topics_edit = _topics_edit(lines, person, entry, newline, order)
        if topics_edit is None:
            return None
        edits.append(topics_edit)
    return edits


def _topics_edit(
    lines: list[str], person: Any, entry: _Planned, newline: str, order: int
) -> _TextEdit | None:
    """Add topics to a person: a new ``topics:`` line, or a longer one-line ``[a, b]``."""
    topics = person.get("topics")
    if "topics" not in person or topics is None:
        line, column = (int(n) for n in person.lc.key("sources"))
        if "topics" in person:  # `topics:` with nothing after it
            line = int(person.lc.key("topics")[0])
            flow = _flow([*entry.topics])
            return _TextEdit(line, line + 1, (" " * column + f"topics: {flow}{newline}",), order)
        flow = _flow([*entry.topics])
        return _TextEdit(line, line, (" " * column + f"topics: {flow}{newline}",), order)
    if not isinstance(topics, list) or _is_block_list(topics):
        return None
    line, column = (int(n) for n in person.lc.value("topics"))
    text = lines[line]
    close = text.find("]", column)
    if not text.startswith("[", column) or close < 0:
        return None
    flow = _flow([*entry.known_topics, *entry.topics])
    return _TextEdit(line, line + 1, (_respliced(text, column, close + 1, flow),), order)


def _flow(slugs: Sequence[str]) -> str:
    return "[" + ", ".join(slugs) + "]"


def _person_stop(
    lines: list[str], data: Mapping[Any, Any], person: Any, index: int, key: str
) -> int:
    """The line where what follows ``key`` of person ``index`` ends (exclusive)."""
    keys = list(person)
    following = keys[keys.index(key) + 1 :]
    if following:
        return int(person.lc.key(following[0])[0])
    people = data["people"]
    if index + 1 < len(people):
        return int(people.lc.item(index + 1)[0])
    return _next_key_line(data, "people", len(lines))


def _next_key_line(data: Mapping[Any, Any], key: str, default: int) -> int:
    keys = list(data)
    following = keys[keys.index(key) + 1 :]
    return int(data.lc.key(following[0])[0]) if following else default  # type: ignore[attr-defined]


def _region_end(lines: Sequence[str], start: int, stop: int, dash: int) -> int:
    """Where to insert after the last item of a block list between ``start`` and ``stop``.

    Blank lines and comments no deeper than the list's dashes belong to what follows (the
    next person, a commented-out section); a deeper comment belongs to the last item.
    """
    end = stop
    while end - 1 > start:
        line = lines[end - 1]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped and not (stripped.startswith("#") and indent <= dash):
            break
        end -= 1
    return end


def _dash_column(lines: Sequence[str], items: Any) -> int | None:
    """The column of the ``-`` of a block list's first item (None if it is not on that line)."""
    line, column = (int(n) for n in items.lc.item(0))
    before = lines[line][:column].rstrip()
    if not before.endswith("-"):
        return None
    return len(before) - 1


def _is_block_list(value: object) -> bool:
    from ruamel.yaml.comments import CommentedSeq

    return isinstance(value, CommentedSeq) and not value.fa.flow_style()


def _new_person_map(entry: _Planned) -> CommentedMap:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    person = CommentedMap()
    person["name"] = entry.name
    if entry.topics:
        topics = CommentedSeq(entry.topics)
        topics.fa.set_flow_style()
        person["topics"] = topics
    person["sources"] = CommentedSeq(entry.values)
    return person


# How far a list's dashes and items stand in from their key: (sequence, offset) as ruamel.yaml
# calls them. The starter file's style, unless the file shows its own.
_STARTER_STYLE = (4, 2)


@functools.cache
def _dumper(style: tuple[int, int] = _STARTER_STYLE) -> YAML:
    """A round-trip dumper in ``style``; made once per style (they are slow to make)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long URL or query onto a second line
    sequence, offset = style
    yaml.indent(mapping=2, sequence=sequence, offset=offset)
    return yaml


def _list_style(lines: Sequence[str], data: Mapping[Any, Any]) -> tuple[int, int]:
    """The file's own way of indenting a person's sources: from the first that shows it."""
    for person in _people_items(data):
        sources = person.get("sources")
        if not _is_block_list(sources) or not sources:
            continue
        dash = _dash_column(lines, sources)
        key_column = int(person.lc.key("sources")[1])  # type: ignore[attr-defined]
        item_column = int(sources.lc.item(0)[1])
        if dash is not None and dash >= key_column and item_column >= dash + 2:
            return item_column - key_column, dash - key_column
    return _STARTER_STYLE


def _render(
    items: Sequence[object], dash: int, newline: str, style: tuple[int, int] = _STARTER_STYLE
) -> list[str]:
    """``items`` as block list lines whose dashes stand at column ``dash``."""
    buffer = io.StringIO()
    _dumper(style).dump(list(items), buffer)
    rendered = buffer.getvalue().splitlines()
    shift = len(rendered[0]) - len(rendered[0].lstrip(" "))
    return [" " * dash + line[shift:] + newline for line in rendered]


def _replace_scalar(
    lines: list[str], line: int, column: int, value: str, order: int
) -> _TextEdit | None:
    """Replace the one-line scalar at (line, column) with ``value``, in the same quoting."""
    text = lines[line]
    quote = text[column : column + 1]
    if quote in ("'", '"'):
        end = _closing_quote(text, column)
        if end is None:
            return None
        escaped = value.replace("'", "''") if quote == "'" else json.dumps(value)[1:-1]
        token = f"{quote}{escaped}{quote}"
    else:
        comment = text.find(" #", column)
        body_end = len(text.rstrip("\r\n")) if comment < 0 else comment
        end = column + len(text[column:body_end].rstrip())
        token = value if _plain_safe(value) else json.dumps(value)
    return _TextEdit(line, line + 1, (_respliced(text, column, end, token),), order)


def _respliced(text: str, start: int, end: int, token: str) -> str:
    """``text`` with ``token`` in place of ``text[start:end]``; an aligned comment after it
    keeps its column where the spaces before it allow."""
    rest = text[end:]
    spaces = len(rest) - len(rest.lstrip(" "))
    if spaces and rest.lstrip(" ").startswith("#"):
        keep = max(1, spaces - (len(token) - (end - start)))
        rest = " " * keep + rest.lstrip(" ")
    return text[:start] + token + rest


def _closing_quote(text: str, start: int) -> int | None:
    quote = text[start]
    position = start + 1
    while position < len(text):
        char = text[position]
        if quote == '"' and char == "\\":
            position += 2
            continue
        if char == quote:
            if quote == "'" and text[position + 1 : position + 2] == "'":
                position += 2
                continue
            return position + 1
        position += 1
    return None


def _plain_safe(value: str) -> bool:
    return not (" #" in value or ": " in value or value[:1] in "@`!&*|>'\"%{[#,?-:")


def _round_trip_people(text: str, planned: Sequence[_Planned]) -> str:
    """The whole document changed and dumped by ruamel.yaml: for lists in flow style."""
    from ruamel.yaml.comments import CommentedSeq

    yaml = _dumper()
    data = yaml.load(text)
    people = data.get("people")
    if not isinstance(people, CommentedSeq):
        people = data["people"] = CommentedSeq()
    if people.fa.flow_style() and not people:
        people.fa.set_block_style()
    for entry in planned:
        if entry.index is None:
            people.append(_new_person_map(entry))
            continue
        person = people[entry.index]
        sources = person.get("sources")
        if isinstance(sources, list):
            sources.extend(entry.values)
        if entry.topics:
            topics = person.get("topics")
            if isinstance(topics, list):
                topics.extend(entry.topics)
            else:
                person["topics"] = CommentedSeq([*entry.known_topics, *entry.topics])
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()
