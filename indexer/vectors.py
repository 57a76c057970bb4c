"""FAISS index choice by size: exact inner product for small corpora; above a threshold a compressed
index in RAM whose candidates are re-scored exactly from the float32 vectors on disk.

Exact search costs O(n) per query; at the real corpus (~2.5k vectors) it takes well under a
millisecond and is perfectly accurate. Past EXACT_LIMIT vectors (where an exact scan reads ~75 MB
per query and becomes memory-bound) the index is IVF-PQ: PQ_M bytes per vector in RAM (48 for
MiniLM's 384 dimensions, an eighth of float32) in ~2·√n inverted lists, NPROBE of them scanned.
Its approximate scores only choose candidates: `RerankedIndex` takes the RERANK_DEPTH × k best
and re-scores them with the full vectors read from `vectors.npy` (`RowReader`: pread, so only the
rows re-scored are read and none stays mapped into the service), which restores exact scores and
most of the exact top k (recall@10 0.99 / 0.97 at 2.4M vectors, nprobe 128). HNSW,
used here before, kept every float32 vector plus its graph in RAM (9.5 GB at 2.4M vectors) and
found 55–70% of the exact top 10; the measurements are in bench/RESULTS.md (2026-12-07 #14).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

EXACT_LIMIT = 50_000
PQ_M = 48  # sub-quantizers (bytes per vector); must divide the dimension
NPROBE = 128  # inverted lists scanned per query (bench: nprobe_sweep in bench/out/scale_*.json)
RERANK_DEPTH = 4  # approximate candidates per result re-scored exactly
RERANK_MIN = 256  # … and at least this many
MIN_COMPRESSED = 1_000  # fewer vectors than this are always searched exactly
EXACT_FILTERED = 4_096  # a filter allowing at most this many rows is searched exactly over them
TRAIN_SAMPLE_PER_LIST = 40  # k-means training points per inverted list (faiss warns below 39)


def _pq_m(dimension: int) -> int:
    m = min(PQ_M, dimension)
    while dimension % m:
        m -= 1
    return m


def make_vector_index(vectors: Any, exact_limit: int | None = None, seed: int = 1234):
    """The FAISS index to write for `vectors` (unit length, inner product; an array, or
    `VectorRows` over a file, read only a sample and then block by block): flat when there are at
    most `exact_limit` (default EXACT_LIMIT), else a trained IVF-PQ (wrapped with the stored
    vectors at load time by `open_vector_index`)."""
    import faiss

    if not isinstance(vectors, VectorRows):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = vectors.shape
    # (below MIN_COMPRESSED a compressed index saves nothing worth training it for)
    if n <= (EXACT_LIMIT if exact_limit is None else exact_limit) or n < MIN_COMPRESSED:
        flat = faiss.IndexFlatIP(d)
        flat.add(np.ascontiguousarray(vectors[0:n], dtype=np.float32))
        return flat
    # ~2·√n lists, each trained on at least 39 points (fewer lists for the tiny indexes tests force)
    nlist = max(1, min(16384, int(2 * math.sqrt(n)), n // 39))
    nbits = 8 if n >= 1024 else 4  # 256 centroids per sub-quantizer want ~1,000 points to train
    quantizer = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFPQ(quantizer, d, nlist, _pq_m(d), nbits, faiss.METRIC_INNER_PRODUCT)
    sample = min(n, max(TRAIN_SAMPLE_PER_LIST * nlist, 256 * 39))
    rows = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    ivf.cp.seed = seed
    ivf.train(vectors[rows])
    for start in range(0, n, 100_000):  # in blocks, so encoding never copies the whole matrix
        ivf.add(np.ascontiguousarray(vectors[start : start + 100_000], dtype=np.float32))
    ivf.nprobe = NPROBE
    return ivf


class RowReader:
    """Rows `start` … `start + count` of a float32 .npy matrix, read with pread rather than mapped:
    the pages a re-rank reads stay in the OS page cache and are not mapped into the service (with
    a memory map, 643 questions at 1000x left 4.2 GB of the file counted in the service's RSS)."""

    def __init__(self, path: Path, start: int, count: int) -> None:
        with path.open("rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            data_offset = f.tell()
        if fortran or dtype != np.float32 or len(shape) != 2 or start + count > shape[0]:
            raise ValueError(f"{path} is not a float32 matrix with {start + count} rows")
        self.dimension = int(shape[1])
        self._row_bytes = 4 * self.dimension
        self._offset = data_offset + start * self._row_bytes
        self._count = count
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self._count

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The rows `ids` (ascending, in range), one read per run of consecutive rows, straight
        into the result (a re-rank reads a few hundred scattered rows: per-run numpy work cost
        more than the reads themselves)."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        if not len(ids):
            return out
        firsts = np.flatnonzero(ids[1:] - ids[:-1] != 1) + 1  # where a run of consecutive rows starts
        starts = [0, *firsts.tolist()]
        lengths = [(b - a) * self._row_bytes for a, b in zip(starts, [*starts[1:], len(ids)], strict=True)]
        offsets = (self._offset + ids[starts] * self._row_bytes).tolist()
        buffer = memoryview(out.data).cast("B")
        fd, at = self._fd, 0
        for offset, size in zip(offsets, lengths, strict=True):
            end = at + size
            while at < end:  # (one read returns at most ~2 GB)
                got = os.preadv(fd, [buffer[at:end]], offset)
                if not got:
                    raise OSError("the vector file is shorter than its header says")
                at, offset = at + got, offset + got
        return out


class VectorRows:
    """A read-only float32 matrix on disk that indexes like a numpy array (`m[i]`, `m[[i, j]]`,
    `m[a:b]`, `m @ q`, `np.asarray(m)`), each access a fresh read: what the service scores with
    above EXACT_LIMIT. `m @ q` streams the file in blocks (a full scan, as alert matching does)."""

    def __init__(self, reader: RowReader) -> None:
        self._reader = reader
        self.shape = (len(reader), reader.dimension)
        self.dtype = np.dtype(np.float32)
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            ids = np.arange(*key.indices(len(self)), dtype=np.int64)
        elif isinstance(key, (int, np.integer)):
            i = int(key) + (len(self) if int(key) < 0 else 0)
            if not 0 <= i < len(self):
                raise IndexError(f"row {key} out of range")
            return self._reader.rows(np.array([i]))[0]
        else:
            ids = np.asarray(key, dtype=np.int64).reshape(-1)
            ids = np.where(ids < 0, ids + len(self), ids)
            if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
                raise IndexError("row out of range")
        if not ids.size:
            return np.zeros((0, self.shape[1]), np.float32)
        order = np.argsort(ids, kind="stable")
        out = np.empty((ids.size, self.shape[1]), np.float32)
        unique, inverse = np.unique(ids[order], return_inverse=True)
        out[order] = self._reader.rows(unique)[inverse]
        return out

    def __matmul__(self, other: np.ndarray) -> np.ndarray:
        blocks = [self[lo : lo + 65_536] @ other for lo in range(0, len(self), 65_536)]
        return np.concatenate(blocks) if blocks else np.zeros((0,) + np.shape(other)[1:], np.float32)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self[0 : len(self)]
        return whole.astype(dtype) if dtype is not None else whole


class RerankedIndex:
    """A compressed FAISS index plus the exact vectors, with FAISS's `search` / `ntotal` shape:
    `search(q, k, params)` asks the compressed index for more candidates (honouring the
    IDSelector in `params`), re-scores them against `vectors` and returns the k best, padded with
    -1 ids like FAISS when fewer pass the filter."""

    def __init__(self, compressed: Any, vectors: np.ndarray | RowReader) -> None:
        if compressed.ntotal != len(vectors):
            raise ValueError(f"compressed index holds {compressed.ntotal} vectors, the vector file {len(vectors)}")
        self.compressed = compressed
        self.vectors = vectors
        self.ntotal = int(compressed.ntotal)
        self.d = int(compressed.d)

    def search(self, queries: np.ndarray, k: int, params: Any = None) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.d)
        depth = min(self.ntotal, max(RERANK_MIN, RERANK_DEPTH * k))
        selector = params.sel if params is not None else None
        allowed = _bitmap_rows(selector, self.ntotal)
        if allowed is not None and allowed.size <= EXACT_FILTERED:
            # A filter that leaves a few papers: score exactly what it allows (a few preads, since a
            # paper's rows are consecutive) rather than probing every list for them.
            return self._best(queries, k, [allowed] * len(queries))
        nprobe = params.nprobe if params is not None else self.compressed.nprobe
        nlist = self.compressed.nlist
        while True:
            search = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]
            _, candidates = self.compressed.search(queries, depth, params=search)
            # A filter that leaves few vectors in the probed lists leaves the candidate pool short
            # (a single paper's passages sit in a handful of lists): probe more lists, up to all,
            # so a filtered search finds what an exact one would.
            if nprobe >= nlist or (candidates >= 0).sum(axis=1).min() >= depth:
                break
            nprobe = min(nlist, nprobe * 8)
        return self._best(queries, k, [np.sort(row[row >= 0]) for row in candidates])

    def _best(self, queries: np.ndarray, k: int, rows_of: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The k best of each query's candidate rows (ascending: the file is read in order) by
        exact score, padded with -1 ids like FAISS."""
        scores = np.full((len(queries), k), -np.finfo(np.float32).max, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        for qi, found in enumerate(rows_of):
            if not found.size:
                continue
            rows = self.vectors.rows(found) if isinstance(self.vectors, RowReader) else self.vectors[found]
            exact = np.asarray(rows, dtype=np.float32) @ queries[qi]
            # best first, ties by row (as a flat index orders them)
            order = np.lexsort((found, -exact))[:k]
            scores[qi, : order.size] = exact[order]
            ids[qi, : order.size] = found[order]
        return scores, ids


def _bitmap_rows(selector: Any, n: int) -> np.ndarray | None:
    """The rows a `faiss.IDSelectorBitmap` allows (ascending), or None for no or another selector."""
    import faiss

    if not isinstance(selector, faiss.IDSelectorBitmap):
        return None
    bits = faiss.rev_swig_ptr(selector.bitmap, selector.n)  # type: ignore[attr-defined]  # (stubs lack it)
    rows = np.flatnonzero(np.unpackbits(bits, bitorder="little"))
    return rows[rows < n]


def open_vector_index(index: Any, vectors: np.ndarray | RowReader) -> Any:
    """What the service searches: a flat index as it is, a compressed one wrapped for re-ranking."""
    import faiss

    if isinstance(index, faiss.IndexIVF):
        index.nprobe = max(index.nprobe, NPROBE)
        return RerankedIndex(index, vectors)
    return index


def search_params(index, selector):
    """Search parameters restricting results to `selector` (None: no filter), for whichever index
    type is in use."""
    import faiss

    # faiss's bundled stubs lack SearchParametersIVF/HNSW and the keyword constructors its Python
    # wrappers add to every SearchParameters class (faiss/class_wrappers.py); both exist at run time.
    if isinstance(index, RerankedIndex):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.compressed.nprobe)  # type: ignore[call-arg]
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)  # type: ignore[call-arg]
    if isinstance(index, faiss.IndexHNSW):  # indexes built before format 3 (read by the benchmarks)
        return faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
            sel=selector, efSearch=max(128, index.hnsw.efSearch)
        )
    return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
