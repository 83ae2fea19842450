"""Pure helpers for full-text queries typed by people who do not know FTS5's syntax."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from aggregator import topics

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


# ── exact words first (engineer H, review finding 16) ──
# Porter stemming finds "parks" for "parking": bm25 scores such a post as if it held the word,
# and a long text full of the stem can beat a title with the word itself. A search therefore
# takes bm25's best RERANK_WINDOW (or --limit, if more), and puts first the posts with more
# of the query's words as typed in their title, then more of them anywhere; bm25's order
# stays within each band. Only the window is looked at (the cap's meaning is untouched),
# and only the first RERANK_TEXT_CHARS of each text: a word as typed further on than that
# does not lift its post (bench/search_scale.py cost: docs/benchmarks.md, goal 3).
RERANK_WINDOW = 100
RERANK_TEXT_CHARS = 4_000
# Unicode's combining diacritical marks, which unicode61's remove_diacritics drops.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """``text`` in lower case without diacritics, as FTS5's unicode61 tokenizer
    (remove_diacritics 2) compares words: "Café" → "cafe". Not topics.fold, which goes
    character by character in Python (too slow for 4,000 characters of text, 200 times)
    and folds more than unicode61 does (casefold: "ß" → "ss")."""
    lower = text.lower()
    if lower.isascii():  # most text: no marks to look for
        return lower
    return _MARKS.sub("", unicodedata.normalize("NFD", lower))


def own_words(match: str) -> tuple[str, ...]:
    """The words of an FTS5 query as typed, folded: those a post can hold exactly. Words
    right of a NOT cannot make a post match and are left out, and so are prefixes
    (``recycl*`` asks for any form)."""
    words: dict[str, None] = {}
    for term in topics.query_terms(match):
        label = term.label
        found = _WORD.findall(label.removesuffix("*"))
        if label.endswith("*"):
            found = found[:-1]
        words.update(dict.fromkeys(fold(word) for word in found))
    return tuple(words)


def _holds(folded: str, word: str) -> bool:
    """Whether ``folded`` text holds ``word`` as a whole token (not inside a longer word)."""
    start = folded.find(word)
    while start >= 0:
        end = start + len(word)
        before = folded[start - 1] if start else " "
        after = folded[end] if end < len(folded) else " "
        if not (before.isalnum() or after.isalnum()):
            return True
        start = folded.find(word, start + 1)
    return False


def exact_first(words: Sequence[str], posts: Sequence[Sequence[str | None]]) -> list[int]:
    """The indexes of ``posts`` (each its title, then its other fields: text, author,
    categories), given in bm25's order: those holding more of ``words`` as whole tokens in
    their title first, then those holding more of them anywhere; otherwise as given."""
    if not words:
        return list(range(len(posts)))
    return sorted(range(len(posts)), key=lambda index: _band(words, posts[index]))  # stable


def _band(words: Sequence[str], post: Sequence[str | None]) -> tuple[int, int]:
    """How many of ``words`` ``post`` holds in its title and anywhere, negated to sort first."""
    title = fold(post[0] or "")
    in_title = [word for word in words if _holds(title, word)]
    if len(in_title) == len(words):  # all of them: the rest cannot add any
        return (-len(in_title), -len(in_title))
    # One string for the rest (a space between fields: no word spans two).
    rest = fold(" ".join(field for field in post[1:] if field))
    anywhere = len(in_title) + sum(
        1 for word in words if word not in in_title and _holds(rest, word)
    )
    return (-len(in_title), -anywhere)
