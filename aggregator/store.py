"""All state in one SQLite file, through sqlite-utils: the only module that speaks SQL.

Tables: ``people``, ``sources`` (with the HTTP state and health of each), ``posts`` (one row
per entry per source) and ``posts_fts``, an FTS5 index over title, text, author and
categories that triggers keep in step with ``posts``. The schema grows by migrations only.

Times are stored as ISO 8601 text in UTC (``2026-11-22T09:30:00+00:00``), which sorts
correctly as text.
"""

from __future__ import annotations

import functools  # ── search ──
import hashlib
import json
import math
import os  # ── search ──
import sqlite3
import threading  # ── search ──
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from aggregator import labels, policy, query, topics  # labels: (D)
from aggregator.errors import InvalidQueryError, StorageError
from aggregator.models import (
    Article,
    Config,
    MastodonCursor,
    MastodonRead,
    PagePost,
    ParsedPost,
    ReportedProblem,  # ── reports (issue 8) ──
    SearchHit,
    SearchResults,  # ── search ──
    SentDigest,
    SitePerson,
    SitePost,
    SourceHealth,
    SourceKind,
    SourceState,
    TopicTag,
)
from aggregator.topics import TopicRule

# Porter stemming over unicode61 with diacritics folded: "water" finds "waters", "cafe"
# finds "café".
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"
FTS_COLUMNS = ("title", "text", "author", "categories")
# bm25 weights, in FTS_COLUMNS order: a match in the title counts most.
FTS_WEIGHTS = (10.0, 1.0, 3.0, 2.0)
SNIPPET_TOKENS = 24
SEARCH_CAP = query.SEARCH_CAP  # ── search ── how many matches are ranked by default
_IN_CHUNK = 500  # SQLite's default limit on host parameters is generous; stay well under it

# ── site ──
# People with any source that asked not to be indexed: kept off the public site whole.
_NOINDEX_PEOPLE = "SELECT person_id FROM sources WHERE noindex = 1"
# The site reads a post's HTML only for link titles and short toots: a cap keeps a huge
# article from passing through memory whole.
_SITE_HTML_CHARS = 50_000

# ── topics: tagging scope and trends ──
# The posts queued for tagging, as a constraint on posts_fts. The rowid range is what FTS5
# can use (it seeks in its doclists); the `+` keeps the IN list away from FTS5, which would
# otherwise run the whole query once per queued post (minutes for a prefix query).
_UNTAGGED_ROWIDS = """
    AND posts_fts.rowid BETWEEN (SELECT min(post_id) FROM untagged)
                            AND (SELECT max(post_id) FROM untagged)
    AND +posts_fts.rowid IN (SELECT post_id FROM untagged)
"""
# Trends count words as people spell them (no stemming), case and diacritics folded only.
TREND_TOKENIZE = "unicode61 remove_diacritics 0"
TREND_SAMPLE = 10_000  # posts of the window before that are counted, at most
TREND_TEXT_CHARS = 2_000  # of each post's text: the opening says what a post is about
_TREND_TABLES = ("trend_recent_words", "trend_before_words", "trend_recent", "trend_before")

# Migrations apply in the order they are defined in this file, each once, recorded by name.
# The numbers in the names were handed out as features were planned, so they are labels, not
# an order; a new migration goes after the last one here, and a name is never changed.
migrations = Migrations("pln")


