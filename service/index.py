"""The loaded, read-only index the service answers from (one immutable object per version)."""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from indexer.embed import Embedder
from indexer.lexical import LexicalIndex
from indexer.models import Chunk, DocumentMeta, Section, Unit
from indexer.store import IndexLoadError, open_version

_META_FIELDS = set(DocumentMeta.__dataclass_fields__)


@dataclass
class Document:
    meta: DocumentMeta
    text: str
    sections: list[Section]
    pages: list[tuple[int, int]] = field(default_factory=list)  # (start offset, page number); PDFs

    def page_at(self, offset: int) -> int | None:
        """The page the character at `offset` is on, or None for papers without pages."""
        if not self.pages:
            return None
        i = bisect.bisect_right(self.pages, offset, key=lambda p: p[0]) - 1
        return self.pages[max(i, 0)][1]

    def page_spans(self) -> list[tuple[int, int, int]]:
        """(page number, start, end) for every page, covering the whole text."""
        if not self.pages:
            return []
        ends = [start for start, _ in self.pages[1:]] + [len(self.text)]
        return [(number, start, end) for (start, number), end in zip(self.pages, ends, strict=True)]

    def original_url(self, page: int | None) -> str | None:
        """The council's own copy of the paper, opened at the page when it is a PDF."""
        url = self.meta.source_url
        if url and page is not None and self.meta.file.lower().endswith(".pdf"):
            return f"{url}#page={page}"
        return url


@dataclass
class LoadedIndex:
    version: str
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    chunk_doc: np.ndarray  # document position per chunk (for filter masks)
    doc_order: list[str]
    chunk_vectors: np.ndarray
    sentence_spans: np.ndarray  # rows of (chunk index, start, end)
    sentence_vectors: np.ndarray
    chunk_sentences: list[list[int]]  # chunk index -> sentence rows
    faiss_index: Any
    lexical: LexicalIndex
    sentence_faiss: Any
    sentence_lexical: LexicalIndex
    embedder: Embedder
    units: list[Unit] = field(default_factory=list)  # typed answer units and meeting facts
    chunk_units: list[list[int]] = field(default_factory=list)  # chunk index -> unit rows
    doc_facts: dict[str, list[int]] = field(default_factory=dict)  # document id -> fact unit rows


def stored_vectors(index) -> np.ndarray:
    """A read-only numpy view of the vectors a flat or HNSW FAISS index stores."""
    import faiss

    storage = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
    # make_vector_index builds IndexFlatIP or IndexHNSWFlat, whose storage is an IndexFlat too.
    flat = cast(faiss.IndexFlat, storage)
    view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
    view.setflags(write=False)
    return view


def load_index(root: Path, embedder: Embedder) -> LoadedIndex:
    """Load and verify the live index version; any problem raises IndexLoadError, never half-loads."""
    import faiss

    vdir, manifest = open_version(root, embedder.model_name)
    try:
        docs_raw = json.loads((vdir / "documents.json").read_text(encoding="utf-8"))
        chunk_data = json.loads((vdir / "chunks.json").read_text(encoding="utf-8"))
        sentences = np.asarray(json.loads((vdir / "sentences.json").read_text(encoding="utf-8")), dtype=np.int64)
        # Memory-mapped: only its shape is checked here. The vectors the service uses are the
        # FAISS indexes' own storage (views below), so they are held in memory once, not twice.
        vectors = np.load(vdir / "vectors.npy", allow_pickle=False, mmap_mode="r")
        faiss_index = faiss.read_index(str(vdir / "faiss.index"))
        lexical = LexicalIndex.load(vdir / "bm25")
        sentence_faiss = faiss.read_index(str(vdir / "faiss_sentences.index"))
        sentence_lexical = LexicalIndex.load(vdir / "bm25_sentences")
        units = [Unit(**u) for u in json.loads((vdir / "units.json").read_text(encoding="utf-8"))]
    except Exception as exc:  # any unreadable file means the version is unusable
        raise IndexLoadError(f"index {vdir} could not be read ({exc.__class__.__name__}: {exc})") from None

    documents: dict[str, Document] = {}
    for d in docs_raw:
        meta = DocumentMeta(**{k: v for k, v in d.items() if k in _META_FIELDS})
        pages = [(int(start), int(number)) for start, number in d.get("pages", [])]
        documents[meta.id] = Document(meta, d["text"], [Section(**s) for s in d["sections"]], pages)
    chunks = [Chunk.from_dict(c) for c in chunk_data["chunks"]]
    n = len(chunks)
    if (
        vectors.shape[0] != n + len(sentences)
        or faiss_index.ntotal != n
        or lexical.size != n
        or sentence_faiss.ntotal != len(sentences)
        or sentence_lexical.size != len(sentences)
    ):
        raise IndexLoadError(f"index {vdir} is inconsistent (vector and chunk counts differ)")
    if vectors.shape[1] != embedder.dimension:
        raise IndexLoadError(f"index {vdir} has {vectors.shape[1]}-d vectors, the model makes {embedder.dimension}-d")
    doc_order = list(documents)
    pos = {d: i for i, d in enumerate(doc_order)}
    chunk_sentences: list[list[int]] = [[] for _ in range(n)]
    for row, (ci, _, _) in enumerate(sentences):
        chunk_sentences[int(ci)].append(row)
    chunk_units: list[list[int]] = [[] for _ in range(n)]
    doc_facts: dict[str, list[int]] = {d: [] for d in documents}
    for row, u in enumerate(units):
        if any(not 0 <= c < n for c in u.chunks) or u.doc_id not in documents:
            raise IndexLoadError(f"index {vdir} is inconsistent (a unit points outside the chunks)")
        for c in u.chunks:
            chunk_units[c].append(row)
        if u.kind == "fact":
            doc_facts[u.doc_id].append(row)
    loaded = LoadedIndex(
        version=vdir.name,
        manifest=manifest,
        documents=documents,
        chunks=chunks,
        chunk_doc=np.array([pos[c.doc_id] for c in chunks], dtype=np.int32),
        doc_order=doc_order,
        chunk_vectors=stored_vectors(faiss_index),
        sentence_spans=sentences.reshape(-1, 3),
        sentence_vectors=stored_vectors(sentence_faiss),
        chunk_sentences=chunk_sentences,
        faiss_index=faiss_index,
        lexical=lexical,
        sentence_faiss=sentence_faiss,
        sentence_lexical=sentence_lexical,
        embedder=embedder,
        units=units,
        chunk_units=chunk_units,
        doc_facts=doc_facts,
    )
    del docs_raw, chunk_data, vectors
    _release_freed_memory()
    return loaded


def _release_freed_memory() -> None:
    """Parsing the JSON stores briefly needs several times their size; hand that back to the OS
    (glibc keeps freed heap otherwise, and the service's RSS would stay at the peak)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass
