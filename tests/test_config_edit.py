"""Editing sources.yaml in place (config's "editing sources.yaml" section).

Every edit must leave every byte outside the lines it adds or changes as the user wrote it,
and the result must load.
"""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

import pytest

from aggregator import config as config_module
from aggregator.errors import ConfigError
from aggregator.models import NewPerson, NewSource, SourceKind

REPOSITORY_SOURCES = Path(__file__).parent.parent / "sources.yaml"


def only_insertions(before: str, after: str) -> list[str]:
    """The lines ``after`` adds to ``before``; fails if anything else changed."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    added: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        assert tag in ("equal", "insert"), (tag, old[i1:i2], new[j1:j2])
        if tag == "insert":
            added += new[j1:j2]
    return added


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def person(name: str, *urls: str, topics: tuple[str, ...] = ()) -> NewPerson:
    return NewPerson(name, tuple(NewSource(url) for url in urls), topics)


def test_the_starter_file_keeps_every_byte_outside_the_additions(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    text = REPOSITORY_SOURCES.read_text(encoding="utf-8")
    edit = config_module.add_people(
        text,
        path,
        [
            person("Doug Belshaw", "https://doug.example/newsletter.xml"),  # in the middle
            person("maha bali", "https://maha.example/feed.xml"),  # the last one, any case
            person("New Colleague", "https://new.example/feed.xml", topics=("ai",)),
            NewPerson("Mona", (NewSource("@mona@social.example", SourceKind.MASTODON),)),
        ],
    )
    assert edit.changed and edit.new_people == ("New Colleague", "Mona")
    added = only_insertions(text, edit.text)
    assert added == [
        "      - https://doug.example/newsletter.xml\n",
        "      - https://maha.example/feed.xml\n",
        "\n",
        "  - name: New Colleague\n",
        "    topics: [ai]\n",
        "    sources:\n",
        "      - https://new.example/feed.xml\n",
        "\n",
        "  - name: Mona\n",
        "    sources:\n",
        "      - '@mona@social.example'\n",
    ]
    # The commented-out email: section stays where it was: after everybody.
    assert edit.text.index("name: Mona") < edit.text.index("# Uncomment to have `pln email`")
    path.write_text(edit.text, encoding="utf-8")
    config = config_module.load_config(path)
    sources = {s.url: s.person for s in config.sources}
    assert sources["https://doug.example/newsletter.xml"] == "Doug Belshaw"
    assert sources["https://maha.example/feed.xml"] == "Maha Bali"
    assert sources["https://social.example/@mona"] == "Mona"


def test_duplicates_under_any_person_are_skipped(tmp_path: Path) -> None:
    text = REPOSITORY_SOURCES.read_text(encoding="utf-8")
    edit = config_module.add_people(
        text,
        tmp_path / "sources.yaml",
        [
            person("Someone Else", "http://blog.dougbelshaw.com/rss"),  # scheme and slash differ
            NewPerson("Alan", (NewSource("@CogDog@cosocial.ca", SourceKind.MASTODON),)),
            person("Twice", "https://twice.example/feed", "https://twice.example/feed/"),
            person("Broken", "ftp://old.example/feed"),
        ],
    )
    assert [s.url for s in edit.added] == ["https://twice.example/feed"]
    reasons = {(s.source, s.reason.split(",")[0]) for s in edit.skipped}
    assert ("http://blog.dougbelshaw.com/rss", "already in sources.yaml") in reasons
    assert ("@CogDog@cosocial.ca", "already in sources.yaml") in reasons
    assert ("https://twice.example/feed/", "already in sources.yaml") in reasons
    (broken,) = [s for s in edit.skipped if s.person == "Broken"]
    assert "only http:// and https://" in broken.reason
    skipped_under = {s.source: s.reason for s in edit.skipped}
    assert skipped_under["http://blog.dougbelshaw.com/rss"].endswith("under Doug Belshaw")


def test_nothing_new_is_no_change(tmp_path: Path) -> None:
    text = REPOSITORY_SOURCES.read_text(encoding="utf-8")
    edit = config_module.add_people(
        text, tmp_path / "sources.yaml", [person("X", "https://bavatuesdays.com/")]
    )
    assert not edit.changed and edit.text == text and len(edit.skipped) == 1


def test_topics_join_an_existing_persons_list(tmp_path: Path) -> None:
    text = REPOSITORY_SOURCES.read_text(encoding="utf-8")
    edit = config_module.add_people(
        text,
        tmp_path / "sources.yaml",
        [
            person("David Wiley", "https://dw.example/feed", topics=("ai", "oer")),
            person("Jim Groom", "https://jim.example/feed", topics=("assessment",)),
        ],
    )
    changes = changed_lines_and_insertions(text, edit.text)
    comment = "# optional: topic slugs every post of his also carries\n"
    assert (
        f"    topics: [oer]{' ' * 24}{comment}",
        f"    topics: [oer, ai]{' ' * 20}{comment}",
    ) in (changes)
    assert ("", "    topics: [assessment]\n") in changes
    config = config_module.parse_config(edit.text, tmp_path / "sources.yaml")
    topics = {p.name: p.topics for p in config.people}
    assert topics["David Wiley"] == ("oer", "ai") and topics["Jim Groom"] == ("assessment",)


def changed_lines_and_insertions(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    found: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "replace":
            found += list(zip(old[i1:i2], new[j1:j2], strict=True))
        elif tag == "insert":
            found += [("", line) for line in new[j1:j2]]
        else:
            assert tag == "equal"
    return found


FLUSH_LEFT = """\
site:
  title: Flush left lists