@migrations()
def m001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            slug TEXT NOT NULL,
            url TEXT,
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            person_id INTEGER NOT NULL REFERENCES people(id),
            active INTEGER NOT NULL DEFAULT 1,
            added_at TEXT NOT NULL,
            fetch_url TEXT,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            last_success TEXT,
            last_error TEXT,
            last_error_at TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            next_due TEXT,
            gone INTEGER NOT NULL DEFAULT 0,
            redirect_to TEXT
        );
        CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            guid TEXT NOT NULL,
            link TEXT,
            title TEXT,
            author TEXT,
            published TEXT,
            updated TEXT,
            first_seen TEXT NOT NULL,
            posted_at TEXT NOT NULL,
            summary_html TEXT,
            content_html TEXT,
            text TEXT NOT NULL DEFAULT '',
            categories TEXT NOT NULL DEFAULT '',
            links TEXT NOT NULL DEFAULT '[]',
            has_full_content INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT NOT NULL,
            UNIQUE (source_id, guid)
        );
        CREATE INDEX posts_posted_at ON posts (posted_at);
        CREATE TABLE post_topics (
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            topic TEXT NOT NULL,
            terms TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (post_id, topic)
        ) WITHOUT ROWID;
        CREATE INDEX post_topics_topic ON post_topics (topic, post_id);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        """
    )
    db.table("posts").enable_fts(FTS_COLUMNS, tokenize=FTS_TOKENIZE, create_triggers=True)


@migrations()
def m002_mastodon(db: Database) -> None:
    db.executescript(
        """
        ALTER TABLE sources ADD COLUMN via TEXT;
        ALTER TABLE sources ADD COLUMN account_id TEXT;
        ALTER TABLE sources ADD COLUMN newest_id TEXT;
        ALTER TABLE sources ADD COLUMN account TEXT;
        ALTER TABLE sources ADD COLUMN noindex INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE posts ADD COLUMN content_warning TEXT;
        ALTER TABLE posts ADD COLUMN is_share INTEGER NOT NULL DEFAULT 0;
        """
    )


@migrations()
def m004_full_text(db: Database) -> None:
    # extract_hash: the content_hash (version of the entry) the extract_* columns are about;
    # extract_state: skip (no page wanted) | done (article stored) | kept (the page held less
    # than the feed) | failed (extract_next: when to retry; NULL: given up);
    # extracted_at: when the page was last tried.
    # Posts stored before this migration are not new: full_text_after keeps them unfetched.
    db.executescript(
        """
        ALTER TABLE posts ADD COLUMN language TEXT;
        ALTER TABLE posts ADD COLUMN extract_hash TEXT;
        ALTER TABLE posts ADD COLUMN extract_state TEXT;
        ALTER TABLE posts ADD COLUMN extracted_at TEXT;
        ALTER TABLE posts ADD COLUMN extract_attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE posts ADD COLUMN extract_error TEXT;
        ALTER TABLE posts ADD COLUMN extract_next TEXT;
        INSERT OR REPLACE INTO meta (key, value)
            SELECT 'full_text_after', (SELECT max(first_seen) FROM posts)
            WHERE EXISTS (SELECT 1 FROM posts);
        """
    )


@migrations()
def m006_health(db: Database) -> None:
    # failing_since: when the current run of consecutive failures began (NULL while the
    # source works), so `pln sources` can name sources failing for more than a week. A
    # trigger keeps it, so every path that counts failures (record_failure, the successes
    # that reset the count) keeps it right without knowing about it. Sources failing before
    # this migration get their latest error's time: the best we know.
    db.executescript(
        """
        ALTER TABLE sources ADD COLUMN failing_since TEXT;
        UPDATE sources SET failing_since = last_error_at WHERE failures > 0;
        CREATE TRIGGER sources_failing_since AFTER UPDATE OF failures ON sources
        WHEN (new.failures = 0 AND old.failing_since IS NOT NULL)
            OR (new.failures > 0 AND (old.failures = 0 OR old.failing_since IS NULL))
        BEGIN
            UPDATE sources SET failing_since =
                CASE WHEN new.failures = 0 THEN NULL ELSE new.last_error_at END
            WHERE id = new.id;
        END;
        """
    )


@migrations()
def m003_topics(db: Database) -> None:
    # untagged: the posts whose topics are to be worked out again. Triggers fill it, so every
    # path that stores or changes a post (feeds, Mastodon, full text replacing a teaser, a
    # source moving to another person) queues it without knowing about topics; the fetch
    # tags the queue at its end (Store.tag_untagged). A database from before this migration
    # has no topics hash in meta, so its first fetch re-tags every post.
    db.executescript(
        """
        CREATE TABLE untagged (post_id INTEGER PRIMARY KEY);
        CREATE TRIGGER posts_untagged_insert AFTER INSERT ON posts BEGIN
            INSERT OR IGNORE INTO untagged (post_id) VALUES (new.id);
        END;
        CREATE TRIGGER posts_untagged_update AFTER UPDATE OF title, text, author, categories
        ON posts BEGIN
            INSERT OR IGNORE INTO untagged (post_id) VALUES (new.id);
        END;
        CREATE TRIGGER posts_untagged_delete AFTER DELETE ON posts BEGIN
            DELETE FROM untagged WHERE post_id = old.id;
        END;
        CREATE TRIGGER sources_untagged_person AFTER UPDATE OF person_id ON sources
        WHEN new.person_id IS NOT old.person_id BEGIN
            INSERT OR IGNORE INTO untagged (post_id)
                SELECT id FROM posts WHERE source_id = new.id;
        END;
        -- Search ranks every match by bm25, then by recency: this covering index gives it
        -- a match's date, source and id without reading the post's (large) row.
        CREATE INDEX posts_search_keys ON posts (id, posted_at, source_id);
        """
    )


@migrations()
def m007_email(db: Database) -> None:
    # ── email ── One row per digest the mail server accepted (a --force resend adds one).
    # day: the day it was for (YYYY-MM-DD in site.timezone); recipients: JSON list of the
    # addresses accepted; covers_from/covers_until: the first_seen window of its posts, so
    # the next daily digest starts where this one ended (both NULL for a --date digest).
    db.executescript(
        """
        CREATE TABLE email_sent (
            id INTEGER PRIMARY KEY,
            day TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            message_id TEXT NOT NULL,
            recipients TEXT NOT NULL DEFAULT '[]',
            posts INTEGER NOT NULL DEFAULT 0,
            covers_from TEXT,
            covers_until TEXT
        );
        CREATE INDEX email_sent_day ON email_sent (day, sent_at);
        """
    )


@migrations()
def m009_performance(db: Database) -> None:
    # ── performance ── sqlite-utils' FTS trigger re-indexed a post (delete + insert in
    # posts_fts: its whole text tokenized twice) on ANY update of its row: marking 24,000
    # new posts "no page wanted" cost 6 s of a 1,000-source fetch. Now only a change of an
    # indexed column re-indexes; the trigger keeps its name, so sqlite-utils still sees it.
    db.executescript(
        """
        DROP TRIGGER IF EXISTS posts_au;
        CREATE TRIGGER posts_au AFTER UPDATE OF title, text, author, categories ON posts
        WHEN old.title IS NOT new.title OR old.text IS NOT new.text
            OR old.author IS NOT new.author OR old.categories IS NOT new.categories
        BEGIN
            INSERT INTO posts_fts (posts_fts, rowid, title, text, author, categories)
                VALUES ('delete', old.rowid, old.title, old.text, old.author, old.categories);
            INSERT INTO posts_fts (rowid, title, text, author, categories)
                VALUES (new.rowid, new.title, new.text, new.author, new.categories);
        END;
        """
    )


# Every change of posts or their topics, counted: a rebuild of the site can tell that none
# happened without reading the posts (app.build's stamp). Kept in meta by triggers, so every
# writer counts without knowing.
_SITE_VERSION_TRIGGERS = "".join(
    f"""
    CREATE TRIGGER {table}_site_version_{event.lower()} AFTER {event} ON {table} BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'site_version';
    END;"""
    for table in ("posts", "post_topics")
    for event in ("INSERT", "UPDATE", "DELETE")
)


@migrations()
def m010_site_version(db: Database) -> None:
    # ── performance ── see _SITE_VERSION_TRIGGERS
    db.executescript(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('site_version', '0');"
        + _SITE_VERSION_TRIGGERS
    )


@migrations()
def m011_reports(db: Database) -> None:
    # ── reports (issue 8) ── each open problem a scheduled `pln run` told the person of
    # (key: "source URL", "build", "email", "lock", "fetch"), so it is told once.
    db.executescript(
        """
        CREATE TABLE reports (
            key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            since TEXT NOT NULL,
            reported_at TEXT NOT NULL
        );
        """
    )


@migrations()
def m013_labels(db: Database) -> None:
    # ── labels (D) ── a feed's own title and link to its site, as its last parsed fetch
    # found them (labels.stored_title / stored_home; '' when it had none, NULL before the
    # first): the site, the email and search name a blog by its title (labels.source_name).
    # A feed is parsed only when it changed: forgetting the validators and the body's hash
    # has the next fetch read each feed whole once, so every blog gets its name then rather
    # than whenever it next publishes (its posts are known and stay as they are).
    db.executescript(
        """
        ALTER TABLE sources ADD COLUMN title TEXT;
        ALTER TABLE sources ADD COLUMN home TEXT;
        UPDATE sources SET etag = NULL, last_modified = NULL, body_hash = NULL
        WHERE kind != 'mastodon';
        """
    )


@dataclass(frozen=True)
class SaveCounts:
    new: int
    updated: int


class Store:
    """An open pln database. Use ``Store.open(path)`` and close it (or use ``with``)."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path
        self._side: sqlite3.Connection | None = None  # ── search ── (Store._side_connection)

    # ── opening ──────────────────────────────────────────────────────────────────────────

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating if needed) the database at ``path`` and bring its schema up to date."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A fetch hands the open store to one writer thread (app._StoreThread), off the
            # event loop; the store is never used by two threads at once.
            conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
            # ── start-up (B) ── no sqlite-utils plugins: pln's connection is its own, and
            # looking them up scans every installed package's entry points (40-80 ms).
            db = Database(conn, execute_plugins=False)
            db.execute("PRAGMA busy_timeout = 30000")
            db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            migrations.apply(db)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open the database {path}: {exc}") from exc
        return cls(db, path)

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """Open an existing database for reading; never blocks on a writer (WAL)."""
        if not path.exists():
            raise StorageError(f"no database at {path} yet: run `pln fetch` first")
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            db = Database(conn, execute_plugins=False)  # ── start-up (B) ── as in open()
            if migrations.pending(db):
                raise StorageError(
                    f"the database {path} is from an older pln: run `pln fetch` to upgrade it"
                )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the database {path}: {exc}") from exc
        return cls(db, path)

    def close(self) -> None:
        if self._side is not None:  # ── search ──
            self._side.close()
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction around several calls (each keeps its own, nested as a savepoint,
        so a failed call undoes only itself): a fetch commits the sources that finished
        together, which spares SQLite a commit and FTS5 a segment per source."""
        with self._transaction():
            yield

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self.db.atomic():
                yield
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write to the database {self.path}: {exc}") from exc

    # ── configuration ────────────────────────────────────────────────────────────────────

    def sync_config(self, config: Config, now: datetime) -> list[SourceState]:
        """Make people and sources match sources.yaml; return the state of every active source.

        Sources that left the file keep their posts and history but are marked inactive,
        so they are no longer fetched; if they come back, they carry on where they were.
        """
        stamp = _iso(now)
        with self._transaction():
            self.db.execute("UPDATE people SET active = 0")
            self.db.execute("UPDATE sources SET active = 0")
            for person in config.people:
                person_id = self._upsert_person(person.name, person.slug, person.url)
                for source in person.sources:
                    self._adopt_moved_source(source.url)
                    self.db.execute(
                        """
                        INSERT INTO sources (url, kind, person_id, active, added_at)
                        VALUES (?, ?, ?, 1, ?)
                        ON CONFLICT (url) DO UPDATE SET
                            kind = excluded.kind, person_id = excluded.person_id, active = 1
                        """,
                        [source.url, source.kind.value, person_id, stamp],
                    )
        return self.source_states(active_only=True)

    def _adopt_moved_source(self, url: str) -> None:
        """When the user copies a reported redirect target into the file, keep the history.

        The old row takes the new URL, so its posts are not stored a second time.
        """
        if self.db.execute("SELECT 1 FROM sources WHERE url = ?", [url]).fetchone():
            return
        self.db.execute(
            """
            UPDATE sources SET url = ?, redirect_to = NULL
            WHERE id = (SELECT id FROM sources WHERE redirect_to = ? AND active = 0 LIMIT 1)
            """,
            [url, url],
        )

    def _upsert_person(self, name: str, slug: str, url: str | None) -> int:
        self.db.execute(
            """
            INSERT INTO people (name, slug, url, active) VALUES (?, ?, ?, 1)
            ON CONFLICT (name) DO UPDATE SET slug = excluded.slug, url = excluded.url, active = 1
            """,
            [name, slug, url],
        )
        row = self.db.execute("SELECT id FROM people WHERE name = ?", [name]).fetchone()
        return int(row[0])

    def source_states(self, active_only: bool = True) -> list[SourceState]:
        where = "WHERE s.active = 1" if active_only else ""
        rows = self._dicts(
            f"""
            SELECT s.*, p.name AS person FROM sources s JOIN people p ON p.id = s.person_id
            {where} ORDER BY s.id
            """
        )
        return [_source_state(row) for row in rows]

    # ── recording a fetch ────────────────────────────────────────────────────────────────

    def record_success(
        self,
        source_id: int,
        posts: Sequence[ParsedPost],
        now: datetime,
        *,
        fetch_url: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        body_hash: str | None = None,
        redirect_to: str | None = None,
        title: str | None = None,  # ── labels (D) ── the feed's, when it was parsed
        home: str | None = None,
        pages: PageDecision | None = None,  # ── performance (goal 1) ── see _settle_unwanted
    ) -> SaveCounts:
        """Store a source's posts and its new HTTP state in one transaction.

        A post already stored with the same content is left alone; one whose content changed
        (an edit) is updated in place, keeping its first-seen time. ``title`` and ``home``
        (``labels.stored_title``/``stored_home``) replace the stored ones unless None.
        """
        with self._transaction():
            counts = self._save_posts(source_id, posts, now, pages)
            self.db.execute(
                """
                UPDATE sources SET fetch_url = ?, etag = ?, last_modified = ?,
                    body_hash = COALESCE(?, body_hash), last_success = ?, failures = 0,
                    next_due = NULL, redirect_to = ?,
                    title = COALESCE(?, title), home = COALESCE(?, home)
                WHERE id = ?
                """,
                [fetch_url, etag, last_modified, body_hash, _iso(now), redirect_to, title, home,
                 source_id],
            )  # fmt: skip
        return counts

    def mastodon_cursor(self, source_id: int) -> MastodonCursor:
        row = self._dicts(
            "SELECT account_id, newest_id, via, etag, last_modified FROM sources WHERE id = ?",
            [source_id],
        )[0]
        return MastodonCursor(**row)

    def record_mastodon(self, source_id: int, read: MastodonRead, now: datetime) -> SaveCounts:
        """Store what one read of a Mastodon account brought, and where to carry on."""
        account = read.account
        cursor = read.cursor
        with self._transaction():
            counts = self._save_posts(source_id, read.posts, now)
            self.db.execute(
                """
                UPDATE sources SET via = ?, account_id = ?, newest_id = ?, etag = ?,
                    last_modified = ?, account = COALESCE(?, account),
                    noindex = COALESCE(?, noindex), last_success = ?, failures = 0,
                    next_due = ?
                WHERE id = ?
                """,
                [
                    cursor.via,
                    cursor.account_id,
                    cursor.newest_id,
                    cursor.etag,
                    cursor.last_modified,
                    json.dumps(asdict(account)) if account else None,
                    int(account.noindex) if account else None,
                    _iso(now),
                    read.pause_until and _iso(read.pause_until),
                    source_id,
                ],
            )
        return counts

    def record_failure(
        self,
        source_id: int,
        error: str,
        now: datetime,
        *,
        retry_after: float | None = None,
        gone: bool = False,
    ) -> None:
        """Note a failed fetch and when to try again (never, for a source that is gone)."""
        with self._transaction():
            row = self.db.execute(
                "SELECT failures FROM sources WHERE id = ?", [source_id]
            ).fetchone()
            failures = int(row[0]) + 1 if row else 1
            next_due = policy.next_due_after_failure(failures, now, retry_after)
            self.db.execute(
                """
                UPDATE sources SET last_error = ?, last_error_at = ?, failures = ?,
                    next_due = ?, gone = ?
                WHERE id = ?
                """,
                [error, _iso(now), failures, _iso(next_due), int(gone), source_id],
            )

    def _save_posts(
        self,
        source_id: int,
        posts: Sequence[ParsedPost],
        now: datetime,
        pages: PageDecision | None = None,
    ) -> SaveCounts:
        # A feed may repeat an entry; the last occurrence wins, as a reader would see it.
        by_guid = {post.guid: post for post in posts}
        known = self._known_posts(source_id, list(by_guid))
        new_rows: list[dict[str, Any]] = []
        updated = 0
        for guid, post in by_guid.items():
            content_hash = _content_hash(post)
            if guid not in known:
                new_rows.append(_post_row(source_id, post, now, content_hash))
                continue
            post_id, old_hash, first_seen = known[guid]
            if old_hash != content_hash:
                self._update_post(post_id, post, first_seen, content_hash)
                updated += 1
        if new_rows:
            if pages is not None:
                self._settle_unwanted(source_id, new_rows, now, pages)
            self._insert_posts(new_rows)
        return SaveCounts(new=len(new_rows), updated=updated)

    def _settle_unwanted(
        self, source_id: int, rows: list[dict[str, Any]], now: datetime, pages: PageDecision
    ) -> None:
        """── performance (goal 1) ── New posts whose page is not wanted go in settled.

        The fetch asks ``posts_awaiting_page`` right after storing and marks the posts it does
        not want with ``settle_without_page``: on a cold run that read every new post's text
        back and updated every row again (1.1 s of the store's thread for 24,000 posts). The
        same decision is taken here, on the same fields, for the posts that question would
        return: new ones with a link, first seen after ``full_text_after``, when they and the
        source's other undecided posts fit in its ``limit`` (else it would look at only some).
        The others stay undecided, and the question after storing finds them as before.
        """
        for row in rows:  # every row of one INSERT has the same columns
            row["extract_hash"] = row["extract_state"] = None
        after, undecided = self.db.execute(
            f"""
            SELECT COALESCE((SELECT value FROM meta WHERE key = 'full_text_after'), ''),
                   (SELECT count(*) FROM posts WHERE source_id = :source AND {_UNDECIDED})
            """,
            {"source": source_id, "now": _iso(now)},
        ).fetchone()
        candidates = [row for row in rows if row["link"] is not None and row["first_seen"] > after]
        if undecided + len(candidates) > pages.limit:
            return
        for row in candidates:
            if not pages.wanted(_new_page_post(row)):
                row["extract_hash"] = row["content_hash"]
                row["extract_state"] = "skip"

    def _insert_posts(self, rows: Sequence[dict[str, Any]]) -> None:
        # ── performance ── Our own INSERT: sqlite-utils' insert_all type-checks each value
        # in Python (a third of a cold fetch's store time). (goal 1) One statement for many
        # rows, not executemany's one per row: each statement that fires the FTS trigger
        # opens a statement savepoint, at which FTS5 writes what it holds as a new segment
        # that automerge must then merge, so row by row cost twice the indexing (5.2 against
        # 3.0 s of CPU for 24,409 posts). The rows go in in order, so their ids are the same.
        columns = list(rows[0])
        row_marks = f"({', '.join('?' * len(columns))})"
        head = f"INSERT INTO posts ({', '.join(columns)}) VALUES "
        per_statement = max(1, min(_ROWS_PER_INSERT, _variable_limit(self.db.conn) // len(columns)))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            self.db.conn.execute(
                head + ", ".join([row_marks] * len(chunk)),
                [row[column] for row in chunk for column in columns],
            )

    def _known_posts(
        self, source_id: int, guids: list[str]
    ) -> dict[str, tuple[int, str, datetime]]:
        known: dict[str, tuple[int, str, datetime]] = {}
        for start in range(0, len(guids), _IN_CHUNK):
            chunk = guids[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            cursor = self.db.execute(
                f"""
                SELECT guid, id, content_hash, first_seen FROM posts
                WHERE source_id = ? AND guid IN ({marks})
                """,
                [source_id, *chunk],
            )
            for guid, post_id, content_hash, first_seen in cursor:
                known[guid] = (post_id, content_hash, _parse_time(first_seen) or datetime.now(UTC))
        return known

    def _update_post(
        self, post_id: int, post: ParsedPost, first_seen: datetime, content_hash: str
    ) -> None:
        row = _post_row(0, post, first_seen, content_hash)
        for key in ("source_id", "guid", "first_seen"):
            row.pop(key)
        assignments = ", ".join(f"{column} = :{column}" for column in row)
        self.db.execute(f"UPDATE posts SET {assignments} WHERE id = :id", {**row, "id": post_id})

    # ── reading ──────────────────────────────────────────────────────────────────────────

    def check_match(self, match: str) -> str | None:
        """Why FTS5 cannot parse ``match`` as a query over our columns, or None if it can."""
        return check_fts_query(match)

    def search(
        self,
        text: str,
        *,
        limit: int = 20,
        sort: str = "rank",
        person: str | None = None,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cap: int | None = SEARCH_CAP,
    ) -> list[SearchHit]:
        """The hits of ``search_results`` alone."""
        found = self.search_results(
            text, limit=limit, sort=sort, person=person, topic=topic, since=since, until=until,
            cap=cap,
        )  # fmt: skip
        return found.hits

    def search_results(
        self,
        text: str,
        *,
        limit: int = 20,
        sort: str = "rank",
        person: str | None = None,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cap: int | None = SEARCH_CAP,
    ) -> SearchResults:
        """Posts matching ``text``, best first (or newest first with ``sort="date"``).

        When more than ``cap`` posts match (after the filters, which stay exact), only the
        newest ``cap`` of them (the last stored) are ranked by bm25, and the results say so:
        ranking costs 1.5–3 µs a match, too much for a word in a fifth of a million posts.
        ``cap=None`` ranks every match; ``sort="date"`` always looks at every match.

        A query FTS5 cannot parse is retried as the literal words it contains; only a query
        with no words at all is an InvalidQueryError.
        """
        # A lone surrogate (undecodable bytes on the command line) cannot reach SQLite.
        text = text.encode("utf-8", "replace").decode("utf-8")
        capped = cap is not None and sort != "date"
        params = _search_params(text, limit, cap if capped else None, person, topic, since, until)
        names = ("person",) * bool(person) + ("topic",) * bool(topic)
        names += ("dates",) * bool(since or until)
        dated = (bool(since), bool(until))
        try:
            plan = self._search_plan(names, params, *dated)
        except sqlite3.Error as exc:
            raise StorageError(f"search failed: {exc}") from exc
        params.update(id_low=plan.id_low, id_high=plan.id_high)
        try:
            rows = self._search_rows(plan, params, *dated, sort, capped)
        except sqlite3.OperationalError as exc:
            if check_fts_query(text) is None:  # the query is fine: the database is not
                raise StorageError(f"search failed: {exc}") from exc
            literal = query.literal_query(text)
            if literal is None:
                raise InvalidQueryError(text, "it holds no word to search for") from exc
            try:
                rows = self._search_rows(plan, {**params, "match": literal}, *dated, sort, capped)
            except sqlite3.OperationalError as again:
                raise InvalidQueryError(text, str(again)) from again
        # The last column is the rowid of the match beyond the newest `cap`: not 0 when there
        # were more (see _ranking_ctes).
        ranked_newest = cap if rows and rows[0][-1] else None
        return SearchResults([_search_row_hit(row) for row in rows], ranked_newest)

    def _search_plan(
        self, names: tuple[str, ...], params: dict[str, Any], since: bool, until: bool
    ) -> _SearchPlan:
        """How _search_sql is to check each filter: "set" when at most its
        FILTER_SET_LIMITS posts pass it, else "row" (see FILTER_SET_LIMITS); and the ids
        its matches can have (_plan_sql)."""
        if not names:
            return _SearchPlan((), 0, 0)
        row = self.db.conn.execute(
            _plan_sql(names, since, until),
            {**params, **{f"set_limit_{name}": FILTER_SET_LIMITS[name] for name in names}},
        ).fetchone()
        forms = tuple(
            (name, "set" if size <= FILTER_SET_LIMITS[name] else "row")
            for name, size in zip(names, row[: len(names)], strict=True)
        )
        return _SearchPlan(forms, row[-2], row[-1])

    def _search_rows(
        self,
        plan: _SearchPlan,
        params: dict[str, Any],
        since: bool,
        until: bool,
        sort: str,
        capped: bool,
    ) -> list[tuple[Any, ...]]:
        """The rows of _search_sql's statement for this search. By date, that statement
        itself; by rank, bm25's best window of candidates (from one statement, or from a
        split search when it is filtered, capped and over a wide range of ids), put in
        query.exact_first's order, then the rows of the best ``:limit`` of them."""
        if sort == "date":
            sql = _search_sql(plan.forms, since, until, sort, capped)
            return self.db.conn.execute(sql, params).fetchall()
        window = {**params, "limit": max(params["limit"], query.RERANK_WINDOW)}
        wide = plan.id_high - plan.id_low >= SPLIT_MIN_IDS
        # The second connection would not see what this one has not committed.
        alone = not self.db.conn.in_transaction
        if capped and plan.forms and wide and alone and _core_free():
            candidates, cut = self._split_search(plan, window, since, until)
        else:
            sql = _window_sql(plan.forms, since, until, capped)
            rows = self.db.conn.execute(sql, window).fetchall()
            candidates, cut = [row[:-1] for row in rows], (rows[0][-1] if rows else 0)
        best = _exact_first(params["match"], candidates)[: params["limit"]]
        return self._hits_by_id(params, best, cut)

    def _split_search(
        self, plan: _SearchPlan, params: dict[str, Any], since: bool, until: bool
    ) -> tuple[list[tuple[Any, ...]], int]:
        """A filtered search's two halves of ids at once: the newer here, the older on a
        thread with its own connection. The newest ``:cap`` passing matches are ranked, as
        in one statement: all the newer half's, then the older half's newest, as many as
        the cap leaves (read again with that cap when it left fewer than the half has:
        bm25's statistics are the whole table's, so a half scores as the whole would).
        The two connections read at about the same moment: a fetch committing in between
        can show in one half only, as it can between two searches. Returns the best
        ``:limit`` candidates (as _window_sql's rows) and the cut."""
        sql = _part_sql(plan.forms, since, until)
        middle = (plan.id_low + plan.id_high) // 2
        newer, older = {**params, "id_low": middle + 1}, {**params, "id_high": middle}
        side = self._side_connection()
        background = _Background(lambda: _part(side, sql, older))
        try:
            first = _part(self.db.conn, sql, newer)
        except BaseException:
            background.settle(side)  # its connection idle again before anything else runs
            raise
        cap = params["cap"]
        if first.count > cap:  # the cut lies in the newer half: the older one is not needed
            background.settle(side)
            chosen, cut = first.ranked, first.cut
        else:
            second = background.result()
            room = cap - first.count
            if room < cap and second.count > room:  # the cut lies in the older half: read it again
                second = _part(self.db.conn, sql, {**older, "cap": room})
            chosen, cut = _best_of(first.ranked + second.ranked, params["limit"]), second.cut
        return chosen, cut

    def _hits_by_id(
        self, params: dict[str, Any], chosen: list[tuple[Any, ...]], cut: int
    ) -> list[tuple[Any, ...]]:
        """The rows of _search_sql's statement for the hits chosen in Python (id, score,
        …), in their order."""
        if not chosen:
            return []
        ids = json.dumps([hit[0] for hit in chosen])
        rows = self.db.conn.execute(_HITS_BY_ID_SQL, {**params, "ranked_ids": ids}).fetchall()
        # The statement's second column is each hit's place in `chosen`, its last a 0.
        return [(row[0], chosen[row[1]][1], *row[2:-1], cut) for row in rows]

    def _side_connection(self) -> sqlite3.Connection:
        """A second read-only connection to this database, for a split search's other
        half; opened on first use, closed with the store."""
        if self._side is None:
            self._side = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30,
                check_same_thread=False,
            )  # fmt: skip
        return self._side

    def source_health(self) -> list[SourceHealth]:
        rows = self._dicts(
            """
            SELECT s.*, pe.name AS person,
                   (SELECT count(*) FROM posts p WHERE p.source_id = s.id) AS posts,
                   (SELECT max(posted_at) FROM posts p WHERE p.source_id = s.id) AS last_post
            FROM sources s JOIN people pe ON pe.id = s.person_id
            ORDER BY s.active DESC, pe.name, s.id
            """
        )
        return self._with_full_text_health([_source_health(row) for row in rows])

    # ── labels (D) ──
    def source_names(self, urls: Sequence[str]) -> dict[str, str]:
        """What names each of these sources beside its posts (``labels.source_name``)."""
        wanted = sorted(set(urls))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            rows = self.db.execute(
                f"""SELECT s.url, s.kind, s.title, pe.name FROM sources s
                    JOIN people pe ON pe.id = s.person_id
                    WHERE s.url IN ({", ".join("?" * len(chunk))})""",
                chunk,
            )
            for url, kind, title, person in rows:
                found[url] = labels.source_name(SourceKind(kind), url, title, person)
        return found

    def post_count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM posts").fetchone()
        return int(row[0])

    # ── topics ───────────────────────────────────────────────────────────────────────────
    #
    # Tagging is set-based: one INSERT … SELECT over posts_fts per topic, then one UPDATE per
    # term of the topic to record which terms earned the tag. Only the posts queued in
    # `untagged` (new or changed, see m003_topics) are tagged in a fetch; a change of the
    # topic definitions (their hash in meta) re-tags everything.

    def topics_hash(self) -> str | None:
        """The fingerprint of the topic definitions the stored tags were made with."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'topics_hash'").fetchone()
        return str(row[0]) if row else None

    def untagged_count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM untagged").fetchone()
        return int(row[0])

    def tag_untagged(
        self, rules: Sequence[TopicRule], person_topics: Mapping[str, Sequence[str]]
    ) -> int:
        """Tag the posts stored or changed since the last tagging; return how many."""
        with self._transaction():
            pending = self.untagged_count()
            if pending:
                self.db.execute(
                    "DELETE FROM post_topics WHERE post_id IN (SELECT post_id FROM untagged)"
                )
                self._tag(rules, person_topics, scoped=True)
                self.db.execute("DELETE FROM untagged")
        return pending

    def retag_all(
        self,
        rules: Sequence[TopicRule],
        person_topics: Mapping[str, Sequence[str]],
        definitions_hash: str,
    ) -> int:
        """Tag every stored post afresh and remember the definitions; return how many posts."""
        with self._transaction():
            self.db.execute("DELETE FROM post_topics")
            self._tag(rules, person_topics, scoped=False)
            self.db.execute("DELETE FROM untagged")
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('topics_hash', ?)",
                [definitions_hash],
            )
        return self.post_count()

    def _tag(
        self,
        rules: Sequence[TopicRule],
        person_topics: Mapping[str, Sequence[str]],
        *,
        scoped: bool,
    ) -> None:
        scope = _UNTAGGED_ROWIDS if scoped else ""
        for rule in rules:
            self._tag_topic(rule, scope)
        if person_topics:
            self._tag_people(person_topics, scoped)

    def _tag_topic(self, rule: TopicRule, scope: str) -> None:
        try:
            self.db.execute(
                f"""
                INSERT OR IGNORE INTO post_topics (post_id, topic, terms)
                SELECT rowid, ?, '' FROM posts_fts WHERE posts_fts MATCH ? {scope}
                """,
                [rule.slug, rule.match],
            )
        except sqlite3.OperationalError as exc:
            raise InvalidQueryError(rule.match, f"topic {rule.slug!r}: {exc}") from exc
        for term in rule.terms:
            try:
                self.db.execute(
                    f"""
                    UPDATE post_topics
                    SET terms = terms || CASE WHEN terms = '' THEN '' ELSE ', ' END || :label
                    WHERE topic = :topic AND post_id IN (
                        SELECT rowid FROM posts_fts WHERE posts_fts MATCH :term {scope})
                    """,
                    {"label": term.label, "topic": rule.slug, "term": term.query},
                )
            except sqlite3.OperationalError:
                # A term only explains a tag; one FTS5 will not run alone costs the
                # explanation, never the tag.
                continue

    def _tag_people(self, person_topics: Mapping[str, Sequence[str]], scoped: bool) -> None:
        """Every post of a person whose ``topics:`` name a topic carries it (terms empty)."""
        pairs = [[name, slug] for name, slugs in person_topics.items() for slug in slugs]
        scope = "AND p.id IN (SELECT post_id FROM untagged)" if scoped else ""
        self.db.execute(
            f"""
            INSERT OR IGNORE INTO post_topics (post_id, topic, terms)
            SELECT p.id, json_extract(pair.value, '$[1]'), ''
            FROM json_each(?) pair
            JOIN people pe ON pe.name = json_extract(pair.value, '$[0]')
            JOIN sources s ON s.person_id = pe.id
            JOIN posts p ON p.source_id = s.id
            WHERE 1 {scope}
            """,
            [json.dumps(pairs)],
        )

    def topic_counts(self) -> dict[str, int]:
        """How many posts carry each topic, by slug."""
        cursor = self.db.execute("SELECT topic, count(*) FROM post_topics GROUP BY topic")
        return {str(topic): int(count) for topic, count in cursor}

    def topic_tags(self, post_ids: Sequence[int]) -> dict[int, tuple[TopicTag, ...]]:
        """The topics of these posts, each with the terms that earned it; by post id."""
        cursor = self.db.execute(
            """
            SELECT post_id, topic, terms FROM post_topics
            WHERE post_id IN (SELECT value FROM json_each(?))
            ORDER BY post_id, topic
            """,
            [json.dumps(list(post_ids))],
        )
        tags: dict[int, list[TopicTag]] = {}
        for post_id, topic, terms in cursor:
            tags.setdefault(post_id, []).append(TopicTag(topic, topics.parse_terms(terms)))
        return {post_id: tuple(found) for post_id, found in tags.items()}

    def trend_counts(
        self,
        recent_start: datetime,
        before_start: datetime,
        end: datetime,
        *,
        sample: int = TREND_SAMPLE,
    ) -> topics.TrendCounts:
        """Term counts for trends: how many posts hold each word, recently and before.

        The recent window [recent_start, end) and the one before [before_start,
        recent_start) are indexed in temporary FTS5 tables (plain unicode61, so the words
        come back as people spell them) and read through fts5vocab. The cost follows the
        posts of these windows, never the whole history: the window before is sampled down
        to ``sample`` posts, and each post counts with its title, categories and the first
        TREND_TEXT_CHARS of its text.
        """
        window = [_iso(before_start), _iso(recent_start)]
        row = self.db.execute(
            "SELECT count(*) FROM posts WHERE posted_at >= ? AND posted_at < ?", window
        ).fetchone()
        step = max(1, math.ceil(int(row[0]) / sample))
        try:
            self._build_trend_tables(_iso(recent_start), window, _iso(end), step)
            return self._read_trend_counts()
        finally:
            for table in _TREND_TABLES:
                self.db.execute(f"DROP TABLE IF EXISTS temp.{table}")
            self.db.conn.commit()

    def _build_trend_tables(self, recent: str, window: list[str], end: str, step: int) -> None:
        body = (
            "coalesce(title, '') || ' ' || categories || ' ' || "
            f"substr(text, 1, {TREND_TEXT_CHARS})"
        )
        for table in ("trend_recent", "trend_before"):
            self.db.execute(
                f"CREATE VIRTUAL TABLE temp.{table} USING fts5(body, tokenize='{TREND_TOKENIZE}')"
            )
        self.db.execute(
            f"""
            INSERT INTO temp.trend_recent (rowid, body)
            SELECT id, {body} FROM posts WHERE posted_at >= ? AND posted_at < ?
            """,
            [recent, end],
        )
        self.db.execute(
            f"""
            INSERT INTO temp.trend_before (rowid, body)
            SELECT id, {body} FROM posts WHERE posted_at >= ? AND posted_at < ? AND id % ? = 0
            """,
            [*window, step],
        )
        self.db.execute(
            "CREATE VIRTUAL TABLE temp.trend_recent_words "
            "USING fts5vocab(temp, trend_recent, instance)"
        )
        self.db.execute(
            "CREATE VIRTUAL TABLE temp.trend_before_words USING fts5vocab(temp, trend_before, row)"
        )

    def _read_trend_counts(self) -> topics.TrendCounts:
        rows = self.db.execute(
            """
            WITH recent AS (
                SELECT w.term, count(DISTINCT w.doc) AS posts,
                       count(DISTINCT s.person_id) AS people
                FROM temp.trend_recent_words w
                JOIN posts p ON p.id = w.doc
                JOIN sources s ON s.id = p.source_id
                GROUP BY w.term
                HAVING count(DISTINCT w.doc) >= ?
            )
            SELECT recent.term, recent.posts, coalesce(b.doc, 0), recent.people
            FROM recent LEFT JOIN temp.trend_before_words b ON b.term = recent.term
            """,
            [topics.MIN_RECENT_POSTS],
        ).fetchall()
        totals = self.db.execute(
            """
            SELECT (SELECT count(*) FROM temp.trend_recent),
                   (SELECT count(*) FROM temp.trend_before),
                   (SELECT count(DISTINCT s.person_id) FROM temp.trend_recent r
                    JOIN posts p ON p.id = r.rowid JOIN sources s ON s.id = p.source_id)
            """
        ).fetchone()
        return topics.TrendCounts(
            recent_posts=int(totals[0]),
            before_posts=int(totals[1]),
            people=int(totals[2]),
            terms=tuple(
                topics.TermCount(term=term, recent=recent, before=before, people=people)
                for term, recent, before, people in rows
            ),
        )

    # ── full text ────────────────────────────────────────────────────────────────────────

    def posts_awaiting_page(self, source_id: int, now: datetime, limit: int) -> list[PagePost]:
        """A source's posts whose page may still be wanted, newest first.

        Those not yet decided on in their current version (new, or edited in the feed since),
        and those whose page failed and whose next try is due. Posts stored before full text
        existed (see m004) are left alone.
        """
        rows = self._dicts(
            f"""
            SELECT id, link, text, has_full_content, content_hash,
                   CASE WHEN extract_hash = content_hash THEN extract_attempts ELSE 0 END
                       AS attempts,
                   (title IS NULL OR author IS NULL OR published IS NULL) AS needs_metadata,
                   title  -- G (review finding 6): left out of the page's text
            FROM posts
            WHERE source_id = :source AND {_UNDECIDED}
            ORDER BY posted_at DESC, id DESC
            LIMIT :limit
            """,
            {"source": source_id, "now": _iso(now), "limit": limit},
        )
        return [_page_post(row) for row in rows]

    # ── warm refresh (engineer E) ── one question for the whole run: a source that brings no
    # new or edited post needs `posts_awaiting_page` only if it is named here. The scan reads
    # each post once, as the per-source questions it saves read them all between them.
    def sources_awaiting_pages(self, now: datetime) -> frozenset[int]:
        """The sources with a post that `posts_awaiting_page` would return at ``now``."""
        rows = self.db.execute(
            """
            SELECT DISTINCT source_id FROM posts
            WHERE link IS NOT NULL
              AND first_seen > COALESCE(
                  (SELECT value FROM meta WHERE key = 'full_text_after'), '')
              AND (extract_hash IS NOT content_hash
                   OR (extract_state = 'failed' AND extract_next <= :now))
            """,
            {"now": _iso(now)},
        ).fetchall()
        return frozenset(int(row[0]) for row in rows)

    def settle_without_page(self, posts: Sequence[PagePost]) -> None:
        """These posts need no page: not looked at again unless their entry changes."""
        with self._transaction():
            self.db.conn.executemany(
                """
                UPDATE posts SET extract_hash = content_hash, extract_state = 'skip'
                WHERE id = ? AND content_hash = ?
                """,
                [(post.id, post.content_hash) for post in posts],
            )

    def record_article(
        self, post: PagePost, article: Article, now: datetime, *, use_text: bool
    ) -> bool:
        """Store what a post's page gave; return whether the post's text changed.

        The article's text replaces the feed's when ``use_text`` (it is fuller); its title,
        author, date and language only fill what the feed left empty, never overwrite it.
        Updating ``text`` re-indexes the post (the FTS triggers).
        """
        with self._transaction():
            row = self.db.execute(
                "SELECT published, first_seen FROM posts WHERE id = ? AND content_hash = ?",
                [post.id, post.content_hash],
            ).fetchone()
            if row is None:  # the entry changed meanwhile: its new version gets its own turn
                return False
            published = _parse_time(row[0]) or article.published
            first_seen = _parse_time(row[1]) or now
            self.db.execute(
                """
                UPDATE posts SET
                    text = CASE WHEN :use_text THEN :text ELSE text END,
                    title = COALESCE(title, :title), author = COALESCE(author, :author),
                    published = COALESCE(published, :published),
                    posted_at = :posted_at, language = COALESCE(language, :language),
                    extract_hash = content_hash,
                    extract_state = CASE WHEN :use_text THEN 'done' ELSE 'kept' END,
                    extracted_at = :now, extract_error = NULL, extract_next = NULL
                WHERE id = :id
                """,
                {
                    "use_text": int(use_text),
                    "text": article.text,
                    "title": article.title,
                    "author": article.author,
                    "published": article.published and _iso(article.published),
                    "posted_at": _iso(policy.posted_at(published, first_seen)),
                    "language": article.language,
                    "now": _iso(now),
                    "id": post.id,
                },
            )
        return use_text and article.text != post.text

    def record_article_failure(
        self, post: PagePost, error: str, now: datetime, next_try: datetime | None
    ) -> None:
        """Note that a post's page failed; ``next_try`` None means it is not tried again."""
        with self._transaction():
            self.db.execute(
                """
                UPDATE posts SET extract_hash = content_hash, extract_state = 'failed',
                    extract_attempts = ?, extract_error = ?, extracted_at = ?, extract_next = ?
                WHERE id = ? AND content_hash = ?
                """,
                [
                    post.attempts + 1,
                    error,
                    _iso(now),
                    next_try and _iso(next_try),
                    post.id,
                    post.content_hash,
                ],
            )

    def _with_full_text_health(self, healths: list[SourceHealth]) -> list[SourceHealth]:
        rows = self._dicts(
            """
            SELECT s.url,
                   sum(p.extract_state = 'done') AS extracted,
                   sum(p.extract_state = 'failed') AS failed,
                   (SELECT q.extract_error FROM posts q
                    WHERE q.source_id = s.id AND q.extract_state = 'failed'
                    ORDER BY q.extracted_at DESC LIMIT 1) AS last_error
            FROM posts p JOIN sources s ON s.id = p.source_id
            WHERE p.extract_state IN ('done', 'failed')
            GROUP BY s.id
            """
        )
        by_url = {row["url"]: row for row in rows}
        return [
            replace(
                health,
                articles_extracted=by_url[health.url]["extracted"],
                articles_failed=by_url[health.url]["failed"],
                article_error=by_url[health.url]["last_error"],
            )
            if health.url in by_url
            else health
            for health in healths
        ]

    # ── site ─────────────────────────────────────────────────────────────────────────────
    #
    # The static site reads with one query per kind of page, never one per post: every
    # public post streams once, oldest first, with its topics folded into the same row.
    # A person with any source that asked not to be indexed is left out entirely.

    def site_posts(
        self,
        text_chars: int = 4000,
        *,
        since: datetime | None = None,  # ── build speed (G): a part of the posts ──
        until: datetime | None = None,
    ) -> Iterator[SitePost]:
        """Every post the public site may show, oldest first, one row at a time.

        ``text_chars`` cuts the plain text to what excerpts need, so a year of full-text
        articles does not pass through memory for a few dozen words each. ``since`` and
        ``until`` keep the posts with ``since <= posted_at < until``.
        """
        cursor = self.db.execute(
            f"""
            SELECT p.id, p.link, p.title, p.author, p.posted_at,
                   substr(p.text, 1, :chars) AS text,
                   substr(COALESCE(p.content_html, p.summary_html), 1, {_SITE_HTML_CHARS}) AS html,
                   p.links, p.content_warning, p.is_share,
                   s.url AS source_url, s.kind, pe.name AS person, pe.slug AS person_slug,
                   s.title AS source_title, s.home AS source_home,  -- ── labels (D) ──
                   (SELECT group_concat(t.topic || char(31) || t.terms, char(30))
                    FROM post_topics t WHERE t.post_id = p.id) AS tags
            FROM posts p
            JOIN sources s ON s.id = p.source_id
            JOIN people pe ON pe.id = s.person_id
            WHERE s.person_id NOT IN ({_NOINDEX_PEOPLE})
              AND p.posted_at >= :since AND p.posted_at < :until
            ORDER BY p.posted_at, p.id
            """,
            {
                "chars": text_chars,
                "since": _iso(since) if since else "",
                "until": _iso(until) if until else "\uffff",
            },
        )
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield _site_post(dict(zip(names, row, strict=True)))

    # ── build speed (engineer G, issue 9): where to cut the posts in two parts ──

    def site_post_time(
        self, *, position: float = 0.0, before: datetime | None = None, at_least: int = 1
    ) -> datetime | None:
        """About the time of the post at ``position`` (0 the oldest, 0.5 the middle one:
        read from the index alone, so posts the site leaves out count too; None when there
        are fewer than ``at_least`` posts); with ``before``, exactly the time of the newest
        public post before it. None: no such post."""
        if before is not None:
            row = self.db.execute(
                f"""
                SELECT max(p.posted_at) FROM posts p JOIN sources s ON s.id = p.source_id
                WHERE s.person_id NOT IN ({_NOINDEX_PEOPLE}) AND p.posted_at < ?
                """,
                [_iso(before)],
            ).fetchone()
        else:
            (count,) = self.db.execute("SELECT count(*) FROM posts").fetchone()
            if count < max(at_least, 1):
                return None
            row = self.db.execute(
                "SELECT posted_at FROM posts ORDER BY posted_at LIMIT 1 OFFSET ?",
                [min(int(count * position), max(count - 1, 0))],
            ).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def site_people(self) -> list[SitePerson]:
        """Everyone the public site may name, with their post counts."""
        rows = self._dicts(
            f"""
            SELECT pe.name, pe.slug, pe.url, pe.active,
                   (SELECT count(*) FROM posts p JOIN sources s ON s.id = p.source_id
                    WHERE s.person_id = pe.id) AS posts
            FROM people pe
            WHERE pe.id NOT IN ({_NOINDEX_PEOPLE})
            ORDER BY pe.name COLLATE NOCASE
            """
        )
        return [
            SitePerson(
                name=row["name"],
                slug=row["slug"],
                url=row["url"],
                active=bool(row["active"]),
                posts=row["posts"],
            )
            for row in rows
        ]

    # ── performance: what tells a rebuild that nothing changed ───────────────────────────

    def site_version(self) -> int:
        """A number that grows with every change of posts or their topics (m010)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'site_version'").fetchone()
        return int(row[0]) if row else -1

    def posting_times(self, since: datetime) -> list[tuple[str, datetime]]:
        """(person slug, posted_at) of every post from ``since`` on: what time does to the
        site (activity counts relative to now) is worked out from these."""
        cursor = self.db.execute(
            """
            SELECT pe.slug, p.posted_at FROM posts p
            JOIN sources s ON s.id = p.source_id JOIN people pe ON pe.id = s.person_id
            WHERE p.posted_at >= ? ORDER BY p.posted_at, p.id
            """,
            [_iso(since)],
        )
        return [(str(slug), datetime.fromisoformat(posted)) for slug, posted in cursor]

    def trend_membership(
        self, recent_start: datetime, before_start: datetime, end: datetime
    ) -> list[tuple[int, bool]]:
        """Which posts trend_counts would read for these windows: (id, in the recent one),
        with the very same bounds, so that a change of either shows."""
        cursor = self.db.execute(
            """
            SELECT id, posted_at >= :recent FROM posts
            WHERE posted_at >= :before AND posted_at < :end ORDER BY id
            """,
            {"recent": _iso(recent_start), "before": _iso(before_start), "end": _iso(end)},
        )
        return [(int(post_id), bool(recent)) for post_id, recent in cursor]

    def has_empty_feed(self, topic_slugs: Sequence[str]) -> bool:
        """Whether the site's feed, or a topic's, would have no entry (it then shows the
        build time as its update time)."""
        public = f"""
            SELECT 1 FROM posts p JOIN sources s ON s.id = p.source_id
            WHERE s.person_id NOT IN ({_NOINDEX_PEOPLE}) LIMIT 1
        """
        if self.db.execute(public).fetchone() is None:
            return True
        tagged = f"""
            SELECT 1 FROM post_topics pt JOIN posts p ON p.id = pt.post_id
            JOIN sources s ON s.id = p.source_id
            WHERE pt.topic = ? AND s.person_id NOT IN ({_NOINDEX_PEOPLE}) LIMIT 1
        """
        return any(self.db.execute(tagged, [slug]).fetchone() is None for slug in topic_slugs)

    def build_stamp(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'site_build'").fetchone()
        return str(row[0]) if row else None

    def save_build_stamp(self, stamp: str) -> None:
        with self._transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('site_build', ?)", [stamp]
            )

    # ── email ────────────────────────────────────────────────────────────────────────────
    #
    # The emailed digest is private to the people in email.to, like local search: it reads
    # every person's posts, those who asked not to be indexed too (docs/email.md). A day is
    # recorded as sent only once the mail server accepted the message.

    def email_posts(
        self,
        *,
        posted_from: datetime,
        posted_until: datetime | None = None,
        seen_after: datetime | None = None,
        seen_until: datetime | None = None,
        text_chars: int = 4000,
    ) -> list[SitePost]:
        """Posts of ``[posted_from, posted_until)`` first seen in ``(seen_after, seen_until]``,
        oldest first, shaped as the site's (``SitePost``) so the same digest code reads them."""
        rows = self._dicts(
            f"""
            SELECT p.id, p.link, p.title, p.author, p.posted_at,
                   substr(p.text, 1, :chars) AS text,
                   substr(COALESCE(p.content_html, p.summary_html), 1, {_SITE_HTML_CHARS}) AS html,
                   p.links, p.content_warning, p.is_share,
                   s.url AS source_url, s.kind, pe.name AS person, pe.slug AS person_slug,
                   s.title AS source_title, s.home AS source_home,  -- ── labels (D) ──
                   (SELECT group_concat(t.topic || char(31) || t.terms, char(30))
                    FROM post_topics t WHERE t.post_id = p.id) AS tags
            FROM posts p
            JOIN sources s ON s.id = p.source_id
            JOIN people pe ON pe.id = s.person_id
            WHERE p.posted_at >= :posted_from
              AND (:posted_until IS NULL OR p.posted_at < :posted_until)
              AND (:seen_after IS NULL OR p.first_seen > :seen_after)
              AND (:seen_until IS NULL OR p.first_seen <= :seen_until)
            ORDER BY p.posted_at, p.id
            """,
            {
                "chars": text_chars,
                "posted_from": _iso(posted_from),
                "posted_until": posted_until and _iso(posted_until),
                "seen_after": seen_after and _iso(seen_after),
                "seen_until": seen_until and _iso(seen_until),
            },
        )
        return [_site_post(row) for row in rows]

    def record_email_sent(self, sent: SentDigest) -> None:
        """Remember a digest the mail server accepted (call it only after it did)."""
        with self._transaction():
            self.db.execute(
                """
                INSERT INTO email_sent
                    (day, sent_at, message_id, recipients, posts, covers_from, covers_until)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    sent.day.isoformat(),
                    _iso(sent.sent_at),
                    sent.message_id,
                    json.dumps(list(sent.recipients)),
                    sent.posts,
                    sent.covers_from and _iso(sent.covers_from),
                    sent.covers_until and _iso(sent.covers_until),
                ],
            )

    def email_sent(self, day: date) -> SentDigest | None:
        """The latest digest sent for ``day``, if one was."""
        rows = self._dicts(
            "SELECT * FROM email_sent WHERE day = ? ORDER BY sent_at DESC, id DESC LIMIT 1",
            [day.isoformat()],
        )
        return _sent_digest(rows[0]) if rows else None

    def email_window_start(self, before: date) -> datetime | None:
        """Where the daily digest of ``before`` starts: the end of the window of the last
        daily digest of an earlier day (None: there was none, so it starts from scratch).

        A resend of the same day (--force) starts where its first sending started.
        """
        row = self.db.execute(
            "SELECT max(covers_until) FROM email_sent WHERE day < ? AND covers_until IS NOT NULL",
            [before.isoformat()],
        ).fetchone()
        return _parse_time(row[0]) if row else None

    # ── reports (issue 8): what a scheduled run told ─────────────────────────────────────

    def reported_problems(self) -> list[ReportedProblem]:
        try:
            rows = self._dicts("SELECT * FROM reports ORDER BY since, key")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the database {self.path}: {exc}") from exc
        return [
            ReportedProblem(
                key=row["key"],
                kind=row["kind"],
                message=row["message"],
                since=datetime.fromisoformat(row["since"]),
                reported_at=datetime.fromisoformat(row["reported_at"]),
            )
            for row in rows
        ]

    def save_reports(self, keep: Sequence[ReportedProblem], drop: Sequence[str]) -> None:
        """The open problems after a run, in one transaction."""
        with self._transaction():
            self.db.conn.executemany("DELETE FROM reports WHERE key = ?", [[key] for key in drop])
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO reports (key, kind, message, since, reported_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    [r.key, r.kind, r.message, _iso(r.since), _iso(r.reported_at)]
                    for r in keep
                ],
            )

    def _dicts(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, params if params is not None else [])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]


# ── search ──
# Each filter is checked on a match's rowid, so that a match failing it is dropped before
# anything else is read for it, in one of two forms, chosen per search by how many posts
# pass the filter (Store._search_plan):
# - "set": a probe into the set of the ids of the posts that pass (`+rowid IN (…)`; the `+`
#   keeps FTS5 from running the query once per id). Built once per search, about 0.2 µs a
#   post (SQLite's ephemeral index); then 0.07–0.15 µs a match. For a filter that few posts
#   pass: a person, a month.
# - "row": a lookup per match (the post's row through the covering index posts_search_keys,
#   or post_topics' primary key), 0.2–0.35 µs a match, nothing built. For a filter that many
#   posts pass, where the newest matches that pass are found soon.
# Measured at 1M posts, for a word in 212,000 of them (CPU ms: no filter 7; a 27,000-post
# month as a set 41, per row 81; a person as a set 22). A topic is a set only up to 20,000
# posts: the water topic's 73,000 ids take 15 ms to put in a set, more than a lookup per
# match costs for any word but the commonest (1M posts, CPU ms, set against row: `drought`
# 44 → 22, `heco` 19 → 10, `zoqueru` 19.5 → 2.5, `koculu` 57 → 54; engineer C, 23 Nov).
FILTER_SET_LIMITS = {"person": 100_000, "topic": 20_000, "dates": 100_000}
_PERSON_SOURCES = """SELECT s.id FROM sources s JOIN people pe ON pe.id = s.person_id
    WHERE pe.name = :person COLLATE NOCASE OR pe.slug = lower(:person)"""
_FILTER_POSTS = {
    "person": f"SELECT id FROM posts WHERE source_id IN ({_PERSON_SOURCES})",
    "topic": "SELECT post_id FROM post_topics WHERE topic = :topic",
    "dates": "SELECT id FROM posts WHERE {dates}",
}
# The id column of each _FILTER_POSTS, to keep a set to a range of ids: post_topics' index
# seeks by topic then id; the `+` keeps SQLite from reading posts by id range instead of by
# source or date.
_FILTER_IDS = {"person": "+id", "topic": "post_id", "dates": "+id"}
_FILTER_ROW_CHECKS = {
    "person": f"p.source_id IN ({_PERSON_SOURCES})",
    "topic": "EXISTS (SELECT 1 FROM post_topics t WHERE t.post_id = posts_fts.rowid "
    "AND t.topic = :topic)",
    "dates": "{dates}",
}
_KEYS_JOIN = "JOIN posts p INDEXED BY posts_search_keys ON p.id = posts_fts.rowid"
SNIPPET_RANGE_ROWS = 20_000
# A filtered search over at least this many post ids reads the two halves of its id range
# at once, on two connections and two threads (Store._split_search): SQLite lets go of the
# GIL while it steps, so each half's walk, filter checks and bm25 get a core of their own.
# Each half pays bm25's idf counts and its own filter set, and the second half a thread:
# worth it where searches take tens of ms (1M posts: p95 66–76 → 55–57 ms of CPU on the
# critical path; at 20k a filtered search takes 1–2 ms). The bound itself was not tuned.
SPLIT_MIN_IDS = 200_000


@dataclass(frozen=True)
class _SearchPlan:
    """How a search runs: each filter's form ((name, "set" | "row") pairs), and the post ids
    its matches can have (a date range's lowest and highest, when it is checked as a set;
    else 0 to the highest; 0 and 0 for a search without filters, which does not split)."""

    forms: tuple[tuple[str, str], ...]
    id_low: int
    id_high: int


@dataclass(frozen=True)
class _Part:
    """One half of a split search: how many of its matches passed the filters (up to its
    cap + 1), the rowid of the one beyond its cap (0 when none was), and its best (id,
    score, posted_at, then _CANDIDATE_FIELDS), best first."""

    count: int
    cut: int
    ranked: list[tuple[Any, ...]]


def _date_range(since: bool, until: bool, table: str = "") -> str:
    return " AND ".join(
        [f"{table}posted_at >= :since"] * since + [f"{table}posted_at < :until"] * until
    )


def _search_params(
    text: str,
    limit: int,
    cap: int | None,
    person: str | None,
    topic: str | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    """The parameters of _search_sql's statement (and _plan_sql's)."""
    params: dict[str, Any] = {"match": text, "limit": limit, "snippet_rows": SNIPPET_RANGE_ROWS}
    params["text_chars"] = query.RERANK_TEXT_CHARS  # H: what query.exact_first reads
    optional = {"cap": cap, "person": person, "topic": topic}
    params.update({key: value for key, value in optional.items() if value is not None})
    if since:
        params["since"] = _iso(since)
    if until:
        params["until"] = _iso(until)
    return params


@functools.cache
def _plan_sql(filters: tuple[str, ...], since: bool, until: bool) -> str:
    """How many posts pass each of ``filters`` (counted up to its set limit + 1), then the
    lowest and highest id a match can have: a date range's own when all its posts were
    counted (ids mostly follow dates in an archive, so FTS5 can skip the rest of each
    doclist), else every post's."""
    counts = [
        f"(SELECT count(*) FROM ({_FILTER_POSTS[name]} LIMIT :set_limit_{name} + 1))"
        for name in filters
        if name != "dates"
    ]
    if "dates" not in filters:
        return f"SELECT {', '.join([*counts, '0', 'coalesce(max(id), 0)'])} FROM posts"
    # One pass over the date range's index entries counts them and finds their ids' bounds.
    counts.append("dated.posts")
    dated = f"""SELECT count(*) AS posts, min(id) AS low, max(id) AS high
        FROM (SELECT id FROM posts WHERE {_date_range(since, until)}
              LIMIT :set_limit_dates + 1)"""
    bounded = "dated.posts <= :set_limit_dates"
    every = "(SELECT coalesce(max(id), 0) FROM posts)"
    return f"""SELECT {", ".join(counts)},
        CASE WHEN {bounded} THEN coalesce(dated.low, 1) ELSE 0 END,
        CASE WHEN {bounded} THEN coalesce(dated.high, 0) ELSE {every} END
        FROM ({dated}) AS dated"""


