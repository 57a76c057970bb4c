"""The embedded backend: FAISS (dense) and bm25s (BM25) inside the process, over the index folder's
files. The default, and exactly the rankings the service computed before backends existed."""

from __future__ import annotations

import numpy as np

from indexer.vectors import search_params
from service.backends.base import Hit, Ranking, RankingRequest, RetrievalPlan
from service.backends.fusion import fuse_in_python
from service.filters import Filters, chunk_mask, sentence_mask
from service.index import LoadedIndex


class EmbeddedBackend:
    def __init__(self, index: LoadedIndex) -> None:
        self.index = index

    def retrieve(self, plan: RetrievalPlan) -> list[list[Hit]]:
        return fuse_in_python(self, plan)

    def rankings(self, requests: list[RankingRequest], filters: Filters, n: int) -> list[Ranking]:
        index = self.index
        out = []
        for r in requests:
            # made once per filter and kept by the index (service/filters.py), only for the rows a
            # request ranks (a pass may rank passages only)
            mask = (chunk_mask if r.target == "chunks" else sentence_mask)(index, filters)
            if r.kind == "dense":
                assert r.vector is not None
                faiss_index = index.faiss_index if r.target == "chunks" else index.sentence_faiss
                ids, scores = dense_ranking(faiss_index, r.vector, mask, n)
            else:
                assert r.terms is not None
                lexical = index.lexical if r.target == "chunks" else index.sentence_lexical
                ids, scores = lexical_ranking(lexical, r.terms, mask, n)
            out.append(Ranking(ids, scores))
        return out


def dense_ranking(faiss_index, qvec: np.ndarray, mask: np.ndarray | None, n: int):
    import faiss

    params = None
    if mask is not None:
        if not mask.any():
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        # A bitmap (one bit per vector, made in one pass) rather than a hash set of the allowed
        # ids: building IDSelectorBatch over ~1M ids took ~30 ms per ranking at 5,000 papers.
        bits = np.packbits(mask > 0, bitorder="little")
        selector = faiss.IDSelectorBitmap(bits)  # type: ignore[arg-type,call-arg]  # (stubs: no array form)
        params = search_params(faiss_index, selector)
    scores, ids = faiss_index.search(qvec.reshape(1, -1), min(n, faiss_index.ntotal), params=params)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]


def lexical_ranking(lexical, query: str | list[str], mask: np.ndarray | None, n: int):
    scores = lexical.scores(query, mask)
    top = top_positive(scores, n)
    return top, scores[top]


# Below this many rows the plain selection is as fast; above it, a block-maximum threshold first.
_THRESHOLD_FROM = 1 << 16
_BLOCKS_PER_RESULT = 8


def top_positive(scores: np.ndarray, n: int) -> np.ndarray:
    """Rows of the n highest positive scores, best first.

    Exact in its scores: the same n scores, in the same order, as sorting every positive score.
    Not always in its rows: which of several rows tied at the n-th place are kept, and the order
    of equal scores, is argpartition's choice over the rows it is given — every positive row below
    _THRESHOLD_FROM rows (the code as it was, so the 1x index's rankings are unchanged), the rows
    at or above θ above it — so at scale a tie can keep another of the tied rows than before.

    At 1000x the corpus a BM25 ranking has ~10^6 positive scores, and picking the best 100 by
    `argpartition` over all of them cost more than adding the postings (bench/RESULTS.md, fifth
    session). Instead: the maximum of each of ~8n contiguous blocks (one pass over contiguous
    memory), θ = the n-th largest block maximum, and only the scores >= θ are sorted. Exact: the
    n blocks whose maxima are >= θ hold n distinct scores >= θ, so the n-th best score is >= θ and
    every score tied with it is kept too."""
    size = scores.size
    if n <= 0 or size == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = None
    if size >= _THRESHOLD_FROM:
        block = -(-size // (_BLOCKS_PER_RESULT * n))
        maxima = np.maximum.reduceat(scores, np.arange(0, size, block))  # the last block may be short
        blocks = maxima.size
        if blocks > n:
            theta = np.partition(maxima, blocks - n)[blocks - n]
            if theta > 0:
                candidates = np.flatnonzero(scores >= theta)
    if candidates is None:
        candidates = np.flatnonzero(scores > 0)
    if candidates.size > n:  # partial selection first: O(candidates), then sort only the n best
        candidates = candidates[np.argpartition(-scores[candidates], n - 1)[:n]]
    return candidates[np.argsort(-scores[candidates], kind="stable")]
