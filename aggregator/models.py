"""The data that moves through pln, one frozen dataclass per stage of the pipeline.

    sources.yaml ─► Config (SiteConfig, FetchConfig, TopicConfig, PersonConfig ─► SourceConfig)
    store        ─► SourceState            what we remember about a source between runs
    fetch        ─► FetchResult            bytes and headers of one answer
    parse        ─► ParsedFeed / FeedLinks  ─► ParsedPost (sanitized, UTC dates)
    app          ─► SourceOutcome ─► FetchSummary
    store        ─► SearchHit, SourceHealth

No I/O here, and nothing of ours is imported: every other module may depend on this one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo


class SourceKind(enum.StrEnum):
    FEED = "feed"
    MASTODON = "mastodon"
    BLOG = "blog"


class FullText(enum.StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


class SmtpSecurity(enum.StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


# ── configuration ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SourceConfig:
    """One source of one person, as sources.yaml gives it.

    ``url`` identifies the source in the store: a feed or page URL, or for Mastodon the
    profile URL ``https://host/@user`` (``@user@host`` is normalized to that).
    """

    url: str
    kind: SourceKind
    person: str
    full_text: FullText | None = None  # None: use fetch.full_text
    replies: bool = False  # Mastodon only
    boosts: bool = False  # Mastodon only
    line: int | None = None


@dataclass(frozen=True)
class PersonConfig:
    name: str
    slug: str
    sources: tuple[SourceConfig, ...]
    url: str | None = None
    topics: tuple[str, ...] = ()  # topic slugs every post of theirs carries
    line: int | None = None


@dataclass(frozen=True)
class TopicConfig:
    name: str
    slug: str
    match: str  # an SQLite FTS5 query
    line: int | None = None
    # G (review finding 11): the line of match:, where a query error points; not compared
    match_line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SiteConfig:
    title: str
    description: str = ""
    base_url: str | None = None
    timezone: str = "UTC"
    language: str = "en"
    home_days: int = 7
    excerpt_words: int = 60
    database: Path = Path("pln.db")  # resolved against the site directory
    output: Path = Path("output")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class FetchConfig:
    concurrency: int = 32
    per_host: int = 4
    timeout: float = 20.0
    max_bytes: int = 10_000_000
    full_text: FullText = FullText.AUTO


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class EmailConfig:
    to: tuple[str, ...]
    sender: str  # the ``from:`` key
    smtp: SmtpConfig
    subject: str = "{title}: {date}"
    send_empty: bool = False


@dataclass(frozen=True)
class Config:
    path: Path  # the sources.yaml it was read from
    site: SiteConfig
    fetch: FetchConfig = field(default_factory=FetchConfig)
    topics: tuple[TopicConfig, ...] = ()
    people: tuple[PersonConfig, ...] = ()
    email: EmailConfig | None = None

    @property
    def site_dir(self) -> Path:
        return self.path.parent

    @property
    def database_path(self) -> Path:
        return self.site_dir / self.site.database

    @property
    def output_path(self) -> Path:
        return self.site_dir / self.site.output

    @property
    def sources(self) -> tuple[SourceConfig, ...]:
        return tuple(source for person in self.people for source in person.sources)


# ── between runs ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SourceState:
    """What the store remembers about a source: HTTP validators, health and schedule."""

    id: int
    url: str
    kind: SourceKind
    person: str
    fetch_url: str | None = None  # the discovered feed, or where a permanent redirect led
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # of the last parsed body: an unchanged body is not parsed
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0  # consecutive
    next_due: datetime | None = None
    gone: bool = False
    redirect_to: str | None = None  # a permanent redirect the user should copy into the file

    @property
    def request_url(self) -> str:
        return self.fetch_url or self.url


# ── fetch ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class FetchResult:
    """One answer: 200 with a body, or 304 with none."""

    url: str  # as asked
    final_url: str  # after redirects
    status: int
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # where a 301/308 chain ended, if it started with one
    truncated: bool = False  # the body was cut off at fetch.max_bytes
    headers: tuple[tuple[str, str], ...] = ()  # lower-case names

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)


# ── parse ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ParsedPost:
    """One entry of a feed, sanitized, with dates in aware UTC and links made absolute."""

    guid: str  # stable per source: the entry's id, else its link, else a hash
    link: str | None
    title: str | None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    summary_html: str | None = None
    content_html: str | None = None
    text: str = ""  # plain text of the fullest HTML we have
    categories: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # absolute http(s) links found in the HTML
    has_full_content: bool = False  # the feed carried content (not only a summary)
    content_warning: str | None = None  # Mastodon spoiler_text: shown before the text
    is_share: bool = False  # a boost: the post of someone else (author), shared by the person


@dataclass(frozen=True)
class ParsedFeed:
    url: str
    format: str  # "rss", "atom", "rdf", "json"
    title: str | None
    link: str | None  # the site's home page
    posts: tuple[ParsedPost, ...]
    problems: tuple[str, ...] = ()  # what was wrong but did not stop us


@dataclass(frozen=True)
class MastodonAccount:
    """A Mastodon account as its instance describes it (bio sanitized)."""

    id: str
    acct: str  # user@host
    url: str  # profile page
    display_name: str = ""
    avatar: str | None = None
    note_html: str = ""
    noindex: bool = False  # asked not to be indexed (or #nobot / #noindex in the bio)
    discoverable: bool | None = None
    suspended: bool = False


@dataclass(frozen=True)
class MastodonCursor:
    """Where reading an account stopped last time, kept in the store between runs."""

    account_id: str | None = None
    newest_id: str | None = None  # the newest status stored: refetches ask only for newer
    via: str | None = None  # "api" or "rss"
    etag: str | None = None  # of the RSS fallback
    last_modified: str | None = None


@dataclass(frozen=True)
class MastodonRead:
    """What one read of an account brought: its posts, and where to carry on next time."""

    account: MastodonAccount | None
    posts: tuple[ParsedPost, ...]
    cursor: MastodonCursor
    notes: tuple[str, ...] = ()
    pause_until: datetime | None = None  # the instance's rate-limit budget is nearly spent


@dataclass(frozen=True)
class FeedLinks:
    """An HTML page that is not a feed, and the feeds it names (best first)."""

    url: str
    feeds: tuple[str, ...]
    title: str | None = None


# ── results of a run ─────────────────────────────────────────────────────────────────────


class SourceStatus(enum.StrEnum):
    UPDATED = "updated"  # new or changed posts stored
    UNCHANGED = "unchanged"  # 304, same body, or nothing new
    FAILED = "failed"
    GONE = "gone"  # 410: not fetched again until the user changes it
    SKIPPED = "skipped"  # not due yet (backing off, Retry-After)


@dataclass(frozen=True)
class SourceOutcome:
    url: str
    person: str
    kind: SourceKind
    status: SourceStatus
    new_posts: int = 0
    updated_posts: int = 0
    error: str | None = None
    notes: tuple[str, ...] = ()  # warnings worth telling: cut off, discovered feed, redirect
    elapsed: float = 0.0
    articles_extracted: int = 0  # full text: posts whose text now comes from their page
    articles_failed: int = 0  # full text: pages that failed this run (feed text kept)
    # ── reports (issue 8) ── what kind of failure, so a scheduled run can tell a new kind
    # ("unreachable", "gone", "server-error", …) from the same one again; None: no failure.
    problem_kind: str | None = None
    # ── labels (D) ── read fine on its first successful fetch, with nothing in it: the
    # summary says "no posts yet" of it rather than "unchanged".
    no_posts_yet: bool = False


@dataclass(frozen=True)
class FetchSummary:
    outcomes: tuple[SourceOutcome, ...]
    elapsed: float = 0.0
    retagged: int | None = None  # topics changed since the last run: posts tagged again

    def count(self, status: SourceStatus) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def new_posts(self) -> int:
        return sum(outcome.new_posts for outcome in self.outcomes)

    @property
    def updated_posts(self) -> int:
        return sum(outcome.updated_posts for outcome in self.outcomes)

    @property
    def failed(self) -> tuple[SourceOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == SourceStatus.FAILED)


# ── reading back ─────────────────────────────────────────────────────────────────────────

# Search snippets mark the matched words with these; the CLI turns them into bold or nothing.
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"


@dataclass(frozen=True)
class TopicTag:
    """A topic a post carries, and why: the terms of the topic's query found in the post.

    No terms: the post carries the topic because its person's ``topics:`` name it.
    """

    slug: str
    terms: tuple[str, ...] = ()

    @property
    def from_person(self) -> bool:
        return not self.terms


@dataclass(frozen=True)
class SearchHit:
    title: str | None
    url: str | None
    person: str
    source: str
    kind: SourceKind
    published: datetime | None
    topics: tuple[str, ...]
    snippet: str  # plain text, matches between HIGHLIGHT_START and HIGHLIGHT_END
    rank: float
    tags: tuple[TopicTag, ...] = ()  # the topics again, each with the terms that earned it
    id: int = 0  # the post's id in the store
    source_name: str = ""  # ── labels (D) ── the blog's name or the account's handle


@dataclass(frozen=True)
class SourceHealth:
    person: str
    url: str
    kind: SourceKind
    active: bool  # still in sources.yaml
    fetch_url: str | None
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failures: int
    next_due: datetime | None
    gone: bool
    redirect_to: str | None
    posts: int
    last_post: datetime | None
    via: str | None = None  # Mastodon: "api" or "rss"
    # full text: posts whose page was extracted, and those left with their feed text
    articles_extracted: int = 0
    articles_failed: int = 0
    article_error: str | None = None  # the latest reason an article could not be extracted
    failing_since: datetime | None = None  # the first failure of the current run of failures
    name: str = ""  # ── labels (D) ── the blog's name or the account's handle, else the host


# ── full text ────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Article:
    """What ``extract`` found on a post's own page: its main text and what it says of itself."""

    text: str  # plain text, paragraphs apart by a blank line
    title: str | None = None
    author: str | None = None
    published: datetime | None = None  # aware UTC
    language: str | None = None  # as the page declares it: "en", "de-DE"


