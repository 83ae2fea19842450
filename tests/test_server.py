"""The test HTTP server itself (tests/server.py), driven with the standard library's client."""

from __future__ import annotations

import gzip
import http.client
import threading

from tests.server import LocalHTTPServer, RecordedRequest, Reply


def request(
    server: LocalHTTPServer,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_unknown_path_is_404(http_server: LocalHTTPServer) -> None:
    status, _, body = request(http_server, "/nope")

    assert status == 404
    assert b"/nope" in body


def test_add_serves_body_with_validators(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", "<rss/>")

    status, headers, body = request(http_server, "/feed.xml")

    assert (status, body) == (200, b"<rss/>")
    assert headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert headers["etag"].startswith('"')
    assert headers["last-modified"].endswith("GMT")
    assert headers["content-length"] == "6"


def test_matching_validators_get_304(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", "<rss/>", last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    _, headers, _ = request(http_server, "/feed.xml")
    etag = headers["etag"]

    assert request(http_server, "/feed.xml", headers={"If-None-Match": etag})[0] == 304
    assert request(http_server, "/feed.xml", headers={"If-None-Match": f"W/{etag}"})[0] == 304
    assert request(http_server, "/feed.xml", headers={"If-None-Match": '"other"'})[0] == 200
    later = {"If-Modified-Since": "Tue, 02 Jan 2024 00:00:00 GMT"}
    earlier = {"If-Modified-Since": "Sun, 31 Dec 2023 00:00:00 GMT"}
    assert request(http_server, "/feed.xml", headers=later)[0] == 304
    assert request(http_server, "/feed.xml", headers=earlier)[0] == 200


def test_validators_can_be_turned_off(http_server: LocalHTTPServer) -> None:
    http_server.add("/page", "<html/>", content_type="text/html", etag=False, last_modified=False)

    _, headers, _ = request(http_server, "/page")

    assert "etag" not in headers and "last-modified" not in headers
    assert headers["content-type"] == "text/html"


def test_headers_override_defaults(http_server: LocalHTTPServer) -> None:
    http_server.add("/f", "x", headers={"content-type": "text/plain", "X-Extra": "1"})

    _, headers, _ = request(http_server, "/f")

    assert headers["content-type"] == "text/plain"
    assert headers["x-extra"] == "1"


def test_gzip_compresses(http_server: LocalHTTPServer) -> None:
    http_server.add("/f", "hello " * 100, gzip=True)

    _, headers, body = request(http_server, "/f")

    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == b"hello " * 100


def test_query_routes(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed", "any page")
    http_server.add("/feed?page=2", "page two")

    assert request(http_server, "/feed?page=2")[2] == b"page two"
    assert request(http_server, "/feed?page=3")[2] == b"any page"
    assert request(http_server, "/feed")[2] == b"any page"


def test_requests_are_recorded(http_server: LocalHTTPServer) -> None:
    http_server.add("/f", "x")

    request(http_server, "/f?a=1&b=2", headers={"X-Test": "yes"})
    request(http_server, "/other", method="POST", body=b"payload")

    first, second = http_server.requests
    assert (first.method, first.path, first.query) == ("GET", "/f", {"a": "1", "b": "2"})
    assert first.query_string == "a=1&b=2"
    assert first.headers["x-test"] == first.headers["X-TEST"] == "yes"
    assert (second.method, second.body) == ("POST", b"payload")
    assert [r.path for r in http_server.requests_for("/f")] == ["/f"]


def test_handler_answers_per_request(http_server: LocalHTTPServer) -> None:
    def echo(seen: RecordedRequest) -> Reply:
        return Reply(201, f"hello {seen.query.get('name')}", {"Content-Type": "text/plain"})

    http_server.add_handler("/echo", echo)

    status, headers, body = request(http_server, "/echo?name=ada")

    assert (status, body, headers["content-type"]) == (201, b"hello ada", "text/plain")


def test_a_failing_handler_answers_500(http_server: LocalHTTPServer) -> None:
    def broken(seen: RecordedRequest) -> Reply:
        raise RuntimeError("bug in the test")

    http_server.add_handler("/broken", broken)

    status, _, body = request(http_server, "/broken")

    assert status == 500
    assert b"bug in the test" in body


def test_redirect_and_status(http_server: LocalHTTPServer) -> None:
    http_server.redirect("/old", "new", status=308)
    http_server.status("/limited", 429, headers={"Retry-After": "60"}, body="slow down")

    status, headers, _ = request(http_server, "/old")
    assert (status, headers["location"]) == (308, "new")
    status, headers, body = request(http_server, "/limited")
    assert (status, headers["retry-after"], body) == (429, "60", b"slow down")


def test_huge_streams_its_size(http_server: LocalHTTPServer) -> None:
    http_server.huge("/big", 200_000, chunk_size=7000)

    status, headers, body = request(http_server, "/big")

    assert status == 200
    assert headers["content-length"] == "200000"
    assert body == b"x" * 200_000


def test_head_has_no_body(http_server: LocalHTTPServer) -> None:
    http_server.add("/f", "content")

    status, headers, body = request(http_server, "/f", method="HEAD")

    assert (status, headers["content-length"], body) == (200, "7", b"")


def test_raw_writes_verbatim(http_server: LocalHTTPServer) -> None:
    http_server.raw("/raw", b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 3\r\n\r\ntea")

    status, _, body = request(http_server, "/raw")

    assert (status, body) == (418, b"tea")


def test_reset_releases_a_hanging_request(http_server: LocalHTTPServer) -> None:
    http_server.hang("/hang")
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            request(http_server, "/hang")
        except (http.client.HTTPException, OSError) as exc:
            outcome.append(exc)

    client = threading.Thread(target=ask)
    client.start()
    while not http_server.requests_for("/hang"):
        client.join(0.01)
    http_server.reset()
    client.join(5)

    assert not client.is_alive()
    assert isinstance(outcome[0], http.client.RemoteDisconnected)


def test_reset_forgets_everything(http_server: LocalHTTPServer) -> None:
    http_server.add("/f", "x")
    request(http_server, "/f")
    assert http_server.max_in_flight == 1

    http_server.reset()

    assert http_server.requests == []
    assert http_server.max_in_flight == 0
    assert request(http_server, "/f")[0] == 404


def test_max_in_flight_counts_overlapping_requests(http_server: LocalHTTPServer) -> None:
    both_inside = threading.Barrier(3, timeout=5)

    def meet(seen: RecordedRequest) -> Reply:
        both_inside.wait()
        return Reply(200, "ok")

    http_server.add_handler("/meet", meet)
    clients = [threading.Thread(target=request, args=(http_server, "/meet")) for _ in range(3)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(5)

    assert http_server.max_in_flight == 3
