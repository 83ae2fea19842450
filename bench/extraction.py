"""How well and how fast pln extracts articles, next to trafilatura's own defaults.

    /work/venv/bin/python bench/extraction.py            # prints, and writes docs/benchmarks.md
    /work/venv/bin/python bench/extraction.py --no-write # prints only

Two corpora from ../shared/corpora (skipped when absent):

- scrapinghub-article-extraction-benchmark: 100 real article pages with the gold article
  text. Scored on words: each page's extracted words against its gold words as multisets
  (lower-cased ``\\w+`` tokens). "micro" adds the matches of all pages up before dividing;
  "mean" is the average of the pages' own scores (a page with no output scores 0).
- trafilatura-eval: 100 annotated pages, each with snippets that must appear in the text
  ("with") and snippets that must not ("without", boilerplate). A "with" snippet found is a
  true positive, a "without" snippet found a false positive.

"pln" is ``aggregator.extract.extract_page`` on the page's bytes: our decoding, comments
left out, our settings. "trafilatura defaults" is ``trafilatura.extract(bytes, url=url)``
with nothing changed. Both run in this process, one page after another; the time is the
wall-clock time per page, decoding included.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.extract import decode_page, extract_page  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
SCRAPINGHUB = CORPORA / "scrapinghub-article-extraction-benchmark"
TRAFILATURA_EVAL = CORPORA / "trafilatura-eval"
REPORT = ROOT / "docs" / "benchmarks.md"
HEADING = "## Extraction"

Extractor = Callable[[bytes, str], str]
_WORD = re.compile(r"\w+")


def ours(body: bytes, url: str) -> str:
    article = extract_page(body, url)
    return article.text if article else ""


def ours_without_metadata(body: bytes, url: str) -> str:
    article = extract_page(body, url, metadata=False)
    return article.text if article else ""


def our_decoding_then_defaults(body: bytes, url: str) -> str:
    """Our decoding, then trafilatura with its defaults (comments kept): what the pipeline
    around trafilatura changes, apart from our settings."""
    return trafilatura.extract(decode_page(body), url=url) or ""


def trafilatura_defaults(body: bytes, url: str) -> str:
    return trafilatura.extract(body, url=url) or ""


EXTRACTORS: dict[str, Extractor] = {
    "pln": ours,
    "pln, feed gave title, author, date": ours_without_metadata,
    "pln decoding, trafilatura defaults": our_decoding_then_defaults,
    "trafilatura defaults": trafilatura_defaults,
}


# ── scoring ──────────────────────────────────────────────────────────────────────────────


@dataclass
class WordScore:
    true_positive: int = 0
    extracted: int = 0
    gold: int = 0
    page_precision: list[float] | None = None
    page_recall: list[float] | None = None
    page_f1: list[float] | None = None
    seconds: float = 0.0
    pages: int = 0

    def add(self, extracted: str, gold: str, seconds: float) -> None:
        got = Counter(_WORD.findall(extracted.lower()))
        want = Counter(_WORD.findall(gold.lower()))
        matched = sum((got & want).values())
        self.true_positive += matched
        self.extracted += sum(got.values())
        self.gold += sum(want.values())
        precision = matched / sum(got.values()) if got else 0.0
        recall = matched / sum(want.values()) if want else 0.0
        for name, value in (
            ("page_precision", precision),
            ("page_recall", recall),
            ("page_f1", _f1(precision, recall)),
        ):
            values = getattr(self, name) or []
            values.append(value)
            setattr(self, name, values)
        self.seconds += seconds
        self.pages += 1

    @property
    def precision(self) -> float:
        return self.true_positive / self.extracted if self.extracted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.gold if self.gold else 0.0


@dataclass
class SnippetScore:
    true_positive: int = 0
    false_negative: int = 0
    false_positive: int = 0
    true_negative: int = 0
    seconds: float = 0.0
    pages: int = 0

    def add(self, extracted: str, wanted: list[str], unwanted: list[str], seconds: float) -> None:
        text = " ".join(extracted.split())
        for snippet in wanted:
            if " ".join(snippet.split()) in text:
                self.true_positive += 1
            else:
                self.false_negative += 1
        for snippet in unwanted:
            if " ".join(snippet.split()) in text:
                self.false_positive += 1
            else:
                self.true_negative += 1
        self.seconds += seconds
        self.pages += 1

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 0.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 0.0

    @property
    def accuracy(self) -> float:
        total = self.true_positive + self.false_negative + self.false_positive + self.true_negative
        return (self.true_positive + self.true_negative) / total if total else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _timed(extractor: Extractor, body: bytes, url: str) -> tuple[str, float]:
    started = time.perf_counter()
    text = extractor(body, url)
    return text, time.perf_counter() - started


# ── corpora ──────────────────────────────────────────────────────────────────────────────


def run_scrapinghub() -> dict[str, WordScore]:
    gold = json.loads((SCRAPINGHUB / "ground-truth.sample100.json").read_text(encoding="utf-8"))
    scores = {name: WordScore() for name in EXTRACTORS}
    for key in sorted(gold):
        body = gzip.decompress((SCRAPINGHUB / "html" / f"{key}.html.gz").read_bytes())
        for name, extractor in EXTRACTORS.items():
            text, seconds = _timed(extractor, body, gold[key]["url"])
            scores[name].add(text, gold[key]["articleBody"], seconds)
    return scores


def run_trafilatura_eval() -> dict[str, SnippetScore]:
    cases = json.loads((TRAFILATURA_EVAL / "evaldata.sample.json").read_text(encoding="utf-8"))
    scores = {name: SnippetScore() for name in EXTRACTORS}
    for url, case in sorted(cases.items()):
        body = gzip.decompress((TRAFILATURA_EVAL / case["file"]).read_bytes())
        for name, extractor in EXTRACTORS.items():
            text, seconds = _timed(extractor, body, url)
            scores[name].add(text, case.get("with", []), case.get("without", []), seconds)
    return scores


# ── report ───────────────────────────────────────────────────────────────────────────────


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, trafilatura {trafilatura.__version__}"
    )


def render(words: dict[str, WordScore] | None, snippets: dict[str, SnippetScore] | None) -> str:
    lines = [
        HEADING,
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {_machine()}",
        "- command: `/work/venv/bin/python bench/extraction.py`",
        "- pln: `aggregator.extract.extract_page` (our decoding, `include_comments=False`, "
        "metadata on); trafilatura defaults: `trafilatura.extract(bytes, url=url)`",
        "",
    ]
    if words:
        lines += [
            "### scrapinghub article-extraction-benchmark (100 pages, gold article text)",
            "",
            "Words of the extraction against the gold text's, as multisets of lower-cased words.",
            "",
            "| extractor | precision | recall | F1 | mean page precision | mean page recall "
            "| mean page F1 | ms/page |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, score in words.items():
            lines.append(
                f"| {name} | {score.precision:.3f} | {score.recall:.3f} "
                f"| {_f1(score.precision, score.recall):.3f} "
                f"| {statistics.fmean(score.page_precision or [0]):.3f} "
                f"| {statistics.fmean(score.page_recall or [0]):.3f} "
                f"| {statistics.fmean(score.page_f1 or [0]):.3f} "
                f"| {1000 * score.seconds / max(score.pages, 1):.1f} |"
            )
        lines.append("")
    if snippets:
        lines += [
            "### trafilatura-eval (100 annotated pages: snippets that must and must not appear)",
            "",
            "| extractor | precision | recall | F1 | accuracy | ms/page |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, score in snippets.items():
            lines.append(
                f"| {name} | {score.precision:.3f} | {score.recall:.3f} "
                f"| {_f1(score.precision, score.recall):.3f} | {score.accuracy:.3f} "
                f"| {1000 * score.seconds / max(score.pages, 1):.1f} |"
            )
        lines.append("")
    lines += [
        "Reading the figures: pln leaves comments out (the issue asks for it; trafilatura's",
        "default keeps them), which is most of its gain in precision; on trafilatura-eval some",
        "pages count snippets of their comments as wanted text, which is the recall it gives up",
        "there. With comments kept as trafilatura's defaults do (third row), our decoding",
        "and HTML loses nothing against trafilatura reading the bytes itself (last row).",
        "The metadata (title, author, date) costs about a third of the time of a page;",
        "pln looks for it only when the feed left one of them out (second row). Times are",
        "wall-clock on a shared 2-core machine, one page after another: compare rows, not runs.",
        "",
    ]
    return "\n".join(lines)


def write_section(section: str) -> None:
    """Replace (or add) the Extraction section of docs/benchmarks.md, leaving the rest."""
    current = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Benchmarks\n"
    start = current.find(HEADING + "\n")
    if start < 0:
        updated = current.rstrip("\n") + "\n\n" + section
    else:
        following = current.find("\n## ", start + len(HEADING))
        rest = current[following + 1 :] if following >= 0 else ""
        updated = current[:start] + section + ("\n" + rest if rest else "")
    REPORT.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print, do not write the docs")
    args = parser.parse_args()
    words = run_scrapinghub() if SCRAPINGHUB.is_dir() else None
    snippets = run_trafilatura_eval() if TRAFILATURA_EVAL.is_dir() else None
    if words is None and snippets is None:
        print(f"no corpus under {CORPORA}: nothing to measure", file=sys.stderr)
        return 1
    section = render(words, snippets)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"written to {REPORT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