@dataclass(frozen=True)
class PagePost:
    """A stored post whose page may still be wanted: what the full-text decision looks at."""

    id: int
    link: str
    text: str  # what the feed gave
    has_full_content: bool
    content_hash: str  # the version of the entry this decision is about
    attempts: int = 0  # failed tries at this version's page
    needs_metadata: bool = True  # the feed left out its title, author or date
    # G (review finding 6): the feed's title, left out when the page's text starts with it
    title: str | None = None


# ── moving in and out, source health ─────────────────────────────────────────────────────


@dataclass(frozen=True)
class NewSource:
    """A source to write into sources.yaml, as the user would write it there.

    ``url`` is a feed or page URL, a Mastodon profile URL or ``@user@host``; ``label`` is the
    title it had where it came from (an OPML outline, a feed), for messages only.
    """

    url: str
    kind: SourceKind = SourceKind.FEED
    boosts: bool = False  # Mastodon only
    label: str | None = None


@dataclass(frozen=True)
class NewPerson:
    """A person to add to sources.yaml (or whose sources join a person of the same name)."""

    name: str
    sources: tuple[NewSource, ...]
    topics: tuple[str, ...] = ()  # topic slugs
    groups: tuple[str, ...] = ()  # folders and tags of an OPML file, before they became topics