def _match_checks(
    forms: tuple[tuple[str, str], ...], since: bool, until: bool, bounded: bool, half: bool
) -> list[str]:
    """What a match must pass: the query, and each filter in its form. When ``bounded``,
    the id range too (`rowid BETWEEN`, which FTS5 applies as it reads its doclists); for a
    ``half`` of a split search, its sets hold only the ids of its range."""
    dates = _date_range(since, until)
    checks = ["posts_fts MATCH :match"]
    if bounded:
        checks.append("posts_fts.rowid BETWEEN :id_low AND :id_high")
    for name, form in forms:
        if form == "set":
            posts = _FILTER_POSTS[name]
            if half:
                posts += f" AND {_FILTER_IDS[name]} BETWEEN :id_low AND :id_high"
            checks.append(f"+posts_fts.rowid IN ({posts.format(dates=dates)})")
        else:
            checks.append(_FILTER_ROW_CHECKS[name].format(dates=_date_range(since, until, "p.")))
    return checks


def _ranking_ctes(
    forms: tuple[tuple[str, str], ...],
    since: bool,
    until: bool,
    sort: str,
    capped: bool,
    bounded: bool,
    half: bool = False,
) -> str:
    """``matches``: every match that passes the filters, with its bm25 score. When
    ``capped``, FTS5 walks the matches newest first (its doclists are in rowid order: no
    sort) and stops after ``:cap`` + 1 that pass: bm25 is computed for those alone. The one
    beyond the cap only tells that there were more: ``cut`` is its rowid (0 when there were
    not). ``ranked``: the best ``:limit`` by score, the newer post first on a tie; the date
    is read only for the matches scoring as well as the ``:limit``-th (``threshold``).
    ``bounded``, ``half``: as in _match_checks."""
    weights = ", ".join(str(w) for w in FTS_WEIGHTS)
    checks = " AND ".join(_match_checks(forms, since, until, bounded, half))
    by_date = sort == "date"
    on_row = by_date or any(form == "row" and name != "topic" for name, form in forms)
    join = _KEYS_JOIN if on_row else ""
    if by_date:  # the newest by date: every match is looked at (no cap)
        matches = f"""SELECT posts_fts.rowid AS id, bm25(posts_fts, {weights}) AS score,
            p.posted_at FROM posts_fts {join} WHERE {checks}
            ORDER BY p.posted_at DESC, score LIMIT :limit"""
        cut = "SELECT 0 AS id"
        ranked = "SELECT id, score, posted_at FROM matches"
    else:
        newest = "ORDER BY posts_fts.rowid DESC LIMIT :cap + 1" if capped else ""
        matches = f"""SELECT posts_fts.rowid AS id, bm25(posts_fts, {weights}) AS score
            FROM posts_fts {join} WHERE {checks} {newest}"""
        cut = (
            """SELECT CASE WHEN (SELECT count(*) FROM matches) > :cap
                THEN (SELECT min(id) FROM matches) ELSE 0 END AS id"""
            if capped
            else "SELECT 0 AS id"
        )
        ranked = """SELECT m.id, m.score, p.posted_at
            FROM matches m JOIN posts p INDEXED BY posts_search_keys ON p.id = m.id
            WHERE m.id > (SELECT id FROM cut)
              AND m.score <= coalesce((SELECT score FROM threshold), 1e308)
            ORDER BY m.score, p.posted_at DESC LIMIT :limit"""
    threshold = """SELECT score FROM matches WHERE id > (SELECT id FROM cut)
        ORDER BY score LIMIT 1 OFFSET :limit - 1"""
    return f"""matches AS MATERIALIZED ({matches}),
        cut AS MATERIALIZED ({cut}),
        threshold AS MATERIALIZED ({threshold}),
        ranked AS MATERIALIZED ({ranked})"""


