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
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from bench.common import REPO, free_port, gold_questions, machine
from bench.load import run_load

CONFIGS = {
    "1 process, 1 encoder thread": (1, 1),
    "1 process, 2 encoder threads": (1, 2),
    "2 worker processes, 1 thread each": (2, 1),
}


class UvicornServer:
    """`uvicorn service.api:create_app --factory --workers N` on a free loopback port."""

    def __init__(self, index_dir: Path, workers: int, threads: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(
            os.environ,
            MINUTES_QA_INDEX_DIR=str(index_dir),
            MINUTES_QA_QUERY_CACHE_SIZE="0",
            MINUTES_QA_TORCH_THREADS=str(threads),
        )
        cmd = [sys.executable, "-m", "uvicorn", "service.api:create_app", "--factory", "--port", str(self.port)]
        cmd += ["--log-level", "warning", "--workers", str(workers)]
        self.proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.workers = workers

    def __enter__(self) -> UvicornServer:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.proc.stderr.read().decode()[-2000:])
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        # every worker must have loaded its index before timing starts
        asyncio.run(run_load(self.url, 4 * self.workers, 4, questions=gold_questions()))
        return self

    def rss_mb(self) -> float:
        """Resident memory of the whole service: the process and its workers."""
        root = psutil.Process(self.proc.pid)
        procs = [root, *root.children(recursive=True)]
        return round(sum(p.memory_info().rss for p in procs) / 2**20, 1)

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def curve(index_dir: Path, workers: int, threads: int, clients: list[int], seconds: float) -> dict:
    out: dict = {"points": []}
    with UvicornServer(index_dir, workers, threads) as server:
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
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
