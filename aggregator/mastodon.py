"""Mastodon accounts read through their instance's public API, without an account.

    source URL ─► profile_parts ─► lookup (account id, once) ─► statuses, paged by Link
                                         │ 401/403: the API refuses anonymous readers
                                         └──────────► @user.rss through parse.read

The pure half turns handles, profile URLs, ``Link`` headers, accounts and statuses into our
models and never does I/O: it is what the unit tests exercise. ``read_account`` is the one
coroutine that talks to an instance, through the shared ``Fetcher``; ``InstanceBudget`` keeps
every account of one instance inside that instance's rate limit for the whole run.

Everything an instance sends is untrusted: the JSON shapes are checked (a wrong shape is a
ParseError in words, never a KeyError), every piece of HTML goes through sanitize.clean_html,
and the URLs of ``Link`` headers are not followed as given: only the ids they name are used,
on URLs we build ourselves, so a hostile instance cannot send us anywhere else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html import escape, unescape
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final, NamedTuple
from urllib.parse import parse_qs, quote, urljoin, urlsplit

from aggregator import lazy
from aggregator.errors import FetchError, HttpStatusError, ParseError
from aggregator.fetch import JSON_ACCEPT, Fetcher
from aggregator.labels import web_url
from aggregator.models import (
    FeedLinks,
    FetchResult,
    MastodonAccount,
    MastodonCursor,
    MastodonRead,
    ParsedPost,
    SourceConfig,
)
from aggregator.sanitize import clean_html, html_to_text, links_in, plain_text, without_surrogates

if TYPE_CHECKING:
    from aggregator import parse
else:  # feedparser only for an account's RSS fallback (start-up, issue 9: see aggregator/lazy.py)
    parse = lazy.module("aggregator.parse")

__all__ = [
    "FIRST_FETCH_MAX_AGE",
    "FIRST_FETCH_MAX_STATUSES",
    "PAGE_LIMIT",
    "RATE_LIMIT_RESERVE",
    "REFETCH_MAX_STATUSES",
    "ApiRequest",
    "InstanceBudget",
    "account_from_json",
    "handle_to_profile",
    "lookup_request",
    "newest_status_id",
    "parse_link_header",
    "parse_rate_limit_reset",
    "profile_parts",
    "read_account",
    "rss_url",
    "status_to_post",
    "statuses_request",
    "title_from_text",
]

PAGE_LIMIT: Final = 40  # Mastodon's maximum for account statuses
FIRST_FETCH_MAX_STATUSES: Final = 200
FIRST_FETCH_MAX_AGE: Final = timedelta(days=30)
REFETCH_MAX_STATUSES: Final = 200  # more new than this: the rest comes next run, in order
# Requests kept in hand per instance: other readers of the same IP (and our own next run's
# lookups) should not find the budget at zero because of us.
RATE_LIMIT_RESERVE: Final = 10

TITLE_MAX_WORDS: Final = 10
TITLE_MAX_CHARS: Final = 80

_HANDLE = re.compile(
    r"@?(?P<user>[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)@(?P<host>[\w-]+(?:\.[\w-]+)*(?::\d+)?)"
)
_PROFILE_PATH = re.compile(
    r"/(?:@(?P<user>[A-Za-z0-9_][A-Za-z0-9_.-]*)(?:@(?P<host>[^/@]+))?"
    r"|users/(?P<local>[A-Za-z0-9_][A-Za-z0-9_.-]*))/?"
)
_NO_INDEX_TAG = re.compile(r"(?<![\w#])#(?:nobot|noindex)\b", re.IGNORECASE)
# Only what an anonymous reader may see; anything else reaching us is an instance's mistake
# and must never end up on a public page.
_PUBLIC_VISIBILITIES = frozenset({"public", "unlisted"})
_MEDIA_LABELS = {"image": "Image", "gifv": "Animation", "video": "Video", "audio": "Audio"}
# Resets within this of each other belong to one window: Mastodon's reset times carry a
# per-request fraction of a second (13:50:00.872845Z, then 13:50:00.924992Z).
_SAME_WINDOW: Final = timedelta(seconds=60)


# ── handles and URLs ─────────────────────────────────────────────────────────────────────


def handle_to_profile(handle: str) -> str:
    """``@user@host`` (or ``user@host``) as the profile URL ``https://host/@user``."""
    found = _HANDLE.fullmatch(handle.strip())
    if found is None:
        raise ValueError(f"{handle!r} is not a Mastodon handle like '@user@host'")
    return f"https://{found['host'].lower()}/@{found['user']}"


