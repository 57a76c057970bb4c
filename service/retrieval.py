"""Hybrid retrieval: dense (MiniLM vectors) and lexical (BM25 / full-text) rankings fused by RRF.

The rankings come from the index's retrieval backend (`service.backends`): FAISS + bm25s in the
process by default, or PostgreSQL (pgvector + full-text search) when the index was loaded from a
database. The fusion below is the same for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.lexical import token_set, tokenize
from service.backends import Ranking, RankingRequest, RetrievalBackend, backend_of
from service.filters import Filters, allowed_documents, chunk_mask
from service.index import LoadedIndex

__all__ = ["Filters", "Hit", "allowed_documents", "chunk_mask", "feedback_terms", "retrieve"]

RRF_K = 60
CANDIDATES = 100
MODES = ("hybrid", "dense", "bm25")


@dataclass
class Hit:
    chunk: int
    score: float  # fused (RRF) score
    dense: float
    lexical: float
    rank: int = 0


def feedback_terms(index: LoadedIndex, query: str, chunk_ids: list[int], idf: dict[str, float], n: int) -> list[str]:
    """RM3-style pseudo-relevance feedback: the terms that carry most weight (IDF × how many of the
    top passages hold them) in the first-pass top passages, other than the query's own."""
    own = token_set(query)
    weight: dict[str, float] = {}
    for cid in chunk_ids:
        for t in token_set(index.chunks[cid].search_text):
            if t not in own and not t[0].isdigit() and not t.startswith("£"):
                weight[t] = weight.get(t, 0.0) + idf.get(t, 0.0)
    return [t for t, _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def retrieve(
    index: LoadedIndex,
    query: str,
    qvec: np.ndarray,
    filters: Filters = Filters(),
    k: int = 10,
    mode: str = "hybrid",
    feedback: tuple[int, int, float] | None = None,
    idf: dict[str, float] | None = None,
    extra_vectors: tuple[np.ndarray, ...] = (),
    backend: RetrievalBackend | None = None,
) -> list[Hit]:
    """Top-k passages for `query`. Rankings fused by reciprocal rank fusion: passages and single
    sentences, each by meaning (dense) and by words (lexical) — four in hybrid mode — plus, with
    `feedback`, two pseudo-relevance-feedback rankings (RM3 terms, a Rocchio vector). A sentence
    ranking counts for the passage that holds it, so a fact buried in a long paragraph is found.
    The rankings of each pass are asked of the backend at once (one database round trip)."""
    if mode not in MODES:
        raise ValueError(f"unknown retrieval mode {mode!r}; one of {', '.join(MODES)}")
    backend = backend or backend_of(index)
    sentence_chunk = index.sentence_spans[:, 0]
    fused: dict[int, Hit] = {}

    def add(chunk_ids, scores, field: str) -> None:
        # (a hot loop: up to six rankings of CANDIDATES each per question, so no getattr/setattr)
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
        # In request order, as the rankings were always added (the fused sums, and so ties, stay the same).
        for request, ranking in zip(requests, rankings, strict=True):
            ids = ranking.ids if request.target == "chunks" else sentence_chunk[ranking.ids]
            add(ids.tolist(), ranking.scores.tolist(), request.kind)

    requests: list[RankingRequest] = []
    if mode in ("hybrid", "dense"):
        for vec in (qvec, *extra_vectors):  # more readings of the question, each rankings of its own
            requests += [RankingRequest("dense", target, vector=vec) for target in ("chunks", "sentences")]
    if mode in ("hybrid", "bm25"):
        requests += [RankingRequest("lexical", target, terms=query) for target in ("chunks", "sentences")]
    fuse(requests, backend.rankings(requests, filters, CANDIDATES))
    if feedback and mode == "hybrid" and fused:
        # Pseudo-relevance feedback, as two more rankings in the fusion (they add to the first pass,
        # never replace it): BM25 over the query plus the top passages' heaviest terms (RM3), and
        # the query vector moved towards the top passages' vectors (Rocchio).
        top_k, n_terms, beta = feedback
        top = [h.chunk for h in sorted(fused.values(), key=lambda h: (-h.score, h.chunk))[:top_k]]
        terms = feedback_terms(index, query, top, idf or {}, n_terms)
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
