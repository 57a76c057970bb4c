"""The PostgreSQL backend against a real server: migrations, indexing, loading, rankings and answers
compared with the embedded (FAISS + bm25s) backend on the fixture corpus."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.lexical import token_set, tokenize
from indexer.store import IndexLoadError
from indexer.version_writer import meta_line
from service.backends import RankingRequest, backend_of
from service.backends.embedded import EmbeddedBackend
from service.backends.postgres.loader import load_database_index
from service.backends.postgres.schema import check_schema, connect, migrate
from service.backends.postgres.writer import index_database
from service.engine import Engine
from service.index import load_index
from service.retrieval import Filters

QUESTIONS = [
    "Who chaired the meeting?",
    "What was the budget for the children's services?",
    "When did the meeting end?",
    "Which option was recommended?",
    "Who sent apologies?",
]


@pytest.fixture
def pg_index(database_url, corpus_dir, fake_embedder):
    report = index_database(corpus_dir, database_url, fake_embedder)
    assert report.version == 1 and report.documents == 3
    return load_database_index(database_url, fake_embedder)


@pytest.fixture
def file_index(built_index, fake_embedder):
    return load_index(built_index, fake_embedder)


def test_migrations_apply_once_and_the_service_checks_them(database_url, fake_embedder):
    applied = migrate(database_url, fake_embedder.model_name, fake_embedder.dimension)
    assert applied == ["0001_index_schema", "0002_filter_indexes", "0003_feedback_in_sql"]
    assert migrate(database_url, fake_embedder.model_name, fake_embedder.dimension) == []
    with connect(database_url) as conn:
        check_schema(conn, fake_embedder.model_name, fake_embedder.dimension)
        with pytest.raises(IndexLoadError, match="built with fake/bag-of-words-64 .64-d., the service uses other"):
            check_schema(conn, "other", 64)
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (4, 'from_the_future')")
        with pytest.raises(IndexLoadError, match="at 0004_from_the_future, this code needs 0003_feedback_in_sql"):
            check_schema(conn, fake_embedder.model_name, fake_embedder.dimension)


def test_an_empty_or_unreachable_database_is_a_clear_load_error(database_url, fake_embedder, pg_server):
    with pytest.raises(IndexLoadError, match="schema is at no migrations"):
        load_database_index(database_url, fake_embedder)
    migrate(database_url, fake_embedder.model_name, fake_embedder.dimension)
    with pytest.raises(IndexLoadError, match="holds no index yet"):
        load_database_index(database_url, fake_embedder)
    with pytest.raises(IndexLoadError, match="cannot reach the index database"):
        load_database_index(database_url.replace("?host=", "?host=/nonexistent"), fake_embedder)


def test_the_loaded_index_is_the_file_index(pg_index, file_index):
    assert pg_index.doc_order == file_index.doc_order
    assert [c.to_dict() for c in pg_index.chunks] == [c.to_dict() for c in file_index.chunks]
    assert np.array_equal(pg_index.sentence_spans, file_index.sentence_spans)
    assert np.allclose(pg_index.chunk_vectors, file_index.chunk_vectors)
    assert np.allclose(pg_index.sentence_vectors, file_index.sentence_vectors)
    assert [u.to_dict() for u in pg_index.units] == [u.to_dict() for u in file_index.units]
    for doc_id, doc in file_index.documents.items():
        assert pg_index.documents[doc_id].text == doc.text
        assert pg_index.documents[doc_id].meta == doc.meta
    assert pg_index.doc_facts == file_index.doc_facts


def _rank(backend, request, filters=Filters()):
    ranking = backend.rankings([request], filters, 100)[0]
    return ranking.ids.tolist(), ranking.scores


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(bodies=("cabinet",)),
        Filters(doc_types=("minutes",)),
        Filters(document_ids=("panel-minutes-2018-03-22",)),
        Filters(date_from=__import__("datetime").date(2018, 1, 1)),
    ],
)
def test_dense_rankings_and_lexical_matches_equal_the_embedded_ones(pg_index, file_index, fake_embedder, filters):
    pg, embedded = backend_of(pg_index), EmbeddedBackend(file_index)
    assert type(pg).__name__ == "PostgresBackend"
    for question in QUESTIONS:
        qvec = fake_embedder.encode([question])[0]
        for target in ("chunks", "sentences"):
            pg_ids, pg_scores = _rank(pg, RankingRequest("dense", target, vector=qvec), filters)
            ids, scores = _rank(embedded, RankingRequest("dense", target, vector=qvec), filters)
            assert np.allclose(pg_scores, scores, atol=1e-5)  # the same nearest rows (ties may swap)
            assert set(pg_ids) == set(ids)
            # Lexical: the same rows match the same terms (PostgreSQL leaves out the common ones, and
            # orders by ts_rank, not BM25).
            terms = [t for t in tokenize(question) if t not in pg.common_terms] or tokenize(question)
            pg_ids, _ = _rank(pg, RankingRequest("lexical", target, terms=question), filters)
            ids, _ = _rank(embedded, RankingRequest("lexical", target, terms=terms), filters)
            assert set(pg_ids) == set(ids)
    if not filters.is_empty():
        allowed = [i for i, c in enumerate(file_index.chunks) if c.doc_id in _allowed(file_index, filters)]
        ids, _ = _rank(pg, RankingRequest("dense", "chunks", vector=fake_embedder.encode(["meeting"])[0]), filters)
        assert ids and set(ids) <= set(allowed)


def test_common_terms_are_left_out_of_lexical_rankings_unless_alone(pg_index, file_index):
    pg = backend_of(pg_index)
    shares = _shares(file_index)
    assert pg.common_terms and min(shares[t] for t in pg.common_terms) > 0.25
    assert max(n for t, n in shares.items() if t not in pg.common_terms) <= 0.25
    common = sorted(pg.common_terms)[0]
    alone, _ = _rank(pg, RankingRequest("lexical", "chunks", terms=[common]))
    assert alone  # a question of common words only still ranks by them
    rare, _ = _rank(pg, RankingRequest("lexical", "chunks", terms=["vat"]))
    with_common, _ = _rank(pg, RankingRequest("lexical", "chunks", terms=["vat", common]))
    assert rare == with_common


def _lexical_text(index, chunk) -> str:
    return f"{meta_line(index.documents[chunk.doc_id].meta)}\n{chunk.search_text}"  # as the writer stores it


def _shares(index) -> dict[str, float]:
    counts: dict[str, int] = {}
    for c in index.chunks:
        for t in token_set(_lexical_text(index, c)):
            counts[t] = counts.get(t, 0) + 1
    return {t: n / len(index.chunks) for t, n in counts.items()}


def _allowed(index, filters):
    from service.retrieval import allowed_documents

    return set(allowed_documents(index, filters))


def test_answers_through_postgres_equal_the_embedded_answers(pg_index, file_index):
    pg, embedded = Engine(pg_index), Engine(file_index)
    for question in QUESTIONS:
        a, b = pg.ask(question), embedded.ask(question)
        assert (a.answer, a.abstained) == (b.answer, b.abstained), question
        assert [(c.document_id, c.start, c.end) for c in a.citations] == [
            (c.document_id, c.start, c.end) for c in b.citations
        ]


def test_lexical_rankings_in_memory_are_the_index_folders(database_url, corpus_dir, fake_embedder, file_index):
    """MINUTES_QA_DATABASE_LEXICAL=memory: BM25 built at load from the database's text ranks exactly
    as the index folder's BM25; dense rankings still come from PostgreSQL."""
    index_database(corpus_dir, database_url, fake_embedder)
    pg_index = load_database_index(database_url, fake_embedder, lexical="memory")
    pg, embedded = backend_of(pg_index), EmbeddedBackend(file_index)
    for question in QUESTIONS:
        for filters in (Filters(), Filters(bodies=("cabinet",))):
            requests = [
                RankingRequest("lexical", "chunks", terms=question),
                RankingRequest("dense", "chunks", vector=fake_embedder.encode([question])[0]),
                RankingRequest("lexical", "sentences", terms=question),
            ]
            for a, b in zip(
                pg.rankings(requests, filters, 100), embedded.rankings(requests, filters, 100), strict=True
            ):
                assert np.allclose(a.scores, b.scores, atol=1e-5)
            lexical = [
                (a.ids.tolist(), b.ids.tolist())
                for a, b in zip(
                    pg.rankings(requests[::2], filters, 100),
                    embedded.rankings(requests[::2], filters, 100),
                    strict=True,
                )
            ]
            assert all(x == y for x, y in lexical)
        a, b = Engine(pg_index).ask(question), Engine(file_index).ask(question)
        assert (a.answer, [c.start for c in a.citations]) == (b.answer, [c.start for c in b.citations])
