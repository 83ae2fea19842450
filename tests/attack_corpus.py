"""Every XML attack of ../shared/corpora/hostile-inputs, made ready to serve as a feed.

Used by tests/test_xml_attacks.py (all attacks in one ``pln fetch``) and by
bench/xml_attacks.py (one ``pln fetch`` per attack, timed and measured).

Each document is rewritten so that *any* reach outside the feed is seen:

- every ``file:`` URL points at a planted secret file: if its text ever reaches the
  database, a file was read;
- every ``http(s):`` URL an attack names (external entities, external DTDs, XInclude,
  stylesheets) points at ``EXTERNAL_PREFIX`` on the local server, which logs requests: any
  request there is a request pln should never have made. Namespace names are left alone;
  they are identifiers, never fetched.

Beside the documents as they come (most have roots like <bomb> or <data>, which pln refuses
as "not a feed"), each attack with a DOCTYPE is also served *feed-shaped*: its DOCTYPE in
front of an RSS and an Atom feed whose titles and texts use its entities, so the attack
reaches the very fields pln stores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EXTERNAL_PREFIX",
    "HOSTILE",
    "SECRET_TEXT",
    "Attack",
    "Measured",
    "attacks",
    "extra_attacks",
    "run_pln_measured",
]

HOSTILE = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "hostile-inputs"
EXTERNAL_PREFIX = "/external/"
SECRET_TEXT = "PLN-PLANTED-SECRET-7f3a9c"  # what the planted file holds

# Lists of one-line attacks (with fragments and non-XML lines among them).
LINE_LISTS = ("xml-attacks.txt", "XXE_Fuzzing.txt")
NAMESPACES = (
    "http://www.w3.org/2005/Atom",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/2001/XInclude",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/1999/XSL/Transform",
    "http://purl.org/",
)
_FILE_URL = re.compile(r"file:/+[^\"'\s>]*")
_WEB_URL = re.compile(r"https?://[^\"'\s>]+")
# A DOCTYPE ends at "]>" when it has an internal subset, else at its first ">".
_DOCTYPE = re.compile(r"<!DOCTYPE\b[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL | re.IGNORECASE)
_GENERAL_ENTITY = re.compile(r"<!ENTITY\s+(?!%)([\w.-]+)")
_REFERENCE = re.compile(r"&([A-Za-z_][\w.-]*);")
_PREDEFINED = {"lt", "gt", "amp", "quot", "apos"}


@dataclass(frozen=True)
class Attack:
    name: str  # unique, usable in a URL path
    body: bytes
    origin: str  # the corpus file it came from
    shape: str  # "as is", "rss", "atom" or "extra"

    @property
    def path(self) -> str:
        return f"/attack/{self.name}"


def rewrite(text: str, secret: Path, base_url: str) -> str:
    """Point file: URLs at ``secret`` and web URLs at the local server's EXTERNAL_PREFIX."""
    text = _FILE_URL.sub(lambda _m: secret.resolve().as_uri(), text)
    counter = iter(range(1_000_000))

    def local(match: re.Match[str]) -> str:
        url = match.group()
        if url.startswith(NAMESPACES):
            return url
        return f"{base_url}{EXTERNAL_PREFIX}{next(counter)}"

    return _WEB_URL.sub(local, text)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def _feed_shaped(doctype: str, document: str) -> dict[str, str]:
    """RSS and Atom feeds behind ``doctype`` whose fields use every entity it declares."""
    names = set(_GENERAL_ENTITY.findall(doctype)) | set(_REFERENCE.findall(document))
    names -= _PREDEFINED
    used = " ".join(f"&{name};" for name in sorted(names)) or "no entity"
    rss = (
        f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n'
        '<rss version="2.0"><channel><title>Attack feed</title><link>https://attack.example/</link>'
        f"<description>{used}</description><item><guid>attack-1</guid>"
        f"<title>Attack {used}</title><author>{used}</author>"
        f"<description>Body {used}</description></item></channel></rss>\n"
    )
    atom = (
        f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Attack feed</title>'
        "<id>urn:attack</id><updated>2026-11-20T09:00:00Z</updated>"
        f"<entry><id>urn:attack:1</id><title>Attack {used}</title>"
        "<updated>2026-11-20T09:00:00Z</updated>"
        f'<author><name>{used}</name></author><content type="html">Body {used}</content>'
        "</entry></feed>\n"
    )
    return {"rss": rss, "atom": atom}


def _documents() -> list[tuple[str, str]]:
    """(origin, text) of every attack document in the corpus."""
    found: list[tuple[str, str]] = []
    folders = (HOSTILE / "defusedxml", HOSTILE / "payloadsallthethings" / "xxe")
    for path in sorted(p for folder in folders for p in folder.glob("*.xml")):
        found.append((f"{path.parent.name}/{path.name}", path.read_text("utf-8", "replace")))
    for name in LINE_LISTS:
        path = HOSTILE / "payloadsallthethings" / "xxe" / name
        for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), 1):
            if "<!DOCTYPE" in line or "<!ENTITY" in line:
                found.append((f"xxe/{name}:{number}", line))
    return found


