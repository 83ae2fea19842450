"""Plain-language fixes for the mistakes people make most in sources.yaml. Pure.

The YAML reader says what it met ("mapping values are not allowed here"), not what to do;
``yaml_hint`` adds the fix for the common slips, shown beside the reader's own words (which
stay, for the cases no hint knows). ``query_problem`` does the same for an FTS5 query that
SQLite cannot parse (a topic's ``match:``).
"""

from __future__ import annotations

import re

__all__ = ["query_problem", "yaml_hint"]

# The reader's words for a line indented differently from the block it should belong to.
_INDENTATION_PROBLEMS = ("expected <block end>", "did not find expected key")
_CANNOT_START = re.compile(r"found character '(.)' that cannot start any token")
_KEY_AND_VALUE = re.compile(r"^(\s*(?:-\s+)?[^\s:#][^:#]*?):\s+(.+?)\s*$")
_LIST_ITEM = re.compile(r"^(\s*-\s+)(.+?)\s*$")


def yaml_hint(problem: str, text: str, line: int | None) -> str | None:
    """What to change, for the YAML reader's ``problem`` at ``line`` (1-based) of ``text``;
    None when the slip is not a common one."""
    if line is None:
        return None
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return None
    here = lines[line - 1]
    if any(words in problem for words in _INDENTATION_PROBLEMS):
        return _indentation_hint(here, lines[: line - 1])
    cannot_start = _CANNOT_START.search(problem)
    if cannot_start:
        return _quote_hint(here, f"a value that starts with {cannot_start.group(1)}")
    if "mapping values are not allowed here" in problem:
        return _quote_hint(here, 'a value that holds ": "')
    return None


def _indentation_hint(here: str, before: list[str]) -> str:
    above = next((text for text in reversed(before) if text.strip()), None)
    if above is None:
        return "this line is indented differently from the lines of its section"
    return (
        f"this line is indented by {_spaces(here)} and the line above by {_spaces(above)}: "
        "the keys of one section must line up exactly"
    )


def _spaces(text: str) -> str:
    count = len(text) - len(text.lstrip(" "))
    return "1 space" if count == 1 else f"{count} spaces"


def _quote_hint(here: str, what: str) -> str:
    """Quote ``what``, showing the line as it would read quoted when it is plain enough."""
    found = _KEY_AND_VALUE.match(here) or _LIST_ITEM.match(here)
    if found is None or found.group(2)[:1] in "\"'":
        return f"put {what} in double quotes"
    value = found.group(2).replace("\\", "\\\\").replace('"', '\\"')
    separator = ": " if found.re is _KEY_AND_VALUE else ""
    quoted = f'{found.group(1)}{separator}"{value}"'.strip()
    return f"put {what} in double quotes: {quoted}"


def query_problem(problem: str) -> str:
    """SQLite's reason an FTS5 query failed, in words a user can act on."""
    if problem == 'syntax error near ""':  # the query ended where more was due
        return (
            "it stops too early: an unclosed parenthesis or quote, "
            "or nothing after an operator or a column:"
        )
    return problem
