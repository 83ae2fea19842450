import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.query import literal_query


def test_words_become_quoted_phrases() -> None:
    assert literal_query("water quality") == '"water" "quality"'
    assert literal_query("e-learning") == '"e-learning"'
    assert literal_query('say "hi') == '"say" """hi"'


def test_a_colon_that_named_no_column_separates_words() -> None:
    assert literal_query("nosuchcolumn:drought") == '"nosuchcolumn" "drought"'


def test_nothing_to_search_for() -> None:
    assert literal_query("-") is None
    assert literal_query('  " - * ') is None
    assert literal_query("") is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_literal_query_always_parses(text: str) -> None:
    match = literal_query(text)
    if match is None:
        return
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    conn.execute("SELECT * FROM t WHERE t MATCH ?", [match]).fetchall()
