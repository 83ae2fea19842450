"""Topics and trends, the pure parts: what a topic query's terms are, and what is trending.

The store runs the SQL (tagging is one FTS5 query per topic over the posts that need it, and
one per term of the topic to record which terms earned the tag); this module decides what
those queries are, fingerprints the topic definitions so that a change re-tags everything,
and scores the vocabulary counts the store hands back into trending terms.

No I/O here: only ``models`` is imported.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from aggregator.models import Config, PersonConfig, SearchHit, TopicConfig, TrendingTerm

# ── the terms of a topic query ───────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Term:
    """One positive term of a topic query: a word, a phrase or a prefix.

    ``label`` is what a person reads ("water quality", "recycl*"); ``query`` is an FTS5
    query matching the posts that contain the term, column filter and all
    (``title : "drought"``).
    """

    label: str
    query: str


@dataclass(frozen=True)
class TopicRule:
    """A topic ready for the store: its slug, its query, and the terms to explain a match."""

    slug: str
    match: str
    terms: tuple[Term, ...]


_OPERATORS = {"AND", "OR", "NOT"}
_SPECIALS = set('(){}:*+^,-"')
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "op" (AND/OR/NOT), "near", or the special character itself
    text: str


def _is_bareword_char(char: str) -> bool:
    # FTS5's rule: non-ASCII, ASCII letters and digits, the underscore and 0x1A.
    return ord(char) > 127 or char.isalnum() or char in "_\x1a"


def _tokenize(match: str) -> list[_Token]:
    """FTS5 query syntax as tokens; characters FTS5 would refuse are skipped, never raised."""
    tokens: list[_Token] = []
    index = 0
    while index < len(match):
        char = match[index]
        if char == '"':
            text, index = _read_quoted(match, index + 1)
            tokens.append(_Token("string", text))
        elif _is_bareword_char(char):
            end = index
            while end < len(match) and _is_bareword_char(match[end]):
                end += 1
            tokens.append(_bareword(match[index:end], match[end:]))
            index = end
        else:
            if char in _SPECIALS:
                tokens.append(_Token(char, char))
            index += 1
    return tokens


def _read_quoted(match: str, index: int) -> tuple[str, int]:
    """A double-quoted string from ``index`` (after the quote); ``""`` is a quote inside it."""
    parts: list[str] = []
    while index < len(match):
        char = match[index]
        if char == '"':
            if match[index + 1 : index + 2] == '"':
                parts.append('"')
                index += 2
                continue
            return "".join(parts), index + 1
        parts.append(char)
        index += 1
    return "".join(parts), index  # unterminated: FTS5 refuses it, we read what there is


def _bareword(word: str, rest: str) -> _Token:
    if word in _OPERATORS:
        return _Token("op", word)
    if word == "NEAR" and rest.lstrip().startswith("("):
        return _Token("near", word)
    return _Token("string", word)


@dataclass(frozen=True)
class _Part:
    text: str
    prefix: bool


class _TermReader:
    """Walks FTS5 query syntax and collects the terms that can make a post match.

    Terms on the right of NOT cannot (a post matches without them), so they are left out.
    Every step consumes at least one token, so any input ends.
    """

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.terms: list[Term] = []

    def peek(self, ahead: int = 0) -> _Token | None:
        index = self.position + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def at(self, kind: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and token.kind == kind

    def expression(self, colspec: str, negated: bool, nested: bool) -> None:
        while self.peek() is not None:
            if self.at(")"):
                self.take()
                if nested:
                    return
            elif self.at("op"):
                operator = self.take().text
                if operator == "NOT":
                    self.unit(colspec, negated=True)
            else:
                self.unit(colspec, negated)

    def unit(self, colspec: str, negated: bool) -> None:
        colspec = self.colspec() or colspec
        caret = "^ " if self.at("^") else ""
        if caret:
            self.take()
        if self.at("("):
            self.take()
            self.expression(colspec, negated, nested=True)
        elif self.at("near"):
            self.near_group(colspec, negated)
        elif self.at("string"):
            self.phrase(colspec + caret, negated)
        elif self.peek() is not None:
            self.take()  # a stray special character: nothing to learn from it

    def colspec(self) -> str:
        """A column filter (``title :``, ``{title text} :``, ``- title :``), or ""."""
        ahead = 1 if self.at("-") else 0
        if self.at("string", ahead) and self.at(":", ahead + 1):
            columns = [self.tokens[self.position + ahead].text]
            self.position += ahead + 2
        elif self.at("{", ahead):
            end = ahead + 1
            while self.at("string", end):
                end += 1
            if not (self.at("}", end) and self.at(":", end + 1)):
                return ""
            columns = [self.tokens[self.position + i].text for i in range(ahead + 1, end)]
            self.position += end + 2
        else:
            return ""
        minus = "- " if ahead else ""
        return f"{minus}{{{' '.join(_quote(column) for column in columns)}}} : "

    def near_group(self, colspec: str, negated: bool) -> None:
        """NEAR(a b, 10): when the group matched, each of its phrases is in the post."""
        self.take()  # NEAR
        self.take()  # (
        while self.peek() is not None and not self.at(")"):
            if self.at(","):
                self.take()
                if self.at("string"):
                    self.take()  # the distance
            elif self.at("string"):
                self.phrase(colspec, negated)
            else:
                self.take()
        if self.at(")"):
            self.take()

    def phrase(self, prefix: str, negated: bool) -> None:
        parts = [self.part()]
        while self.at("+") and self.at("string", 1):
            self.take()
            parts.append(self.part())
        if negated:
            return
        words = [_label(part) for part in parts]
        label = " ".join(word for word in words if word)
        if label and label != "*":
            body = " + ".join(_quote(part.text) + ("*" if part.prefix else "") for part in parts)
            self.terms.append(Term(label=label, query=prefix + body))

    def part(self) -> _Part:
        text = self.take().text
        prefix = self.at("*")
        if prefix:
            self.take()
        return _Part(text, prefix)


def _label(part: _Part) -> str:
    return " ".join(_WORD.findall(part.text)) + ("*" if part.prefix else "")


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def query_terms(match: str) -> tuple[Term, ...]:
    """The terms of an FTS5 query that can earn a post its match, in the query's order.

    ``'drought OR "water quality" OR title:flood* NOT desalination'`` gives drought,
    water quality and flood*, each with a query of its own; desalination cannot make a post
    match, so it is not a term. Never raises: text FTS5 would refuse gives what it can.
    """
    reader = _TermReader(_tokenize(match))
    reader.expression("", negated=False, nested=False)
    unique: dict[str, Term] = {}
    for term in reader.terms:
        unique.setdefault(term.query, term)
    return tuple(unique.values())


def topic_rules(topics: Sequence[TopicConfig]) -> tuple[TopicRule, ...]:
    return tuple(
        TopicRule(slug=topic.slug, match=topic.match, terms=query_terms(topic.match))
        for topic in topics
    )


def person_topics(people: Sequence[PersonConfig]) -> dict[str, tuple[str, ...]]:
    """Person name → the topic slugs every post of theirs carries (people with some)."""
    return {person.name: person.topics for person in people if person.topics}


def definitions_hash(config: Config) -> str:
    """A fingerprint of everything that decides the tags: topics and people's topics.

    Stored beside the tags; when sources.yaml gives another, every post is tagged again.
    The topics' names and order are left out: they change no tag.
    """
    document = {
        "topics": sorted([topic.slug, topic.match] for topic in config.topics),
        "people": sorted(
            [name, sorted(slugs)] for name, slugs in person_topics(config.people).items()
        ),
    }
    return hashlib.sha256(json.dumps(document, ensure_ascii=False).encode()).hexdigest()


def in_topic_order(hit: SearchHit, order: Sequence[str]) -> SearchHit:
    """A hit with its topics in the order of sources.yaml (unknown ones last, by slug)."""
    rank = {slug: index for index, slug in enumerate(order)}

    def position(slug: str) -> tuple[int, str]:
        return (rank.get(slug, len(rank)), slug)

    tags = tuple(sorted(hit.tags, key=lambda tag: position(tag.slug)))
    return replace(hit, topics=tuple(sorted(hit.topics, key=position)), tags=tags)


def format_terms(terms: Iterable[str]) -> str:
    """How the store keeps a tag's terms: ``"drought, watershed"`` (labels hold no comma)."""
    return ", ".join(terms)


