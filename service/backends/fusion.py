"""Reciprocal rank fusion in Python over any backend's rankings: the embedded backend's retrieval,
and the reference the PostgreSQL backend's fusion in SQL is tested against (same hits, order, scores).

A pass asks the backend for its rankings at once, fuses them (each ranking adds 1 / (RRF_K + rank)
to every passage in it; a sentence counts for the passage that holds it, once, at its best rank),
then — with feedback — asks for two pseudo-relevance-feedback rankings and adds them to the fusion.
"""

from __future__ import annotations

import numpy as np

from indexer.lexical import token_set, tokenize
from service.backends.base import Hit, Ranking, RankingRequest, RetrievalBackend, RetrievalPass, RetrievalPlan
from service.index import LoadedIndex

RRF_K = 60
CANDIDATES = 100  # the depth of every ranking


def rm3_candidate(term: str) -> bool:
    """Whether a passage's term may be a feedback term: numbers and amounts never are."""
    return not term[0].isdigit() and not term.startswith("£")


def feedback_terms(index: LoadedIndex, query: str, chunk_ids: list[int], idf: dict[str, float], n: int) -> list[str]:
    """RM3-style pseudo-relevance feedback: the terms that carry most weight (IDF × how many of the
    top passages hold them) in the first-pass top passages, other than the query's own."""
    own = token_set(query)
    weight: dict[str, float] = {}
    for cid in chunk_ids:
        for t in token_set(index.chunks[cid].search_text):
            if t not in own and rm3_candidate(t):
                weight[t] = weight.get(t, 0.0) + idf.get(t, 0.0)
    return [t for t, _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def first_requests(plan: RetrievalPlan, p: RetrievalPass) -> list[RankingRequest]:
    """A pass's first rankings, in the order they are fused (the fused sums, and so ties, depend on it)."""
    requests: list[RankingRequest] = []
    if p.mode in ("hybrid", "dense"):
        for vec in (plan.vector, *p.extra_vectors):
            requests += [RankingRequest("dense", target, vector=vec) for target in ("chunks", "sentences")]
    if p.mode in ("hybrid", "bm25"):
        requests += [RankingRequest("lexical", target, terms=plan.query) for target in ("chunks", "sentences")]
    return requests


class Fusion:
    """The fused hits of one pass, ranking by ranking."""

    def __init__(self, index: LoadedIndex) -> None:
        self.sentence_chunk = index.sentence_spans[:, 0]
        self.fused: dict[int, Hit] = {}

    def add(self, chunk_ids: list[int], scores: list[float], dense: bool) -> None:
        # (a hot loop: up to six rankings of CANDIDATES each per question, so no getattr/setattr)
        fused = self.fused
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

    def add_rankings(self, requests: list[RankingRequest], rankings: list[Ranking]) -> None:
        for request, ranking in zip(requests, rankings, strict=True):
            ids = ranking.ids if request.target == "chunks" else self.sentence_chunk[ranking.ids]
            self.add(ids.tolist(), ranking.scores.tolist(), request.kind == "dense")

    def best(self, k: int) -> list[Hit]:
        return sorted(self.fused.values(), key=lambda h: (-h.score, h.chunk))[:k]


def fuse_pass(backend: RetrievalBackend, plan: RetrievalPlan, p: RetrievalPass) -> list[Hit]:
    index = backend.index
    fusion = Fusion(index)
    requests = first_requests(plan, p)
    fusion.add_rankings(requests, backend.rankings(requests, p.filters, CANDIDATES))
    if p.feedback and p.mode == "hybrid" and fusion.fused:
        # Pseudo-relevance feedback, as two more rankings in the fusion (they add to the first pass,
        # never replace it): BM25 over the query plus the top passages' heaviest terms (RM3), and
        # the query vector moved towards the top passages' vectors (Rocchio).
        top_k, n_terms, beta = p.feedback
        top = [h.chunk for h in fusion.best(top_k)]
        terms = feedback_terms(index, plan.query, top, plan.idf, n_terms)
        moved = plan.vector + beta * index.chunk_vectors[top].mean(axis=0)
        moved = (moved / (np.linalg.norm(moved) or 1.0)).astype(np.float32)
        second = [
            RankingRequest("lexical", "chunks", terms=tokenize(plan.query) + terms),
            RankingRequest("dense", "chunks", vector=moved),
        ]
        fusion.add_rankings(second, backend.rankings(second, p.filters, CANDIDATES))
    hits = fusion.best(p.k)
    for rank, hit in enumerate(hits):
        hit.rank = rank
    return hits


def fuse_in_python(backend: RetrievalBackend, plan: RetrievalPlan) -> list[list[Hit]]:
    """Each pass of `plan` fused here from the backend's rankings (a round trip a ranking call)."""
    return [fuse_pass(backend, plan, p) for p in plan.passes]
