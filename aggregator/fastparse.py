"""A fast reader for the plainest RSS 2.0 and Atom 1.0 feeds, or None to leave one to feedparser.

feedparser walks a document through Python SAX handlers, which is most of the time a cold fetch
spends parsing. This module reads the same documents with lxml (libxml2, in C) and hands back
what feedparser would have: a mapping with ``version``, ``feed`` and ``entries`` whose keys
(``title``, ``link``, ``id``, ``summary``, ``summary_detail``, ``content``, the dates' UTC
``*_parsed`` tuples, ``authors``, ``author``, ``tags``) hold the values feedparser's own
handlers would put there, so that parse.py's one cleaning path turns either into the same posts.

It is conservative by design: it reads a document only when it can tell for every element what
feedparser does with it, and otherwise returns None (feedparser reads it then). It declines
anything not well-formed, a DOCTYPE, encodings other than UTF-8, a byte-order mark, ``xml:base``
(or feedparser's ``base``), relative or odd URLs in links and ids (feedparser resolves them),
markup or comments inside a text element, repeated single-valued elements, content types other
than text and HTML, namespace prefixes bound in unusual ways, and every element feedparser has a
handler for that is not known here to leave the fields pln keeps alone. Dates go through
feedparser's own date parser, so every format it knows reads the same. tests/test_fastparse.py
holds the guarantee: every corpus feed this module accepts reads exactly as through feedparser.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from typing import Any

from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date as _feedparser_date
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

__all__ = ["is_plain_absolute_url", "read"]

Raw = dict[str, Any]

_ATOM = "http://www.w3.org/2005/Atom"


class _Decline(Exception):
    """The document holds something feedparser might read otherwise than this module."""


# ── names as feedparser sees them ────────────────────────────────────────────────────────

# feedparser's own table: a namespace it knows is read under its canonical prefix, whatever
# prefix the document binds it to.
_KNOWN_NAMESPACES: dict[str, str] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}
_CANONICAL_PREFIXES = frozenset(_KNOWN_NAMESPACES.values())
_USERLAND = "backend.userland.com/rss"


def _has_handler(name: str) -> bool:
    return hasattr(StrictFeedParser, "_start_" + name) or hasattr(StrictFeedParser, "_end_" + name)


_NAME_CACHE: dict[tuple[str, str | None], str] = {}


def _name(element: Any) -> str:
    """The element's name as feedparser dispatches on it: "title", "dc_creator", "media_x"."""
    tag = element.tag
    key = (tag, element.prefix)
    cached = _NAME_CACHE.get(key)
    if cached is not None:
        return cached
    if tag[0] == "{":
        namespace, _, local = tag[1:].partition("}")
    else:
        namespace, local = "", tag
    lowered = namespace.lower()
    if _USERLAND in lowered:
        lowered = "http://" + _USERLAND
    prefix = _KNOWN_NAMESPACES.get(lowered)
    if prefix is None:
        # an unknown namespace: feedparser names the element by the prefix the document uses
        prefix = element.prefix
        if not prefix:
            raise _Decline(f"element {tag} in an unknown namespace without its own prefix")
    name = (prefix + "_" + local if prefix else local).lower()
    if len(_NAME_CACHE) < 4096:
        _NAME_CACHE[key] = name
    return str(name)


# Keys of feedparser's results that parse.py reads: an element of no known meaning whose name
# is one of them would land there.
_READ_KEYS = frozenset(
    {
        *("title", "title_detail", "link", "links", "id", "summary", "summary_detail"),
        *("content", "published_parsed", "updated_parsed", "authors", "author"),
        *("author_detail", "tags", "contributors", "enclosures", "publisher_detail"),
        "guidislink",
    }
)


def _is_inert_unknown(name: str) -> bool:
    """An element feedparser has no handler for, stored under a key nobody reads."""
    return not _has_handler(name) and name not in _READ_KEYS and "_" in name


