"""What a scheduled run tells a person, and when: pure decisions (issue 8).

Under cron every line a job prints is mailed, so a problem that lasts must not be told by
every run. The store remembers what was told (``reports``); each run brings what it found:

    previous (store) + found this run + keys found fine ─► ReportPlan
        new:       a problem nobody was told of yet
        changed:   the same thing failing another way (timing out, now gone)
        reminders: still open after REMIND_AFTER since it was last told
        resolved:  told before and found fine now (briefly)
        keep/drop: what the store holds afterwards

A key this run could not check (a source backing off, a build that did not run) keeps its
record as it was: it is neither resolved nor told again.

Nothing here reads a clock or the database: the app passes both in.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from aggregator.models import Problem, ReportedProblem, ReportPlan

# A problem open this long is told again, once per such stretch: a week matches
# `pln sources`' "failing for more than a week".
REMIND_AFTER = timedelta(days=7)

SOURCE_PREFIX = "source "
# Keys whose end is not worth a line: another pln that held the lock finished its work.
SILENT_WHEN_RESOLVED = frozenset({"lock"})


def source_key(url: str) -> str:
    return SOURCE_PREFIX + url


def plan(
    previous: Sequence[ReportedProblem],
    found: Sequence[Problem],
    fine: Collection[str],
    now: datetime,
    forget: Collection[str] = (),
) -> ReportPlan:
    """Decide what this run tells, from what was told before and what it found.

    ``fine``: keys this run checked and found working; ``forget``: keys that no longer
    exist (a source taken out of sources.yaml), dropped without a word."""
    told = {report.key: report for report in previous}
    new: list[Problem] = []
    changed: list[tuple[Problem, ReportedProblem]] = []
    reminders: list[ReportedProblem] = []
    keep: dict[str, ReportedProblem] = {}
    for problem in {problem.key: problem for problem in found}.values():  # one per key
        before = told.get(problem.key)
        if before is None:
            new.append(problem)
            keep[problem.key] = ReportedProblem(
                problem.key, problem.kind, problem.message, since=now, reported_at=now
            )
        elif before.kind != problem.kind:
            changed.append((problem, before))
            keep[problem.key] = ReportedProblem(
                problem.key, problem.kind, problem.message, since=before.since, reported_at=now
            )
        elif now - before.reported_at >= REMIND_AFTER:
            reminder = ReportedProblem(
                problem.key, problem.kind, problem.message, since=before.since, reported_at=now
            )
            reminders.append(reminder)
            keep[problem.key] = reminder
        else:  # told already: the newest words are kept for `pln sources`, silently
            keep[problem.key] = ReportedProblem(
                problem.key, problem.kind, problem.message, before.since, before.reported_at
            )
    resolved = [
        report
        for key, report in told.items()
        if key in fine and key not in keep and key not in forget
    ]
    gone = [key for key in told if key not in keep and (key in fine or key in forget)]
    return ReportPlan(
        new=tuple(new),
        changed=tuple(changed),
        reminders=tuple(reminders),
        resolved=tuple(r for r in resolved if r.key not in SILENT_WHEN_RESOLVED),
        # Only what this run found is written: a record it could not check stays as it
        # is, even when another run (overlapping this one) changed it meanwhile.
        keep=tuple(keep.values()),
        drop=tuple(gone),
    )


def open_for(report: ReportedProblem, now: datetime) -> str:
    """How long a problem has been open, in words: "3 hours", "8 days"."""
    span = now - report.since
    if span >= timedelta(days=2):
        return f"{span.days} days"
    hours = int(span.total_seconds() // 3600)
    if hours >= 2:
        return f"{hours} hours"
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
