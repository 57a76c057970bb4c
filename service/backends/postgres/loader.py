"""One index version from PostgreSQL as a `LoadedIndex` (the answering data the pipeline reads in
memory), with a `PostgresBackend` attached for the rankings, pinned to that version."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from indexer.embed import Embedder
from indexer.lexical import LexicalIndex
from indexer.models import Chunk, DocumentMeta, Section, Unit
from indexer.store import IndexLoadError
from service.backends import attach_backend
from service.backends.postgres.clauses import visible
from service.backends.postgres.rankings import ConnectionPool, PostgresBackend, common_terms
from service.backends.postgres.schema import as_array, check_schema, connect
from service.index import Document, LoadedIndex

_META_FIELDS = set(DocumentMeta.__dataclass_fields__)
_VISIBLE = visible()


class RankedInDatabase:
    """Stands where the embedded index keeps its FAISS and BM25 indexes: with a database, the
    rankings run in SQL (PostgresBackend), so in-process search is a bug."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"this index is ranked in PostgreSQL: use its retrieval backend, not .{name}")


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "the configured database"
    return f"database {parts.get('dbname', '?')} at {parts.get('host', 'localhost')}:{parts.get('port', 5432)}"


def current_version(url: str) -> int | None:
    import psycopg

    try:
        with connect(url, autocommit=True, timeout=3) as conn:
            return conn.execute("SELECT max(version) FROM index_versions").fetchone()[0]
    except psycopg.Error:
        return None


def load_database_index(
    url: str,
    embedder: Embedder,
    pool: ConnectionPool | None = None,
    lexical: str = "database",
    on_version_gone: Callable[[], None] | None = None,
) -> LoadedIndex:
    """The live version, read in one consistent snapshot; any problem is an IndexLoadError naming the fix."""
    try:
        import psycopg
    except ImportError:
        raise IndexLoadError(
            "MINUTES_QA_DATABASE_URL is set but the PostgreSQL driver is not installed: "
            "pip install 'minutes-qa[postgres]'"
        ) from None

    try:
        conn = connect(url, timeout=5)
    except psycopg.Error as exc:
        raise IndexLoadError(f"cannot reach the index {describe(url)}: {str(exc).strip()}") from None
    try:
        with conn:
            check_schema(conn, embedder.model_name, embedder.dimension)
            conn.commit()
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            return _read_version(conn, url, embedder, pool, lexical, on_version_gone)
    except psycopg.Error as exc:
        raise IndexLoadError(f"the index {describe(url)} could not be read: {str(exc).strip()}") from None