# Elements feedparser has handlers for that touch none of the keys above, with the element's
# own children (if it may have any) equally inert.
_INERT_FEED_SUBTREES = frozenset({"image", "textinput"})
_INERT_FEED = frozenset(
    {
        *("description", "subtitle", "tagline", "language", "copyright", "rights"),
        *("lastbuilddate", "pubdate", "published", "updated", "modified", "generator"),
        *("docs", "ttl", "category", "webmaster", "cloud", "icon", "logo", "dc_language"),
        *("dc_rights", "dc_date", "dc_subject", "dc_publisher"),
    }
)
_INERT_ENTRY = frozenset(
    {
        *("comments", "enclosure", "wfw_commentrss", "wfw_comment", "slash_comments"),
        *("media_thumbnail", "media_content", "language", "dc_language"),
        "feedburner_origlink",
    }
)
_AUTHOR_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})


# ── text as feedparser's pop() leaves it ─────────────────────────────────────────────────

# feedparser maps the C1 controls that windows-1252 uses for punctuation onto those characters
_C1_AS_CP1252: dict[int, str] = {}
for _code in range(0x80, 0xA0):
    with contextlib.suppress(UnicodeDecodeError):  # five codes windows-1252 leaves undefined
        _C1_AS_CP1252[_code] = bytes([_code]).decode("cp1252")


_C1_CONTROL = re.compile("[\x80-\x9f]")


def _expected_text(value: str) -> str:
    """What feedparser stores of an element that expects text (it runs as UTF-8 always)."""
    value = value.strip()
    if not value.isascii():
        # feedparser undoes UTF-8 read as latin-1, when that is what the text looks like
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            value = value.encode("iso-8859-1").decode("utf-8")
        # str.translate walks every character in Python terms; the search is C-fast
        if _C1_CONTROL.search(value):
            value = value.translate(_C1_AS_CP1252)
    return value


def _text(element: Any) -> str:
    """The element's text; markup, comments or processing instructions inside decline."""
    if len(element):
        raise _Decline(f"markup inside <{element.tag}>")
    return element.text or ""


def _plain_attributes(element: Any, allowed: frozenset[str]) -> dict[str, str]:
    """The element's attributes by local name, lower-cased as feedparser keys them."""
    found: dict[str, str] = {}
    for key, value in element.attrib.items():
        local = key.rpartition("}")[2].lower()
        if key.startswith("{http://www.w3.org/XML/1998/namespace}"):
            if local in ("lang", "base"):  # a base is read where it matters: _Context.base_for
                continue
            raise _Decline(f"xml:{local} on <{element.tag}>")
        if local not in allowed:
            raise _Decline(f"attribute {key} on <{element.tag}>")
        found[local] = value
    return found


# An absolute http(s) URL that urllib splits and joins back into the very same text: lower-case
# scheme, a plain host, no params (";"), no empty query or fragment, no space or control
# character. Joining it to any base gives it back, so most links need no urljoin at all.
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?"
    r"(?:/[A-Za-z0-9\-._~%!$&'()*+,=:@/]*)?"
    r"(?:\?[A-Za-z0-9\-._~%!$&'()*+,=:@/?]+)?"
    r"(?:#[A-Za-z0-9\-._~%!$&'()*+,=:@/?]+)?"
)


def is_plain_absolute_url(value: str) -> bool:
    """Whether ``urljoin(any base, value) == value`` can be told without joining."""
    return _PLAIN_URL.fullmatch(value) is not None


def _absolute(value: str, base: str) -> str:
    """``value`` when feedparser's resolving leaves it as it is; else decline."""
    if not is_plain_absolute_url(value) and _urljoin(base, value) != value:
        raise _Decline(f"a URL feedparser would resolve: {value!r}")
    return value


_ENTITY_LIKE = re.compile("&([A-Za-z0-9_]+);")
_LINK_ATTRIBUTES = frozenset({"href", "rel", "type", "title", "hreflang", "length"})


# ── one context (the feed or an entry) ───────────────────────────────────────────────────


