import faiss
import numpy as np
import pytest

from indexer.vectors import EXACT_FILTERED, RerankedIndex, make_vector_index, open_vector_index, search_params


def _clustered(n, d=32, clusters=40, seed=0):
    """Unit vectors around a few dozen centres, as embeddings of one corpus are (not uniform)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype("float32")
    v = centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, d)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _exact(v, q, k, allowed=None):
    scores = q @ v.T
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def test_small_corpora_get_exact_search_large_ones_a_compressed_index():
    v = _clustered(3000)
    assert isinstance(make_vector_index(v), faiss.IndexFlatIP)
    compressed = make_vector_index(v, exact_limit=100)
    assert isinstance(compressed, faiss.IndexIVFPQ)
    assert isinstance(open_vector_index(compressed, v), RerankedIndex)
    assert isinstance(open_vector_index(make_vector_index(v), v), faiss.IndexFlatIP)


def test_reranking_returns_the_exact_top_k_with_exact_scores():
    v = _clustered(3000)
    index = open_vector_index(make_vector_index(v, exact_limit=100), v)
    q = v[:20] + 0.05 * np.random.default_rng(1).standard_normal(v[:20].shape).astype("float32")
    scores, ids = index.search(q, 10)
    exact = _exact(v, q, 10)
    assert np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ids, exact, strict=True)]) >= 0.95
    # the scores returned are the full vectors' inner products, not the compressed approximations
    np.testing.assert_allclose(scores, np.einsum("qd,qkd->qk", q, v[ids]), rtol=1e-5, atol=1e-6)
    assert (np.diff(scores, axis=1) <= 1e-7).all()  # best first


def test_compressed_path_honours_the_filter():
    v = _clustered(3000)
    index = open_vector_index(make_vector_index(v, exact_limit=100), v)
    allowed = np.zeros(len(v), dtype=bool)
    allowed[::3] = True
    params = search_params(index, faiss.IDSelectorBatch(np.flatnonzero(allowed).astype(np.int64)))
    q = v[1:11]  # rows outside the filter: their own vector must not come back
    _, ids = index.search(q, 10, params=params)
    assert (ids >= 0).all() and allowed[ids].all()
    exact = _exact(v, q, 10, allowed)
    assert np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ids, exact, strict=True)]) >= 0.95


def test_fewer_matches_than_k_are_padded_like_faiss():
    v = _clustered(3000)
    index = open_vector_index(make_vector_index(v, exact_limit=100), v)
    params = search_params(index, faiss.IDSelectorBatch(np.array([5, 7], dtype=np.int64)))
    _, ids = index.search(v[5:6], 4, params=params)
    assert ids[0].tolist() == [5, 7, -1, -1]


def test_row_reader_reads_the_rows_a_memory_map_would(tmp_path):
    from indexer.vectors import RowReader

    v = _clustered(2000)
    np.save(tmp_path / "vectors.npy", v)
    reader = RowReader(tmp_path / "vectors.npy", 100, 1500)  # the second block, as sentences are
    assert len(reader) == 1500
    ids = np.array([0, 1, 2, 7, 50, 51, 1499])  # runs and single rows
    np.testing.assert_array_equal(reader.rows(ids), v[100 + ids])
    index = open_vector_index(make_vector_index(v[100:1600], exact_limit=100), reader)
    assert isinstance(index, RerankedIndex)
    scores, got = index.search(v[150:151], 5)
    assert got[0][0] == 50 and abs(scores[0][0] - 1.0) < 1e-5


def test_vector_rows_index_like_the_array(tmp_path):
    from indexer.vectors import RowReader, VectorRows

    v = _clustered(300)
    np.save(tmp_path / "vectors.npy", v)
    rows = VectorRows(RowReader(tmp_path / "vectors.npy", 100, 200))
    part = v[100:300]
    assert len(rows) == 200 and rows.shape == part.shape
    np.testing.assert_array_equal(rows[5], part[5])
    np.testing.assert_array_equal(rows[-1], part[-1])
    np.testing.assert_array_equal(rows[[7, 3, 7, 199]], part[[7, 3, 7, 199]])  # unordered, repeated
    np.testing.assert_array_equal(rows[np.array([0, 1, 2])], part[:3])
    np.testing.assert_array_equal(rows[10:20], part[10:20])
    np.testing.assert_allclose(rows @ v[0], part @ v[0], rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(rows), part)
    with pytest.raises(IndexError):
        rows[200]


def test_a_bitmap_filter_allowing_few_rows_gives_the_exact_filtered_top_k():
    v = _clustered(3000)
    index = open_vector_index(make_vector_index(v, exact_limit=100), v)
    allowed = np.zeros(len(v), dtype=bool)
    allowed[np.r_[200:260, 1500:1530, 2990:2995]] = True  # a few papers' rows
    assert allowed.sum() <= EXACT_FILTERED
    params = search_params(index, faiss.IDSelectorBitmap(np.packbits(allowed, bitorder="little")))
    q = v[[5, 1510, 2999]]
    scores, ids = index.search(q, 100, params=params)  # more than the filter allows: padded
    exact = _exact(v, q, 100, allowed)
    assert ids[:, :95].tolist() == exact[:, :95].tolist() and (ids[:, 95:] == -1).all()
    np.testing.assert_allclose(scores[:, :95], np.take_along_axis(q @ v.T, ids[:, :95], axis=1), atol=1e-6)
