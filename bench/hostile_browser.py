"""Every XSS payload of the corpus in every field, fetched, built, mailed, and opened in Chromium.

    /work/venv/bin/python bench/hostile_browser.py            # the full run, prints figures
    /work/venv/bin/python bench/hostile_browser.py --keep     # and keeps the scratch site

tests/hostile_pages.py does the work (see its docstring): every payload of
../shared/corpora/hostile-inputs in the title, summary, content, author name and link of an
RSS, an Atom and a JSON Feed entry and in a Mastodon status, and every feed of
feedparser-tests/wellformed/sanitize, served on 127.0.0.1; then the real `pln fetch`, `pln
build` and `pln email --out` in child processes; then every .html under output/ (and the search
page once per hostile query) served by the real `pln serve`, the email's HTML part and the
site's Atom feeds (as XML documents), opened in Debian's chromium with hooks on dialogs and on
every way to navigate. Two positive controls show the hooks fire: unsanitized pages, one way
out each; and the same stored posts rebuilt through a site template that prints titles
unescaped. Exit status 1 if anything fired on the real pages or a control stayed silent.
tests/test_hostile_browser.py asserts the same in the normal suite; this script is the whole
run, with its figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import hostile_pages as hp  # noqa: E402
from tests.server import LocalHTTPServer  # noqa: E402


def _step(name: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {name}: {now - started:.1f} s", flush=True)
    return now


def _check(done: object, what: str) -> None:
    returncode = getattr(done, "returncode", 1)
    if returncode != 0:
        print(getattr(done, "stdout", ""), getattr(done, "stderr", ""), file=sys.stderr)
        raise SystemExit(f"{what} exited {returncode}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch site directory")
    args = parser.parse_args()
    why = hp.chromium_missing()
    if why or not hp.corpus_available():
        raise SystemExit(why or f"the corpus is missing: {hp.CORPORA}")
    scratch = Path(tempfile.mkdtemp(prefix="pln-hostile-"))
    try:
        clean = run(scratch)
    finally:
        if args.keep:
            print(f"scratch site kept: {scratch / 'site'}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print("result: nothing fired" if clean else "result: SOMETHING FIRED (see above)")
    return 0 if clean else 1


@dataclass
class Browsed:
    """What Chromium saw, per kind of page."""

    control: list[hp.PageResult]
    site: list[hp.PageResult]
    email: list[hp.PageResult]
    atom: list[hp.PageResult]
    unsafe: hp.Tally
    stray: list[str]  # refused requests that no page of ours made


def run(scratch: Path) -> bool:
    """The whole run, printing as it goes; True when nothing fired."""
    total = time.perf_counter()
    payloads = hp.corpus_payloads()
    site = scratch / "site"
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores")
    print(f"load average before: {_load()}")
    with LocalHTTPServer() as server, LocalHTTPServer() as pages:
        network = hp.build_network(server, payloads, hp.sanitize_feeds(), datetime.now(UTC))
        hp.write_site(site, network)
        _commands(site, pages, scratch / "digest.eml")
        started = time.perf_counter()
        browsed = _browse(site, pages, scratch / "unsafe")
        _step("Chromium", started)
    built_pages = hp.built_pages(site / "output")
    clean = report(payloads, network, browsed, built_pages)
    print(f"load average after: {_load()}")
    print(f"time: {time.perf_counter() - total:.0f} s in all")
    return clean


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _commands(site: Path, pages: LocalHTTPServer, eml: Path) -> None:
    """pln fetch, build and email --out; the email's HTML goes on ``pages``."""
    for args in (("fetch",), ("build",), ("email", "--out", str(eml))):
        started = time.perf_counter()
        done = hp.run_pln(site, *args)
        _check(done, f"pln {args[0]}")
        if done.stdout.strip():
            print("    " + done.stdout.strip().splitlines()[0])
        _step("pln " + " ".join(args[:2]), started)
    pages.add("/email.html", hp.email_html(eml), content_type="text/html; charset=utf-8")


