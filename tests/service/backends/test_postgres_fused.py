"""A question's whole retrieval in ONE SQL statement (service/backends/postgres/fused.py) against a
real PostgreSQL on the fixture corpus: one round trip a question, the fusion in SQL equal to the
Python fusion of the same rankings, and the one-statement answer equal to the Python path's
(rankings asked of the database, fused and fed back in Python)."""

from __future__ import annotations

import copy
from datetime import date

import numpy as np
import pytest

from indexer.lexical import token_set
from service.backends import RetrievalPass, RetrievalPlan, backend_of
from service.backends.fusion import Fusion, feedback_terms, first_requests, fuse_in_python
from service.backends.postgres.fused import FusedStatement
from service.backends.postgres.loader import load_database_index
from service.backends.postgres.schema import connect
from service.backends.postgres.writer import index_database
from service.engine import Engine, PipelineOptions
from service.errors import ApiError, ErrorCode
from service.retrieval import Filters
from service.scoring import Scorer

QUESTIONS = [
    "Who chaired the meeting?",
    "What was the budget for the children's services?",
    "Which option was recommended?",
    "Who sent apologies?",
    "zzzz qqqq",  # no term of the corpus: the lexical rankings are empty, dense ones still rank
]
# Questions whose fused lists (bm25) and first fusions at the 5th place (hybrid: the feedback passages)
# hold ties between passages of different papers, broken by position, not row id
TIED = ["accountability april", "accountability county", "against assistant", "approval delivery"]
NAMING = "What did the Cabinet decide in December 2017?"  # names the options analysis: a second pass
FEEDBACK = (5, 15, 0.3)
FILTERS = [
    Filters(),
    Filters(bodies=("cabinet",)),
    Filters(document_ids=("panel-minutes-2018-03-22",)),
    Filters(date_from=date(2018, 1, 1)),
]


@pytest.fixture
def pg_index(database_url, corpus_dir, fake_embedder):
    """Version 2, after an edit of the manifest's FIRST paper: its passages' row ids are now the
    highest while their positions come first, so a tie broken by row id instead of position shows."""
    index_database(corpus_dir, database_url, fake_embedder)
    first = corpus_dir / "panel-minutes-2018-03-22.txt"
    first.write_text(first.read_text(encoding="utf-8") + "\nThe Chairman thanked the panel for attending.\n")
    assert index_database(corpus_dir, database_url, fake_embedder).version == 2
    return load_database_index(database_url, fake_embedder)


def plans(index, fake_embedder):
    """Plans covering the modes, filters, feedback on and off, an extra vector and a named pass."""
    idf = Scorer(index).idf
    for question in QUESTIONS:
        vector = fake_embedder.encode([question])[0]
        for filters in FILTERS:
            for feedback in (None, FEEDBACK):
                yield RetrievalPlan(question, vector, (RetrievalPass(filters, 20, "hybrid", feedback),), idf)
        for mode in ("dense", "bm25"):
            yield RetrievalPlan(question, vector, (RetrievalPass(Filters(), 10, mode, FEEDBACK),), idf)
        extra = fake_embedder.encode([question + " committee"])[0]
        main = RetrievalPass(Filters(), 30, "hybrid", FEEDBACK, (extra,))
        named = RetrievalPass(Filters(document_ids=("options-analysis-2017-12-14",)), 10, "hybrid", FEEDBACK)
        yield RetrievalPlan(question, vector, (main, named), idf)
    for question in TIED:
        vector = fake_embedder.encode([question])[0]
        for mode in ("bm25", "hybrid"):
            yield RetrievalPlan(question, vector, (RetrievalPass(Filters(), 20, mode, FEEDBACK),), idf)


def _run(backend, plan, output):
    statement = FusedStatement(backend, plan, output)
    return backend.pool.run(statement.sql(), statement.params)


def _python_fusion_of(backend, plan, rows):
    """The SQL statement's own rankings (output="rankings"), fused by the Python fusion."""
    out = []
    for p, step in enumerate(plan.passes):
        fusion = Fusion(backend.index)
        mine = [row for row in rows if row[0] == p]  # (pass, place, ranking, paper, passage ord, place, score, dense)
        for r in sorted({row[2] for row in mine}):
            ranking = sorted((row for row in mine if row[2] == r), key=lambda row: row[5])
            scores = np.array([row[6] for row in ranking], dtype=np.float32).tolist()  # as a Ranking holds them
            fusion.add([backend.chunk_position(row[3], row[4]) for row in ranking], scores, ranking[0][7])
        out.append([(h.chunk, h.score, h.dense, h.lexical) for h in fusion.best(step.k)])
    return out


def _same(a, b, dense_tolerance=1e-9):
    assert [h.chunk for h in a] == [h.chunk for h in b]
    for x, y in zip(a, b, strict=True):
        assert (x.score, x.lexical) == (y.score, y.lexical)
        assert x.dense == pytest.approx(y.dense, rel=0, abs=dense_tolerance)
    assert [h.rank for h in a] == list(range(len(a)))


