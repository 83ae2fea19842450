import pickle

import pytest

from aggregator.errors import (
    ConfigError,
    FetchError,
    HttpStatusError,
    InvalidQueryError,
    ParseError,
    PlnError,
    WriteError,
)

ERRORS = [
    ConfigError("bad", file="sources.yaml", line=3, key="site.title"),
    FetchError("https://a.example/feed", "timed out after 20 s"),
    HttpStatusError("https://a.example/feed", 429, "Too Many Requests", retry_after=60.0),
    ParseError("https://a.example/feed", "not a feed: empty body"),
    InvalidQueryError("-", "it holds no word to search for"),
    WriteError("/srv/site/.pln.lock", "read-only file system"),  # engineer F
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_survive_the_trip_through_a_process_pool(error: PlnError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__


def test_config_error_names_file_line_and_key() -> None:
    error = ConfigError("unknown key", file="sources.yaml", line=7, key="fetch.concurency")
    assert str(error) == "sources.yaml:7: fetch.concurency: unknown key"


def test_every_error_is_a_pln_error() -> None:
    assert all(isinstance(error, PlnError) for error in ERRORS)
    assert isinstance(HttpStatusError("u", 500), FetchError)
