"""Does fine-tuning the encoder on our own questions help retrieval for questions it never saw?

Two folds of the TRAIN split (by a hash of the question id): fine-tune on one fold's question →
passage pairs with the committed recipe's settings, then measure dense recall@5/10/20 (the gold
passage's chunk among the nearest chunks) on the other fold, for the stock and the tuned encoder,
by phrasing style. Test questions are never read. Takes ~10 minutes on 2 cores.

    .venv/bin/python bench/finetune_recall.py
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.gold import load_gold, overlaps, passage_spans  # noqa: E402
from eval.split import load_split, side  # noqa: E402
from eval.train import encoder_pairs  # noqa: E402
from indexer.build import parse_document  # noqa: E402
from indexer.chunker import Chunker  # noqa: E402
from indexer.corpus import load_manifest  # noqa: E402
from indexer.embed import MiniLMEmbedder  # noqa: E402
from indexer.finetune import finetune, load_recipe, pairs_hash  # noqa: E402
from indexer.tokens import count_tokens  # noqa: E402
from service.query import QueryAnalyzer  # noqa: E402
from service.settings import Settings  # noqa: E402


def main() -> None:
    settings = Settings()
    items = [it for it in side(load_gold(), load_split(), "train") if it.answerable]
    base = MiniLMEmbedder()
    chunker = Chunker(count_tokens, base.count_tokens, base.max_tokens)
    metas = load_manifest(settings.corpus_dir)
    docs = [parse_document(m, settings.corpus_dir, chunker) for m in metas]
    chunks = [(d, c) for d in docs for c in d.chunks]
    analyzer = QueryAnalyzer(metas)
    fold = {it.id: int(hashlib.sha256(it.id.encode()).hexdigest(), 16) % 2 for it in items}
    recipe = load_recipe()

    def recall(embedder, held_out):
        vectors = embedder.encode([c.search_text for _, c in chunks])
        out: dict[str, list[int]] = {}
        for it in held_out:
            gold = {i for i, (d, c) in enumerate(chunks) if overlaps(c.start, c.end, passage_spans(d.text, it.passages))}
            if not gold:
                continue
            q = embedder.encode([analyzer.run(it.question, it.history).text])[0]
            order = np.argsort(-(vectors @ q))
            out.setdefault(it.style, []).append(next(r for r, j in enumerate(order) if j in gold))
        return {s: [round(100 * sum(r < k for r in v) / len(v), 1) for k in (5, 10, 20)] + [len(v)] for s, v in out.items()}

    for f in (0, 1):
        train = [it for it in items if fold[it.id] != f]
        held = [it for it in items if fold[it.id] == f]
        pairs = encoder_pairs(train, settings.corpus_dir)
        with tempfile.TemporaryDirectory() as tmp:
            folder = finetune(pairs, replace(recipe, pairs_sha256=pairs_hash(pairs), pairs=len(pairs)), Path(tmp) / "m")
            tuned = MiniLMEmbedder(path=str(folder), name="fold")
            print(f"fold {f}: {len(pairs)} pairs; recall@5/10/20 [n] stock {recall(base, held)} → tuned {recall(tuned, held)}",
                  flush=True)


if __name__ == "__main__":
    main()
