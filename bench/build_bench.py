"""Index build cost on the real corpus: cold (everything embedded) and incremental (one paper changed)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench.common import REPO, dir_size_mb


def run(threads: int = 1) -> dict:
    """`threads`: encoder threads (the service uses 1 per question; `minutes-qa index` uses every core)."""
    from indexer.build import build_index
    from indexer.embed import load_embedder

    embedder = load_embedder(threads=threads)
    work = Path(tempfile.mkdtemp(prefix="mqa-build-"))
    try:
        corpus = work / "corpus"
        shutil.copytree(REPO / "corpus", corpus)
        root = work / "index"
        cold = build_index(corpus, root, embedder, force=True, progress=False)
        paper = corpus / "wcc-cfosp-minutes-2018-03-22.txt"
        paper.write_text(paper.read_text().replace("every 8 weeks", "every 6 weeks"), encoding="utf-8")
        started = time.perf_counter()
        warm = build_index(corpus, root, embedder, progress=False)
        warm_s = time.perf_counter() - started
        embed_started = time.perf_counter()
        sample = [
            c for c in (REPO / "corpus" / "wcc-cabinet-agenda-2017-12-14.md").read_text().split("\n") if c.strip()
        ][:512]
        embedder.encode(sample)
        embed_rate = len(sample) / (time.perf_counter() - embed_started)
        return {
            "encoder_threads": threads,
            "papers": cold.documents,
            "chunks": cold.chunks,
            "sentences": cold.sentences,
            "cold_seconds": round(cold.seconds, 2),
            "cold_papers_per_s": round(cold.documents / cold.seconds, 3),
            "cold_chunks_per_s": round(cold.chunks / cold.seconds, 1),
            "cold_vectors_embedded": cold.vectors_embedded,
            "embedding_texts_per_s": round(embed_rate, 1),
            "incremental_seconds": round(warm_s, 2),
            "incremental_vectors_embedded": warm.vectors_embedded,
            "incremental_chunks_added": warm.chunks_added,
            "incremental_chunks_removed": warm.chunks_removed,
            "index_size_mb": dir_size_mb(warm.version_dir),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import json
    import os

    print(json.dumps([run(1), run(os.cpu_count() or 1)], indent=1))