def attacks(secret: Path, base_url: str) -> list[Attack]:
    """Every attack of the corpus as served: as it comes, and feed-shaped where it can be."""
    served: list[Attack] = []
    for origin, text in _documents():
        text = rewrite(text, secret, base_url)
        stem = _slug(origin)
        served.append(Attack(f"{stem}.xml", text.encode("utf-8"), origin, "as is"))
        doctype = _DOCTYPE.search(text)
        if doctype is None:
            # a bare ENTITY line: make it an internal subset of its own
            entity_lines = "\n".join(line for line in text.splitlines() if "<!ENTITY" in line)
            if not entity_lines:
                continue
            doctype_text = f"<!DOCTYPE rss [\n{entity_lines}\n]>"
        else:
            doctype_text = doctype.group()
        for shape, feed in _feed_shaped(doctype_text, text).items():
            served.append(Attack(f"{stem}.{shape}.xml", feed.encode("utf-8"), origin, shape))
    return served


def extra_attacks(secret: Path, base_url: str) -> list[Attack]:
    """Ways out of a feed that the corpus does not show, written for pln."""
    external = f"{base_url}{EXTERNAL_PREFIX}"
    secret_uri = secret.resolve().as_uri()
    item = "<item><guid>x-1</guid><title>{title}</title><description>{body}</description></item>"

    def rss(prolog: str, title: str = "Extra", body: str = "text", inside: str = "") -> bytes:
        return (
            f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}'
            '<rss version="2.0"><channel><title>Extra</title>'
            f"{inside}{item.format(title=title, body=body)}</channel></rss>"
        ).encode()

    documents = {
        "external-dtd.xml": rss(f'<!DOCTYPE rss SYSTEM "{external}dtd">\n', "&ext;"),
        "public-dtd.xml": rss(
            f'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "{external}pub">'
        ),
        "parameter-entity-oob.xml": rss(
            f'<!DOCTYPE rss [<!ENTITY % file SYSTEM "{secret_uri}">'
            f'<!ENTITY % dtd SYSTEM "{external}oob">%dtd;]>\n',
            "&send;",
        ),
        "xinclude.xml": rss(
            "",
            inside=(
                '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                f'href="{secret_uri}" parse="text"/>'
                '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                f'href="{external}xinclude"/>'
            ),
        ),
        "stylesheet.xml": rss(f'<?xml-stylesheet type="text/xsl" href="{external}xsl"?>\n'),
        "entity-in-attribute.xml": rss(
            f'<!DOCTYPE rss [<!ENTITY s SYSTEM "{secret_uri}">]>\n',
            inside='<image><url title="&s;">https://attack.example/i.png</url></image>',
        ),
        "utf16-entity.xml": (
            '<?xml version="1.0" encoding="utf-16"?>\n'
            f'<!DOCTYPE rss [<!ENTITY s SYSTEM "{secret_uri}">]>'
            '<rss version="2.0"><channel><title>t</title>'
            "<item><guid>u-1</guid><title>&s;</title></item></channel></rss>"
        ).encode("utf-16"),
    }
    return [
        Attack(name, body, "extra (tests/attack_corpus.py)", "extra")
        for name, body in documents.items()
    ]


# ── running pln in a child process, measured ─────────────────────────────────────────────


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # wall time
    max_rss: int  # bytes: the child's peak resident set size


# Runs pln, then writes the peak RSS of this process's own address space (VmHWM) to argv[1].
# ru_maxrss cannot be used: Linux carries the parent's peak across fork and exec into it, so
# late in a test run it would measure pytest, not pln.
_MEASURED_PLN = """
import re, sys
from pathlib import Path
from aggregator.cli import cli
report = Path(sys.argv[1])
try:
    cli.main(args=sys.argv[2:], prog_name="pln")
finally:
    status = Path("/proc/self/status").read_text()
    report.write_text(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
"""


def run_pln_measured(site: Path, *args: str, timeout: float = 300) -> Measured:
    """``pln --site SITE ARGS`` as a child process: its output, wall time and peak memory.

    Parsing runs in the same process (PLN_WORKERS=0), so the child's peak RSS is that of the
    whole fetch; the child reports it itself (VmHWM), see _MEASURED_PLN.
    """
    env = {**os.environ, "PLN_WORKERS": "0"}
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "peak_kb"
        command = [
            sys.executable,
            "-c",
            _MEASURED_PLN,
            str(report),
            "--site",
            str(site),
            *args,
        ]
        started = time.perf_counter()
        child = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
        seconds = time.perf_counter() - started
        peak_kb = int(report.read_text()) if report.exists() else 0
        return Measured(child.returncode, child.stdout, child.stderr, seconds, peak_kb * 1024)
