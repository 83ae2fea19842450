"""httpcore's network on plain asyncio streams: what fetch.py's connection pools talk through.

httpcore's own asyncio backend goes through anyio, which opens a cancel scope (a timeout
context that walks the task's scopes on entry and exit) around every read and write, and
builds a dictionary of socket attributes each time httpcore asks whether an idle connection
is still open. A warm run of 1,000 sources is nearly all such small exchanges, and that
bookkeeping was the largest part of its CPU on the event loop. Here each call is one
``asyncio.StreamReader``/``StreamWriter`` operation under ``asyncio.timeout``; httpcore (and
h11/h2 through it) still does all the HTTP. Timeouts, TLS (``start_tls`` with the context
httpcore is given), the errors httpcore expects and their causes are kept.

Imported by fetch.py when its first connection pool is made, so start-up does not pay for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpcore

__all__ = ["BACKEND", "AsyncioBackend"]

# A socket option as httpcore passes it: (level, option, value) or (level, option, None, size).
_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


@contextlib.asynccontextmanager
async def _within(
    timeout: float | None,
    on_timeout: type[httpcore.TimeoutException],
    on_error: type[httpcore.NetworkError],
) -> AsyncIterator[None]:
    """Run the body under ``timeout``, its failures turned into httpcore's (cause chained)."""
    try:
        async with asyncio.timeout(timeout):
            yield
    except TimeoutError as exc:
        raise on_timeout(str(exc) or "timed out") from exc
    except (OSError, ssl.SSLError, EOFError) as exc:
        raise on_error(str(exc) or type(exc).__name__) from exc


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: an asyncio reader and writer (TLS upgraded in place)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        # Data already received is handed over without a timer: the common case of a small
        # answer that arrived in one piece.
        reader = self._reader
        if reader.exception() is None and (reader.at_eof() or _buffered(reader)):
            return await reader.read(max_bytes)
        async with _within(timeout, httpcore.ReadTimeout, httpcore.ReadError):
            return await reader.read(max_bytes)  # b"" at the end, as httpcore expects

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        async with _within(timeout, httpcore.WriteTimeout, httpcore.WriteError):
            if self._writer.is_closing():
                raise ConnectionResetError("the connection is closed")
            self._writer.write(buffer)
            await self._writer.drain()

    async def aclose(self) -> None:
        # No waiting for the close to complete: the transport closes the socket once its
        # buffer is written, and a peer that never reads must not hold the caller.
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with _within(timeout, httpcore.ConnectTimeout, httpcore.ConnectError):
                await self._writer.start_tls(
                    ssl_context, server_hostname=server_hostname, ssl_handshake_timeout=timeout
                )
        except BaseException:
            self._writer.transport.abort()
            raise
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return self._is_readable()
        return None

    def _is_readable(self) -> bool:
        """Whether an idle connection has something to read (data, its end, an error): then
        httpcore drops it instead of sending the next request on it."""
        reader = self._reader
        if reader.at_eof() or reader.exception() is not None or self._writer.is_closing():
            return True
        if _buffered(reader):
            return True
        raw = self._writer.get_extra_info("socket")
        return raw is None or _socket_readable(raw.fileno())


def _buffered(reader: asyncio.StreamReader) -> bool:
    # StreamReader has no public way to ask; its buffer is a documented-stable bytearray.
    return bool(getattr(reader, "_buffer", b""))


def _socket_readable(fileno: int) -> bool:
    if fileno < 0:
        return True
    poller = select.poll()
    poller.register(fileno, select.POLLIN)
    return bool(poller.poll(0))


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens `AsyncioStream` connections for an httpcore connection pool."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        async with _within(timeout, httpcore.ConnectTimeout, httpcore.ConnectError):
            # asyncio sets TCP_NODELAY on its TCP connections, as anyio does. Happy eyeballs
            # (RFC 8305), as anyio does too: a host whose IPv6 address is unreachable from here
            # is tried over IPv4 after 250 ms instead of after the whole connect timeout.
            reader, writer = await asyncio.open_connection(
                host, port, local_addr=local, happy_eyeballs_delay=0.25
            )
        raw: socket.socket | None = writer.get_extra_info("socket")
        for option in socket_options or ():
            if raw is not None:
                raw.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        async with _within(timeout, httpcore.ConnectTimeout, httpcore.ConnectError):
            reader, writer = await asyncio.open_unix_connection(path)
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


BACKEND = AsyncioBackend()  # it holds nothing: one for every pool
