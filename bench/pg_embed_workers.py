"""Embedding throughput for large ingests: one encoder against `--workers N` (process pool and Ray
Data), on texts of the corpus at 10× (docs/scaling.md).

    MINUTES_QA_INDEX_DIR=/path/to/index python -m bench.pg_embed_workers [--texts 2400] [--workers 2]

The texts are the live index's passages and sentences, each copy marked so that no two are equal
(the 10× corpus), sampled to `--texts` to keep the run short on a shared machine; the full 10×
time is projected from the measured rate. Writes bench/out/pg_embed_workers.json.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from bench.common import REPO, machine
from indexer.embed import load_embedder
from indexer.parallel_embed import ParallelEncoder, ray_available
from service.index import load_index
from service.settings import Settings


def corpus_texts(settings: Settings, copies: int) -> list[str]:
    index = load_index(settings.index_dir, load_embedder(settings.model, settings.encoder_backend, 1))
    base = [c.search_text for c in index.chunks]
    base += [index.documents[index.chunks[int(ci)].doc_id].text[s:e] for ci, s, e in index.sentence_spans]
    return [f"{t} (copy {g})" for g in range(copies) for t in base]


def rate(encode, texts: list[str], batch: int = 256) -> float:
    """Texts a second, in batches of `batch` as the writer gives them (a worker pool: all at once)."""
    encode(texts[:8])  # warm up (model load, first-call allocations)
    if getattr(encode, "whole_input", False):
        batch = len(texts)
    t0 = time.perf_counter()
    for i in range(0, len(texts), batch):
        encode(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - t0)


def main() -> None:
    import functools

    p = argparse.ArgumentParser()
    p.add_argument("--texts", type=int, default=2400)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=str(REPO / "bench" / "out" / "pg_embed_workers.json"))
    args = p.parse_args()
    settings = Settings()
    all_texts = corpus_texts(settings, 10)
    texts = random.Random(15).sample(all_texts, min(args.texts, len(all_texts)))
    factory = functools.partial(load_embedder, settings.model, settings.encoder_backend, 1)
    rates: dict[str, float] = {}
    rates["1 encoder, 1 thread"] = rate(factory().encode, texts)
    threaded = load_embedder(settings.model, settings.encoder_backend, args.workers)
    rates[f"1 encoder, {args.workers} threads (today's build)"] = rate(threaded.encode, texts)
    with ParallelEncoder(factory, args.workers, engine="processes") as encode:
        rates[f"{args.workers} worker processes"] = rate(encode, texts)
    if ray_available():
        with ParallelEncoder(factory, args.workers, engine="ray") as encode:
            rates[f"Ray Data, {args.workers} actors"] = rate(encode, texts)
    one = rates["1 encoder, 1 thread"]
    result = {
        "machine": machine(),
        "texts_measured": len(texts),
        "texts_at_10x": len(all_texts),
        "texts_per_second": {k: round(v, 1) for k, v in rates.items()},
        "speed_up_vs_one_thread": {k: round(v / one, 2) for k, v in rates.items()},
        "projected_10x_minutes": {k: round(len(all_texts) / v / 60, 1) for k, v in rates.items()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