def profile_parts(profile_url: str) -> tuple[str, str]:
    """The instance's base URL (scheme, host and port kept) and the username of a profile.

    Accepts ``https://host/@user``, ``https://host/users/user`` and a handle. A profile seen
    through another server (``https://here/@bob@there``) is read on bob's own server.
    """
    text = profile_url.strip()
    if text.startswith("@") or "://" not in text:
        text = handle_to_profile(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{profile_url!r} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"{profile_url!r} is not an http(s) profile URL")
    found = _PROFILE_PATH.fullmatch(parts.path)
    if found is None:
        raise ValueError(f"{profile_url!r} is not a Mastodon profile URL like 'https://host/@user'")
    if found["host"]:
        return profile_parts(f"@{found['user']}@{found['host']}")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}", found["user"] or found["local"]


class ApiRequest(NamedTuple):
    """A GET to make: the URL without a query, and the query as Fetcher.get's ``params``."""

    url: str
    params: dict[str, str]


def lookup_request(base_url: str, username: str) -> ApiRequest:
    return ApiRequest(f"{base_url}/api/v1/accounts/lookup", {"acct": username})


def statuses_request(
    base_url: str,
    account_id: str,
    *,
    replies: bool,
    boosts: bool,
    max_id: str | None = None,
    since_id: str | None = None,
    min_id: str | None = None,
    limit: int = PAGE_LIMIT,
) -> ApiRequest:
    """One page of an account's statuses; ``replies``/``boosts`` as the source asks for them.

    ``exclude_replies`` keeps a person's self-threads, which is what a reader wants.
    """
    params = {
        "limit": str(max(1, min(limit, PAGE_LIMIT))),
        "exclude_replies": _flag(not replies),
        "exclude_reblogs": _flag(not boosts),
    }
    for name, value in (("max_id", max_id), ("since_id", since_id), ("min_id", min_id)):
        if value is not None:
            params[name] = value
    # The id comes from an instance's JSON or our store: never let it reach another path.
    return ApiRequest(f"{base_url}/api/v1/accounts/{quote(account_id, safe='')}/statuses", params)


