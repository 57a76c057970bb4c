"""FAISS index choice by size: exact inner product for small corpora, HNSW above a threshold.

Exact search costs O(n) per query; at the real corpus (~2.5k vectors) it takes well under a
millisecond and is perfectly accurate. Past EXACT_LIMIT vectors (where an exact scan reads ~75 MB
per query and becomes memory-bound) HNSW keeps query time roughly logarithmic, at a recall cost
the benchmark measures (bench/RESULTS.md).
"""

from __future__ import annotations

import numpy as np

EXACT_LIMIT = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def make_vector_index(vectors: np.ndarray, exact_limit: int = EXACT_LIMIT):
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index: faiss.Index
    if len(vectors) <= exact_limit:
        index = faiss.IndexFlatIP(vectors.shape[1])
    else:
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        index = hnsw
    index.add(vectors)
    return index


def search_params(index, selector):
    """Search parameters restricting results to `selector`, for whichever index type is in use."""
    import faiss

    # faiss's bundled stubs lack SearchParametersHNSW and the keyword constructors its Python
    # wrappers add to every SearchParameters class (faiss/class_wrappers.py); both exist at run time.
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
            sel=selector, efSearch=max(HNSW_EF_SEARCH, index.hnsw.efSearch)
        )
    return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
