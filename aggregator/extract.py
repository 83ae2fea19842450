"""A post's own page in, its article out; and when a post needs its page at all. Pure.

The only module that imports trafilatura. ``extract_page`` takes the bytes a server sent,
decodes them (``decode_page``: byte-order mark, valid UTF-8, the declared charset, then a
guess) and hands the text to ``extract``, which keeps the main text of the page without
navigation, cookie banners, sidebars, footers or comments, and reads what the page says of
itself: title, author, date, language. Everything here takes and returns plain picklable
data, so that the app can run ``extract_page`` in a process pool.

trafilatura takes about 0.2 s to import, so it is imported on first use: commands that never
extract (search, sources) do not pay for it.

The decisions (``full_text_mode``, ``wants_page``, ``keeps_article``, ``next_try``) say which
posts are worth a request for their page, and what to do with what came back.
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
from datetime import UTC, datetime, time, timedelta
from types import ModuleType
from typing import Any

from aggregator.models import Article, FullText, PagePost, SourceKind

__all__ = [
    "MAX_ATTEMPTS",
    "decode_page",
    "extract",
    "extract_page",
    "full_text_mode",
    "is_html",
    "keeps_article",
    "looks_truncated",
    "next_try",
    "page_language",
    "wants_page",
    "warm_up",
    "without_title",
    "word_count",
]


# ── when a post needs its page ───────────────────────────────────────────────────────────

# A summary this long that does not end in "…" or "Read more" is the article itself: many
# RSS feeds put the whole post in <description>, which is formally its summary.
LONG_SUMMARY_WORDS = 200
# How many words at the end of a text may follow a "Read more" for it to count as a teaser
# ('Continue reading "The title of the post" →').
_TAIL_WORDS = 16

_ELLIPSIS_END = re.compile(
    r"(?:…|\.\.\.|\[\s*(?:…|\.\.\.|&hellip;|more)\s*\]|\(\s*(?:…|\.\.\.)\s*\))[\s\W]*$",
    re.IGNORECASE,
)
_READ_MORE = re.compile(
    r"""\b(?:
        read\s+(?:more|on|the\s+(?:rest|full|whole|complete)|full|article|post|story)
        | continue\s+(?:reading|to\s+read|on)
        | keep\s+reading
        | full\s+(?:article|story|post)
        | (?:weiter|mehr)\s*lesen | weiterlesen
        | lire\s+la\s+suite | (?:la\s+)?suite\s+de\s+l'article
        | leer\s+m[aá]s | seguir\s+leyendo | sigue\s+leyendo
        | continua(?:re)?\s+a\s+leggere | leggi\s+(?:tutto|di\s+più)
        | lees\s+(?:verder|meer)
        | läs\s+mer | les\s+mer | læs\s+mere
        | czytaj\s+dalej | ler\s+mais | continuar\s+lendo | lue\s+lisää
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
# WordPress SEO plugins add this line to every entry of the feed, after the teaser's "[…]".
_FEED_FOOTER = re.compile(r"\n*\s*The post .{1,300} appeared first on .{1,200}$", re.DOTALL)


def full_text_mode(kind: SourceKind, configured: FullText | None, default: FullText) -> FullText:
    """The mode that applies to a source: its own, else ``fetch.full_text``.

    Mastodon posts are never fetched: a toot is the whole post. A ``blog:`` source is always
    fetched (the config gives it ALWAYS; said here too for a source built by hand).
    """
    if kind is SourceKind.MASTODON:
        return FullText.NEVER
    if kind is SourceKind.BLOG:
        return FullText.ALWAYS
    return configured or default


def wants_page(mode: FullText, post: PagePost) -> bool:
    """Whether ``post`` is worth a request for its page under ``mode``.

    ``auto``: a text that looks cut off (a teaser), or a short summary that is all the feed
    has. A post whose feed carries content of its own (WordPress ``content:encoded``, Atom
    ``content``) is taken as the whole article unless it ends like a teaser.
    """
    if mode is FullText.NEVER or not _is_web_link(post.link):
        return False
    if mode is FullText.ALWAYS:
        return True
    if looks_truncated(post.text):
        return True
    if post.has_full_content:
        return False
    return word_count(post.text) < LONG_SUMMARY_WORDS


def looks_truncated(text: str) -> bool:
    """A teaser: ends in an ellipsis, ``[…]``, "Read more", "Continue reading" and the like."""
    body = _FEED_FOOTER.sub("", text).rstrip()
    if not body:
        return False
    if _ELLIPSIS_END.search(body[-40:]):
        return True
    tail = " ".join(body.split()[-_TAIL_WORDS:])
    last_paragraph = body.rsplit("\n", 1)[-1]
    # The phrase must close the text: in a short last paragraph, or in the last few words.
    if len(last_paragraph.split()) <= _TAIL_WORDS and _READ_MORE.search(last_paragraph):
        return True
    phrases = list(_READ_MORE.finditer(tail))
    return bool(phrases) and len(tail[phrases[-1].end() :].split()) <= 8


def word_count(text: str) -> int:
    return len(text.split())


def keeps_article(feed_text: str, article_text: str) -> bool:
    """Use the page's text unless it holds less than the feed gave (a failed extraction)."""
    return bool(article_text.strip()) and word_count(article_text) >= word_count(feed_text)


def _is_web_link(link: str | None) -> bool:
    return bool(link) and str(link).lower().startswith(("http://", "https://"))


# ── retrying a page ──────────────────────────────────────────────────────────────────────

# A page that failed is tried again after 30 min, 2 h, 8 h, then left with its feed text.
MAX_ATTEMPTS = 4
RETRY_FIRST = timedelta(minutes=30)
RETRY_CAP = timedelta(days=1)


def next_try(attempts: int, now: datetime, retry_after: float | None = None) -> datetime | None:
    """When to try a page again after ``attempts`` failed tries; None: never again."""
    if attempts >= MAX_ATTEMPTS:
        return None
    wait = min(RETRY_FIRST * (1 << 2 * max(0, attempts - 1)), RETRY_CAP)  # ×4 each time
    if retry_after is not None:
        wait = max(wait, min(timedelta(seconds=max(0.0, retry_after)), RETRY_CAP))
    return now + wait


# ── decoding ─────────────────────────────────────────────────────────────────────────────

_SNIFF_BYTES = 16384
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels that browsers read as a wider codec than Python's namesake (the WHATWG Encoding
# standard): a page labelled ISO-8859-1 is decoded as windows-1252 by every browser.
_BROWSER_CODECS = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
}