def rss_url(base_url: str, username: str) -> str:
    """The account's public RSS feed: its public posts, without boosts."""
    return f"{base_url}/@{username}.rss"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _instance_key(url: str) -> str:
    """host:port of a URL, the unit a rate limit applies to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    host = (parts.hostname or "").lower()
    return f"{host}:{port}" if port is not None else host


# ── Link and rate-limit headers ──────────────────────────────────────────────────────────

_LINK_VALUE = re.compile(r"<(?P<url>[^>]*)>(?P<params>[^<]*)")
_LINK_REL = re.compile(r';\s*rel\s*=\s*(?:"(?P<quoted>[^"]*)"|(?P<token>[^\s;,]+))', re.IGNORECASE)


def parse_link_header(value: str | None, base_url: str | None = None) -> dict[str, str]:
    """``Link: <url>; rel="next", <url>; rel="prev"`` as ``{"next": url, "prev": url}``.

    A rel naming several relations counts for each; the first link of a relation wins.
    Relative URLs are resolved against ``base_url`` when one is given.
    """
    links: dict[str, str] = {}
    if not value:
        return links
    for match in _LINK_VALUE.finditer(value):
        url = match["url"].strip()
        if base_url:
            url = urljoin(base_url, url)
        rel = _LINK_REL.search(match["params"])
        if rel is None:
            continue
        for relation in (rel["quoted"] or rel["token"] or "").lower().split():
            links.setdefault(relation, url)
    return links


def _query_value(url: str, name: str) -> str | None:
    try:
        values = parse_qs(urlsplit(url).query).get(name)
    except ValueError:
        return None
    return values[0] if values else None


def parse_rate_limit_reset(value: str | None, now: datetime) -> datetime | None:
    """When a rate-limit window ends, from ``X-RateLimit-Reset``.

    Mastodon sends an ISO 8601 time; GoToSocial and Akkoma a Unix time; a few servers the
    seconds left. ``now`` (aware) is needed for that last form.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            number = float(text)
            if number >= 1_000_000_000:
                return datetime.fromtimestamp(number, UTC)
            return now + timedelta(seconds=number)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _header_int(result: FetchResult, name: str) -> int | None:
    value = result.header(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


@dataclass
class _Window:
    remaining: int
    reset: datetime


@dataclass
class InstanceBudget:
    """The API rate-limit budget of each instance, shared by every account read in one run.

    Every API answer updates it (``observe``); every API request first takes one request from
    it (``take``), which is refused while fewer than ``reserve`` are left before the reset.
    Unauthenticated Mastodon API reads are limited per IP address (300 per 5 minutes by
    default), so many accounts on one big instance can spend it in one run.
    """

    reserve: int = RATE_LIMIT_RESERVE
    _windows: dict[str, _Window] = field(default_factory=dict, repr=False)

    def observe(self, url: str, result: FetchResult, now: datetime) -> None:
        remaining = _header_int(result, "x-ratelimit-remaining")
        reset = parse_rate_limit_reset(result.header("x-ratelimit-reset"), now)
        if remaining is None or reset is None:
            return
        key = _instance_key(url)
        known = self._windows.get(key)
        if known is None or reset > known.reset + _SAME_WINDOW:
            self._windows[key] = _Window(remaining, reset)
        elif reset >= known.reset - _SAME_WINDOW:
            # Answers of one window can arrive out of order: the lowest count is the truest.
            known.remaining = min(known.remaining, remaining)
            known.reset = max(known.reset, reset)

    def take(self, url: str, now: datetime) -> bool:
        """Count one request against the instance; False when its budget is nearly spent."""
        key = _instance_key(url)
        window = self._windows.get(key)
        if window is None:
            return True
        if now >= window.reset:
            del self._windows[key]  # a new window: the next answer tells us its budget
            return True
        if window.remaining <= self.reserve:
            return False
        window.remaining -= 1  # until the answer says better: concurrent readers share it
        return True

    def spend(self, url: str, until: datetime) -> None:
        """The instance refused us (429): ask it nothing more before ``until``."""
        self._windows[_instance_key(url)] = _Window(0, until)

    def reset_at(self, url: str) -> datetime | None:
        window = self._windows.get(_instance_key(url))
        return window.reset if window is not None else None

    def remaining(self, url: str) -> int | None:
        window = self._windows.get(_instance_key(url))
        return window.remaining if window is not None else None


# ── JSON shapes ──────────────────────────────────────────────────────────────────────────


def _kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Fields:
    """Typed reading of one JSON object; a wrong shape is a ParseError saying what is wrong."""

    def __init__(self, data: object, url: str, what: str) -> None:
        if not isinstance(data, dict):
            raise ParseError(url, f"{what} should be a JSON object, got {_kind_of(data)}")
        self.data: Mapping[str, object] = data
        self.url = url
        self.what = what

    def _wrong(self, key: str, expected: str) -> ParseError:
        got = _kind_of(self.data.get(key))
        return ParseError(self.url, f"{self.what}: {key!r} should be {expected}, got {got}")

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        return value

    def ident(self, key: str) -> str:
        """An id: a non-empty string (Mastodon), or a number from a less careful server."""
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise self._wrong(key, "an id string")
        return value.strip()

    def optional_ident(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.ident(key)

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value

    def obj(self, key: str, what: str) -> _Fields | None:
        value = self.data.get(key)
        return None if value is None else _Fields(value, self.url, f"{self.what}: {what}")

    def objects(self, key: str, what: str) -> list[_Fields]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong(key, "a list")
        return [_Fields(item, self.url, f"{self.what}: {what}") for item in value]

    def time(self, key: str) -> datetime | None:
        text = self.optional_text(key)
        if text is None or not text.strip():
            return None
        try:
            moment = datetime.fromisoformat(text.strip())
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except (ValueError, OverflowError):  # unreadable, or at the edge of datetime's range
            raise ParseError(self.url, f"{self.what}: {key!r} is not a date: {text!r}") from None


def _host_of(url: str | None) -> str | None:
    try:
        return urlsplit(url or "").netloc.rpartition("@")[2].lower() or None
    except ValueError:
        return None


# ── accounts ─────────────────────────────────────────────────────────────────────────────


def account_from_json(data: object, *, url: str = "") -> MastodonAccount:
    """An account object of the API; ``url`` (the request) names it in errors.

    ``noindex`` holds when the account says so or its bio or profile fields carry ``#nobot``
    or ``#noindex``, the old conventions for "do not index me".
    """
    fields = _Fields(data, url, "account")
    profile = web_url(fields.optional_text("url")) or ""
    note_html = clean_html(fields.optional_text("note") or "", profile or None)
    asked_noindex = fields.flag("noindex") is True or _has_no_index_tag(fields, note_html)
    return MastodonAccount(
        id=fields.ident("id"),
        acct=_full_acct(fields.optional_text("acct") or fields.optional_text("username"), profile),
        url=profile,
        display_name=plain_text(fields.optional_text("display_name") or ""),
        avatar=web_url(fields.optional_text("avatar")),
        note_html=note_html,
        noindex=asked_noindex,
        discoverable=fields.flag("discoverable"),
        suspended=fields.flag("suspended") is True,
    )


def _has_no_index_tag(fields: _Fields, note_html: str) -> bool:
    texts = [html_to_text(note_html)]
    for item in fields.objects("fields", "profile field"):
        texts.append(plain_text(item.optional_text("name") or ""))
        texts.append(plain_text(item.optional_text("value") or ""))
    return any(_NO_INDEX_TAG.search(text) for text in texts)


def _full_acct(acct: str | None, profile_url: str | None) -> str:
    """``user@host``: the API gives local accounts as a bare ``user``."""
    name = (acct or "").strip().lstrip("@")
    if not name or "@" in name:
        return name
    host = _host_of(profile_url)
    return f"{name}@{host}" if host else name


def _author_name(account: _Fields | None, base_url: str) -> str | None:
    """``Display Name (@user@host)``, or the handle alone when there is no display name."""
    if account is None:
        return None
    profile = web_url(account.optional_text("url")) or base_url
    acct = _full_acct(account.optional_text("acct") or account.optional_text("username"), profile)
    name = plain_text(account.optional_text("display_name") or "")
    handle = f"@{acct}" if acct else ""
    if name and handle:
        return f"{name} ({handle})"
    return name or handle or None


# ── statuses ─────────────────────────────────────────────────────────────────────────────


def status_to_post(status: object, base_url: str) -> ParsedPost:
    """One status of the account as a post; a boost becomes the post it boosts.

    A boost keeps its own URI as guid, so the same post boosted by two people is two posts
    (one per person, each a share), and its own time as publication: it entered the person's
    stream when they boosted it. "Shared by" is the person who owns the source, which the
    store knows: here ``is_share`` says only that the author is someone else.
    """
    fields = _Fields(status, _status_url(status, base_url), "status")
    guid = fields.text("uri").strip() or fields.ident("id")
    published = fields.time("created_at")
    boosted = fields.obj("reblog", "boosted status")
    original = boosted if boosted is not None else fields
    post = _post_from(original, base_url)
    return replace(
        post, guid=guid, published=published or post.published, is_share=boosted is not None
    )


def _status_url(status: object, base_url: str) -> str:
    """The status's own address for error messages, whatever shape the rest has."""
    if isinstance(status, dict):
        for key in ("url", "uri"):
            value = status.get(key)
            if isinstance(value, str) and web_url(value):
                return value
    return base_url


def _post_from(fields: _Fields, base_url: str) -> ParsedPost:
    link = web_url(fields.optional_text("url")) or web_url(fields.optional_text("uri"))
    base = link or base_url
    raw_content = fields.optional_text("content") or ""
    body_html = clean_html(raw_content, base)
    media_html = _media_html(fields.objects("media_attachments", "media attachment"))
    content_html = body_html + (clean_html(media_html, base) if media_html else "")
    warning = plain_text(fields.optional_text("spoiler_text") or "") or None
    body_text = html_to_text(content_html)
    # The warning is part of what a search should find, and comes first as it is shown first.
    text = f"{warning}\n\n{body_text}".strip() if warning else body_text
    return ParsedPost(
        guid=fields.optional_text("uri") or link or "",
        link=link,
        # A title made of the text would show what the warning hides: use the warning.
        title=title_from_text(warning or body_text),
        author=_author_name(fields.obj("account", "account"), base_url),
        published=fields.time("created_at"),
        updated=fields.time("edited_at"),
        content_html=content_html or None,
        text=text,
        categories=_hashtags(fields),
        links=_shared_links(fields, raw_content, body_html),
        has_full_content=True,
        content_warning=warning,
    )


def _hashtags(fields: _Fields) -> tuple[str, ...]:
    names: dict[str, str] = {}
    for tag in fields.objects("tags", "tag"):
        name = plain_text(tag.optional_text("name") or "").lstrip("#")
        if name:
            names.setdefault(name.casefold(), name)
    return tuple(names.values())


def _media_html(attachments: Sequence[_Fields]) -> str:
    """Attachments as a list of links labelled with their alt text (escaped here, cleaned later)."""
    items: list[str] = []
    for attachment in attachments:
        url = web_url(attachment.optional_text("url")) or web_url(
            attachment.optional_text("remote_url")
        )
        if url is None:
            continue
        kind = _MEDIA_LABELS.get(attachment.optional_text("type") or "", "Attachment")
        description = plain_text(attachment.optional_text("description") or "")
        label = f"{kind}: {description}" if description else f"{kind} (no description)"
        items.append(f'<li><a href="{escape(url)}">{escape(label)}</a></li>')
    return f"<ul>{''.join(items)}</ul>" if items else ""


def title_from_text(
    text: str, max_words: int = TITLE_MAX_WORDS, max_chars: int = TITLE_MAX_CHARS
) -> str | None:
    """The first words of ``text``, cut at a word with an ellipsis when there is more."""
    words = text.split()
    if not words:
        return None
    kept: list[str] = []
    length = 0
    for word in words[:max_words]:
        added = len(word) + (1 if kept else 0)
        if length + added > max_chars:
            break
        kept.append(word)
        length += added
    if not kept:  # one very long first word, such as a URL
        return words[0][: max_chars - 1] + "…"
    title = " ".join(kept)
    if len(kept) == len(words):
        return title
    return title.rstrip(",;:–—-") + "…"


# ── the links a status shares ────────────────────────────────────────────────────────────


class _AnchorMarks(HTMLParser):
    """The hrefs of hashtag and mention anchors, which only the raw HTML marks by class."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.social: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        values = {name: value or "" for name, value in attrs}
        classes = set(values.get("class", "").split())
        rels = set(values.get("rel", "").lower().split())
        if classes & {"mention", "hashtag", "u-url"} or "tag" in rels:
            self.social.add(values.get("href", "").strip())


def _social_links(fields: _Fields, raw_content: str) -> set[str]:
    """Links to hashtags and people: not links a person shared (every hashtag would trend)."""
    marks = _AnchorMarks()
    try:
        marks.feed(raw_content)
        marks.close()
    except (AssertionError, ValueError):  # HTMLParser's own complaints on broken markup
        pass
    social = set(marks.social)
    for key, what in (("mentions", "mention"), ("tags", "tag")):
        for item in fields.objects(key, what):
            url = item.optional_text("url")
            if url:
                social.add(url.strip())
    return {unescape(url) for url in social if url}


def _shared_links(fields: _Fields, raw_content: str, body_html: str) -> tuple[str, ...]:
    """Links in the sanitized text (so nothing hostile gets in) minus tags and mentions,
    then the preview card's URL."""
    social = _social_links(fields, raw_content)
    found = [url for url in links_in(body_html) if url not in social]
    card = fields.obj("card", "preview card")
    card_url = web_url(card.optional_text("url")) if card is not None else None
    if card_url:
        found.append(card_url)
    return tuple(dict.fromkeys(found))


# ── ids ──────────────────────────────────────────────────────────────────────────────────


def _id_order(status_id: str) -> tuple[int, int, str]:
    # Mastodon ids are numbers in strings (snowflakes: later is larger); Pleroma's flake ids
    # sort as strings. Digits sort by value, and after anything else.
    if status_id.isdigit():
        return (1, int(status_id), "")
    return (0, 0, status_id)


def newest_status_id(ids: Iterable[str | None]) -> str | None:
    """The highest of ``ids`` (numerically when they are digits), ignoring None."""
    known = [status_id for status_id in ids if status_id]
    return max(known, key=_id_order) if known else None


# ── reading an account ───────────────────────────────────────────────────────────────────


class _ApiRefused(Exception):
    """The instance does not let anonymous readers use its API (401/403)."""

    def __init__(self, error: HttpStatusError, account: MastodonAccount | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.account = account


class _OutOfBudget(Exception):
    """A request was not made: the instance's budget is spent until ``until``."""

    def __init__(self, url: str, until: datetime) -> None:
        super().__init__(url)
        self.url = url
        self.until = until


class _UnknownAccountId(Exception):
    """The statuses of an account id answered 404: the id is no longer the account's."""


@dataclass
class _Pages:
    """The statuses gathered so far, and why reading stopped early if it did."""

    statuses: list[_Fields] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    pause_until: datetime | None = None
    requests: int = 0

    def add(self, page: Sequence[_Fields]) -> None:
        for status in page:
            status_id = _status_id(status)
            if status_id is None:
                self.statuses.append(status)
            elif status_id not in self.seen_ids:
                self.seen_ids.add(status_id)
                self.statuses.append(status)


async def read_account(
    fetcher: Fetcher,
    source: SourceConfig,
    cursor: MastodonCursor,
    budget: InstanceBudget,
    now: datetime,
) -> MastodonRead:
    """Read what is new on one account since ``cursor``; the new cursor says where to go on.

    The first read pages back to FIRST_FETCH_MAX_STATUSES or FIRST_FETCH_MAX_AGE; later reads
    ask only for statuses newer than the newest one seen. An instance that refuses anonymous
    API use (401/403) is read through the account's RSS feed instead.

    A read stopped early by the instance's rate limit returns what it has, with
    ``pause_until`` (when the instance's budget resets) and a note.

    Raises FetchError (no such account; no answer), HttpStatusError (410, or 410 "account
    suspended": the account is gone; 429 with ``retry_after``: the instance's budget was spent
    before anything could be asked) and ParseError (the answers are not Mastodon's).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        base_url, username = profile_parts(source.url)
    except ValueError as exc:
        raise FetchError(source.url, str(exc)) from None
    reader = _AccountReader(fetcher, source, budget, now, base_url, username)
    try:
        return await reader.read(cursor)
    except _ApiRefused as refused:
        return await _read_rss(fetcher, cursor, base_url, username, refused)


class _AccountReader:
    """One read of one account through the API."""

    def __init__(
        self,
        fetcher: Fetcher,
        source: SourceConfig,
        budget: InstanceBudget,
        now: datetime,
        base_url: str,
        username: str,
    ) -> None:
        self.fetcher = fetcher
        self.source = source
        self.budget = budget
        self.now = now
        self.base_url = base_url
        self.username = username
        self.account: MastodonAccount | None = None

    @property
    def handle(self) -> str:
        return f"@{self.username}@{_host_of(self.base_url)}"

    async def read(self, cursor: MastodonCursor) -> MastodonRead:
        account_id = cursor.account_id
        looked_up = account_id is None
        if account_id is None:
            account_id = await self._lookup()
        try:
            pages = await self._statuses(account_id, cursor.newest_id)
        except _UnknownAccountId:
            if looked_up:
                raise self._no_statuses(account_id) from None
            # Accounts can be deleted and made again under the same name: look it up anew,
            # once. Ids are unique across an instance, so the cursor's newest id still holds.
            account_id = await self._lookup()
            try:
                pages = await self._statuses(account_id, cursor.newest_id)
            except _UnknownAccountId:
                raise self._no_statuses(account_id) from None
        return self._result(account_id, cursor, pages)

    def _no_statuses(self, account_id: str) -> FetchError:
        request = statuses_request(self.base_url, account_id, replies=True, boosts=True)
        return FetchError(
            request.url, f"the instance knows {self.handle} but answers 404 for its statuses"
        )

    def _result(self, account_id: str, cursor: MastodonCursor, pages: _Pages) -> MastodonRead:
        posts: list[ParsedPost] = []
        notes = list(pages.notes)
        for status in pages.statuses:
            if not self._wanted(status, account_id):
                continue
            try:
                posts.append(status_to_post(status.data, self.base_url))
            except ParseError as exc:
                notes.append(f"a status was skipped: {exc.message}")
        account = self.account or self._account_of(pages.statuses, account_id)
        newest = newest_status_id([cursor.newest_id, *pages.seen_ids])
        return MastodonRead(
            account=account,
            posts=tuple(posts),
            cursor=MastodonCursor(account_id=account_id, newest_id=newest, via="api"),
            notes=tuple(notes),
            pause_until=pages.pause_until,
        )

    def _wanted(self, status: _Fields, account_id: str) -> bool:
        """The source's choices applied again here: not every server honours the parameters."""
        visibility = status.data.get("visibility")
        if isinstance(visibility, str) and visibility not in _PUBLIC_VISIBILITIES:
            return False
        if not self.source.boosts and status.data.get("reblog") is not None:
            return False
        replied_to = status.data.get("in_reply_to_account_id")
        # A reply to oneself is a thread, which exclude_replies keeps as well.
        return self.source.replies or replied_to is None or str(replied_to) == account_id

    def _account_of(self, statuses: Sequence[_Fields], account_id: str) -> MastodonAccount | None:
        """The account as the newest status describes it: noindex and names stay current
        without a lookup on every run."""
        for status in statuses:
            try:
                account = account_from_json(status.data.get("account"), url=status.url)
            except ParseError:
                continue
            if account.id == account_id:
                return account
        return None

    # requests

    async def _lookup(self) -> str:
        request = lookup_request(self.base_url, self.username)
        try:
            data, _ = await self._get_json(request)
        except _OutOfBudget as spent:
            raise self._spent_error(spent) from None
        except HttpStatusError as exc:
            if exc.status == 404:
                raise FetchError(
                    request.url, f"no account {self.handle} on that instance"
                ) from None
            raise
        account = account_from_json(data, url=request.url)
        if account.suspended:
            raise HttpStatusError(request.url, 410, "account suspended")
        self.account = account
        return account.id

    async def _statuses(self, account_id: str, newest_id: str | None) -> _Pages:
        pages = _Pages()
        try:
            if newest_id is None:
                await self._page_back(account_id, pages)
            else:
                await self._page_forward(account_id, newest_id, pages)
        except _OutOfBudget as spent:
            if pages.requests == 0:
                raise self._spent_error(spent) from None
            self._pause(pages, spent.until, newest_id is None)
        except HttpStatusError as exc:
            if exc.status != 429 or pages.requests == 0:
                raise
            # Keep what the earlier pages brought; the rest waits for the instance's reset.
            self._pause(pages, self.budget.reset_at(exc.url) or self.now, newest_id is None)
        return pages

    async def _page_back(self, account_id: str, pages: _Pages) -> None:
        """Newest first, back along rel="next", until the count or age cap."""
        oldest_wanted = self.now - FIRST_FETCH_MAX_AGE
        max_id: str | None = None
        while True:
            page, links = await self._page(account_id, pages, max_id=max_id)
            pages.add(page)
            if len(pages.statuses) >= FIRST_FETCH_MAX_STATUSES:
                del pages.statuses[FIRST_FETCH_MAX_STATUSES:]
                return
            oldest = _oldest_time(page)
            if len(page) < PAGE_LIMIT or (oldest is not None and oldest < oldest_wanted):
                return
            max_id = _query_value(links.get("next", ""), "max_id")
            if max_id is None:
                return

    async def _page_forward(self, account_id: str, newest_id: str, pages: _Pages) -> None:
        """Only what is newer: min_id gives the statuses just above it, so following
        rel="prev" walks forward without a gap, however many there are."""
        min_id = newest_id
        while True:
            page, links = await self._page(account_id, pages, min_id=min_id)
            pages.add(page)
            if len(page) < PAGE_LIMIT:
                return
            if len(pages.statuses) >= REFETCH_MAX_STATUSES:
                pages.notes.append(
                    f"more than {REFETCH_MAX_STATUSES} new statuses: the rest is read next time"
                )
                return
            next_min = _query_value(links.get("prev", ""), "min_id") or newest_status_id(
                _status_id(status) for status in page
            )
            if next_min is None or _id_order(next_min) <= _id_order(min_id):
                return  # the instance's paging does not move on: do not loop
            min_id = next_min

    async def _page(
        self,
        account_id: str,
        pages: _Pages,
        *,
        max_id: str | None = None,
        min_id: str | None = None,
    ) -> tuple[list[_Fields], dict[str, str]]:
        request = statuses_request(
            self.base_url,
            account_id,
            replies=self.source.replies,
            boosts=self.source.boosts,
            max_id=max_id,
            min_id=min_id,
        )
        try:
            data, result = await self._get_json(request)
        except HttpStatusError as exc:
            if exc.status == 404 and pages.requests == 0:
                raise _UnknownAccountId() from exc
            raise
        pages.requests += 1
        if not isinstance(data, list):
            raise ParseError(request.url, f"statuses should be a JSON list, got {_kind_of(data)}")
        page = [_Fields(item, request.url, "status") for item in data]
        return page, parse_link_header(result.header("link"), request.url)

    async def _get_json(self, request: ApiRequest) -> tuple[object, FetchResult]:
        if not self.budget.take(request.url, self.now):
            raise _OutOfBudget(request.url, self.budget.reset_at(request.url) or self.now)
        try:
            result = await self.fetcher.get(request.url, accept=JSON_ACCEPT, params=request.params)
        except HttpStatusError as exc:
            if exc.status in (401, 403):
                raise _ApiRefused(exc, self.account) from exc
            raise self._translated(exc) from exc
        self.budget.observe(request.url, result, self.now)
        return _json_body(result), result

    def _translated(self, exc: HttpStatusError) -> HttpStatusError:
        """A 429 also spends the instance's budget, so that no other account asks it now."""
        if exc.status == 429:
            wait = exc.retry_after
            known_reset = self.budget.reset_at(exc.url)
            if wait is None and known_reset is not None:
                wait = max(0.0, (known_reset - self.now).total_seconds())
            until = self.now + timedelta(seconds=wait or 0.0)
            self.budget.spend(exc.url, until)
            return HttpStatusError(exc.url, 429, "Too Many Requests", retry_after=wait)
        return exc

    def _spent_error(self, spent: _OutOfBudget) -> HttpStatusError:
        wait = max(0.0, (spent.until - self.now).total_seconds())
        return HttpStatusError(spent.url, 429, "rate limit nearly spent", retry_after=wait)

    def _pause(self, pages: _Pages, until: datetime, first_read: bool) -> None:
        pages.pause_until = until
        # A first read pages back in time, and later reads only ask for what is newer: the
        # older statuses it did not reach are left out for good, which is no loss of news.
        rest = "older statuses are left out" if first_read else "the rest is read after that"
        pages.notes.append(
            f"{_host_of(self.base_url)} has little API budget left until "
            f"{until.astimezone(UTC):%Y-%m-%d %H:%M} UTC: "
            f"{len(pages.statuses)} statuses read, {rest}"
        )


def _status_id(status: _Fields) -> str | None:
    try:
        return status.optional_ident("id")
    except ParseError:
        return None  # status_to_post says what is wrong with it, if it is kept


def _oldest_time(page: Sequence[_Fields]) -> datetime | None:
    times: list[datetime] = []
    for status in page:
        try:
            moment = status.time("created_at")
        except ParseError:
            continue
        if moment is not None:
            times.append(moment)
    return min(times) if times else None


def _json_body(result: FetchResult) -> object:
    if result.truncated:
        raise ParseError(result.url, "the API answer was cut off at fetch.max_bytes")
    try:
        return without_surrogates(json.loads(result.body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(result.url, f"not a JSON answer from a Mastodon API: {exc}") from None


# ── the RSS fallback ─────────────────────────────────────────────────────────────────────


async def _read_rss(
    fetcher: Fetcher,
    cursor: MastodonCursor,
    base_url: str,
    username: str,
    refused: _ApiRefused,
) -> MastodonRead:
    """The account's public RSS feed, with conditional requests while we stay on it."""
    url = rss_url(base_url, username)
    staying = cursor.via == "rss"
    try:
        result = await fetcher.get(
            url,
            etag=cursor.etag if staying else None,
            last_modified=cursor.last_modified if staying else None,
        )
    except HttpStatusError as exc:
        if exc.status in (401, 403, 404):
            raise FetchError(
                url,
                f"the instance refuses its API to readers without an account "
                f"({refused.error.message}) and has no public RSS feed for "
                f"@{username} (HTTP {exc.status})",
            ) from exc
        raise
    notes: list[str] = []
    if not staying:
        notes.append(
            f"the instance refuses its API to readers without an account "
            f"({refused.error.message}): read through its RSS feed, without boosts"
        )
    posts = _rss_posts(result, refused.account, notes)
    newest = newest_status_id([cursor.newest_id, *(_status_id_in(post.link) for post in posts)])
    if not staying and cursor.newest_id is not None:
        # Fresh from the API: what it brought is stored under the statuses' URIs, and RSS
        # items use their URLs as guids. Leave those out rather than store them twice.
        posts = tuple(
            post for post in posts if _is_newer(_status_id_in(post.link), cursor.newest_id)
        )
    account_id = refused.account.id if refused.account is not None else cursor.account_id
    return MastodonRead(
        account=refused.account,
        posts=posts,
        cursor=MastodonCursor(
            account_id=account_id,
            newest_id=newest,
            via="rss",
            etag=result.etag,
            last_modified=result.last_modified,
        ),
        notes=tuple(notes),
    )


def _rss_posts(
    result: FetchResult, account: MastodonAccount | None, notes: list[str]
) -> tuple[ParsedPost, ...]:
    if result.not_modified:
        return ()
    if result.truncated:
        notes.append("the response was larger than fetch.max_bytes and was cut off")
    document = parse.read(result.body, result.final_url, result.content_type)
    if isinstance(document, FeedLinks):
        raise ParseError(result.url, "the account's RSS address answered with a web page")
    notes.extend(document.problems)
    author = (account.display_name or f"@{account.acct}") if account is not None else None
    return tuple(_as_status_post(post, author) for post in document.posts)


def _as_status_post(post: ParsedPost, author: str | None) -> ParsedPost:
    """An RSS item made to read like a status from the API: Mastodon's items have no title,
    and their description is the whole status, not a summary of a page to extract."""
    return replace(
        post,
        title=post.title or title_from_text(post.text),
        author=post.author or author,
        content_html=post.content_html or post.summary_html,
        summary_html=None if post.content_html is None else post.summary_html,
        has_full_content=True,
    )


def _is_newer(status_id: str | None, newest_id: str) -> bool:
    return status_id is None or _id_order(status_id) > _id_order(newest_id)


_STATUS_PATH = re.compile(r"/@[^/]+/(?P<id>\d+)/?")


def _status_id_in(link: str | None) -> str | None:
    """A status id from its page URL (https://host/@user/123), so that a return to the API
    asks only for what the RSS feed did not bring."""
    if not link:
        return None
    try:
        found = _STATUS_PATH.fullmatch(urlsplit(link).path)
    except ValueError:
        return None
    return found["id"] if found else None
