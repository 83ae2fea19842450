"""A synthetic network of feeds and a local server for it: what the refresh benchmarks read.

    /work/venv/bin/python bench/network.py serve --sources 1000 --latency 0.1
    /work/venv/bin/python bench/network.py stats --sources 1000   # sizes, formats, languages

The network is seeded, so every run (and every client) sees the same bytes. Each source is a
person's feed: RSS 2.0 (55%), Atom (35%) or JSON Feed (10%), 10 to 40 entries, each with a
title, link, guid, date, author, categories and HTML content (paragraphs, links, emphasis, now
and then an image or a list) in one of ten languages (Latin, Cyrillic, Greek, Arabic and CJK
scripts among them). Entry lengths are log-normal, so most feeds are small and a few are large,
as in ../shared/corpora/realworld-feeds (median 3.5 KB, mean 42 KB, 95th percentile 167 KB,
largest 1.6 MB there; see ``stats`` for this network's own figures).

The server speaks HTTP/1.1 with keep-alive on many loopback addresses at once (127.77.x.y,
``SOURCES_PER_HOST`` sources on each), so a client's per-host limit plays as on the real web.
Every answer waits ``--latency`` seconds first (the round trip of a distant server), carries
an ETag and a Last-Modified, answers 304 to a matching ``If-None-Match`` or
``If-Modified-Since``, and is gzip-compressed when the client accepts it (compressed once, at
start-up). It prints ``READY <url-template>`` when it listens and serves until killed or for
``--max-seconds``; every address is on 127.0.0.0/8.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import math
import random
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

SEED = 20261122
SOURCES_PER_HOST = 4
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
HOST_PREFIX = "127.77"

# A few hundred words per language are enough to make tokenizers, stemmers and the
# sanitizer work as they do on real text; the frequencies come from a Zipf draw.
LANGUAGES: dict[str, str] = {
    "en": (
        "the of and to in a is that for it as was with be by on not he this are or his from "
        "at which but have an they you were her she there been one all we their has would when "
        "water learning open students teachers course research network community practice "
        "education knowledge design data policy school library climate energy river soil "
        "assessment feedback curriculum digital public commons license textbook pedagogy "
        "university workshop conference article review evidence method model question answer"
    ),
    "de": (
        "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch "
        "es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über "
        "Lernen Schule Unterricht Bildung Hochschule Wasser Fluss Boden Klima Energie Daten "
        "Gemeinschaft Forschung Lehrkräfte Schülerinnen Prüfung Rückmeldung Lizenz Bibliothek"
    ),
    "fr": (
        "de la le et les des en un du une que est pour qui dans par plus pas au sur se ne "
        "ce il sont mais ou comme avec nous vous leur été être élèves enseignants apprentissage "
        "école université recherche données énergie rivière climat société bibliothèque "
        "évaluation pédagogie réseau communauté savoir libre ressources éducatives ouvertes"
    ),
    "es": (
        "de la que el en y a los del se las por un para con no una su al lo como más pero "
        "sus le ya o este sí porque esta entre cuando muy sin sobre también aprendizaje "
        "escuela universidad investigación datos energía río clima sociedad biblioteca "
        "evaluación pedagogía red comunidad conocimiento abierto recursos educativos niños"
    ),
    "pt": (
        "de a o que e do da em um para é com não uma os no se na por mais as dos como mas "
        "ao ele das à seu sua ou quando muito nos já também só pelo pela até isso ela entre "
        "aprendizagem escola universidade pesquisa dados energia rio clima sociedade "
        "biblioteca avaliação pedagogia rede comunidade conhecimento aberto recursos educação"
    ),
    "ru": (
        "и в не на я быть он с что а по это она этот к но они мы как из у который то за свой "
        "обучение школа университет исследование данные энергия река климат общество "
        "библиотека оценка педагогика сеть сообщество знание открытый ресурсы образование "
        "учитель ученики курс практика вопрос ответ статья метод модель"
    ),
    "el": (
        "και το η να του της σε με τα που για την ο από είναι στο δεν θα τη οι ένα στην "
        "μάθηση σχολείο πανεπιστήμιο έρευνα δεδομένα ενέργεια ποτάμι κλίμα κοινωνία "
        "βιβλιοθήκη αξιολόγηση παιδαγωγική δίκτυο κοινότητα γνώση ανοιχτό εκπαίδευση"
    ),
    "ar": (
        "في من على أن إلى التي الذي عن مع هذا هذه كان ما لا قد كل بين أو بعد ذلك "
        "التعلم المدرسة الجامعة البحث البيانات الطاقة النهر المناخ المجتمع المكتبة "
        "التقييم التربية الشبكة المعرفة المفتوحة الموارد التعليم المعلم الطلاب الدورة"
    ),
    "ja": (
        "学習 学校 大学 研究 データ エネルギー 川 気候 社会 図書館 評価 教育学 ネットワーク "
        "共同体 知識 オープン 教材 教育 先生 学生 講座 実践 質問 答え 記事 方法 模型 "
        "の に は を た が で て と し れ さ ある いる も する から な こと として"
    ),
    "zh": (
        "的 一 是 不 了 在 人 有 我 他 这 个 们 中 来 上 大 为 和 国 地 到 以 说 时 要 就 出 会 "
        "学习 学校 大学 研究 数据 能源 河流 气候 社会 图书馆 评估 教育学 网络 社区 知识 开放 "
        "资源 教育 老师 学生 课程 实践 问题 答案 文章 方法 模型"
    ),
}
# Share of sources writing in each language: mostly English, a long tail of others.
LANGUAGE_SHARE = {
    "en": 0.45, "de": 0.1, "fr": 0.1, "es": 0.08, "pt": 0.06,
    "ru": 0.06, "el": 0.03, "ar": 0.04, "ja": 0.04, "zh": 0.04,
}  # fmt: skip
# Scripts written without spaces between words.
UNSPACED = {"ja", "zh"}
FORMATS = (("rss", 0.55), ("atom", 0.35), ("json", 0.10))


@dataclass(frozen=True)
class Entry:
    guid: str
    link: str
    title: str
    published: datetime
    author: str
    categories: tuple[str, ...]
    html: str


@dataclass(frozen=True)
class Feed:
    index: int
    format: str  # rss | atom | json
    language: str
    title: str
    home: str
    entries: tuple[Entry, ...]

    @property
    def path(self) -> str:
        extension = "json" if self.format == "json" else "xml"
        return f"/feeds/{self.index}.{extension}"


def host_of(index: int) -> str:
    """The loopback address that serves source ``index``."""
    host = index // SOURCES_PER_HOST
    return f"{HOST_PREFIX}.{host // 250}.{host % 250 + 1}"


def feed_url(index: int, port: int, fmt: str) -> str:
    extension = "json" if fmt == "json" else "xml"
    return f"http://{host_of(index)}:{port}/feeds/{index}.{extension}"


class _Words:
    """Zipf-distributed words of one language."""

    def __init__(self, language: str) -> None:
        self.words = LANGUAGES[language].split()
        weights = [1.0 / (rank + 1) for rank in range(len(self.words))]
        total = 0.0
        self.cumulative = []
        for weight in weights:
            total += weight
            self.cumulative.append(total)
        self.joiner = "" if language in UNSPACED else " "

    def sentence(self, rng: random.Random, length: int) -> str:
        picked = rng.choices(self.words, cum_weights=self.cumulative, k=length)
        text = self.joiner.join(picked)
        return text[:1].upper() + text[1:] + ("。" if not self.joiner else ".")


def make_feed(index: int, seed: int = SEED) -> Feed:
    """Source ``index`` of the network: the same feed for the same seed, always."""
    rng = random.Random(f"{seed}:{index}")
    language = rng.choices(list(LANGUAGE_SHARE), weights=list(LANGUAGE_SHARE.values()))[0]
    fmt = rng.choices([f for f, _ in FORMATS], weights=[w for _, w in FORMATS])[0]
    words = _Words(language)
    home = f"https://person{index}.example.org/"
    author = f"Person {index}"
    count = rng.randint(10, 40)
    # Log-normal words per entry: median ~180, a long tail of essays (capped).
    mean_words = rng.lognormvariate(math.log(180), 0.9)
    entries = []
    for number in range(count):
        published = NOW - timedelta(hours=number * rng.uniform(6, 60), minutes=rng.randint(0, 59))
        length = max(20, min(6000, int(rng.lognormvariate(math.log(mean_words), 0.5))))
        entries.append(
            Entry(
                guid=f"{home}posts/{index}-{number}",
                link=f"{home}{published:%Y/%m}/post-{number}.html",
                title=words.sentence(rng, rng.randint(4, 10)).rstrip(".。"),
                published=published,
                author=author,
                categories=tuple(rng.sample(words.words[20:], k=rng.randint(0, 3))),
                html=_content(rng, words, length, home),
            )
        )
    title = f"{author}'s notes"
    return Feed(index, fmt, language, title, home, tuple(entries))


def _content(rng: random.Random, words: _Words, length: int, home: str) -> str:
    """Paragraphs of HTML adding up to about ``length`` words, with the markup blogs use."""
    parts: list[str] = []
    written = 0
    while written < length:
        size = min(length - written, rng.randint(30, 120))
        sentences = []
        left = size
        while left > 0:
            step = min(left, rng.randint(6, 20))
            sentences.append(escape(words.sentence(rng, step)))
            left -= step
        paragraph = " ".join(sentences)
        roll = rng.random()
        if roll < 0.25:
            link = f"https://elsewhere{rng.randint(1, 500)}.example.net/a/{rng.randint(1, 9999)}"
            paragraph = f'{paragraph} <a href="{link}">{escape(words.sentence(rng, 3))}</a>'
        elif roll < 0.35:
            paragraph = f"<em>{paragraph}</em>"
        elif roll < 0.40:
            paragraph = f'{paragraph} <img src="/img/{rng.randint(1, 999)}.jpg" alt="">'
        parts.append(f"<p>{paragraph}</p>")
        if rng.random() < 0.05:
            items = "".join(f"<li>{escape(words.sentence(rng, 5))}</li>" for _ in range(3))
            parts.append(f"<ul>{items}</ul>")
        written += size
    return "\n".join(parts)


# ── serializing ──────────────────────────────────────────────────────────────────────────


def render(feed: Feed, self_url: str) -> bytes:
    if feed.format == "rss":
        return _rss(feed, self_url)
    if feed.format == "atom":
        return _atom(feed, self_url)
    return _json_feed(feed, self_url)


def _rss(feed: Feed, self_url: str) -> bytes:
    items = []
    for entry in feed.entries:
        categories = "".join(f"<category>{escape(c)}</category>" for c in entry.categories)
        items.append(
            f"<item><title>{escape(entry.title)}</title><link>{entry.link}</link>"
            f'<guid isPermaLink="false">{entry.guid}</guid>'
            f"<pubDate>{format_datetime(entry.published)}</pubDate>"
            f"<dc:creator>{escape(entry.author)}</dc:creator>{categories}"
            f"<description><![CDATA[{entry.html}]]></description></item>"
        )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
        f"<title>{escape(feed.title)}</title><link>{feed.home}</link>"
        f'<atom:link href="{self_url}" rel="self" type="application/rss+xml"/>'
        f"<description>Notes</description><language>{feed.language}</language>"
        f"{''.join(items)}</channel></rss>\n"
    )
    return text.encode()


def _atom(feed: Feed, self_url: str) -> bytes:
    entries = []
    for entry in feed.entries:
        categories = "".join(f'<category term="{escape(c)}"/>' for c in entry.categories)
        entries.append(
            f"<entry><title>{escape(entry.title)}</title>"
            f'<link rel="alternate" href="{entry.link}"/><id>{entry.guid}</id>'
            f"<published>{entry.published.isoformat()}</published>"
            f"<updated>{entry.published.isoformat()}</updated>"
            f"<author><name>{escape(entry.author)}</name></author>{categories}"
            f'<content type="html">{escape(entry.html)}</content></entry>'
        )
    updated = feed.entries[0].published.isoformat()
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{feed.language}">'
        f'<title>{escape(feed.title)}</title><link href="{feed.home}"/>'
        f'<link rel="self" href="{self_url}"/><id>{feed.home}</id><updated>{updated}</updated>'
        f"{''.join(entries)}</feed>\n"
    )
    return text.encode()


def _json_feed(feed: Feed, self_url: str) -> bytes:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": feed.home,
        "feed_url": self_url,
        "language": feed.language,
        "items": [
            {
                "id": entry.guid,
                "url": entry.link,
                "title": entry.title,
                "content_html": entry.html,
                "date_published": entry.published.isoformat(),
                "authors": [{"name": entry.author}],
                "tags": list(entry.categories),
            }
            for entry in feed.entries
        ],
    }
    return json.dumps(document, ensure_ascii=False).encode()


# ── serving ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Document:
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    last_modified: str


def build_documents(sources: int, port: int, seed: int) -> dict[str, Document]:
    """Every feed of the network, rendered and compressed once, by request path."""
    documents = {}
    for index in range(sources):
        feed = make_feed(index, seed)
        body = render(feed, feed_url(index, port, feed.format))
        content_type = (
            "application/feed+json" if feed.format == "json"
            else "application/atom+xml" if feed.format == "atom"
            else "application/rss+xml"
        )  # fmt: skip
        documents[feed.path] = Document(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            content_type=f"{content_type}; charset=utf-8",
            etag='"' + hashlib.sha1(body).hexdigest()[:20] + '"',
            last_modified=format_datetime(feed.entries[0].published, usegmt=True),
        )
    return documents


class Server:
    """HTTP/1.1 with keep-alive, latency, ETag/Last-Modified and gzip over many addresses."""

    def __init__(self, documents: dict[str, Document], latency: float) -> None:
        self.documents = documents
        self.latency = latency
        self.requests = 0
        self.not_modified = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                keep_alive = await self._answer(head, writer)
                if not keep_alive:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _answer(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        method, path, version = [*lines[0].split(" "), "", "", ""][:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        self.requests += 1
        await asyncio.sleep(self.latency)
        document = self.documents.get(path.split("?", 1)[0])
        if document is None:
            writer.write(_status(404, "Not Found", b"not found\n", "text/plain", keep_alive))
            await writer.drain()
            return keep_alive
        fresh_etag = headers.get("if-none-match") == document.etag
        fresh_date = headers.get("if-modified-since") == document.last_modified
        if fresh_etag or ("if-none-match" not in headers and fresh_date):
            self.not_modified += 1
            extra = f"ETag: {document.etag}\r\nLast-Modified: {document.last_modified}\r\n"
            writer.write(_status(304, "Not Modified", b"", None, keep_alive, extra))
            await writer.drain()
            return keep_alive
        compressed = "gzip" in headers.get("accept-encoding", "")
        body = document.gzipped if compressed and method != "HEAD" else document.body
        extra = f"ETag: {document.etag}\r\nLast-Modified: {document.last_modified}\r\n"
        if compressed:
            extra += "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
        payload = b"" if method == "HEAD" else body
        writer.write(_status(200, "OK", payload, document.content_type, keep_alive, extra))
        await writer.drain()
        return keep_alive


def _status(
    code: int,
    reason: str,
    body: bytes,
    content_type: str | None,
    keep_alive: bool,
    extra: str = "",
) -> bytes:
    head = f"HTTP/1.1 {code} {reason}\r\nContent-Length: {len(body)}\r\n{extra}"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    head += "Connection: keep-alive\r\n" if keep_alive else "Connection: close\r\n"
    return head.encode("latin-1") + b"\r\n" + body


async def serve(sources: int, port: int, latency: float, seed: int, max_seconds: float) -> None:
    documents = build_documents(sources, port, seed)
    server = Server(documents, latency)
    hosts = sorted({host_of(index) for index in range(sources)})
    listeners = [
        await asyncio.start_server(server.handle, host, port, backlog=1024, reuse_address=True)
        for host in hosts
    ]
    print(f"READY http://{HOST_PREFIX}.X.Y:{port}/feeds/N ({len(hosts)} hosts)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max_seconds)
    for listener in listeners:
        listener.close()
    print(f"served {server.requests} requests, {server.not_modified} not modified", flush=True)


def stats(sources: int, seed: int) -> None:
    sizes = []
    formats: dict[str, int] = {}
    languages: dict[str, int] = {}
    entries = 0
    for index in range(sources):
        feed = make_feed(index, seed)
        sizes.append(len(render(feed, feed_url(index, 1, feed.format))))
        formats[feed.format] = formats.get(feed.format, 0) + 1
        languages[feed.language] = languages.get(feed.language, 0) + 1
        entries += len(feed.entries)
    sizes.sort()
    print(
        f"{sources} feeds, {entries} entries, {sum(sizes) / 1e6:.1f} MB; per feed: median "
        f"{sizes[len(sizes) // 2] / 1e3:.0f} KB, mean {sum(sizes) / len(sizes) / 1e3:.0f} KB, "
        f"p95 {sizes[int(len(sizes) * 0.95)] / 1e3:.0f} KB, largest {sizes[-1] / 1e3:.0f} KB"
    )
    print("formats:", formats)
    print("languages:", languages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["serve", "stats"])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8770)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before each answer")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    if args.command == "stats":
        stats(args.sources, args.seed)
        return
    asyncio.run(serve(args.sources, args.port, args.latency, args.seed, args.max_seconds))


if __name__ == "__main__":
    sys.exit(main())
