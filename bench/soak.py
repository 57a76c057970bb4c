"""Memory under sustained load: 32 clients for 5 minutes against `minutes-qa serve` (query cache off),
the server's RSS sampled every 5 s, plotted to bench/soak.png. Prints requests, errors, throughput,
and RSS growth after the first minute (the target: ≤ 50 MB, zero errors).

    python -m bench.soak [--seconds 300] [--clients 32] [--every 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time

from bench.common import REPO, Server, gold_questions, machine
from bench.load import run_load


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--every", type=float, default=5)
    args = p.parse_args()
    samples: list[tuple[float, float]] = []
    with Server(REPO / "index", MINUTES_QA_QUERY_CACHE_SIZE="0") as server:
        samples.append((0.0, server.rss_mb()))  # idle, before any request
        stop = threading.Event()
        started = time.monotonic()

        def sample() -> None:
            while not stop.wait(args.every):
                samples.append((round(time.monotonic() - started, 1), server.rss_mb()))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = asyncio.run(run_load(server.url, args.clients, args.seconds, questions=gold_questions()))
        stop.set()
        sampler.join()
    after_first_minute = [rss for t, rss in samples if t >= 60]
    growth = round(after_first_minute[-1] - after_first_minute[0], 1) if len(after_first_minute) > 1 else None
    result.update(
        machine=machine(),
        rss_idle_mb=samples[0][1],
        rss_at_60s_mb=after_first_minute[0] if after_first_minute else None,
        rss_end_mb=samples[-1][1],
        rss_peak_mb=max(rss for _, rss in samples),
        rss_growth_after_first_minute_mb=growth,
        samples=samples,
    )
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "soak.json").write_text(json.dumps(result, indent=1))
    _plot(samples, result)
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))


def _plot(samples: list[tuple[float, float]], result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot([t for t, _ in samples], [rss for _, rss in samples], marker=".")
    ax.axvline(60, color="grey", linestyle=":", label="first minute")
    ax.set_xlabel("seconds of load")
    ax.set_ylabel("server RSS (MB)")
    ax.set_title(
        f"{result['clients']} clients, {result['requests']} requests, {result['errors']} errors, "
        f"{result['throughput_rps']} req/s"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(REPO / "bench" / "soak.png", dpi=100)


if __name__ == "__main__":
    main()
