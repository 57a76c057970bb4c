"""Query latency: in-process (the /ask code path, split by stage) and over HTTP at 1, 8 and 32 clients."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

from bench.common import REPO, Server, gold_questions, percentile
from bench.load import run_load


def in_process(index_dir: Path, repeats: int = 1) -> dict:
    from indexer.embed import load_embedder
    from service.engine import Engine
    from service.index import load_index

    engine = Engine(load_index(index_dir, load_embedder()), query_cache_size=0)  # every query pays its embedding
    questions = gold_questions()
    for q in questions[:5]:
        engine.ask(q)
    stages: dict[str, list[float]] = {"embed": [], "retrieve": [], "compose": []}
    totals, serialise = [], []
    import json
    import time

    for _ in range(repeats):
        for q in questions:
            r = engine.ask(q)
            totals.append(r.took_ms)
            for k, v in r.timings_ms.items():
                stages[k].append(v)
            t = time.perf_counter()
            json.dumps(
                {
                    "answer": r.answer,
                    "citations": [c.__dict__ for c in r.citations],
                    "related": [c.__dict__ for c in r.related],
                }
            )
            serialise.append((time.perf_counter() - t) * 1000)
    out = {
        "queries": len(totals),
        "p50_ms": percentile(totals, 0.5),
        "p95_ms": percentile(totals, 0.95),
        "p99_ms": percentile(totals, 0.99),
    }
    out["split_median_ms"] = {k: round(statistics.median(v), 2) for k, v in stages.items()}
    out["split_median_ms"]["serialise"] = round(statistics.median(serialise), 3)
    return out


def over_http(index_dir: Path, seconds: float, cache: bool) -> dict:
    env = {} if cache else {"MINUTES_QA_QUERY_CACHE_SIZE": "0"}
    results = {}
    with Server(index_dir, **env) as server:
        results["rss_idle_mb"] = server.rss_mb()
        for clients in (1, 8, 32):
            results[f"c{clients}"] = asyncio.run(run_load(server.url, clients, seconds, questions=gold_questions()))
        results["rss_after_load_mb"] = server.rss_mb()
    return results


SOAK_RSS_GROWTH_BOUND_MB = 100  # the stated bound: a 60 s soak may not grow the server by more


def soak(index_dir: Path, seconds: float = 60, clients: int = 32) -> dict:
    """32 clients for 60 s against one server; zero errors and RSS growth within the bound."""
    with Server(index_dir, MINUTES_QA_QUERY_CACHE_SIZE="0") as server:
        asyncio.run(run_load(server.url, 4, 3, questions=gold_questions()))  # warm-up, not counted
        before = server.rss_mb()
        result = asyncio.run(run_load(server.url, clients, seconds, questions=gold_questions()))
        after = server.rss_mb()
    result.update(
        rss_before_mb=before,
        rss_after_mb=after,
        rss_growth_mb=round(after - before, 1),
        rss_growth_bound_mb=SOAK_RSS_GROWTH_BOUND_MB,
        passed=result["errors"] == 0 and after - before <= SOAK_RSS_GROWTH_BOUND_MB,
    )
    return result


def run(seconds: float = 15, soak_seconds: float = 60) -> dict:
    index_dir = REPO / "index"
    return {
        "in_process": in_process(index_dir),
        "http_no_cache": over_http(index_dir, seconds, cache=False),
        "http_with_cache": over_http(index_dir, seconds, cache=True),
        "soak": soak(index_dir, soak_seconds),
    }
