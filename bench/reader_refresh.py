"""The anchor's side of bench/refresh.py: lemon24/reader updating the same feeds.

Runs in bench/.venv-reader (reader and its feedparser, apart from pln's environment):

    bench/.venv-reader/bin/python bench/reader_refresh.py DB URLS_FILE --workers 16

Adds every URL of URLS_FILE (one a line) to the reader database DB if it is not there yet,
then updates all feeds once (``scheduled=False``: every feed, as ``pln fetch`` does) with
``workers`` threads, and prints one JSON line: seconds spent updating, feeds updated, entries.
"""

from __future__ import annotations

import argparse
import json
import time

from reader import make_reader


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database")
    parser.add_argument("urls")
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    reader = make_reader(args.database)
    with open(args.urls, encoding="utf-8") as handle:
        urls = [line.strip() for line in handle if line.strip()]
    for url in urls:
        reader.add_feed(url, exist_ok=True)
    started = time.perf_counter()
    updated = 0
    failed = 0
    for result in reader.update_feeds_iter(scheduled=False, workers=args.workers):
        if isinstance(result.value, Exception):
            failed += 1
        elif result.value is not None:
            updated += 1
    elapsed = time.perf_counter() - started
    entries = reader.get_entry_counts().total
    summary = {"seconds": elapsed, "updated": updated, "failed": failed, "entries": entries}
    print(json.dumps(summary))
    reader.close()


if __name__ == "__main__":
    main()
