"""Feed bytes in, sanitized posts out; or, for an HTML page, the feeds it names. Pure.

``read`` decides what a body is (JSON Feed, RSS/Atom/RDF, an HTML page) and hands it to the
reader for that kind. RSS, Atom and RDF go through feedparser, the only module that imports it,
always given bytes (never a URL or a path) and with its own sanitizing and URL resolving off:
``sanitize.clean_html`` does both in one pass (feedparser's own pass would be about half of
its running time). JSON Feed has its own small reader, since feedparser 6 does not read it.

The plainest RSS 2.0 and Atom documents skip feedparser: ``fastparse`` reads them with lxml
into the very keys feedparser would produce, and declines (feedparser reads it then) anything
it cannot read identically; both readings go through the same cleaning below.

XML bodies are defused before feedparser sees them: every declaration before the root
element (DOCTYPE, ENTITY, internal subsets) is cut out, so entity bombs and external entities
never expand and no file or URL is ever opened.

``read`` is a top-level function taking and returning plain picklable data, so that the app
can run it in a process pool.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import re
import xml.sax
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import escape
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from aggregator import fastparse
from aggregator.errors import ParseError
from aggregator.models import FeedLinks, ParsedFeed, ParsedPost
from aggregator.sanitize import (
    LinkTag,
    clean_html,
    html_to_text,
    links_in,
    page_head,
    plain_text,
    without_surrogates,
)

__all__ = ["read"]


def _fail(url: str, message: str) -> ParseError:
    return ParseError(url, message)


def read(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed | FeedLinks:
    """Read ``body``, fetched from ``url``: a feed gives ParsedFeed, an HTML page FeedLinks.

    ``content_type`` is the HTTP Content-Type header; its charset wins over the document's
    own declaration, as HTTP says. Raises ParseError for anything that is neither.
    """
    if not body.strip():
        raise _fail(url, "not a feed: empty body")
    body = _inflated(body, url)
    kind = _sniff(body, content_type)
    if kind == "json":
        return _read_json_feed(body, url)
    if kind == "html":
        return _read_html_page(body, url, content_type)
    return _read_xml_feed(body, url, content_type)


# Servers that keep feeds as .gz files send them without Content-Encoding; the cap keeps a
# small decompression bomb from turning into gigabytes.
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_INFLATED = 32_000_000


def _inflated(body: bytes, url: str) -> bytes:
    if not body.startswith(_GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(body, _MAX_INFLATED)
    except zlib.error as error:
        raise _fail(
            url, f"not a feed: a gzip body that cannot be decompressed ({error})"
        ) from error
    if inflater.unconsumed_tail:
        raise _fail(url, f"not a feed: a gzip body larger than {_MAX_INFLATED} bytes unpacked")
    return inflated


# ── what is it ───────────────────────────────────────────────────────────────────────────

_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})
_HTML_ROOTS = frozenset({"html", "head", "body", "meta", "link", "title", "script", "div", "p"})
_SNIFF_BYTES = 65536  # how far into a body to look for its root element or a meta charset
_ELEMENT_NAME = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_HTML_DOCTYPE = re.compile(rb"<!doctype\s+html", re.IGNORECASE)


def _sniff(body: bytes, content_type: str | None) -> str:
    """'json', 'html' or 'xml', from the bytes first and the declared type second."""
    text = _ascii_compatible(body[:_SNIFF_BYTES])
    start = text.lstrip(b" \t\r\n\f")
    if start[:1] in (b"{", b"["):
        return "json"
    root = _root_element(text)
    if root in _FEED_ROOTS:
        return "xml"
    if root in _HTML_ROOTS or _HTML_DOCTYPE.search(text, 0, 1024):
        return "html"
    media_type = _media_type(content_type)
    if "json" in media_type:
        return "json"
    if "html" in media_type and "xhtml" not in media_type:
        return "html"
    return "xml"


def _root_element(head: bytes) -> str | None:
    """The local name, lower-cased, of the first element after the prolog."""
    end = _prolog_end(head)
    found = _ELEMENT_NAME.match(head, end)
    if found is None:
        return None
    return found.group(1).decode("ascii", "replace").rpartition(":")[2].lower()


def _media_type(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip().lower()


def _charset(content_type: str | None) -> str | None:
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower()
            return charset if _known_codec(charset) else None
    return None


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return bool(name)


# ── encodings that hide the markup from a byte-level look ────────────────────────────────

_WIDE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # "<?xm" in EBCDIC
)


def _wide_encoding(body: bytes) -> str | None:
    """The codec of a body whose ASCII characters are not single ASCII bytes, if it is one."""
    if body.startswith(codecs.BOM_UTF8):
        return None
    return next((codec for mark, codec in _WIDE_SIGNATURES if body.startswith(mark)), None)


def _ascii_compatible(body: bytes) -> bytes:
    """``body`` re-encoded as UTF-8 when it is UTF-16/32 or EBCDIC, else as it is."""
    codec = _wide_encoding(body)
    if codec is None:
        return body[3:] if body.startswith(codecs.BOM_UTF8) else body
    return body.decode(codec, "replace").lstrip("\ufeff").encode("utf-8")


# ── defusing XML ─────────────────────────────────────────────────────────────────────────

# Inside the prolog: the start of a comment, PI, CDATA section, declaration, or element.
_PROLOG_MARKUP = re.compile(rb"<(!--|\?|!\[CDATA\[|!|[A-Za-z_])")
_XML_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml\s[^<>]*?\?>", re.IGNORECASE)
# A declaration ends at the first '>' outside quotes, brackets and comments.
_DECLARATION_PART = re.compile(rb'"[^"]*"|\'[^\']*\'|<!--.*?-->|[\[\]>]', re.DOTALL)
_TERMINATORS = {b"!--": b"-->", b"?": b"?>", b"![CDATA[": b"]]>"}


def _declaration_end(data: bytes, start: int) -> int:
    depth = 0
    for part in _DECLARATION_PART.finditer(data, start + 2):
        token = part.group()
        if token == b"[":
            depth += 1
        elif token == b"]":
            depth = max(depth - 1, 0)
        elif token == b">" and depth == 0:
            return part.end()
    return len(data)


def _prolog_end(data: bytes) -> int:
    """Where the root element starts (or the end of ``data`` when it has none)."""
    return _prolog(data)[0]


def _prolog(data: bytes) -> tuple[int, list[tuple[int, int, bytes]]]:
    """The root element's offset, and each piece of markup before it: (start, end, kind)."""
    pieces: list[tuple[int, int, bytes]] = []
    position = 0
    while (found := _PROLOG_MARKUP.search(data, position)) is not None:
        kind = found.group(1)
        if kind not in _TERMINATORS and kind != b"!":
            return found.start(), pieces
        if kind == b"!":
            end = _declaration_end(data, found.start())
        else:
            close = data.find(_TERMINATORS[kind], found.end())
            end = len(data) if close < 0 else close + len(_TERMINATORS[kind])
        pieces.append((found.start(), end, kind))
        position = end
    return len(data), pieces


