"""`minutes-qa index --database-url …`: the corpus into PostgreSQL, incrementally, one transaction
per update.

A paper whose content hash (parser version, model, manifest entry, file bytes) is unchanged keeps
its rows; a new or changed paper gets new rows and its old rows are marked removed; a paper gone
from the manifest is marked removed. Vectors are reused by content key (sha256 of model and text)
from any row still stored, so an edit re-embeds only the passages it changed. The whole update —
new rows, removals, the new `index_versions` row — commits at once: a reader pinned to the previous
version keeps seeing it whole (see migrations/0001_index_schema.sql).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexer.build import PARSER_VERSION, parse_document
from indexer.chunker import Chunker
from indexer.corpus import CorpusError, CorpusProblem, load_manifest
from indexer.embed import Embedder
from indexer.lexical import token_set, tokenize
from indexer.models import DocumentMeta, ParsedDocument
from indexer.tokens import count_tokens
from indexer.version_writer import meta_line
from service.backends.fusion import rm3_candidate
from service.backends.postgres.clauses import visible
from service.backends.postgres.schema import as_array, connect, ensure_partition, migrate
from service.filters import date_span

KEEP_VERSIONS = 3  # as the file index: versions a lagging reader may still be pinned to
UNKNOWN_COUNCIL = "unknown"  # the partition of papers whose council the manifest does not name
_MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
_MAX_POSITIONS_PER_TERM = 256  # and most positions kept per lexeme
# PostgreSQL refuses a lexeme of 2 KB or more (ProgramLimitExceeded) in a tsvector or a tsquery; such a
# "word" (a run of letters in a scan's text layer, a pasted blob) is no search term: it is left out.
MAX_LEXEME_BYTES = 2046
WRITER_LOCK = 7715002  # advisory lock: one update at a time

# Encodes texts into normalised vectors: the embedder itself, or a pool of workers (indexer/parallel_embed.py).
EncodeFn = Callable[[list[str]], np.ndarray]


@dataclass
class DatabaseIndexReport:
    version: int | None
    up_to_date: bool = False
    documents: int = 0
    documents_added: int = 0
    documents_removed: int = 0
    chunks: int = 0
    sentences: int = 0
    vectors_embedded: int = 0
    vectors_reused: int = 0
    skipped: list[CorpusProblem] = field(default_factory=list)
    migrations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"applied migration {m}" for m in self.migrations]
        if self.up_to_date:
            return "\n".join([*lines, f"database index is up to date (version {self.version})"])
        lines += [
            f"published database index version {self.version}",
            f"  {self.documents} documents ({self.documents_added} new or changed, {self.documents_removed} removed),"
            f" {self.chunks} chunks and {self.sentences} sentences written in {self.seconds:.1f}s",
            f"  vectors: {self.vectors_embedded} embedded, {self.vectors_reused} reused",
        ]
        lines += [f"  skipped {p.file}: {p.message}" for p in self.skipped]
        return "\n".join(lines)


def council_of(meta: DocumentMeta) -> str:
    return (meta.council or "").strip() or UNKNOWN_COUNCIL


def content_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def document_hash(corpus_dir: Path, meta: DocumentMeta, model: str, ocr: bool) -> str:
    h = hashlib.sha256(f"{PARSER_VERSION}{'+ocr' if ocr else ''}\0{model}\0".encode())
    h.update(json.dumps(meta.to_dict(), sort_keys=True).encode())
    h.update(hashlib.sha256((corpus_dir / meta.file).read_bytes()).digest())
    return h.hexdigest()


def tsvector_literal(text: str) -> str:
    """The text's BM25 terms (`indexer.lexical.tokenize`: stems, synonyms, amounts) as a tsvector
    literal with positions, so PostgreSQL searches exactly the terms the embedded index does."""
    positions: dict[str, list[int]] = {}
    for i, token in enumerate(tokenize(text), 1):
        if not fits_lexeme(token):
            continue
        kept = positions.setdefault(token, [])
        if len(kept) < _MAX_POSITIONS_PER_TERM:
            kept.append(min(i, _MAX_POSITION))
    return " ".join(f"'{quote_lexeme(t)}':{','.join(map(str, sorted(set(p))))}" for t, p in positions.items())


def feedback_candidates(search_text: str) -> list[str]:
    """A passage's terms that may become feedback terms (chunks.feedback_terms), sorted."""
    return sorted(t for t in token_set(search_text) if rm3_candidate(t))


def fits_lexeme(term: str) -> bool:
    return len(term.encode()) <= MAX_LEXEME_BYTES


def quote_lexeme(term: str) -> str:
    return term.replace("\\", "\\\\").replace("'", "''")


