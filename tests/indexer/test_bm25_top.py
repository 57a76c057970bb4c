"""LexicalIndex.top (MaxScore over the BM25 matrix, indexer/bm25_top.py) returns the ranking the
full score array gives: the same rows, the same float32 scores, in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from indexer import bm25_top
from indexer.lexical import LexicalIndex
from service.backends.embedded import lexical_ranking


def _corpus(n_docs: int, seed: int) -> list[str]:
    """Documents of common words (in nearly every one), middling and rare words."""
    rng = np.random.default_rng(seed)
    common = ["cabinet", "council", "report", "december"]
    middling = [f"topic{i}" for i in range(30)]
    rare = [f"rare{i}" for i in range(300)]
    docs = []
    for _ in range(n_docs):
        words = list(rng.choice(common, rng.integers(1, 4)))
        words += list(rng.choice(middling, rng.integers(0, 4)))
        words += list(rng.choice(rare, rng.integers(0, 3)))
        docs.append(" ".join(words))
    return docs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_top_is_the_full_rankings_top(seed):
    index = LexicalIndex.build(_corpus(3000, seed))
    rng = np.random.default_rng(seed)
    mask = (rng.random(3000) > 0.3).astype(np.float32)
    queries = [
        "cabinet council rare7 topic3",
        "december report report rare12 rare13 topic1",
        "cabinet council report december",  # common words only
        "rare5",
        "topic4 topic5 topic6 cabinet",
        "nothing-here",
    ]
    for q in queries:
        for n in (5, 20, 100):
            for m in (None, mask):
                want_rows, want_scores = lexical_ranking(index, q, m, n)
                rows, scores = index.top(q, n, m)
                # the same scores to the bit; the same rows, ties ordered by row (the full
                # ranking leaves tied rows in argpartition's order; at the n-th score it may
                # even keep other tied rows)
                assert scores.tobytes() == want_scores.tobytes(), (q, n)
                above = want_scores > (want_scores[-1] if want_scores.size == n else 0)
                want = sorted(zip((-want_scores[above]).tolist(), want_rows[above].tolist(), strict=True))
                assert [r for _, r in want] == rows[: above.sum()].tolist(), (q, n)
                assert list(rows) == sorted(rows, key=lambda r: (-scores[list(rows).index(r)], r))


def test_common_terms_are_not_summed_whole_once_the_rare_ones_decide(monkeypatch):
    index = LexicalIndex.build(_corpus(3000, 4))
    indptr = index._bm25.scores["indptr"]
    cabinet = index._bm25.vocab_dict["cabinet"]
    common_postings = int(indptr[cabinet + 1] - indptr[cabinet])
    assert common_postings > 1000  # "cabinet" is in a third of the documents or more
    sizes: list[int] = []
    concatenate = np.concatenate
    monkeypatch.setattr(
        bm25_top.np, "concatenate", lambda parts, *a, **k: sizes.append(sum(map(len, parts))) or concatenate(parts)
    )
    rows, _ = index.top("cabinet rare7 rare8 rare9", 5)
    assert rows.size == 5
    assert max(sizes) < common_postings  # the candidates never grew to the common term's documents
