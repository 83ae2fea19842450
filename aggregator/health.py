"""What the sources' health asks of the person who keeps sources.yaml: pure decisions.

    SourceHealth rows (store) + now ─► HealthReport: redirects to copy, sources gone,
                                        sources failing for a week, people quiet for 90 days

Nothing here reads a clock or the database: the app passes both in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from aggregator.models import HealthReport, QuietPerson, SourceHealth

# A source failing this long is not a bad day of its server: the person should look.
FAILING_LONG = timedelta(days=7)
# A person with no post for this long may have moved elsewhere, or stopped.
QUIET_AFTER = timedelta(days=90)


def assess(sources: Sequence[SourceHealth], now: datetime) -> HealthReport:
    """Sort out what needs a person; sources no longer in sources.yaml need nothing."""
    active = [source for source in sources if source.active]
    return HealthReport(
        sources=tuple(sources),
        now=now,
        redirects=tuple(s for s in active if s.redirect_to and not s.gone),
        gone=tuple(s for s in active if s.gone),
        failing_long=tuple(s for s in active if failing_long(s, now)),
        quiet=tuple(quiet_people(active, now)),
        last_posts=person_last_posts(active),
    )


def failing_long(source: SourceHealth, now: datetime) -> bool:
    """Failing at every try for more than FAILING_LONG (a gone source is told apart)."""
    if source.gone or not source.failures or source.failing_since is None:
        return False
    return now - source.failing_since > FAILING_LONG


def quiet_people(sources: Sequence[SourceHealth], now: datetime) -> list[QuietPerson]:
    """People whose newest post, over all their sources, is older than QUIET_AFTER.

    Only people with at least one source read successfully count: a person whose sources
    all fail is shown as failing, not as quiet.
    """
    by_person: dict[str, list[SourceHealth]] = {}
    for source in sources:
        by_person.setdefault(source.person, []).append(source)
    quiet: list[QuietPerson] = []
    for person, theirs in by_person.items():
        if not any(source.last_success for source in theirs):
            continue
        posts = [source.last_post for source in theirs if source.last_post is not None]
        last_post = max(posts) if posts else None
        if last_post is None or now - last_post > QUIET_AFTER:
            quiet.append(QuietPerson(person, last_post))
    return quiet


def person_last_posts(sources: Sequence[SourceHealth]) -> dict[str, datetime | None]:
    """Each person's newest post over all their sources (None: nothing stored)."""
    latest: dict[str, datetime | None] = {}
    for source in sources:
        known = latest.get(source.person)
        if source.last_post is not None and (known is None or source.last_post > known):
            latest[source.person] = source.last_post
        else:
            latest.setdefault(source.person, known)
    return latest
