"""HTML from feeds made safe to show, and turned into plain text. Pure; the only user of nh3.

Everything a feed says is hostile until it has been through ``clean_html``: an allow-list of
formatting tags and harmless attributes, http/https/mailto URLs only, relative URLs made
absolute, and ``rel="nofollow noopener noreferrer"`` on every link. The text helpers reuse
nh3's HTML5 parser to strip markup, so that a browser and ``html_to_text`` agree on what the
text of a fragment is, and so that no Python-level tokenizer runs over every post.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from html import unescape
from typing import TypeVar
from urllib.parse import urlsplit

import nh3

_T = TypeVar("_T")

__all__ = [
    "LinkTag",
    "PageHead",
    "clean_html",
    "html_to_text",
    "links_in",
    "page_head",
    "plain_text",
    "without_surrogates",
]


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


_HEADINGS = _tags("h1 h2 h3 h4 h5 h6")
_TABLE_PARTS = _tags("table caption thead tbody tfoot tr th td col colgroup")
_ALLOWED_TAGS = (
    _tags("""
        p br hr a em strong b i u s sub sup blockquote q cite pre code kbd samp var
        ul ol li dl dt dd img figure figcaption abbr time span div small mark del ins
        details summary
        """)
    | _HEADINGS
    | _TABLE_PARTS
)

_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"lang", "dir"},
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "time": {"datetime"},
    "del": {"datetime"},
    "ins": {"datetime"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "details": {"open"},
}

# Elements whose content is never text a reader should see: code, foreign (SVG/MathML)
# markup, and raw-text elements whose content would come out as markup shown as text
# (a <noscript> fallback image as "<img src=...>"). The rest of what is not allowed is
# unwrapped: its text stays.
_DROPPED_WITH_CONTENT = _tags("""
    script style template iframe object embed applet noembed noframes noscript svg math
    title textarea select xmp plaintext
    """)

_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_LINK_REL = "nofollow noopener noreferrer"


@functools.lru_cache(maxsize=256)
def _cleaner(base_url: str | None) -> nh3.Cleaner:
    # A feed's posts mostly share one base, so one Cleaner per base is built once and reused.
    relative: nh3.UrlRelative = "deny" if base_url is None else ("rewrite_with_base", base_url)
    return nh3.Cleaner(
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes=_ALLOWED_ATTRIBUTES,
        link_rel=_LINK_REL,
        url_schemes=set(_URL_SCHEMES),
        url_relative=relative,
        strip_comments=True,
    )


def _usable_base(base_url: str | None) -> str | None:
    """The base itself when it is an absolute http(s) URL, else None."""
    if not base_url:
        return None
    try:
        parts = urlsplit(base_url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return base_url.strip()


# A lone surrogate ("\ud800" is valid JSON text) is no character: nh3 cannot encode it and
# SQLite cannot store it. It becomes U+FFFD, as a browser would show it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate(text: str) -> bool:
    # ── performance (goal 1) ── UTF-8 encoding fails on a lone surrogate and on nothing
    # else: in C, 5× faster than the regex's search (a cold fetch checks 90 MB of HTML).
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def without_surrogates(value: _T) -> _T:
    """``value`` (a string, or lists and dicts of them, as JSON gives) with no lone surrogate."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _has_surrogate(value) else value  # type: ignore[return-value]
    if isinstance(value, list):
        return [without_surrogates(item) for item in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {key: without_surrogates(item) for key, item in value.items()}  # type: ignore[return-value]
    return value


def clean_html(html: str, base_url: str | None) -> str:
    """``html`` with only safe markup left, its relative URLs resolved against ``base_url``.

    Without a usable (absolute http/https) base, relative ``href`` and ``src`` values are
    dropped rather than left to resolve against wherever the fragment is shown.
    """
    if not html:
        return ""
    html = without_surrogates(html)
    base = _usable_base(base_url)
    try:
        return _cleaner(base).clean(html).strip()
    except ValueError:
        # ammonia refuses some bases that urlsplit accepts (odd hosts); keep the text safe
        return _cleaner(None).clean(html).strip()


# ── text ─────────────────────────────────────────────────────────────────────────────────

_PARAGRAPH_TAGS = _HEADINGS | _tags("""
    p div blockquote pre ul ol dl table figure hr details section article aside header
    footer main nav address center form fieldset
    """)
_LINE_TAGS = _tags("br li dt dd tr caption figcaption summary option legend")
_CELL_TAGS = frozenset({"td", "th"})

# Only bare block tags survive this cleaner, so the regex below reads its output exactly:
# text never holds a raw "<" after nh3 (it is escaped), and no tag has attributes.
_TEXT_CLEANER = nh3.Cleaner(
    tags=set(_PARAGRAPH_TAGS | _LINE_TAGS | _CELL_TAGS),
    clean_content_tags=set(_DROPPED_WITH_CONTENT),
    attributes={},
    link_rel=None,
    strip_comments=True,
)
_TAG = re.compile(r"<(/?)([a-z0-9]+)\s*/?>")
_ALL_SPACE = re.compile(r"\s+")
_PARAGRAPH = "\n\n"
_LINE = "\n"


_RANK = {"": 0, " ": 1, _LINE: 2, _PARAGRAPH: 3}


def _separator(tag: str) -> str:
    if tag in _PARAGRAPH_TAGS:
        return _PARAGRAPH
    if tag in _LINE_TAGS:
        return _LINE
    return " "


def _stronger(first: str, second: str) -> str:
    return first if _RANK[first] >= _RANK[second] else second


def html_to_text(html: str) -> str:
    """The text of an HTML fragment: blocks apart by a blank line, lines by a newline.

    Entities are decoded, runs of whitespace inside a line become one space, and the content
    of scripts, styles and other non-text elements is left out.
    """
    if not html:
        return ""
    html = without_surrogates(html)
    if "<" not in html and "&" not in html:
        return _ALL_SPACE.sub(" ", html).strip()
    # nh3 writes a no-break space as "&nbsp;": made a plain space, str.split() collapses it
    skeleton = _TEXT_CLEANER.clean(html).replace("&nbsp;", " ")
    pieces: list[str] = []
    pending = ""  # the strongest break seen since the last text: a space, a line, a paragraph
    position = 0
    for tag in (*_TAG.finditer(skeleton), None):
        end = len(skeleton) if tag is None else tag.start()
        if end > position:
            chunk = skeleton[position:end]
            words = " ".join(chunk.split())  # str.split: several times faster than a regex
            if not words:
                pending = _stronger(pending, " ")
            else:
                if chunk[0].isspace():
                    pending = _stronger(pending, " ")
                if pieces and pending:
                    pieces.append(pending)
                pieces.append(words)
                pending = " " if chunk[-1].isspace() else ""
        if tag is not None:
            name = tag.group(2)
            # a second line break in a row is a blank line, as a browser shows it
            doubled = name == "br" and pending == _LINE
            pending = _PARAGRAPH if doubled else _stronger(pending, _separator(name))
            position = tag.end()
    text = "".join(pieces)
    if "&" in text:
        text = _decode_serialized(text)
    return text


def _decode_serialized(text: str) -> str:
    """Text as nh3 serializes it, decoded: "&amp;", "&lt;", "&gt;" are all it writes there."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# Every element name of HTML, SVG and MathML that a browser acts on, and the obsolete ones
# it still renders. A "<" before any other word is text, as in "Vec<String>".
_MARKUP_NAMES = _tags("""
    a abbr acronym address applet area article aside audio b base basefont bdi bdo bgsound
    big blink blockquote body br button canvas caption center cite code col colgroup data
    datalist dd del details dfn dialog dir div dl dt em embed fieldset figcaption figure font
    footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe image
    img input ins isindex kbd keygen label legend li link listing main map mark marquee menu
    menuitem meta meter nav nobr noembed noframes noscript object ol optgroup option output
    p param picture plaintext portal pre progress q rb rp rt rtc ruby s samp script search
    section select slot small source spacer span strike strong style sub summary sup table
    tbody td template textarea tfoot th thead time title tr track tt u ul var video wbr xmp
    svg math animate animatemotion animatetransform foreignobject set use mglyph malignmark
    annotation-xml
    """)
_TAG_NAME = re.compile(r"<[/!]?([A-Za-z][A-Za-z0-9-]*)")
_STRAY_TAG = re.compile(r"</?[A-Za-z][^>]*>?")
_MAX_UNWRAPPING = 4
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _holds_markup(value: str) -> bool:
    if "<!--" in value:
        return True
    return any(name.lower() in _MARKUP_NAMES for name in _TAG_NAME.findall(value))


def plain_text(value: str) -> str:
    """One line of text from a title or name that may hold markup or entities.

    Markup is stripped only when the value holds real HTML elements, so that a title about
    ``Vec<String>`` keeps its angle brackets while ``<b>bold</b>`` loses its tags. Only
    complete entities (``&amp;``, ``&#8217;``) are decoded: "Q&A" and "&notice" stay.
    Markup that decoding reveals (titles escaped twice over) is stripped in turn.
    """
    value = without_surrogates(value)
    for _ in range(_MAX_UNWRAPPING):
        if "<" in value and _holds_markup(value):
            value = html_to_text(value)
        elif "&" in value and _ENTITY.search(value):
            value = _ENTITY.sub(lambda entity: unescape(entity.group()), value)
        else:
            break
    else:
        value = _STRAY_TAG.sub("", value)  # escaped more times than anyone means to
    return _ALL_SPACE.sub(" ", value).strip()


# ── links ────────────────────────────────────────────────────────────────────────────────

# clean_html's output quotes every attribute with '"' and escapes '"' and '>' inside values,
# so a start tag ends at the first '>' and an href value at the next '"'.
_ANCHOR = re.compile(r"<a\s[^>]*>")
_HREF = re.compile(r'\shref="([^"]*)"')
_URL_NOISE = re.compile(r"[\t\n\r]")


def links_in(html: str) -> tuple[str, ...]:
    """Absolute http(s) ``href`` values of the ``<a>`` elements of cleaned HTML, in order, once."""
    if not html or "<a" not in html:
        return ()
    found: dict[str, None] = {}
    for anchor in _ANCHOR.finditer(html):
        href = _HREF.search(anchor.group())
        if href is None:
            continue
        # browsers drop tabs and newlines anywhere in a URL; so do we, before judging it
        url = _URL_NOISE.sub("", unescape(href.group(1))).strip()
        if _is_web_url(url):
            found.setdefault(url, None)
    return tuple(found)


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# ── the head of a page ───────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class LinkTag:
    """One ``<link>`` element, its attribute values decoded ("" when absent)."""

    rel: str
    type: str
    href: str
    title: str


@dataclass(frozen=True)
class PageHead:
    title: str | None
    base: str | None  # the first <base href>, as written
    links: tuple[LinkTag, ...]


# html5ever finds these elements exactly where a browser would (not in comments, scripts or
# attribute values, whatever the markup's mistakes), and hands back nothing else with markup.
_HEAD_CLEANER = nh3.Cleaner(
    tags={"title", "base", "link"},
    clean_content_tags={"script", "style", "template", "textarea", "xmp"},
    attributes={"link": {"rel", "type", "href", "title"}, "base": {"href"}},
    link_rel=None,
    url_schemes={"http", "https"},
    url_relative="pass_through",
    strip_comments=True,
)
_HEAD_TAG = re.compile(r"<(title|base|link)\b([^>]*)>")
_ATTRIBUTE = re.compile(r'([a-z]+)="([^"]*)"')


def page_head(html: str) -> PageHead:
    """The ``<title>``, ``<base href>`` and ``<link>`` elements of an HTML page."""
    skeleton = _HEAD_CLEANER.clean(html)
    title: str | None = None
    base: str | None = None
    links: list[LinkTag] = []
    for tag in _HEAD_TAG.finditer(skeleton):
        attributes = {name: unescape(value) for name, value in _ATTRIBUTE.findall(tag.group(2))}
        name = tag.group(1)
        if name == "link":
            links.append(_link_tag(attributes))
        elif name == "base" and base is None and attributes.get("href"):
            base = attributes["href"].strip()
        elif name == "title" and title is None:
            end = skeleton.find("</title>", tag.end())
            text = skeleton[tag.end() : end if end >= 0 else len(skeleton)]
            title = _ALL_SPACE.sub(" ", unescape(text)).strip() or None
    return PageHead(title=title, base=base, links=tuple(links))


def _link_tag(attributes: dict[str, str]) -> LinkTag:
    return LinkTag(
        rel=attributes.get("rel", "").strip(),
        type=attributes.get("type", "").strip(),
        href=attributes.get("href", "").strip(),
        title=attributes.get("title", "").strip(),
    )
