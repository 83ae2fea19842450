"""A bad network on 127.0.0.1: servers that fail below HTTP, for tests/test_faults.py.

tests/server.py plays a server that answers badly (status codes, ``raw()`` bytes, ``hang()``,
``huge()``); what it cannot play is a failure of the connection itself. ``FaultServer`` is a
bare TCP listener that hands every accepted connection to a *script*, a function that does
whatever a broken peer does with the socket:

    with FaultServer(reset_halfway(feed_bytes)) as server:
        server.url("/feed.xml")        # "http://127.0.0.1:PORT/feed.xml"

    reset_halfway(body)    answers 200 with a Content-Length, sends half of the body, then
                           aborts the connection (an RST, not an orderly close)
    never_answer           accepts, reads nothing, says nothing, until the server stops
    tls(context, script)   the same script behind TLS (see ``self_signed_context``)
    answer(body)           a plain, correct HTTP/1.1 answer: what ``tls`` wraps to show that
                           only the certificate is wrong

Beside those, helpers that build hostile bodies for the ordinary ``LocalHTTPServer``:
``gzip_bomb`` (a small body that inflates to far more) and ``short_body_answer`` (a response
whose body is shorter than its Content-Length, for ``server.raw``).

Every wait ends when the server stops, so no test can hang on its own fault.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "SELF_SIGNED_CERT",
    "FaultServer",
    "Script",
    "answer",
    "gzip_bomb",
    "never_answer",
    "reset_halfway",
    "self_signed_context",
    "short_body_answer",
    "tls",
]

HOST = "127.0.0.1"
TLS_DIR = Path(__file__).parent / "data" / "tls"
# Made once with: openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj /CN=127.0.0.1
#   -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout self-signed.key
#   -out self-signed.crt    (valid for a century; no CA anywhere trusts it)
SELF_SIGNED_CERT = TLS_DIR / "self-signed.crt"
SELF_SIGNED_KEY = TLS_DIR / "self-signed.key"

# A script gets the accepted socket and an event that is set when the server stops.
Script = Callable[[socket.socket, threading.Event], None]


class FaultServer:
    """A TCP listener on 127.0.0.1 running ``script`` on each connection, one thread each."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._stopping = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)  # so the accept loop notices stop()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://{HOST}:{self.port}{path}"

    def start(self) -> Self:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._acceptor.join(timeout=5)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        try:
            self._script(connection, self._stopping)
        except OSError:
            pass  # the client gave up first: routine for a fault
        finally:
            with contextlib.suppress(OSError):
                connection.close()


# ── scripts ──────────────────────────────────────────────────────────────────────────────


def _read_request_head(connection: socket.socket) -> bytes:
    """Everything up to the blank line that ends the request head (or what came first)."""
    received = b""
    while b"\r\n\r\n" not in received and len(received) < 65536:
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def _response_head(length: int, content_type: str) -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")


def answer(body: bytes, content_type: str = "application/rss+xml; charset=utf-8") -> Script:
    """A correct HTTP/1.1 answer to any request."""

    def script(connection: socket.socket, stopping: threading.Event) -> None:
        _read_request_head(connection)
        connection.sendall(_response_head(len(body), content_type) + body)

    return script


def reset_halfway(body: bytes, content_type: str = "application/rss+xml; charset=utf-8") -> Script:
    """Announce all of ``body``, send half, then abort: the client sees a connection reset."""

    def script(connection: socket.socket, stopping: threading.Event) -> None:
        _read_request_head(connection)
        connection.sendall(_response_head(len(body), content_type) + body[: len(body) // 2])
        # SO_LINGER on with a zero timeout makes close() send an RST instead of a FIN.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return script


def never_answer(connection: socket.socket, stopping: threading.Event) -> None:
    """Accept the connection and do nothing with it until the server stops."""
    stopping.wait()


def tls(context: ssl.SSLContext, script: Script) -> Script:
    """``script`` behind TLS; a client that refuses our certificate ends the handshake."""

    def wrapped(connection: socket.socket, stopping: threading.Event) -> None:
        try:
            secure = context.wrap_socket(connection, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client said no: the fault we are here to show
        with secure:
            script(secure, stopping)

    return wrapped


def self_signed_context() -> ssl.SSLContext:
    """A server context with a certificate that no certificate authority vouches for."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(SELF_SIGNED_CERT, SELF_SIGNED_KEY)
    return context


# ── hostile bodies for LocalHTTPServer ───────────────────────────────────────────────────


def gzip_bomb(inflated_size: int, prefix: bytes = b"", filler: bytes = b"\0") -> bytes:
    """A gzip stream of ``prefix`` then ``filler`` repeated up to ``inflated_size`` bytes.

    Compressed in pieces, so building a bomb of hundreds of megabytes costs a few of memory;
    repetitive data shrinks about a thousandfold.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(prefix)]
    piece = filler * (1_048_576 // len(filler))
    remaining = inflated_size - len(prefix)
    while remaining > 0:
        chunk = piece[:remaining]
        parts.append(compressor.compress(chunk))
        remaining -= len(chunk)
    parts.append(compressor.flush())
    return b"".join(parts)


def short_body_answer(
    body: bytes, announced: int, content_type: str = "application/rss+xml; charset=utf-8"
) -> bytes:
    """A whole response, for ``LocalHTTPServer.raw``, that promises ``announced`` bytes."""
    if announced <= len(body):
        raise ValueError("a short body announces more than it sends")
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {announced}\r\n\r\n"
    ).encode("ascii")
    return head + body
