"""The one exception tree of pln.

    PlnError                      everything pln raises on purpose
    ├── ConfigError               sources.yaml is missing or invalid (file, line, key)
    ├── FetchError                a request failed (url)
    │   └── HttpStatusError       the server answered with an error status (status, retry_after)
    ├── ParseError                a body is not a feed we can read (url)
    ├── StorageError              the database cannot be opened or written
    ├── InvalidQueryError         a search or topic query that cannot mean anything (query)
    ├── DeliveryError             the mail server refused or could not be reached
    ├── LockError                 another pln process holds the site directory
    ├── WriteError                a file or folder of the site cannot be written (path)
    └── BuildError                the site could not be built (template file and line)

Each error carries what identifies it, and I/O errors are raised ``from`` their cause at the
module boundary that caught them, so the chain is never lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Errors cross process boundaries (parsing runs in a process pool): each class whose
# __init__ differs from Exception's says in __reduce__ how to rebuild it, or unpickling fails.


class PlnError(Exception):
    """Root of every error pln raises on purpose."""


class ConfigError(PlnError):
    """The configuration cannot be used. Formats as ``file:line: key: message``."""

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.file = Path(file) if file is not None else None
        self.line = line
        self.key = key
        super().__init__(self._format())

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_config_error, (self.message, self.file, self.line, self.key))

    def _format(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class FetchError(PlnError):
    """A request for ``url`` failed before a usable answer arrived."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(f"{url}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.url, self.message))


class HttpStatusError(FetchError):
    """The server answered ``status``; ``retry_after`` is in seconds when it said when to retry."""

    def __init__(
        self, url: str, status: int, reason: str = "", retry_after: float | None = None
    ) -> None:
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        text = f"HTTP {status}" + (f" {reason}" if reason else "")
        super().__init__(url, text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.url, self.status, self.reason, self.retry_after))


class ParseError(PlnError):
    """The body fetched from ``url`` is not something we can read as a feed."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(f"{url}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.url, self.message))


class StorageError(PlnError):
    """The database cannot be opened, migrated or written."""


class InvalidQueryError(PlnError):
    """A full-text query that SQLite FTS5 cannot parse, even after escaping."""

    def __init__(self, query: str, message: str) -> None:
        self.query = query
        self.message = message
        super().__init__(f"invalid query {query!r}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.query, self.message))


class DeliveryError(PlnError):
    """The digest could not be handed to the mail server."""


class LockError(PlnError):
    """Another pln process is working on the same site directory."""


# ── engineer F: a read-only or misplaced site directory is one line, not a traceback ──
class WriteError(PlnError):
    """``path`` cannot be created or written (read-only disk, no permission, a file in the way)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.reason))

    @classmethod
    def from_os_error(cls, path: Path | str, error: OSError) -> WriteError:
        """The error for ``error`` met while writing ``path``, in the system's words."""
        return cls(path, (error.strerror or str(error)).lower())


class BuildError(PlnError):
    """The site could not be built; ``file`` and ``line`` name the template at fault, if any."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        super().__init__(f"{where}{message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_build_error, (self.message, self.file, self.line))


def _rebuild_config_error(
    message: str, file: Path | None, line: int | None, key: str | None
) -> ConfigError:
    return ConfigError(message, file=file, line=line, key=key)


def _rebuild_build_error(message: str, file: str | None, line: int | None) -> BuildError:
    return BuildError(message, file=file, line=line)