@dataclass(frozen=True)
class SkippedSource:
    """A source that was not written, and why (already followed, not a valid source)."""

    source: str
    person: str
    reason: str


@dataclass(frozen=True)
class SourcesEdit:
    """A change to sources.yaml, worked out but perhaps not yet written."""

    text: str  # the whole new file
    changed: bool
    added: tuple[SourceConfig, ...] = ()  # ``person`` is the person it was written under
    new_people: tuple[str, ...] = ()
    replaced: tuple[tuple[str, str], ...] = ()  # (old URL, new URL)
    skipped: tuple[SkippedSource, ...] = ()


@dataclass(frozen=True)
class QuietPerson:
    name: str
    last_post: datetime | None  # None: nothing stored from them at all


@dataclass(frozen=True)
class HealthReport:
    """What in the sources' health needs the person who keeps sources.yaml."""

    sources: tuple[SourceHealth, ...]
    now: datetime
    redirects: tuple[SourceHealth, ...] = ()  # moved permanently: copy the new URL
    gone: tuple[SourceHealth, ...] = ()  # answered 410: remove or replace
    failing_long: tuple[SourceHealth, ...] = ()  # failing for more than a week
    quiet: tuple[QuietPerson, ...] = ()  # no post in 90 days
    last_posts: dict[str, datetime | None] = field(default_factory=dict)  # person → newest post


