"""Hybrid retrieval: dense (MiniLM vectors) and lexical (BM25 / full-text) rankings fused by RRF.

The retrieval of a question is a `RetrievalPlan` (its passes) that the index's retrieval backend
(`service.backends`) carries out: FAISS + bm25s in the process, fused here in Python
(`service.backends.fusion`), by default; or PostgreSQL (pgvector + full-text search), which ranks,
fuses and runs the feedback rankings in one SQL statement (`service.backends.postgres.fused`).
"""

from __future__ import annotations

import numpy as np

from service.backends import RetrievalBackend, backend_of
from service.backends.base import MODES, Hit, RetrievalPass, RetrievalPlan
from service.backends.fusion import CANDIDATES, RRF_K, feedback_terms
from service.filters import Filters, allowed_documents, chunk_mask
from service.index import LoadedIndex

__all__ = [
    "CANDIDATES",
    "MODES",
    "RRF_K",
    "Filters",
    "Hit",
    "RetrievalPass",
    "RetrievalPlan",
    "allowed_documents",
    "chunk_mask",
    "feedback_terms",
    "retrieve",
]


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
    One pass of a plan (`RetrievalBackend.retrieve`): one database round trip."""
    step = RetrievalPass(filters, k, mode, feedback, tuple(extra_vectors))
    plan = RetrievalPlan(query, qvec, (step,), idf or {})
    return (backend or backend_of(index)).retrieve(plan)[0]
