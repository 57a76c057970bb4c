"""How cost grows with the corpus: indexes at 10x, 100x and 1000x the real one, built and then
loaded and queried in a fresh process (so its RSS is the service's own).

The corpora are made by bench/scale_corpus.py (read its docstring): the five real papers plus
synthetic papers of spliced real sentences, all texts distinct; at 10x every synthetic text is
embedded by the real model (`--embed`), at 100x/1000x vectors are drawn to match the real
corpus's nearest-neighbour cosine distribution. Recall is measured against exact search over the
same vectors, tie-aware (a result counts when its exact score reaches the exact k-th score).

    python -m bench.scale_bench --factor 100
    python -m bench.scale_bench --factor 10 --embed
    python -m bench.scale_bench --factor 1000 --keep DIR --build-only   # then, as often as needed:
    python -m bench.scale_bench --requery DIR

The build is streamed (`build_scaled`: BATCH_PAPERS synthetic papers at a time through
indexer/version_writer.py); its peak RSS is the bench process's (`build_peak_rss_mb`). The machine's
load average is sampled during the build and the queries (`*_load_average`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import REPO, dir_size_mb, gold_questions, machine, percentile, save_result

BATCH_PAPERS = 100  # synthetic papers made, given vectors and written at a time


def build_scaled(
    factor: int,
    root: Path,
    embed: bool = False,
    seed: int = 7,
    real_index: Path = REPO / "index",
    batch: int = BATCH_PAPERS,
    threads: int = 1,
) -> dict:
    """Build the factor-F corpus into `root`, streamed: synthetic papers are made, given vectors
    and written `batch` papers at a time (indexer/version_writer.py), so the builder holds one
    batch, not the corpus."""
    from bench.scale_corpus import VectorDrawer, real_documents, synthetic_batches
    from indexer.embed import load_embedder
    from indexer.store import IndexWriter
    from indexer.vectors import EXACT_LIMIT
    from indexer.version_writer import VersionWriter
    from service.index import load_index

    embedder = load_embedder(threads=threads)
    real = load_index(real_index, embedder)
    docs = real_documents(real)
    real_chunk_vecs = np.asarray(real.chunk_vectors, dtype=np.float32)
    real_sent_vecs = np.asarray(real.sentence_vectors, dtype=np.float32)
    writer = IndexWriter(root)
    out = VersionWriter(writer, real_chunk_vecs.shape[1])
    c = s = 0
    for d in docs:
        out.add(d, real_chunk_vecs[c : c + len(d.chunks)], real_sent_vecs[s : s + len(d.sentences)])
        c, s = c + len(d.chunks), s + len(d.sentences)
    times = {"texts": 0.0, "embedding" if embed else "drawing_vectors": 0.0, "write_batches": 0.0}
    calibration: dict = {}
    drawers = None
    anchors = np.random.default_rng(seed)
    t = time.perf_counter()
    for synthetic, sources in synthetic_batches(real, len(docs) * (factor - 1), batch, seed):
        t1 = time.perf_counter()
        times["texts"] += t1 - t
        if embed:
            chunk_texts = [c.search_text for d in synthetic for c in d.chunks]
            sentence_texts = [d.text[a:b] for d in synthetic for _, a, b in d.sentences]
            encoded = [embedder.encode(part) for part in _batches(chunk_texts + sentence_texts, 64)]
            new = np.concatenate(encoded).astype(np.float32)
            syn_chunks, syn_sents = new[: len(chunk_texts)], new[len(chunk_texts) :]
        else:
            passage_sources = [[int(r)] for r in anchors.integers(0, len(real_chunk_vecs), len(sources.chunk_sources))]
            if drawers is None:  # σ calibrated once, on the first batch
                drawers = (
                    VectorDrawer(real_chunk_vecs, real_chunk_vecs, passage_sources),
                    VectorDrawer(real_sent_vecs, real_sent_vecs, sources.sentence_sources),
                )
                calibration = {"passages": drawers[0].report, "sentences": drawers[1].report}
            syn_chunks = drawers[0].draw(passage_sources)
            syn_sents = drawers[1].draw(sources.sentence_sources)
        t2 = time.perf_counter()
        times["embedding" if embed else "drawing_vectors"] += t2 - t1
        c = s = 0
        for d in synthetic:
            out.add(d, syn_chunks[c : c + len(d.chunks)], syn_sents[s : s + len(d.sentences)])
            c, s = c + len(d.chunks), s + len(d.sentences)
        t = time.perf_counter()
        times["write_batches"] += t - t2
    n_docs, n_chunks, n_sentences = out.documents, out.chunks, out.sentences
    t3 = time.perf_counter()
    out.finish()
    times["finish"] = time.perf_counter() - t3
    vdir = writer.publish(
        {k: real.manifest[k] for k in ("model", "dimension", "normalized", "metric")}
        | {
            "corpus_hash": f"synthetic-x{factor}",
            "documents": n_docs,
            "chunk_count": n_chunks,
            "sentence_count": n_sentences,
        }
    )
    times["publish_total"] = time.perf_counter() - t3
    return {
        "documents": n_docs,
        "chunks": n_chunks,
        "sentences": n_sentences,
        "vectors_embedded": n_chunks + n_sentences - len(real_chunk_vecs) - len(real_sent_vecs) if embed else 0,
        "calibration": calibration,
        "build_split_s": {k: round(v, 1) for k, v in times.items()},
        "vector_index_type": "exact" if n_chunks <= EXACT_LIMIT else "IVF-PQ + exact re-rank",
        "sentence_index_type": "exact" if n_sentences <= EXACT_LIMIT else "IVF-PQ + exact re-rank",
        "index_size_mb": dir_size_mb(vdir),
        "index_files_mb": {
            p.name: dir_size_mb(p) if p.is_dir() else round(p.stat().st_size / 2**20, 1) for p in vdir.iterdir()
        },
    }


def _batches(items: list[str], size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _recall(index, vectors: np.ndarray, queries: np.ndarray, k: int) -> float:
    """Tie-aware recall@k of `index` against exact search over `vectors`."""
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    for lo in range(0, len(vectors), 200_000):  # exact scores in blocks: never the whole matrix
        block = queries @ np.asarray(vectors[lo : lo + 200_000], dtype=np.float32).T
        both = np.concatenate([best, block], axis=1)
        best = -np.partition(-both, k - 1, axis=1)[:, :k]  # the k best so far (unordered)
    best = -np.sort(-best, axis=1)
    kth = best[:, -1]
    _, ids = index.search(queries, k)
    hits = [
        sum(1 for i in row if i >= 0 and float(np.dot(vectors[i], q)) >= t - 1e-5)
        for row, q, t in zip(ids, queries, kth, strict=True)
    ]
    return float(np.mean(hits) / k)


def query_and_recall(root: Path) -> dict:
    """Process start → index loaded → engine ready → first answer, then every gold question."""

    started = time.perf_counter()
    from indexer.embed import load_embedder
    from service.engine import Engine
    from service.index import load_index

    embedder = load_embedder()
    t_imports = time.perf_counter() - started
    index = load_index(root, embedder)
    t_load = time.perf_counter() - started
    rss_loaded = _rss()
    t = time.perf_counter()
    engine = Engine(index, query_cache_size=0)
    t_engine = time.perf_counter() - t
    questions = gold_questions()
    engine.ask(questions[0])
    t_first = time.perf_counter() - started
    lat = [engine.ask(q).took_ms for q in questions]
    # one uncached chunk read from the store (B-tree lookup + JSON decode), at random rows
    from indexer.models import Chunk

    rows = np.random.default_rng(5).integers(0, len(index.chunks), 5000).tolist()
    store = index.chunks._store  # type: ignore[attr-defined]
    t = time.perf_counter()
    for r in rows:
        Chunk.from_dict(store.row("chunks", r))
    lookup_us = (time.perf_counter() - t) / len(rows) * 1e6
    rss_questions = _rss()  # before the recall pass, which reads every vector for exact search
    qv = embedder.encode(questions)
    recalls = {}
    for name, idx, vecs in (
        ("chunks", index.faiss_index, index.chunk_vectors),
        ("sentences", index.sentence_faiss, index.sentence_vectors),
    ):
        for k in (10, 100):
            recalls[f"{name}@{k}"] = round(_recall(idx, vecs, qv, k), 4)
    return {
        "imports_and_encoder_s": round(t_imports, 2),
        "load_index_s": round(t_load - t_imports, 2),
        "engine_init_s": round(t_engine, 2),
        "process_to_first_answer_s": round(t_first, 2),
        "questions": len(questions),
        "p50_ms": percentile(lat, 0.5),
        "p95_ms": percentile(lat, 0.95),
        "recall": recalls,
        "chunk_lookup_us": round(lookup_us, 1),
        "rss_after_load_mb": rss_loaded,
        "rss_after_questions_mb": rss_questions,
        "nprobe_sweep": _nprobe_sweep(index, qv[:200]),
    }


def _rss() -> dict:
    """RSS in MB, and its anonymous (heap) and file-backed (memory-mapped, reclaimable) parts."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def _nprobe_sweep(index, qv: np.ndarray) -> list[dict]:
    """Recall and search time of the compressed indexes at other nprobe values (the choice of
    indexer.vectors.NPROBE)."""
    from indexer.vectors import RerankedIndex

    out = []
    for name, idx, vecs in (
        ("chunks", index.faiss_index, index.chunk_vectors),
        ("sentences", index.sentence_faiss, index.sentence_vectors),
    ):
        if not isinstance(idx, RerankedIndex):
            continue
        default = idx.compressed.nprobe
        for nprobe in (32, 64, 128, 256, 512):
            idx.compressed.nprobe = nprobe
            t = time.perf_counter()
            for q in qv[:100]:
                idx.search(q[None], 100)
            ms = (time.perf_counter() - t) * 1000 / min(100, len(qv))
            row = {"index": name, "nlist": idx.compressed.nlist, "nprobe": nprobe, "ms_per_k100_search": round(ms, 2)}
            out.append(row | {f"recall@{k}": round(_recall(idx, vecs, qv, k), 4) for k in (10, 100)})
        idx.compressed.nprobe = default
    return out


