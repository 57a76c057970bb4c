"""The PostgreSQL engine holder's life: closed with the app, polling from the start."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.api import create_app
from service.backends.postgres.writer import index_database
from service.settings import Settings
from tests.conftest import FakeEmbedder
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