class _Context:
    """What feedparser's handlers build for one feed or entry, in document order."""

    def __init__(self, base: str, in_entry: bool) -> None:
        self.base = base
        self.in_entry = in_entry
        self.data: Raw = {}
        self.seen: set[str] = set()
        self.has_content = False

    def once(self, name: str) -> None:
        if name in self.seen:
            raise _Decline(f"<{name}> twice in one {'entry' if self.in_entry else 'feed'}")
        self.seen.add(name)

    def base_for(self, element: Any) -> str:
        return _joined_base(self.base, element.get(_XML_BASE))

    def detail(self, kind: str, value: str, element: Any) -> Raw:
        return {"type": kind, "language": None, "base": self.base_for(element), "value": value}

    # each handler reads one element

    def title(self, element: Any) -> None:
        self.once("title")
        kind = _content_type(element, "text/plain")
        value = _expected_text(_text(element))
        self.data["title"] = value
        self.data["title_detail"] = self.detail(kind, value, element)

    def link(self, element: Any) -> None:
        attributes = _plain_attributes(element, _LINK_ATTRIBUTES)
        href = attributes.get("href")
        if href is None:
            if attributes:
                raise _Decline("a <link> with attributes but no href")
            self.once("link")
            value = _expected_text(_text(element))
            if value:  # feedparser leaves an empty link as it is
                value = _absolute(value, self.base_for(element))
            if self.in_entry:
                value = value.replace("&amp;", "&")
            self.data["link"] = _ENTITY_LIKE.sub(r"&\g<1>", value)
            return
        if len(element):
            raise _Decline("markup inside a <link href>")
        rel = attributes.get("rel", "alternate").lower()
        kind = attributes.get("type", "application/atom+xml" if rel == "self" else "text/html")
        href = _absolute(href, self.base_for(element))
        if rel == "alternate" and _map_type(kind.lower()) in _HTML_TYPES:
            self.data["link"] = href

    def guid(self, element: Any) -> None:
        self.once("id")
        attributes = _plain_attributes(element, frozenset({"ispermalink"}))
        is_link = attributes.get("ispermalink", "true") == "true"
        value = _expected_text(_text(element))
        if is_link and value:
            value = _absolute(value, self.base_for(element))
        self.data["id"] = value
        if is_link:
            self.data.setdefault("link", value)

    def date(self, key: str, element: Any) -> None:
        _plain_attributes(element, frozenset())
        self.data[key] = _parse_date(_expected_text(_text(element)))

    def description(self, element: Any) -> None:
        self.once("summary")
        if "summary" in self.data and not self.has_content:
            raise _Decline("a description after a summary")  # feedparser makes it content
        _plain_attributes(element, frozenset())
        value = _expected_text(_text(element))
        self.data["summary"] = value
        self.data["summary_detail"] = self.detail("text/html", value, element)

    def summary(self, element: Any) -> None:
        self.once("summary")
        if "summary" in self.data and not self.has_content:
            raise _Decline("a summary after a summary")
        kind = _content_type(element, "text/plain")
        value = _expected_text(_text(element))
        self.data["summary"] = value
        self.data["summary_detail"] = self.detail(kind, value, element)

    def content(self, element: Any, default_type: str) -> None:
        self.once("content")
        self.has_content = True
        if default_type == "text/plain":
            kind = _content_type(element, default_type)
        else:
            _plain_attributes(element, frozenset())
            kind = default_type
        value = _expected_text(_text(element))
        self.data.setdefault("content", []).append(self.detail(kind, value, element))
        self.data.setdefault("summary", value)

    def author_text(self, element: Any) -> None:
        """An RSS author (or dc:creator): a name, perhaps with an e-mail address."""
        _plain_attributes(element, frozenset())
        value = _expected_text(_text(element))
        self.data["author"] = value
        name = _name_beside_email(value)
        self.data.setdefault("authors", []).append({"name": name} if name else {})
        if name:
            self.data.setdefault("author_detail", {"name": name})

    def author_element(self, element: Any) -> None:
        """An Atom author: name, email and uri children."""
        _plain_attributes(element, frozenset())
        if (element.text or "").strip():
            raise _Decline("text beside an Atom author's parts")
        names: list[str] = []
        for child in element:
            if not isinstance(child.tag, str):
                raise _Decline("a comment inside an author")
            part = _name(child)
            if (child.tail or "").strip():
                raise _Decline("text beside an Atom author's parts")
            if part not in _AUTHOR_PARTS and not _is_inert_unknown(part):
                raise _Decline(f"<{part}> inside an author")
            if part not in _AUTHOR_PARTS:
                _check_inert_subtree(child)
            if part == "name":
                names.append(_text(child).strip())
        if len(names) != 1 or not names[0] or "@" in names[0]:
            raise _Decline("an Atom author without exactly one plain name")
        self.data["author"] = names[0]
        self.data.setdefault("authors", []).append({"name": names[0]})
        self.data.setdefault("author_detail", {"name": names[0]})

    def category(self, element: Any) -> None:
        attributes = _plain_attributes(element, frozenset({"term", "scheme", "domain", "label"}))
        tags: list[Raw] = self.data.setdefault("tags", [])
        term = attributes.get("term")
        scheme = attributes.get("scheme", attributes.get("domain"))
        label = attributes.get("label")
        _add_tag(tags, term, scheme, label)
        value = _expected_text(_text(element))
        if not value:
            return
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            _add_tag(tags, value, None, None)


