"""Retrieval plans on the embedded backend (FAISS + bm25s): `RetrievalBackend.retrieve(plan)` and
the engine's planned named pass give exactly what retrieval gave before plans existed — the same
hits, order and scores — pinned against that code, kept here verbatim as the reference."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from indexer.lexical import token_set, tokenize
from service.backends import Ranking, RankingRequest, backend_of
from service.backends.fusion import RRF_K
from service.engine import Engine
from service.index import load_index
from service.retrieval import CANDIDATES, Filters, Hit, retrieve

QUESTIONS = [
    "Who chaired the meeting?",
    "What was the budget for the children's services?",
    "When did the meeting end?",
    "Which option was recommended?",
    "What did the Cabinet decide in December 2017?",  # names a paper: the named pass runs
    "What did the panel say about VAT in March 2018?",
]
FILTERS = [Filters(), Filters(bodies=("cabinet",)), Filters(date_from=date(2018, 1, 1))]


@pytest.fixture
def engine(built_index, fake_embedder):
    return Engine(load_index(built_index, fake_embedder))


def old_feedback_terms(index, query, chunk_ids, idf, n):
    """service.retrieval.feedback_terms as it was (verbatim, but for the docstring)."""
    own = token_set(query)
    weight: dict[str, float] = {}
    for cid in chunk_ids:
        for t in token_set(index.chunks[cid].search_text):
            if t not in own and not t[0].isdigit() and not t.startswith("£"):
                weight[t] = weight.get(t, 0.0) + idf.get(t, 0.0)
    return [t for t, _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def old_retrieve(index, query, qvec, filters=Filters(), k=10, mode="hybrid", feedback=None, idf=None,
                 extra_vectors=(), backend=None):  # fmt: skip
    """service.retrieval.retrieve as it was before retrieval plans (verbatim, but for the docstring)."""
    backend = backend or backend_of(index)
    sentence_chunk = index.sentence_spans[:, 0]
    fused: dict[int, Hit] = {}

    def add(chunk_ids, scores, field: str) -> None:
        dense = field == "dense"
        rank = 0
        seen: set[int] = set()
        for cid, s in zip(chunk_ids, scores, strict=True):
            if cid in seen:
                continue
            seen.add(cid)
            hit = fused.get(cid)
            if hit is None:
                hit = fused[cid] = Hit(cid, 0.0, 0.0, 0.0)
            hit.score += 1.0 / (RRF_K + rank + 1)
            if dense:
                if s > hit.dense:
                    hit.dense = s
            elif s > hit.lexical:
                hit.lexical = s
            rank += 1

    def fuse(requests: list[RankingRequest], rankings: list[Ranking]) -> None:
        for request, ranking in zip(requests, rankings, strict=True):
            ids = ranking.ids if request.target == "chunks" else sentence_chunk[ranking.ids]
            add(ids.tolist(), ranking.scores.tolist(), request.kind)

    requests: list[RankingRequest] = []
    if mode in ("hybrid", "dense"):
        for vec in (qvec, *extra_vectors):
            requests += [RankingRequest("dense", target, vector=vec) for target in ("chunks", "sentences")]
    if mode in ("hybrid", "bm25"):
        requests += [RankingRequest("lexical", target, terms=query) for target in ("chunks", "sentences")]
    fuse(requests, backend.rankings(requests, filters, CANDIDATES))
    if feedback and mode == "hybrid" and fused:
        top_k, n_terms, beta = feedback
        top = [h.chunk for h in sorted(fused.values(), key=lambda h: (-h.score, h.chunk))[:top_k]]
        terms = old_feedback_terms(index, query, top, idf or {}, n_terms)
        moved = qvec + beta * index.chunk_vectors[top].mean(axis=0)
        moved = (moved / (np.linalg.norm(moved) or 1.0)).astype(np.float32)
        second = [
            RankingRequest("lexical", "chunks", terms=tokenize(query) + terms),
            RankingRequest("dense", "chunks", vector=moved),
        ]
        fuse(second, backend.rankings(second, filters, CANDIDATES))
    hits = sorted(fused.values(), key=lambda h: (-h.score, h.chunk))[:k]
    for rank, hit in enumerate(hits):
        hit.rank = rank
    return hits


def old_engine_retrieve(engine: Engine, query, qvec, filters) -> list[Hit]:
    """Engine.retrieve as it was: the main pass, re-ranked, then the named pass asked afterwards."""
    o = engine.options
    text = engine.search_text(query)
    main = old_retrieve(engine.index, text, qvec, filters, k=max(o.passages, engine.reranker.pool),
                        mode=o.retrieval_mode, feedback=o.feedback, idf=engine.scorer.idf)  # fmt: skip
    hits = engine.reranker.run(query, qvec, main, engine.scorer.query_weights(query))[: o.passages]
    if o.named_pass and filters.is_empty() and not query.constraints.is_empty():
        named = query.named_documents
        if named and len(named) < len(engine.index.doc_order):
            have = {h.chunk for h in hits}
            extra = old_retrieve(engine.index, text, qvec, Filters(document_ids=named), k=o.named_passages,
                                 mode=o.retrieval_mode, feedback=o.feedback, idf=engine.scorer.idf)  # fmt: skip
            hits += [h for h in extra if h.chunk not in have]
    return hits


def test_a_plan_on_the_embedded_backend_retrieves_as_before(engine, fake_embedder):
    index, idf = engine.index, engine.scorer.idf
    compared = 0
    for question in QUESTIONS:
        qvec = fake_embedder.encode([question])[0]
        extra = fake_embedder.encode([question + " council"])[0]
        for filters in FILTERS:
            for mode in ("hybrid", "dense", "bm25"):
                for feedback in (None, (5, 15, 0.3), (3, 5, 0.5)):
                    for extras in ((), (extra,)):
                        args = (index, question, qvec, filters, 20, mode, feedback, idf, extras)
                        new, old = retrieve(*args), old_retrieve(*args)
                        assert new == old, (question, filters, mode, feedback)  # dataclass ==: every field exact
                        compared += len(new)
    assert compared > 1000


def test_the_engine_plans_the_named_pass_and_retrieves_as_before(engine):
    named_passes = 0
    for question in QUESTIONS:
        for filters in (Filters(), Filters(bodies=("cabinet",))):
            query = engine.analyzer.run(question)
            qvec = engine.embed_query(query.text)
            plan = engine.plan(query, qvec, filters, 20, named=True)
            named_passes += len(plan.passes) - 1
            assert engine.retrieve(query, qvec, filters) == old_engine_retrieve(engine, query, qvec, filters)
            assert engine.fused(query, qvec, filters, 20) == old_retrieve(
                engine.index, engine.search_text(query), qvec, filters, k=20, mode=engine.options.retrieval_mode,
                feedback=engine.options.feedback, idf=engine.scorer.idf)  # fmt: skip
    assert named_passes >= 2  # the questions that name a paper, without a filter


def test_the_named_pass_is_planned_only_for_a_question_naming_some_papers_and_no_filter(engine):
    query = engine.analyzer.run("What did the Cabinet decide in December 2017?")
    qvec = engine.embed_query(query.text)
    plan = engine.plan(query, qvec, Filters(), 20, named=True)
    assert [p.filters for p in plan.passes] == [Filters(), Filters(document_ids=query.named_documents)]
    assert [p.k for p in plan.passes] == [20, engine.options.named_passages]
    assert len(engine.plan(query, qvec, Filters(bodies=("cabinet",)), 20, named=True).passes) == 1
    assert len(engine.plan(query, qvec, Filters(), 20, named=False).passes) == 1
    plain = engine.analyzer.run("Who chaired the meeting?")
    assert len(engine.plan(plain, qvec, Filters(), 20, named=True).passes) == 1


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown retrieval mode 'fuzzy'"):
        retrieve(None, "q", np.zeros(4, np.float32), mode="fuzzy")  # type: ignore[arg-type]
