"""Throughput under concurrency: clients → req/s, p50, p95 for each way of using the two cores.

Configurations: one process with 1 or 2 encoder threads, and 2 uvicorn worker processes with 1
thread each (the ONNX forward pass releases the GIL, the rest of a request does not). Query cache
off, so every request pays its embedding. Prints a table and writes bench/out/throughput.json.

    python -m bench.throughput [--seconds 10] [--clients 1 2 4 8 16 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from bench.common import OUT, REPO, Server, gold_questions, machine
from bench.load import run_load

CONFIGS = {
    "1 process, 1 encoder thread": (1, 1),
    "1 process, 2 encoder threads": (1, 2),
    "2 worker processes, 1 thread each": (2, 1),
}


def curve(index_dir: Path, workers: int, threads: int, clients: list[int], seconds: float) -> dict:
    out: dict = {"points": []}
    env = {"MINUTES_QA_QUERY_CACHE_SIZE": "0", "MINUTES_QA_TORCH_THREADS": str(threads)}
    with Server(index_dir, workers=workers, **env) as server:
        # every worker must have loaded its index before timing starts
        asyncio.run(run_load(server.url, 4 * workers, 4, questions=gold_questions()))
        out["rss_idle_mb"] = server.rss_mb()
        for n in clients:
            r = asyncio.run(run_load(server.url, n, seconds, questions=gold_questions()))
            out["points"].append(
                {
                    "clients": n,
                    "rps": r["throughput_rps"],
                    "p50_ms": r["p50_ms"],
                    "p95_ms": r["p95_ms"],
                    "errors": r["errors"],
                }
            )
        out["rss_after_mb"] = server.rss_mb()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    args = p.parse_args()
    results = {"machine": machine(), "seconds": args.seconds, "configs": {}}
    for name, (workers, threads) in CONFIGS.items():
        results["configs"][name] = curve(REPO / "index", workers, threads, args.clients, args.seconds)
        c = results["configs"][name]
        print(f"\n{name} (RSS idle {c['rss_idle_mb']} MB, after {c['rss_after_mb']} MB)")
        print("| clients | req/s | p50 ms | p95 ms | errors |\n|---|---|---|---|---|")
        for pt in c["points"]:
            print(f"| {pt['clients']} | {pt['rps']} | {pt['p50_ms']} | {pt['p95_ms']} | {pt['errors']} |")
    OUT.mkdir(exist_ok=True)
    (OUT / "throughput.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
