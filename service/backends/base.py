"""The types a retrieval backend answers in, and the protocol every backend implements (see
`service.backends`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from service.filters import Filters
from service.index import LoadedIndex

Target = Literal["chunks", "sentences"]
Kind = Literal["dense", "lexical"]
MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class RankingRequest:
    kind: Kind
    target: Target
    vector: np.ndarray | None = None  # dense: the (normalised) query vector
    terms: str | list[str] | None = None  # lexical: the query text, or tokens already made by `tokenize`


@dataclass(frozen=True)
class Ranking:
    """Positions (chunk index, or sentence row of `sentence_spans`) best first, and their scores."""

    ids: np.ndarray
    scores: np.ndarray


@dataclass
class Hit:
    chunk: int
    score: float  # fused (RRF) score
    dense: float
    lexical: float
    rank: int = 0


@dataclass(frozen=True)
class RetrievalPass:
    """One fused ranking of a question: its rankings (four in hybrid mode, plus two for each extra
    vector), restricted by `filters`, with pseudo-relevance feedback (top passages, expansion terms,
    Rocchio weight) adding two more; the top `k` passages come back."""

    filters: Filters = Filters()
    k: int = 10
    mode: str = "hybrid"  # hybrid | dense | bm25
    feedback: tuple[int, int, float] | None = None
    extra_vectors: tuple[np.ndarray, ...] = ()  # more readings of the question, each with rankings of its own

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown retrieval mode {self.mode!r}; one of {', '.join(MODES)}")


@dataclass(frozen=True)
class RetrievalPlan:
    """Everything retrieval needs for one question, known before any ranking runs: the search
    text and the question's vector, and the passes (the main one; the papers the question names)."""

    query: str  # the search text: lexical rankings and the feedback terms' exclusions
    vector: np.ndarray
    passes: tuple[RetrievalPass, ...]
    # The inverse document frequencies the feedback terms are weighed by (the scorer's). The
    # database backend keeps the same figures per index version (term_df) and does not read these.
    idf: dict[str, float] = field(default_factory=dict)


class RetrievalBackend(Protocol):
    """Computes rankings over one pinned index version."""

    index: LoadedIndex

    def rankings(self, requests: list[RankingRequest], filters: Filters, n: int) -> list[Ranking]:
        """One ranking of at most `n` entries per request, in request order."""
        ...

    def retrieve(self, plan: RetrievalPlan) -> list[list[Hit]]:
        """The fused top hits of each pass of `plan`, in pass order (one database round trip)."""
        ...
