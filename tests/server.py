"""A real HTTP/1.1 server on 127.0.0.1 for integration tests.

The ``http_server`` fixture (tests/conftest.py) starts one server per session and resets it
before and after every test, so each test starts with no routes and no recorded requests.
Import the helper types as ``from tests.server import Reply, RecordedRequest``.

    server.base_url                       "http://127.0.0.1:PORT"
    server.url(path)                      base_url + path

    server.add(path, body, *, content_type="application/rss+xml; charset=utf-8", status=200,
               headers=None, etag=True, last_modified=True, delay=0.0, gzip=False)
        A fixed answer. ``etag`` / ``last_modified``: True sends a validator derived from the
        body / the time of add(), a string sends that exact value, False sends none. GET and
        HEAD with a matching If-None-Match (or, without it, If-Modified-Since) get 304.
        ``delay`` seconds pass before the answer; ``gzip`` compresses the body (always, whatever
        Accept-Encoding says). ``headers`` add to or override the defaults.
    server.add_handler(path, fn)          fn(request: RecordedRequest) -> Reply, per request
    server.redirect(path, to, status=301) ``to`` is sent verbatim as Location (may be relative)
    server.status(path, code, headers=None, body=b"")
    server.huge(path, size, *, chunk_size=65536, interval=0.0)
        ``size`` bytes of b"x" in chunks, with Content-Length; ``interval`` seconds between
        chunks makes a server that dribbles.
    server.hang(path)                     reads the request and never answers (until reset)
    server.raw(path, data)                writes ``data`` verbatim as the whole answer, then
                                          closes: for broken responses

    server.requests                       list[RecordedRequest] in arrival order
    server.requests_for(path)             those whose path (without query) is ``path``
    server.max_in_flight                  most requests being answered at once since reset
    server.reset()

Routing: a route registered with a query string ("/feed?page=2") matches that exact request
target; otherwise the query string is ignored. Unknown paths answer 404. Waits (``delay``,
``hang``, ``interval``) end early on reset() and stop(), so no test can hang the suite.

``unused_port()`` gives a port on 127.0.0.1 that nothing listens on (connection refused).
"""

from __future__ import annotations

import gzip as gzip_codec
import hashlib
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Headers", "LocalHTTPServer", "RecordedRequest", "Reply", "unused_port"]

HOST = "127.0.0.1"


