"""Bounded load test on loopback: N concurrent clients posting /ask for T seconds.

Prints throughput, p50/p95/p99 latency, error count and (when given the server's pid)
its RSS before and after. Only ever targets 127.0.0.1.

    python bench/load.py --url http://127.0.0.1:8000 --clients 32 --seconds 60 [--pid N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlparse

import httpx

QUESTIONS = [
    "What percentage of the total possible score did the Wholly Owned Council Company get?",
    "How much will it cost to set up the company?",
    "When will the ADM go live?",
    "Would the company be liable for VAT?",
    "What was agreed about the county's bus services?",
    "Who chaired the Children and Families Overview and Scrutiny Panel on 22 March 2018?",
    "Why was the strategic partnership rejected at Cabinet?",
    "How many staff are in scope?",
]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def run_load(
    url: str, clients: int, seconds: float, max_requests: int = 1_000_000, questions: list[str] | None = None
) -> dict:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load tests only target this machine's loopback address")
    pool = questions or QUESTIONS
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds
    sent = 0

    async def client(n: int, http: httpx.AsyncClient) -> None:
        nonlocal sent
        i = n
        while time.monotonic() < deadline and sent < max_requests:
            sent += 1
            q = pool[i % len(pool)]
            i += 1
            started = time.perf_counter()
            try:
                r = await http.post("/ask", json={"question": q})
                if r.status_code != 200:
                    errors.append(f"HTTP {r.status_code}")
                else:
                    latencies.append((time.perf_counter() - started) * 1000)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        await asyncio.gather(*(client(n, http) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies) + len(errors),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
    }


def rss_mb(pid: int | None) -> float | None:
    if not pid:
        return None
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--pid", type=int, help="server pid, to report its RSS before and after")
    args = p.parse_args()
    before = rss_mb(args.pid)
    result = asyncio.run(run_load(args.url, args.clients, args.seconds))
    result.update(rss_before_mb=before, rss_after_mb=rss_mb(args.pid))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
