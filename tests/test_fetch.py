"""aggregator.fetch against the real local server, and httpx.MockTransport for pure HTTP logic.

No test asserts a timing: timeouts are small so the file stays fast, and concurrency is
observed by counting requests in flight, not by the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import brotli
import httpx
import pytest

import aggregator
from aggregator.errors import FetchError, HttpStatusError
from aggregator.fetch import (
    FEED_ACCEPT,
    JSON_ACCEPT,
    MAX_RETRY_AFTER,
    USER_AGENT,
    Fetcher,
    parse_retry_after,
)
from aggregator.models import FetchConfig, FetchResult
from tests.server import LocalHTTPServer, RecordedRequest, Reply, unused_port

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
CONFIG = FetchConfig(timeout=5.0)  # a broken test fails instead of hanging; QUICK is for timeouts
MiB = 1 << 20

Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


def fetch(
    url: str,
    config: FetchConfig = CONFIG,
    transport: httpx.AsyncBaseTransport | None = None,
    **options: Any,
) -> FetchResult:
    results: list[FetchResult] = []

    # The coroutine keeps its result to itself: asyncio.run() on 3.11 reprs the main task on
    # the way out, and the repr of a 10 MB body would dwarf what the fetch itself uses.
    async def run() -> None:
        async with Fetcher(config, transport=transport) as fetcher:
            results.append(await fetcher.get(url, **options))

    asyncio.run(run())
    return results[0]


def fetch_error(url: str, config: FetchConfig = CONFIG, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, config, **options)
    return caught.value


def mock(handler: Handler) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def streamed(body: bytes, headers: dict[str, str]) -> httpx.Response:
    """A mock response whose raw bytes reach fetch.py undecoded, as from the network.

    (``httpx.Response(content=...)`` is read and decoded by httpx on creation.)
    """
    return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))


# ── success and conditional requests ─────────────────────────────────────────────────────


def test_ok_returns_body_validators_and_headers(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", FEED, headers={"Link": '<https://hub.example/>; rel="hub"'})
    url = http_server.url("/feed.xml")

    result = fetch(url)

    assert result.status == 200
    assert result.body == FEED
    assert result.url == url
    assert result.final_url == url
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.etag is not None and result.etag.startswith('"')
    assert result.last_modified is not None and result.last_modified.endswith("GMT")
    assert result.permanent_redirect is None
    assert result.truncated is False
    assert result.header("Link") == '<https://hub.example/>; rel="hub"'
    assert all(name == name.lower() for name, _ in result.headers)


def test_refetch_with_validators_gets_304_without_body(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", FEED)
    url = http_server.url("/feed.xml")
    first = fetch(url)

    second = fetch(url, etag=first.etag, last_modified=first.last_modified)

    assert second.status == 304
    assert second.not_modified
    assert second.body == b""
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    conditional = http_server.requests_for("/feed.xml")[1].headers
    assert conditional["If-None-Match"] == first.etag
    assert conditional["If-Modified-Since"] == first.last_modified


def test_last_modified_alone_gets_304(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", FEED, etag=False, last_modified="Mon, 01 Jan 2024 00:00:00 GMT")

    result = fetch(http_server.url("/feed.xml"), last_modified="Mon, 01 Jan 2024 00:00:00 GMT")

    assert result.status == 304
    assert "if-none-match" not in http_server.requests[0].headers


def test_changed_body_answers_200_to_old_etag(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", FEED)

    result = fetch(http_server.url("/feed.xml"), etag='"stale"')

    assert result.status == 200
    assert result.body == FEED


def test_304_without_validators_keeps_the_ones_sent() -> None:
    transport = mock(lambda request: httpx.Response(304))

    result = fetch("https://a.example/feed", transport=transport, etag='"v1"', last_modified="x")

    assert (result.status, result.etag, result.last_modified) == (304, '"v1"', "x")


def test_request_headers(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", FEED)

    fetch(http_server.url("/feed.xml"))

    headers = http_server.requests[0].headers
    assert headers["user-agent"] == USER_AGENT
    assert f"pln/{aggregator.__version__} (+https://" in USER_AGENT
    assert headers["accept"] == FEED_ACCEPT
    assert set(headers["accept-encoding"].replace(" ", "").split(",")) == {"gzip", "deflate", "br"}
    assert "if-none-match" not in headers and "if-modified-since" not in headers


def test_accept_user_agent_and_params_are_the_callers(http_server: LocalHTTPServer) -> None:
    http_server.add("/api/v1/accounts/lookup", "{}", content_type="application/json")
    url = http_server.url("/api/v1/accounts/lookup?acct=alice")

    async def run() -> FetchResult:
        async with Fetcher(CONFIG, user_agent="test-agent/1") as fetcher:
            return await fetcher.get(url, accept=JSON_ACCEPT, params={"limit": "40"})

    asyncio.run(run())

    request = http_server.requests[0]
    assert request.query == {"acct": "alice", "limit": "40"}  # merged, not replaced
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"] == "test-agent/1"


def test_feed_accept_prefers_feeds_over_html() -> None:
    ranges = [item.strip() for item in FEED_ACCEPT.split(",")]
    assert ranges[0] == "application/rss+xml"
    html = next(i for i, item in enumerate(ranges) if item.startswith("text/html"))
    assert all(not item.startswith("*/*") for item in ranges[:html])
    assert ranges[-1] == "*/*;q=0.1"


# ── redirects ────────────────────────────────────────────────────────────────────────────


def test_permanent_chain_reports_where_it_ended(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/old", "/older-still", status=301)
    http_server.redirect("/older-still", http_server.url("/feed.xml"), status=308)
    http_server.add("/feed.xml", FEED)

    result = fetch(http_server.url("/old"))

    assert result.body == FEED
    assert result.url == http_server.url("/old")
    assert result.final_url == http_server.url("/feed.xml")
    assert result.permanent_redirect == http_server.url("/feed.xml")


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_is_not_reported(http_server: LocalHTTPServer, status: int) -> None:
    http_server.redirect("/today", "/feed.xml", status=status)
    http_server.add("/feed.xml", FEED)

    result = fetch(http_server.url("/today"))

    assert result.final_url == http_server.url("/feed.xml")
    assert result.permanent_redirect is None


def test_permanent_then_temporary_reports_the_permanent_part(
    http_server: LocalHTTPServer,
) -> None:
    http_server.redirect("/a", "/b", status=301)
    http_server.redirect("/b", "/c", status=302)
    http_server.add("/c", FEED)

    result = fetch(http_server.url("/a"))

    assert result.final_url == http_server.url("/c")
    assert result.permanent_redirect == http_server.url("/b")


def test_temporary_then_permanent_is_not_reported(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/a", "/b", status=302)
    http_server.redirect("/b", "/c", status=301)
    http_server.add("/c", FEED)

    assert fetch(http_server.url("/a")).permanent_redirect is None


def test_redirect_then_304_carries_the_redirect(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/old", "/feed.xml")
    http_server.add("/feed.xml", FEED, etag='"v1"')

    result = fetch(http_server.url("/old"), etag='"v1"')

    assert result.status == 304
    assert result.permanent_redirect == http_server.url("/feed.xml")


@pytest.mark.parametrize(
    ("location", "expected"),
    [("feed.xml", "/blog/feed.xml"), ("../feed.xml", "/feed.xml"), ("/x/feed.xml", "/x/feed.xml")],
)
def test_relative_location_is_resolved(
    http_server: LocalHTTPServer, location: str, expected: str
) -> None:
    http_server.redirect("/blog/old", location)
    http_server.add(expected, FEED)

    result = fetch(http_server.url("/blog/old"))

    assert result.final_url == http_server.url(expected)
    assert result.body == FEED


def test_redirect_loop_is_an_error(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/a", "/b")
    http_server.redirect("/b", "/a")

    error = fetch_error(http_server.url("/a"))

    assert "redirect loop" in error.message
    assert error.url == http_server.url("/a")
    assert len(http_server.requests) == 2


def test_five_hops_are_followed(http_server: LocalHTTPServer) -> None:
    for hop in range(5):
        http_server.redirect(f"/{hop}", f"/{hop + 1}", status=302)
    http_server.add("/5", FEED)

    assert fetch(http_server.url("/0")).body == FEED


def test_a_sixth_hop_is_an_error(http_server: LocalHTTPServer) -> None:
    for hop in range(6):
        http_server.redirect(f"/{hop}", f"/{hop + 1}", status=302)
    http_server.add("/6", FEED)

    error = fetch_error(http_server.url("/0"))

    assert "too many redirects" in error.message
    assert len(http_server.requests) == 6  # the sixth Location is never requested


def test_redirect_to_another_scheme_is_an_error(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/a", "ftp://files.example/feed.xml")

    assert "non-HTTP" in fetch_error(http_server.url("/a")).message


def test_redirect_without_location_is_an_error(http_server: LocalHTTPServer) -> None:
    http_server.status("/a", 301)

    assert "without a Location" in fetch_error(http_server.url("/a")).message


def test_validators_follow_the_redirect(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/old", "/feed.xml")
    http_server.add("/feed.xml", FEED)

    fetch(http_server.url("/old"), etag='"e"')

    assert http_server.requests_for("/feed.xml")[0].headers["if-none-match"] == '"e"'


# ── error statuses ───────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 502])
def test_error_status_raises_http_status_error(http_server: LocalHTTPServer, status: int) -> None:
    http_server.status("/feed.xml", status, body="no")
    url = http_server.url("/feed.xml")

    with pytest.raises(HttpStatusError) as caught:
        fetch(url)

    assert caught.value.status == status
    assert caught.value.url == url
    assert caught.value.retry_after is None
    assert f"HTTP {status}" in str(caught.value)


def test_unknown_path_is_404(http_server: LocalHTTPServer) -> None:
    with pytest.raises(HttpStatusError) as caught:
        fetch(http_server.url("/nothing-here"))

    assert caught.value.status == 404
    assert "Not Found" in caught.value.message


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds(http_server: LocalHTTPServer, status: int) -> None:
    http_server.status("/feed.xml", status, headers={"Retry-After": "120"})

    with pytest.raises(HttpStatusError) as caught:
        fetch(http_server.url("/feed.xml"))

    assert caught.value.status == status
    assert caught.value.retry_after == 120.0


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_as_http_date(http_server: LocalHTTPServer, status: int) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    http_server.status("/feed.xml", status, headers={"Retry-After": format_datetime(later, True)})

    with pytest.raises(HttpStatusError) as caught:
        fetch(http_server.url("/feed.xml"))

    assert caught.value.retry_after is not None
    assert 3000 < caught.value.retry_after <= 3600


def test_error_after_redirect_names_the_url_asked(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/old", "/gone")
    http_server.status("/gone", 410)

    with pytest.raises(HttpStatusError) as caught:
        fetch(http_server.url("/old"))

    assert (caught.value.status, caught.value.url) == (410, http_server.url("/old"))


# ── Retry-After parsing ──────────────────────────────────────────────────────────────────

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0", 0.0),
        ("120", 120.0),
        (" 30 ", 30.0),
        ("1.5", 1.5),
        ("99999999999", MAX_RETRY_AFTER),
        ("-5", None),
        ("soon", None),
        ("1e3", None),
        ("Wed, 01 May 2024 12:02:00 GMT", 120.0),  # IMF-fixdate
        ("Wednesday, 01-May-24 12:00:30 GMT", 30.0),  # RFC 850
        ("Wed May  1 12:01:00 2024", 60.0),  # asctime, no zone: GMT
        ("Wed, 01 May 2024 14:00:00 +0200", 0.0),  # the same instant as NOW
        ("Tue, 30 Apr 2024 12:00:00 GMT", 0.0),  # in the past
        ("Wed, 01 May 2030 12:00:00 GMT", MAX_RETRY_AFTER),
        ("Wed, 32 May 2024 12:00:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_takes_a_naive_now_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Wed, 01 May 2024 12:00:10 GMT", naive) == 10.0


# ── timeouts ─────────────────────────────────────────────────────────────────────────────

QUICK = FetchConfig(timeout=0.5)


def test_slow_answer_times_out(http_server: LocalHTTPServer) -> None:
    http_server.add("/slow", FEED, delay=30)

    error = fetch_error(http_server.url("/slow"), QUICK)

    assert "timed out after 0.5 s" in error.message
    assert isinstance(error.__cause__, httpx.TimeoutException | TimeoutError)


def test_server_that_never_answers_times_out(http_server: LocalHTTPServer) -> None:
    http_server.hang("/hang")

    assert "timed out" in fetch_error(http_server.url("/hang"), QUICK).message


def test_dribbling_body_times_out_as_a_whole(http_server: LocalHTTPServer) -> None:
    # Each byte arrives well within the read timeout; only the deadline on the whole ends it.
    http_server.huge("/drip", size=MiB, chunk_size=1, interval=0.02)

    error = fetch_error(http_server.url("/drip"), QUICK)

    assert "timed out" in error.message
    assert isinstance(error.__cause__, TimeoutError)


# ── bodies: size cap and decoding ────────────────────────────────────────────────────────


def test_huge_body_is_cut_at_max_bytes(http_server: LocalHTTPServer) -> None:
    http_server.huge("/huge", size=50 * MiB)

    result = fetch(http_server.url("/huge"), FetchConfig(timeout=5, max_bytes=100_000))

    assert result.truncated
    assert result.body == b"x" * 100_000


def test_body_of_exactly_max_bytes_is_whole(http_server: LocalHTTPServer) -> None:
    http_server.huge("/exact", size=1000, chunk_size=300)

    result = fetch(http_server.url("/exact"), FetchConfig(max_bytes=1000))

    assert not result.truncated
    assert len(result.body) == 1000


def test_gzip_body_is_decoded(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", FEED * 100, gzip=True)

    result = fetch(http_server.url("/feed.xml"))

    assert result.header("content-encoding") == "gzip"
    assert result.body == FEED * 100
    assert not result.truncated


def test_gzip_max_bytes_counts_decoded_bytes(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", b"a" * 5000, gzip=True)  # a few dozen bytes on the wire

    result = fetch(http_server.url("/feed.xml"), FetchConfig(max_bytes=4096))

    assert result.truncated
    assert result.body == b"a" * 4096


def gzip_bomb(decoded_size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MiB)
    parts = [compressor.compress(block) for _ in range(decoded_size // MiB)]
    return b"".join([*parts, compressor.flush()])


def peak_memory_of(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gzip_bomb_is_cut_off_with_bounded_memory(http_server: LocalHTTPServer) -> None:
    bomb = gzip_bomb(64 * MiB)  # about 64 KB on the wire: one read of the socket
    http_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    config = FetchConfig(timeout=5, max_bytes=1_000_000)
    results: list[FetchResult] = []

    peak = peak_memory_of(lambda: results.append(fetch(http_server.url("/bomb"), config)))

    assert results[0].truncated
    assert results[0].body == bytes(1_000_000)
    # The body (twice at most: read, then as bytes), a few pieces and the client itself;
    # inflating a whole chunk at once, as httpx's own decoders do, would take 64 MB.
    assert peak < 16 * MiB


def test_brotli_body_is_decoded(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", brotli.compress(FEED * 100), headers={"Content-Encoding": "br"})

    assert fetch(http_server.url("/feed.xml")).body == FEED * 100


def test_brotli_bomb_is_cut_off_with_bounded_memory(http_server: LocalHTTPServer) -> None:
    bomb = brotli.compress(bytes(128 * MiB), quality=1)
    http_server.add("/bomb", bomb, headers={"Content-Encoding": "br"})
    config = FetchConfig(timeout=5, max_bytes=1000)
    results: list[FetchResult] = []

    peak = peak_memory_of(lambda: results.append(fetch(http_server.url("/bomb"), config)))

    assert results[0].truncated
    assert results[0].body == bytes(1000)
    assert peak < 16 * MiB  # brotli packs 128 MB of zeros into a few kilobytes


@pytest.mark.parametrize(
    "compress",
    [zlib.compress, lambda data: zlib.compress(data)[2:-4]],  # zlib-wrapped, and raw deflate
    ids=["zlib", "raw"],
)
def test_deflate_body_is_decoded(compress: Callable[[bytes], bytes]) -> None:
    body = compress(FEED)
    transport = mock(lambda request: streamed(body, {"Content-Encoding": "deflate"}))

    assert fetch("https://a.example/feed", transport=transport).body == FEED


def test_body_already_read_by_a_mock_transport_is_still_capped() -> None:
    transport = mock(lambda request: httpx.Response(200, content=b"a" * 2000))

    result = fetch("https://a.example/feed", FetchConfig(max_bytes=1500), transport=transport)

    assert (result.body, result.truncated) == (b"a" * 1500, True)


def test_unknown_content_coding_passes_through() -> None:
    transport = mock(lambda request: streamed(FEED, {"Content-Encoding": "utf-8"}))

    assert fetch("https://a.example/feed", transport=transport).body == FEED


def test_body_that_is_not_the_coding_it_claims_is_an_error(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", FEED, headers={"Content-Encoding": "gzip"})

    assert "cannot decode" in fetch_error(http_server.url("/feed.xml")).message


def test_stacked_codings_are_refused() -> None:
    body = gzip.compress(gzip.compress(FEED))
    transport = mock(lambda request: streamed(body, {"Content-Encoding": "gzip, gzip"}))

    assert "stacked" in fetch_error("https://a.example/f", transport=transport).message


# ── transport failures ───────────────────────────────────────────────────────────────────


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{unused_port()}/feed.xml"

    error = fetch_error(url)

    assert error.message == "cannot connect: connection refused"
    assert error.url == url
    assert isinstance(error.__cause__, httpx.ConnectError)


def test_failure_after_a_redirect_says_where(http_server: LocalHTTPServer) -> None:
    elsewhere = f"http://127.0.0.1:{unused_port()}/feed.xml"
    http_server.redirect("/moved", elsewhere)

    error = fetch_error(http_server.url("/moved"))

    assert error.url == http_server.url("/moved")
    assert error.message == f"cannot connect: connection refused (at {elsewhere})"


def test_connection_closed_mid_body(http_server: LocalHTTPServer) -> None:
    http_server.raw("/broken", b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>")

    error = fetch_error(http_server.url("/broken"))

    assert error.message == "the connection closed before the response was complete"


def test_connection_closed_before_any_answer(http_server: LocalHTTPServer) -> None:
    http_server.raw("/nothing", b"")

    assert "closed before" in fetch_error(http_server.url("/nothing")).message


def test_garbage_instead_of_http(http_server: LocalHTTPServer) -> None:
    http_server.raw("/garbage", b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    assert "broken response" in fetch_error(http_server.url("/garbage")).message


@pytest.mark.parametrize("url", ["feed.xml", "ftp://a.example/feed", "http://", "http://[::1/"])
def test_invalid_url(url: str) -> None:
    error = fetch_error(url)

    assert error.message.startswith("invalid URL")
    assert error.url == url


def raising(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return mock(handler)


def chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (
            chained(
                httpx.ConnectError("x"),
                ssl.SSLCertVerificationError(1, "certificate verify failed"),
            ),
            "TLS certificate not accepted",
        ),
        (chained(httpx.ConnectError("x"), ssl.SSLError(1, "wrong version")), "TLS handshake"),
        (
            chained(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known")),
            "cannot connect: host name lookup failed (Name or service not known)",
        ),
        (
            chained(httpx.ConnectError("x"), OSError(113, "No route to host")),
            "cannot connect: No route to host",
        ),
        (
            chained(httpx.ReadError(""), ConnectionResetError(104, "reset")),
            "the connection was reset",
        ),
        (httpx.ConnectTimeout(""), "timed out after 5 s"),
        (httpx.PoolTimeout(""), "timed out after 5 s"),
        (httpx.WriteError("broken pipe"), "connection failed: broken pipe"),
        (httpx.LocalProtocolError("Illegal header value"), "invalid request"),
        (httpx.ProxyError("proxy said no"), "request failed: proxy said no"),
    ],
)
def test_transport_failures_are_fetch_errors(exc: Exception, message: str) -> None:
    error = fetch_error("https://a.example/feed", transport=raising(exc))

    assert message in error.message
    assert error.__cause__ is exc


# ── concurrency ──────────────────────────────────────────────────────────────────────────


async def get_all(fetcher: Fetcher, urls: list[str]) -> list[FetchResult]:
    return await asyncio.gather(*(fetcher.get(url) for url in urls))


def test_per_host_limit(http_server: LocalHTTPServer) -> None:
    # Each answer waits until a second request is being answered too: with a limit of 2 the
    # requests pair up; a lower limit would break the barrier, a higher one show in the peak.
    pairs = threading.Barrier(2, timeout=5)

    def answer(request: RecordedRequest) -> Reply:
        with contextlib.suppress(threading.BrokenBarrierError):
            pairs.wait()
        return Reply(200, FEED)

    http_server.add_handler("/feed.xml", answer)
    config = FetchConfig(timeout=10, concurrency=32, per_host=2)

    async def run() -> list[FetchResult]:
        async with Fetcher(config) as fetcher:
            return await get_all(fetcher, [http_server.url("/feed.xml")] * 10)

    results = asyncio.run(run())

    assert [result.body for result in results] == [FEED] * 10
    assert http_server.max_in_flight == 2
    assert not pairs.broken


class InFlight:
    """An async MockTransport handler that counts requests in flight, per host and in all."""

    def __init__(self) -> None:
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.peak_total = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.now[host] = self.now.get(host, 0) + 1
        self.peak[host] = max(self.peak.get(host, 0), self.now[host])
        self.peak_total = max(self.peak_total, sum(self.now.values()))
        await asyncio.sleep(0.01)  # yield so that every task that can start does
        self.now[host] -= 1
        return httpx.Response(200, content=b"ok")


def test_global_limit_across_hosts() -> None:
    counter = InFlight()
    config = FetchConfig(concurrency=3, per_host=10)
    urls = [f"https://{host}.example/{n}" for host in "abcd" for n in range(4)]

    async def run() -> None:
        async with Fetcher(config, transport=mock(counter)) as fetcher:
            await get_all(fetcher, urls)

    asyncio.run(run())

    assert counter.peak_total == 3


def test_a_busy_host_does_not_hold_the_global_slots() -> None:
    # slow.example has 5 requests queued behind per_host=1; fast.example must still get the
    # second global slot, which it would not if queued requests held global slots.
    order: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        order.append(request.url.host)
        await asyncio.sleep(0.01)
        return httpx.Response(200)

    config = FetchConfig(concurrency=2, per_host=1)
    urls = [f"https://slow.example/{n}" for n in range(5)] + ["https://fast.example/"]

    async def run() -> None:
        async with Fetcher(config, transport=mock(handler)) as fetcher:
            await get_all(fetcher, urls)

    asyncio.run(run())

    assert order.index("fast.example") == 1


def test_a_given_transport_ignores_environment_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = f"http://127.0.0.1:{unused_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, nowhere)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    result = fetch("https://a.example/feed", transport=mock(lambda request: httpx.Response(200)))

    assert result.status == 200


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Fetcher(FetchConfig(per_host=0))


# ── nothing of httpx escapes ─────────────────────────────────────────────────────────────


def test_results_carry_no_httpx_types(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", FEED)

    result = fetch(http_server.url("/feed.xml"))

    values: list[object] = [result.final_url, result.etag, result.headers, result.content_type]
    assert all(not type(value).__module__.startswith("httpx") for value in values)
    assert isinstance(result.headers, tuple) and isinstance(result.headers[0], tuple)


def test_mapping_of_params_is_accepted() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200)

    params: Mapping[str, str] = {"max_id": "10", "limit": "40"}
    fetch(
        "https://social.example/api/v1/accounts/1/statuses", transport=mock(handler), params=params
    )

    assert seen == ["https://social.example/api/v1/accounts/1/statuses?max_id=10&limit=40"]
