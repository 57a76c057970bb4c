"""Shared fixtures. Unit tests use FakeEmbedder (offline, deterministic, instant); tests
marked `real_model` use all-MiniLM-L6-v2 and the real corpus."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
# In CI a skipped test fails (tests/ci_skips.py).
pytest_plugins = ["tests.ci_skips"]


class FakeEmbedder:
    """Hashes words into a fixed-size bag-of-words vector: similar words → similar vectors."""

    model_name = "fake/bag-of-words-64"
    dimension = 64
    max_tokens = 256

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                word = word.strip(".,;:?!()'\"")
                if word:
                    h = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
                    out[i, h % self.dimension] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
            if not norm:
                out[i, 0] = 1.0
        return out

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the fixture corpus that a test may change."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, target)
    return target


@pytest.fixture
def built_index(corpus_dir: Path, tmp_path: Path, fake_embedder):
    from indexer.build import build_index

    root = tmp_path / "index"
    build_index(corpus_dir, root, fake_embedder, progress=False)
    return root


@pytest.fixture
def app_settings(built_index: Path, corpus_dir: Path):
    from service.settings import Settings

    return Settings(
        index_dir=built_index, corpus_dir=corpus_dir, model=FakeEmbedder.model_name, admin_token="test-token"
    )


@pytest.fixture
def open_cut(monkeypatch):
    """Every engine made during the test uses the fitted scorer with its abstention cut opened.

    The scorer and its cut are fitted on real MiniLM vectors; the fake embedder's similarities are
    on another scale, so on the fixture corpus the calibrated confidence says little. Tests that pin
    what is answered and how it is cited (not calibration: the regression gate measures that on the
    real index) take this fixture, so a refit of the scorer cannot turn them into abstentions."""
    import dataclasses

    from service.scoring import ScorerModel

    fitted = ScorerModel.load

    def load(path=None):
        model = fitted(path) if path is not None else fitted()
        return dataclasses.replace(model, abstain_below=0.0)

    monkeypatch.setattr(ScorerModel, "load", staticmethod(load))


@pytest.fixture
def client(app_settings, fake_embedder):
    from fastapi.testclient import TestClient

    from service.api import create_app

    with TestClient(create_app(app_settings, embedder=fake_embedder)) as c:
        yield c


# -- real model, real corpus ---------------------------------------------------------------
@pytest.fixture(scope="session")
def real_embedder():
    from indexer.embed import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def real_index_dir(real_embedder, tmp_path_factory) -> Path:
    """The repo's ./index when it is up to date (make test builds it), else a fresh build."""
    from indexer.build import build_index, index_status

    fresh, _ = index_status(REPO / "corpus", REPO / "index", real_embedder.model_name)
    if fresh:
        return REPO / "index"
    root = tmp_path_factory.mktemp("real-index")
    build_index(REPO / "corpus", root, real_embedder, progress=False)
    return root


@pytest.fixture(scope="session")
def real_engine(real_index_dir, real_embedder):
    from service.engine import Engine
    from service.index import load_index

    return Engine(load_index(real_index_dir, real_embedder))
