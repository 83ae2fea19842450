"""httpcore's network on asyncio streams (aggregator/netstream.py), over real sockets.

Every fetch test already runs through it; these add what they do not reach: a TLS exchange
that succeeds (start_tls with the trusted certificate of tests/data/tls), a kept-alive
connection that the server closed while it was idle (dropped, the request goes out on a new
one), and the errors and timeouts httpcore expects from a network stream.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpcore
import pytest

from aggregator import fetch as fetch_module
from aggregator.fetch import Fetcher
from aggregator.models import FetchConfig, FetchResult
from aggregator.netstream import BACKEND
from tests.faults import SELF_SIGNED_CERT, FaultServer, answer, self_signed_context, tls

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


@pytest.fixture
def trusted_certificate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Trust tests/data/tls's certificate as a user trusts a private authority."""
    monkeypatch.setenv("SSL_CERT_FILE", str(SELF_SIGNED_CERT))
    fetch_module._tls_context.cache_clear()  # the process's context is made once
    yield
    fetch_module._tls_context.cache_clear()


def get(url: str, config: FetchConfig | None = None) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(config or FetchConfig(timeout=5)) as fetcher:
            return await fetcher.get(url)

    return asyncio.run(run())


def test_a_tls_exchange_through_start_tls(trusted_certificate: None) -> None:
    with FaultServer(tls(self_signed_context(), answer(BODY))) as server:
        result = get(server.url("/feed.xml", scheme="https"))
    assert (result.status, result.body) == (200, BODY)


def test_an_untrusted_certificate_is_a_connect_error_with_its_cause() -> None:
    with FaultServer(tls(self_signed_context(), answer(BODY))) as server:
        url = server.url("/feed.xml", scheme="https")
        with pytest.raises(Exception) as caught:
            get(url)
    assert "TLS certificate not accepted" in str(caught.value)


class ClosingServer:
    """HTTP/1.1 keep-alive that answers one request per connection, then closes it idle."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ClosingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                connection.recv(65536)
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()
                connection.sendall(head + BODY)  # keep-alive promised, then closed


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def run(port: int) -> list[FetchResult]:
        async with Fetcher(FetchConfig(timeout=5, per_host=1)) as fetcher:
            first = await fetcher.get(f"http://127.0.0.1:{port}/a")
            await asyncio.sleep(0.2)  # the close reaches us while the connection is idle
            second = await fetcher.get(f"http://127.0.0.1:{port}/b")
            return [first, second]

    with ClosingServer() as server:
        results = asyncio.run(run(server.port))
        assert [r.body for r in results] == [BODY, BODY]
        assert server.connections == 2


def test_reads_and_connects_fail_as_httpcore_expects() -> None:
    async def run() -> None:
        silent = socket.create_server(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        try:
            stream = await BACKEND.connect_tcp("127.0.0.1", port, timeout=2)
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(1024, timeout=0.05)
            await stream.aclose()
        finally:
            silent.close()
        with pytest.raises(httpcore.ConnectError) as caught:
            await BACKEND.connect_tcp("127.0.0.1", port, timeout=2)
        assert isinstance(caught.value.__cause__, ConnectionRefusedError)

    asyncio.run(run())