def _snippet_passes(hits: str, columns: str) -> str:
    """``columns`` (FTS5 auxiliary functions) for the ids in the CTE ``hits``, one of the
    two ways _hits_sql tells."""
    narrow = f"(SELECT max(id) - min(id) FROM {hits}) <= :snippet_rows"
    return f"""SELECT rowid AS id, {columns} FROM posts_fts
          WHERE posts_fts MATCH :match
          AND rowid BETWEEN (SELECT min(id) FROM {hits})
                        AND (SELECT CASE WHEN {narrow} THEN max(id) ELSE 0 END FROM {hits})
          AND +rowid IN (SELECT id FROM {hits})
        UNION ALL
        SELECT rowid AS id, {columns} FROM posts_fts
          WHERE posts_fts MATCH :match AND rowid IN (SELECT id FROM {hits} WHERE NOT {narrow})"""


def _hits_sql(order: str, cut: str) -> str:
    """The CTEs ``snippets`` (``bare``, ``fallbacks``) and the final SELECT: for the hits
    in ``ranked`` alone, their snippet, their row, source, person and topics; ``cut`` is
    the last column."""
    # Snippets, for the hits alone, one of two ways: when the hits lie within :snippet_rows
    # rowids, one pass of FTS5 over that range (the `+` keeps the IN list from FTS5); else
    # one FTS5 query per hit, which seeks afresh in every segment (0.05–0.5 ms a hit), where
    # a pass over a range as wide as the archive reads every match (17 ms for a word in
    # 212,000 of 1M posts). The way not taken is given an empty range or an empty list:
    # SQLite would still start FTS5 on it otherwise.
    # H (review finding 17): the snippet comes from the text when the text matches: the
    # title is shown right above it. When the text does not, the title matches and there
    # is a text, the text's start (what snippet() gives for a column without a match);
    # else (the author or the categories matched, or there is no text) the column that
    # matches best, as before. Those two are read for the hits whose text did not match
    # alone (`bare`), the same two ways. Cost, bench/search_scale.py's queries: +1.3 ms a
    # search at 1M posts, +0.3 at 20k, mostly snippet(1) tokenizing texts where the title
    # used to be read; all three in one pass for every hit cost the same.
    in_text = f"snippet(posts_fts, 1, char(2), char(3), '…', {SNIPPET_TOKENS})"
    in_title = f"instr(snippet(posts_fts, 0, '', char(2), '', {SNIPPET_TOKENS}), char(2))"
    best = f"snippet(posts_fts, -1, char(2), char(3), '…', {SNIPPET_TOKENS})"
    bare = "SELECT id FROM snippets WHERE NOT instr(snippet, char(2))"
    return f"""snippets AS MATERIALIZED ({_snippet_passes("ranked", f"{in_text} AS snippet")}),
        bare AS MATERIALIZED ({bare}),
        fallbacks AS MATERIALIZED (
            {_snippet_passes("bare", f"{in_title} AS in_title, {best} AS best")})
        SELECT r.id, r.score,
               CASE WHEN instr(n.snippet, char(2)) THEN n.snippet
                    WHEN n.snippet <> '' AND f.in_title THEN n.snippet
                    ELSE f.best END,
               p.title, p.link, p.published, p.posted_at, s.url, s.kind, pe.name,
               (SELECT json_group_array(json_array(t.topic, t.terms)) FROM post_topics t
                WHERE t.post_id = r.id),
               {cut}
        FROM ranked r
        LEFT JOIN snippets n ON n.id = r.id
        LEFT JOIN fallbacks f ON f.id = r.id
        JOIN posts p ON p.id = r.id
        JOIN sources s ON s.id = p.source_id
        JOIN people pe ON pe.id = s.person_id
        ORDER BY {order}"""


