"""Migration 0003's data for the feedback in SQL: each passage's feedback terms and the per-version
term document frequencies, written with every version, pruned with it, and filled by the next
`minutes-qa index` for a database indexed before the migration (the service refuses it until then)."""

from __future__ import annotations

import pytest

from indexer.lexical import token_set, tokenize
from indexer.store import IndexLoadError
from service.backends.postgres.loader import load_database_index
from service.backends.postgres.schema import connect
from service.backends.postgres.writer import KEEP_VERSIONS, index_database
from service.scoring import Scorer


def _counts(url: str, version: int) -> dict[str, int]:
    with connect(url) as conn:
        return dict(conn.execute("SELECT term, df FROM term_df WHERE version = %s", (version,)).fetchall())


def test_each_version_stores_the_document_frequencies_the_scorer_weighs_by(database_url, corpus_dir, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    index = load_database_index(database_url, fake_embedder)
    df = _counts(database_url, 1)
    expected: dict[str, int] = {}
    for chunk in index.chunks:
        for t in token_set(chunk.search_text):
            if not t[0].isdigit() and not t.startswith("£"):
                expected[t] = expected.get(t, 0) + 1
    assert df == expected and len(df) > 50
    idf = Scorer(index).idf
    import math

    assert all(math.log(1 + len(index.chunks) / c) == idf[t] for t, c in df.items())
    with connect(database_url) as conn:
        assert conn.execute("SELECT passages FROM index_versions").fetchone()[0] == len(index.chunks)


def test_counts_follow_updates_and_are_pruned_with_their_version(database_url, corpus_dir, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    path = corpus_dir / "panel-minutes-2018-03-22.txt"
    words = ["aardvark", "bumblebee", "chinchilla", "dromedary"][:KEEP_VERSIONS]
    for word in words:
        path.write_text(path.read_text(encoding="utf-8") + f"\nA {word} was discussed.\n")
        index_database(corpus_dir, database_url, fake_embedder)
    newest = KEEP_VERSIONS + 1
    assert _counts(database_url, 1) == {}  # pruned with version 1
    terms = [tokenize(w)[0] for w in words]
    assert [_counts(database_url, newest).get(t) for t in terms] == [1] * len(words)
    assert [t in _counts(database_url, 2) for t in terms] == [True] + [False] * (len(words) - 1)


def test_a_database_indexed_before_0003_is_refused_until_index_fills_it(database_url, corpus_dir, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    before = load_database_index(database_url, fake_embedder)
    with connect(database_url) as conn:  # what a database indexed before the migration holds
        conn.execute("UPDATE chunks SET feedback_terms = NULL")
        conn.execute("UPDATE index_versions SET passages = NULL")
        conn.execute("DELETE FROM term_df")
        conn.commit()
    with pytest.raises(IndexLoadError, match="no feedback term counts .* run `minutes-qa index --database-url"):
        load_database_index(database_url, fake_embedder)
    report = index_database(corpus_dir, database_url, fake_embedder)
    assert report.up_to_date and report.version == 1  # nothing re-indexed: only the counts filled
    after = load_database_index(database_url, fake_embedder)
    assert _counts(database_url, 1) and len(after.chunks) == len(before.chunks)
    with connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM chunks WHERE feedback_terms IS NULL").fetchone()[0] == 0
