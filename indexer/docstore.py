"""The index's text and metadata store: one SQLite file read in place, never parsed whole.

    documents(pos, id, meta, sections, pages, facts, text)   one row per paper, in corpus order
    chunks(row, data)        a Chunk as JSON, looked up by its global row
    units(row, data)         a Unit (and meeting fact) as JSON, by its global row
    term_df(term, df)        passages holding each search term (the scorer's IDF, counted at build)

Why SQLite and not JSON or Arrow: the service reads a handful of chunks, units and one or two
document texts per question, so a B-tree lookup by row (a few microseconds, pages cached by the
OS) costs nothing at query time, while load time and RSS stop growing with the corpus. Arrow
(memory-mapped IPC) would do the same but is a new dependency and is not installed; stdlib
sqlite3 measured 12.5–25 µs per uncached chunk read including JSON decoding, at 100× and 1000×
the real corpus (bench/RESULTS.md, 2026-12-07 #14).

Numeric per-row arrays (sentence spans, chunk → document, the chunk → sentences / units lists)
are .npy files memory-mapped next to it (service/index.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

STORE_NAME = "store.sqlite"

_SCHEMA = """
CREATE TABLE documents (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, meta TEXT NOT NULL,
                        sections TEXT NOT NULL, pages TEXT NOT NULL, facts TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE units (row INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
"""


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class DocStoreWriter:
    """Appends rows as the build produces them (documents, chunks and units in global order), so
    the build never has to hold every row's JSON at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path)
        self._closed = False
        # A fresh file written once, then published with its checksum: no journal is needed,
        # and a crash mid-write leaves only the build's temporary directory behind.
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(_SCHEMA)
        self.chunk_count = 0
        self.unit_count = 0
        self.document_count = 0

    def add_document(
        self,
        doc_id: str,
        meta: dict[str, Any],
        sections: list[dict[str, Any]],
        pages: list[list[int]],
        facts: list[int],
        text: str,
    ) -> None:
        self._db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.document_count, doc_id, _dumps(meta), _dumps(sections), _dumps(pages), _dumps(facts), text),
        )
        self.document_count += 1

    def add_chunks(self, chunks: Iterable[dict[str, Any]]) -> None:
        rows = [(self.chunk_count + i, _dumps(c)) for i, c in enumerate(chunks)]
        self._db.executemany("INSERT INTO chunks VALUES (?, ?)", rows)
        self.chunk_count += len(rows)

    def add_units(self, units: Iterable[dict[str, Any]]) -> None:
        rows = [(self.unit_count + i, _dumps(u)) for i, u in enumerate(units)]
        self._db.executemany("INSERT INTO units VALUES (?, ?)", rows)
        self.unit_count += len(rows)

    def set_term_df(self, df: dict[str, int]) -> None:
        self._db.executemany("INSERT INTO term_df VALUES (?, ?)", sorted(df.items()))

    def close(self) -> None:
        if self._closed:  # (a failed build closes it again on its way out)
            return
        self._db.commit()
        self._db.close()
        self._closed = True


class DocStore:
    """Read-only access to a published store. One connection per thread (the service answers in
    a thread pool); the file is opened immutable, so SQLite takes no locks and never writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        db = self._db()  # fail now, not at the first question, if the file is not a store
        db.execute("SELECT count(*) FROM documents").fetchone()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def count(self, table: str) -> int:
        if table not in ("documents", "chunks", "units"):
            raise ValueError(table)
        return int(self._db().execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def row(self, table: str, row: int) -> dict[str, Any]:
        if table not in ("chunks", "units"):
            raise ValueError(table)
        found = self._db().execute(f"SELECT data FROM {table} WHERE row = ?", (row,)).fetchone()
        if found is None:
            raise IndexError(f"{table} row {row} out of range")
        return json.loads(found[0])

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row in order, streamed (a full pass decodes one row at a time)."""
        if table not in ("chunks", "units"):
            raise ValueError(table)
        for (data,) in self._db().execute(f"SELECT data FROM {table} ORDER BY row"):
            yield json.loads(data)

    def document_heads(self) -> Iterator[tuple[str, dict[str, Any], list[int]]]:
        """(id, meta, fact unit rows) of every document in corpus order; texts are left on disk."""
        for doc_id, meta, facts in self._db().execute("SELECT id, meta, facts FROM documents ORDER BY pos"):
            yield doc_id, json.loads(meta), json.loads(facts)

    def document_body(self, doc_id: str) -> tuple[str, list[dict[str, Any]], list[list[int]]]:
        """(text, sections, pages) of one document."""
        found = self._db().execute("SELECT text, sections, pages FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if found is None:
            raise KeyError(doc_id)
        return found[0], json.loads(found[1]), json.loads(found[2])

    def term_df(self) -> dict[str, int]:
        return dict(self._db().execute("SELECT term, df FROM term_df"))
