"""Coverage-guided fuzzing of the feed parser with atheris (libFuzzer), run by hand.

    /work/venv/bin/pip install atheris
    /work/venv/bin/python bench/fuzz_parse.py                    # 10 minutes, then a summary
    /work/venv/bin/python bench/fuzz_parse.py --seconds 3600     # longer
    /work/venv/bin/python bench/fuzz_parse.py --all              # stop on known bugs too

``parse.read`` gets bytes and a Content-Type chosen by the fuzzer; anything but a ParseError
is a crash: libFuzzer stops, prints the traceback and writes the input to ``crash-<sha1>`` in
the working directory (give that file as the only argument to replay it). An input that takes
longer than ``--input-timeout`` seconds or more than 2 GB is a crash too, so entity bombs and
quadratic slow paths are found the same way.

The bugs tests/known_bugs.py names (each pinned by a strict xfail in tests/test_findings.py)
are named once when first met and skipped from then on (unless ``--all``), so a run looks
for new ones. The corpus
starts from tests/data/feeds and every feed of ../shared/corpora/realworld-feeds up to 64 KB,
copied to a scratch directory that libFuzzer grows as it finds inputs reaching new code; pass
``--corpus DIR`` to keep it between runs.

feedparser, aggregator.parse and aggregator.sanitize are instrumented for coverage; nh3 is
Rust and runs uninstrumented.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["feedparser", "aggregator"]):
    from aggregator.errors import ParseError
    from aggregator.parse import read

from tests.known_bugs import known_bug  # noqa: E402

REALWORLD = ROOT.parent / "shared" / "corpora" / "realworld-feeds"
URL = "https://fuzz.example/feed.xml"
# Small inputs run faster, and every structure a feed has fits in 64 KB.
MAX_INPUT = 65536
CONTENT_TYPES = [
    None,
    "application/rss+xml",
    "application/atom+xml; charset=utf-8",
    "application/xml; charset=iso-8859-1",
    "text/xml",
    "text/html; charset=windows-1252",
    "application/feed+json",
    "application/json; charset=utf-16",
    "text/plain; charset=klingon",
]

known_seen: Counter[str] = Counter()


def make_target(skip_known: bool) -> Callable[[bytes], None]:
    def test_one_input(data: bytes) -> None:
        provider = atheris.FuzzedDataProvider(data)
        content_type = CONTENT_TYPES[provider.ConsumeIntInRange(0, len(CONTENT_TYPES) - 1)]
        body = provider.ConsumeBytes(provider.remaining_bytes())
        try:
            read(body, URL, content_type)
        except ParseError:
            return
        except Exception as error:
            name = known_bug(error)
            if name is None or not skip_known:
                raise
            if not known_seen[name]:
                print(
                    f"\nfuzz_parse: known bug seen (skipped from now on): {name}", file=sys.stderr
                )
            known_seen[name] += 1

    return test_one_input


def seed_corpus(directory: Path) -> int:
    sources = [p for p in (ROOT / "tests" / "data" / "feeds").iterdir() if p.is_file()]
    manifest = REALWORLD / "manifest.json"
    if manifest.is_file():
        entries = json.loads(manifest.read_text())
        sources += [REALWORLD / e["file"] for e in entries if e["role"] == "feed"]
    sources = [source for source in sources if source.stat().st_size <= MAX_INPUT]
    for number, source in enumerate(sources):
        shutil.copyfile(source, directory / f"seed-{number:04d}-{source.name}")
    return len(sources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=600, help="how long to fuzz")
    parser.add_argument("--corpus", type=Path, help="a corpus directory to keep (grown)")
    parser.add_argument("--input-timeout", type=int, default=10, help="seconds per input")
    parser.add_argument("--all", action="store_true", help="stop on known bugs too")
    parser.add_argument("inputs", nargs="*", help="replay these files instead of fuzzing")
    args = parser.parse_args()

    if args.inputs:  # replay crash files: libFuzzer runs each once, the traceback shows
        libfuzzer_args = [sys.argv[0], *args.inputs]
    else:
        corpus = args.corpus or Path(tempfile.mkdtemp(prefix="pln-fuzz-corpus-"))
        corpus.mkdir(parents=True, exist_ok=True)
        seeds = seed_corpus(corpus)
        print(f"fuzz_parse: {seeds} seed files in {corpus}", file=sys.stderr)
        libfuzzer_args = [
            sys.argv[0],
            f"-max_total_time={args.seconds}",
            f"-timeout={args.input_timeout}",
            "-rss_limit_mb=2048",
            f"-max_len={MAX_INPUT}",
            str(corpus),
        ]
    atheris.Setup(libfuzzer_args, make_target(skip_known=not args.all))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