_LEADING_SPACE = re.compile(rb"\A(\xef\xbb\xbf)?\s+(?=<\?xml\s)")


def _declaration_first(body: bytes) -> bytes:
    """Without the blank lines some servers print before the XML declaration.

    expat refuses a declaration that is not at the very start, which would send the whole
    feed to feedparser's slower and looser fallback parser.
    """
    return _LEADING_SPACE.sub(rb"\1", body, count=1)


@dataclass(frozen=True)
class _Defused:
    body: bytes
    declared_entities: bool  # a DOCTYPE with an internal subset or an ENTITY was cut out


def _defuse(body: bytes) -> _Defused:
    """``body`` with only the XML declaration left of its prolog.

    DOCTYPEs, ENTITY declarations, comments and PIs before the root element are all cut:
    expat then has no entity to expand, and feedparser's own pass, which re-inserts "safe"
    entities found in that region (a quadratic blow-up), finds none.
    """
    body = _declaration_first(body)
    _, pieces = _prolog(body)
    if not pieces:
        return _Defused(body, declared_entities=False)
    declaration = _XML_DECLARATION.match(body)
    keep_until = declaration.end() if declaration else 0
    kept: list[bytes] = []
    position = 0
    declared_entities = False
    for start, end, kind in pieces:
        if end <= keep_until:
            continue
        if kind == b"!":
            declaration_text = body[start:end]
            declared_entities |= b"[" in declaration_text or b"ENTITY" in declaration_text.upper()
        kept.append(body[position:start])
        position = end
    kept.append(body[position:])
    return _Defused(b"".join(kept), declared_entities)


