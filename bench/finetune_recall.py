"""Does fine-tuning the encoder on our own questions help retrieval for questions it never saw?

Two folds of the TRAIN split (by a hash of the question id): fine-tune on one fold's question →
passage pairs with the committed recipe's settings, then measure dense recall@5/10/20 (the gold
passage's chunk among the nearest chunks) on the other fold, for the stock and the tuned encoder,
by phrasing style, and the sentence-level recall@1/5 (the gold sentence among the nearest
sentences: what the answer scorer's meaning features see). Test questions are never read. Takes
~10 minutes on 2 cores. Recipe variants are tried with options, e.g.

    .venv/bin/python bench/finetune_recall.py [--sentence-pairs] [--hard-negatives 1] [--epochs 4] [--no-stock]
"""

from __future__ import annotations

import argparse
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentence-pairs", action="store_true")
    parser.add_argument("--hard-negatives", type=int, default=0)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--no-stock", action="store_true", help="skip the stock encoder's figures")
    args = parser.parse_args()
    recipe = load_recipe()
    variant = {
        "sentence_pairs": args.sentence_pairs,
        "hard_negatives": args.hard_negatives,
        "mask_same_question": args.sentence_pairs or args.hard_negatives > 0,
    }
    if args.epochs:
        variant["epochs"] = args.epochs
    recipe = replace(recipe, **variant)
    sentences = [(d, s, e) for d in docs for (_, s, e) in d.sentences]
    print(f"recipe {recipe}", flush=True)

    def recall(embedder, held_out):
        vectors = embedder.encode([c.search_text for _, c in chunks])
        out: dict[str, list[int]] = {}
        for it in held_out:
            gold = {
                i for i, (d, c) in enumerate(chunks) if overlaps(c.start, c.end, passage_spans(d.text, it.passages))
            }
            if not gold:
                continue
            q = embedder.encode([analyzer.run(it.question, it.history).text])[0]
            order = np.argsort(-(vectors @ q))
            out.setdefault(it.style, []).append(next(r for r, j in enumerate(order) if j in gold))
        chunk_recall = {
            s: [round(100 * sum(r < k for r in v) / len(v), 1) for k in (5, 10, 20)] + [len(v)] for s, v in out.items()
        }
        svectors = embedder.encode([d.text[s:e] for d, s, e in sentences])
        sout: dict[str, list[int]] = {}
        for it in held_out:
            gold = {i for i, (d, s, e) in enumerate(sentences) if overlaps(s, e, passage_spans(d.text, it.passages))}
            if not gold:
                continue
            q = embedder.encode([analyzer.run(it.question, it.history).text])[0]
            order = np.argsort(-(svectors @ q))
            sout.setdefault(it.style, []).append(next(r for r, j in enumerate(order) if j in gold))
        sentence_recall = {s: [round(100 * sum(r < k for r in v) / len(v), 1) for k in (1, 5)] for s, v in sout.items()}
        return {"chunks@5/10/20": chunk_recall, "sentences@1/5": sentence_recall}

    for f in (0, 1):
        train = [it for it in items if fold[it.id] != f]
        held = [it for it in items if fold[it.id] == f]
        pairs = encoder_pairs(train, settings.corpus_dir, recipe.sentence_pairs, recipe.hard_negatives)
        with tempfile.TemporaryDirectory() as tmp:
            folder = finetune(pairs, replace(recipe, pairs_sha256=pairs_hash(pairs), pairs=len(pairs)), Path(tmp) / "m")
            tuned = MiniLMEmbedder(path=str(folder), name="fold")
            stock = "" if args.no_stock else f"stock {recall(base, held)} → "
            print(f"fold {f}: {len(pairs)} examples; {stock}tuned {recall(tuned, held)}", flush=True)


if __name__ == "__main__":
    main()