def index_database(
    corpus_dir: Path,
    url: str,
    embedder: Embedder,
    *,
    force: bool = False,
    on_error: str = "fail",
    ocr: bool = False,
    encode: EncodeFn | None = None,
    batch: int = 256,
) -> DatabaseIndexReport:
    """Bring the database's index up to date with the corpus; returns what changed."""
    started = time.perf_counter()
    model = embedder.model_name
    report = DatabaseIndexReport(version=None, migrations=migrate(url, model, embedder.dimension))
    metas = load_manifest(corpus_dir)
    with connect(url) as conn:
        # One writer at a time, from the first change on: a session lock (the partitions below commit
        # one by one), released when the connection closes.
        conn.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))
        conn.commit()
        for council in sorted({council_of(m) for m in metas}):
            ensure_partition(conn, council)  # each in its own short transaction (it locks the parent)
            conn.commit()
        current = conn.execute("SELECT coalesce(max(version), 0) FROM index_versions").fetchone()[0]
        _drop_orphans(conn, current)
        conn.commit()
        _fill_feedback_counts(conn)  # a database indexed before migration 0003
        conn.commit()
        live = dict(
            conn.execute(
                f"SELECT doc_id, content_hash FROM documents WHERE {visible()}",
                {"v": current},
            ).fetchall()
        )
        hashes = {m.id: document_hash(corpus_dir, m, model, ocr) for m in metas}
        changed = [m for m in metas if force or live.get(m.id) != hashes[m.id]]
        gone = sorted(set(live) - set(hashes))
        order = [m.id for m in metas]
        previous_order = conn.execute("SELECT doc_order FROM index_versions WHERE version = %s", (current,)).fetchone()
        if not changed and not gone and previous_order and list(previous_order[0]) == order:
            conn.rollback()
            report.up_to_date, report.version = True, current
            return report

        chunker = Chunker(count_tokens, embedder.count_tokens, embedder.max_tokens)
        parsed: list[ParsedDocument] = []
        for meta in changed:
            try:
                parsed.append(parse_document(meta, corpus_dir, chunker, ocr=ocr))
            except CorpusError as exc:
                if on_error != "skip":
                    raise
                report.skipped.append(CorpusProblem(meta.id, meta.file, str(exc)))
                print(f"warning: skipped {meta.file}: {exc}", file=sys.stderr)
        skipped_ids = {p.doc_id for p in report.skipped}
        order = [d for d in order if d not in skipped_ids]
        if not order:
            raise CorpusError("no paper could be indexed")

        vectors = _vectors_for(conn, parsed, model, encode or embedder.encode, batch, report)
        new = current + 1
        replaced = [d.meta.id for d in parsed if d.meta.id in live] + [d for d in skipped_ids if d in live] + gone
        for table in ("documents", "chunks", "sentences"):
            conn.execute(
                f"UPDATE {table} SET removed = %s WHERE doc_id = ANY(%s) AND removed IS NULL",  # noqa: S608
                (new, replaced),
            )
        for d in parsed:
            _insert_document(conn, d, hashes[d.meta.id], new, model, vectors)
        manifest = {
            "model": model,
            "dimension": int(embedder.dimension),
            "parser_version": PARSER_VERSION,
            "documents": len(order),
            "skipped": [p.__dict__ for p in report.skipped],
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        conn.execute(
            "INSERT INTO index_versions (version, manifest, doc_order) VALUES (%s, %s, %s)",
            (new, json.dumps(manifest), order),
        )
        _count_terms(conn, new)
        _forget_old_versions(conn, new)
        conn.commit()
    report.version = new
    report.documents = len(order)
    report.documents_added = len(parsed)
    report.documents_removed = len(gone)
    report.chunks = sum(len(d.chunks) for d in parsed)
    report.sentences = sum(len(d.sentences) for d in parsed)
    report.seconds = time.perf_counter() - started
    return report


def _texts(d: ParsedDocument) -> tuple[list[str], list[str]]:
    return [c.search_text for c in d.chunks], [d.text[s:e] for (_, s, e) in d.sentences]


def _vectors_for(
    conn: Any, docs: Sequence[ParsedDocument], model: str, encode: EncodeFn, batch: int, report: DatabaseIndexReport
) -> dict[str, np.ndarray]:
    """Vectors of every text of `docs` by content key: stored ones reused, the others encoded."""
    texts = {content_key(model, t): t for d in docs for part in _texts(d) for t in part}
    found: dict[str, np.ndarray] = {}
    keys = list(texts)
    for table in ("chunks", "sentences"):
        wanted = [k for k in keys if k not in found]
        if wanted:
            rows = conn.execute(
                f"SELECT DISTINCT ON (content_key) content_key, embedding FROM {table}"  # noqa: S608
                " WHERE content_key = ANY(%s)",
                (wanted,),
            ).fetchall()
            found.update({k: as_array(v) for k, v in rows})
    missing = [k for k in keys if k not in found]
    if getattr(encode, "whole_input", False):  # a worker pool splits the ingest itself (indexer/parallel_embed.py)
        batch = max(1, len(missing))
    for i in range(0, len(missing), batch):
        part = missing[i : i + batch]
        found.update(zip(part, encode([texts[k] for k in part]), strict=True))
    report.vectors_embedded += len(missing)
    report.vectors_reused += len(keys) - len(missing)
    return found


def _insert_document(
    conn: Any, d: ParsedDocument, chash: str, version: int, model: str, vectors: dict[str, np.ndarray]
) -> None:
    m = d.meta
    council = council_of(m)
    span = date_span(m)
    lo, hi = span if span else (None, None)
    body_lc = (m.body or "").lower()
    conn.execute(
        "INSERT INTO documents (council, doc_id, added, content_hash, meta, text, sections, pages, units)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            council,
            m.id,
            version,
            chash,
            json.dumps(m.to_dict()),
            d.text,
            json.dumps([s.__dict__ for s in d.sections]),
            json.dumps([list(p) for p in d.pages]),
            json.dumps([u.to_dict() for u in d.units]),  # `chunks` stay paper-local (the loader offsets them)
        ),
    )
    line = meta_line(m)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO chunks (council, doc_id, added, ord, data, content_key, embedding, lexemes, body_lc,"
            " doc_type, date_lo, date_hi, feedback_terms)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::tsvector, %s, %s, %s, %s, %s)",
            [
                (
                    council,
                    m.id,
                    version,
                    i,
                    json.dumps(c.to_dict()),
                    key,
                    vectors[key],
                    tsvector_literal(f"{line}\n{c.search_text}"),
                    body_lc,
                    m.doc_type,
                    lo,
                    hi,
                    feedback_candidates(c.search_text),
                )
                for i, c in enumerate(d.chunks)
                for key in (content_key(model, c.search_text),)
            ],
        )
        cur.executemany(
            "INSERT INTO sentences (council, doc_id, added, ord, chunk_ord, start_offset, end_offset, content_key,"
            " embedding, lexemes, body_lc, doc_type, date_lo, date_hi)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::tsvector, %s, %s, %s, %s)",
            [
                (
                    council,
                    m.id,
                    version,
                    i,
                    ci,
                    s,
                    e,
                    key,
                    vectors[key],
                    # Lexical text of a sentence: itself plus where it sits and which meeting it is from.
                    tsvector_literal(f"{line}\n{d.chunks[ci].section or ''}\n{d.text[s:e]}"),
                    body_lc,
                    m.doc_type,
                    lo,
                    hi,
                )
                for i, (ci, s, e) in enumerate(d.sentences)
                for key in (content_key(model, d.text[s:e]),)
            ],
        )


