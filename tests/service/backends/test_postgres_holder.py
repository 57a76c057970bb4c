"""The PostgreSQL engine holder's life: closed with the app, polling from the start."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from indexer.store import IndexLoadError
from service.api import create_app
from service.backends.holder import make_holder
from service.backends.postgres.writer import index_database
from service.settings import Settings
from tests.conftest import FakeEmbedder
from tests.service.backends.conftest import start_server
from tests.service.backends.test_postgres_service import END_QUESTION


def test_the_app_closes_the_database_holder_at_shutdown(database_url, corpus_dir, tmp_path, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    settings = Settings(
        index_dir=tmp_path / "no-index",
        model=FakeEmbedder.model_name,
        database_url=database_url,
        database_poll_seconds=0.05,
        alerts_db=tmp_path / "alerts.sqlite",
    )
    app = create_app(settings, embedder=fake_embedder)
    with TestClient(app) as client:
        assert client.post("/ask", json={"question": END_QUESTION}).status_code == 200
        holder = app.state.holder
        assert holder.pool.open_connections() == 1 and holder._poller.is_alive()
    assert holder.pool.open_connections() == 0
    assert not holder._poller.is_alive()


def test_a_service_started_while_its_database_is_down_loads_it_when_it_is_back(tmp_path, corpus_dir, fake_embedder):
    server = start_server(tmp_path / "own-server")  # its own server: this test stops it
    try:
        url = server.create_database()
        index_database(corpus_dir, url, fake_embedder)
        server.stop()
        settings = Settings(model=FakeEmbedder.model_name, database_url=url, database_poll_seconds=0.05)
        holder = make_holder(settings, fake_embedder)
        loaded = threading.Event()
        holder.on_load(lambda engine: loaded.set())
        try:
            with pytest.raises(IndexLoadError):
                holder.load()  # as at start-up with start_without_index: the service answers 503s
            assert holder.engine is None
            server.restart()
            assert loaded.wait(timeout=60), "the poll never loaded the index"
            assert "12.53 pm" in holder.engine.ask(END_QUESTION).answer
        finally:
            holder.close()
    finally:
        server.close()