def test_the_fusion_in_sql_is_the_python_fusion_of_the_same_rankings(pg_index, fake_embedder):
    backend = backend_of(pg_index)
    checked = 0
    for plan in plans(pg_index, fake_embedder):
        hits = backend.retrieve(plan)
        expected = _python_fusion_of(backend, plan, _run(backend, plan, "rankings"))
        for got, want in zip(hits, expected, strict=True):
            assert [h.chunk for h in got] == [w[0] for w in want]
            # to the bit: the same shares summed in the same order, scores rounded as a Ranking holds them
            assert [(h.score, h.dense, h.lexical) for h in got] == [w[1:] for w in want]
            checked += len(got)
    assert checked > 500


def test_the_feedback_terms_in_sql_are_the_python_ones(pg_index, fake_embedder):
    """RM3 in SQL (term_df's IDF, ties by term) picks the terms the Python feedback picks from the
    same top passages, in the same order."""
    backend = backend_of(pg_index)
    idf = Scorer(pg_index).idf
    compared = 0
    for plan in plans(pg_index, fake_embedder):
        steps = [(p, s) for p, s in enumerate(plan.passes) if s.feedback and s.mode == "hybrid"]
        terms = _run(backend, plan, "terms")
        for p, step in steps:
            assert step.feedback is not None
            fusion = Fusion(pg_index)
            requests = first_requests(plan, step)
            fusion.add_rankings(requests, backend.rankings(requests, step.filters, 100))
            top = [h.chunk for h in fusion.best(step.feedback[0])]
            want = feedback_terms(pg_index, plan.query, top, idf, step.feedback[1]) if top else []
            got = sorted((r for r in terms if r[0] == p), key=lambda r: r[1])
            # (the "terms" output gives each term's weight: Σ idf over the top passages holding it)
            weights = [sum(idf[t] for c in top if t in token_set(pg_index.chunks[c].search_text)) for t in want]
            assert [r[2] for r in got] == want
            assert [r[3] for r in got] == weights  # Σ of one idf, so exactly the Python sum
            compared += len(want)
    assert compared > 100


def test_one_statement_answers_as_the_python_path(pg_index, fake_embedder):
    """The same hits, order and fused scores as asking the database for each pass's rankings and
    fusing, feeding back and fusing again in Python (the path before one-statement retrieval). The
    Rocchio vector is pgvector's float4 arithmetic there, numpy's here: dense scores agree to 1e-6."""
    backend = backend_of(pg_index)
    # and a deployment scoped to some councils (their partitions only): the same statement, pruned
    scoped = copy.copy(backend)
    scoped.councils = ("Testshire County Council",)
    for plan in plans(pg_index, fake_embedder):
        for b in (backend, scoped):
            for got, want in zip(b.retrieve(plan), fuse_in_python(b, plan), strict=True):
                _same(got, want, dense_tolerance=1e-6)
    assert scoped.retrieve(next(plans(pg_index, fake_embedder)))[0]


@pytest.mark.parametrize("feedback", [None, FEEDBACK])  # the service's default (off), and with feedback in SQL
def test_a_question_is_one_round_trip(pg_index, monkeypatch, feedback):
    backend = backend_of(pg_index)
    statements: list[str] = []
    run = backend.pool.run

    def counting(query, params):
        statements.append(query)
        return run(query, params)

    monkeypatch.setattr(backend.pool, "run", counting)
    engine = Engine(pg_index, options=PipelineOptions(feedback=feedback))
    assert engine.options.named_pass
    query = engine.analyzer.run(NAMING, [])
    plan = engine.plan(query, engine.embed_query(query.text), Filters(), 20, named=True)
    assert len(plan.passes) == 2  # the named pass is planned, not a second call
    for question in (NAMING, *QUESTIONS):
        statements.clear()
        result = engine.ask(question)
        assert len(statements) == 1, question
        assert result.hits
    statements.clear()
    engine.ask(NAMING, filters=Filters(bodies=("cabinet",)))
    assert len(statements) == 1


def test_a_passage_the_loader_did_not_see_is_an_error_never_skipped(pg_index, database_url, fake_embedder):
    backend = backend_of(pg_index)
    called: list[bool] = []
    backend.on_version_gone = lambda: called.append(True)
    with connect(database_url) as conn:  # rows of the pinned version that no loaded position matches
        conn.execute("UPDATE chunks SET ord = ord + 1000 WHERE doc_id = 'web-minutes'")
        conn.commit()
    question = "Who sent apologies?"
    plan = RetrievalPlan(question, fake_embedder.encode([question])[0], (RetrievalPass(Filters(), 20, "dense"),))
    with pytest.raises(ApiError) as exc:
        backend.retrieve(plan)
    assert exc.value.code is ErrorCode.INDEX_UNAVAILABLE and "inconsistent" in exc.value.message
    assert called == [True]  # the holder is told to load the newest version