def _drop_orphans(conn: Any, current: int) -> None:
    """Undo what an update that never published left behind. A commit across shards (postgres_fdw)
    is not atomic: a failed one may leave rows added by, or marked removed by, a version that was
    never recorded; the next update would publish that number and show them. No reader pins a
    version above `current`, so this changes nothing anyone sees. Run under the writer lock."""
    for table in ("documents", "chunks", "sentences"):
        conn.execute(f"DELETE FROM {table} WHERE added > %s", (current,))  # noqa: S608
        conn.execute(f"UPDATE {table} SET removed = NULL WHERE removed > %s", (current,))  # noqa: S608
    conn.execute("DELETE FROM term_df WHERE version > %s", (current,))


def _forget_old_versions(conn: Any, newest: int) -> None:
    """Delete rows no kept version can see, and the versions no longer kept."""
    oldest_kept = newest - KEEP_VERSIONS + 1
    for table in ("documents", "chunks", "sentences"):
        conn.execute(f"DELETE FROM {table} WHERE removed IS NOT NULL AND removed <= %s", (oldest_kept,))  # noqa: S608
    conn.execute("DELETE FROM index_versions WHERE version < %s", (oldest_kept,))
    conn.execute("DELETE FROM term_df WHERE version < %s", (oldest_kept,))


def _count_terms(conn: Any, version: int) -> None:
    """The version's passage count and feedback terms' document frequencies (migration 0003): the
    IDF the feedback in SQL weighs terms by, the same as the scorer computes from the loaded passages."""
    conn.execute(
        f"UPDATE index_versions SET passages = (SELECT count(*) FROM chunks WHERE {visible()}) WHERE version = %(v)s",
        {"v": version},
    )
    conn.execute(
        "INSERT INTO term_df (version, term, df) SELECT %(v)s, t, count(*) FROM chunks, unnest(feedback_terms) t"
        f" WHERE {visible()} GROUP BY t",
        {"v": version},
    )


def _fill_feedback_counts(conn: Any) -> None:
    """Fill what migration 0003 added for rows and versions written before it: each passage's
    feedback terms (from its stored search text), then the counts of every kept version. Derived
    data only: no version's content changes. Run under the writer lock."""
    rows = conn.execute("SELECT id, data->>'search_text' FROM chunks WHERE feedback_terms IS NULL").fetchall()
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE chunks SET feedback_terms = %s WHERE id = %s",
                [(feedback_candidates(text or ""), row_id) for row_id, text in rows],
            )
    for (version,) in conn.execute("SELECT version FROM index_versions WHERE passages IS NULL").fetchall():
        conn.execute("DELETE FROM term_df WHERE version = %s", (version,))
        _count_terms(conn, version)
