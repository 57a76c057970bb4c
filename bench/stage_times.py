"""Time of each stage of an answer, in process, over the gold questions (no query cache):

    python -m bench.stage_times

question analysis + encoding, retrieval (rankings, fusion, re-ranker, named pass), and candidates +
scoring + composing. The stages after retrieval work on the top passages only, so their cost does
not grow with the corpus or a council's database partition: docs/scaling.md adds them to the
retrieval statement measured per partition (bench/pg_scale.py) for a whole answer's time.
"""

from __future__ import annotations

import os
import time

from bench.common import machine, percentile
from eval.gold import load_gold
from indexer.embed import load_embedder
from service.engine import Engine
from service.filters import Filters
from service.index import load_index
from service.settings import Settings


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    engine = Engine(load_index(Settings().index_dir, load_embedder()), query_cache_size=0)
    names = ("analysis + encoding", "retrieval", "candidates + scoring + composing")
    stages: dict[str, list[float]] = {name: [] for name in names}
    totals: list[float] = []
    for item in load_gold():
        t0 = time.perf_counter()
        query = engine.analyzer.run(item.question, item.history)
        qvec = engine.embed_query(query.text)
        t1 = time.perf_counter()
        hits = engine.retrieve(query, qvec, Filters())
        t2 = time.perf_counter()
        scored = engine.scorer.run(query, qvec, engine.candidates(query, hits))
        engine.composer.run(query, scored, absent=engine.coverage.absent(query.text))
        t3 = time.perf_counter()
        for name, ms in zip(stages, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            stages[name].append(1000 * ms)
        totals.append(1000 * (t3 - t0))
    print(machine(), f"load average {os.getloadavg()[0]:.2f}")
    for name, ms in [*stages.items(), ("whole answer", totals)]:
        print(f"{name}: p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms (n = {len(ms)})")


if __name__ == "__main__":
    main()
