"""aggregator.mastodon: the pure parts on samples, read_account against a Mastodon-shaped
instance on 127.0.0.1 (tests/mastodon_server.py), and replays of recorded Mastodon 4.6
exchanges from ../shared/corpora (skipped when that folder is absent).

No test asserts a timing: rate-limit tests look at what was asked and what came back.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aggregator.errors import FetchError, HttpStatusError, ParseError
from aggregator.fetch import JSON_ACCEPT, Fetcher
from aggregator.mastodon import (
    FIRST_FETCH_MAX_STATUSES,
    PAGE_LIMIT,
    InstanceBudget,
    account_from_json,
    handle_to_profile,
    lookup_request,
    newest_status_id,
    parse_link_header,
    parse_rate_limit_reset,
    profile_parts,
    read_account,
    rss_url,
    status_to_post,
    statuses_request,
    title_from_text,
)
from aggregator.models import (
    FetchConfig,
    FetchResult,
    MastodonCursor,
    MastodonRead,
    SourceConfig,
    SourceKind,
)
from tests.mastodon_server import FakeInstance
from tests.server import LocalHTTPServer, Reply

DATA = Path(__file__).parent / "data" / "mastodon"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
CASSETTES = CORPUS / "mastodon-py-cassettes" / "exchanges"
BASE = "https://water.example"
CONFIG = FetchConfig(timeout=5.0)


@cache
def _sample(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def sample(name: str) -> dict[str, Any]:
    """A fresh copy of tests/data/mastodon/NAME, free to change."""
    data: dict[str, Any] = json.loads(_sample(name))
    return data


def status(**changes: Any) -> dict[str, Any]:
    data = sample("status.json")
    data.update(changes)
    return data


def source(
    instance: FakeInstance, username: str, *, replies: bool = False, boosts: bool = False
) -> SourceConfig:
    return SourceConfig(
        url=instance.profile_url(username),
        kind=SourceKind.MASTODON,
        person=username.title(),
        replies=replies,
        boosts=boosts,
    )


def read(
    source_config: SourceConfig,
    cursor: MastodonCursor | None = None,
    budget: InstanceBudget | None = None,
    now: datetime | None = None,
) -> MastodonRead:
    async def run() -> MastodonRead:
        async with Fetcher(CONFIG) as fetcher:
            return await read_account(
                fetcher,
                source_config,
                cursor or MastodonCursor(),
                budget if budget is not None else InstanceBudget(),
                now or datetime.now(UTC),
            )

    return asyncio.run(run())


def read_error(source_config: SourceConfig, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        read(source_config, **options)
    return caught.value


def answer(headers: dict[str, str], url: str = BASE + "/api/v1/x") -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url,
        status=200,
        headers=tuple((name.lower(), value) for name, value in headers.items()),
    )


@pytest.fixture
def instance(http_server: LocalHTTPServer) -> FakeInstance:
    fake = FakeInstance(http_server)
    fake.add_account("alice", display_name="Alice Example")
    return fake


# ── handles and URLs ─────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("handle", "profile"),
    [
        ("@alice@mastodon.example", "https://mastodon.example/@alice"),
        ("alice@Mastodon.Example", "https://mastodon.example/@alice"),
        ("@a.b_c@127.0.0.1:8443", "https://127.0.0.1:8443/@a.b_c"),
    ],
)
def test_handle_to_profile(handle: str, profile: str) -> None:
    assert handle_to_profile(handle) == profile


@pytest.mark.parametrize("handle", ["alice", "@alice", "@alice@", "@al ice@host", "@@host"])
def test_handle_to_profile_refuses_what_is_no_handle(handle: str) -> None:
    with pytest.raises(ValueError, match="Mastodon handle"):
        handle_to_profile(handle)


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://mastodon.example/@alice", ("https://mastodon.example", "alice")),
        ("https://Mastodon.Example/@alice/", ("https://mastodon.example", "alice")),
        ("http://127.0.0.1:3000/@bob", ("http://127.0.0.1:3000", "bob")),
        ("https://social.example/users/carol", ("https://social.example", "carol")),
        ("https://here.example/@dan@there.example", ("https://there.example", "dan")),
        ("@erin@host.example", ("https://host.example", "erin")),
    ],
)
def test_profile_parts_keep_scheme_host_and_port(url: str, parts: tuple[str, str]) -> None:
    assert profile_parts(url) == parts


@pytest.mark.parametrize(
    "url", ["https://mastodon.example/", "https://m.example/@a/123", "ftp://m.example/@a"]
)
def test_profile_parts_refuse_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match="profile URL"):
        profile_parts(url)


def test_lookup_request() -> None:
    assert lookup_request("http://127.0.0.1:3000", "alice") == (
        "http://127.0.0.1:3000/api/v1/accounts/lookup",
        {"acct": "alice"},
    )


def test_statuses_request_carries_the_source_choices() -> None:
    url, params = statuses_request(BASE, "42", replies=False, boosts=True, max_id="99")

    assert url == BASE + "/api/v1/accounts/42/statuses"
    assert params == {
        "limit": "40",
        "exclude_replies": "true",
        "exclude_reblogs": "false",
        "max_id": "99",
    }


def test_statuses_request_min_id_since_id_and_limit_cap() -> None:
    _, params = statuses_request(
        BASE, "42", replies=True, boosts=False, min_id="7", since_id="5", limit=500
    )

    assert params["limit"] == str(PAGE_LIMIT)
    assert (params["min_id"], params["since_id"]) == ("7", "5")
    assert (params["exclude_replies"], params["exclude_reblogs"]) == ("false", "true")
    assert "max_id" not in params


def test_statuses_request_keeps_a_hostile_id_inside_the_path() -> None:
    url, _ = statuses_request(BASE, "../../admin?x=1", replies=False, boosts=False)

    assert url == BASE + "/api/v1/accounts/..%2F..%2Fadmin%3Fx%3D1/statuses"


def test_rss_url() -> None:
    assert rss_url("http://127.0.0.1:3000", "alice") == "http://127.0.0.1:3000/@alice.rss"


# ── Link and rate-limit headers ──────────────────────────────────────────────────────────


def test_parse_link_header_in_mastodon_format() -> None:
    value = (
        '<https://m.example/api/v1/accounts/1/statuses?limit=5&max_id=100>; rel="next", '
        '<https://m.example/api/v1/accounts/1/statuses?limit=5&min_id=200>; rel="prev"'
    )

    assert parse_link_header(value) == {
        "next": "https://m.example/api/v1/accounts/1/statuses?limit=5&max_id=100",
        "prev": "https://m.example/api/v1/accounts/1/statuses?limit=5&min_id=200",
    }


def test_parse_link_header_variants() -> None:
    value = '</page?a=1,2>;rel=next, <https://x.example/p>; title="t"; rel="prev first"'

    links = parse_link_header(value, "https://m.example/api/v1/x")

    assert links == {
        "next": "https://m.example/page?a=1,2",
        "prev": "https://x.example/p",
        "first": "https://x.example/p",
    }


@pytest.mark.parametrize("value", [None, "", "garbage", "<https://x.example/>", '<a>; rel=""'])
def test_parse_link_header_without_links(value: str | None) -> None:
    assert parse_link_header(value) == {}


def test_parse_rate_limit_reset_forms() -> None:
    now = datetime(2026, 8, 1, 13, 47, tzinfo=UTC)

    mastodon = parse_rate_limit_reset("2026-08-01T13:50:00.872845Z", now)
    unix = parse_rate_limit_reset("1785592200", now)
    seconds = parse_rate_limit_reset("120", now)

    assert mastodon == datetime(2026, 8, 1, 13, 50, 0, 872845, tzinfo=UTC)
    assert unix == datetime.fromtimestamp(1785592200, UTC)
    assert seconds == now + timedelta(seconds=120)
    assert parse_rate_limit_reset("soon", now) is None
    assert parse_rate_limit_reset(None, now) is None


def test_budget_refuses_within_the_reserve_until_the_reset() -> None:
    now = datetime(2026, 8, 1, 13, 47, tzinfo=UTC)
    url = BASE + "/api/v1/accounts/1/statuses"
    budget = InstanceBudget(reserve=10)
    assert budget.take(url, now)  # nothing known yet

    budget.observe(
        url,
        answer({"X-RateLimit-Remaining": "11", "X-RateLimit-Reset": "2026-08-01T13:50:00.5Z"}),
        now,
    )

    assert budget.take(url, now)  # 11 → 10
    assert not budget.take(url, now)
    assert not budget.take(BASE + "/api/v1/accounts/lookup", now)  # the same instance
    assert budget.take("https://other.example/api/v1/x", now)
    assert budget.take(url, now + timedelta(minutes=4))  # after the reset


def test_budget_keeps_the_lowest_count_of_a_window_and_follows_a_new_one() -> None:
    now = datetime(2026, 8, 1, 13, 47, tzinfo=UTC)
    url = BASE + "/api/v1/x"
    budget = InstanceBudget(reserve=10)

    budget.observe(
        url,
        answer({"X-RateLimit-Remaining": "50", "X-RateLimit-Reset": "2026-08-01T13:50:00.9Z"}),
        now,
    )
    budget.observe(
        url,
        answer({"X-RateLimit-Remaining": "80", "X-RateLimit-Reset": "2026-08-01T13:50:00.1Z"}),
        now,
    )
    assert budget.remaining(url) == 50

    budget.observe(
        url,
        answer({"X-RateLimit-Remaining": "299", "X-RateLimit-Reset": "2026-08-01T13:55:00Z"}),
        now,
    )
    assert budget.remaining(url) == 299
    assert budget.reset_at(url) == datetime(2026, 8, 1, 13, 55, tzinfo=UTC)


def test_budget_ignores_answers_without_rate_limit_headers() -> None:
    budget = InstanceBudget()
    now = datetime(2026, 8, 1, tzinfo=UTC)

    budget.observe(BASE, answer({"X-RateLimit-Remaining": "lots"}), now)

    assert budget.remaining(BASE) is None


# ── titles and ids ───────────────────────────────────────────────────────────────────────


def test_title_from_text() -> None:
    assert title_from_text("Short and sweet.") == "Short and sweet."
    assert title_from_text("one two three four five six seven eight nine ten eleven") == (
        "one two three four five six seven eight nine ten…"
    )
    assert title_from_text("word " * 3 + "x" * 90) == "word word word…"
    assert title_from_text("https://" + "x" * 100) == "https://" + "x" * 71 + "…"
    assert title_from_text("Hello, world, and more, " * 10, max_words=2) == "Hello, world…"
    assert title_from_text("  \n ") is None


def test_newest_status_id_compares_numbers_as_numbers() -> None:
    assert newest_status_id(["9", "10", None]) == "10"
    assert newest_status_id(["AbC", "AbD"]) == "AbD"
    assert newest_status_id([None]) is None


# ── accounts ─────────────────────────────────────────────────────────────────────────────


def test_account_from_json() -> None:
    account = account_from_json(sample("account.json"))

    assert account.id == "109302845678901234"
    assert account.acct == "alice@water.example"
    assert account.url == "https://water.example/@alice"
    assert account.display_name == "Alice Example"
    assert account.avatar is not None and account.avatar.endswith("avatar.png")
    assert "Hydrologist" in account.note_html
    assert 'class="' not in account.note_html
    assert (account.noindex, account.discoverable, account.suspended) == (False, True, False)


def test_account_noindex_field() -> None:
    data = sample("account.json") | {"noindex": True}

    assert account_from_json(data).noindex


@pytest.mark.parametrize(
    "note",
    [
        "<p>Hydrologist. #nobot</p>",
        '<p><a href="https://w.example/tags/NoIndex" class="mention hashtag">'
        "#<span>NoIndex</span></a></p>",
    ],
)
def test_account_no_index_hashtags_in_the_bio(note: str) -> None:
    assert account_from_json(sample("account.json") | {"note": note}).noindex


def test_account_no_index_hashtag_in_a_profile_field() -> None:
    data = sample("account.json")
    data["fields"].append({"name": "Bots", "value": "#nobot please", "verified_at": None})

    assert account_from_json(data).noindex


def test_account_hashtags_that_only_look_alike_are_not_noindex() -> None:
    data = sample("account.json") | {"note": "<p>#nobotany and #noindexing, issue#nobot</p>"}

    assert not account_from_json(data).noindex


def test_account_bio_and_name_are_sanitized() -> None:
    data = sample("account.json") | {
        "note": (
            '<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(1)">me</a></p>'
        ),
        "display_name": "<b>Alice</b> <script>x</script>",
        "avatar": "javascript:alert(1)",
    }

    account = account_from_json(data)

    assert "script" not in account.note_html
    assert "onclick" not in account.note_html
    assert "javascript" not in account.note_html
    assert account.display_name == "Alice"
    assert account.avatar is None


def test_account_suspended() -> None:
    assert account_from_json(sample("account.json") | {"suspended": True}).suspended


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ([], "should be a JSON object"),
        ({"acct": "alice"}, "'id' should be an id string, got null"),
        (sample("account.json") | {"note": 3}, "'note' should be a string, got a number"),
        (sample("account.json") | {"noindex": "yes"}, "'noindex' should be true or false"),
        (sample("account.json") | {"fields": {"a": 1}}, "'fields' should be a list"),
    ],
)
def test_account_with_a_wrong_shape_is_a_parse_error(data: object, words: str) -> None:
    with pytest.raises(ParseError, match=words):
        account_from_json(data, url=BASE + "/api/v1/accounts/lookup")


# ── statuses ─────────────────────────────────────────────────────────────────────────────


def test_status_to_post() -> None:
    post = status_to_post(status(), BASE)

    assert post.guid == status()["uri"]
    assert post.link == "https://water.example/@alice/112876543210987654"
    assert post.published == datetime(2026, 7, 30, 8, 15, 42, 512000, tzinfo=UTC)
    assert post.updated is None
    assert post.author == "Alice Example (@alice@water.example)"
    assert post.title == "New report on groundwater in the Rhine basin…"  # 10 words
    assert post.text.startswith(
        "New report on groundwater in the Rhine basin: https://report.example/"
    )
    assert post.categories == ("water", "Drought")
    assert post.content_warning is None
    assert post.is_share is False
    assert post.has_full_content
    assert post.content_html is not None and 'class="' not in post.content_html


def test_status_title_is_cut_at_a_word() -> None:
    post = status_to_post(status(content="<p>" + "river " * 30 + "</p>"), BASE)

    assert post.title == "river " * 9 + "river…"


def test_status_links_leave_out_hashtags_and_mentions_and_add_the_card() -> None:
    data = status(
        content=(
            '<p><a href="https://a.example/x">a</a> <a href="https://water.example/tags/rain" '
            'class="mention hashtag" rel="tag">#rain</a> <span class="h-card"><a '
            'href="https://other.example/@zed" class="u-url mention">@zed</a></span></p>'
        ),
        card={"url": "https://card.example/page", "title": "t"},
    )

    post = status_to_post(data, BASE)

    assert post.links == ("https://a.example/x", "https://card.example/page")


def test_status_links_leave_out_mentions_the_instance_did_not_mark() -> None:
    # A remote server's HTML need not carry Mastodon's classes; the mention list still does.
    data = status(
        content='<p><a href="https://water.example/@bob">@bob</a> <a href="https://b.example/">b</a></p>',
        card=None,
    )

    assert status_to_post(data, BASE).links == ("https://b.example/",)


def test_status_card_link_is_not_repeated() -> None:
    assert status_to_post(status(), BASE).links == ("https://report.example/groundwater-2026",)


def test_status_link_falls_back_to_the_uri() -> None:
    post = status_to_post(status(url=None), BASE)

    assert post.link == status()["uri"]


def test_status_with_a_content_warning() -> None:
    data = status(spoiler_text="Flood photos", content="<p>The river took the bridge.</p>")

    post = status_to_post(data, BASE)

    assert post.content_warning == "Flood photos"
    # The title is what is shown before the text: never the text the warning hides.
    assert post.title == "Flood photos"
    assert post.text == "Flood photos\n\nThe river took the bridge."


def test_status_edit_is_the_update_time() -> None:
    post = status_to_post(status(edited_at="2026-07-30T09:00:00.000Z"), BASE)

    assert post.updated == datetime(2026, 7, 30, 9, 0, tzinfo=UTC)


def test_status_times_in_other_offsets_become_utc() -> None:
    post = status_to_post(status(created_at="2026-07-30T10:15:42+02:00"), BASE)

    assert post.published == datetime(2026, 7, 30, 8, 15, 42, tzinfo=UTC)
    assert post.published is not None and post.published.tzinfo == UTC


def test_status_media_become_links_with_their_alt_text() -> None:
    data = status(
        content="<p>Look:</p>",
        card=None,
        media_attachments=[
            {
                "id": "1",
                "type": "image",
                "url": "https://files.example/1.jpg",
                "description": "A dry riverbed",
            },
            {
                "id": "2",
                "type": "video",
                "url": None,
                "remote_url": "https://files.example/2.mp4",
                "description": None,
            },
            {"id": "3", "type": "image", "url": "javascript:alert(1)", "description": "bad"},
        ],
    )

    post = status_to_post(data, BASE)

    assert post.content_html is not None
    assert 'href="https://files.example/1.jpg"' in post.content_html
    assert "Image: A dry riverbed" in post.content_html
    assert 'href="https://files.example/2.mp4"' in post.content_html
    assert "Video (no description)" in post.text
    assert "A dry riverbed" in post.text
    assert "javascript" not in post.content_html
    assert post.links == ()  # the person's uploads are not links they shared


def test_boost_is_the_original_post_shared() -> None:
    original = status(
        uri="https://rivers.example/users/carol/statuses/555",
        url="https://rivers.example/@carol/555",
        created_at="2026-07-01T10:00:00.000Z",
        edited_at="2026-07-02T10:00:00.000Z",
        content="<p>Carol on dams</p>",
        account=sample("account.json")
        | {
            "acct": "carol@rivers.example",
            "display_name": "Carol",
            "url": "https://rivers.example/@carol",
        },
    )
    boost = status(
        id="112900000000000001",
        uri="https://water.example/ap/users/1/statuses/112900000000000001/activity",
        url=None,
        content="",
        created_at="2026-07-30T12:00:00.000Z",
        reblog=original,
    )

    post = status_to_post(boost, BASE)

    assert post.is_share
    assert post.guid == boost["uri"]
    assert post.link == "https://rivers.example/@carol/555"
    assert post.text == "Carol on dams"
    assert post.author == "Carol (@carol@rivers.example)"
    assert post.published == datetime(2026, 7, 30, 12, 0, tzinfo=UTC)  # when it was shared
    assert post.updated == datetime(2026, 7, 2, 10, 0, tzinfo=UTC)


def test_the_same_original_boosted_twice_is_two_posts() -> None:
    original = status()
    first = status(uri=BASE + "/ap/users/1/statuses/9/activity", content="", reblog=original)
    second = status(
        uri="https://other.example/users/zoe/statuses/8/activity", content="", reblog=original
    )

    posts = [status_to_post(first, BASE), status_to_post(second, BASE)]

    assert posts[0].guid != posts[1].guid
    assert posts[0].link == posts[1].link == original["url"]


def test_hostile_status_comes_out_clean() -> None:
    data = status(
        content=(
            '<p onmouseover="steal()">Hi<script>alert(1)</script>'
            '<a href="javascript:alert(2)">click</a>'
            '<img src="x" onerror="alert(3)">'
            "<style>body{display:none}</style>"
            '<iframe src="https://evil.example/"></iframe>'
            '<a href="https://ok.example/" onclick="x()">ok</a></p>'
        ),
        spoiler_text="<script>alert(4)</script>Spoiler",
        card={"url": "javascript:alert(5)"},
        tags=[{"name": "<b>tag</b>", "url": "javascript:x"}],
    )

    post = status_to_post(data, BASE)

    html = post.content_html or ""
    for bad in ("<script", "javascript:", "onerror", "onmouseover", "onclick", "<style", "<iframe"):
        assert bad not in html
    assert "alert" not in post.text
    assert post.content_warning == "Spoiler"
    assert post.links == ("https://ok.example/",)
    assert post.categories == ("tag",)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("a status", "status should be a JSON object, got a string"),
        (status(uri=None), "'uri' should be a string, got null"),
        (status(content=5), "'content' should be a string, got a number"),
        (status(tags="water"), "'tags' should be a list, got a string"),
        (status(tags=["water"]), "tag should be a JSON object"),
        (status(created_at="yesterday"), "'created_at' is not a date"),
        (status(reblog="123"), "boosted status should be a JSON object"),
        (status(account=[]), "account should be a JSON object"),
        (status(card=True), "preview card should be a JSON object"),
        (status(media_attachments=[{"url": 1}]), "'url' should be a string"),
    ],
)
def test_status_with_a_wrong_shape_is_a_parse_error(data: object, words: str) -> None:
    with pytest.raises(ParseError, match=words) as caught:
        status_to_post(data, BASE)
    assert caught.value.url.startswith("https://water.example")


# ── reading an account: first fetch ──────────────────────────────────────────────────────


def test_first_fetch_pages_back(instance: FakeInstance) -> None:
    made = instance.generate("alice", 95)

    result = read(source(instance, "alice"))

    assert len(result.posts) == 95
    assert [post.guid for post in result.posts] == [s["uri"] for s in made]
    asked = instance.status_requests("alice")
    assert len(asked) == 3
    assert len(instance.lookup_requests()) == 1
    assert instance.lookup_requests()[0].query == {"acct": "alice"}
    assert asked[0].query == {"limit": "40", "exclude_replies": "true", "exclude_reblogs": "true"}
    assert asked[0].headers["accept"] == JSON_ACCEPT
    assert asked[1].query["max_id"] == made[39]["id"]
    assert asked[2].query["max_id"] == made[79]["id"]
    assert result.cursor == MastodonCursor(
        account_id=instance.accounts["alice"].id, newest_id=made[0]["id"], via="api"
    )
    assert result.account is not None and result.account.display_name == "Alice Example"
    assert result.pause_until is None and result.notes == ()


def test_first_fetch_stops_at_200_statuses(instance: FakeInstance) -> None:
    made = instance.generate("alice", 300, spacing=timedelta(minutes=10))

    result = read(source(instance, "alice"))

    assert len(result.posts) == FIRST_FETCH_MAX_STATUSES
    assert result.posts[-1].guid == made[199]["uri"]
    assert len(instance.status_requests("alice")) == 5


def test_first_fetch_stops_30_days_back(instance: FakeInstance) -> None:
    instance.generate("alice", 95, spacing=timedelta(hours=20))  # 40 statuses: 32.5 days

    result = read(source(instance, "alice"))

    assert len(instance.status_requests("alice")) == 1
    assert len(result.posts) == 40


def test_an_account_without_statuses(instance: FakeInstance) -> None:
    result = read(source(instance, "alice"))

    assert result.posts == ()
    assert result.cursor.newest_id is None
    assert result.cursor.account_id == instance.accounts["alice"].id
    assert len(instance.status_requests("alice")) == 1


# ── refetch ──────────────────────────────────────────────────────────────────────────────


def test_refetch_asks_only_for_newer(instance: FakeInstance) -> None:
    instance.generate("alice", 10, newest=instance.now - timedelta(hours=2))
    first = read(source(instance, "alice"))
    newer = [instance.post("alice", f"<p>new {n}</p>") for n in range(3)]

    second = read(source(instance, "alice"), first.cursor)

    assert {post.guid for post in second.posts} == {s["uri"] for s in newer}
    assert len(instance.lookup_requests()) == 1  # the id is not looked up again
    asked = instance.status_requests("alice")[-1]
    assert asked.query["min_id"] == first.cursor.newest_id
    assert "max_id" not in asked.query
    assert second.cursor.newest_id == newest_status_id(s["id"] for s in newer)
    assert second.account is not None  # refreshed from the statuses, without a lookup


def test_refetch_with_nothing_new(instance: FakeInstance) -> None:
    instance.generate("alice", 5)
    first = read(source(instance, "alice"))

    second = read(source(instance, "alice"), first.cursor)

    assert second.posts == ()
    assert second.cursor == first.cursor
    assert len(instance.status_requests("alice")) == 2


def test_refetch_pages_forward_without_a_gap(instance: FakeInstance) -> None:
    instance.generate("alice", 3, newest=instance.now - timedelta(days=2))
    first = read(source(instance, "alice"))
    newer = instance.generate("alice", 95, newest=instance.now, spacing=timedelta(minutes=5))

    second = read(source(instance, "alice"), first.cursor)

    assert sorted(post.guid for post in second.posts) == sorted(s["uri"] for s in newer)
    forward = instance.status_requests("alice")[1:]
    assert len(forward) == 3
    assert forward[0].query["min_id"] == first.cursor.newest_id
    # each page starts where the one before ended: the oldest new ones come first
    oldest_first = sorted(newer, key=lambda s: int(s["id"]))
    assert forward[1].query["min_id"] == oldest_first[39]["id"]
    assert forward[2].query["min_id"] == oldest_first[79]["id"]
    assert second.cursor.newest_id == newer[0]["id"]


def test_a_changed_account_id_is_looked_up_again(instance: FakeInstance) -> None:
    instance.generate("alice", 3)
    first = read(source(instance, "alice"))
    account = instance.renumber("alice")

    second = read(source(instance, "alice"), first.cursor)

    assert second.cursor.account_id == account.id != first.cursor.account_id
    assert len(instance.lookup_requests()) == 2
    assert second.account is not None and second.account.id == account.id


def test_statuses_404_even_after_a_new_lookup_is_an_error(
    instance: FakeInstance, http_server: LocalHTTPServer
) -> None:
    instance.generate("alice", 1)
    first = read(source(instance, "alice"))
    http_server.status(f"/api/v1/accounts/{first.cursor.account_id}/statuses", 404)

    error = read_error(source(instance, "alice"), cursor=first.cursor)

    assert "answers 404 for its statuses" in error.message
    assert len(instance.lookup_requests()) == 2


# ── replies and boosts ───────────────────────────────────────────────────────────────────


def _conversation(instance: FakeInstance) -> dict[str, dict[str, Any]]:
    instance.add_account("bob")
    bobs = instance.post("bob", "<p>Bob asks</p>", created_at=instance.now - timedelta(hours=5))
    own = instance.post("alice", "<p>Thread 1/2</p>", created_at=instance.now - timedelta(hours=4))
    return {
        "own": own,
        "self_reply": instance.post(
            "alice",
            "<p>Thread 2/2</p>",
            in_reply_to=own,
            created_at=instance.now - timedelta(hours=3),
        ),
        "reply": instance.post(
            "alice",
            "<p>Alice answers Bob</p>",
            in_reply_to=bobs,
            created_at=instance.now - timedelta(hours=2),
        ),
        "boost": instance.post(
            "alice",
            reblog=instance.remote_status("carol@rivers.example", "<p>Carol on dams</p>"),
            created_at=instance.now - timedelta(hours=1),
        ),
    }


def test_replies_and_boosts_off_keep_self_threads(instance: FakeInstance) -> None:
    made = _conversation(instance)

    result = read(source(instance, "alice"))

    assert {post.guid for post in result.posts} == {made["own"]["uri"], made["self_reply"]["uri"]}
    assert instance.status_requests("alice")[0].query["exclude_replies"] == "true"


def test_replies_and_boosts_on(instance: FakeInstance) -> None:
    made = _conversation(instance)

    result = read(source(instance, "alice", replies=True, boosts=True))

    assert {post.guid for post in result.posts} == {s["uri"] for s in made.values()}
    asked = instance.status_requests("alice")[0].query
    assert (asked["exclude_replies"], asked["exclude_reblogs"]) == ("false", "false")
    boost = next(post for post in result.posts if post.is_share)
    assert boost.link == made["boost"]["reblog"]["url"]
    assert boost.author == "Carol Remote (@carol@rivers.example)"
    assert boost.text == "Carol on dams"


def test_boosts_on_replies_off(instance: FakeInstance) -> None:
    made = _conversation(instance)

    result = read(source(instance, "alice", boosts=True))

    assert {post.guid for post in result.posts} == {
        made["own"]["uri"],
        made["self_reply"]["uri"],
        made["boost"]["uri"],
    }


def test_statuses_an_instance_should_not_have_shown_are_dropped(
    instance: FakeInstance, http_server: LocalHTTPServer
) -> None:
    # A server that ignores exclude_reblogs, or shows a private status, is corrected here.
    made = _conversation(instance)
    private = instance.post("alice", "<p>for followers</p>", visibility="private")
    page = [made["boost"], private, made["own"]]
    account_id = instance.accounts["alice"].id
    http_server.add_handler(
        f"/api/v1/accounts/{account_id}/statuses",
        lambda request: Reply(200, json.dumps(page), {"Content-Type": "application/json"}),
    )

    result = read(source(instance, "alice"))

    assert [post.guid for post in result.posts] == [made["own"]["uri"]]


# ── content warnings, edits, hostile statuses through the API ────────────────────────────


def test_content_warning_through_the_api(instance: FakeInstance) -> None:
    instance.post("alice", "<p>Graphic flood photos</p>", spoiler_text="Flooding")

    (post,) = read(source(instance, "alice")).posts

    assert post.content_warning == "Flooding"
    assert post.title == "Flooding"
    assert "Graphic flood photos" in post.text


def test_an_edit_comes_back_with_its_update_time(instance: FakeInstance) -> None:
    made = instance.post("alice", "<p>Frist!</p>", created_at=instance.now - timedelta(minutes=9))
    first = read(source(instance, "alice"))
    instance.edit(made, "<p>First!</p>")

    (post,) = read(source(instance, "alice")).posts  # a first read again, as after a reset

    assert first.posts[0].updated is None
    assert post.guid == first.posts[0].guid
    assert post.text == "First!"
    assert post.updated is not None and post.updated > (post.published or post.updated)


def test_hashtags_media_and_links_through_the_api(instance: FakeInstance) -> None:
    instance.add_account("bob")
    instance.post(
        "alice",
        '<p>See <a href="https://report.example/r">report</a> <a href="'
        + instance.base_url
        + '/tags/water" class="mention hashtag" rel="tag">#<span>water</span></a> '
        + '<span class="h-card"><a href="'
        + instance.base_url
        + '/@bob" class="u-url mention">@<span>bob</span></a></span></p>',
        tags=["water"],
        mentions=[instance.mention_of("bob")],
        media=[{"description": "Chart of river levels"}],
        card_url="https://report.example/r",
    )

    (post,) = read(source(instance, "alice")).posts

    assert post.categories == ("water",)
    assert post.links == ("https://report.example/r",)
    assert "Image: Chart of river levels" in post.text


def test_hostile_status_through_the_api(instance: FakeInstance) -> None:
    instance.post(
        "alice",
        '<p>hi<script>alert(document.cookie)</script><a href="javascript:alert(1)">x</a>'
        '<img src=x onerror="alert(2)"></p>',
        spoiler_text='<img src=x onerror="alert(3)">careful',
    )

    (post,) = read(source(instance, "alice")).posts

    html = post.content_html or ""
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html
    assert "alert" not in post.text
    assert post.content_warning == "careful"


# ── the RSS fallback ─────────────────────────────────────────────────────────────────────


def test_401_falls_back_to_rss(instance: FakeInstance) -> None:
    made = instance.generate("alice", 5)
    instance.post("alice", reblog=instance.remote_status("carol@rivers.example", "<p>boosted</p>"))
    instance.refuse_api = True

    result = read(source(instance, "alice", boosts=True))

    assert result.cursor.via == "rss"
    assert [post.link for post in result.posts] == [s["url"] for s in made]  # no boosts in RSS
    assert result.posts[0].title == "Toot number 0 about water."
    assert result.posts[0].published is not None
    assert result.cursor.etag is not None
    assert result.cursor.newest_id == made[0]["id"]
    assert any("RSS" in note for note in result.notes)
    assert len(instance.rss_requests("alice")) == 1


def test_rss_refetch_is_conditional(instance: FakeInstance) -> None:
    instance.generate("alice", 3)
    instance.refuse_api = True
    first = read(source(instance, "alice"))

    unchanged = read(source(instance, "alice"), first.cursor)
    newer = instance.post("alice", "<p>Fresh</p>")
    changed = read(source(instance, "alice"), unchanged.cursor)

    conditional = instance.rss_requests("alice")[1]
    assert conditional.headers["if-none-match"] == first.cursor.etag
    assert unchanged.posts == ()
    assert unchanged.cursor.etag == first.cursor.etag
    assert unchanged.notes == ()  # already on RSS: nothing new to tell
    assert newer["url"] in [post.link for post in changed.posts]
    assert changed.cursor.newest_id == newer["id"]


def test_statuses_refused_after_a_lookup_fall_back_too(instance: FakeInstance) -> None:
    instance.generate("alice", 2)
    first = read(source(instance, "alice"))
    instance.refuse_api = True

    result = read(source(instance, "alice"), first.cursor)

    assert result.cursor.via == "rss"
    assert result.cursor.account_id == first.cursor.account_id
    assert len(instance.rss_requests("alice")) == 1
    assert "If-None-Match" not in instance.rss_requests("alice")[0].headers
    assert result.posts == ()  # the two are stored already, under their URIs


def test_switching_between_api_and_rss_stores_nothing_twice(instance: FakeInstance) -> None:
    instance.generate("alice", 2, newest=instance.now - timedelta(hours=3))
    by_api = read(source(instance, "alice"))
    instance.refuse_api = True
    on_rss = instance.post(
        "alice", "<p>while refused</p>", created_at=instance.now - timedelta(hours=2)
    )
    by_rss = read(source(instance, "alice"), by_api.cursor)
    instance.refuse_api = False
    back = instance.post("alice", "<p>open again</p>", created_at=instance.now - timedelta(hours=1))

    by_api_again = read(source(instance, "alice"), by_rss.cursor)

    assert [post.link for post in by_rss.posts] == [on_rss["url"]]
    assert [post.link for post in by_api_again.posts] == [back["url"]]
    assert instance.status_requests("alice")[-1].query["min_id"] == on_rss["id"]
    assert by_api_again.cursor.via == "api"
    assert by_api_again.cursor.etag is None


def test_refused_api_and_no_rss_is_an_error(
    instance: FakeInstance, http_server: LocalHTTPServer
) -> None:
    instance.refuse_api = True
    http_server.status("/@alice.rss", 404)

    error = read_error(source(instance, "alice"))

    assert "refuses its API" in error.message
    assert "no public RSS feed" in error.message


# ── errors ───────────────────────────────────────────────────────────────────────────────


def test_unknown_handle_is_an_error_naming_it(instance: FakeInstance) -> None:
    error = read_error(source(instance, "nobody"))

    assert not isinstance(error, HttpStatusError)
    assert f"no account @nobody@{instance.host} on that instance" in str(error)


def test_suspended_account_is_gone(instance: FakeInstance) -> None:
    instance.suspend("alice")

    error = read_error(source(instance, "alice"))

    assert isinstance(error, HttpStatusError)
    assert error.status == 410
    assert "suspended" in error.message


def test_deleted_account_is_gone(instance: FakeInstance) -> None:
    instance.generate("alice", 1)
    first = read(source(instance, "alice"))
    instance.make_gone("alice")

    error = read_error(source(instance, "alice"), cursor=first.cursor)

    assert isinstance(error, HttpStatusError) and error.status == 410


def test_a_body_that_is_not_json_is_a_parse_error(
    instance: FakeInstance, http_server: LocalHTTPServer
) -> None:
    http_server.add("/api/v1/accounts/lookup", "<html>hello</html>", content_type="text/html")

    with pytest.raises(ParseError, match="not a JSON answer"):
        read(source(instance, "alice"))


def test_a_statuses_answer_of_the_wrong_shape_is_a_parse_error(
    instance: FakeInstance, http_server: LocalHTTPServer
) -> None:
    account_id = instance.accounts["alice"].id
    http_server.add(
        f"/api/v1/accounts/{account_id}/statuses",
        '{"statuses": []}',
        content_type="application/json",
    )

    with pytest.raises(ParseError, match="statuses should be a JSON list, got an object"):
        read(source(instance, "alice"))


def test_one_broken_status_is_skipped_with_a_note(
    instance: FakeInstance, http_server: LocalHTTPServer
) -> None:
    good = instance.post("alice", "<p>fine</p>")
    broken = dict(good, id="1", uri=None)
    account_id = instance.accounts["alice"].id
    body = json.dumps([good, broken])
    http_server.add(
        f"/api/v1/accounts/{account_id}/statuses", body, content_type="application/json"
    )

    result = read(source(instance, "alice"))

    assert [post.guid for post in result.posts] == [good["uri"]]
    assert any("skipped" in note and "'uri'" in note for note in result.notes)


def test_a_source_that_is_no_profile_is_an_error() -> None:
    bad = SourceConfig(url="https://m.example/about", kind=SourceKind.MASTODON, person="X")

    error = read_error(bad)

    assert "profile URL" in error.message


# ── rate limits ──────────────────────────────────────────────────────────────────────────


def test_nearly_spent_budget_stops_paging(instance: FakeInstance) -> None:
    made = instance.generate("alice", 95)
    instance.remaining = 12  # lookup leaves 11, the first page 10: the reserve

    result = read(source(instance, "alice"))

    assert len(instance.api_requests()) == 2
    assert [post.guid for post in result.posts] == [s["uri"] for s in made[:40]]
    assert result.pause_until is not None
    assert abs(result.pause_until - instance.reset) < timedelta(seconds=1)
    assert any("API budget" in note and "older statuses" in note for note in result.notes)
    assert result.cursor.newest_id == made[0]["id"]


def test_spent_budget_asks_nothing_more_of_the_instance(instance: FakeInstance) -> None:
    instance.add_account("bob")
    instance.generate("alice", 3)
    instance.generate("bob", 3)
    instance.remaining = 12  # alice's lookup and page leave 10: the reserve
    budget = InstanceBudget()
    now = datetime.now(UTC)
    read(source(instance, "alice"), budget=budget, now=now)
    asked = len(instance.api_requests())

    with pytest.raises(HttpStatusError) as caught:
        read(source(instance, "bob"), budget=budget, now=now)

    assert len(instance.api_requests()) == asked
    assert caught.value.status == 429
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert "rate limit nearly spent" in caught.value.message


def test_429_with_retry_after(instance: FakeInstance) -> None:
    instance.remaining = 0
    instance.retry_after = 120

    with pytest.raises(HttpStatusError) as caught:
        read(source(instance, "alice"))

    assert caught.value.status == 429
    assert caught.value.retry_after == 120


def test_429_while_paging_keeps_what_was_read(instance: FakeInstance) -> None:
    made = instance.generate("alice", 95)
    first = read(source(instance, "alice"))
    later = instance.now + timedelta(hours=1)
    newer = instance.generate("alice", 50, newest=later, spacing=timedelta(seconds=30))
    instance.throttle_after = 1  # one page, then 429 though the headers said plenty was left
    instance.retry_after = 60
    now = datetime.now(UTC)

    result = read(source(instance, "alice"), first.cursor, now=now)

    forward = [r for r in instance.status_requests("alice") if "min_id" in r.query]
    assert len(forward) == 2  # a page, then the 429
    assert len(result.posts) == 40
    assert result.pause_until == now + timedelta(seconds=60)
    assert any("the rest is read after that" in note for note in result.notes)
    assert result.cursor.newest_id is not None
    assert int(result.cursor.newest_id) > int(made[0]["id"])
    assert int(result.cursor.newest_id) < int(newer[0]["id"])  # the rest comes next time


def test_429_without_retry_after_waits_for_the_known_reset(instance: FakeInstance) -> None:
    instance.generate("alice", 95)
    instance.throttle_after = 1  # the lookup answers, with the reset time; then 429
    budget = InstanceBudget()

    with pytest.raises(HttpStatusError) as caught:
        read(source(instance, "alice"), budget=budget)

    assert caught.value.status == 429
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    # the next account of the instance is not even asked for
    assert not budget.take(instance.profile_url("bob"), datetime.now(UTC))


# ── recorded Mastodon 4.6 exchanges ──────────────────────────────────────────────────────

needs_corpus = pytest.mark.skipif(not CASSETTES.is_dir(), reason="../shared/corpora is absent")


def cassette(name: str) -> list[dict[str, Any]]:
    exchanges: list[dict[str, Any]] = json.loads((CASSETTES / f"{name}.json").read_text())
    return exchanges


def replay(server: LocalHTTPServer, exchange: dict[str, Any], path: str | None = None) -> str:
    """Serve a recorded answer (body and headers) on the local server; return its URL."""
    route = path or urlsplit(exchange["uri"]).path
    headers = {
        name: value
        for name, value in exchange["headers"].items()
        if name not in ("content-length", "content-encoding", "transfer-encoding")
    }
    body = json.dumps(exchange["body"])
    server.add_handler(route, lambda request: Reply(exchange["status"], body, headers))
    return server.url(route)


def all_statuses() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for file in sorted(CASSETTES.glob("*.json")):
        for exchange in json.loads(file.read_text()):
            body = exchange["body"]
            items = body if isinstance(body, list) else [body]
            if isinstance(body, dict) and "descendants" in body:
                items = body["ancestors"] + body["descendants"]
            found.extend(i for i in items if isinstance(i, dict) and "content" in i and "uri" in i)
    return found


@pytest.mark.corpus
@needs_corpus
def test_recorded_lookup_and_statuses_replayed(http_server: LocalHTTPServer) -> None:
    lookup = cassette("test_account_lookup")[2]
    page = cassette("test_fetch_next_previous")[11]
    replay(http_server, lookup)
    replay(http_server, page)
    source_config = SourceConfig(
        url=http_server.url("/@mastodonpy_test"), kind=SourceKind.MASTODON, person="John"
    )
    budget = InstanceBudget()

    result = read(source_config, budget=budget)

    assert result.account is not None
    assert result.account.id == "117020565966271181"
    assert result.account.acct == "mastodonpy_test@localhost:3000"
    assert result.account.display_name == "John Lennon"
    assert result.account.discoverable is None and not result.account.noindex
    assert [post.text for post in result.posts] == [f"Toot number {n}!" for n in range(9, 4, -1)]
    assert result.cursor.newest_id == "117020580518794573"
    assert budget.remaining(http_server.base_url) == 299  # the recorded X-RateLimit-Remaining
    # five statuses: fewer than a full page, so no second request though the Link says "next"
    assert len(http_server.requests_for(urlsplit(page["uri"]).path)) == 1


@pytest.mark.corpus
@needs_corpus
def test_recorded_404_lookup_names_the_handle(http_server: LocalHTTPServer) -> None:
    replay(http_server, cassette("test_account_lookup")[1])
    source_config = SourceConfig(
        url=http_server.url("/@kljadklajsdkljlkjlkjlkjasdasd"), kind=SourceKind.MASTODON, person="X"
    )

    error = read_error(source_config)

    assert "no account @kljadklajsdkljlkjlkjlkjasdasd@127.0.0.1" in error.message


@pytest.mark.corpus
@needs_corpus
def test_recorded_401_falls_back_to_rss(http_server: LocalHTTPServer) -> None:
    refusal = cassette("test_unauthed_home_tl_throws")[1]
    fake = FakeInstance(http_server)
    fake.add_account("alice")
    fake.generate("alice", 2)
    replay(http_server, refusal, "/api/v1/accounts/lookup")  # in place of the fake's own

    result = read(source(fake, "alice"))

    assert result.cursor.via == "rss"
    assert len(result.posts) == 2


@pytest.mark.corpus
@needs_corpus
def test_every_recorded_status_becomes_a_post() -> None:
    statuses = all_statuses()
    assert len(statuses) > 30

    for data in statuses:
        post = status_to_post(data, "http://localhost:3000")
        assert post.guid == data["uri"]
        assert post.link == data["url"]
        assert post.published is not None and post.published.tzinfo == UTC
        assert (post.updated is not None) == (data["edited_at"] is not None)
        assert not any("/tags/" in link or "/@" in link for link in post.links)
        assert post.categories == tuple(tag["name"] for tag in data["tags"])


@pytest.mark.corpus
@needs_corpus
def test_recorded_hashtag_card_and_mention_statuses() -> None:
    hashtag = cassette("test_hashtag_tl")[2]["body"][0]
    card = cassette("test_status_card")[1]["body"]
    mention = next(s for s in cassette("test_public_tl")[2]["body"] if s["mentions"])

    assert status_to_post(hashtag, "http://localhost:3000").links == ()
    assert status_to_post(hashtag, "http://localhost:3000").categories == ("hoot",)
    assert status_to_post(card, "http://localhost:3000").links == ("http://example.org/",)
    assert status_to_post(mention, "http://localhost:3000").links == ()
    # "sensitive" without a spoiler_text hides media, it is no content warning
    assert card["sensitive"] is True
    assert status_to_post(card, "http://localhost:3000").content_warning is None


@pytest.mark.corpus
@needs_corpus
def test_every_recorded_link_and_rate_limit_header_parses() -> None:
    checked = 0
    for file in sorted(CASSETTES.glob("*.json")):
        for exchange in json.loads(file.read_text()):
            headers = exchange["headers"]
            reset = parse_rate_limit_reset(headers.get("x-ratelimit-reset"), datetime.now(UTC))
            assert reset is not None and reset.tzinfo is not None
            links = parse_link_header(headers.get("link"))
            if "next" in links:
                assert "max_id=" in links["next"]
            if "prev" in links:
                assert "min_id=" in links["prev"]
            checked += bool(links)
    assert checked >= 10


@pytest.mark.corpus
@needs_corpus
def test_recorded_accounts_read() -> None:
    for exchange in cassette("test_accounts")[:2]:
        account = account_from_json(exchange["body"], url=exchange["uri"])
        assert account.acct.endswith("@localhost:3000")
        assert account.url.startswith("http://localhost:3000/@")
        assert not account.suspended
