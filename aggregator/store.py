"""All state in one SQLite file, through sqlite-utils: the only module that speaks SQL.

Tables: ``people``, ``sources`` (with the HTTP state and health of each), ``posts`` (one row
per entry per source) and ``posts_fts``, an FTS5 index over title, text, author and
categories that triggers keep in step with ``posts``. The schema grows by migrations only.

Times are stored as ISO 8601 text in UTC (``2026-11-22T09:30:00+00:00``), which sorts
correctly as text.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from aggregator import policy, query
from aggregator.errors import InvalidQueryError, StorageError
from aggregator.models import (
    Config,
    MastodonCursor,
    MastodonRead,
    ParsedPost,
    SearchHit,
    SourceHealth,
    SourceKind,
    SourceState,
)

# Porter stemming over unicode61 with diacritics folded: "water" finds "waters", "cafe"
# finds "café".
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"
FTS_COLUMNS = ("title", "text", "author", "categories")
# bm25 weights, in FTS_COLUMNS order: a match in the title counts most.
FTS_WEIGHTS = (10.0, 1.0, 3.0, 2.0)
SNIPPET_TOKENS = 24
_IN_CHUNK = 500  # SQLite's default limit on host parameters is generous; stay well under it

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


@dataclass(frozen=True)
class SaveCounts:
    new: int
    updated: int


class Store:
    """An open pln database. Use ``Store.open(path)`` and close it (or use ``with``)."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path

    # ── opening ──────────────────────────────────────────────────────────────────────────

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating if needed) the database at ``path`` and bring its schema up to date."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=30)
            db = Database(conn)
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
            db = Database(conn)
            if migrations.pending(db):
                raise StorageError(
                    f"the database {path} is from an older pln: run `pln fetch` to upgrade it"
                )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the database {path}: {exc}") from exc
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
    ) -> SaveCounts:
        """Store a source's posts and its new HTTP state in one transaction.

        A post already stored with the same content is left alone; one whose content changed
        (an edit) is updated in place, keeping its first-seen time.
        """
        with self._transaction():
            counts = self._save_posts(source_id, posts, now)
            self.db.execute(
                """
                UPDATE sources SET fetch_url = ?, etag = ?, last_modified = ?,
                    body_hash = COALESCE(?, body_hash), last_success = ?, failures = 0,
                    next_due = NULL, redirect_to = ?
                WHERE id = ?
                """,
                [fetch_url, etag, last_modified, body_hash, _iso(now), redirect_to, source_id],
            )
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

    def _save_posts(self, source_id: int, posts: Sequence[ParsedPost], now: datetime) -> SaveCounts:
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
            self.db.table("posts").insert_all(new_rows)
        return SaveCounts(new=len(new_rows), updated=updated)

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
    ) -> list[SearchHit]:
        """Posts matching ``text``, best first (or newest first with ``sort="date"``).

        A query FTS5 cannot parse is retried as the literal words it contains; only a query
        with no words at all is an InvalidQueryError.
        """
        try:
            return self._search(text, limit, sort, person, topic, since, until)
        except sqlite3.OperationalError as exc:
            if check_fts_query(text) is None:  # the query is fine: the database is not
                raise StorageError(f"search failed: {exc}") from exc
            literal = query.literal_query(text)
            if literal is None:
                raise InvalidQueryError(text, "it holds no word to search for") from exc
            try:
                return self._search(literal, limit, sort, person, topic, since, until)
            except sqlite3.OperationalError as again:
                raise InvalidQueryError(text, str(again)) from again

    def _search(
        self,
        match: str,
        limit: int,
        sort: str,
        person: str | None,
        topic: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> list[SearchHit]:
        weights = ", ".join(str(w) for w in FTS_WEIGHTS)
        filters = ["posts_fts MATCH :match"]
        params: dict[str, Any] = {"match": match, "limit": limit}
        if person:
            filters.append("(pe.name = :person COLLATE NOCASE OR pe.slug = :person)")
            params["person"] = person
        if topic:
            filters.append("p.id IN (SELECT post_id FROM post_topics WHERE topic = :topic)")
            params["topic"] = topic
        if since:
            filters.append("p.posted_at >= :since")
            params["since"] = _iso(since)
        if until:
            filters.append("p.posted_at < :until")
            params["until"] = _iso(until)
        order = "p.posted_at DESC" if sort == "date" else "rank, p.posted_at DESC"
        sql = f"""
            SELECT p.id, p.title, p.link, p.published, p.posted_at,
                   s.url AS source, s.kind, pe.name AS person,
                   snippet(posts_fts, -1, char(2), char(3), '…', {SNIPPET_TOKENS}) AS snippet,
                   bm25(posts_fts, {weights}) AS rank,
                   (SELECT group_concat(topic, ' ') FROM post_topics t WHERE t.post_id = p.id)
                       AS topics
            FROM posts_fts
            JOIN posts p ON p.id = posts_fts.rowid
            JOIN sources s ON s.id = p.source_id
            JOIN people pe ON pe.id = s.person_id
            WHERE {" AND ".join(filters)}
            ORDER BY {order}
            LIMIT :limit
        """
        return [_search_hit(row) for row in self._dicts(sql, params)]

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
        return [_source_health(row) for row in rows]

    def post_count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM posts").fetchone()
        return int(row[0])

    def _dicts(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, params if params is not None else [])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]


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
    )


def _search_hit(row: dict[str, Any]) -> SearchHit:
    return SearchHit(
        title=row["title"],
        url=row["link"],
        person=row["person"],
        source=row["source"],
        kind=SourceKind(row["kind"]),
        published=_parse_time(row["published"]) or _parse_time(row["posted_at"]),
        topics=tuple(sorted((row["topics"] or "").split())),
        snippet=row["snippet"] or "",
        rank=float(row["rank"]),
    )
