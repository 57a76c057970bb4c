"""The PostgreSQL connection pool: connections that died while idle, statement errors, set-up."""

from __future__ import annotations

import pytest

from service.backends.postgres.rankings import ConnectionPool
from service.backends.postgres.writer import index_database
from service.errors import ApiError, ErrorCode
from tests.service.backends.conftest import start_server
from tests.service.backends.test_postgres_service import END_QUESTION, pg_client


def test_after_a_database_restart_the_first_question_is_answered(tmp_path, corpus_dir, fake_embedder):
    server = start_server(tmp_path / "own-server")  # its own server: this test restarts it
    try:
        url = server.create_database()
        index_database(corpus_dir, url, fake_embedder)
        with pg_client(url, corpus_dir, tmp_path, fake_embedder) as pg:
            assert pg.post("/ask", json={"question": END_QUESTION}).status_code == 200  # a pooled connection
            server.stop()
            server.restart()  # the pooled connection is dead; nothing has used it yet
            response = pg.post("/ask", json={"question": END_QUESTION})
            assert response.status_code == 200, response.json()
            assert "12.53 pm" in response.json()["answer"]
    finally:
        server.close()


def test_a_statement_error_is_a_500_and_the_connection_goes_back(database_url):
    pool = ConnectionPool(database_url)
    try:
        assert pool.run("SHOW statement_timeout", {}) == [("10s",)]  # set at connect: no statement hangs
        with pytest.raises(ApiError) as exc:
            pool.run("SELECT 1 / 0", {})
        assert exc.value.code is ErrorCode.INTERNAL_ERROR and "DivisionByZero" in exc.value.message
        assert pool.open_connections() == 1  # returned sound, not leaked nor counted as the database gone
        assert pool.run("SELECT 2", {}) == [(2,)]
    finally:
        pool.close()
    assert pool.open_connections() == 0


def test_an_unreachable_database_is_a_503(tmp_path):
    pool = ConnectionPool(f"postgresql://postgres@/postgres?host={tmp_path}")
    with pytest.raises(ApiError) as exc:
        pool.run("SELECT 1", {})
    assert exc.value.code is ErrorCode.INDEX_UNAVAILABLE
    assert pool.open_connections() == 0
