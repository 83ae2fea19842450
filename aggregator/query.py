"""Pure helpers for full-text queries typed by people who do not know FTS5's syntax."""

from __future__ import annotations

import re

_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)
# Operators left dangling are what made the query fail ("water AND"): drop them.
_OPERATORS = {"AND", "OR", "NOT", "NEAR"}
# SQLite ends a string at NUL; control characters never belong in a query anyway.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# A search ranks by bm25 only the newest this many matches (after its filters), unless asked
# to rank them all: bm25 costs 1.5–3 µs a match, and in a million posts a common word
# matches 200,000. Chosen from bench/search_scale.py (docs/benchmarks.md, "Search at scale").
SEARCH_CAP = 10_000


def literal_query(text: str) -> str | None:
    """The words of ``text`` as an FTS5 query that cannot be a syntax error.

    Each whitespace-separated chunk becomes a quoted string, which FTS5 tokenizes into a
    phrase: ``e-learning`` finds "e learning", ``don't`` finds "don t"; a stray quote, a lone
    ``-`` or a dangling ``AND`` simply disappears. Chunks are joined by FTS5's implicit AND.
    None when no word is left.
    """
    chunks = [
        chunk
        # A colon only means something before a column name, and this query already failed:
        # "nosuchcolumn:drought" is two words, not a phrase.
        for chunk in _CONTROL.sub(" ", text).replace(":", " ").split()
        if _HAS_WORD.search(chunk) and chunk not in _OPERATORS
    ]
    if not chunks:
        return None
    return " ".join('"' + chunk.replace('"', '""') + '"' for chunk in chunks)
