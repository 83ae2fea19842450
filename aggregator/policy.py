"""Pure decisions about when to fetch a source and which day a post belongs to.

Nothing here does I/O or reads a clock: the caller passes ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aggregator.models import SourceState

# A failing source waits 15 min, 30 min, 1 h, … after each consecutive failure, never more
# than a day: a daily schedule still retries every run, a frequent one stops hammering.
BACKOFF_FIRST = timedelta(minutes=15)
BACKOFF_CAP = timedelta(days=1)
# A server's Retry-After is honoured up to this long; beyond it we assume a mistake.
RETRY_AFTER_CAP = timedelta(days=7)
# Clocks disagree: a post dated a few minutes ahead of us is not "in the future".
FUTURE_SLACK = timedelta(minutes=10)


def is_due(state: SourceState, now: datetime) -> bool:
    """A source is fetched unless it is gone or still waiting out a back-off."""
    if state.gone:
        return False
    return state.next_due is None or state.next_due <= now


def backoff(failures: int) -> timedelta:
    """How long to wait after ``failures`` consecutive failures (1 or more)."""
    exponent = max(0, min(failures - 1, 16))
    delay: timedelta = BACKOFF_FIRST * (2**exponent)
    return min(delay, BACKOFF_CAP)


def next_due_after_failure(
    failures: int, now: datetime, retry_after: float | None = None
) -> datetime:
    """The later of our own back-off and what the server asked for."""
    wait = backoff(failures)
    if retry_after is not None:
        asked = min(timedelta(seconds=max(0.0, retry_after)), RETRY_AFTER_CAP)
        wait = max(wait, asked)
    return now + wait


def posted_at(published: datetime | None, first_seen: datetime) -> datetime:
    """When a post counts as published: its own date, unless it has none or is in the future."""
    if published is None or published > first_seen + FUTURE_SLACK:
        return first_seen
    return published
