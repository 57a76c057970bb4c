"""Hybrid retrieval: dense (FAISS, MiniLM) and lexical (BM25) rankings fused by RRF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from indexer.lexical import token_set, tokenize
from indexer.vectors import search_params
from service.index import LoadedIndex

RRF_K = 60
CANDIDATES = 100
MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Filters:
    document_ids: tuple[str, ...] = ()
    bodies: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def is_empty(self) -> bool:
        return not (self.document_ids or self.bodies or self.doc_types or self.date_from or self.date_to)


@dataclass
class Hit:
    chunk: int
    score: float  # fused (RRF) score
    dense: float
    lexical: float
    rank: int = 0


def _doc_in_dates(meta, date_from, date_to) -> bool:
    if meta.meeting_date:
        earliest = latest = dt.date.fromisoformat(meta.meeting_date)
    elif meta.date_bounds and meta.date_bounds.get("after") and meta.date_bounds.get("before"):
        earliest = dt.date.fromisoformat(meta.date_bounds["after"])
        latest = dt.date.fromisoformat(meta.date_bounds["before"])
    else:
        return False  # an undated paper cannot be shown to fall inside a date range
    return (date_from is None or earliest >= date_from) and (date_to is None or latest <= date_to)


def allowed_documents(index: LoadedIndex, filters: Filters) -> list[str]:
    out = []
    for doc_id in index.doc_order:
        meta = index.documents[doc_id].meta
        if filters.document_ids and doc_id not in filters.document_ids:
            continue
        if filters.bodies and (meta.body or "").lower() not in {b.lower() for b in filters.bodies}:
            continue
        if filters.doc_types and meta.doc_type not in filters.doc_types:
            continue
        if (filters.date_from or filters.date_to) and not _doc_in_dates(meta, filters.date_from, filters.date_to):
            continue
        out.append(doc_id)
    return out


def chunk_mask(index: LoadedIndex, filters: Filters) -> np.ndarray | None:
    if filters.is_empty():
        return None
    allowed = {index.doc_order.index(d) for d in allowed_documents(index, filters)}
    return np.isin(index.chunk_doc, list(allowed)).astype(np.float32)


def _dense_ranking(faiss_index, qvec: np.ndarray, mask: np.ndarray | None, n: int):
    import faiss

    params = None
    if mask is not None:
        ids = np.flatnonzero(mask).astype(np.int64)
        if ids.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        params = search_params(faiss_index, faiss.IDSelectorBatch(ids))
    scores, ids = faiss_index.search(qvec.reshape(1, -1), min(n, faiss_index.ntotal), params=params)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]


def _lexical_ranking(lexical, query: str | list[str], mask: np.ndarray | None, n: int):
    scores = lexical.scores(query, mask)
    nonzero = np.flatnonzero(scores > 0)
    if nonzero.size > n:  # partial selection first: O(N), then sort only the n best
        nonzero = nonzero[np.argpartition(-scores[nonzero], n - 1)[:n]]
    top = nonzero[np.argsort(-scores[nonzero], kind="stable")]
    return top, scores[top]


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
) -> list[Hit]:
    """Top-k passages for `query`. Rankings fused by reciprocal rank fusion: passages and single
    sentences, each by meaning (FAISS) and by words (BM25) — four in hybrid mode — plus, with
    `feedback`, two pseudo-relevance-feedback rankings (RM3 terms, a Rocchio vector). A sentence
    ranking counts for the passage that holds it, so a fact buried in a long paragraph is found."""
    if mode not in MODES:
        raise ValueError(f"unknown retrieval mode {mode!r}; one of {', '.join(MODES)}")
    mask = chunk_mask(index, filters)
    sentence_chunk = index.sentence_spans[:, 0]
    sentence_mask = mask[sentence_chunk] if mask is not None else None
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

    if mode in ("hybrid", "dense"):
        ids, scores = _dense_ranking(index.faiss_index, qvec, mask, CANDIDATES)
        add(ids.tolist(), scores.tolist(), "dense")
        ids, scores = _dense_ranking(index.sentence_faiss, qvec, sentence_mask, CANDIDATES)
        add(sentence_chunk[ids].tolist(), scores.tolist(), "dense")
        for vec in extra_vectors:  # more readings of the question, each a ranking of its own
            ids, scores = _dense_ranking(index.faiss_index, vec, mask, CANDIDATES)
            add(ids.tolist(), scores.tolist(), "dense")
            ids, scores = _dense_ranking(index.sentence_faiss, vec, sentence_mask, CANDIDATES)
            add(sentence_chunk[ids].tolist(), scores.tolist(), "dense")
    if mode in ("hybrid", "bm25"):
        ids, scores = _lexical_ranking(index.lexical, query, mask, CANDIDATES)
        add(ids.tolist(), scores.tolist(), "lexical")
        ids, scores = _lexical_ranking(index.sentence_lexical, query, sentence_mask, CANDIDATES)
        add(sentence_chunk[ids].tolist(), scores.tolist(), "lexical")
    if feedback and mode == "hybrid" and fused:
        # Pseudo-relevance feedback, as two more rankings in the fusion (they add to the first pass,
        # never replace it): BM25 over the query plus the top passages' heaviest terms (RM3), and
        # the query vector moved towards the top passages' vectors (Rocchio).
        top_k, n_terms, beta = feedback
        top = [h.chunk for h in sorted(fused.values(), key=lambda h: (-h.score, h.chunk))[:top_k]]
        terms = feedback_terms(index, query, top, idf or {}, n_terms)
        ids, scores = _lexical_ranking(index.lexical, tokenize(query) + terms, mask, CANDIDATES)
        add(ids.tolist(), scores.tolist(), "lexical")
        moved = qvec + beta * index.chunk_vectors[top].mean(axis=0)
        moved = (moved / (np.linalg.norm(moved) or 1.0)).astype(np.float32)
        ids, scores = _dense_ranking(index.faiss_index, moved, mask, CANDIDATES)
        add(ids.tolist(), scores.tolist(), "dense")
    hits = sorted(fused.values(), key=lambda h: (-h.score, h.chunk))[:k]
    for rank, hit in enumerate(hits):
        hit.rank = rank
    return hits
