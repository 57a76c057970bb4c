"""How cost grows with the corpus: indexes at 10x, 100x and 1000x the real one, built and then
loaded and queried in a fresh process (so its RSS is the service's own).

The corpora are made by bench/scale_corpus.py (read its docstring): the five real papers plus
synthetic papers of spliced real sentences, all texts distinct; at 10x every synthetic text is
embedded by the real model (`--embed`), at 100x/1000x vectors are drawn to match the real
corpus's nearest-neighbour cosine distribution. Recall is measured against exact search over the
same vectors, tie-aware (a result counts when its exact score reaches the exact k-th score).

    python -m bench.scale_bench --factor 100
    python -m bench.scale_bench --factor 10 --embed
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


def build_scaled(factor: int, root: Path, embed: bool = False, seed: int = 7) -> dict:
    from bench.scale_corpus import drawn_vectors, real_documents, synthetic_documents
    from indexer.build import write_version
    from indexer.embed import load_embedder
    from indexer.store import IndexWriter
    from indexer.vectors import EXACT_LIMIT
    from service.index import load_index

    embedder = load_embedder(threads=1)
    real = load_index(REPO / "index", embedder)
    t0 = time.perf_counter()
    docs = real_documents(real)
    synthetic, sources = synthetic_documents(real, len(docs) * (factor - 1), seed)
    t_texts = time.perf_counter() - t0
    real_chunk_vecs = np.asarray(real.chunk_vectors, dtype=np.float32)
    real_sent_vecs = np.asarray(real.sentence_vectors, dtype=np.float32)
    t1 = time.perf_counter()
    calibration: dict = {}
    if embed:
        chunk_texts = [c.search_text for d in synthetic for c in d.chunks]
        sentence_texts = [d.text[s:e] for d in synthetic for _, s, e in d.sentences]
        encoded = [embedder.encode(part) for part in _batches(chunk_texts + sentence_texts, 64)]
        all_new = np.concatenate(encoded).astype(np.float32)
        syn_chunks, syn_sents = all_new[: len(chunk_texts)], all_new[len(chunk_texts) :]
    else:
        anchors = np.random.default_rng(seed).integers(0, len(real_chunk_vecs), len(sources.chunk_sources))
        passage_sources = [[int(r)] for r in anchors]
        syn_chunks, calibration["passages"] = drawn_vectors(real_chunk_vecs, real_chunk_vecs, passage_sources)
        syn_sents, calibration["sentences"] = drawn_vectors(real_sent_vecs, real_sent_vecs, sources.sentence_sources)
    t_vectors = time.perf_counter() - t1
    vectors = np.concatenate([real_chunk_vecs, syn_chunks, real_sent_vecs, syn_sents])
    del syn_chunks, syn_sents
    n_chunks = sum(len(d.chunks) for d in docs + synthetic)
    n_sentences = sum(len(d.sentences) for d in docs + synthetic)
    writer = IndexWriter(root)
    t2 = time.perf_counter()
    write_version(writer, docs + synthetic, vectors)
    t_write = time.perf_counter() - t2
    vdir = writer.publish(
        {k: real.manifest[k] for k in ("model", "dimension", "normalized", "metric")}
        | {
            "corpus_hash": f"synthetic-x{factor}",
            "documents": len(docs) + len(synthetic),
            "chunk_count": n_chunks,
            "sentence_count": n_sentences,
        }
    )
    return {
        "documents": len(docs) + len(synthetic),
        "chunks": n_chunks,
        "sentences": n_sentences,
        "vectors_embedded": len(vectors) - len(real_chunk_vecs) - len(real_sent_vecs) if embed else 0,
        "calibration": calibration,
        "build_split_s": {
            "texts": round(t_texts, 1),
            ("embedding" if embed else "drawing_vectors"): round(t_vectors, 1),
            "write_version": round(t_write, 1),
            "publish_total": round(time.perf_counter() - t2, 1),
        },
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
    from service import scoring
    from service.engine import Engine
    from service.index import load_index

    embedder = load_embedder()
    t_imports = time.perf_counter() - started
    index = load_index(root, embedder)
    t_load = time.perf_counter() - started
    rss_loaded = _rss()
    # The scorer's IDF is a scan of every passage's text in service/scoring.py today; with the
    # proposed change (report: scoring._idf reads index.term_df, counted at build) it is not.
    original_idf = scoring._idf
    t = time.perf_counter()
    if os.environ.get("SCALE_BENCH_SCAN_IDF"):
        original_idf(index)
    idf_scan_s = time.perf_counter() - t if os.environ.get("SCALE_BENCH_SCAN_IDF") else None

    def idf_from_counts(ix):
        import math

        n = max(1, len(ix.chunks))
        return {term: math.log(1 + n / df) for term, df in ix.term_df.items()}, math.log(1 + n)

    scoring._idf = idf_from_counts  # type: ignore[assignment]
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
        "idf_scan_s_without_proposed_change": None if idf_scan_s is None else round(idf_scan_s, 2),
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


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--factor", type=int)
    p.add_argument("--embed", action="store_true", help="embed every synthetic text with the real model (10x)")
    p.add_argument("--scan-idf", action="store_true", help="also time service/scoring.py's IDF scan as it is today")
    p.add_argument("--keep", type=Path, help="build the index here and keep it (for an eval with distractors)")
    p.add_argument("--query-only", type=Path, help="(internal) load this index in a fresh process and query it")
    args = p.parse_args()
    if args.query_only:
        print(json.dumps(query_and_recall(args.query_only)))
        return
    import resource
    import subprocess

    work = args.keep or Path(tempfile.mkdtemp(prefix=f"mqa-scale-{args.factor}-"))
    try:
        t = time.perf_counter()
        built = build_scaled(args.factor, work / "index", embed=args.embed)
        built["build_s"] = round(time.perf_counter() - t, 1)
        built["build_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        # A fresh process loads and queries, so its RSS is the service's, not the builder's.
        env = dict(os.environ, **({"SCALE_BENCH_SCAN_IDF": "1"} if args.scan_idf else {}))
        child = subprocess.run(
            [sys.executable, "-m", "bench.scale_bench", "--query-only", str(work / "index")],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env=env,
        )
        result = {"machine": machine(), "factor": args.factor, **built}
        result |= json.loads(child.stdout.strip().splitlines()[-1])
        save_result(f"scale_{args.factor}x", result)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