# ── RSS, Atom, RDF ───────────────────────────────────────────────────────────────────────

_LATIN_FAMILY = frozenset({"iso-8859-1", "latin-1", "latin1", "windows-1252", "us-ascii", "ascii"})


def _feedparser_content_type(body: bytes, content_type: str | None) -> tuple[str, str | None]:
    """The Content-Type to show feedparser, and a problem worth reporting, if any.

    Always an XML media type, so that feedparser follows the charset parameter, else the XML
    declaration, else UTF-8 (RFC 7303), rather than RFC 3023's us-ascii for text/xml or
    iso-8859-1 when there is no header; and a body declared latin-1 that is valid UTF-8 is
    read as UTF-8, the usual misconfiguration of a server that sends a default charset.
    """
    charset = _charset(content_type)
    if charset in _LATIN_FAMILY and not body.isascii() and _is_utf8(body):
        return "application/xml; charset=utf-8", f"the server said {charset} but sent UTF-8"
    return ("application/xml" + (f"; charset={charset}" if charset else "")), None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_xml_feed(body: bytes, url: str, content_type: str | None) -> ParsedFeed | FeedLinks:
    problems: list[str] = []
    if _wide_encoding(body) is not None:
        body = _ascii_compatible(body)
        content_type = "application/xml; charset=utf-8"
    defused = _defuse(body)
    if defused.declared_entities:
        problems.append("ignored a DOCTYPE that declares entities (they are never expanded)")
    xml_type, charset_problem = _feedparser_content_type(defused.body, content_type)
    if charset_problem:
        problems.append(charset_problem)
    xml_body = _with_safe_declaration(_with_safe_char_refs(defused.body))
    # G (review finding 4): both paths read the repaired bytes.
    xml_body, repair_problem = _repaired_utf8(xml_body, xml_type)
    if repair_problem:
        problems.append(repair_problem)
    result = _read_fast(xml_body, url, xml_type) or _read_with_feedparser(xml_body, url, xml_type)
    entries: list[Any] = result.get("entries", [])
    version: str = result.get("version") or ""
    if not entries and not version:
        return _not_a_feed(defused.body, url, content_type, result)
    if result.get("bozo"):
        problems.append(_describe(result.get("bozo_exception")))
    form = _format(version, defused.body)
    # In RSS, content comes only from content:encoded, xhtml:body or fullitem; without
    # any of them in the document, every "content" feedparser reports is a stray.
    real_content = form == "atom" or _RSS_CONTENT_ELEMENT.search(defused.body) is not None
    return _feed_from(result, url, form, problems, real_content)


# ── G (review finding 4): a few bad bytes in a UTF-8 feed ───────────────────────────────
# feedparser meets one byte that is not UTF-8 in a feed that is UTF-8 and re-reads the
# whole body as windows-1252, then iso-8859-2, garbling every accented letter. A body that
# is said (or, with no charset anywhere, assumed) to be UTF-8 and is mostly valid UTF-8 is
# repaired first, as a browser does: only each bad byte becomes U+FFFD. A body whose
# non-ASCII bytes are mostly not UTF-8 (a windows-1252 feed mislabelled as UTF-8) is left
# to feedparser's fallback, which reads it right; so is a feed declaring another charset.

_UTF8_NAMES = frozenset({"utf-8", "utf8"})


def _said_or_assumed_utf8(body: bytes, xml_type: str) -> bool:
    """Whether feedparser is to read ``body`` as UTF-8: the HTTP charset, else the XML
    declaration's encoding, else XML's default; a UTF-8 byte-order mark settles it."""
    if body.startswith(codecs.BOM_UTF8):
        return True
    charset = _charset(xml_type)
    if charset is not None:
        return charset in _UTF8_NAMES
    declared = _DECLARED_ENCODING.match(body)
    return declared is None or declared.group(3).lower() in (b"utf-8", b"utf8")