@functools.cache
def _search_sql(
    forms: tuple[tuple[str, str], ...], since: bool, until: bool, sort: str, capped: bool
) -> str:
    """The statement a search by date runs (and one by rank ran before H's window), for
    its filters and their forms ((name, "set" | "row") pairs); one text per shape, so that
    sqlite3's statement cache keeps each prepared:
    _ranking_ctes finds the best ``:limit``, _hits_sql reads what is shown of them. The last
    column of every row is ``cut`` (see _ranking_ctes)."""
    order = "r.posted_at DESC, r.score" if sort == "date" else "r.score, r.posted_at DESC"
    ctes = _ranking_ctes(forms, since, until, sort, capped, bounded=bool(forms))
    return f"WITH {ctes}, {_hits_sql(order, '(SELECT id FROM cut)')}"


@functools.cache
def _part_sql(forms: tuple[tuple[str, str], ...], since: bool, until: bool) -> str:
    """One half of a split search (:id_low to :id_high, capped, by rank): its count of
    matches, its ``cut`` and its best ``:limit`` as candidates (_window_sql's columns; a
    row of NULLs when it has none)."""
    ctes = _ranking_ctes(forms, since, until, "rank", capped=True, bounded=True, half=True)
    return f"""WITH {ctes}
        SELECT (SELECT count(*) FROM matches), (SELECT id FROM cut),
               r.id, r.score, r.posted_at, {_CANDIDATE_FIELDS}
        FROM (SELECT 1) LEFT JOIN ranked r ON 1 LEFT JOIN posts p ON p.id = r.id
        ORDER BY r.score, r.posted_at DESC"""


