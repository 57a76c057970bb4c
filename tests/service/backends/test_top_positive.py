"""The lexical ranking's selection of the n best positive scores (service/backends/embedded.py):
the block-maximum threshold must select what sorting every positive score selects."""

from __future__ import annotations

import numpy as np
import pytest

from service.backends.embedded import _THRESHOLD_FROM, top_positive


def before_the_threshold(scores: np.ndarray, n: int) -> np.ndarray:
    """The selection as it was (verbatim), over every positive score."""
    nonzero = np.flatnonzero(scores > 0)
    if nonzero.size > n:
        nonzero = nonzero[np.argpartition(-scores[nonzero], n - 1)[:n]]
    return nonzero[np.argsort(-scores[nonzero], kind="stable")]


def sparse_scores(rng: np.random.Generator, size: int, positive: float, levels: int | None) -> np.ndarray:
    scores = np.zeros(size, dtype=np.float32)
    hit = rng.random(size) < positive
    values = rng.integers(1, levels + 1, hit.sum()) / 7 if levels else rng.random(hit.sum()) * 20
    scores[hit] = values.astype(np.float32)
    return scores


@pytest.mark.parametrize("size", [0, 10, 1000, _THRESHOLD_FROM, _THRESHOLD_FROM * 3 + 17])
@pytest.mark.parametrize("positive", [0.0, 0.0005, 0.05, 0.9])
@pytest.mark.parametrize("levels", [None, 3])  # continuous scores, or a few values with many ties
@pytest.mark.parametrize("n", [1, 100])
def test_the_n_best_positive_scores_best_first(size, positive, levels, n):
    scores = sparse_scores(np.random.default_rng(size + n), size, positive, levels)
    top = top_positive(scores, n)
    expected = np.sort(scores[scores > 0])[::-1][:n]
    assert scores[top].tolist() == expected.tolist()  # the same scores, in order
    assert len(set(top.tolist())) == top.size  # each row once
    if levels is None:  # no ties (almost surely): the very same rows
        assert top.tolist() == before_the_threshold(scores, n).tolist()


@pytest.mark.parametrize("size", [0, 10, 1000, _THRESHOLD_FROM - 1])
def test_below_the_threshold_exactly_as_before_even_with_ties(size):
    scores = sparse_scores(np.random.default_rng(size), size, 0.3, 3)
    assert top_positive(scores, 100).tolist() == before_the_threshold(scores, 100).tolist()


def test_ties_at_the_cut_keep_only_tied_rows():
    scores = np.zeros(_THRESHOLD_FROM * 2, dtype=np.float32)
    scores[::997] = 1.0  # ~130 equal scores spread over every block
    scores[5] = 2.0
    top = top_positive(scores, 100)
    assert top[0] == 5 and top.size == 100
    assert set(top[1:].tolist()) <= set(np.flatnonzero(scores == 1.0).tolist())


def test_nothing_positive_and_no_results_asked():
    assert top_positive(np.zeros(_THRESHOLD_FROM * 2, dtype=np.float32), 10).size == 0
    assert top_positive(np.ones(5, dtype=np.float32), 0).size == 0


def test_one_distinct_score_a_block_needs_exactly_the_nth_block_maximum():
    # Every block holds one positive score, all different: θ one place too high would lose the
    # 100th best, and a block maximum taken wrongly would lose that block's score.
    size = _THRESHOLD_FROM
    step = size // 800
    scores = np.zeros(size, dtype=np.float32)
    scores[::step] = np.random.default_rng(1).permutation(np.arange(1, len(scores[::step]) + 1)).astype(np.float32)
    top = top_positive(scores, 100)
    assert scores[top].tolist() == np.sort(scores[scores > 0])[::-1][:100].tolist()


def test_the_best_scores_in_the_short_last_block_are_found():
    size = _THRESHOLD_FROM * 2 + 37  # not a whole number of blocks
    scores = np.zeros(size, dtype=np.float32)
    scores[: size - 37 : 301] = 1.0
    scores[-37:] = np.arange(2, 39, dtype=np.float32)  # the 37 best sit in the last, partial block
    top = top_positive(scores, 100)
    assert top[:37].tolist() == list(range(size - 1, size - 38, -1))
    assert scores[top].tolist() == np.sort(scores[scores > 0])[::-1][:100].tolist()


def test_float64_scores():
    scores = sparse_scores(np.random.default_rng(3), _THRESHOLD_FROM * 2, 0.01, None).astype(np.float64)
    assert scores[top_positive(scores, 100)].tolist() == np.sort(scores[scores > 0])[::-1][:100].tolist()