def _repaired_utf8(body: bytes, xml_type: str) -> tuple[bytes, str | None]:
    """``body`` with its bytes that are not UTF-8 replaced, when it is a UTF-8 feed with a
    few of them; and the problem to report. Otherwise ``body`` as it is."""
    if body.isascii() or not _said_or_assumed_utf8(body, xml_type) or _is_utf8(body):
        return body, None
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd") - body.count("\ufffd".encode())
    good = len(text) - len(text.encode("ascii", "ignore")) - text.count("\ufffd")
    if good <= bad:
        return body, None
    noun = "sequence" if bad == 1 else "sequences"
    return text.encode("utf-8"), f"replaced {bad} invalid UTF-8 {noun} with U+FFFD"


# The fast path (fastparse, lxml) reads the plainest RSS 2.0 and Atom documents the way
# feedparser does, several times faster; it declines everything else, which feedparser reads.
# False makes every document go through feedparser (tests and bench/fastparse_compare.py);
# so does PLN_FAST_PARSE=0 in the environment, for a run to compare with.
fast_path = os.environ.get("PLN_FAST_PARSE", "1") != "0"


def _read_fast(xml_body: bytes, url: str, xml_type: str) -> Mapping[str, Any] | None:
    if not fast_path:
        return None
    return fastparse.read(xml_body, url, xml_type)


def _read_with_feedparser(xml_body: bytes, url: str, xml_type: str) -> Mapping[str, Any]:
    try:
        result: Mapping[str, Any] = feedparser.parse(
            io.BytesIO(xml_body),
            response_headers={"content-type": xml_type, "content-location": url},
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except Exception as error:  # feedparser is third-party code fed hostile bytes
        raise _fail(
            url, f"not a feed: the XML parser failed on it ({type(error).__name__}: {error})"
        ) from error
    return result


# A numeric character reference to a surrogate or past U+10FFFF is no character: nh3 and
# SQLite cannot encode it and feedparser's loose parser crashes on it.
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_LAST_CODE_POINT = 0x10FFFF


def _with_safe_char_refs(body: bytes) -> bytes:
    def replace(match: re.Match[bytes]) -> bytes:
        hex_digits, decimal_digits = match.groups()
        number = int(hex_digits, 16) if hex_digits else int(decimal_digits)
        if 0xD800 <= number <= 0xDFFF or number > _LAST_CODE_POINT:
            return b"&#xFFFD;"
        return match.group(0)

    return _CHAR_REF.sub(replace, body)


# feedparser decodes the declared encoding's name, then the body with it: a name that is
# not plain ASCII is dropped, and the bytes are read as the HTTP header or UTF-8 says.
_DECLARED_ENCODING = re.compile(rb"\A(\s*<\?xml[^>]*?)\s+encoding=([\"'])(.*?)\2")
_ENCODING_NAME = re.compile(rb"\A[A-Za-z][A-Za-z0-9._-]*\Z")


def _with_safe_declaration(body: bytes) -> bytes:
    match = _DECLARED_ENCODING.match(body)
    if match is None or _ENCODING_NAME.match(match.group(3)):
        return body
    return match.group(1) + body[match.end() :]


def _not_a_feed(
    body: bytes, url: str, content_type: str | None, result: Mapping[str, Any]
) -> FeedLinks:
    """An HTML page when it looks like one; else a ParseError saying what the body was."""
    if b"<html" in body[:_SNIFF_BYTES].lower() or "html" in _media_type(content_type):
        return _read_html_page(body, url, content_type)
    root = _root_element(body[:_SNIFF_BYTES])
    if result.get("bozo") and root is None:
        raise _fail(url, f"not a feed: {_describe(result.get('bozo_exception'))}")
    if root is None:
        raise _fail(url, "not a feed: no XML element in the body")
    raise _fail(url, f"not a feed: XML whose root element is <{root}>, not RSS, Atom or RDF")


def _format(version: str, body: bytes) -> str:
    if version in ("rss090", "rss10"):
        return "rdf"
    if version.startswith("atom"):
        return "atom"
    if version.startswith("rss"):
        return "rss"
    root = _root_element(body[:_SNIFF_BYTES])
    return {"feed": "atom", "rdf": "rdf"}.get(root or "", "rss")


def _describe(error: object) -> str:
    """A bozo exception in words a person reads."""
    if isinstance(error, xml.sax.SAXParseException):
        return (
            f"not well-formed XML at line {error.getLineNumber()}, column "
            f"{error.getColumnNumber()} ({error.getMessage()}); read leniently"
        )
    if isinstance(error, feedparser.CharacterEncodingOverride):
        return f"wrong character encoding: {error}"
    if isinstance(error, feedparser.CharacterEncodingUnknown):
        return f"unknown character encoding: {error}"
    if isinstance(error, feedparser.UndeclaredNamespace):
        return f"undeclared XML namespace: {error}"
    return str(error) or type(error).__name__


def _feed_from(
    result: Mapping[str, Any], url: str, form: str, problems: list[str], real_content: bool
) -> ParsedFeed:
    channel = _well_shaped(result.get("feed", {}))
    feed_author = _author(channel)
    posts: list[ParsedPost] = []
    for entry in result.get("entries", []):
        try:
            posts.append(_post_from(_well_shaped(entry), url, feed_author, form, real_content))
        except _SHAPE_ERRORS as error:  # a last guard: one odd entry never costs the feed
            problems.append(f"skipped an entry of an unexpected shape ({error})")
    return ParsedFeed(
        url=url,
        format=form,
        title=plain_text(_as_str(channel.get("title"))) or None,
        link=_web_url(channel.get("link"), url),
        posts=tuple(posts),
        problems=tuple(problems),
    )


# An element named like one of feedparser's own keys (<authors>, <title_detail>) puts a
# string where feedparser's own list or mapping belongs: such a value is dropped.
_LIST_KEYS = ("authors", "contributors", "tags", "content", "links", "enclosures")
_MAPPING_KEYS = ("author_detail", "title_detail", "summary_detail", "publisher_detail")
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, ValueError)


