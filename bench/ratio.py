"""The issue #13 ratio, measured in one run: our HTTP `/ask` p50 (one client, query cache off, every
gold question once) over a stock Haystack hybrid pipeline's in-process p50 on the same questions
(bench/peer_haystack.py: BM25 + the same MiniLM + reciprocal rank fusion). Target ≤ 0.25.

    python -m bench.ratio
"""

from __future__ import annotations

import time

import httpx

from bench import peer_haystack
from bench.common import REPO, Server, gold_questions, machine, percentile, save_result


def ours_over_http() -> dict:
    questions = gold_questions()
    latencies = []
    with Server(REPO / "index", MINUTES_QA_QUERY_CACHE_SIZE="0") as server, httpx.Client(base_url=server.url) as http:
        for q in questions[:10]:  # warm-up, not counted
            http.post("/ask", json={"question": q}, timeout=60)
        for q in questions:
            started = time.perf_counter()
            http.post("/ask", json={"question": q}, timeout=60).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
    return {"questions": len(latencies), "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95)}


def main() -> None:
    ours = ours_over_http()
    theirs = peer_haystack.run()
    result = {"machine": machine(), "ours_http": ours, "haystack_in_process": theirs}
    if "p50_ms" in theirs:
        result["ratio_p50"] = round(ours["p50_ms"] / theirs["p50_ms"], 2)
    save_result("ratio", result)


if __name__ == "__main__":
    main()
