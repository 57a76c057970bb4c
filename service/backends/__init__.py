"""Retrieval backends: where the rankings that retrieval fuses are computed.

A backend carries out a question's `RetrievalPlan` (`retrieve`: the passes — the main one, and
the papers the question names — each fused by reciprocal rank fusion with pseudo-relevance
feedback) and answers single ranking requests (`rankings`: the passages (chunks) or sentences
nearest a query vector (dense), or best matching a query's terms (lexical)), restricted by the
user's `Filters`. The embedded backend fuses in Python (`service.backends.fusion`); PostgreSQL
ranks, fuses and runs the feedback rankings of every pass in one SQL statement (one round trip).

Everything else the answer pipeline reads (passages, sentences, documents, answer units, meeting
facts, vectors for scoring) is the `LoadedIndex` the backend was loaded with: the embedded backend
reads it from the index folder, the PostgreSQL backend from the database at load time
(`service.backends.postgres.loader`), pinned to one index version.

Two implementations:
- `EmbeddedBackend` (`service.backends.embedded`): FAISS + bm25s inside the process, the default.
- `PostgresBackend` (`service.backends.postgres.rankings`): pgvector HNSW + full-text search in SQL,
  selected by `MINUTES_QA_DATABASE_URL`.
"""

from __future__ import annotations

from service.backends.base import (
    Hit,
    Kind,
    Ranking,
    RankingRequest,
    RetrievalBackend,
    RetrievalPass,
    RetrievalPlan,
    Target,
)
from service.index import LoadedIndex

__all__ = [
    "Hit",
    "Kind",
    "Ranking",
    "RankingRequest",
    "RetrievalBackend",
    "RetrievalPass",
    "RetrievalPlan",
    "Target",
    "attach_backend",
    "backend_of",
]

# The attribute a LoadedIndex carries its backend in when it is not the embedded one (see attach_backend).
_BACKEND_ATTRIBUTE = "retrieval_backend"


def attach_backend(index: LoadedIndex, backend: RetrievalBackend) -> None:
    """Make `backend` the one that ranks over `index` (for indexes loaded from a database: every
    caller of `retrieve(index, …)` — the engine, the topic history, alerts — then uses it)."""
    setattr(index, _BACKEND_ATTRIBUTE, backend)


def backend_of(index: LoadedIndex) -> RetrievalBackend:
    """The backend attached to `index`, else the embedded FAISS + bm25s one over its own files."""
    attached = getattr(index, _BACKEND_ATTRIBUTE, None)
    if attached is not None:
        return attached
    from service.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(index)