def _well_shaped(node: object) -> dict[str, Any]:
    """A plain dict of ``node`` whose structured keys hold what feedparser puts there.

    Plain dicts also avoid FeedParserDict's key aliases, which would answer
    "updated_parsed" with the published date (and warn), and cost a lookup on every access.
    """
    shaped: dict[str, Any] = dict(node) if isinstance(node, Mapping) else {}
    for key in _LIST_KEYS:
        value = shaped.get(key)
        if value is not None:
            items = value if isinstance(value, list) else []
            shaped[key] = [item for item in items if isinstance(item, Mapping)]
    for key in _MAPPING_KEYS:
        if key in shaped and not isinstance(shaped[key], Mapping):
            del shaped[key]
    return shaped


def _as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
_TEXT_TYPES = frozenset({"text/plain", "text"})


def _text_of(detail: Mapping[str, Any] | None) -> str:
    """A title as one line of text, whether the feed says it is HTML or plain text.

    Feeds say "plain text" of titles that hold escaped markup and entities escaped twice
    ("AT&amp;amp;T"), so both go through plain_text, which strips only real HTML elements.
    """
    if not detail:
        return ""
    return plain_text(str(detail.get("value") or ""))


def _html_of(detail: Mapping[str, Any] | None, fallback_base: str) -> str | None:
    """A summary or content as sanitized HTML with absolute URLs; None when it is empty."""
    if not detail:
        return None
    value = str(detail.get("value") or "")
    if not value.strip():
        return None
    kind = detail.get("type") or "text/html"
    if kind in _TEXT_TYPES:
        return _paragraphs(value) or None
    if kind not in _HTML_TYPES:
        return None
    return clean_html(value, detail.get("base") or fallback_base) or None


def _paragraphs(text: str) -> str:
    """Plain text as HTML: blank lines part paragraphs, single newlines become <br>."""
    blocks = (block.strip() for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")))
    return "".join(
        "<p>" + escape(block).replace("\n", "<br>") + "</p>" for block in blocks if block
    )


_RSS_CONTENT_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:encoded|fullitem|body)[\s>]")


_MARKUP = re.compile(r"<[A-Za-z/!]")


def _is_html(detail: Mapping[str, Any]) -> bool:
    return detail.get("type") in _HTML_TYPES