people:
- name: Ann
  sources:
  - https://ann.example/feed.xml   # Ann's
# a comment about Bob, at the margin
- name: Bob
  sources:
  - https://bob.example/feed.xml
    # an old feed of Bob's, indented under his list
topics: []
"""


def test_a_file_in_another_indentation_style(tmp_path: Path) -> None:
    edit = config_module.add_people(
        FLUSH_LEFT,
        tmp_path / "sources.yaml",
        [person("Ann", "https://ann.example/notes.xml"), person("Cy", "https://cy.example/f")],
    )
    assert only_insertions(FLUSH_LEFT, edit.text) == [
        "  - https://ann.example/notes.xml\n",
        "- name: Cy\n",
        "  sources:\n",
        "  - https://cy.example/f\n",
    ]
    # Ann's new source follows her list, before the comment about Bob; Cy follows the
    # comment that belongs to Bob's last source.
    lines = edit.text.splitlines()
    assert lines.index("  - https://ann.example/notes.xml") == 6
    assert (
        lines.index("- name: Cy")
        == lines.index("    # an old feed of Bob's, indented under his list") + 1
    )


@pytest.mark.parametrize(
    "text",
    [
        "site: {title: T}\n",
        "site: {title: T}\n# people will come\n",
        "site: {title: T}\npeople:\n# - name: Example\n",
        "site: {title: T}\npeople: []\n",
        "site: {title: T}\npeople: [{name: A, sources: [https://a.example/f]}]\n",
        "site:\n  title: T\npeople:\n  - name: B\n    sources: [https://b.example/f]  # flow\n",
    ],
)
def test_files_without_a_block_list_of_people(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sources.yaml"
    edit = config_module.add_people(
        text, path, [person("B", "https://b.example/g"), person("New", "https://new.example/f")]
    )
    config = config_module.parse_config(edit.text, path)
    sources = {s.url: s.person for s in config.sources}
    assert sources["https://new.example/f"] == "New"
    assert sources["https://b.example/g"] == "B"


def test_a_taken_slug_gets_a_distinct_name(tmp_path: Path) -> None:
    text = "site: {title: T}\npeople:\n  - name: Zoe\n    sources:\n      - https://z.example/\n"
    edit = config_module.add_people(
        text, tmp_path / "sources.yaml", [person("Zoë", "https://zoe.other.example/feed")]
    )
    assert edit.new_people == ("Zoë (zoe.other.example)",)


def test_an_invalid_file_is_not_edited(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config_module.add_people(
            "site: {title: T}\npeople:\n  - name: A\n",
            tmp_path / "s.yaml",
            [person("B", "https://b.example/")],
        )
    assert "sources" in str(caught.value)


def test_replace_sources_keeps_quotes_options_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    text = """\
site:
  title: T
people:
  - name: A
    sources:
      - https://a.example/old.xml          # the blog
      - "https://a.example/quoted.xml"
      - feed: 'https://a.example/options.xml'
        full_text: always   # keep this
  - name: B
    sources:
      - https://b.example/feed.xml
"""
    moves = {
        "https://a.example/old.xml": "https://a.example/new.xml",
        "https://a.example/quoted.xml": "https://a.example/it's.xml",
        "https://a.example/options.xml": "https://a.example/o2.xml",
        "https://b.example/feed.xml": "https://a.example/new.xml",  # A has it by then
    }
    edit = config_module.replace_sources(text, path, moves)
    assert changed_lines(text, edit.text) == [
        (
            "      - https://a.example/old.xml          # the blog",
            "      - https://a.example/new.xml          # the blog",
        ),
        ('      - "https://a.example/quoted.xml"', '      - "https://a.example/it\'s.xml"'),
        (
            "      - feed: 'https://a.example/options.xml'",
            "      - feed: 'https://a.example/o2.xml'",
        ),
    ]
    (skipped,) = edit.skipped
    assert skipped.source == "https://b.example/feed.xml" and "under A" in skipped.reason
    config = config_module.parse_config(edit.text, path)
    assert [s.full_text for s in config.sources if s.url.endswith("o2.xml")] == ["always"]


def test_save_is_atomic_keeps_mode_follows_links_and_refuses_a_changed_file(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real.yaml"
    real.write_bytes(b"\xef\xbb\xbfsite:\r\n  title: T\r\n")
    os.chmod(real, 0o640)
    link = tmp_path / "sources.yaml"
    link.symlink_to(real)
    original = config_module.read_config_text(link)
    edit = config_module.add_people(original, link, [person("A", "https://a.example/f")])
    assert "\r\npeople:\r\n" in edit.text  # the file's own line ends
    config_module.save_config_text(link, edit.text, original)
    assert link.is_symlink()
    assert real.read_bytes().startswith(b"\xef\xbb\xbfsite:\r\n")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in config_module.load_config(link).people] == ["A"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real.yaml", "sources.yaml"]

    # Someone saved the file meanwhile: their change wins, ours is refused.
    before = config_module.read_config_text(link)
    real.write_text("site:\n  title: Edited by hand\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config_module.save_config_text(link, edit.text, before)
    assert "changed while pln was editing it" in str(caught.value)
    assert "Edited by hand" in real.read_text(encoding="utf-8")
