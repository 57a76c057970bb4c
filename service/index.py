"""The loaded, read-only index the service answers from (one immutable object per version).

Nothing is parsed whole at load: chunks, units and document texts stay in the version's SQLite
store (indexer/docstore.py) and are read by row when a question needs them; the per-row numeric
arrays are memory-mapped .npy files, both BM25 indexes are memory-mapped, and above
indexer.vectors.EXACT_LIMIT the vectors are read by row (`VectorRows`). What is held in memory is
what every question scans: each document's metadata, the compressed vector index (or the flat one
below EXACT_LIMIT, whose storage doubles as the vectors) and the scorer's term counts.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast, overload

import numpy as np

from indexer.docstore import STORE_NAME, DocStore
from indexer.embed import Embedder
from indexer.lexical import LexicalIndex
from indexer.models import Chunk, DocumentMeta, Section, Unit
from indexer.store import IndexLoadError, open_version
from indexer.vectors import RowReader, VectorRows, open_vector_index

_META_FIELDS = set(DocumentMeta.__dataclass_fields__)
ROW_CACHE = 8192  # decoded chunks / units kept per table (a question touches a few hundred)
BODY_CACHE = 64  # document texts kept decoded (a question cites a handful of papers)
MASKS_KEPT = 16  # filter masks kept per index, passage and sentence masks alike (service/filters.py)

T = TypeVar("T")
Body = tuple[str, list[Section], list[tuple[int, int]]]


class Document:
    """A paper: its metadata (in memory) and its text, sections and pages — given, or read from
    the store when first asked for (`load`), so listing every paper never reads every text."""

    __slots__ = ("meta", "_body", "_load")

    def __init__(
        self,
        meta: DocumentMeta,
        text: str = "",
        sections: list[Section] | None = None,
        pages: list[tuple[int, int]] | None = None,  # (start offset, page number); PDFs
        *,
        load: Callable[[], Body] | None = None,
    ) -> None:
        self.meta = meta
        self._body: Body | None = None if load else (text, sections or [], pages or [])
        self._load = load

    def _get(self) -> Body:
        if self._body is not None:
            return self._body
        return cast(Callable[[], Body], self._load)()

    @property
    def text(self) -> str:
        return self._get()[0]

    @property
    def sections(self) -> list[Section]:
        return self._get()[1]

    @property
    def pages(self) -> list[tuple[int, int]]:
        return self._get()[2]

    def page_at(self, offset: int) -> int | None:
        """The page the character at `offset` is on, or None for papers without pages."""
        pages = self.pages
        if not pages:
            return None
        i = bisect.bisect_right(pages, offset, key=lambda p: p[0]) - 1
        return pages[max(i, 0)][1]

    def page_spans(self) -> list[tuple[int, int, int]]:
        """(page number, start, end) for every page, covering the whole text."""
        text, _, pages = self._get()
        if not pages:
            return []
        ends = [start for start, _ in pages[1:]] + [len(text)]
        return [(number, start, end) for (start, number), end in zip(pages, ends, strict=True)]

    def original_url(self, page: int | None) -> str | None:
        """The council's own copy of the paper, opened at the page when it is a PDF."""
        url = self.meta.source_url
        if url and page is not None and self.meta.file.lower().endswith(".pdf"):
            return f"{url}#page={page}"
        return url


class _Rows(Sequence[T], Generic[T]):
    """A read-only sequence whose item i is `_at(i)`: ints (numpy's too), negative indexes and
    slices handled once here for the row-backed sequences below."""

    name = "row"

    def _at(self, i: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)  # numpy integers too
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"{self.name} {i} out of range")
        return self._at(i)


class StoredRows(_Rows[T]):
    """A read-only list of records kept in the store: `rows[i]` reads and decodes one row (recent
    ones cached), iteration streams them in order without keeping them."""

    def __init__(self, store: DocStore, table: str, decode: Callable[[dict[str, Any]], T]) -> None:
        self._store = store
        self._table = table
        self.name = f"{table} row"
        self._decode = decode
        self._len = store.count(table)
        self._at = functools.lru_cache(maxsize=ROW_CACHE)(self._read)  # type: ignore[method-assign]

    def _read(self, i: int) -> T:
        return self._decode(self._store.row(self._table, i))

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[T]:
        for data in self._store.rows(self._table):
            yield self._decode(data)


