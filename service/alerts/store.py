"""The alerts database: one SQLite file with versioned migrations, saved searches, their matches and
the webhook outbox.

The file lives beside the index directory (`Settings.alerts_path`), never inside a versioned index
directory, so a rebuild cannot lose it. It is created when the first alert is saved: a service
that never saves one writes nothing.

Migrations are an ordered list of statement lists; `PRAGMA user_version` records how many have been
applied. Opening applies the missing ones in one transaction; a file written by newer code (a
higher user_version than this code knows) is refused with `AlertStoreError` rather than misread.

One connection per store, shared by the request threads and the delivery thread under a lock
(SQLite connections are not safe to use from two threads at once). WAL mode lets the CLI's
`alerts check` read and write while the service runs; writes are transactions (`BEGIN IMMEDIATE`).
A closed store stays closed: every later use raises `AlertStoreClosed`, so a delivery thread that
outlives the service's shutdown ends instead of reopening the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.alerts.models import Alert, Match, PendingDelivery

# Each entry is one schema version: the statements that take the previous version to it. Append new
# versions; never edit a released one (databases in the field already ran it).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            query TEXT NOT NULL,
            filters TEXT NOT NULL,              -- JSON, the FilterSpec with list values
            title TEXT,
            webhook_url TEXT,
            threshold REAL,                     -- NULL: Settings.alert_min_similarity
            created TEXT NOT NULL,              -- ISO 8601, UTC
            last_checked_version TEXT,          -- the index version last matched against
            last_checked TEXT
        )""",
        """CREATE TABLE matches (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            passage_key TEXT NOT NULL,          -- sha256 of document id + passage text
            found TEXT NOT NULL,
            index_version TEXT NOT NULL,
            document_id TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT,
            meeting_date TEXT,
            item TEXT,
            section TEXT,
            text TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            score REAL NOT NULL,
            baseline INTEGER NOT NULL,
            UNIQUE (alert_id, passage_key)
        )""",
        "CREATE INDEX matches_by_alert ON matches (alert_id, found)",
        """CREATE TABLE outbox (
            match_seq INTEGER PRIMARY KEY REFERENCES matches(seq) ON DELETE CASCADE,
            attempts INTEGER NOT NULL DEFAULT 0,
            delivered_at TEXT,
            last_error TEXT,
            leased_until TEXT                   -- a sender (service or CLI) is delivering it until then
        )""",
    ),
    # 2: the text each alert has seen of each paper, so a rebuild that changes no paper's text (a new
    # encoder, chunker or threshold) announces nothing: matches in an unchanged paper are baseline.
    (
        """CREATE TABLE alert_documents (
            alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            document_id TEXT NOT NULL,
            text_sha256 TEXT NOT NULL,          -- of the paper's clean text when the alert last saw it
            PRIMARY KEY (alert_id, document_id)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class AlertStoreError(Exception):
    """The alerts database cannot be used (written by newer code, unreadable)."""


class AlertStoreClosed(AlertStoreError):
    """The store was closed (the service is shutting down); it is not reopened."""


class AlertStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._closed = False

    # -- connection and migrations ----------------------------------------------------------
    def exists(self) -> bool:
        return self._conn is not None or self.path.exists()

    def open(self) -> None:
        """Connect (creating the file) and bring the schema up to date; idempotent."""
        with self._lock:
            if self._closed:
                raise AlertStoreClosed(f"the alerts database {self.path} was closed")
            if self._conn is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # isolation_level=None: we issue BEGIN/COMMIT ourselves, so DDL is transactional too
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
                try:
                    conn.row_factory = sqlite3.Row
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA foreign_keys=ON")
                    migrate(conn)
                except Exception:
                    conn.close()
                    raise
                self._conn = conn

    def close(self) -> None:
        """Close for good: later reads and writes raise AlertStoreClosed."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.open()
            assert self._conn is not None
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a query; no file yet means no rows (reads never create the database)."""
        with self._lock:
            if self._closed:
                raise AlertStoreClosed(f"the alerts database {self.path} was closed")
            if not self.exists():
                return []
            self.open()
            assert self._conn is not None
            return self._conn.execute(sql, params).fetchall()

    # -- alerts -----------------------------------------------------------------------------
    def add_alert(self, alert: Alert, baseline: list[Match], documents: dict[str, str] | None = None) -> None:
        """Save an alert with its baseline matches and the text hashes of the papers it has seen
        (document id -> sha256), in one transaction."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO alerts (id, query, filters, title, webhook_url, threshold, created, last_checked_version,"
                " last_checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    alert.id,
                    alert.query,
                    json.dumps(alert.filters, sort_keys=True),
                    alert.title,
                    alert.webhook_url,
                    alert.threshold,
                    alert.created,
                    alert.last_checked_version,
                    alert.created,
                ),
            )
            for match in baseline:
                _insert_match(conn, alert.id, match)
            _remember_documents(conn, alert.id, documents or {})

    _ALERT_COLUMNS = (
        "a.*, (SELECT COUNT(*) FROM matches m WHERE m.alert_id = a.id) AS match_count,"
        " (SELECT COUNT(*) FROM matches m WHERE m.alert_id = a.id AND NOT m.baseline) AS new_count"
    )

    def alerts(self) -> list[Alert]:
        """Every alert, newest first."""
        rows = self._read(f"SELECT {self._ALERT_COLUMNS} FROM alerts a ORDER BY a.created DESC, a.rowid DESC")
        return [_alert(r) for r in rows]

    def alert_count(self) -> int:
        rows = self._read("SELECT COUNT(*) FROM alerts")
        return int(rows[0][0]) if rows else 0

    def alert(self, alert_id: str) -> Alert | None:
        rows = self._read(f"SELECT {self._ALERT_COLUMNS} FROM alerts a WHERE a.id = ?", (alert_id,))
        return _alert(rows[0]) if rows else None

    def delete_alert(self, alert_id: str) -> bool:
        """Delete an alert with its matches and undelivered webhooks; False if there was none."""
        if not self.exists():
            return False
        with self._transaction() as conn:
            return conn.execute("DELETE FROM alerts WHERE id = ?", (alert_id,)).rowcount > 0

    def seen_documents(self, alert_id: str) -> dict[str, str]:
        """Document id -> the sha256 of its text when the alert last saw it (saved or checked)."""
        rows = self._read("SELECT document_id, text_sha256 FROM alert_documents WHERE alert_id = ?", (alert_id,))
        return {r["document_id"]: r["text_sha256"] for r in rows}

    # -- matches ----------------------------------------------------------------------------
    def record_check(
        self,
        alert_id: str,
        version: str,
        found: str,
        matches: list[Match],
        notify: bool,
        documents: dict[str, str] | None = None,
        threshold: float | None = None,
    ) -> list[Match]:
        """Record an alert's matches at an index version, skipping passages it already has; queue a
        webhook delivery for each new one that is not baseline when `notify`. `documents` (id ->
        text sha256) become the papers the alert has seen; `threshold` is pinned on an alert saved
        without one (by older code). Returns the matches that were new."""
        added = []
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM alerts WHERE id = ?", (alert_id,)).fetchone() is None:
                return []  # deleted while it was being checked
            for match in matches:
                seq = _insert_match(conn, alert_id, match)
                if seq is None:
                    continue
                added.append(match)
                if notify and not match.baseline:
                    conn.execute("INSERT INTO outbox (match_seq) VALUES (?)", (seq,))
            _remember_documents(conn, alert_id, documents or {})
            conn.execute(
                "UPDATE alerts SET last_checked_version = ?, last_checked = ?, threshold = COALESCE(threshold, ?)"
                " WHERE id = ?",
                (version, found, threshold, alert_id),
            )
        return added

    def matches(self, alert_id: str, limit: int, include_baseline: bool = True) -> list[Match]:
        """An alert's matches, newest first (best first within one check)."""
        where = "" if include_baseline else " AND NOT baseline"
        rows = self._read(
            f"SELECT * FROM matches WHERE alert_id = ?{where} ORDER BY found DESC, score DESC, seq LIMIT ?",
            (alert_id, limit),
        )
        return [_match(r) for r in rows]

    # -- webhook outbox ---------------------------------------------------------------------
    def pending_deliveries(self) -> list[PendingDelivery]:
        """Undelivered webhook posts, oldest first."""
        rows = self._read(
            "SELECT o.match_seq, o.attempts, a.id AS alert_id, a.query, a.title AS alert_title, a.webhook_url,"
            " m.* FROM outbox o JOIN matches m ON m.seq = o.match_seq JOIN alerts a ON a.id = m.alert_id"
            " WHERE o.delivered_at IS NULL AND a.webhook_url IS NOT NULL ORDER BY o.match_seq"
        )
        return [
            PendingDelivery(
                match_seq=r["match_seq"],
                attempts=r["attempts"],
                alert_id=r["alert_id"],
                alert_query=r["query"],
                alert_title=r["alert_title"],
                webhook_url=r["webhook_url"],
                match=_match(r),
            )
            for r in rows
        ]

    def lease_delivery(self, match_seq: int, now: str, until: str) -> bool:
        """Take a delivery for one sender until `until`, so the service and the CLI never both post it."""
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE outbox SET leased_until = ? WHERE match_seq = ? AND delivered_at IS NULL"
                " AND (leased_until IS NULL OR leased_until < ?)",
                (until, match_seq, now),
            )
            return cur.rowcount == 1

    def record_attempt(self, match_seq: int, when: str, error: str | None) -> None:
        with self._transaction() as conn:
            if error is None:
                conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, delivered_at = ?, last_error = NULL,"
                    " leased_until = NULL WHERE match_seq = ?",
                    (when, match_seq),
                )
            else:
                conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE match_seq = ?",
                    (error[:500], match_seq),
                )

    def release_delivery(self, match_seq: int) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE outbox SET leased_until = NULL WHERE match_seq = ?", (match_seq,))

    def outbox(self, alert_id: str) -> list[dict[str, Any]]:
        """The delivery record of an alert's matches (for the CLI and tests)."""
        rows = self._read(
            "SELECT m.passage_key, o.attempts, o.delivered_at, o.last_error FROM outbox o"
            " JOIN matches m ON m.seq = o.match_seq WHERE m.alert_id = ? ORDER BY o.match_seq",
            (alert_id,),
        )
        return [dict(r) for r in rows]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this database lacks, in one transaction; returns the schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise AlertStoreError(
            f"the alerts database has schema version {version}, newer than this minutes-qa knows"
            f" ({SCHEMA_VERSION}): upgrade minutes-qa, or point MINUTES_QA_ALERTS_DB at another file"
        )
    if version == SCHEMA_VERSION:
        return version
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return SCHEMA_VERSION


