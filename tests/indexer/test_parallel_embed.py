"""`ParallelEncoder`: the same vectors, in the same order, as one encoder (process pool here; the
Ray path takes the same batches, see bench/pg_embed_workers.py)."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.parallel_embed import ParallelEncoder
from tests.conftest import FakeEmbedder


def test_workers_return_one_encoders_vectors_in_order():
    texts = [f"the council met on day {i} about item {i % 7}" for i in range(53)]
    with ParallelEncoder(FakeEmbedder, workers=2, engine="processes") as encode:
        vectors = encode(texts)
        assert encode(texts[:1]).shape == (1, FakeEmbedder.dimension)
    assert np.array_equal(vectors, FakeEmbedder().encode(texts))


def test_a_ray_address_without_ray_or_no_workers_is_refused(monkeypatch):
    import indexer.parallel_embed as pe

    with pytest.raises(ValueError, match="at least 1"):
        ParallelEncoder(FakeEmbedder, workers=0)
    monkeypatch.setattr(pe, "ray_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"minutes-qa\[distributed\]"):
        ParallelEncoder(FakeEmbedder, workers=2, ray_address="ray://127.0.0.1:10001")
