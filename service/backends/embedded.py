"""The embedded backend: FAISS (dense) and bm25s (BM25) inside the process, over the index folder's
files. The default, and exactly the rankings the service computed before backends existed."""

from __future__ import annotations

import numpy as np

from indexer.vectors import search_params
from service.backends.base import Hit, Ranking, RankingRequest, RetrievalPlan
from service.backends.fusion import fuse_in_python
from service.filters import Filters, chunk_mask
from service.index import LoadedIndex


class EmbeddedBackend:
    def __init__(self, index: LoadedIndex) -> None:
        self.index = index

    def retrieve(self, plan: RetrievalPlan) -> list[list[Hit]]:
        return fuse_in_python(self, plan)

    def rankings(self, requests: list[RankingRequest], filters: Filters, n: int) -> list[Ranking]:
        index = self.index
        mask = chunk_mask(index, filters)
        sentence_mask = mask[index.sentence_spans[:, 0]] if mask is not None else None
        out = []
        for r in requests:
            target_mask = mask if r.target == "chunks" else sentence_mask
            if r.kind == "dense":
                assert r.vector is not None
                faiss_index = index.faiss_index if r.target == "chunks" else index.sentence_faiss
                ids, scores = dense_ranking(faiss_index, r.vector, target_mask, n)
            else:
                assert r.terms is not None
                lexical = index.lexical if r.target == "chunks" else index.sentence_lexical
                ids, scores = lexical_ranking(lexical, r.terms, target_mask, n)
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
    nonzero = np.flatnonzero(scores > 0)
    if nonzero.size > n:  # partial selection first: O(N), then sort only the n best
        nonzero = nonzero[np.argpartition(-scores[nonzero], n - 1)[:n]]
    top = nonzero[np.argsort(-scores[nonzero], kind="stable")]
    return top, scores[top]