def parse_terms(stored: str) -> tuple[str, ...]:
    return tuple(term for term in stored.split(", ") if term)


# ── trending terms ───────────────────────────────────────────────────────────────────────

# Words that say nothing of what a post is about: English function words, and what the web
# leaves in text (URL pieces, entities). Compared after folding (lower case, no diacritics).
# The calendar too ("a month", "on Tuesday"): every week has one, so it is never the news.
# "march" is no stop word (a climate march is news). Names such as "Civic Streets Lab" are
# left alone: a report that everyone cites is a trend.
_STOP_WORDS = """
    a about above after again against all almost also although always am among an and another
    any anyone anything are around as at away back be because been before being below between
    both but by can cannot could did do does doing done down during each either else enough
    even ever every few first for from further get gets getting go goes going got had has have
    having he her here hers herself him himself his how however i if in into is it its itself
    just last least less let like made make makes many may me might more most much must my
    myself never new next no nor not now of off often on once one only or other others our ours
    ourselves out over own per perhaps put quite rather really said same say says see seen she
    should since so some something still such take than that the their theirs them themselves
    then there these they thing things this those though through thus to today too two under
    until up upon us use used using very via want was way we well were what when where whether
    which while who whom whose why will with within without would yet you your yours yourself
    yourselves week weeks year years day days time times read post posts blog latest
    month months hour hours minute minutes ago yesterday tomorrow tonight morning mornings
    afternoon evening evenings weekend weekends weekday weekdays
    monday tuesday wednesday thursday friday saturday sunday
    january february april june july august september october november december
    dont doesnt didnt isnt arent wasnt werent wont cant couldnt shouldnt wouldnt ive youre
    theyre weve thats whats lets
    http https www com org net html htm php amp nbsp quot utm ref rss feed
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

# A term needs this many recent posts before it can be called a trend: one post is an event.
MIN_RECENT_POSTS = 3
MIN_TERM_LENGTH = 3
# A rise chance would explain in more than one case in twenty is no trend (G² for p < 0.05).
MIN_SCORE = 3.84
# A trend is a word whose share of posts at least doubled: a common word drifting from 50% to
# 70% of posts can be significant in a large window and still be no news.
MIN_LIFT = 2.0


def fold(word: str) -> str:
    """Lower case without diacritics: how stop words and topic words are compared."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def topic_words(topics: Sequence[TopicConfig]) -> frozenset[str]:
    """The words of the user's own topics (names, slugs, queries), folded: never a trend.

    What the user already follows is no news to them; a prefix such as ``recycl*`` is kept
    with its star and excludes every word that starts with it.
    """
    words: set[str] = set()
    for topic in topics:
        words.update(fold(word) for word in _WORD.findall(f"{topic.name} {topic.slug}"))
        for term in query_terms(topic.match):
            words.update(fold(word) for word in term.label.split())
    return frozenset(words)


