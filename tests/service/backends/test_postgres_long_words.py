"""Words PostgreSQL cannot hold as lexemes (2 KB or more): left out of questions and passages."""

from __future__ import annotations

from service.backends.postgres.loader import load_database_index
from service.backends.postgres.rankings import tsquery_literal
from service.backends.postgres.writer import index_database, tsvector_literal
from service.engine import Engine
from tests.service.backends.test_postgres_service import END_QUESTION, MINUTES, pg_client

LONG_WORD = "ſ" * 1990  # one token of 3,980 bytes (the question limit is 2,000 characters)
LONG_QUESTION = f"{'ſ' * 1100} {END_QUESTION}"  # a 2,200-byte token, then the question


def test_literals_leave_out_lexemes_too_long_for_postgresql():
    assert tsquery_literal([LONG_WORD.lower(), "meeting"]) == "'meeting'"
    assert tsquery_literal([LONG_WORD.lower()]) == ""
    assert "ſ" not in tsvector_literal(f"{LONG_WORD} meeting ended")


def test_a_question_with_a_long_word_is_answered(database_url, corpus_dir, tmp_path, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    with pg_client(database_url, corpus_dir, tmp_path, fake_embedder) as pg:
        assert pg.post("/ask", json={"question": LONG_WORD}).status_code == 200
        response = pg.post("/ask", json={"question": LONG_QUESTION})
        assert response.status_code == 200, response.json()
        assert "12.53 pm" in response.json()["answer"]


def test_a_paper_with_a_long_word_is_indexed(database_url, corpus_dir, fake_embedder):
    path = corpus_dir / MINUTES
    path.write_text(path.read_text() + f"\n{LONG_WORD}\n")
    assert index_database(corpus_dir, database_url, fake_embedder).documents == 3
    index = load_database_index(database_url, fake_embedder)
    assert LONG_WORD in index.documents["panel-minutes-2018-03-22"].text
    assert "12.53 pm" in Engine(index).ask(END_QUESTION).answer
