import faiss
import numpy as np

from indexer.vectors import make_vector_index, search_params


def _unit(n, d=16, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, d)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_small_corpora_get_exact_search_large_ones_hnsw():
    v = _unit(500)
    assert isinstance(make_vector_index(v), faiss.IndexFlatIP)
    assert isinstance(make_vector_index(v, exact_limit=100), faiss.IndexHNSWFlat)


def test_hnsw_respects_filters_and_finds_the_nearest():
    v = _unit(2000)
    index = make_vector_index(v, exact_limit=100)
    allowed = np.arange(0, 2000, 2)
    _, ids = index.search(v[10:11], 5, params=search_params(index, faiss.IDSelectorBatch(allowed)))
    assert ids[0][0] == 10 and all(i % 2 == 0 for i in ids[0])