def _excluded(term: str, excluded: frozenset[str]) -> bool:
    folded = fold(term)
    if len(folded) < MIN_TERM_LENGTH or folded.isdigit() or folded in STOP_WORDS:
        return True
    for word in (folded, folded.removesuffix("s"), folded.removesuffix("es")):
        if word in excluded:
            return True
    return any(word.endswith("*") and folded.startswith(word[:-1]) for word in excluded)


@dataclass(frozen=True)
class TermCount:
    """How many posts held a term: in the recent window, and in the window before it."""

    term: str
    recent: int
    before: int
    people: int = 1  # how many people wrote the recent posts


@dataclass(frozen=True)
class TrendCounts:
    """What the store counted for trends: posts in each window, and each term's counts."""

    recent_posts: int
    before_posts: int  # in the window before (a sample of it, when it is large)
    people: int  # how many people posted in the recent window
    terms: tuple[TermCount, ...]


def log_likelihood(recent: int, recent_total: int, before: int, before_total: int) -> float:
    """Dunning's G² for a term's share of posts in two windows: how surprising the difference is.

    It weighs the rise against the evidence, so a word in 40 posts that doubled outranks one
    that went from 1 post to 2; zero when the shares are equal.
    """
    observed = (recent, recent_total - recent, before, before_total - before)
    total = recent_total + before_total
    with_term = recent + before
    expected = (
        recent_total * with_term / total,
        recent_total * (total - with_term) / total,
        before_total * with_term / total,
        before_total * (total - with_term) / total,
    )
    return 2.0 * sum(o * math.log(o / e) for o, e in zip(observed, expected, strict=True) if o > 0)


def rank_trends(
    counts: Iterable[TermCount],
    recent_total: int,
    before_total: int,
    *,
    excluded: frozenset[str] = frozenset(),
    limit: int = 20,
    min_people: int = 1,
) -> list[TrendingTerm]:
    """The terms whose share of posts rose most in the recent window, most surprising first.

    Stop words, short words, numbers and ``excluded`` (the user's topic words) are left out;
    so are terms in fewer than MIN_RECENT_POSTS recent posts or written by fewer than
    ``min_people`` people, rises below MIN_LIFT or MIN_SCORE, and a plural when its singular
    ranks higher.
    """
    if recent_total <= 0 or before_total <= 0:
        return []
    scored: list[TrendingTerm] = []
    for count in counts:
        if count.recent < MIN_RECENT_POSTS or count.people < min_people:
            continue
        share = count.recent / recent_total
        # Half a post of smoothing: a word never seen before rose from almost nothing.
        before_share = (count.before + 0.5) / (before_total + 1)
        if share < MIN_LIFT * before_share or _excluded(count.term, excluded):
            continue
        score = log_likelihood(count.recent, recent_total, count.before, before_total)
        if score < MIN_SCORE:
            continue
        scored.append(
            TrendingTerm(
                term=count.term,
                posts=count.recent,
                people=count.people,
                before_posts=count.before,
                share=share,
                before_share=count.before / before_total,
                score=score,
            )
        )
    scored.sort(key=lambda trend: (-trend.score, -trend.posts, trend.term))
    return _without_plurals(scored)[:limit]


def _without_plurals(trends: list[TrendingTerm]) -> list[TrendingTerm]:
    """Keep one of "drought" and "droughts": whichever ranks first."""
    seen: set[str] = set()
    kept: list[TrendingTerm] = []
    for trend in trends:
        stem = fold(trend.term).removesuffix("s")
        if stem in seen:
            continue
        seen.add(stem)
        kept.append(trend)
    return kept


def min_people_for(people_posting: int) -> int:
    """A trend is something several people write about; in a one-person network, one will do."""
    return 2 if people_posting >= 2 else 1
