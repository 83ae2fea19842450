"""Connections of a run: a pool per host, kept-alive 304s, limits over real sockets.

`CountingServer` listens on several ports of 127.0.0.1 (each port a host to the Fetcher) in
the test's own event loop, and counts connections and requests in flight, so the limits are
checked over the real transport rather than a mock one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from aggregator.errors import HttpStatusError
from aggregator.fetch import Fetcher, spread_hosts
from aggregator.models import FetchConfig, FetchResult

ETAG = '"v1"'


class CountingServer:
    """HTTP/1.1 with keep-alive on ``ports`` ports: ``/304`` answers Not Modified to its ETag,
    ``/404`` a short error, ``/404-long`` a long one, anything else 200 with a small body."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.servers: list[asyncio.Server] = []
        self.connections = 0  # accepted since the start
        self.open = 0  # connections open now
        self.now: dict[int, int] = {}  # requests being answered, per port
        self.peak: dict[int, int] = {}
        self.peak_total = 0
        self.paths: list[str] = []

    async def start(self, ports: int) -> list[int]:
        for _ in range(ports):
            server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
            self.servers.append(server)
        return [server.sockets[0].getsockname()[1] for server in self.servers]

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
            await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        self.connections += 1
        self.open += 1
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                await self._answer(port, head, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def _answer(self, port: int, head: str, writer: asyncio.StreamWriter) -> None:
        self.now[port] = self.now.get(port, 0) + 1
        self.peak[port] = max(self.peak.get(port, 0), self.now[port])
        self.peak_total = max(self.peak_total, sum(self.now.values()))
        await asyncio.sleep(self.delay)
        self.now[port] -= 1
        path = head.split(" ", 2)[1]
        self.paths.append(path)
        if path == "/304" and f"if-none-match: {ETAG}" in head.lower():
            status, body = "304 Not Modified", b""
        elif path.startswith("/404"):
            status, body = "404 Not Found", b"x" * (100_000 if path == "/404-long" else 20)
        else:
            status, body = "200 OK", b"<rss/>"
        writer.write(
            f"HTTP/1.1 {status}\r\nETag: {ETAG}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + (body if not status.startswith("304") else b"")
        )
        await writer.drain()


@contextlib.asynccontextmanager
async def serving(
    ports: int, delay: float = 0.02
) -> AsyncIterator[tuple[CountingServer, list[int]]]:
    server = CountingServer(delay)
    numbers = await server.start(ports)
    try:
        yield server, numbers
    finally:
        await server.stop()


def url(port: int, path: str = "/304") -> str:
    return f"http://127.0.0.1:{port}{path}"


async def get(fetcher: Fetcher, address: str) -> FetchResult | HttpStatusError:
    try:
        return await fetcher.get(address, etag=ETAG)
    except HttpStatusError as error:
        return error


def test_a_hosts_304s_share_one_connection() -> None:
    async def run() -> tuple[int, list[int]]:
        async with serving(1) as (server, [port]), Fetcher(FetchConfig()) as fetcher:
            statuses = [(await fetcher.get(url(port), etag=ETAG)).status for _ in range(5)]
            return server.connections, statuses

    connections, statuses = asyncio.run(run())

    assert statuses == [304] * 5
    assert connections == 1


def test_a_short_error_body_is_read_so_its_connection_serves_the_next_request() -> None:
    async def run() -> tuple[int, list[object]]:
        async with serving(1) as (server, [port]), Fetcher(FetchConfig()) as fetcher:
            first = await get(fetcher, url(port, "/404"))
            second = await get(fetcher, url(port, "/feed"))
            return server.connections, [first, second]

    connections, (first, second) = asyncio.run(run())

    assert isinstance(first, HttpStatusError) and first.status == 404
    assert isinstance(second, FetchResult) and second.body == b"<rss/>"
    assert connections == 1


def test_a_long_error_body_is_not_read() -> None:
    async def run() -> int:
        async with serving(1) as (server, [port]), Fetcher(FetchConfig()) as fetcher:
            await get(fetcher, url(port, "/404-long"))
            await get(fetcher, url(port, "/feed"))
            return server.connections

    assert asyncio.run(run()) == 2  # the first connection was dropped with its body unread


def test_the_global_limit_holds_across_hosts_over_real_connections() -> None:
    config = FetchConfig(concurrency=3, per_host=10)

    async def run() -> CountingServer:
        async with serving(6) as (server, ports), Fetcher(config) as fetcher:
            await asyncio.gather(*(get(fetcher, url(port)) for port in ports for _ in range(4)))
            return server

    server = asyncio.run(run())

    assert server.peak_total == 3


def test_the_per_host_limit_holds_in_each_hosts_own_pool() -> None:
    config = FetchConfig(concurrency=32, per_host=2)

    async def run() -> CountingServer:
        async with serving(3) as (server, ports), Fetcher(config) as fetcher:
            await asyncio.gather(*(get(fetcher, url(port)) for port in ports for _ in range(6)))
            return server

    server = asyncio.run(run())

    assert set(server.peak.values()) == {2}


def test_idle_pools_beyond_the_limit_are_closed_and_all_at_the_end() -> None:
    # concurrency 1 keeps at most 8 hosts' pools: the connections of older idle ones close.
    config = FetchConfig(concurrency=1, per_host=1)

    async def run() -> tuple[int, int, int]:
        async with serving(12, delay=0) as (server, ports):
            async with Fetcher(config) as fetcher:
                for port in ports:
                    await get(fetcher, url(port))
                await asyncio.sleep(0.05)  # let the server see the closes
                open_during = server.open
            await asyncio.sleep(0.05)
            return server.connections, open_during, server.open

    connections, open_during, open_after = asyncio.run(run())

    assert connections == 12
    assert open_during <= 8
    assert open_after == 0


@pytest.mark.parametrize(
    ("urls", "order"),
    [
        ([], []),
        (["https://a.example/1"], [0]),
        (
            [
                "https://a.example/1",
                "https://a.example/2",
                "https://b.example/1",
                "https://A.example/3",
                "https://c.example/1",
                "https://b.example/2",
            ],
            [0, 2, 4, 1, 5, 3],
        ),
        (["http://a.example:8080/", "http://a.example/", "not a url"], [0, 1, 2]),
    ],
)
def test_spread_hosts_takes_each_host_in_turn(urls: list[str], order: list[int]) -> None:
    assert spread_hosts(urls) == order


def test_an_environment_proxy_still_carries_the_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    # Requests go straight to the per-host pools only when no proxy is configured.
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def run() -> tuple[FetchResult | HttpStatusError, list[str]]:
        async with serving(1) as (server, [port]):
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
            async with Fetcher(FetchConfig()) as fetcher:
                result = await get(fetcher, "http://feeds.invalid/feed")
            return result, server.paths

    result, paths = asyncio.run(run())

    assert isinstance(result, FetchResult) and result.body == b"<rss/>"
    assert paths == ["http://feeds.invalid/feed"]  # the absolute form a proxy is sent