def decode_page(body: bytes, content_type: str | None = None) -> str:
    """The page's text: its byte-order mark, else UTF-8 when the bytes are valid UTF-8, else
    the charset the HTTP header or a ``<meta>`` declares, else a guess.

    Valid UTF-8 comes before a declared charset because a legacy-encoded text is almost
    never valid UTF-8 by accident, while servers label UTF-8 pages ISO-8859-1 all the time.
    """
    for mark, codec in _BOMS:
        if body.startswith(mark):
            return body.decode(codec, "replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = [c for c in (_header_charset(content_type), _meta_charset(body)) if c]
    for codec in declared:
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            continue
    guessed = _guess_codec(body)
    if guessed is not None:
        return body.decode(guessed, "replace")
    return body.decode(declared[0] if declared else "cp1252", "replace")


def _header_charset(content_type: str | None) -> str | None:
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return _codec(value.strip().strip("\"'"))
    return None


def _meta_charset(body: bytes) -> str | None:
    declared = _META_CHARSET.search(body, 0, _SNIFF_BYTES)
    return _codec(declared.group(1).decode("ascii", "replace")) if declared else None


def _codec(label: str) -> str | None:
    """A Python codec for a charset label, as a browser would read it; None if unknown."""
    name = label.strip().lower()
    name = _BROWSER_CODECS.get(name, name)
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return None
    # UTF-8 was tried already; a page cannot really be UTF-16 if its label is readable ASCII.
    return None if codec.name in ("utf-8", "utf-16", "utf-32") else codec.name


def _guess_codec(body: bytes) -> str | None:
    from charset_normalizer import from_bytes  # imported with trafilatura, on first use

    sample = body if len(body) <= 65536 else body[:32768] + body[-32768:]
    best = from_bytes(sample).best()
    return best.encoding if best is not None else None


# ── extracting ───────────────────────────────────────────────────────────────────────────

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/xml", "text/xml"})


def is_html(content_type: str | None, body: bytes) -> bool:
    """Whether an answer is a web page: its type says so, or it has none and looks like one."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type:
        return media_type in _HTML_TYPES
    return body.lstrip()[:1] == b"<"


def extract_page(
    body: bytes,
    url: str,
    content_type: str | None = None,
    *,
    metadata: bool = True,
    title: str | None = None,
) -> Article | None:
    """The article on the page ``body`` fetched from ``url``; None when it holds no text."""
    return extract(decode_page(body, content_type), url, metadata=metadata, title=title)


def extract(
    html: str, url: str | None = None, *, metadata: bool = True, title: str | None = None
) -> Article | None:
    """The main text of ``html`` (comments left out, paragraphs kept) and its metadata.

    ``metadata=False`` skips looking for the title, author and date, about a third of the
    time of an extraction, when the feed already gave all three. The language is read anyway.
    ``title`` is the post's title from its feed: a first line that repeats it (or the page's
    own title) is the page's heading, not the article's text, and is left out.
    """
    if not html.strip():
        return None
    document = _trafilatura().bare_extraction(
        html,
        url=url,
        with_metadata=metadata,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
        date_extraction_params=_DATE_PARAMS,
    )
    text = _paragraphs(getattr(document, "text", None) or "") if document is not None else ""
    text = without_title(text, title, getattr(document, "title", None))
    if not text:
        return None
    return Article(
        text=text,
        title=_clean(document.title),
        author=_clean(document.author),
        published=_page_date(document.date),
        language=page_language(html),
    )


def warm_up() -> None:
    """Import trafilatura now: a worker process calls this once when it starts."""
    _trafilatura()


@functools.cache
def _trafilatura() -> ModuleType:
    import trafilatura

    # A page without an article is a result we report ("no article text found"), not a
    # warning of theirs on stderr (in a worker process nobody would see it in order anyway).
    for name in ("trafilatura", "htmldate", "justext", "courlan", "charset_normalizer"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return trafilatura


# htmldate: the date the page was first published, with its time of day where it has one.
_DATE_PARAMS: dict[str, Any] = {
    "original_date": True,
    "extensive_search": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}


def _paragraphs(text: str) -> str:
    """trafilatura's lines (one per paragraph, heading or list item) apart by a blank line,
    as ``sanitize.html_to_text`` separates blocks."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line)


