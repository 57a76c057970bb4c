"""The question-answering pipeline as one typed entry point, shared by the API, CLI and eval."""

from __future__ import annotations

import functools
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from service.backends import backend_of
from service.candidates import Candidate, CandidateBuilder
from service.compose import NEVER, Composer
from service.coverage import NOT_COVERED, CoverageCheck
from service.index import LoadedIndex
from service.query import AnalyzedQuery, QueryAnalyzer
from service.rerank import PassageReranker, RerankerModel
from service.retrieval import Filters, Hit, RetrievalPass, RetrievalPlan, retrieve
from service.scoring import Scorer, ScorerModel

NOT_FOUND = f"{NOT_COVERED}: no passage in the indexed papers answers the question."


@dataclass
class Citation:
    n: int
    document_id: str
    title: str
    body: str | None
    meeting_date: str | None
    section: str | None
    item: str | None
    quote: str
    start: int
    end: int
    url: str
    score: float
    page: int | None = None  # the page the quote starts on (PDF papers), else None
    page_end: int | None = None  # the page it ends on (the same page unless it runs over a break)
    source_url: str | None = None  # the council's own file, at `#page=N` for a PDF


# Pseudo-relevance feedback (top 5 passages, 15 expansion terms, Rocchio weight 0.3), chosen on the
# train split by recall@10 and @20 for both phrasing styles.
RM3_FEEDBACK = (5, 15, 0.3)


@dataclass(frozen=True)
class PipelineOptions:
    """How retrieval is configured (fixed per engine, never per request). Evaluation builds
    engines with other settings, or with a stage replaced (eval/runner.py), for its ablation table."""

    retrieval_mode: str = "hybrid"  # hybrid | dense | bm25
    named_pass: bool = True  # an extra retrieval pass over the papers the question names
    passages: int = 20  # retrieved passages whose sentences and units become candidates
    named_passages: int = 10
    # Pseudo-relevance feedback (top passages, expansion terms, Rocchio weight); None switches it off.
    # Kept on although, with the re-ranker, it lowers cross-fitted train recall (Members' recall@10
    # 65.0 without it, 63.9 with it): without it the refit's cut must rise from 0.19 to 0.33 to keep
    # the gate's round-1 floors, refusing 47% of train's answerable questions against 23%
    # (bench/RESULTS.md, 2026-12-07, fourth session).
    feedback: tuple[int, int, float] | None = RM3_FEEDBACK
    glossary: bool = True  # search with the council's words for everyday words too
    # Also rank by the meaning of the question with the glossary's council words added, as two more
    # dense rankings in the fusion (the question's own vector still ranks too, and alone gives the
    # scorer its meaning features). It raised everyday-phrasing recall@10 on train in two
    # cross-fitted fold sets (58.0 → 60.7, 57.1 → 59.8; bench/RESULTS.md, 2026-12-07) but is off
    # until the scorer is refitted with it (the fitted scorer saw candidates retrieved without it).
    expansion_vector: bool = False
    # Re-order fusion's top passages with the fitted passage re-ranker (service/rerank.py) before
    # the first `passages` become candidates; off, or with no fitted model, fusion's order stands.
    rerank: bool = True


@dataclass
class AskResult:
    answer: str
    abstained: bool
    confidence: float
    query: str
    citations: list[Citation]
    related: list[Citation]
    took_ms: float
    top_score: float = 0.0  # the best candidate's probability (what the abstention cut applies to)
    timings_ms: dict[str, float] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    answer_span: dict | None = None  # {"citation": n, "start": …, "end": …}: the short answer
    explain: dict | None = None


_ENCODE_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


def permalink(doc_id: str, start: int, end: int) -> str:
    return f"/documents/{doc_id}#{start}-{end}"


