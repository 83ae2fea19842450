"""Known bugs, told apart by the exception they raise, so the fuzzers look for new ones.

tests/test_fuzz.py and bench/fuzz_parse.py accept an exception listed here (anything else
fails them); tests/test_findings.py pins each bug with a strict xfail. When a fix lands, its
xfail turns into an XPASS failure: remove the mark there and the entry here, so the fuzzers
hold the fixed code to the rule again. docs/reliability.md tells each finding and its fix.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

__all__ = ["KNOWN_BUGS", "KnownBug", "known_bug"]


@dataclass(frozen=True)
class KnownBug:
    name: str
    kinds: tuple[type[BaseException], ...]
    words: str  # in str(error); "" for any
    raised_in: str  # a path fragment of some frame of the traceback; "" for anywhere

    def matches(self, error: BaseException) -> bool:
        if not isinstance(error, self.kinds) or self.words not in str(error):
            return False
        if not self.raised_in:
            return True
        frames = traceback.extract_tb(error.__traceback__)
        return any(self.raised_in in frame.filename for frame in frames)


# Empty: findings 1 to 8 (docs/reliability.md) are fixed. A new finding goes here, as
#     KnownBug("finding 9: what it is", (TypeError,), "words of the message", "/feedparser/"),
# until its fix lands.
KNOWN_BUGS: tuple[KnownBug, ...] = ()


def known_bug(error: BaseException) -> str | None:
    """The name of the known bug ``error`` shows, or None for a new one."""
    return next((bug.name for bug in KNOWN_BUGS if bug.matches(error)), None)