# ── H (review finding 16): bm25's best window, re-ordered in Python by the words as typed ──
# What query.exact_first reads of each candidate: its title, then the fields a word can be
# found in elsewhere (the text cut to its first :text_chars characters).
_CANDIDATE_FIELDS = "p.title, substr(p.text, 1, :text_chars), p.author, p.categories"


@functools.cache
def _window_sql(forms: tuple[tuple[str, str], ...], since: bool, until: bool, capped: bool) -> str:
    """bm25's best ``:limit`` of a search by rank, best first, as candidates: id, score,
    posted_at, then _CANDIDATE_FIELDS; the last column is ``cut`` (see _ranking_ctes)."""
    ctes = _ranking_ctes(forms, since, until, "rank", capped, bounded=bool(forms))
    return f"""WITH {ctes}
        SELECT r.id, r.score, r.posted_at, {_CANDIDATE_FIELDS}, (SELECT id FROM cut)
        FROM ranked r JOIN posts p ON p.id = r.id
        ORDER BY r.score, r.posted_at DESC"""


def _exact_first(match: str, candidates: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``candidates`` (in bm25's order) in query.exact_first's."""
    order = query.exact_first(query.own_words(match), [row[3:7] for row in candidates])
    return [candidates[index] for index in order]


# The hits chosen in Python, in their order (`key` in :ranked_ids).
_HITS_BY_ID_SQL = f"""WITH ranked AS MATERIALIZED (
        SELECT value AS id, key AS score FROM json_each(:ranked_ids)),
    {_hits_sql("r.score", "0")}"""


def _core_free() -> bool:
    """Whether a core is likely idle for a split search's second half: the load average of
    the last minute below the number of cores. On a busy machine the halves only take
    turns on the same cores, and pay twice what one statement pays once (1M posts, load
    2.3–3.4 with one core taken by another process: p95 wall 74–75 ms whole, 84–86 split)."""
    try:
        return os.getloadavg()[0] < (os.cpu_count() or 1)
    except (AttributeError, OSError):  # no load average here (Windows): assume one is free
        return True


def _part(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> _Part:
    rows = conn.execute(sql, params).fetchall()
    ranked = [row[2:] for row in rows if row[2] is not None]
    return _Part(rows[0][0], rows[0][1], ranked)


def _best_of(ranked: list[tuple[Any, ...]], limit: int) -> list[tuple[Any, ...]]:
    """The best ``limit`` by score, the newer post first on a tie (as _ranking_ctes)."""
    by_date = sorted(ranked, key=lambda hit: hit[2], reverse=True)
    return sorted(by_date, key=lambda hit: hit[1])[:limit]


class _Background:
    """A half of a split search, run at once on a thread of its own."""

    def __init__(self, call: Callable[[], _Part]) -> None:
        self._outcome: list[_Part | BaseException] = []
        self._unwanted = False
        self._thread = threading.Thread(target=self._run, args=(call,), name="pln-search")
        self._thread.start()

    def _run(self, call: Callable[[], _Part]) -> None:
        if self._unwanted:  # settled before this thread got to run: an interrupt came too early
            return
        try:
            self._outcome.append(call())
        except BaseException as exc:  # handed to whoever asks for the result
            self._outcome.append(exc)

    def result(self) -> _Part:
        self._thread.join()
        outcome = self._outcome[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def settle(self, connection: sqlite3.Connection) -> None:
        """Stop the half if it still runs (interrupting its statement on ``connection``)
        and wait for it; its outcome is not wanted."""
        self._unwanted = True
        if self._thread.is_alive():
            connection.interrupt()
        self._thread.join()


# ── FTS query checking, usable without a database ────────────────────────────────────────


def check_fts_query(match: str) -> str | None:
    """Why FTS5 cannot parse ``match`` against our columns, or None if it can.

    Runs the query against an empty in-memory table shaped like ours, so column filters
    (``title:drought``) are checked too.
    """
    conn = sqlite3.connect(":memory:")
    try:
        columns = ", ".join(FTS_COLUMNS)
        conn.execute(f"CREATE VIRTUAL TABLE q USING fts5({columns}, tokenize='{FTS_TOKENIZE}')")
        conn.execute("SELECT rowid FROM q WHERE q MATCH ?", [match]).fetchall()
    except sqlite3.OperationalError as exc:
        return str(exc).removeprefix("fts5: ")
    finally:
        conn.close()
    return None


# ── rows ─────────────────────────────────────────────────────────────────────────────────


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _content_hash(post: ParsedPost) -> str:
    fields = [
        post.link,
        post.title,
        post.author,
        post.published and post.published.isoformat(),
        post.updated and post.updated.isoformat(),
        post.summary_html,
        post.content_html,
        list(post.categories),
        post.content_warning,
    ]
    return hashlib.sha1(json.dumps(fields).encode()).hexdigest()


# Rows per INSERT statement at most: a feed's posts in one statement, without compiling a
# statement as long as the longest feed (SQLite compiles a VALUES list row by row).
_ROWS_PER_INSERT = 500


def _variable_limit(conn: sqlite3.Connection) -> int:
    """How many ``?`` one statement may hold (32,766 since SQLite 3.32; 999 before)."""
    return conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


# ── performance (goal 1) ── a post whose page `posts_awaiting_page` would still look at:
# not decided on in its current version, or failed with its next try due (at :now); posts
# stored before full text existed (m004's full_text_after) never are.
_UNDECIDED = """
    link IS NOT NULL
    AND first_seen > COALESCE((SELECT value FROM meta WHERE key = 'full_text_after'), '')
    AND (extract_hash IS NOT content_hash
         OR (extract_state = 'failed' AND extract_next <= :now))
"""


@dataclass(frozen=True)
class PageDecision:
    """── performance (goal 1) ── which new posts the fetch will want the page of, and how
    many undecided posts it looks at per source (see ``Store._settle_unwanted``)."""

    wanted: Callable[[PagePost], bool]
    limit: int


def _new_page_post(row: dict[str, Any]) -> PagePost:
    """A new post's row as ``posts_awaiting_page`` would read it back."""
    return PagePost(
        id=0,  # not known before the insert; the decision does not look at it
        link=row["link"],
        text=row["text"],
        has_full_content=bool(row["has_full_content"]),
        content_hash=row["content_hash"],
        attempts=0,
        needs_metadata=row["title"] is None or row["author"] is None or row["published"] is None,
        title=row["title"],
    )


def _post_row(
    source_id: int, post: ParsedPost, first_seen: datetime, content_hash: str
) -> dict[str, Any]:
    published = post.published
    return {
        "source_id": source_id,
        "guid": post.guid,
        "link": post.link,
        "title": post.title,
        "author": post.author,
        "published": published and _iso(published),
        "updated": post.updated and _iso(post.updated),
        "first_seen": _iso(first_seen),
        "posted_at": _iso(policy.posted_at(published, first_seen)),
        "summary_html": post.summary_html,
        "content_html": post.content_html,
        "text": post.text,
        "categories": ", ".join(post.categories),
        "links": json.dumps(list(post.links)),
        "has_full_content": int(post.has_full_content),
        "content_warning": post.content_warning,
        "is_share": int(post.is_share),
        "content_hash": content_hash,
    }


def _source_state(row: dict[str, Any]) -> SourceState:
    return SourceState(
        id=row["id"],
        url=row["url"],
        kind=SourceKind(row["kind"]),
        person=row["person"],
        fetch_url=row["fetch_url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_success=_parse_time(row["last_success"]),
        last_error=row["last_error"],
        last_error_at=_parse_time(row["last_error_at"]),
        failures=row["failures"],
        next_due=_parse_time(row["next_due"]),
        gone=bool(row["gone"]),
        redirect_to=row["redirect_to"],
    )


def _source_health(row: dict[str, Any]) -> SourceHealth:
    return SourceHealth(
        person=row["person"],
        url=row["url"],
        kind=SourceKind(row["kind"]),
        active=bool(row["active"]),
        fetch_url=row["fetch_url"],
        last_success=_parse_time(row["last_success"]),
        last_error=row["last_error"],
        last_error_at=_parse_time(row["last_error_at"]),
        failures=row["failures"],
        next_due=_parse_time(row["next_due"]),
        gone=bool(row["gone"]),
        redirect_to=row["redirect_to"],
        posts=row["posts"],
        last_post=_parse_time(row["last_post"]),
        via=row["via"],
        failing_since=_parse_time(row.get("failing_since")),  # m006_health
        name=labels.source_name(  # ── labels (D) ──
            SourceKind(row["kind"]), row["url"], row.get("title"), row["person"]
        ),
    )


def _site_post(row: dict[str, Any]) -> SitePost:
    """A row of ``Store.site_posts``; tags arrive as ``topic US terms RS topic US terms``."""
    tags = _site_tags(row["tags"] or "")
    kind, url, person = SourceKind(row["kind"]), row["source_url"], row["person"]
    return SitePost(
        id=int(row["id"]),
        link=row["link"],
        title=row["title"],
        person=person,
        person_slug=row["person_slug"],
        source_url=url,
        kind=kind,
        posted_at=datetime.fromisoformat(row["posted_at"]),
        text=row["text"] or "",
        html=row["html"],
        links=tuple(json.loads(row["links"])) if row["links"] not in (None, "[]") else (),
        author=row["author"],
        content_warning=row["content_warning"],
        is_share=bool(row["is_share"]),
        tags=tags,
        # ── labels ── the kind as its plain string: the labels' caches hash it on every post,
        # and an enum member hashes through a Python-level method.
        source_name=labels.source_name(row["kind"], url, row["source_title"], person),
        source_home=labels.source_home(row["kind"], url, row["source_home"]),
    )


# ── build speed (engineer G, issue 9) ── the same few topic-and-terms strings recur on
# thousands of posts: each is parsed once a build, not once a row.
@functools.lru_cache(maxsize=4096)
def _site_tags(stored: str) -> tuple[TopicTag, ...]:
    return tuple(
        TopicTag(slug, topics.parse_terms(terms))
        for slug, _, terms in (part.partition("\x1f") for part in stored.split("\x1e"))
        if slug
    )


def _page_post(row: dict[str, Any]) -> PagePost:
    return PagePost(
        id=row["id"],
        link=row["link"],
        text=row["text"],
        has_full_content=bool(row["has_full_content"]),
        content_hash=row["content_hash"],
        attempts=row["attempts"],
        needs_metadata=bool(row["needs_metadata"]),
        title=row.get("title"),  # G (review finding 6)
    )


def _search_row_hit(row: tuple[Any, ...]) -> SearchHit:
    """A row of _search_sql's statement as a hit."""
    post_id, score, snippet, title, link, published, posted_at = row[:7]
    source, kind, person, tags = row[7:11]
    topic_tags = (
        tuple(TopicTag(slug, topics.parse_terms(terms)) for slug, terms in sorted(json.loads(tags)))
        if tags != "[]"
        else ()
    )
    return SearchHit(
        title=title,
        url=link,
        person=person,
        source=source,
        kind=SourceKind(kind),
        published=_parse_time(published) or _parse_time(posted_at),
        topics=tuple(tag.slug for tag in topic_tags),
        snippet=snippet or "",
        rank=float(score),
        tags=topic_tags,
        id=int(post_id),
    )


def _sent_digest(row: dict[str, Any]) -> SentDigest:  # ── email ──
    return SentDigest(
        day=date.fromisoformat(row["day"]),
        sent_at=datetime.fromisoformat(row["sent_at"]),
        message_id=row["message_id"],
        recipients=tuple(json.loads(row["recipients"] or "[]")),
        posts=int(row["posts"]),
        covers_from=_parse_time(row["covers_from"]),
        covers_until=_parse_time(row["covers_until"]),
    )