def _read_version(
    conn: Any,
    url: str,
    embedder: Embedder,
    pool: ConnectionPool | None,
    lexical: str = "database",
    on_version_gone: Callable[[], None] | None = None,
) -> LoadedIndex:
    row = conn.execute(
        "SELECT version, manifest, doc_order, passages FROM index_versions ORDER BY version DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise IndexLoadError(f"the index {describe(url)} holds no index yet: run `minutes-qa index --database-url …`")
    version, manifest, doc_order = int(row[0]), row[1], list(row[2])
    if row[3] is None:  # indexed before migration 0003: the feedback in SQL has no term counts to weigh by
        raise IndexLoadError(
            f"the index {describe(url)} version {version} has no feedback term counts (it was indexed before "
            "migration 0003): run `minutes-qa index --database-url …` once to fill them"
        )
    p = {"v": version}
    docs_raw = {
        r[0]: r[1:]
        for r in conn.execute(f"SELECT doc_id, meta, text, sections, pages, units FROM documents WHERE {_VISIBLE}", p)
    }
    if set(docs_raw) != set(doc_order):
        raise IndexLoadError(f"the index {describe(url)} version {version} is inconsistent (papers differ)")
    common = common_terms(conn, version)
    cur = conn.cursor(binary=True)
    chunk_rows = cur.execute(f"SELECT id, doc_id, ord, data, embedding FROM chunks WHERE {_VISIBLE}", p).fetchall()
    sentence_rows = cur.execute(
        f"SELECT id, doc_id, ord, chunk_ord, start_offset, end_offset, embedding FROM sentences WHERE {_VISIBLE}", p
    ).fetchall()
    conn.commit()
    if len(chunk_rows) != int(row[3]):
        raise IndexLoadError(f"the index {describe(url)} version {version} is inconsistent (passage count)")

    pos = {d: i for i, d in enumerate(doc_order)}
    chunk_rows.sort(key=lambda r: (pos[r[1]], r[2]))
    sentence_rows.sort(key=lambda r: (pos[r[1]], r[2]))
    documents: dict[str, Document] = {}
    for doc_id in doc_order:
        meta_raw, text, sections, pages, _ = docs_raw[doc_id]
        meta = DocumentMeta(**{k: v for k, v in _json(meta_raw).items() if k in _META_FIELDS})
        documents[doc_id] = Document(
            meta, text, [Section(**s) for s in _json(sections)], [(int(a), int(b)) for a, b in _json(pages)]
        )
    chunks = [Chunk.from_dict(_json(r[3])) for r in chunk_rows]
    base: dict[str, int] = {}
    for i, chunk in enumerate(chunks):
        base.setdefault(chunk.doc_id, i)
    n = len(chunks)
    spans = np.array([[base[r[1]] + r[3], r[4], r[5]] for r in sentence_rows], dtype=np.int64).reshape(-1, 3)
    chunk_sentences: list[list[int]] = [[] for _ in range(n)]
    for row, ci in enumerate(spans[:, 0].tolist()):
        chunk_sentences[ci].append(row)
    units: list[Unit] = []
    for doc_id in doc_order:
        for u in _json(docs_raw[doc_id][4]):
            units.append(Unit(**{**u, "chunks": [base[doc_id] + c for c in u["chunks"]]}))
    chunk_units: list[list[int]] = [[] for _ in range(n)]
    doc_facts: dict[str, list[int]] = {d: [] for d in documents}
    for row, u in enumerate(units):
        for c in u.chunks:
            chunk_units[c].append(row)
        if u.kind == "fact":
            doc_facts[u.doc_id].append(row)
    dim = embedder.dimension
    chunk_vectors = _matrix([r[4] for r in chunk_rows], dim)
    sentence_vectors = _matrix([r[6] for r in sentence_rows], dim)
    in_db = cast(Any, RankedInDatabase())
    index = LoadedIndex(
        version=f"pg-{version}",
        manifest=manifest if isinstance(manifest, dict) else json.loads(manifest),
        documents=documents,
        chunks=chunks,
        chunk_doc=np.array([pos[c.doc_id] for c in chunks], dtype=np.int32),
        doc_order=doc_order,
        chunk_vectors=chunk_vectors,
        sentence_spans=spans,
        sentence_vectors=sentence_vectors,
        chunk_sentences=chunk_sentences,
        faiss_index=in_db,
        lexical=in_db,
        sentence_faiss=in_db,
        sentence_lexical=in_db,
        embedder=embedder,
        units=units,
        chunk_units=chunk_units,
        doc_facts=doc_facts,
    )
    backend = PostgresBackend(
        index,
        pool or ConnectionPool(url),
        version,
        chunk_positions={int(r[0]): i for i, r in enumerate(chunk_rows)},
        sentence_positions={int(r[0]): i for i, r in enumerate(sentence_rows)},
        common_terms=common,
        lexical_in_memory=lexical == "memory",
        on_version_gone=on_version_gone,
    )
    if lexical == "memory":
        index.lexical, index.sentence_lexical = _bm25_in_memory(index)
    attach_backend(index, backend)
    return index


def _bm25_in_memory(index: LoadedIndex) -> tuple[LexicalIndex, LexicalIndex]:
    """The BM25 indexes the index folder holds, built from the loaded text (the same texts as
    indexer/build.py: the paper's title line, then the passage; for a sentence also its section)."""
    from indexer.version_writer import meta_line

    lines = {d: meta_line(doc.meta) for d, doc in index.documents.items()}
    chunk_texts = [f"{lines[c.doc_id]}\n{c.search_text}" for c in index.chunks]
    sentence_texts = []
    for ci, s, e in index.sentence_spans.tolist():
        chunk = index.chunks[ci]
        sentence_texts.append(
            f"{lines[chunk.doc_id]}\n{chunk.section or ''}\n{index.documents[chunk.doc_id].text[s:e]}"
        )
    return LexicalIndex.build(chunk_texts), LexicalIndex.build(sentence_texts)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _matrix(rows: list[Any], dim: int) -> np.ndarray:
    out = np.asarray([as_array(r) for r in rows], dtype=np.float32).reshape(-1, dim)
    out.setflags(write=False)
    return out
