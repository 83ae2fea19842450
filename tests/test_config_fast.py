"""The fast reader of sources.yaml (libyaml) against ruamel.yaml: the same Config or the same
error for every file, and a refusal wherever YAML 1.1 and 1.2 read a value differently.

`parse_config` reads with libyaml first; `_read_with_ruamel` is the reader every error and
every edit goes through. Whatever the text, both must give an equal Config (line numbers
included) or the same error with the same notes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import config
from aggregator.config import parse_config, starter_text
from aggregator.errors import ConfigError
from aggregator.models import Config
from tests.test_config import DATA, ROOT, edited_spec_example, edits, structures, yamlish

# not_utf8.yaml is refused before any YAML reader sees it.
SAMPLES = sorted(path for path in DATA.glob("*.yaml") if path.name != "not_utf8.yaml")
BASE = """\
site:
  title: Fast
people:
  - name: Ann
    sources:
      - https://ann.example/feed
"""


def outcome(read: object, text: str, path: Path) -> Config | list[str]:
    """The Config, or the error and its notes as a user reads them."""
    try:
        return read(text, path)  # type: ignore[operator, no-any-return]
    except ConfigError as error:
        return [str(error), *getattr(error, "__notes__", [])]


def assert_same(text: str, path: Path = Path("sources.yaml")) -> Config | list[str]:
    fast = outcome(parse_config, text, path)
    assert fast == outcome(config._read_with_ruamel, text, path)
    return fast


def declines(text: str) -> bool:
    try:
        config._load_fast(text)
    except config._NotFast:
        return True
    return False


def test_pyyaml_has_libyaml() -> None:
    # Without libyaml every file would go the slow way: right, but the speed is gone.
    assert config._yaml is not None
    assert config._yaml.__with_libyaml__


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.name)
def test_every_sample_reads_the_same_both_ways(
    sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(DATA)
    text = sample.read_text(encoding="utf-8-sig")
    assert_same(text, Path(sample.name))


def test_the_valid_files_take_the_fast_way_with_their_lines() -> None:
    for text in (starter_text(), (ROOT / "sources.yaml").read_text(encoding="utf-8")):
        assert not declines(text)
        loaded = assert_same(text)
        assert isinstance(loaded, Config)
    spec = (DATA / "spec_example.yaml").read_text(encoding="utf-8")
    assert not declines(spec)
    loaded = assert_same(spec, DATA / "spec_example.yaml")
    assert isinstance(loaded, Config)
    lines = [source.line for person in loaded.people for source in person.sources]
    assert all(lines) and lines == sorted(lines)


def test_a_list_item_on_the_line_after_its_dash_has_the_same_line() -> None:
    text = (
        BASE
        + "      -\n        feed: https://ann.example/two\n      - >-\n        https://ann.example/three\n"
    )
    loaded = assert_same(text)
    assert isinstance(loaded, Config)
    assert [source.line for source in loaded.people[0].sources] == [6, 8, 9]


@pytest.mark.parametrize(
    "value",
    [
        "yes",  # YAML 1.1: true; 1.2: text
        "No",  # the Norway problem
        "on",
        "off",
        "y",
        "010",  # 1.1: octal 8; 1.2: 10
        "0o17",
        "0x1F",
        "1:30",  # 1.1: sexagesimal 90
        "1e3",  # 1.1: text; 1.2: a float
        "1_000",
        ".inf",
        ".NaN",
        "2026-11-22",  # a date
        "2026-11-22 06:00:00",
        "=",
        "-1",
        "+7",
        "1.5",
    ],
)
@pytest.mark.parametrize("key", ["title", "timeout", "replies", "name"])
def test_values_the_yaml_versions_read_differently_give_ruamels_result(
    value: str, key: str
) -> None:
    if key == "title":
        text = BASE.replace("title: Fast", f"title: {value}")
    elif key == "timeout":
        text = BASE + f"fetch:\n  timeout: {value}\n"
    elif key == "replies":
        text = BASE.replace(
            "      - https://ann.example/feed",
            f"      - mastodon: '@ann@social.example'\n        replies: {value}",
        )
    else:
        text = BASE.replace("name: Ann", f"name: {value}")
    assert_same(text)


@pytest.mark.parametrize(
    "value", ["yes", "No", "on", "010", "0x1F", "1:30", "1e3", "2026-11-22", ".inf", "=", "<<"]
)
def test_the_fast_reader_declines_what_the_versions_read_differently(value: str) -> None:
    assert declines(BASE.replace("title: Fast", f"title: {value}"))
    assert not declines(BASE.replace("title: Fast", f"title: '{value}'"))


@pytest.mark.parametrize(
    "text",
    [
        "%YAML 1.1\n---\n" + BASE,  # a directive changes ruamel.yaml's rules
        BASE + "fetch: &f\n  timeout: 3\n",  # anchors
        BASE + "fetch: !!map\n  timeout: 3\n",  # tags
        BASE + "fetch:\n  timeout: !!float 3\n",
        BASE.replace("title: Fast", "title: Fast\n  title: Again"),  # a duplicate key
        BASE + "---\nsite: {}\n",  # two documents
        BASE + "fetch:\n  <<: {timeout: 3}\n",  # a merge
        BASE + "fetch:\n  ? [a]\n  : 3\n",  # a complex key
        BASE.replace("Fast", "Fa\u2028st"),  # a line break only YAML 1.1 knows
    ],
)
def test_the_fast_reader_declines_what_ruamel_reads_its_own_way(text: str) -> None:
    assert declines(text)
    assert_same(text)


def test_booleans_numbers_and_text_read_alike() -> None:
    text = (
        BASE.replace(
            "      - https://ann.example/feed",
            "      - mastodon: '@ann@m.example'\n        replies: true\n        boosts: FALSE",
        )
        + "fetch:\n  concurrency: 8\n  timeout: 2.5\n  max_bytes: +1000\n  full_text: never\n"
        'email:\n  to: [a@b.example]\n  from: "c@d.example"\n  smtp:\n    host: mail.example\n'
        "    port: 587\n  subject: |-\n    Digest\n"
    )
    assert not declines(text)
    loaded = assert_same(text)
    assert isinstance(loaded, Config)
    assert loaded.fetch.timeout == 2.5 and loaded.fetch.max_bytes == 1000
    assert loaded.people[0].sources[0].replies is True


@given(yamlish)
@settings(max_examples=300, deadline=None)
def test_yamlish_text_reads_the_same_both_ways(text: str) -> None:
    assert_same(text)


@given(structures)
@settings(max_examples=200, deadline=None)
def test_any_structure_reads_the_same_both_ways(data: object) -> None:
    assert_same(json.dumps(data))


@given(edits)
@settings(max_examples=300, deadline=None)
def test_an_edited_spec_example_reads_the_same_both_ways(
    changes: list[tuple[int, str, str]],
) -> None:
    assert_same(edited_spec_example(changes), DATA / "spec_example.yaml")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["name", "title", "timeout", "concurrency", "replies", "slug"]),
            st.text(
                alphabet=st.sampled_from(list("aAyYnNoO01789.:+-_eExX~=<> '\"#@/|")),
                min_size=1,
                max_size=8,
            ),
        ),
        min_size=1,
        max_size=3,
    )
)
@settings(max_examples=300, deadline=None)
def test_odd_scalars_read_the_same_both_ways(changes: list[tuple[str, str]]) -> None:
    text = "fetch:\n  timeout: 5\n  concurrency: 3\n" + BASE
    for key, value in changes:
        if key == "replies":  # another person, at the end of the people: list
            text += (
                "  - name: Bo\n    sources:\n      - mastodon: '@bo@m.example'\n"
                f"        replies: {value}\n"
            )
        else:
            text = text.replace(f"{key}: ", f"{key}: {value} #", 1)
    assert_same(text)