def _summary_and_content(
    entry: Mapping[str, Any], form: str, real_content: bool
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """The entry's summary and content details, undoing feedparser's guesses.

    feedparser turns the second description-like element of an RSS item (media:description,
    itunes:summary, dc:description) into "content", whichever came first, and copies content
    into "summary" when there is none, without a summary_detail. So: in RSS, content is only
    ever HTML and only when the document has a content element; the summary is the first
    among the summary and the strays that holds markup (alt texts and iTunes summaries are
    plain), else the first of them.
    """
    contents = [c for c in entry.get("content") or () if c.get("value")]
    if form == "atom":
        content = next((c for c in contents if _is_html(c)), contents[0] if contents else None)
        return entry.get("summary_detail"), content
    real = [c for c in contents if _is_html(c)] if real_content else []
    strays = [c for c in contents if c not in real]
    candidates = [d for d in (entry.get("summary_detail"), *strays) if d and d.get("value")]
    marked_up = (d for d in candidates if _MARKUP.search(str(d["value"])))
    summary = next(marked_up, candidates[0] if candidates else None)
    return summary, real[0] if real else None


def _post_from(
    entry: Mapping[str, Any], url: str, feed_author: str | None, form: str, real_content: bool
) -> ParsedPost:
    base = _entry_base(entry, url)
    summary, content = _summary_and_content(entry, form, real_content)
    content_html = _html_of(content, base)
    summary_html = _html_of(summary, base)
    published = _date(entry.get("published_parsed"))
    updated = _date(entry.get("updated_parsed"))
    return _assemble(
        guid_parts=(entry.get("id"), entry.get("title"), entry.get("summary")),
        link=_web_url(entry.get("link"), base),
        # entry["title"], not title_detail: a <title> nested later in the item (an author's
        # job title) overwrites title_detail but not the entry's own title.
        title=plain_text(_as_str(entry.get("title"))) or None,
        author=_author(entry) or feed_author,
        published=published or updated,
        updated=updated,
        summary_html=summary_html,
        content_html=content_html,
        categories=_categories(entry.get("tags") or ()),
        extra_links=(),
    )


def _entry_base(entry: Mapping[str, Any], url: str) -> str:
    for key in ("content", "summary_detail", "title_detail"):
        detail = entry.get(key)
        if isinstance(detail, list):
            detail = detail[0] if detail else None
        if detail and detail.get("base"):
            return str(detail["base"])
    return url


def _author(node: Mapping[str, Any]) -> str | None:
    authors: Sequence[Mapping[str, Any]] = node.get("authors") or ()
    names = [plain_text(str(a.get("name") or "")) for a in authors]
    names = [name for name in names if name]
    if names:
        return ", ".join(dict.fromkeys(names))
    detail = node.get("author_detail") or {}
    name = plain_text(str(detail.get("name") or node.get("author") or ""))
    return name or None


def _categories(tags: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    terms = (plain_text(str(tag.get("term") or tag.get("label") or "")) for tag in tags)
    return _unique_words(terms)


def _unique_words(words: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for word in words:
        if word:
            seen.setdefault(word.casefold(), word)
    return tuple(seen.values())


# A date before this, or from this on, is a placeholder or a typo rather than a publication.
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _date(parsed: Any) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None when absent or absurd."""
    if not parsed:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in parsed[:6])
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    return moment if _EARLIEST <= moment < _LATEST else None


# ── one post, from whichever format ──────────────────────────────────────────────────────


def _assemble(
    *,
    guid_parts: tuple[object, object, object],
    link: str | None,
    title: str | None,
    author: str | None,
    published: datetime | None,
    updated: datetime | None,
    summary_html: str | None,
    content_html: str | None,
    categories: tuple[str, ...],
    extra_links: tuple[str, ...],
) -> ParsedPost:
    fullest = content_html or summary_html or ""
    return ParsedPost(
        guid=_guid(guid_parts, link, published),
        link=link,
        title=title,
        author=author,
        published=published,
        updated=updated,
        summary_html=summary_html,
        content_html=content_html,
        text=html_to_text(fullest),
        categories=categories,
        links=_shared_links((*extra_links, *links_in(fullest))),
        has_full_content=_is_distinct(content_html, summary_html),
    )


def _guid(parts: tuple[object, object, object], link: str | None, date: datetime | None) -> str:
    """The entry's id, else its link, else a hash of what identifies it."""
    given, title, summary = parts
    if isinstance(given, str | int) and str(given).strip():
        return str(given).strip()
    if link:
        return link
    fingerprint = "\x1f".join(
        (str(title or ""), date.isoformat() if date else "", str(summary or ""))
    )
    return "sha1:" + hashlib.sha1(fingerprint.encode("utf-8")).hexdigest()


def _is_distinct(content_html: str | None, summary_html: str | None) -> bool:
    if not content_html:
        return False
    if not summary_html:
        return True
    return content_html.split() != summary_html.split()


# Mastodon marks hashtags and mentions up as links to the instance's tag and profile pages;
# they are not links a person shared, and counting them would make every hashtag "trend".
_SOCIAL_CHROME = re.compile(r"^/(?:tags/[^/]+|@[^/]+|users/[^/]+)/?$")


def _shared_links(links: Iterable[str]) -> tuple[str, ...]:
    kept = (link for link in links if not _SOCIAL_CHROME.match(urlsplit(link).path))
    return tuple(dict.fromkeys(kept))


_URL_NOISE = re.compile(r"[\t\n\r]")


def _web_url(value: object, base: str) -> str | None:
    """``value`` made absolute against ``base``, when that gives an http(s) URL."""
    if not isinstance(value, str) or not value.strip():
        return None
    if fastparse.is_plain_absolute_url(value):  # what the join and split would give back
        return value
    try:
        # browsers drop tabs and newlines anywhere in a URL; so do we, before judging it
        absolute = urljoin(base, _URL_NOISE.sub("", value).strip())
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


# ── JSON Feed ────────────────────────────────────────────────────────────────────────────

_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")


def _read_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        document = json.loads(body)
    except json.JSONDecodeError as error:
        message = f"{error.msg.removesuffix(' at')} at line {error.lineno}, column {error.colno}"
        raise _fail(url, f"not a feed: the body is not valid JSON ({message})") from error
    except UnicodeDecodeError as error:
        message = "its bytes are not UTF-8, UTF-16 or UTF-32"
        raise _fail(url, f"not a feed: the body is not valid JSON ({message})") from error
    document = without_surrogates(document)
    if not isinstance(document, dict) or not _looks_like_json_feed(document):
        raise _fail(url, "not a feed: JSON that is not a JSON Feed")
    problems: list[str] = []
    items = document.get("items")
    if not isinstance(items, list):
        problems.append("the JSON Feed has no list of items")
        items = []
    objects = [item for item in items if isinstance(item, dict)]
    if len(objects) < len(items):
        problems.append(f"skipped {len(items) - len(objects)} items that are not objects")
    home = _web_url(document.get("home_page_url"), url)
    feed_author = _json_author(document)
    return ParsedFeed(
        url=url,
        format="json",
        title=_json_text(document.get("title")),
        link=home,
        posts=tuple(_post_from_item(item, url, feed_author) for item in objects),
        problems=tuple(problems),
    )


def _looks_like_json_feed(document: Mapping[str, Any]) -> bool:
    version = document.get("version")
    if isinstance(version, str) and _JSON_FEED_VERSION.match(version.strip()):
        return True
    # lenient: no (or an odd) version, but the shape of one
    return isinstance(document.get("items"), list) and (
        "title" in document or "home_page_url" in document or "feed_url" in document
    )


def _json_text(value: object) -> str | None:
    """A JSON Feed title or name: plain text by the spec, but markup happens there too."""
    if not isinstance(value, str):
        return None
    return plain_text(value) or None


def _json_author(node: Mapping[str, Any]) -> str | None:
    authors = node.get("authors")
    if not isinstance(authors, list):
        single = node.get("author")
        authors = [single] if single is not None else []
    names = [_json_text(a.get("name")) if isinstance(a, dict) else None for a in authors]
    unique = dict.fromkeys(name for name in names if name)
    return ", ".join(unique) or None


def _post_from_item(item: Mapping[str, Any], url: str, feed_author: str | None) -> ParsedPost:
    link = _web_url(item.get("url"), url)
    external = _web_url(item.get("external_url"), url)
    content_html = _json_content(item, url)
    summary = item.get("summary")
    summary_html = (_paragraphs(summary) or None) if isinstance(summary, str) else None
    published = _json_date(item.get("date_published"))
    updated = _json_date(item.get("date_modified"))
    tags = item.get("tags")
    return _assemble(
        guid_parts=(item.get("id"), item.get("title"), summary or item.get("content_text")),
        link=link or external,
        title=_json_text(item.get("title")),
        author=_json_author(item) or feed_author,
        published=published or updated,
        updated=updated,
        summary_html=summary_html,
        content_html=content_html,
        categories=_unique_words(
            plain_text(tag)
            for tag in (tags if isinstance(tags, list) else ())
            if isinstance(tag, str)
        ),
        extra_links=(external,) if external and external != link else (),
    )


def _json_content(item: Mapping[str, Any], url: str) -> str | None:
    html = item.get("content_html")
    if isinstance(html, str) and html.strip():
        base = _web_url(item.get("url"), url) or url
        return clean_html(html, base) or None
    text = item.get("content_text")
    if isinstance(text, str) and text.strip():
        return _paragraphs(text) or None
    return None


def _json_date(value: object) -> datetime | None:
    """An RFC 3339 date (or, leniently, an RFC 822 one) in UTC; None when unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # at the edge of datetime's range: absurd anyway
        return None
    return moment if _EARLIEST <= moment < _LATEST else None


# ── HTML pages: feed discovery ───────────────────────────────────────────────────────────

_FEED_TYPES = {
    "application/atom+xml": 0,
    "application/rss+xml": 0,
    "application/feed+json": 0,
    "application/rdf+xml": 1,
    "application/json": 1,  # only when it looks like a feed, see _is_feed_link
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_COMMENT_FEED = re.compile(r"comment|kommentar|komentar|коммент", re.IGNORECASE)


def _read_html_page(body: bytes, url: str, content_type: str | None) -> FeedLinks:
    head = page_head(_decode_html(body, content_type))
    base = _web_url(head.base, url) or url
    feeds = _ranked_feeds(head.links, base)
    if not feeds:
        raise _fail(url, "not a feed: the server sent an HTML page that names no feed")
    return FeedLinks(url=url, feeds=feeds, title=head.title)


def _decode_html(body: bytes, content_type: str | None) -> str:
    codec = _wide_encoding(body)
    if codec is None and body.startswith(codecs.BOM_UTF8):
        codec = "utf-8-sig"
    if codec is None:
        codec = _charset(content_type)
    if codec is None:
        declared = _META_CHARSET.search(body, 0, _SNIFF_BYTES)
        name = declared.group(1).decode("ascii", "replace").lower() if declared else ""
        codec = name if _known_codec(name) else "utf-8"
    return body.decode(codec, "replace")


def _ranked_feeds(links: Sequence[LinkTag], base: str) -> tuple[str, ...]:
    """The feeds' absolute URLs, main feeds before comment feeds, each once."""
    ranked: list[tuple[int, int, str]] = []
    for order, link in enumerate(links):
        if not _is_feed_link(link):
            continue
        href = _web_url(link.href, base)
        if href is not None:
            ranked.append((_rank(link, href), order, href))
    ranked.sort()
    return tuple(dict.fromkeys(href for _, _, href in ranked))


def _is_feed_link(link: LinkTag) -> bool:
    media_type = _media_type(link.type)
    if "alternate" not in link.rel.lower().split() or not link.href:
        return False
    if media_type != "application/json":
        return media_type in _FEED_TYPES
    # WordPress names its REST API, and oEmbed its endpoint, as application/json alternates
    href = link.href.lower()
    if "wp-json" in href or "oembed" in href:
        return False
    return "feed" in href or "feed" in link.title.lower()


def _rank(link: LinkTag, href: str) -> int:
    comments = bool(_COMMENT_FEED.search(link.title)) or "/comments/" in href.lower()
    return _FEED_TYPES[_media_type(link.type)] + (10 if comments else 0)