# ── topics: trending terms ───────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class TrendingTerm:
    """A word the network is writing about more than usual."""

    term: str  # as the posts spell it, lower case
    posts: int  # recent posts holding it
    people: int  # how many people wrote those posts
    before_posts: int  # posts holding it in the window before (a sample of it, if large)
    share: float  # of the recent posts
    before_share: float  # of the posts before
    score: float  # how surprising the rise is (log-likelihood ratio)


@dataclass(frozen=True)
class Trends:
    """What ``pln trends`` found: the last ``days`` against the ``baseline_days`` before."""

    days: int
    baseline_days: int
    recent_posts: int
    before_posts: int
    terms: tuple[TrendingTerm, ...]


# ── the site: a day's digest ─────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SitePost:
    """A post as the public site and the digest see it: only people who may be indexed.

    ``text`` may be cut to what an excerpt needs; ``html`` is the sanitized content (or
    summary) HTML, which the digest reads for link titles and shows only for Mastodon.
    """

    id: int
    link: str | None
    title: str | None
    person: str
    person_slug: str
    source_url: str
    kind: SourceKind
    posted_at: datetime  # aware UTC: the time that decides the post's day
    text: str = ""
    html: str | None = None
    links: tuple[str, ...] = ()  # absolute links the post contains
    author: str | None = None
    content_warning: str | None = None
    is_share: bool = False  # a boost: someone else's post, shared by ``person``
    tags: tuple[TopicTag, ...] = ()
    # ── labels (D) ── what names the source beside the post (the blog's name, the account's
    # handle, else the host: labels.source_name) and where that name links (or None)
    source_name: str = ""
    source_home: str | None = None


@dataclass(frozen=True)
class TopicLabel:
    """A topic as an entry shows it: its name, and the terms that earned the tag."""

    slug: str
    name: str
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sharer:
    """Someone who shared a link: their own post of it, where they have one."""

    person: str
    person_slug: str
    kind: SourceKind
    url: str | None = None


@dataclass(frozen=True)
class DigestEntry:
    """One entry of a digest: a post, standing for every post of the same link that day."""

    anchor: str  # the element id on the day page
    post: SitePost  # without its html, and its text cut: an entry keeps only what it shows
    title: str
    url: str | None
    excerpt: str  # plain text, at most site.excerpt_words words
    body_html: str | None = None  # Mastodon: the whole short text, sanitized again
    topics: tuple[TopicLabel, ...] = ()  # in sources.yaml order
    also_shared_by: tuple[Sharer, ...] = ()


@dataclass(frozen=True)
class SharedLink:
    """A link that two or more people posted or linked to on one day."""

    url: str  # as one of them wrote it
    canonical: str
    title: str  # the best we have: a post's own title, the anchor text, else the URL
    sharers: tuple[Sharer, ...]  # one per person
    anchor: str | None = None  # the entry of the day page that stands for it, if any