class Headers(Mapping[str, str]):
    """Request headers, looked up case-insensitively; repeated names are joined by ", "."""

    def __init__(self, items: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            self._values[key] = f"{self._values[key]}, {value}" if key in self._values else value

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Headers({self._values!r})"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]  # the last value of a repeated name wins; see query_string
    headers: Headers
    time: float  # time.monotonic() on arrival
    query_string: str = ""
    body: bytes = b""


@dataclass(frozen=True)
class Reply:
    """What a handler answers; Content-Length is added, Content-Type is not."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


# ── one request being answered ───────────────────────────────────────────────────────────


class _Exchange:
    """What a route sees: the request, ways to answer it, and the reset signal."""

    def __init__(
        self, handler: BaseHTTPRequestHandler, request: RecordedRequest, released: threading.Event
    ) -> None:
        self.handler = handler
        self.request = request
        self._released = released

    def pause(self, seconds: float) -> bool:
        """Wait; False when the server was reset or stopped meanwhile."""
        return not self._released.wait(seconds)

    def wait_for_release(self) -> None:
        self._released.wait()

    def send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_head(status, headers, None if _bodiless(status) else len(body))
        if self.request.method != "HEAD" and not _bodiless(status):
            self.handler.wfile.write(body)

    def send_head(self, status: int, headers: list[tuple[str, str]], length: int | None) -> None:
        self.handler.send_response(status)
        names = {name.lower() for name, _ in headers}
        for name, value in headers:
            self.handler.send_header(name, value)
        if length is not None and "content-length" not in names:
            self.handler.send_header("Content-Length", str(length))
        self.handler.end_headers()

    def close_without_answer(self) -> None:
        self.handler.close_connection = True


def _bodiless(status: int) -> bool:
    return status < 200 or status in (204, 304)


_Route = Callable[[_Exchange], None]


def _merge_headers(
    defaults: Mapping[str, str], extra: Mapping[str, str] | None
) -> list[tuple[str, str]]:
    """Defaults overridden by ``extra``, names compared case-insensitively."""
    merged = {name.lower(): (name, value) for name, value in defaults.items()}
    merged.update({name.lower(): (name, value) for name, value in (extra or {}).items()})
    return list(merged.values())


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


# ── routes ───────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class _StaticRoute:
    body: bytes
    headers: list[tuple[str, str]]
    status: int
    etag: str | None
    last_modified: str | None
    delay: float

    def __call__(self, exchange: _Exchange) -> None:
        if self.delay and not exchange.pause(self.delay):
            exchange.close_without_answer()
            return
        if self._not_modified(exchange.request):
            validators = [(n, v) for n, v in self.headers if n.lower() in ("etag", "last-modified")]
            exchange.send(304, b"", validators)
            return
        exchange.send(self.status, self.body, self.headers)

    def _not_modified(self, request: RecordedRequest) -> bool:
        if self.status != 200 or request.method not in ("GET", "HEAD"):
            return False
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:  # when present, If-Modified-Since is ignored (RFC 9110)
            tags = {_weak_tag(tag) for tag in if_none_match.split(",")}
            return self.etag is not None and ("*" in tags or _weak_tag(self.etag) in tags)
        if_modified_since = request.headers.get("if-modified-since")
        if if_modified_since is None or self.last_modified is None:
            return False
        try:
            changed = parsedate_to_datetime(self.last_modified)
            return changed <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False


def _weak_tag(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


@dataclass(frozen=True)
class _HandlerRoute:
    fn: Callable[[RecordedRequest], Reply]

    def __call__(self, exchange: _Exchange) -> None:
        try:
            reply = self.fn(exchange.request)
        except Exception:
            # Show the test's own bug in the test's output, and answer something.
            details = traceback.format_exc()
            print(details, file=sys.stderr)
            exchange.send(500, details.encode(), [("Content-Type", "text/plain; charset=utf-8")])
            return
        exchange.send(reply.status, _as_bytes(reply.body), list(reply.headers.items()))


@dataclass(frozen=True)
class _HugeRoute:
    size: int
    chunk_size: int
    interval: float

    def __call__(self, exchange: _Exchange) -> None:
        headers = [("Content-Type", "application/octet-stream")]
        exchange.send_head(200, headers, self.size)
        if exchange.request.method == "HEAD":
            return
        chunk = b"x" * self.chunk_size
        remaining = self.size
        while remaining > 0:
            if self.interval and not exchange.pause(self.interval):
                exchange.close_without_answer()
                return
            piece = chunk[: min(remaining, self.chunk_size)]
            exchange.handler.wfile.write(piece)
            remaining -= len(piece)


def _hang(exchange: _Exchange) -> None:
    exchange.wait_for_release()
    exchange.close_without_answer()


@dataclass(frozen=True)
class _RawRoute:
    data: bytes

    def __call__(self, exchange: _Exchange) -> None:
        exchange.handler.wfile.write(self.data)
        exchange.close_without_answer()


def _not_found(exchange: _Exchange) -> None:
    body = f"not found: {exchange.request.path}".encode()
    exchange.send(404, body, [("Content-Type", "text/plain; charset=utf-8")])


# ── the server ───────────────────────────────────────────────────────────────────────────


class _Tally:
    """In-flight requests of one test (a reset starts a new tally)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self.lock:
            self.in_flight -= 1


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds
    server: _ThreadingServer

    def do_GET(self) -> None:
        self.server.owner._dispatch(self)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass  # the tests inspect server.requests instead


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connect at once; a short backlog would stall them

    def __init__(self, owner: LocalHTTPServer) -> None:
        self.owner = owner
        super().__init__((HOST, 0), _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look up our fully qualified name, which may be slow.
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.server_address[1]

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        # A client that hangs up mid-answer is routine here (timeouts, cut-off bodies).
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class LocalHTTPServer:
    """See the module docstring. Usable as a context manager outside pytest too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._requests: list[RecordedRequest] = []
        self._released = threading.Event()
        self._tally = _Tally()
        self._httpd = _ThreadingServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="tests-http-server",
            daemon=True,
        )
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://{HOST}:{self.port}"

    # life cycle

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget routes and requests, and release every waiting handler."""
        with self._lock:
            self._released.set()
            self._released = threading.Event()
            self._routes.clear()
            self._requests = []
            self._tally = _Tally()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # routes

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        etag: bool | str = True,
        last_modified: bool | str = True,
        delay: float = 0.0,
        gzip: bool = False,
    ) -> None:
        content = _as_bytes(body)
        etag_value = _etag_of(content) if etag is True else (etag or None)
        last_modified_value = (
            formatdate(int(time.time()), usegmt=True)
            if last_modified is True
            else (last_modified or None)
        )
        defaults = {"Content-Type": content_type}
        if etag_value:
            defaults["ETag"] = etag_value
        if last_modified_value:
            defaults["Last-Modified"] = last_modified_value
        if gzip:
            content = gzip_codec.compress(content, mtime=0)
            defaults["Content-Encoding"] = "gzip"
            defaults["Vary"] = "Accept-Encoding"
        route = _StaticRoute(
            body=content,
            headers=_merge_headers(defaults, headers),
            status=status,
            etag=etag_value,
            last_modified=last_modified_value,
            delay=delay,
        )
        self._route(path, route)

    def add_handler(self, path: str, fn: Callable[[RecordedRequest], Reply]) -> None:
        self._route(path, _HandlerRoute(fn))

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        self._route(path, _HandlerRoute(lambda _request: Reply(status, b"", {"Location": to})))

    def status(
        self,
        path: str,
        code: int,
        headers: Mapping[str, str] | None = None,
        body: bytes | str = b"",
    ) -> None:
        reply = Reply(code, body, dict(headers or {}))
        self._route(path, _HandlerRoute(lambda _request: reply))

    def huge(self, path: str, size: int, *, chunk_size: int = 65536, interval: float = 0.0) -> None:
        self._route(path, _HugeRoute(size, chunk_size, interval))

    def hang(self, path: str) -> None:
        self._route(path, _hang)

    def raw(self, path: str, data: bytes) -> None:
        self._route(path, _RawRoute(data))

    def _route(self, path: str, route: _Route) -> None:
        if not path.startswith("/"):
            raise ValueError(f"a route path starts with '/': {path!r}")
        with self._lock:
            self._routes[path] = route

    # what happened

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._tally.peak

    # serving (called on the handler threads)

    def _dispatch(self, handler: _RequestHandler) -> None:
        request = _record(handler)
        with self._lock:
            self._requests.append(request)
            route = self._routes.get(handler.path) or self._routes.get(request.path, _not_found)
            released, tally = self._released, self._tally
        with tally:
            try:
                route(_Exchange(handler, request, released))
            except OSError:
                handler.close_connection = True  # the client went away: nothing to answer


def _record(handler: BaseHTTPRequestHandler) -> RecordedRequest:
    target = urlsplit(handler.path)
    length = int(handler.headers.get("Content-Length") or 0)
    return RecordedRequest(
        method=handler.command,
        path=target.path,
        query=dict(parse_qsl(target.query, keep_blank_values=True)),
        headers=Headers(list(handler.headers.items())),
        time=time.monotonic(),
        query_string=target.query,
        body=handler.rfile.read(length) if length else b"",
    )


def _etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