class RowLists(_Rows[list[int]]):
    """`lists[i]` → the rows listed for row i, from memory-mapped offsets (CSR layout)."""

    def __init__(self, offsets: np.ndarray, rows: np.ndarray) -> None:
        # plain ndarray views of the memory maps: np.memmap's Python-level __getitem__ cost more
        # than the lookup itself, hundreds of times a question
        self._offsets = offsets.view(np.ndarray)
        self._rows = rows.view(np.ndarray)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _at(self, i: int) -> list[int]:
        return self._rows[self._offsets[i] : self._offsets[i + 1]].tolist()


class RecentMasks:
    """The last few filter masks made over one index, by filter (a named pass's papers recur from
    question to question: each mask is an O(passages) gather worth making once). Masks are
    read-only: a caller writing into one would corrupt every later question's filter."""

    def __init__(self, size: int = MASKS_KEPT) -> None:
        self._size = size
        self._masks: OrderedDict[Any, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            found = self._masks.get(key)
            if found is not None:
                self._masks.move_to_end(key)
                return found
        mask = make()
        mask.setflags(write=False)
        with self._lock:
            self._masks[key] = mask
            while len(self._masks) > self._size:
                self._masks.popitem(last=False)
        return mask


@dataclass
class LoadedIndex:
    version: str
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: Sequence[Chunk]
    chunk_doc: np.ndarray  # document position per chunk (for filter masks)
    doc_order: list[str]
    chunk_vectors: Any  # np.ndarray, or VectorRows (same indexing and `@`) above EXACT_LIMIT
    sentence_spans: np.ndarray  # rows of (chunk index, start, end)
    sentence_vectors: Any  # as chunk_vectors
    chunk_sentences: Sequence[list[int]]  # chunk index -> sentence rows
    faiss_index: Any
    lexical: LexicalIndex
    sentence_faiss: Any
    sentence_lexical: LexicalIndex
    embedder: Embedder
    units: Sequence[Unit] = field(default_factory=list)  # typed answer units and meeting facts
    chunk_units: Sequence[list[int]] = field(default_factory=list)  # chunk index -> unit rows
    doc_facts: dict[str, list[int]] = field(default_factory=dict)  # document id -> fact unit rows
    # passages holding each search term of their search_text, counted at build (the scorer's IDF)
    term_df: dict[str, int] = field(default_factory=dict)
    filter_masks: RecentMasks = field(default_factory=RecentMasks, init=False, repr=False, compare=False)

    @functools.cached_property
    def doc_positions(self) -> dict[str, int]:
        """Each document's position in `doc_order` (what `chunk_doc` holds)."""
        return {d: i for i, d in enumerate(self.doc_order)}


def stored_vectors(index) -> np.ndarray:
    """A read-only numpy view of the vectors a flat FAISS index stores."""
    import faiss

    flat = cast(faiss.IndexFlat, index)
    view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
    view.setflags(write=False)
    return view


def _vectors_of(index: Any, path: Path, start: int, count: int) -> Any:
    """The vectors the service scores with: a flat index's own storage (so small indexes hold them
    once), else rows read from the file on demand (`VectorRows`: read, not mapped, so the rows a
    question scores do not stay counted in the service's memory)."""
    import faiss

    return stored_vectors(index) if isinstance(index, faiss.IndexFlat) else VectorRows(RowReader(path, start, count))


def _load_array(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False, mmap_mode="r")


def load_index(root: Path, embedder: Embedder) -> LoadedIndex:
    """Load and verify the live index version; any problem raises IndexLoadError, never half-loads."""
    import faiss

    vdir, manifest = open_version(root, embedder.model_name)
    try:
        store = DocStore(vdir / STORE_NAME)
        heads = list(store.document_heads())
        chunks = StoredRows(store, "chunks", Chunk.from_dict)
        units = StoredRows(store, "units", lambda u: Unit(**u))
        term_df = store.term_df()
        sentences = _load_array(vdir / "sentences.npy")
        chunk_doc = _load_array(vdir / "chunk_doc.npy")
        chunk_sentences = RowLists(
            _load_array(vdir / "chunk_sentence_offsets.npy"), _load_array(vdir / "chunk_sentence_rows.npy")
        )
        chunk_units = RowLists(_load_array(vdir / "chunk_unit_offsets.npy"), _load_array(vdir / "chunk_unit_rows.npy"))
        vectors = _load_array(vdir / "vectors.npy")
        faiss_index = faiss.read_index(str(vdir / "faiss.index"))
        sentence_faiss = faiss.read_index(str(vdir / "faiss_sentences.index"))
        lexical = LexicalIndex.load(vdir / "bm25")
        sentence_lexical = LexicalIndex.load(vdir / "bm25_sentences")
    except Exception as exc:  # any unreadable file means the version is unusable
        raise IndexLoadError(f"index {vdir} could not be read ({exc.__class__.__name__}: {exc})") from None

    n = len(chunks)
    n_sentences = len(sentences)
    if (
        vectors.shape[0] != n + n_sentences
        or faiss_index.ntotal != n
        or lexical.size != n
        or sentence_faiss.ntotal != n_sentences
        or sentence_lexical.size != n_sentences
        or len(chunk_doc) != n
        or len(chunk_sentences) != n
        or len(chunk_units) != n
        or n != manifest.get("chunk_count")
        or n_sentences != manifest.get("sentence_count")
    ):
        raise IndexLoadError(f"index {vdir} is inconsistent (vector and chunk counts differ)")
    if vectors.shape[1] != embedder.dimension:
        raise IndexLoadError(f"index {vdir} has {vectors.shape[1]}-d vectors, the model makes {embedder.dimension}-d")
    # Units are checked against the chunks at build time and covered by the checksum since; only
    # the few arrays every question indexes with are bounds-checked here (a vectorised pass).
    if n and (chunk_doc.min() < 0 or chunk_doc.max() >= len(heads)):
        raise IndexLoadError(f"index {vdir} is inconsistent (a chunk points outside the documents)")
    if n_sentences and (sentences[:, 0].min() < 0 or sentences[:, 0].max() >= n):
        raise IndexLoadError(f"index {vdir} is inconsistent (a sentence points outside the chunks)")

    @functools.lru_cache(maxsize=BODY_CACHE)
    def body(doc_id: str) -> Body:
        text, sections, pages = store.document_body(doc_id)
        return text, [Section(**s) for s in sections], [(int(start), int(number)) for start, number in pages]

    documents: dict[str, Document] = {}
    doc_facts: dict[str, list[int]] = {}
    for doc_id, meta, facts in heads:
        m = DocumentMeta(**{k: v for k, v in meta.items() if k in _META_FIELDS})
        documents[doc_id] = Document(m, load=functools.partial(body, doc_id))
        doc_facts[doc_id] = facts
    return LoadedIndex(
        version=vdir.name,
        manifest=manifest,
        documents=documents,
        chunks=chunks,
        chunk_doc=chunk_doc,
        doc_order=list(documents),
        chunk_vectors=_vectors_of(faiss_index, vdir / "vectors.npy", 0, n),
        sentence_spans=sentences,
        sentence_vectors=_vectors_of(sentence_faiss, vdir / "vectors.npy", n, n_sentences),
        chunk_sentences=chunk_sentences,
        faiss_index=open_vector_index(faiss_index, RowReader(vdir / "vectors.npy", 0, n)),
        lexical=lexical,
        sentence_faiss=open_vector_index(sentence_faiss, RowReader(vdir / "vectors.npy", n, n_sentences)),
        sentence_lexical=sentence_lexical,
        embedder=embedder,
        units=units,
        chunk_units=chunk_units,
        doc_facts=doc_facts,
        term_df=term_df,
    )
