"""`ParallelEncoder`: the same vectors, in the same order, as one encoder (process pool here; the
Ray path takes the same batches, see bench/pg_embed_workers.py)."""

from __future__ import annotations

import sys
import types

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


class FakeRay(types.ModuleType):
    """Stands for the `ray` module: records init and shutdown."""

    def __init__(self, initialized: bool) -> None:
        super().__init__("ray")
        self.initialized, self.calls = initialized, []

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs) -> None:
        self.calls.append("init")
        self.initialized = True

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        self.initialized = False


@pytest.mark.parametrize("already_running", [False, True])
def test_close_shuts_down_only_a_ray_it_started(monkeypatch, already_running):
    ray = FakeRay(initialized=already_running)
    monkeypatch.setitem(sys.modules, "ray", ray)
    with ParallelEncoder(FakeEmbedder, workers=2, engine="ray"):
        pass
    assert ray.calls == ([] if already_running else ["init", "shutdown"])