def _browse(site: Path, pages: LocalHTTPServer, unsafe_dir: Path) -> Browsed:
    controls = hp.serve_control(pages)
    with hp.chromium() as browser, hp.serve_output(site) as base:
        # the control's popup makes requests of its own: only the real pages' strays count
        control = _visit(browser, list(controls.values()))[0]
        every_page = hp.page_urls(base, hp.built_pages(site / "output"))
        built, stray_site = _visit(browser, every_page, hp.SEARCH_READY)
        email, stray_email = _visit(browser, [pages.url("/email.html")])
        atom, stray_atom = _visit(browser, hp.serve_feeds(pages, site / "output"))
        unsafe = _unsafe_control(browser, site, unsafe_dir)
    return Browsed(control, built, email, atom, unsafe, stray_site + stray_email + stray_atom)


def _visit(
    browser: object, urls: list[str], ready: str | None = None
) -> tuple[list[hp.PageResult], list[str]]:
    """The pages' results, and requests refused that no open page made (a popup's)."""
    watcher = hp.Watcher(browser)
    try:
        return watcher.visit(urls, ready=ready), watcher.unattributed
    finally:
        watcher.close()


def _unsafe_control(browser: object, site: Path, copy: Path) -> hp.Tally:
    """The two newest day pages of the site rebuilt with titles unescaped: must fire."""
    _check(hp.run_pln(hp.unsafe_copy(site, copy), "build"), "pln build (unsafe copy)")
    newest_days = [page for page in hp.built_pages(copy / "output") if page[:4].isdigit()][-2:]
    with hp.serve_output(copy) as base:
        results, _ = _visit(browser, [base + page for page in newest_days])
    tally = hp.Tally()
    for result in results:
        tally.add(result)
    return tally


def report(
    payloads: list[hp.Payload], network: hp.Network, seen: Browsed, built_pages: list[str]
) -> bool:
    """Print the figures; True when both controls fired and nothing else did."""
    xss = sum(1 for p in payloads if p.origin.startswith("xss/"))
    print(
        f"payloads: {len(payloads)} ({xss} PayloadsAllTheThings lines, "
        f"{len(payloads) - xss} DOMPurify cases); sanitize feeds: {network.sanitize_feeds}"
    )
    for name in hp.FIELDS:
        print(f"  {name}: {network.placed[name]} placements")
    caught = _report_control(seen.control)
    quiet = all(
        _report_pages(label, results, extra)
        for label, results, extra in (
            ("site", seen.site, f" ({len(built_pages)} .html files and the searches)"),
            ("email", seen.email, ""),
            ("Atom feeds (as application/xml)", seen.atom, ""),
        )
    )
    print(
        f"end-to-end control (the same posts, titles unescaped by a site template): "
        f"{seen.unsafe.dialogs} dialogs and {seen.unsafe.navigations} navigations fired on "
        f"{seen.unsafe.pages} day pages"
    )
    print(f"refused requests no page of ours made: {seen.stray}")
    fired_unsafe = seen.unsafe.dialogs > 0 and seen.unsafe.navigations > 0
    return caught and quiet and fired_unsafe and not seen.stray


def _report_control(control: list[hp.PageResult]) -> bool:
    names = list(hp.CONTROL_PAGES)
    caught = [hp.control_caught(name, r) for name, r in zip(names, control, strict=True)]
    print(f"positive control: {sum(caught)} of {len(caught)} ways out caught")
    for name, result, ok in zip(names, control, caught, strict=True):
        print(f"    {'caught' if ok else 'MISSED'} {name}: {(result.fired + result.static)[:3]}")
    return all(caught)


def _report_pages(label: str, results: list[hp.PageResult], extra: str) -> bool:
    tally = hp.Tally()
    for result in results:
        tally.add(result)
    print(
        f"{label}: {tally.pages} pages opened{extra}, {tally.entries} entries shown; "
        f"dialogs fired: {tally.dialogs}; navigations fired: {tally.navigations}; "
        f"latent (DOM audit): {tally.static}; remote images refused: {tally.remote_images}"
    )
    for result in results:
        for event in result.fired + result.static:
            print(f"    FIRED {result.url}: {event}")
    return not (tally.dialogs or tally.navigations or tally.static)


if __name__ == "__main__":
    raise SystemExit(main())