class Engine:
    """One loaded index version and the answer pipeline built for it (immutable once made):
    QueryAnalyzer → retrieve → CandidateBuilder → Scorer → Composer."""

    def __init__(
        self,
        index: LoadedIndex,
        query_cache_size: int = 1024,
        model: ScorerModel | None = None,
        options: PipelineOptions = PipelineOptions(),
        reranker: RerankerModel | None = None,
    ) -> None:
        self.index = index
        # Where the rankings are computed: FAISS + bm25s in the process, or the database the index
        # was loaded from (service.backends); everything else is read from `index`.
        self.backend = backend_of(index)
        self.options = options
        self.analyzer = QueryAnalyzer(d.meta for d in index.documents.values())
        self.scorer = Scorer(index, model)
        self.builder = CandidateBuilder(index, self.scorer.idf)
        # The fitted re-ranker (service/data/reranker.json) unless one is given (cross-fitting).
        if reranker is None and options.rerank:
            reranker = RerankerModel.load()
        self.reranker = PassageReranker(index, reranker if options.rerank else None)
        model = self.scorer.model
        self.composer = Composer(
            index,
            model.abstain_below,
            second_quote_within=model.second_quote_within,
            continue_above=self.scorer.continuation.above if self.scorer.continuation else NEVER,
        )
        self.coverage = CoverageCheck(self.scorer.idf)
        # The query embedding is ~75% of an answer's CPU time; repeated questions (starter
        # questions, re-asked follow-ups, clients retrying) skip it.
        self._embed_cached = (
            functools.lru_cache(maxsize=query_cache_size)(self._embed) if query_cache_size else self._embed
        )

    def _embed(self, text: str) -> np.ndarray:
        # At most as many model forward passes at once as there are cores: more only queue inside
        # torch and each holds its own activation buffers, which raised RSS under load.
        with _ENCODE_SLOTS:
            vector = self.index.embedder.encode([text])[0]
        vector.setflags(write=False)
        return vector

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_cached(text)

    def citation(self, n: int, doc_id: str, chunk_i: int, start: int, end: int, score: float) -> Citation:
        doc = self.index.documents[doc_id]
        chunk = self.index.chunks[chunk_i]
        page = doc.page_at(start)
        return Citation(
            n=n,
            document_id=doc_id,
            title=doc.meta.title,
            body=doc.meta.body,
            meeting_date=doc.meta.meeting_date,
            section=chunk.section,
            item=chunk.item,
            quote=doc.text[start:end],
            start=start,
            end=end,
            url=permalink(doc_id, start, end),
            score=round(float(score), 4),
            page=page,
            page_end=doc.page_at(max(start, end - 1)),
            source_url=doc.original_url(page),
        )

    def _cite(self, cands: list[Candidate]) -> list[Citation]:
        return [self.citation(n, c.doc_id, c.chunk, c.start, c.end, c.score) for n, c in enumerate(cands, 1)]

    def search_text(self, query: AnalyzedQuery) -> str:
        # BM25 also searches the council's words for the question's everyday words (the glossary).
        return f"{query.text} {query.expansion}".strip() if self.options.glossary else query.text

    def plan(self, query: AnalyzedQuery, qvec: np.ndarray, filters: Filters, k: int, named: bool) -> RetrievalPlan:
        """The question's retrieval, planned up front (it depends only on the question analysis): the
        main pass, and with `named` — when the question names a meeting, body or paper and the user
        set no filter — a second pass over just those papers."""
        o = self.options
        text = self.search_text(query)
        # The question's own vector ranks as it is (the words added to it, it ranked worse); the
        # expanded question is a second reading with rankings of its own.
        readings = (self.embed_query(text),) if o.expansion_vector and o.glossary and query.expansion else ()
        passes = [RetrievalPass(filters, k, o.retrieval_mode, o.feedback, readings)]
        if named and o.named_pass and filters.is_empty() and not query.constraints.is_empty():
            papers = query.named_documents
            if papers and len(papers) < len(self.index.doc_order):
                passes.append(
                    RetrievalPass(Filters(document_ids=papers), o.named_passages, o.retrieval_mode, o.feedback)
                )
        return RetrievalPlan(text, qvec, tuple(passes), self.scorer.idf)

    def fused(self, query: AnalyzedQuery, qvec: np.ndarray, filters: Filters, k: int) -> list[Hit]:
        """Fusion's top `k` passages for the question (before any re-ranking)."""
        return self.backend.retrieve(self.plan(query, qvec, filters, k, named=False))[0]

    def retrieve(self, query: AnalyzedQuery, qvec: np.ndarray, filters: Filters) -> list[Hit]:
        """Hybrid retrieval, re-ranked; when the question names a meeting, body or paper (and the
        user set no filter), a second pass over just those papers adds their best passages to the
        pool. Both passes are one call of the backend (one database round trip)."""
        o = self.options
        plan = self.plan(query, qvec, filters, max(o.passages, self.reranker.pool), named=True)
        main, *named = self.backend.retrieve(plan)
        hits = self.reranker.run(query, qvec, main, self.scorer.query_weights(query))[: o.passages]
        for extra in named:
            have = {h.chunk for h in hits}
            hits += [h for h in extra if h.chunk not in have]
        return hits

    def candidates(self, query: AnalyzedQuery, hits: list[Hit]) -> list[Candidate]:
        return self.builder.run(query, hits)

    def ask(
        self,
        question: str,
        history_user_turns: list[str] | None = None,
        filters: Filters = Filters(),
        top_k: int = 3,
        explain: bool = False,
    ) -> AskResult:
        t0 = time.perf_counter()
        query = self.analyzer.run(question, history_user_turns or [])
        qvec = self.embed_query(query.text)
        t1 = time.perf_counter()
        hits = self.retrieve(query, qvec, filters)
        t2 = time.perf_counter()
        scored = self.scorer.run(query, qvec, self.candidates(query, hits))
        composed = self.composer.run(query, scored, max_citations=top_k, absent=self.coverage.absent(query.text))
        t3 = time.perf_counter()
        citations, related = self._cite(composed.cited), self._cite(composed.related)
        span = None
        if composed.answer_span:
            n, s, e = composed.answer_span
            span = {"citation": n, "start": s, "end": e}
        return AskResult(
            answer=composed.answer if not composed.abstained else (composed.refusal or NOT_FOUND),
            abstained=composed.abstained,
            confidence=round(composed.confidence, 4),
            query=query.text,
            citations=citations,
            related=related,
            took_ms=round((t3 - t0) * 1000, 2),
            top_score=scored[0].score if scored else 0.0,
            timings_ms={"embed": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000, "compose": (t3 - t2) * 1000},
            hits=hits,
            answer_span=span,
            explain=explain_report(self, query, hits, scored, composed) if explain else None,
        )

    def search(self, q: str, k: int = 10, filters: Filters = Filters(), mode: str = "hybrid") -> list[Citation]:
        qvec = self.embed_query(q)
        hits = retrieve(self.index, q, qvec, filters, k=k, mode=mode, backend=self.backend)
        out = []
        for n, h in enumerate(hits, 1):
            chunk = self.index.chunks[h.chunk]
            out.append(self.citation(n, chunk.doc_id, h.chunk, chunk.start, chunk.end, h.score))
        return out