def without_title(text: str, *titles: str | None) -> str:
    """``text`` without a first paragraph that only repeats one of ``titles``.

    Pages start their article with its ``<h1>``; kept, it opened every excerpt and snippet
    with the title shown just above it. Compared by words, so quotes, dashes and case that
    differ between the feed and the page do not matter; a text that is only its title stays.
    """
    first, separator, rest = text.partition("\n\n")
    if not separator or not rest.strip():
        return text
    heading = _words_of(first)
    if heading and any(heading == _words_of(title) for title in titles if title):
        return rest
    return text


def _words_of(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _clean(value: object) -> str | None:
    text = " ".join(str(value).split()) if value else ""
    return text or None


def _page_date(value: object) -> datetime | None:
    """An aware UTC time from htmldate's output; a bare day becomes noon UTC, which falls on
    the same calendar day in nearly every time zone."""
    if not value:
        return None
    text = str(value)
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    if moment.tzinfo is None:
        if moment.time() == time(0, 0):
            return datetime.combine(moment.date(), time(12, 0), tzinfo=UTC)
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?\s*([A-Za-z][\w-]{0,34})", re.I)
_META_LANG = re.compile(
    r"""<meta\b(?=[^>]*\b(?:http-equiv\s*=\s*["']?content-language|property\s*=\s*["']?og:locale))
        [^>]*\bcontent\s*=\s*["']?\s*([A-Za-z][\w-]{0,34})""",
    re.IGNORECASE | re.VERBOSE,
)
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


def page_language(html: str) -> str | None:
    """The language the page declares: ``<html lang>``, else Content-Language or og:locale."""
    head = html[:_SNIFF_BYTES]
    for pattern in (_HTML_LANG, _META_LANG):
        found = pattern.search(head)
        if found:
            tag = found.group(1).replace("_", "-")
            if _LANGUAGE_TAG.fullmatch(tag):
                return tag
    return None
