"""sources.yaml → Config: valid files, every kind of mistake, source forms and slugs.

Each invalid sample in tests/data/config/NAME.yaml sits beside NAME.error: the exact message
(``file:line: key: what``), then one line per further problem, which ride on the error as notes.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.config import (
    CONFIG_NAME,
    find_config,
    load_config,
    parse_config,
    parse_source,
    slugify,
    starter_text,
)
from aggregator.errors import ConfigError
from aggregator.models import (
    Config,
    EmailConfig,
    FetchConfig,
    FullText,
    PersonConfig,
    SiteConfig,
    SmtpConfig,
    SmtpSecurity,
    SourceConfig,
    SourceKind,
    TopicConfig,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "config"
VALID_SAMPLES = {"spec_example.yaml"}
INVALID_SAMPLES = sorted(
    path.name for path in DATA.glob("*.yaml") if path.name not in VALID_SAMPLES
)
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def reported(error: ConfigError) -> list[str]:
    """The error and its notes, one line each, as a user would read them."""
    return [str(error), *getattr(error, "__notes__", [])]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """\
site:
  title: My PLN
people:
  - name: Alice Example
    sources: [https://alice.example/feed.xml]
"""


# ── valid files ──────────────────────────────────────────────────────────────────────────


def test_the_repository_sources_yaml_loads_and_uses_every_form() -> None:
    config = load_config(ROOT / CONFIG_NAME)

    assert 6 <= len(config.people) <= 10
    assert len(config.topics) == 3
    assert config.email is None  # present in the file, but commented out
    kinds = {source.kind for source in config.sources}
    assert kinds == {SourceKind.FEED, SourceKind.BLOG, SourceKind.MASTODON}
    assert any(source.full_text is FullText.NEVER for source in config.sources)
    text = (ROOT / CONFIG_NAME).read_text(encoding="utf-8")
    assert re.search(r'^\s+- "@\w+@[\w.]+"', text, re.MULTILINE)  # a bare handle
    assert re.search(r"^\s+- https://\S+", text, re.MULTILINE)  # a bare URL
    line = r"[^\n]*\n\s+"
    assert re.search(rf"^\s+- mastodon: {line}replies: {line}boosts: ", text, re.MULTILINE)
    assert re.search(rf"^\s+- feed: {line}full_text: ", text, re.MULTILINE)
    assert re.search(r"^\s+- blog: \S+", text, re.MULTILINE)


def test_the_repository_sources_yaml_explains_every_key() -> None:
    text = (ROOT / CONFIG_NAME).read_text(encoding="utf-8")
    keys = [
        "title",
        "description",
        "base_url",
        "timezone",
        "language",
        "home_days",
        "excerpt_words",
        "database",
        "output",
        "concurrency",
        "per_host",
        "timeout",
        "max_bytes",
        "full_text",
        "name",
        "slug",
        "match",
        "url",
        "topics",
        "sources",
        "feed",
        "blog",
        "mastodon",
        "replies",
        "boosts",
        "to",
        "from",
        "subject",
        "send_empty",
        "host",
        "port",
        "security",
        "username",
        "password_env",
    ]
    comments = [line.partition("#")[2] for line in text.splitlines() if "#" in line]
    for key in keys:
        explained = [c for c in comments if re.search(rf"\b{key}\b", c)]
        commented = [c for c in comments if re.search(rf"^\s*{key}:.*#", c)]
        beside = [line for line in text.splitlines() if re.match(rf"\s*(- )?{key}:[^#]*#", line)]
        assert explained or commented or beside, f"{key}: is not explained in a comment"
    assert "# email:" in text


def test_the_repository_topics_are_valid_fts5_queries() -> None:
    # Config never touches SQLite; this only guards the starter file users will copy.
    config = load_config(ROOT / CONFIG_NAME)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE posts USING fts5(text, tokenize='porter unicode61')")
    for topic in config.topics:
        db.execute("SELECT * FROM posts WHERE posts MATCH ?", (topic.match,)).fetchall()


def test_starter_text_is_the_repository_file() -> None:
    assert starter_text() == (ROOT / CONFIG_NAME).read_text(encoding="utf-8")


def test_the_spec_example_loads_to_the_expected_config() -> None:
    path = DATA / "spec_example.yaml"
    config = load_config(path)

    alice, bob = "Alice Example", "Bob Example"
    expected = Config(
        path=path,
        site=SiteConfig(
            title="Sustainability PLN",
            description="What my network wrote today",
            base_url="https://me.example/pln/",
            timezone="Europe/Berlin",
            language="en",
            home_days=7,
            excerpt_words=60,
        ),
        fetch=FetchConfig(
            concurrency=32, per_host=4, timeout=20.0, max_bytes=10_000_000, full_text=FullText.AUTO
        ),
        topics=(
            TopicConfig(
                name="Water resources",
                slug="water",
                match='water OR watershed OR drought OR "water quality"',
                line=18,
            ),
            TopicConfig(
                name="Circular economy",
                slug="circular-economy",
                match='"circular economy" OR recycling OR reuse',
                line=21,
            ),
        ),
        people=(
            PersonConfig(
                name=alice,
                slug="alice-example",
                url="https://alice.example/",
                topics=("water",),
                line=25,
                sources=(
                    SourceConfig("https://alice.example/feed.xml", SourceKind.FEED, alice, line=29),
                    SourceConfig(
                        "https://mastodon.example/@alice", SourceKind.MASTODON, alice, line=30
                    ),
                ),
            ),
            PersonConfig(
                name=bob,
                slug="bob-example",
                line=31,
                sources=(
                    SourceConfig(
                        "https://bob.example/atom.xml",
                        SourceKind.FEED,
                        bob,
                        full_text=FullText.ALWAYS,
                        line=33,
                    ),
                    SourceConfig(
                        "https://social.example/@bob",
                        SourceKind.MASTODON,
                        bob,
                        replies=False,
                        boosts=False,
                        line=35,
                    ),
                    SourceConfig(
                        "https://bob.example/",
                        SourceKind.BLOG,
                        bob,
                        full_text=FullText.ALWAYS,
                        line=38,
                    ),
                ),
            ),
        ),
        email=EmailConfig(
            to=("me@example.org",),
            sender="PLN digest <pln@example.org>",
            subject="{title}: {date}",
            smtp=SmtpConfig(
                host="smtp.example.org",
                port=587,
                security=SmtpSecurity.STARTTLS,
                username="me@example.org",
                password_env="PLN_SMTP_PASSWORD",
            ),
        ),
    )
    assert config == expected
    assert config.sources == expected.people[0].sources + expected.people[1].sources


def test_defaults_come_from_the_models(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))

    assert config.site == SiteConfig(title="My PLN")
    assert config.fetch == FetchConfig()
    assert config.topics == ()
    assert config.email is None
    assert config.path == tmp_path / CONFIG_NAME
    assert config.database_path == tmp_path / "pln.db"
    assert config.output_path == tmp_path / "output"


def test_sections_with_every_key_commented_out_mean_the_defaults(tmp_path: Path) -> None:
    text = MINIMAL + "fetch:\n  # concurrency: 8\ntopics:\nemail:\n"
    config = load_config(write(tmp_path, text))
    assert config.fetch == FetchConfig()
    assert config.topics == ()
    assert config.email is None


def test_paths_and_base_url_are_normalized(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  title: My PLN\n",
        "  title: My PLN\n  base_url: HTTPS://Me.Example:443/pln\n"
        "  database: state/pln.db\n  output: public\n",
    )
    config = load_config(write(tmp_path, text))
    assert config.site.base_url == "https://me.example/pln/"
    assert config.database_path == tmp_path / "state" / "pln.db"
    assert config.output_path == tmp_path / "public"


def test_email_takes_one_address_or_a_list_and_ssl_defaults_to_port_465(tmp_path: Path) -> None:
    email = (
        "email:\n  to: me@example.org\n  from: pln@example.org\n  send_empty: true\n"
        "  smtp:\n    host: smtp.example.org\n    security: ssl\n"
    )
    config = load_config(write(tmp_path, MINIMAL + email))
    assert config.email is not None
    assert config.email.to == ("me@example.org",)
    assert config.email.send_empty is True
    assert config.email.smtp.port == 465

    listed = email.replace("to: me@example.org", "to: [a@example.org, B <b@example.org>]")
    listed += "    port: 2465\n"
    config = load_config(write(tmp_path, MINIMAL + listed))
    assert config.email is not None
    assert config.email.to == ("a@example.org", "B <b@example.org>")
    assert config.email.smtp.port == 2465


def test_people_may_have_a_slug_and_a_single_topic(tmp_path: Path) -> None:
    text = (
        "site: {title: T}\n"
        "topics:\n  - {name: Water, match: water}\n"
        "people:\n"
        "  - name: Zoë Example\n    slug: zoe\n    topics: water\n"
        "    sources: ['@zoe@social.example']\n"
    )
    (person,) = load_config(write(tmp_path, text)).people
    assert person.slug == "zoe"
    assert person.topics == ("water",)
    assert person.sources[0].url == "https://social.example/@zoe"


# ── invalid files ────────────────────────────────────────────────────────────────────────


def test_every_invalid_sample_has_its_expected_error() -> None:
    missing = [name for name in INVALID_SAMPLES if not (DATA / name).with_suffix(".error").exists()]
    assert not missing


@pytest.mark.parametrize("name", INVALID_SAMPLES)
def test_invalid_sample_gives_its_error(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = (DATA / name).with_suffix(".error").read_text(encoding="utf-8").splitlines()
    monkeypatch.chdir(DATA)  # so messages name the file as the user gave it: its bare name

    with pytest.raises(ConfigError) as caught:
        load_config(Path(name))

    assert reported(caught.value) == expected
    assert caught.value.file == Path(name)


def test_the_error_carries_file_line_and_key_apart() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(DATA / "unknown_key.yaml")
    error = caught.value
    assert (error.file, error.line, error.key) == (DATA / "unknown_key.yaml", 7, "fetch.concurency")
    assert error.message == "unknown key 'concurency' (did you mean 'concurrency'?)"


def test_a_secret_is_never_echoed(tmp_path: Path) -> None:
    smtp = "email:\n  to: a@b.example\n  from: c@d.example\n  smtp:\n    host: mail.example\n"
    for text in (
        MINIMAL + smtp + "    password: hunter2\n",
        MINIMAL + smtp + "    password_env: hunter2\n    password_env: hunter3\n",
    ):
        with pytest.raises(ConfigError) as caught:
            load_config(write(tmp_path, text))
        assert "hunter" not in "\n".join(reported(caught.value))


def test_a_missing_file_suggests_pln_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / CONFIG_NAME)
    assert caught.value.file == tmp_path / CONFIG_NAME
    assert f"pln init {tmp_path}" in caught.value.message


def test_find_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config(tmp_path)
    assert str(tmp_path) in caught.value.message
    assert "pln init" in caught.value.message

    with pytest.raises(ConfigError, match="does not exist"):
        find_config(tmp_path / "nowhere")

    (tmp_path / "sources.yml").write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(ConfigError, match="rename it"):
        find_config(tmp_path)

    path = write(tmp_path, MINIMAL)
    assert find_config(tmp_path) == path


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path / CONFIG_NAME)


# ── sources ──────────────────────────────────────────────────────────────────────────────

FEED, MASTODON, BLOG = SourceKind.FEED, SourceKind.MASTODON, SourceKind.BLOG


@pytest.mark.parametrize(
    ("value", "url", "kind"),
    [
        ("https://alice.example/feed.xml", "https://alice.example/feed.xml", FEED),
        ("HTTPS://Alice.Example:443/Feed.xml#top", "https://alice.example/Feed.xml", FEED),
        ("http://alice.example", "http://alice.example/", FEED),
        ("http://127.0.0.1:8080/feed?x=1", "http://127.0.0.1:8080/feed?x=1", FEED),
        ("  https://alice.example/  ", "https://alice.example/", FEED),
        ("@alice@mastodon.example", "https://mastodon.example/@alice", MASTODON),
        ("@Alice_1@Social.Example:8443", "https://social.example:8443/@Alice_1", MASTODON),
        ({"feed": "https://bob.example/atom.xml"}, "https://bob.example/atom.xml", FEED),
        ({"blog": "https://bob.example"}, "https://bob.example/", BLOG),
        ({"mastodon": "@bob@social.example"}, "https://social.example/@bob", MASTODON),
        ({"mastodon": "https://social.example/@bob"}, "https://social.example/@bob", MASTODON),
        ({"mastodon": "http://127.0.0.1:8001/@bob/"}, "http://127.0.0.1:8001/@bob", MASTODON),
        ({"mastodon": "https://social.example/users/bob"}, "https://social.example/@bob", MASTODON),
        (
            {"mastodon": "https://here.example/@bob@there.example"},
            "https://there.example/@bob",
            MASTODON,
        ),
    ],
)
def test_parse_source_forms(value: object, url: str, kind: SourceKind) -> None:
    source = parse_source(value, "Bob Example", 3)
    assert (source.url, source.kind, source.person, source.line) == (url, kind, "Bob Example", 3)


def test_parse_source_options() -> None:
    feed = parse_source({"feed": "https://b.example/f", "full_text": "Always"}, "Bob")
    assert feed.full_text is FullText.ALWAYS
    assert parse_source("https://b.example/f", "Bob").full_text is None  # fetch.full_text decides
    blog = parse_source({"blog": "https://b.example/", "full_text": "always"}, "Bob")
    assert blog.full_text is FullText.ALWAYS
    toots = parse_source({"mastodon": "@b@s.example", "replies": True, "boosts": False}, "Bob")
    assert (toots.replies, toots.boosts) == (True, False)
    plain = parse_source("@b@s.example", "Bob")
    assert (plain.replies, plain.boosts, plain.full_text) == (False, False, None)


@pytest.mark.parametrize(
    ("value", "key", "message"),
    [
        ("alice.example/feed", "src", "write it in full, as 'https://alice.example/feed'"),
        ("ftp://alice.example/feed", "src", "only http:// and https:// can be fetched"),
        ("feed", "src", "neither a URL nor a Mastodon handle"),
        ("@alice", "src", "names no server"),
        ("@alice@", "src", "is not a Mastodon handle"),
        ("alice@mastodon.example", "src", "a Mastodon handle starts with '@'"),
        ("https://", "src", "has no host name"),
        ("https://a.example/my feed", "src", "contains a space"),
        ("http://[::1/feed", "src", "is not a valid URL"),
        ("https://a.example:99999/", "src", "is not a valid URL"),
        ("", "src", "got an empty string"),
        (42, "src", "got 42"),
        (["https://a.example/"], "src", "got a list"),
        ({}, "src", "needs one of feed:, blog: or mastodon:"),
        ({"feed": "https://a/", "blog": "https://a/"}, "src", "has feed: and blog:"),
        ({"fed": "https://a/"}, "src.fed", "did you mean 'feed'?"),
        ({"feed": None}, "src.feed", "expected text, got nothing"),
        ({"feed": "https://a/", "replies": True}, "src.replies", "it takes only full_text"),
        ({"mastodon": "@a@b.example", "full_text": "never"}, "src.full_text", "does not apply"),
        ({"blog": "https://a/", "full_text": "never"}, "src.full_text", "always extracts"),
        ({"feed": "https://a/", "full_text": True}, "src.full_text", "got true"),
        ({"mastodon": "@a@b.example", "boosts": "yes"}, "src.boosts", "expected true or false"),
        ({"mastodon": "https://b.example/"}, "src.mastodon", "not a Mastodon profile URL"),
        ({"mastodon": "https://b.example/@a?x=1"}, "src.mastodon", "not a Mastodon profile URL"),
    ],
)
def test_parse_source_refuses(value: object, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source(value, "Alice", 12, key="src", file="x.yaml")
    error = caught.value
    assert message in error.message
    assert (error.key, error.line, error.file) == (key, 12, Path("x.yaml"))


# ── slugs ────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Water resources", "water-resources"),
        ("Zoë Ångström", "zoe-angstrom"),
        ("Straße & Æsir, Łódź", "strasse-aesir-lodz"),
        ("  --Hello,   World!--  ", "hello-world"),
        ("C++ / Rust (2024)", "c-rust-2024"),
        ("ＦＵＬＬ　ｗｉｄｔｈ", "full-width"),
        ("AI in education", "ai-in-education"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_slugify_is_never_empty_and_never_too_long() -> None:
    for text in ("", "!!!", "東京", "Кириллица"):
        slug = slugify(text)
        assert SLUG.fullmatch(slug), text
        assert slugify(text) == slug  # stable
    assert slugify("東京") != slugify("大阪")
    long = slugify("word " * 40)
    assert len(long) <= 60 and SLUG.fullmatch(long)


@given(st.text(max_size=80))
@settings(max_examples=200)
def test_any_text_slugifies_to_a_slug(text: str) -> None:
    assert SLUG.fullmatch(slugify(text))


# ── nothing but ConfigError, whatever the file holds ─────────────────────────────────────

KNOWN_KEYS = [
    "site",
    "title",
    "description",
    "base_url",
    "timezone",
    "language",
    "home_days",
    "excerpt_words",
    "database",
    "output",
    "fetch",
    "concurrency",
    "per_host",
    "timeout",
    "max_bytes",
    "full_text",
    "topics",
    "name",
    "slug",
    "match",
    "people",
    "url",
    "sources",
    "feed",
    "blog",
    "mastodon",
    "replies",
    "boosts",
    "email",
    "to",
    "from",
    "subject",
    "send_empty",
    "smtp",
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "password",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "https://a.example/feed",
            "@a@b.example",
            "Europe/Berlin",
            "auto",
            "ssl",
            "water",
            "ftp://x",
            "a@b.example",
            ".",
            "output/x",
            "",
        ]
    )
)
structures = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=25,
)
yamlish = st.text(
    alphabet=st.sampled_from(list(":-[]{}#&*!|>'\"%@`,? \n\t") + list("abcsite:title") + ["\x00"]),
    max_size=200,
)


def parses_or_refuses(text: str) -> None:
    try:
        parse_config(text, Path("fuzz.yaml"))
    except ConfigError as error:
        assert str(error)


@given(yamlish)
@settings(max_examples=200, deadline=None)
def test_yamlish_text_raises_nothing_but_config_error(text: str) -> None:
    parses_or_refuses(text)


@given(structures)
@settings(max_examples=200, deadline=None)
def test_any_structure_raises_nothing_but_config_error(data: object) -> None:
    parses_or_refuses(json.dumps(data))  # JSON is YAML


@given(
    st.fixed_dictionaries(
        {"site": st.dictionaries(st.sampled_from(KNOWN_KEYS[:10]), scalars, max_size=5)},
        optional={
            "fetch": st.dictionaries(st.sampled_from(KNOWN_KEYS[10:16]), scalars, max_size=4),
            "topics": st.lists(structures, max_size=3),
            "people": st.lists(
                st.fixed_dictionaries(
                    {"name": scalars},
                    optional={"sources": st.lists(structures, max_size=3), "topics": structures},
                ),
                max_size=3,
            ),
            "email": structures,
        },
    )
)
@settings(max_examples=200, deadline=None)
def test_nearly_valid_files_raise_nothing_but_config_error(data: dict[str, object]) -> None:
    parses_or_refuses(json.dumps(data))


edits = st.lists(
    st.tuples(
        st.integers(0, 200), st.sampled_from(["drop", "repeat", "replace", "indent"]), yamlish
    ),
    min_size=1,
    max_size=4,
)


@given(edits)
@settings(max_examples=200, deadline=None)
def test_an_edited_spec_example_raises_nothing_but_config_error(
    changes: list[tuple[int, str, str]],
) -> None:
    parses_or_refuses(edited_spec_example(changes))


def edited_spec_example(changes: list[tuple[int, str, str]]) -> str:
    """SPEC.md's example with lines dropped, repeated, replaced or indented."""
    lines = (DATA / "spec_example.yaml").read_text(encoding="utf-8").splitlines()
    for where, change, junk in changes:
        index = where % len(lines)
        if change == "drop" and len(lines) > 1:
            del lines[index]
        elif change == "repeat":
            lines.insert(index, lines[index])
        elif change == "replace":
            lines[index] = junk
        else:
            lines[index] = "  " + lines[index]
    return "\n".join(lines)