def _remember_documents(conn: sqlite3.Connection, alert_id: str, documents: dict[str, str]) -> None:
    """Upsert: a paper removed from the index keeps its last hash, so putting it back unchanged is
    not news either."""
    conn.executemany(
        "INSERT INTO alert_documents (alert_id, document_id, text_sha256) VALUES (?, ?, ?)"
        " ON CONFLICT (alert_id, document_id) DO UPDATE SET text_sha256 = excluded.text_sha256",
        [(alert_id, doc_id, digest) for doc_id, digest in sorted(documents.items())],
    )


def _insert_match(conn: sqlite3.Connection, alert_id: str, m: Match) -> int | None:
    """Insert a match unless the alert already has this passage; the new row id, or None."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO matches (alert_id, passage_key, found, index_version, document_id, title, body,"
        ' meeting_date, item, section, text, start, "end", score, baseline)'
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            alert_id,
            m.id,
            m.found,
            m.index_version,
            m.document_id,
            m.title,
            m.body,
            m.meeting_date,
            m.item,
            m.section,
            m.text,
            m.start,
            m.end,
            m.score,
            int(m.baseline),
        ),
    )
    return cur.lastrowid if cur.rowcount == 1 else None


def _alert(r: sqlite3.Row) -> Alert:
    return Alert(
        id=r["id"],
        query=r["query"],
        filters=json.loads(r["filters"]),
        title=r["title"],
        webhook_url=r["webhook_url"],
        threshold=r["threshold"],
        created=r["created"],
        last_checked_version=r["last_checked_version"],
        last_checked=r["last_checked"],
        match_count=r["match_count"],
        new_count=r["new_count"],
    )


def _match(r: sqlite3.Row) -> Match:
    return Match(
        id=r["passage_key"],
        found=r["found"],
        index_version=r["index_version"],
        document_id=r["document_id"],
        title=r["title"],
        body=r["body"],
        meeting_date=r["meeting_date"],
        item=r["item"],
        section=r["section"],
        text=r["text"],
        start=r["start"],
        end=r["end"],
        score=r["score"],
        baseline=bool(r["baseline"]),
    )
