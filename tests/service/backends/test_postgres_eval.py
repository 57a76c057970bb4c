"""The gold test split on both backends, with the real model and corpus: PostgreSQL (pgvector HNSW
+ full-text search) answers no worse than 2 points of fact accuracy below the index folder (FAISS
+ bm25s), and its recall@10 is within 3 points.
They differ in the word rankings — PostgreSQL's `ts_rank` is not BM25 — so with
MINUTES_QA_DATABASE_LEXICAL=memory (BM25 in memory over the database's passages) the answers are
the index folder's, but for near-ties that pgvector's approximate HNSW ranks flip now and then.
Vectors come from the index folder, so nothing is re-embedded."""

from __future__ import annotations

import pytest

from bench.pg_eval import stored_encoder
from eval.gold import load_gold
from eval.runner import Backend, metrics, run
from eval.split import load_split, side
from service.backends.postgres.loader import load_database_index
from service.backends.postgres.writer import index_database
from service.engine import Engine
from tests.conftest import REPO

pytestmark = pytest.mark.real_model


def test_the_test_split_on_both_backends(real_engine, real_embedder, real_index_dir, database_url):
    index_database(REPO / "corpus", database_url, real_embedder, encode=stored_encoder(real_index_dir, real_embedder))
    chosen = side(load_gold(), load_split(), "test")
    texts = {d: doc.text for d, doc in real_engine.index.documents.items()}
    folder = run(Backend(engine=real_engine, texts=texts), chosen)
    database = run(Backend(engine=Engine(load_database_index(database_url, real_embedder)), texts=texts), chosen)
    memory = run(
        Backend(engine=Engine(load_database_index(database_url, real_embedder, lexical="memory")), texts=texts), chosen
    )
    a, b = metrics(folder), metrics(database)
    # No worse than 2 points below the folder (a better ts_rank result is no regression: with the
    # sixth session's lower cut the database answered 25.3% to the folder's 22.8%).
    assert b["fact_accuracy"] >= a["fact_accuracy"] - 2.0, (a["fact_accuracy"], b["fact_accuracy"])
    assert abs(a["recall_at_10"] - b["recall_at_10"]) <= 3.0, (a["recall_at_10"], b["recall_at_10"])
    # The difference is ts_rank vs BM25: with BM25 in memory the answers are the folder's but for
    # near-ties. pgvector's HNSW ranks are approximate and shift the candidates' features a little,
    # and what hangs on close scores — the best of two near-equal quotes, the runner-up quoted
    # beside it, quoting the next sentence — can flip from one build to the next (seen here: 0 or 1
    # question of 186 with another first quote, 1 or 2 with another answer). Both kinds of
    # difference must stay under 2% of the questions.
    first = lambda o: (o.abstained, [(c["document_id"], c["start"], c["end"]) for c in o.citations[:1]])  # noqa: E731
    pairs = list(zip(memory, folder, strict=True))
    assert sum(first(m) != first(f) for m, f in pairs) <= 0.02 * len(pairs)
    assert sum(m.answer != f.answer for m, f in pairs) <= 0.02 * len(pairs)
