"""The anchor's side of bench/search_scale.py: lemon24/reader searching the same posts.

Runs in bench/.venv-reader:

    bench/.venv-reader/bin/python bench/reader_search.py DB POSTS_JSONL QUERIES_JSON [cpu]

Loads the posts (one JSON object a line: feed, id, title, link, published, text) into a
reader database with search enabled (once; DB is reused when it exists), then runs every
query of QUERIES_JSON (a list of strings) REPEATS times after a warm-up, reading the first 20
results with their highlights as ``search_entries`` returns them, and prints one JSON
object: query → list of milliseconds (wall clock; with ``cpu``, this process's CPU time,
which other work on the machine inflates far less).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from reader import make_reader

REPEATS = 15
LIMIT = 20


def load(reader, posts: Path) -> None:  # type: ignore[no-untyped-def]
    feeds: set[str] = set()
    with posts.open(encoding="utf-8") as handle:
        for line in handle:
            post = json.loads(line)
            if post["feed"] not in feeds:
                reader.add_feed(post["feed"])
                reader.disable_feed_updates(post["feed"])
                feeds.add(post["feed"])
            reader.add_entry(
                SimpleNamespace(
                    feed_url=post["feed"],
                    id=post["id"],
                    title=post["title"],
                    link=post["link"],
                    published=datetime.fromisoformat(post["published"]),
                    summary=post["text"],
                )
            )
    reader.enable_search()
    reader.update_search()


def main() -> None:
    database, posts, queries = (Path(arg) for arg in sys.argv[1:4])
    clock = time.process_time if sys.argv[4:] == ["cpu"] else time.perf_counter
    fresh = not database.exists()
    reader = make_reader(str(database))
    if fresh:
        load(reader, posts)
    timings: dict[str, list[float]] = {}
    for query in json.loads(queries.read_text(encoding="utf-8")):
        list(reader.search_entries(query, limit=LIMIT))  # warm-up
        runs = []
        for _ in range(REPEATS):
            started = clock()
            results = list(reader.search_entries(query, limit=LIMIT))
            for result in results:  # the highlighted snippets, as a person sees them
                _ = result.content, result.metadata
            runs.append((clock() - started) * 1000)
        timings[query] = runs
    print(json.dumps(timings))
    reader.close()


if __name__ == "__main__":
    main()
