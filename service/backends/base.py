"""The types a retrieval backend answers in, and the protocol every backend implements (see
`service.backends`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from service.filters import Filters
from service.index import LoadedIndex

Target = Literal["chunks", "sentences"]
Kind = Literal["dense", "lexical"]


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


class RetrievalBackend(Protocol):
    """Computes rankings over one pinned index version."""

    index: LoadedIndex

    def rankings(self, requests: list[RankingRequest], filters: Filters, n: int) -> list[Ranking]:
        """One ranking of at most `n` entries per request, in request order."""
        ...
