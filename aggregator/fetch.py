"""Every request pln makes: one shared fetcher that is polite and bounded.

This is the only module that imports httpx. It turns a URL into a `FetchResult` or raises a
`FetchError` (an `HttpStatusError` when the server answered with an error status); nothing
from httpx escapes it.

    async with Fetcher(config.fetch) as fetcher:
        result = await fetcher.get(url, etag=state.etag, last_modified=state.last_modified)

What "a good citizen" means here:

- at most ``concurrency`` requests in flight in all and ``per_host`` to one host:port;
- one connection pool per host, connections kept alive (a 304 is read to its end so its
  connection serves the next request), and `spread_hosts` to start a run host by host;
- conditional requests when validators are known, so an unchanged feed costs a 304;
- redirects followed by hand (at most five hops, loops refused), and a permanent redirect
  reported so the user can update sources.yaml;
- ``timeout`` seconds for each phase of a request *and* for the whole of one answer, so a server
  that dribbles bytes forever still ends;
- bodies decoded here, never more than ``max_bytes`` decoded bytes kept; the decompressors
  hand out bounded pieces and we stop asking once we have enough, so a gzip or brotli bomb
  cannot inflate one small chunk into gigabytes (httpx's own decoders have no such limit);
- ``Retry-After`` parsed into seconds for the caller to honour.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
import socket
import ssl
import sys
import types
import urllib.request
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar
from urllib.parse import urlsplit


def _without_httpx_command_line() -> None:
    """httpx imports its command-line client (rich.progress, rich.syntax, pygments) whenever
    click is installed: 40-80 ms of every pln start-up for a tool pln never runs. A stand-in
    module is put where httpx looks for it, before httpx is first imported."""
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main", "httpx's command line, not loaded by pln")

    def main() -> None:
        raise SystemExit("run httpx's command line outside pln")

    stand_in.main = main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in


_without_httpx_command_line()

import httpx  # noqa: E402 - after the stand-in above

from aggregator import __version__  # noqa: E402
from aggregator.errors import FetchError, HttpStatusError  # noqa: E402
from aggregator.models import FetchConfig, FetchResult  # noqa: E402

try:
    import brotli  # no stubs; comes with httpx[brotli] on CPython
except ImportError:  # pragma: no cover - PyPy installs brotlicffi, without an output limit
    brotli = None

__all__ = [
    "FEED_ACCEPT",
    "JSON_ACCEPT",
    "MAX_REDIRECTS",
    "USER_AGENT",
    "Fetcher",
    "parse_retry_after",
    "spread_hosts",
]

USER_AGENT = f"pln/{__version__} (+https://github.com/pln-digest/pln; a personal feed digest)"

# Feeds first, generic XML next, HTML (a page whose feed we may discover) last.
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, text/html;q=0.7, */*;q=0.1"
)
JSON_ACCEPT = "application/json"

# Only what _decoder_for() can decode with a bounded output.
ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"

MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 7 * 24 * 3600.0  # a server asking for more than a week is not believed

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_STATUSES = frozenset({301, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DELTA_SECONDS = re.compile(r"\d+(?:\.\d+)?")

_E = TypeVar("_E", bound=BaseException)


# ── Retry-After ──────────────────────────────────────────────────────────────────────────


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    The result is clamped to [0, 7 days]; a date in the past means 0. A value that is neither
    form gives None. ``now`` should be aware; a naive one is taken as UTC.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        until = _seconds_until(text, now)
        if until is None:
            return None
        seconds = until
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP dates are GMT; asctime() dates and naive clocks carry no zone.
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (when - now).total_seconds()


# ── bounded content decoding ─────────────────────────────────────────────────────────────

# Decompressors hand back at most this much at a time, so a small chunk of a compression
# bomb never turns into one huge allocation: the caller stops asking once it has enough.
_DECODE_STEP = 256 * 1024
# A redirect's or an error's body up to this size is read (and dropped) to keep its connection.
_DRAIN_LIMIT = 16 * 1024


class _UndecodableBody(Exception):
    """The body does not match its Content-Encoding (raised inside this module only)."""


class _Decoder(Protocol):
    """Decodes a body chunk by chunk, lazily, in pieces of about ``_DECODE_STEP`` bytes."""

    def decode(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _IdentityDecoder:
    def decode(self, data: bytes) -> Iterator[bytes]:
        yield data

    def flush(self) -> Iterator[bytes]:
        yield from ()


class _ZlibDecoder:
    """gzip (``wbits=31``) or deflate; deflate falls back to a raw stream as browsers do."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._decompressor = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback

    def decode(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending and not self._decompressor.eof:
            piece = self._decompress(pending)
            pending = self._decompressor.unconsumed_tail
            yield piece

    def _decompress(self, data: bytes) -> bytes:
        try:
            piece = self._decompressor.decompress(data, _DECODE_STEP)
        except zlib.error as exc:
            if not self._raw_fallback:
                raise _UndecodableBody(str(exc)) from exc
            # Many servers send "deflate" without the zlib header: start over as raw deflate.
            self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_fallback = False
            return self._decompress(data)
        self._raw_fallback = False  # the header was fine: later errors are real
        return piece

    def flush(self) -> Iterator[bytes]:
        try:
            yield self._decompressor.flush()
        except zlib.error as exc:
            raise _UndecodableBody(str(exc)) from exc


class _BrotliDecoder:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        # Past the output limit the rest waits inside the decompressor: drain it with empty
        # input until nothing comes out. (can_accept_more_data() turns True too early.)
        piece = self._process(data)
        while piece:
            yield piece
            if self._decompressor.is_finished():
                return
            piece = self._process(b"")

    def _process(self, data: bytes) -> bytes:
        try:
            piece: bytes = self._decompressor.process(data, output_buffer_limit=_DECODE_STEP)
        except brotli.error as exc:
            raise _UndecodableBody(str(exc)) from exc
        return piece

    def flush(self) -> Iterator[bytes]:
        yield from ()


def _decoder_for(content_encoding: str | None) -> _Decoder:
    codings = [coding.strip().lower() for coding in (content_encoding or "").split(",")]
    codings = [coding for coding in codings if coding and coding != "identity"]
    if not codings:
        return _IdentityDecoder()
    if len(codings) > 1:
        raise _UndecodableBody(f"stacked content codings are not supported: {content_encoding}")
    coding = codings[0]
    if coding in ("gzip", "x-gzip"):
        return _ZlibDecoder(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _ZlibDecoder(zlib.MAX_WBITS, raw_fallback=True)
    if coding == "br" and brotli is not None:
        return _BrotliDecoder()
    # A coding we never asked for is usually a mislabelled plain body ("utf-8"): pass it
    # through, as browsers and httpx do, and let the parser judge it.
    return _IdentityDecoder()


# ── one answer ───────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class _Answer:
    """One hop's response: a body only for 2xx."""

    url: httpx.URL
    status: int
    reason: str
    headers: httpx.Headers
    body: bytes = b""
    truncated: bool = False

    @property
    def is_redirect(self) -> bool:
        return self.status in _REDIRECT_STATUSES

    @property
    def is_usable(self) -> bool:
        return 200 <= self.status < 300 or self.status == 304


class _RedirectTrail:
    """The hops of one request: refuses loops and long chains, tracks the permanent run."""

    def __init__(self, asked: str, start: httpx.URL) -> None:
        self._asked = asked
        self._visited = [start]
        self._all_permanent = True
        self.permanent_target: httpx.URL | None = None

    def follow(self, answer: _Answer) -> httpx.URL:
        target = self._target_of(answer)
        if _without_fragment(target) in {_without_fragment(url) for url in self._visited}:
            raise FetchError(self._asked, f"redirect loop: {self._path_to(target)}")
        if len(self._visited) > MAX_REDIRECTS:
            raise FetchError(
                self._asked,
                f"too many redirects (more than {MAX_REDIRECTS}): {self._path_to(target)}",
            )
        # Only the leading run of permanent hops is a move the user should copy.
        self._all_permanent = self._all_permanent and answer.status in _PERMANENT_STATUSES
        if self._all_permanent:
            self.permanent_target = target
        self._visited.append(target)
        return target

    def _target_of(self, answer: _Answer) -> httpx.URL:
        location = answer.headers.get("location", "").strip()
        if not location:
            raise FetchError(self._asked, f"HTTP {answer.status} redirect without a Location")
        try:
            target = answer.url.join(location)
        except httpx.InvalidURL as exc:
            raise FetchError(self._asked, f"invalid redirect target {location!r}") from exc
        if target.scheme not in _DEFAULT_PORTS or not target.host:
            raise FetchError(self._asked, f"redirect to a non-HTTP URL: {location}")
        return target

    def _path_to(self, target: httpx.URL) -> str:
        return " → ".join(str(url) for url in [*self._visited, target])


def _without_fragment(url: httpx.URL) -> httpx.URL:
    return url.copy_with(fragment=None)


# ── connection pools ─────────────────────────────────────────────────────────────────────


class _PoolPerHost(httpx.AsyncBaseTransport):
    """A connection pool of its own for each scheme, host and port, made when first needed.

    httpcore's pool looks at every one of its connections (and, for each, counts them all
    again) whenever a request comes or goes, so one pool shared by a run over hundreds of
    hosts spent more CPU in that scan than in the requests (1,000 sources on 250 hosts: about
    a third of the warm fetch's CPU). A pool per host scans only its host's few connections.
    The Fetcher's semaphores still decide how many requests are in flight, in all and per
    host. Pools longest unused beyond ``concurrency`` of them are closed once nothing is in
    flight through them, so idle keep-alive connections (open files) stay bounded.
    """

    def __init__(self, config: FetchConfig) -> None:
        self._limits = httpx.Limits(
            max_connections=config.per_host, max_keepalive_connections=config.per_host
        )
        self._keep = 8 * config.concurrency
        self._pools: dict[tuple[str, str, int | None], _HostPool] = {}  # oldest use first

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.scheme, request.url.host, request.url.port)
        pool = self._pools.pop(key, None)
        if pool is None:
            await self._close_surplus()
            pool = _HostPool(self._limits)
        self._pools[key] = pool  # now the most recently used
        return await pool.send(request)

    async def _close_surplus(self) -> None:
        """Make room for one more pool: close the longest unused idle ones beyond the limit."""
        surplus = len(self._pools) + 1 - self._keep
        if surplus <= 0:
            return
        idle: list[tuple[str, str, int | None]] = []
        for key, pool in self._pools.items():  # oldest use first
            if pool.idle:
                idle.append(key)
                if len(idle) == surplus:
                    break
        for key in idle:
            await self._pools.pop(key).aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


class _HostPool:
    """One host's httpx transport and the number of its responses not yet closed."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._transport = _asyncio_transport(limits)
        self._open = 0

    @property
    def idle(self) -> bool:
        return self._open == 0

    async def send(self, request: httpx.Request) -> httpx.Response:
        self._open += 1
        try:
            response = await self._transport.handle_async_request(request)
        except BaseException:
            self._open -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ClosingStream(response.stream, self._closed)
        return response

    def _closed(self) -> None:
        self._open -= 1

    async def aclose(self) -> None:
        await self._transport.aclose()


def _asyncio_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its httpcore pool on plain asyncio streams (`netstream`).

    httpx takes no network backend, so its pool is made again with the same settings and
    ours; anyio's cancel scopes around every read and write were the largest part of a warm
    run's CPU on the event loop.
    """
    import httpcore  # loaded by httpx's transport just below in any case

    from aggregator import netstream

    transport = httpx.AsyncHTTPTransport(http2=True, verify=_tls_context(), limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_tls_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=True,
        network_backend=netstream.BACKEND,
    )
    return transport


class _ClosingStream(httpx.AsyncByteStream):
    """A response body that says when it is closed, once."""

    def __init__(self, stream: httpx.AsyncByteStream, on_close: Callable[[], None]) -> None:
        self._stream = stream
        self._on_close: Callable[[], None] | None = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


def spread_hosts(urls: Sequence[str]) -> list[int]:
    """An order (indices into ``urls``) that takes each host's URLs in turn, round by round.

    Started in this order, a host's second request comes after one request to every other
    host, when its first connection is free again: a connection per host serves all its
    sources (1,000 sources on 250 hosts: 250 connections instead of 1,000), and no host gets
    its requests all at once. A URL that cannot be parsed counts as a host of its own.
    """
    by_host: dict[str, list[int]] = {}
    for index, url in enumerate(urls):
        try:
            host = urlsplit(url).netloc.lower()
        except ValueError:
            host = url
        by_host.setdefault(host, []).append(index)
    rounds = itertools.zip_longest(*by_host.values())
    return [index for row in rounds for index in row if index is not None]


# ── the client ───────────────────────────────────────────────────────────────────────────


class Fetcher:
    """The shared HTTP client of one run; use it as an async context manager.

    ``transport`` replaces the network for every request (tests pass an
    ``httpx.MockTransport``): HTTP/2, the connection limits and the proxy variables of the
    environment then do not apply.
    """

    def __init__(
        self,
        config: FetchConfig,
        user_agent: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if config.concurrency < 1 or config.per_host < 1:
            raise ValueError("fetch.concurrency and fetch.per_host must be at least 1")
        self._config = config
        self._all_slots = asyncio.Semaphore(config.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._headers = {"User-Agent": user_agent or USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
        self._timeouts = httpx.Timeout(config.timeout).as_dict()
        # httpx reads proxies from the environment only for a client without a transport of
        # its own; with one, its pool is the shared one of old. Without a proxy to choose, a
        # request goes straight to the pools: httpx's client adds to each one cookie
        # handling, header merging and hooks that pln does not use, about a quarter of a warm
        # run's CPU.
        proxied = transport is None and _environment_proxies()
        pools = transport or (None if proxied else _PoolPerHost(config))
        self._direct: httpx.AsyncBaseTransport | None = pools
        self._client = httpx.AsyncClient(
            http2=True,
            follow_redirects=False,  # followed by hand: loops, hop limit, permanent moves
            timeout=httpx.Timeout(config.timeout),
            # The client's own pool, used only behind a proxy.
            limits=httpx.Limits(
                max_connections=config.concurrency,
                max_keepalive_connections=config.concurrency,
            ),
            headers=self._headers,
            verify=_tls_context(),
            transport=pools,
            # httpx would still send requests to an environment proxy around a given transport.
            trust_env=transport is None,
        )

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._client.__aexit__(exc_type, exc, traceback)

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        params: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET ``url`` (``params`` merged into its query), following redirects.

        Returns 2xx and 304 answers; raises `HttpStatusError` for any other status and
        `FetchError` when no answer arrived. On a 304 the validators that were sent are
        returned where the server did not repeat them, so the result always holds the
        validators that apply now.
        """
        start = current = _request_url(url, params)
        headers = _request_headers(accept, etag, last_modified)
        trail = _RedirectTrail(url, start)
        while True:
            answer = await self._exchange(url, current, headers, redirected=current is not start)
            if not answer.is_redirect:
                break
            current = trail.follow(answer)
        if not answer.is_usable:
            raise _status_error(url, answer)
        return _result(url, answer, trail.permanent_target, etag, last_modified)

    async def _exchange(
        self, asked: str, url: httpx.URL, headers: Mapping[str, str], *, redirected: bool
    ) -> _Answer:
        """One request and its answer, under the limits, translated into our errors."""
        timeout = self._config.timeout
        # After a redirect, say where it failed: the error carries the URL asked for.
        where = f" (at {url})" if redirected else ""
        try:
            async with self._slot(url), asyncio.timeout(timeout):
                return await self._send(url, headers)
        except TimeoutError as exc:  # the deadline of the whole answer
            raise FetchError(asked, _timed_out(timeout) + where) from exc
        except _UndecodableBody as exc:
            raise FetchError(asked, f"cannot decode the body: {exc}{where}") from exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise FetchError(asked, _describe(exc, timeout) + where) from exc

    @asynccontextmanager
    async def _slot(self, url: httpx.URL) -> AsyncIterator[None]:
        # The host's slot first: requests queued behind a slow host hold no global slot.
        host = _host_key(url)
        host_slots = self._host_slots.get(host)
        if host_slots is None:
            host_slots = self._host_slots[host] = asyncio.Semaphore(self._config.per_host)
        async with host_slots, self._all_slots:
            yield

    async def _send(self, url: httpx.URL, headers: Mapping[str, str]) -> _Answer:
        if self._direct is None:
            async with self._client.stream("GET", url, headers=headers) as response:
                return await self._answer(url, response)
        request = httpx.Request(
            "GET", url, headers={**self._headers, **headers}, extensions={"timeout": self._timeouts}
        )
        response = await self._direct.handle_async_request(request)
        response.request = request
        try:
            return await self._answer(url, response)
        finally:
            await response.aclose()

    async def _answer(self, url: httpx.URL, response: httpx.Response) -> _Answer:
        body, truncated = b"", False
        if 200 <= response.status_code < 300:
            body, truncated = await self._read_body(response)
        else:
            await _drain(response)
        return _Answer(
            url=url,
            status=response.status_code,
            reason=response.reason_phrase,
            headers=response.headers,
            body=body,
            truncated=truncated,
        )

    async def _read_body(self, response: httpx.Response) -> tuple[bytes, bool]:
        """The decoded body, cut off past max_bytes; never much more than that in memory."""
        limit = self._config.max_bytes
        if response.is_stream_consumed:
            # An in-memory transport (httpx.MockTransport given content=...) hands over a
            # response that httpx has already read and decoded.
            content = response.content
            return (content[:limit], True) if len(content) > limit else (content, False)
        decoder = _decoder_for(response.headers.get("content-encoding"))
        body = bytearray()
        async for chunk in response.aiter_raw():
            for piece in decoder.decode(chunk):
                body += piece
                if len(body) > limit:  # one byte past the limit is how we know we cut off
                    return _cut(body, limit), True
        for piece in decoder.flush():
            body += piece
            if len(body) > limit:
                return _cut(body, limit), True
        return bytes(body), False


async def _drain(response: httpx.Response) -> None:
    """Read a 304's end, or a short redirect or error body, and drop it.

    httpcore keeps a connection for the next request only when the answer was read to its
    end; closing it unread closes the connection. A warm run is nearly all 304s, so without
    this every request paid a new connection (and its close). Longer or unsized bodies are
    left unread and their connection closed, as before.
    """
    length = response.headers.get("content-length", "")
    if response.status_code != 304 and not (length.isdigit() and int(length) <= _DRAIN_LIMIT):
        return
    try:
        async for _ in response.aiter_raw():
            pass
    except (httpx.TransportError, httpx.StreamError):
        pass  # the answer itself is complete; httpcore drops the broken connection


def _cut(body: bytearray, limit: int) -> bytes:
    del body[limit:]
    return bytes(body)


# ── helpers ──────────────────────────────────────────────────────────────────────────────


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for the process: loading the CA bundle takes tens of milliseconds."""
    return httpx.create_ssl_context()


def _environment_proxies() -> bool:
    """Whether the environment names a proxy that httpx's client would use."""
    proxies = urllib.request.getproxies()
    return any(scheme in proxies for scheme in ("http", "https", "all"))


def _request_url(url: str, params: Mapping[str, str] | None) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(url, f"invalid URL: {exc}") from exc
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        raise FetchError(url, "invalid URL: not an absolute http(s) URL")
    # httpx's own params= would replace the URL's query string; merge instead.
    return parsed.copy_merge_params(dict(params)) if params else parsed


def _request_headers(accept: str, etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _host_key(url: httpx.URL) -> str:
    return f"{url.host}:{url.port or _DEFAULT_PORTS.get(url.scheme, 0)}"


def _result(
    asked: str,
    answer: _Answer,
    permanent_target: httpx.URL | None,
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    headers = answer.headers
    if answer.status == 304:
        # A 304 need not repeat the validators; the ones we sent are still the right ones.
        etag = headers.get("etag") or etag
        last_modified = headers.get("last-modified") or last_modified
    else:
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
    return FetchResult(
        url=asked,
        final_url=str(answer.url),
        status=answer.status,
        body=answer.body,
        content_type=headers.get("content-type"),
        etag=etag,
        last_modified=last_modified,
        permanent_redirect=str(permanent_target) if permanent_target is not None else None,
        truncated=answer.truncated,
        headers=tuple(headers.multi_items()),  # names already lower-case
    )


def _status_error(asked: str, answer: _Answer) -> HttpStatusError:
    retry_after = parse_retry_after(answer.headers.get("retry-after"), datetime.now(UTC))
    return HttpStatusError(asked, answer.status, answer.reason, retry_after)


def _timed_out(timeout: float) -> str:
    return f"timed out after {timeout:g} s"


def _describe(exc: Exception, timeout: float) -> str:
    """A transport failure in words a user can act on."""
    if isinstance(exc, httpx.TimeoutException):
        return _timed_out(timeout)
    if isinstance(exc, httpx.ConnectError):
        return _describe_connect_error(exc)
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc).lower()
        if "closed" in text or "disconnected" in text:
            return "the connection closed before the response was complete"
        return f"broken response: {_text(exc)}"
    if isinstance(exc, httpx.NetworkError):
        if _find_cause(exc, ConnectionResetError) is not None:
            return "the connection was reset before the response was complete"
        return f"connection failed: {_text(exc)}"
    if isinstance(exc, httpx.DecodingError):
        return f"cannot decode the body: {_text(exc)}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL: {_text(exc)}"
    if isinstance(exc, httpx.LocalProtocolError):
        return f"invalid request: {_text(exc)}"
    return f"request failed: {_text(exc)}"


def _describe_connect_error(exc: httpx.ConnectError) -> str:
    # The useful reason sits deep in the chain: httpx ← httpcore ← anyio ← the OS / ssl.
    certificate = _find_cause(exc, ssl.SSLCertVerificationError)
    if certificate is not None:
        # verify_message and reason are set by the ssl module's C code, not by every raiser.
        detail = getattr(certificate, "verify_message", None) or certificate
        return f"TLS certificate not accepted: {detail}"
    tls = _find_cause(exc, ssl.SSLError)
    if tls is not None:
        return f"TLS handshake failed: {getattr(tls, 'reason', None) or tls}"
    lookup = _find_cause(exc, socket.gaierror)
    if lookup is not None:
        return f"cannot connect: host name lookup failed ({lookup.strerror or lookup})"
    if _find_cause(exc, ConnectionRefusedError) is not None:
        return "cannot connect: connection refused"
    os_error = _find_cause(exc, OSError)
    if os_error is not None and os_error.strerror:
        return f"cannot connect: {os_error.strerror}"
    return f"cannot connect: {_text(exc)}"


def _find_cause(exc: BaseException, kind: type[_E]) -> _E | None:
    for cause in _causes(exc):
        if isinstance(cause, kind):
            return cause
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it was raised from, their arguments and group members."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, *current.args]
        if isinstance(current, BaseExceptionGroup):
            linked.extend(current.exceptions)
        pending.extend(item for item in linked if isinstance(item, BaseException))


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
