"""A Mastodon-shaped instance inside the test suite, on the ``http_server`` fixture.

Its answers follow the exchanges recorded from a real Mastodon 4.6 server
(../shared/corpora/mastodon-py-cassettes): the same field names in accounts and statuses,
snowflake ids in strings, ``/ap/users/:id/statuses/:id`` URIs, a ``Link`` header with rel="next"
(``max_id``, only when the page is full) and rel="prev" (``min_id``, when the page is not
empty) whose query parameters are sorted as Rails sorts them, and ``X-RateLimit-Limit``,
``-Remaining`` and ``-Reset`` (an ISO 8601 time with microseconds) on every API answer.

    instance = FakeInstance(http_server)
    alice = instance.add_account("alice", display_name="Alice")
    instance.generate("alice", 95)                         # a status an hour, newest now
    instance.post("alice", "<p>hello</p>", spoiler_text="cw")
    instance.refuse_api = True                             # 401 on /api/, /@alice.rss serves
    instance.suspend("alice"); instance.forget("alice"); instance.renumber("alice")
    instance.remaining = 12                                # the rate-limit budget left
    instance.throttle_after = 1                            # then 429, whatever it said
    instance.status_requests("alice")                      # what was asked

Statuses are kept as the JSON the API returns; ``post`` returns that dict.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.server import LocalHTTPServer, RecordedRequest, Reply

__all__ = ["FakeAccount", "FakeInstance", "iso_time"]

JSON_TYPE = "application/json; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
DEFAULT_LIMIT = 20  # Mastodon's default page size for account statuses
MAX_LIMIT = 40
RSS_DEFAULT_LIMIT = 20
RSS_MAX_LIMIT = 200
# Mastodon's answer when DISALLOW_UNAUTHENTICATED_API_ACCESS is set.
REFUSAL = {"error": "This API requires an authenticated user"}
NOT_FOUND = {"error": "Record not found"}
GONE = {"error": "Gone"}
THROTTLED = {"error": "Too many requests"}


def iso_time(moment: datetime) -> str:
    """Mastodon's JSON times: UTC, milliseconds, a Z (2026-08-01T13:52:34.108Z)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _reset_time(moment: datetime) -> str:
    """X-RateLimit-Reset: microseconds, as rack-attack formats it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FakeAccount:
    id: str
    username: str
    display_name: str
    note: str
    noindex: bool = False
    discoverable: bool | None = None
    suspended: bool = False
    gone: bool = False  # 410 on every request about it
    fields: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    old_ids: list[str] = field(default_factory=list)  # ids it had before renumber()


class FakeInstance:
    """See the module docstring. One per test: it registers routes on the server."""

    def __init__(self, server: LocalHTTPServer, *, now: datetime | None = None) -> None:
        self.server = server
        self.base_url = server.base_url
        self.host = urlsplit(self.base_url).netloc
        self.now = now or datetime.now(UTC)
        self.accounts: dict[str, FakeAccount] = {}
        self.refuse_api = False  # answer 401 on every /api/ path, as a locked-down instance
        self.limit = 300
        self.remaining = 300
        self.reset = self.now + timedelta(minutes=5)
        self.retry_after: int | None = None  # sent with a 429 when set (Mastodon sends none)
        # Answer 429 after this many more API requests whatever the count said, as when
        # another client behind the same IP address spent the budget meanwhile.
        self.throttle_after: int | None = None
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)
        server.add_handler("/api/v1/accounts/lookup", self._lookup)

    # ── building the instance ────────────────────────────────────────────────────────────

    def add_account(
        self,
        username: str,
        *,
        display_name: str | None = None,
        note: str = "<p>I write about water.</p>",
        noindex: bool = False,
        discoverable: bool | None = None,
        fields: Sequence[Mapping[str, Any]] = (),
    ) -> FakeAccount:
        account = FakeAccount(
            id=self._new_id(self.now - timedelta(days=400)),
            username=username,
            display_name=display_name if display_name is not None else username.title(),
            note=note,
            noindex=noindex,
            discoverable=discoverable,
            fields=[dict(item) for item in fields],
        )
        self.accounts[username] = account
        self._route_account(account)
        return account

    def post(
        self,
        username: str,
        content: str = "<p>Toot!</p>",
        *,
        created_at: datetime | None = None,
        spoiler_text: str = "",
        in_reply_to: Mapping[str, Any] | None = None,
        reblog: Mapping[str, Any] | None = None,
        media: Sequence[Mapping[str, Any]] = (),
        tags: Sequence[str] = (),
        mentions: Sequence[Mapping[str, Any]] = (),
        card_url: str | None = None,
        visibility: str = "public",
    ) -> dict[str, Any]:
        """A new status of ``username`` (newest unless ``created_at`` says otherwise)."""
        account = self.accounts[username]
        created = created_at or self.now
        status_id = self._new_id(created)
        status = self._status_json(
            account,
            status_id,
            content=content if reblog is None else "",
            created=created,
            spoiler_text=spoiler_text,
            visibility=visibility,
        )
        if in_reply_to is not None:
            status["in_reply_to_id"] = in_reply_to["id"]
            status["in_reply_to_account_id"] = in_reply_to["account"]["id"]
        if reblog is not None:
            # A boost's own uri and url are its activity; its content lives in "reblog".
            status["uri"] = status["url"] = f"{status['uri']}/activity"
            status["reblog"] = dict(reblog)
        status["media_attachments"] = [self._media_json(item) for item in media]
        status["tags"] = [{"name": tag, "url": f"{self.base_url}/tags/{tag}"} for tag in tags]
        status["mentions"] = [dict(item) for item in mentions]
        if card_url is not None:
            status["card"] = _card_json(card_url)
        with self._lock:
            account.statuses.append(status)
            account.statuses.sort(key=lambda s: int(s["id"]), reverse=True)
        return status

    def generate(
        self,
        username: str,
        count: int,
        *,
        newest: datetime | None = None,
        spacing: timedelta = timedelta(hours=1),
    ) -> list[dict[str, Any]]:
        """``count`` plain statuses, ``spacing`` apart, going back from ``newest``."""
        start = newest or self.now
        return [
            self.post(
                username, f"<p>Toot number {n} about water.</p>", created_at=start - n * spacing
            )
            for n in range(count)
        ]

    def remote_status(
        self, acct: str, content: str, *, display_name: str = "Carol Remote"
    ) -> dict[str, Any]:
        """A status of an account of another instance, as a boost carries it."""
        user, _, host = acct.partition("@")
        created = self.now - timedelta(days=3)
        status_id = self._new_id(created)
        remote = FakeAccount(
            id=self._new_id(created), username=user, display_name=display_name, note=""
        )
        status = self._status_json(remote, status_id, content=content, created=created)
        status["uri"] = f"https://{host}/users/{user}/statuses/{status_id}"
        status["url"] = f"https://{host}/@{user}/{status_id}"
        status["account"]["acct"] = acct
        status["account"]["url"] = f"https://{host}/@{user}"
        return status

    def mention_of(self, username: str) -> dict[str, Any]:
        account = self.accounts[username]
        return {
            "id": account.id,
            "username": username,
            "url": f"{self.base_url}/@{username}",
            "acct": username,
        }

    def edit(self, status: Mapping[str, Any], content: str, *, at: datetime | None = None) -> None:
        with self._lock:
            for account in self.accounts.values():
                for stored in account.statuses:
                    if stored["id"] == status["id"]:
                        stored["content"] = content
                        stored["edited_at"] = iso_time(at or self.now)

    # ── what can go wrong ────────────────────────────────────────────────────────────────

    def suspend(self, username: str) -> None:
        """The account is suspended: lookup says so (with its fields emptied, as Mastodon)."""
        self.accounts[username].suspended = True

    def make_gone(self, username: str) -> None:
        """The account was deleted: 410 on lookup and statuses."""
        self.accounts[username].gone = True

    def forget(self, username: str) -> None:
        """No such account any more: lookup and statuses answer 404."""
        account = self.accounts.pop(username)
        self.server.add_handler(self._statuses_path(account.id), self._not_found)

    def renumber(self, username: str) -> FakeAccount:
        """The account was deleted and made again: a new id, and its old one answers 404."""
        account = self.accounts[username]
        old_id = account.id
        account.old_ids.append(old_id)
        account.id = self._new_id(self.now)
        for status in account.statuses:
            status["account"]["id"] = account.id
        self.server.add_handler(self._statuses_path(old_id), self._not_found)
        self._route_account(account)
        return account

    # ── what was asked ───────────────────────────────────────────────────────────────────

    def status_requests(self, username: str) -> list[RecordedRequest]:
        account = self.accounts[username]
        paths = {self._statuses_path(i) for i in [account.id, *account.old_ids]}
        return [request for request in self.server.requests if request.path in paths]

    def lookup_requests(self) -> list[RecordedRequest]:
        return self.server.requests_for("/api/v1/accounts/lookup")

    def api_requests(self) -> list[RecordedRequest]:
        return [r for r in self.server.requests if r.path.startswith("/api/")]

    def rss_requests(self, username: str) -> list[RecordedRequest]:
        return self.server.requests_for(f"/@{username}.rss")

    def profile_url(self, username: str) -> str:
        return f"{self.base_url}/@{username}"

    # ── JSON ─────────────────────────────────────────────────────────────────────────────

    def _new_id(self, moment: datetime) -> str:
        # Mastodon's snowflakes: milliseconds since the epoch, shifted, plus a sequence.
        milliseconds = int(moment.timestamp() * 1000)
        return str((milliseconds << 16) + (next(self._sequence) & 0xFFFF))

    def account_json(self, account: FakeAccount) -> dict[str, Any]:
        profile = f"{self.base_url}/@{account.username}"
        avatar = f"{self.base_url}/system/accounts/avatars/{account.id}/original/a.jpg"
        created = iso_time(self.now - timedelta(days=400))
        data: dict[str, Any] = {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.display_name,
            "locked": False,
            "bot": False,
            "discoverable": account.discoverable,
            "indexable": not account.noindex,
            "group": False,
            "created_at": created[:10] + "T00:00:00.000Z",
            "note": account.note,
            "url": profile,
            "uri": f"{self.base_url}/ap/users/{account.id}",
            "avatar": avatar,
            "avatar_static": avatar,
            "avatar_description": "",
            "header": f"{self.base_url}/headers/original/missing.png",
            "header_static": f"{self.base_url}/headers/original/missing.png",
            "header_description": "",
            "followers_count": 12,
            "following_count": 34,
            "statuses_count": len(account.statuses),
            "last_status_at": self.now.date().isoformat(),
            "hide_collections": False,
            "show_media": True,
            "show_media_replies": True,
            "show_featured": True,
            "noindex": account.noindex,
            "emojis": [],
            "roles": [],
            "fields": [dict(item) for item in account.fields],
        }
        if account.suspended:
            # Mastodon hides a suspended account's profile and says why.
            data.update(display_name="", note="", fields=[], suspended=True)
        return data

    def _status_json(
        self,
        account: FakeAccount,
        status_id: str,
        *,
        content: str,
        created: datetime,
        spoiler_text: str = "",
        visibility: str = "public",
    ) -> dict[str, Any]:
        return {
            "id": status_id,
            "created_at": iso_time(created),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": bool(spoiler_text),
            "spoiler_text": spoiler_text,
            "visibility": visibility,
            "language": "en",
            "uri": f"{self.base_url}/ap/users/{account.id}/statuses/{status_id}",
            "url": f"{self.base_url}/@{account.username}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "quotes_count": 0,
            "edited_at": None,
            "content": content,
            "filtered": [],
            "reblog": None,
            "application": {"name": "Web", "website": None},
            "account": self.account_json(account),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "quote": None,
            "card": None,
            "poll": None,
        }

    def _media_json(self, item: Mapping[str, Any]) -> dict[str, Any]:
        media_id = next(self._sequence)
        kind = item.get("type", "image")
        url = item.get("url", f"{self.base_url}/system/media_attachments/{media_id}/original.jpg")
        return {
            "id": str(media_id),
            "type": kind,
            "url": url,
            "preview_url": url,
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {},
            "description": item.get("description"),
            "blurhash": "UFHx",
        }

    # ── serving ──────────────────────────────────────────────────────────────────────────

    def _statuses_path(self, account_id: str) -> str:
        return f"/api/v1/accounts/{account_id}/statuses"

    def _route_account(self, account: FakeAccount) -> None:
        username = account.username

        def statuses(request: RecordedRequest) -> Reply:
            return self._statuses(username, request)

        def rss(request: RecordedRequest) -> Reply:
            return self._rss(username, request)

        self.server.add_handler(self._statuses_path(account.id), statuses)
        self.server.add_handler(f"/@{username}.rss", rss)

    def _api_reply(
        self, status: int, body: object, extra: Mapping[str, str] | None = None
    ) -> Reply:
        """Every API answer counts against the budget and says what is left."""
        with self._lock:
            throttled = self.remaining <= 0 or self.throttle_after == 0
            if self.throttle_after is not None and self.throttle_after > 0:
                self.throttle_after -= 1
            if not throttled:
                self.remaining -= 1
            headers = {
                "Content-Type": JSON_TYPE,
                "Cache-Control": "private, no-store",
                "Vary": "Authorization, Origin",
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(self.remaining, 0)),
                "X-RateLimit-Reset": _reset_time(self.reset),
            }
        if throttled:
            if self.retry_after is not None:
                headers["Retry-After"] = str(self.retry_after)
            return Reply(429, json.dumps(THROTTLED), headers)
        if self.refuse_api:
            headers["WWW-Authenticate"] = 'Bearer realm="Doorkeeper", error="invalid_token"'
            return Reply(401, json.dumps(REFUSAL), headers)
        headers.update(extra or {})
        return Reply(status, json.dumps(body), headers)

    def _not_found(self, request: RecordedRequest) -> Reply:
        return self._api_reply(404, NOT_FOUND)

    def _lookup(self, request: RecordedRequest) -> Reply:
        acct = request.query.get("acct", "")
        user, _, host = acct.lstrip("@").partition("@")
        account = self.accounts.get(user)
        if account is None or (host and host != self.host):
            return self._api_reply(404, NOT_FOUND)
        if account.gone:
            return self._api_reply(410, GONE)
        return self._api_reply(200, self.account_json(account))

    def _statuses(self, username: str, request: RecordedRequest) -> Reply:
        account = self.accounts.get(username)
        if account is None:
            return self._api_reply(404, NOT_FOUND)
        if account.gone:
            return self._api_reply(410, GONE)
        if account.suspended:
            return self._api_reply(200, [])
        query = request.query
        limit = _page_limit(query.get("limit"))
        with self._lock:
            candidates = [s for s in account.statuses if _listed(s, account.id, query)]
        page = _page(candidates, query, limit)
        return self._api_reply(200, page, self._link_header(request, page, limit))

    def _link_header(
        self, request: RecordedRequest, page: Sequence[Mapping[str, Any]], limit: int
    ) -> dict[str, str]:
        """next only when the page is full, prev when it is not empty, as Mastodon does."""
        if not page:
            return {}
        kept = {
            name: value
            for name, value in parse_qsl(request.query_string, keep_blank_values=True)
            if name not in ("max_id", "min_id", "since_id")
        }
        url = self.base_url + request.path
        links = []
        if len(page) == limit:
            links.append(f'<{url}?{_sorted_query(kept, max_id=page[-1]["id"])}>; rel="next"')
        links.append(f'<{url}?{_sorted_query(kept, min_id=page[0]["id"])}>; rel="prev"')
        return {"Link": ", ".join(links)}

    def _rss(self, username: str, request: RecordedRequest) -> Reply:
        account = self.accounts.get(username)
        if account is None:
            return Reply(404, "not found", {"Content-Type": "text/plain"})
        limit = min(int(request.query.get("limit") or RSS_DEFAULT_LIMIT), RSS_MAX_LIMIT)
        with self._lock:
            statuses = [
                s
                for s in account.statuses
                if s["visibility"] == "public"
                and s["reblog"] is None
                and s["in_reply_to_account_id"] in (None, account.id)
            ][:limit]
        body = self.rss_feed(account, statuses)
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'
        last_modified = format_datetime(
            max((_parse_time(s["created_at"]) for s in statuses), default=self.now), usegmt=True
        )
        headers = {"Content-Type": RSS_TYPE, "ETag": etag, "Last-Modified": last_modified}
        if request.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag, "Last-Modified": last_modified})
        return Reply(200, body, headers)

    def rss_feed(self, account: FakeAccount, statuses: Iterable[Mapping[str, Any]]) -> str:
        """The account's feed as Mastodon's RSS serializer writes it: no item titles."""
        profile = f"{self.base_url}/@{account.username}"
        items = "".join(_rss_item(status) for status in statuses)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:webfeeds="http://webfeeds.org/rss/1.0" '
            'xmlns:media="http://search.yahoo.com/mrss/">\n'
            "<channel>\n"
            f"<title>{escape(account.display_name)}</title>\n"
            f"<description>Public posts from @{escape(account.username)}@{self.host}"
            "</description>\n"
            f"<link>{escape(profile)}</link>\n"
            f"<lastBuildDate>{format_datetime(self.now, usegmt=True)}</lastBuildDate>\n"
            "<generator>Mastodon v4.6.0</generator>\n"
            f"{items}"
            "</channel>\n</rss>\n"
        )


# ── paging, as Mastodon pages ────────────────────────────────────────────────────────────


def _page_limit(value: str | None) -> int:
    try:
        asked = int(value) if value else DEFAULT_LIMIT
    except ValueError:
        asked = DEFAULT_LIMIT
    return max(1, min(asked, MAX_LIMIT))


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "t", "yes", "on")


def _listed(status: Mapping[str, Any], account_id: str, query: Mapping[str, str]) -> bool:
    if status["visibility"] not in ("public", "unlisted"):
        return False  # an anonymous reader sees nothing else
    if _truthy(query.get("exclude_reblogs")) and status["reblog"] is not None:
        return False
    replied_to = status["in_reply_to_account_id"]
    # exclude_replies keeps self-replies: a thread is still the person's own posts
    return not (
        _truthy(query.get("exclude_replies"))
        and replied_to is not None
        and replied_to != account_id
    )


def _page(
    newest_first: Sequence[dict[str, Any]], query: Mapping[str, str], limit: int
) -> list[dict[str, Any]]:
    """max_id / since_id bound the range; min_id takes the statuses just above it (the
    oldest of the range), yet the array is newest first either way."""
    chosen = list(newest_first)
    if query.get("max_id"):
        chosen = [s for s in chosen if int(s["id"]) < int(query["max_id"])]
    if query.get("since_id"):
        chosen = [s for s in chosen if int(s["id"]) > int(query["since_id"])]
    if query.get("min_id"):
        chosen = [s for s in chosen if int(s["id"]) > int(query["min_id"])]
        return chosen[-limit:]
    return chosen[:limit]


def _sorted_query(kept: Mapping[str, str], **cursor: str) -> str:
    # Rails' to_query sorts the parameters: "limit=5&max_id=…", "min_id=…&pinned=1".
    return urlencode(sorted({**kept, **cursor}.items()))


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _card_json(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "title": "Example Domain",
        "description": "",
        "language": "en",
        "type": "link",
        "author_name": "",
        "author_url": "",
        "provider_name": "",
        "provider_url": "",
        "html": "",
        "width": 0,
        "height": 0,
        "image": None,
        "image_description": "",
        "embed_url": "",
        "blurhash": None,
        "published_at": None,
        "authors": [],
    }


def _rss_item(status: Mapping[str, Any]) -> str:
    # Mastodon shows a content warning before the text in its feed, and lists the hashtags.
    warning = status["spoiler_text"]
    before = f"<p>Content warning: {escape(warning)}</p><hr />" if warning else ""
    categories = "".join(f"<category>{escape(tag['name'])}</category>" for tag in status["tags"])
    media = "".join(
        f'<media:content url="{escape(m["url"])}" type="image/jpeg" medium="image">'
        f'<media:description type="plain">{escape(m["description"] or "")}</media:description>'
        "</media:content>"
        for m in status["media_attachments"]
    )
    published = format_datetime(_parse_time(status["created_at"]), usegmt=True)
    return (
        "<item>\n"
        f'<guid isPermaLink="true">{escape(status["url"])}</guid>\n'
        f"<link>{escape(status['url'])}</link>\n"
        f"<pubDate>{published}</pubDate>\n"
        f"<description>{escape(before + status['content'])}</description>\n"
        f"{media}{categories}"
        "</item>\n"
    )