# What feedparser takes for an e-mail address inside an author's text (its own pattern's
# meaning: user@ then dotted labels or a bracketed IP start, a short last label, ?subject=).
_EMAIL = re.compile(
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)


def _name_beside_email(value: str) -> str:
    """An author's name once feedparser has taken an e-mail address out of the text."""
    found = _EMAIL.search(value)
    if found is None:
        return value
    name = value.replace(found.group(0), "")
    for wrapping in ("()", "<>", "&lt;&gt;"):
        name = name.replace(wrapping, "")
    name = name.strip()
    name = name.removeprefix("(").removesuffix(")")
    return name.strip()


def _add_tag(tags: list[Raw], term: str | None, scheme: str | None, label: str | None) -> None:
    if not term and not scheme and not label:
        return
    tag = {"term": term, "scheme": scheme, "label": label}
    if tag not in tags:
        tags.append(tag)


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_READABLE_TYPES = frozenset({"text/html", "text/plain"})


def _map_type(kind: str) -> str:
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(
        kind, "application/xhtml+xml" if kind == "xhtml" else kind
    )


def _content_type(element: Any, default: str) -> str:
    attributes = _plain_attributes(element, frozenset({"type"}))
    kind = _map_type(attributes.get("type", default).lower())
    if kind not in _READABLE_TYPES:
        raise _Decline(f"content of type {kind}")
    return kind


# feedparser's date parser tries its formats one after another; the same date string comes
# often (Atom's published and updated, a feed's entries of one day), and its answer is an
# immutable struct_time, so the answers are kept.
_parse_date = functools.lru_cache(maxsize=1024)(_feedparser_date)


# ── walking a document ───────────────────────────────────────────────────────────────────

_Handler = Callable[[_Context, Any], None]

_ENTRY_HANDLERS: dict[str, _Handler] = {
    "title": _Context.title,
    "link": _Context.link,
    "guid": _Context.guid,
    "id": _Context.guid,
    "pubdate": lambda c, e: c.date("published_parsed", e),
    "published": lambda c, e: c.date("published_parsed", e),
    "updated": lambda c, e: c.date("updated_parsed", e),
    "dc_date": lambda c, e: c.date("updated_parsed", e),
    "description": _Context.description,
    "summary": _Context.summary,
    "content": lambda c, e: c.content(e, "text/plain"),
    "content_encoded": lambda c, e: c.content(e, "text/html"),
    "category": _Context.category,
    "dc_subject": _Context.category,
    "dc_creator": _Context.author_text,
}

_FEED_HANDLERS: dict[str, _Handler] = {
    "title": _Context.title,
    "link": _Context.link,
    "id": _Context.guid,
    "dc_creator": _Context.author_text,
    "managingeditor": _Context.author_text,
}