@dataclass(frozen=True)
class DigestSection:
    """The entries of one topic (``topic`` None: everything that carries no topic)."""

    topic: TopicLabel | None
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True)
class Digest:
    day: date
    most_shared: tuple[SharedLink, ...]
    sections: tuple[DigestSection, ...]
    post_count: int  # posts, before links shared by several became one entry
    people: tuple[str, ...]  # who posted that day, by name

    @property
    def entries(self) -> tuple[DigestEntry, ...]:
        return tuple(entry for section in self.sections for entry in section.entries)


@dataclass(frozen=True)
class SitePerson:
    """Someone the public site may name (nobody who asked not to be indexed)."""

    name: str
    slug: str
    url: str | None = None
    active: bool = True  # still in sources.yaml
    posts: int = 0


# ── email ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class MailDigest:
    """What one email holds: the digest of each day it covers, newest day first.

    ``day`` is the day the email is for (the ``{date}`` of its subject): the day asked for
    with ``--date``, else the day it is sent on. ``since`` is when the digest before it was
    made: the email holds the posts first seen after it (None: ``--date``, or the first).
    """

    day: date
    digests: tuple[Digest, ...]
    since: datetime | None = None

    @property
    def post_count(self) -> int:
        return sum(digest.post_count for digest in self.digests)

    @property
    def people(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for digest in self.digests for name in digest.people))


@dataclass(frozen=True)
class SentDigest:
    """A digest the mail server accepted, as the store remembers it."""

    day: date  # the day it was for
    sent_at: datetime
    message_id: str
    recipients: tuple[str, ...]  # the addresses the server accepted
    posts: int = 0
    # The posts it held were first seen in (covers_from, covers_until]; both None for a
    # digest of one day asked for with --date, which leaves the daily window where it was.
    covers_from: datetime | None = None
    covers_until: datetime | None = None


class EmailStatus(enum.StrEnum):
    SENT = "sent"  # the server accepted it (and, unless sent --to someone else, it is recorded)
    WRITTEN = "written"  # --out: written as an .eml file, nothing sent
    DRY_RUN = "dry-run"  # built, nothing sent
    ALREADY_SENT = "already-sent"  # the day's digest went out before: nothing sent
    EMPTY = "empty"  # nothing to tell, and email.send_empty is off: nothing sent


# ── reports (issue 8): what a scheduled `pln run -q` tells a person, once ───────────────


@dataclass(frozen=True)
class Problem:
    """Something that needs a person, found by one run.

    ``key`` names what has the problem ("source URL", "build", "email", "lock", "fetch");
    ``kind`` its class, so a change of kind is told again; ``message`` says it in words."""

    key: str
    kind: str
    message: str


@dataclass(frozen=True)
class ReportedProblem:
    """A problem as the store remembers it: told once at ``reported_at``, open since ``since``."""

    key: str
    kind: str
    message: str
    since: datetime
    reported_at: datetime


@dataclass(frozen=True)
class ReportPlan:
    """What one run tells: problems new or changed, reminders, and what works again."""

    new: tuple[Problem, ...] = ()
    changed: tuple[tuple[Problem, ReportedProblem], ...] = ()
    reminders: tuple[ReportedProblem, ...] = ()
    resolved: tuple[ReportedProblem, ...] = ()
    keep: tuple[ReportedProblem, ...] = ()  # the problems found, as the store is to hold them
    drop: tuple[str, ...] = ()  # keys the store forgets


@dataclass(frozen=True)
class UnfinishedRun:
    """A `pln run` that started and never finished: killed, or the machine stopped."""

    pid: int
    command: str
    started_at: datetime


@dataclass(frozen=True)
class SearchResults:
    """The hits of one search, and how much of the matches their ranking looked at."""

    hits: list[SearchHit]
    # Set when more posts matched (after the filters) than the store ranks by default: only
    # the newest this many were ranked. None when every match was ranked.
    ranked_newest: int | None = None