class LoadSampler:
    """The machine's 1-minute load average every `every` seconds while a phase runs (the machine
    is shared: the figures say how contended each phase was)."""

    def __init__(self, every: float = 15.0) -> None:
        import threading

        self._samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self._samples.append(os.getloadavg()[0])

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        v = sorted(self._samples)
        return {"min": v[0], "median": v[len(v) // 2], "max": v[-1], "samples": len(v)}


def _query_in_child(index_root: Path) -> dict:
    """Load and query in a fresh process, so its RSS is the service's, not the builder's."""
    import subprocess

    load = LoadSampler()
    child = subprocess.run(
        [sys.executable, "-m", "bench.scale_bench", "--query-only", str(index_root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(child.stdout.strip().splitlines()[-1]) | {"query_load_average": load.stop()}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--factor", type=int)
    p.add_argument("--embed", action="store_true", help="embed every synthetic text with the real model (10x, 100x)")
    p.add_argument("--threads", type=int, default=1, help="encoder threads for --embed (default 1)")
    p.add_argument("--keep", type=Path, help="build the index here and keep it (for an eval with distractors)")
    p.add_argument("--real-index", type=Path, default=REPO / "index", help="the real 1x index the corpus is made from")
    p.add_argument("--build-only", action="store_true", help="build (with --keep) and record the build, no queries")
    p.add_argument("--requery", type=Path, help="query a --keep directory again and record it with its build")
    p.add_argument("--query-only", type=Path, help="(internal) load this index in a fresh process and query it")
    args = p.parse_args()
    if args.query_only:
        print(json.dumps(query_and_recall(args.query_only)))
        return
    import resource

    if args.requery:
        built = json.loads((args.requery / "build.json").read_text())
        save_result(f"scale_{built['factor']}x", built | _query_in_child(args.requery / "index"))
        return
    if args.build_only and not args.keep:
        p.error("--build-only needs --keep")
    work = args.keep or Path(tempfile.mkdtemp(prefix=f"mqa-scale-{args.factor}-"))
    try:
        t = time.perf_counter()
        load = LoadSampler()
        built = build_scaled(
            args.factor, work / "index", embed=args.embed, real_index=args.real_index, threads=args.threads
        )
        built["build_s"] = round(time.perf_counter() - t, 1)
        built["build_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        built["build_load_average"] = load.stop()
        built = {"machine": machine(), "factor": args.factor, **built}
        if args.keep:
            (work / "build.json").write_text(json.dumps(built, indent=2))
        if args.build_only:
            save_result(f"scale_{args.factor}x_build", built)
            return
        save_result(f"scale_{args.factor}x", built | _query_in_child(work / "index"))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