def _check_inert_subtree(element: Any) -> None:
    for child in element.iterdescendants():
        if isinstance(child.tag, str) and not _is_inert_unknown(_name(child)):
            raise _Decline(f"<{child.tag}> inside an element of no known meaning")


def _walk(context: _Context, element: Any, handlers: dict[str, _Handler], atom: bool) -> None:
    name = _name(element)
    handler = handlers.get(name)
    if handler is not None:
        handler(context, element)
    elif name == "author":
        (context.author_element if atom else context.author_text)(element)
    elif name in (_INERT_ENTRY if context.in_entry else _INERT_FEED):
        if len(element) and name not in ("description", "subtitle", "rights", "copyright"):
            _check_inert_subtree(element)
        elif len(element):
            raise _Decline(f"markup inside <{name}>")
        if "base" in element.attrib:
            raise _Decline("a base attribute")
    elif not context.in_entry and name in _INERT_FEED_SUBTREES:
        for child in element.iter():
            if isinstance(child.tag, str) and _BASE_ATTRIBUTES & set(child.attrib):
                raise _Decline("a base attribute")
    elif _is_inert_unknown(name):
        _check_inert_subtree(element)
    else:
        raise _Decline(f"<{name}>, whose meaning to feedparser is not read here")


_BASE_ATTRIBUTES = frozenset({"base", "{http://www.w3.org/XML/1998/namespace}base"})


def _read_entry(element: Any, base: str, atom: bool) -> Raw:
    _plain_attributes(element, frozenset())
    context = _Context(_joined_base(base, element.get(_XML_BASE)), in_entry=True)
    for child in element:
        if isinstance(child.tag, str):
            _walk(context, child, _ENTRY_HANDLERS, atom)
    return context.data


def _read_channel(channel: Any, base: str, atom: bool, entry_name: str) -> tuple[Raw, list[Raw]]:
    feed = _Context(base, in_entry=False)
    entries: list[Raw] = []
    for child in channel:
        if not isinstance(child.tag, str):
            continue
        name = _name(child)
        if name == entry_name:
            entries.append(_read_entry(child, base, atom))
        else:
            _walk(feed, child, _FEED_HANDLERS, atom)
    return feed.data, entries


# ── the document as a whole ──────────────────────────────────────────────────────────────

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=False,
    strip_cdata=True,
)
_DECLARATION = re.compile(rb"\A<\?xml\s([^>]*?)\?>")
_PSEUDO_ATTRIBUTE = re.compile(rb"""(\w+)\s*=\s*(["'])(.*?)\2""")
_NAMESPACE_BINDING = re.compile(rb"""xmlns:([^\s=]+)\s*=\s*(["'])(.*?)\2""")
_UTF8_NAMES = frozenset({"utf-8", "utf8"})


def _declared_encoding(body: bytes) -> str | None:
    """The XML declaration's encoding, lower-cased; only XML 1.0."""
    found = _DECLARATION.match(body)
    if found is None:
        if body.startswith(b"<?"):
            raise _Decline("an XML declaration of an unusual shape")
        return None
    pseudo = {m.group(1).lower(): m.group(3) for m in _PSEUDO_ATTRIBUTE.finditer(found.group(1))}
    if pseudo.get(b"version", b"1.0") != b"1.0":
        raise _Decline("not XML 1.0")
    encoding = pseudo.get(b"encoding")
    return None if encoding is None else encoding.decode("ascii", "replace").lower()


# Encodings that read ASCII bytes as ASCII: a body of ASCII bytes alone (all else written as
# character references) reads the same whichever of them it is declared in.
_ASCII_SUPERSETS = frozenset(
    {
        *("us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso-8859-2"),
        *("iso-8859-15", "windows-1250", "windows-1251", "windows-1252", "cp1252"),
    }
)


