"""The n best BM25 documents for a query without adding every posting of its common terms.

At 1000× the real corpus a term of every paper's title line ("cabinet", a month, a year) has
10^5–10^6 postings, and summing them for every document dominated the lexical rankings' cost
(plus the O(documents) selection over a dense score array afterwards). This is MaxScore
(Turtle & Flood 1995) over bm25s's CSC matrix:

1. A term's score in any document is below its IDF (the Lucene tf component is < 1), so each
   query term has an upper bound from its document frequency alone.
2. Terms are taken rarest first (highest bound) and their postings added; after each, θ = the
   n-th best partial score among the documents seen so far (a lower bound of the n-th best
   final score). Once the bounds of the terms left sum to less than θ, a document holding only
   those terms cannot reach the top n: the terms left are "non-essential".
3. The final scores of the candidates (documents holding an essential term) are summed in the
   query's own term order — essential terms' postings added whole, non-essential terms' looked
   up for the candidates only (binary search: a column's documents are in ascending order) —
   so every candidate's float32 score is bit for bit what the full sum gives.

The n best of those are exactly the n best of the full computation, ties broken by row (the
full ranking's argpartition leaves tied rows in an arbitrary order).
"""

from __future__ import annotations

import math

import numpy as np

_SAFETY = 1e-4  # relative slack on the bound test (float32 partial sums are not exact)


def idf_bound(df: int, n_docs: int) -> float:
    """An upper bound of one term's BM25 score in any document (bm25s's Lucene IDF, tfc < 1)."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5)) * (1 + _SAFETY)


def top_documents(
    data: np.ndarray,
    indices: np.ndarray,
    indptr: np.ndarray,
    n_docs: int,
    term_ids: list[int],
    n: int,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(documents, scores) of the n best documents with a positive score, best first (ties by
    document), for the query `term_ids` (repeats count twice, as in bm25s) over the CSC matrix;
    `mask` multiplies the scores (0: excluded)."""
    spans = [(int(indptr[t]), int(indptr[t + 1])) for t in term_ids]
    bounds = [idf_bound(hi - lo, n_docs) for lo, hi in spans]
    order = sorted(range(len(term_ids)), key=lambda i: -bounds[i])  # rarest first
    partial = np.zeros(n_docs, dtype=np.float32)
    seen = np.zeros(n_docs, dtype=bool)
    found: list[np.ndarray] = []
    essential = len(order)
    left = sum(bounds)
    for k, i in enumerate(order):
        lo, hi = spans[i]
        docs = indices[lo:hi]
        partial[docs] += data[lo:hi]
        fresh = docs[~seen[docs]]
        seen[fresh] = True
        found.append(fresh)
        left -= bounds[i]
        if k + 1 == len(order):
            break
        candidates = np.concatenate(found)
        if candidates.size < n:
            continue
        scored = partial[candidates] * mask[candidates] if mask is not None else partial[candidates]
        theta = float(np.partition(scored, scored.size - n)[scored.size - n])
        if left < theta * (1 - _SAFETY):
            essential = k + 1
            break
    candidates = np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    is_essential = set(order[:essential])
    scores = np.zeros(candidates.size, dtype=np.float32)
    for i, (lo, hi) in enumerate(spans):  # the query's order: the full sum's order
        docs = indices[lo:hi]
        if i in is_essential:
            at = np.searchsorted(candidates, docs)  # every document of an essential term is a candidate
            scores[at] += data[lo:hi]
        else:
            at = np.searchsorted(docs, candidates)
            hit = at < docs.size
            hit[hit] = docs[at[hit]] == candidates[hit]
            scores[hit] += data[lo:hi][at[hit]]
    if mask is not None:
        scores = scores * mask[candidates]
    keep = scores > 0
    candidates, scores = candidates[keep], scores[keep]
    if candidates.size > n:  # partial selection first (O(candidates)), then sort only the n best
        cut = np.partition(-scores, n - 1)[n - 1]
        keep = -scores <= cut  # (every row tied with the n-th best, so the tie-break below decides)
        candidates, scores = candidates[keep], scores[keep]
    best = np.lexsort((candidates, -scores))[:n]  # best first, ties by row
    return candidates[best], scores[best]
