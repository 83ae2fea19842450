import itertools
from datetime import UTC, datetime, timedelta

from aggregator import policy
from aggregator.models import SourceKind, SourceState

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def state(**changes: object) -> SourceState:
    base = SourceState(id=1, url="https://a.example/feed", kind=SourceKind.FEED, person="A")
    return SourceState(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_new_source_is_due() -> None:
    assert policy.is_due(state(), NOW)


def test_gone_source_is_never_due() -> None:
    assert not policy.is_due(state(gone=True, next_due=NOW - timedelta(days=30)), NOW)


def test_backing_off_source_waits_until_next_due() -> None:
    assert not policy.is_due(state(next_due=NOW + timedelta(minutes=1)), NOW)
    assert policy.is_due(state(next_due=NOW), NOW)


def test_backoff_doubles_and_is_capped_at_a_day() -> None:
    delays = [policy.backoff(n) for n in range(1, 12)]
    assert delays[0] == timedelta(minutes=15)
    assert delays[1] == timedelta(minutes=30)
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert delays[-1] == timedelta(days=1)
    assert policy.backoff(10_000) == timedelta(days=1)


def test_retry_after_wins_when_longer_and_is_capped() -> None:
    assert policy.next_due_after_failure(1, NOW, retry_after=3600) == NOW + timedelta(hours=1)
    assert policy.next_due_after_failure(1, NOW, retry_after=5) == NOW + timedelta(minutes=15)
    far = policy.next_due_after_failure(1, NOW, retry_after=10**9)
    assert far == NOW + policy.RETRY_AFTER_CAP


def test_posted_at_uses_first_seen_for_missing_or_future_dates() -> None:
    published = NOW - timedelta(days=2)
    assert policy.posted_at(published, NOW) == published
    assert policy.posted_at(None, NOW) == NOW
    assert policy.posted_at(NOW + timedelta(days=3), NOW) == NOW
    # A few minutes of clock skew is not "the future".
    assert policy.posted_at(NOW + timedelta(minutes=2), NOW) == NOW + timedelta(minutes=2)
