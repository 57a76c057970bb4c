"""How cost grows with the corpus: synthetic indexes at 10x, 100x and 1000x the real one.

Each copy of a real paper gets its own id, title and meeting date (shifted by the copy
number) and its passages' lexical text is varied (a random tenth of each passage's words
dropped), so no two copies are identical. Their vectors are the real model's vectors
plus Gaussian noise (cosine to the original ~0.95): embedding 2.4 million texts would take
this 2-core machine hours, so the embedding share of the build time is *projected* from the
measured embedding throughput and reported separately, never mixed into measured figures.

Run one factor per process (so RSS is that factor's own):
    python -m bench.scale_bench --factor 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import REPO, dir_size_mb, gold_questions, percentile
from indexer.vectors import EXACT_LIMIT

NOISE = 0.013  # per-dimension std-dev: cosine(original, copy) ≈ 0.95 for 384-d unit vectors


def _real_version() -> Path:
    from indexer.store import current_version_dir

    return current_version_dir(REPO / "index")


def build_scaled(factor: int, root: Path, seed: int = 7) -> dict:
    import faiss

    from indexer.lexical import LexicalIndex
    from indexer.store import IndexWriter, read_manifest
    from indexer.vectors import make_vector_index

    src = _real_version()
    manifest = read_manifest(src)
    docs = json.loads((src / "documents.json").read_text())
    chunk_data = json.loads((src / "chunks.json").read_text())
    chunks = chunk_data["chunks"]
    sentences = json.loads((src / "sentences.json").read_text())
    vectors = np.load(src / "vectors.npy")
    n_chunks = len(chunks)
    chunk_vecs, sent_vecs = vectors[:n_chunks], vectors[n_chunks:]
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    t0 = time.perf_counter()

    out_docs, out_chunks, out_sents, chunk_lex, sent_lex = [], [], [], [], []
    chunk_blocks, sent_blocks = [], []
    by_doc = {}
    for i, c in enumerate(chunks):
        by_doc.setdefault(c["doc_id"], []).append(i)
    for copy in range(factor):
        for d in docs:
            new_id = f"{d['id']}-x{copy:04d}"
            date = d["meeting_date"]
            if date:
                date = (dt.date.fromisoformat(date) + dt.timedelta(days=copy)).isoformat()
            out_docs.append({**d, "id": new_id, "meeting_date": date, "title": f"{d['title']} (copy {copy})"})
            base = len(out_chunks)
            remap = {}
            for j, ci in enumerate(by_doc[d["id"]]):
                remap[ci] = base + j
                c = dict(chunks[ci], doc_id=new_id)
                out_chunks.append(c)
                words = c["search_text"].split()
                kept = [w for w in words if rnd.random() > 0.1] or words
                chunk_lex.append(f"{d['title']} copy {copy}\n" + " ".join(kept))
            idx = np.array(by_doc[d["id"]])
            chunk_blocks.append(chunk_vecs[idx])
            rows = [r for r, (ci, s, e) in enumerate(sentences) if ci in remap]
            for r in rows:
                ci, s, e = sentences[r]
                out_sents.append([remap[ci], s, e])
                sent_lex.append(d["text"][s:e])
            sent_blocks.append(sent_vecs[rows])
    t_copy = time.perf_counter() - t0

    def noisy(blocks):
        v = np.concatenate(blocks).astype(np.float32)
        v += rng.normal(0, NOISE, v.shape).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v

    cv, sv = noisy(chunk_blocks), noisy(sent_blocks)
    writer = IndexWriter(root)
    t1 = time.perf_counter()
    writer.write_json("documents.json", out_docs)
    writer.write_json("chunks.json", {"chunks": out_chunks, "keys": ["synthetic"] * len(out_chunks)})
    writer.write_json("sentences.json", out_sents)
    writer.write_json("vector_keys.json", [])
    writer.write_array("vectors.npy", np.concatenate([cv, sv]))
    t_store = time.perf_counter() - t1
    t2 = time.perf_counter()
    faiss.write_index(make_vector_index(cv), str(writer.path("faiss.index")))
    faiss.write_index(make_vector_index(sv), str(writer.path("faiss_sentences.index")))
    t_vec = time.perf_counter() - t2
    t3 = time.perf_counter()
    LexicalIndex.build(chunk_lex).save(writer.path("bm25"))
    LexicalIndex.build(sent_lex).save(writer.path("bm25_sentences"))
    t_lex = time.perf_counter() - t3
    vdir = writer.publish(
        {k: manifest[k] for k in ("model", "dimension", "normalized", "metric")}
        | {
            "corpus_hash": f"synthetic-x{factor}",
            "documents": len(out_docs),
            "chunk_count": len(out_chunks),
            "sentence_count": len(out_sents),
        }
    )
    return {
        "documents": len(out_docs),
        "chunks": len(out_chunks),
        "sentences": len(out_sents),
        "build_measured_s": round(time.perf_counter() - t0, 1),
        "build_split_s": {
            "copy": round(t_copy, 1),
            "store": round(t_store, 1),
            "vector_index": round(t_vec, 1),
            "bm25": round(t_lex, 1),
        },
        "vector_index_type": "HNSW" if len(out_chunks) > EXACT_LIMIT else "exact",
        "sentence_index_type": "HNSW" if len(out_sents) > EXACT_LIMIT else "exact",
        "index_size_mb": dir_size_mb(vdir),
    }


def query_and_recall(root: Path) -> dict:
    import psutil

    from indexer.embed import load_embedder
    from service.engine import Engine
    from service.index import load_index

    t = time.perf_counter()
    engine = Engine(load_index(root, load_embedder()), query_cache_size=0)
    load_s = time.perf_counter() - t
    questions = gold_questions()
    for q in questions[:3]:
        engine.ask(q)
    lat = [engine.ask(q).took_ms for q in questions]
    # recall@10 of the index in use against exact search, on the gold questions' vectors
    qv = engine.index.embedder.encode(questions)
    recalls = []
    for name, index, vecs in (
        ("chunks", engine.index.faiss_index, engine.index.chunk_vectors),
        ("sentences", engine.index.sentence_faiss, engine.index.sentence_vectors),
    ):
        _, approx = index.search(qv, 10)
        exact = np.argsort(-(qv @ vecs.T), axis=1)[:, :10]
        recalls.append((name, float(np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)]))))
    return {
        "load_s": round(load_s, 1),
        "p50_ms": percentile(lat, 0.5),
        "p95_ms": percentile(lat, 0.95),
        "recall_at_10": {n: round(r, 4) for n, r in recalls},
        "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--factor", type=int)
    p.add_argument("--query-only", type=Path, help="(internal) load this index in a fresh process and query it")
    p.add_argument(
        "--embedding-texts-per-s",
        type=float,
        default=0.0,
        help="measured embedding throughput, to project the embedding share of a real build",
    )
    args = p.parse_args()
    if args.query_only:
        print(json.dumps(query_and_recall(args.query_only)))
        return
    work = Path(tempfile.mkdtemp(prefix=f"mqa-scale-{args.factor}-"))
    try:
        built = build_scaled(args.factor, work / "index")
        # A fresh process loads and queries, so its RSS is the service's, not the builder's.
        import subprocess

        child = subprocess.run(
            [sys.executable, "-m", "bench.scale_bench", "--query-only", str(work / "index")],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        result = {"factor": args.factor, **built, **json.loads(child.stdout.strip().splitlines()[-1])}
        if args.embedding_texts_per_s:
            result["embedding_projected_s"] = round(
                (built["chunks"] + built["sentences"]) / args.embedding_texts_per_s, 0
            )
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
