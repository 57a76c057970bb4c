"""LexicalIndex.scores over the memory-mapped index gives bm25s's own scores, to the bit, for
queries as text or tokens, with and without a mask."""

from __future__ import annotations

import numpy as np

from indexer.lexical import LexicalIndex, tokenize

TEXTS = [
    "The Cabinet approved the budget of £4.6 million for 2024",
    "Planning Committee minutes: the application was refused",
    "Cabinet cabinet cabinet: the report on waste collection",
    "83% of respondents supported the proposal",
    "",
    "Apologies were received from Councillor Smith",
]


def test_scores_are_bm25s_scores_for_every_query(tmp_path):
    built = LexicalIndex.build(TEXTS)
    built.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")  # memory-mapped, as the service reads it
    queries = ["cabinet budget", "cabinet cabinet report", "83%", "nothing matches xyzzy", "the of", "refused 2024"]
    for q in queries:
        ids = loaded._bm25.get_tokens_ids(tokenize(q))
        want = np.asarray(loaded._bm25.get_scores(ids), dtype=np.float32) if ids else np.zeros(len(TEXTS), np.float32)
        got = loaded.scores(q)
        assert got.dtype == np.float32 and np.array_equal(got, want), q
        assert np.array_equal(built.scores(tokenize(q)), want)
    assert loaded.scores("cabinet budget").argmax() == 0
    mask = np.array([0, 1, 1, 1, 1, 1], np.float32)
    assert np.array_equal(loaded.scores("cabinet", mask), loaded.scores("cabinet") * mask)
