"""`VersionWriter`: one index version's files written from papers fed one at a time.

The build never holds the whole corpus: each paper's rows go to the SQLite store as it arrives,
its passage and sentence vectors are appended to two temporary files, its lexical texts are
tokenized into two streamed BM25 builders (indexer/bm25_stream.py), and only small per-row
numbers (sentence spans, chunk → document, unit links, term counts) are kept until `finish`.
`finish` writes `vectors.npy` (passage vectors, then sentence vectors: the two files joined under
one .npy header), trains each FAISS index on a sample read back from it and adds the vectors in
blocks (indexer/vectors.py), and saves both BM25 indexes. At 1000× the real corpus the earlier
in-memory build peaked at 9.3 GB (texts, lexical strings and the float32 matrix at once).

The files are the same as the in-memory build's (`indexer.build.write_version` feeds this class):
same store rows, same arrays, byte-identical vectors and FAISS indexes, BM25 indexes that score
every document the same (tests/indexer/test_version_writer.py).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from indexer.bm25_stream import StreamedBM25
from indexer.docstore import STORE_NAME, DocStoreWriter
from indexer.lexical import tokenize
from indexer.models import DocumentMeta, ParsedDocument
from indexer.store import IndexWriter
from indexer.vectors import RowReader, VectorRows, make_vector_index

VECTORS_NAME = "vectors.npy"
_COPY_BLOCK = 64 << 20  # bytes copied at a time when joining the vector files


def meta_line(m: DocumentMeta) -> str:
    """Title, body and meeting day: what every passage and sentence of the paper is also searched by
    (the index folder's BM25 texts here, the PostgreSQL writer's lexemes), so "Cabinet December 2017"
    finds that meeting's passages."""
    date = m.meeting_date or ""
    if date:
        day = dt.date.fromisoformat(date)
        date = f"{day.day} {day.strftime('%B %Y')}"
    return " ".join(x for x in (m.title, m.body, date) if x)