def _check_encoding(body: bytes, content_type: str) -> None:
    """UTF-8 (or ASCII under another name), said the same way by HTTP and the document."""
    declared = _declared_encoding(body)
    charset = _charset(content_type)
    if declared is not None and charset is not None and declared != charset:
        raise _Decline("HTTP and the document name different encodings")
    for name in (declared, charset):
        if name is None or name in _UTF8_NAMES:
            continue
        if name not in _ASCII_SUPERSETS or not body.isascii():
            raise _Decline(f"an encoding other than UTF-8: {name}")


def _charset(content_type: str) -> str | None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").lower()
    return None


def _check_bindings(body: bytes) -> None:
    """Each prefix bound once, a known namespace only to feedparser's own prefix for it."""
    bound: dict[bytes, bytes] = {}
    binders: dict[bytes, bytes] = {}
    lowered_prefixes: dict[bytes, bytes] = {}
    for match in _NAMESPACE_BINDING.finditer(body):
        prefix, uri = match.group(1), match.group(3)
        if bound.setdefault(prefix, uri) != uri:
            raise _Decline("a prefix bound to two namespaces")
        lowered = uri.decode("utf-8", "replace").lower()
        if _USERLAND in lowered:
            raise _Decline("a userland namespace")
        # feedparser names an element of an unknown namespace by the first prefix bound to it
        if binders.setdefault(uri, prefix) != prefix:
            raise _Decline("a namespace bound to two prefixes")
        # feedparser lower-cases names after joining prefix and name: "openSearch" is fine,
        # "openSearch" beside "opensearch" is not
        if lowered_prefixes.setdefault(prefix.lower(), prefix) != prefix:
            raise _Decline("two prefixes that differ only in case")


def _document(body: bytes, url: str, content_type: str) -> Raw:
    if body.startswith(b"\xef\xbb\xbf") or b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise _Decline("a byte-order mark or a DOCTYPE")
    if make_safe_absolute_uri(url) != url or _urljoin(url, url) != url:
        raise _Decline("a URL feedparser would not take as the base")
    _check_encoding(body, content_type)
    _check_bindings(body)
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as error:
        raise _Decline(f"not well-formed: {error}") from error
    if "base" in root.attrib:
        raise _Decline("a base attribute on the root element")
    base = _joined_base(url, root.get(_XML_BASE))
    if root.tag == "rss":
        return _rss(root, base)
    if root.tag == "{" + _ATOM + "}feed":
        return _atom(root, base)
    raise _Decline(f"a root element {root.tag}")


_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"


def _joined_base(parent: str, given: str | None) -> str:
    """An element's base: its parent's, or its xml:base joined to it as feedparser does."""
    if given is None:
        return parent
    return str(make_safe_absolute_uri(parent, given) or parent)


def _rss(root: Any, url: str) -> Raw:
    attributes = _plain_attributes(root, frozenset({"version"}))
    if not attributes.get("version", "").startswith("2."):
        raise _Decline("RSS other than 2.x")
    children = [child for child in root if isinstance(child.tag, str)]
    if len(children) != 1 or children[0].tag != "channel" or children[0].attrib:
        raise _Decline("RSS without exactly one plain <channel>")
    feed, entries = _read_channel(children[0], url, atom=False, entry_name="item")
    return {"version": "rss20", "feed": feed, "entries": entries}


def _atom(root: Any, url: str) -> Raw:
    _plain_attributes(root, frozenset())
    feed, entries = _read_channel(root, url, atom=True, entry_name="entry")
    return {"version": "atom10", "feed": feed, "entries": entries}


def read(body: bytes, url: str, content_type: str) -> Raw | None:
    """feedparser's reading of ``body`` (fetched from ``url``), or None when unsure.

    ``body`` is what parse.py would hand feedparser (its prolog already defused) and
    ``content_type`` the type it would show it. The result has feedparser's keys, with plain
    dicts and lists in place of FeedParserDicts.
    """
    try:
        return _document(body, url, content_type)
    except _Decline:
        return None
    except (ValueError, TypeError, UnicodeError, etree.LxmlError):
        return None  # lxml on odd input: feedparser decides