def explain_report(
    engine: Engine, query: AnalyzedQuery, hits: list[Hit], scored: list[Candidate], composed, top: int = 8
) -> dict:
    """What explain mode shows: the question analysis, the retrieval ranking, the best candidates
    with their features and probabilities, and why the pipeline answered or abstained."""
    index = engine.index
    c = query.constraints
    return {
        "analysis": {
            "standalone": query.text,
            "answer_type": query.answer_type,
            "fact_roles": list(query.roles),
            "extreme": query.extreme,
            "follow_up": query.is_follow_up,
            "constraints": {
                "bodies": list(c.bodies),
                "councils": list(c.councils),
                "doc_types": list(c.doc_types),
                "dates": list(c.dates),
                "items": list(c.items),
            },
        },
        "retrieval": [
            {
                "rank": h.rank + 1,
                "document_id": index.chunks[h.chunk].doc_id,
                "section": index.chunks[h.chunk].section,
                "fused": round(h.score, 5),
                "dense": round(h.dense, 4),
                "bm25": round(h.lexical, 3),
                "text": index.chunks[h.chunk].search_text[:160],
            }
            for h in hits[:10]
        ],
        "candidates": [
            {
                "kind": x.kind,
                "document_id": x.doc_id,
                "start": x.start,
                "end": x.end,
                "text": " ".join(index.documents[x.doc_id].text[x.start : x.end].split())[:200],
                "probability": round(x.score, 4),
                "features": {k: round(v, 4) for k, v in x.features.items()},
            }
            for x in scored[:top]
        ],
        "decision": {
            "abstained": composed.abstained,
            "cut": round(engine.composer.abstain_below, 4),
            "reason": composed.reason,
        },
    }