def row_lists(n: int, owners: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR layout of `rows` grouped by `owners` (0..n-1): owner i's rows are
    rows_sorted[offsets[i]:offsets[i + 1]], in their original order."""
    order = np.argsort(owners, kind="stable")
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=n), out=offsets[1:])
    return offsets, rows[order].astype(np.int64)


class VersionWriter:
    """`add(paper, its passage vectors, its sentence vectors)` for each paper in corpus order, then
    `finish()` once (or `close()` to drop the temporary files after a failure)."""

    def __init__(self, writer: IndexWriter, dimension: int, *, exact_limit: int | None = None) -> None:
        self.writer = writer
        self.dimension = dimension
        self.exact_limit = exact_limit
        self._store = DocStoreWriter(writer.path(STORE_NAME))
        self._chunk_vectors = writer.path("chunk_vectors.tmp").open("wb")
        self._sentence_vectors = writer.path("sentence_vectors.tmp").open("wb")
        self._spans: list[np.ndarray] = []  # per paper: (global chunk, start, end) rows
        self._chunk_doc: list[np.ndarray] = []
        self._unit_links: list[tuple[int, int]] = []  # (chunk, unit row)
        self._term_df: dict[str, int] = {}
        self._chunk_lexical = StreamedBM25(writer.tmp)
        self._sentence_lexical = StreamedBM25(writer.tmp)
        self.documents = 0
        self.chunks = 0
        self.sentences = 0

    def add(self, d: ParsedDocument, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray) -> None:
        if chunk_vectors.shape != (len(d.chunks), self.dimension) or sentence_vectors.shape != (
            len(d.sentences),
            self.dimension,
        ):
            raise ValueError(f"{d.meta.file}: one vector per passage and per sentence is needed")
        store = self._store
        base, unit_base = store.chunk_count, store.unit_count
        facts = [unit_base + i for i, u in enumerate(d.units) if u.kind == "fact"]
        sections = [s.__dict__ for s in d.sections]
        store.add_document(d.meta.id, d.meta.to_dict(), sections, [list(p) for p in d.pages], facts, d.text)
        store.add_chunks(c.to_dict() for c in d.chunks)
        for i, u in enumerate(d.units):
            if any(not 0 <= c < len(d.chunks) for c in u.chunks):
                raise ValueError(f"{d.meta.file}: an answer unit points outside the paper's passages")
            self._unit_links.extend((base + c, unit_base + i) for c in u.chunks)
        store.add_units({**u.to_dict(), "chunks": [base + c for c in u.chunks]} for u in d.units)
        spans = np.asarray(d.sentences, dtype=np.int64).reshape(-1, 3)
        spans[:, 0] += base
        self._spans.append(spans)
        self._chunk_doc.append(np.full(len(d.chunks), self.documents, dtype=np.int32))
        line = meta_line(d.meta)
        for c in d.chunks:
            for t in set(tokenize(c.search_text)):
                self._term_df[t] = self._term_df.get(t, 0) + 1
            self._chunk_lexical.add(f"{line}\n{c.search_text}")
        # Lexical text of a sentence: itself plus where it sits and which meeting it is from.
        for ci, s, e in d.sentences:
            self._sentence_lexical.add(f"{line}\n{d.chunks[ci].section or ''}\n{d.text[s:e]}")
        self._chunk_vectors.write(np.ascontiguousarray(chunk_vectors, dtype=np.float32).tobytes())
        self._sentence_vectors.write(np.ascontiguousarray(sentence_vectors, dtype=np.float32).tobytes())
        self.documents += 1
        self.chunks += len(d.chunks)
        self.sentences += len(d.sentences)

    def add_all(self, docs: Iterable[ParsedDocument], vectors: np.ndarray) -> None:
        """Every paper of an in-memory corpus, `vectors` holding all passage vectors, then all
        sentence vectors, in corpus order."""
        docs = list(docs)
        n_chunks = sum(len(d.chunks) for d in docs)
        c = s = 0
        for d in docs:
            self.add(d, vectors[c : c + len(d.chunks)], vectors[n_chunks + s : n_chunks + s + len(d.sentences)])
            c += len(d.chunks)
            s += len(d.sentences)

    def finish(self) -> None:
        """Write everything that needs the whole corpus: the per-row arrays, vectors.npy, the two
        FAISS indexes and the two BM25 indexes."""
        import faiss

        w = self.writer
        self._store.set_term_df(self._term_df)
        self._store.close()
        spans = np.concatenate(self._spans) if self._spans else np.zeros((0, 3), np.int64)
        chunk_doc = np.concatenate(self._chunk_doc) if self._chunk_doc else np.zeros(0, np.int32)
        self._spans, self._chunk_doc = [], []
        w.write_array("sentences.npy", spans)
        w.write_array("chunk_doc.npy", chunk_doc)
        offsets, rows = row_lists(self.chunks, spans[:, 0], np.arange(len(spans), dtype=np.int64))
        w.write_array("chunk_sentence_offsets.npy", offsets)
        w.write_array("chunk_sentence_rows.npy", rows)
        links = np.asarray(self._unit_links, dtype=np.int64).reshape(-1, 2)
        offsets, rows = row_lists(self.chunks, links[:, 0], links[:, 1])
        w.write_array("chunk_unit_offsets.npy", offsets)
        w.write_array("chunk_unit_rows.npy", rows)
        del spans, chunk_doc, links, offsets, rows
        self._join_vectors()
        path = w.path(VECTORS_NAME)
        for name, start, count in (
            ("faiss.index", 0, self.chunks),
            ("faiss_sentences.index", self.chunks, self.sentences),
        ):
            # read back with pread, block by block: the matrix is never in memory whole
            part = VectorRows(RowReader(path, start, count))
            faiss.write_index(make_vector_index(part, self.exact_limit), str(w.path(name)))
        self._chunk_lexical.save(w.path("bm25"))
        self._sentence_lexical.save(w.path("bm25_sentences"))

    def _join_vectors(self) -> None:
        """vectors.npy = the .npy header np.save writes for the whole matrix + passage vectors +
        sentence vectors (the temporary files are removed)."""
        shape = (self.chunks + self.sentences, self.dimension)
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False, "shape": shape}
        with self.writer.path(VECTORS_NAME).open("wb") as out:
            np.lib.format.write_array_header_1_0(out, header)
            for part in (self._chunk_vectors, self._sentence_vectors):
                part.close()
                with open(part.name, "rb") as f:
                    shutil.copyfileobj(f, out, _COPY_BLOCK)
                Path(part.name).unlink()

    def close(self) -> None:
        """Drop the temporary files (after a failure; `finish` removes them itself)."""
        self._store.close()
        for part in (self._chunk_vectors, self._sentence_vectors):
            part.close()
            Path(part.name).unlink(missing_ok=True)
        for lexical in (self._chunk_lexical, self._sentence_lexical):
            lexical.close()
