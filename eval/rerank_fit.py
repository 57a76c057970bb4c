"""Fit the passage re-ranker (service/rerank.py) on the gold set's TRAIN split only.

For each answerable train question, fusion's top POOL passages (from an engine that does not
re-rank) with their features, labelled 1 when the passage holds a gold span. A LightGBM
LambdaRank model is fitted on those groups. Settings (3 leaves, 200 trees) were chosen by
out-of-fold recall@10 on train with cross-fitted encoders (bench/RESULTS.md, 2026-12-07).

Cross-fitting, as for the encoder: the scorer's training candidates for a question must come from
passages ordered by a re-ranker that never saw that question, or the scorer would learn from
better-ordered passages than a new question gets. `cross_fitted_rerankers` gives one model per
encoder fold (fitted on the other folds' questions) and the final model (all train questions).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval.gold import GoldItem, overlaps, passage_spans
from service.rerank import FEATURES, POOL, RerankerModel

PARAMS: dict[str, Any] = {"num_leaves": 3, "n_estimators": 200, "learning_rate": 0.05, "min_child_samples": 10}


@dataclass
class RerankRows:
    item: GoldItem
    x: np.ndarray  # passages × FEATURES
    y: np.ndarray  # 1 = the passage holds a gold span


def rerank_rows(engine, item: GoldItem, texts: dict[str, str]) -> RerankRows:
    """Fusion's top POOL passages for `item` and their features (`engine` must not re-rank)."""
    from service.retrieval import Filters

    query = engine.analyzer.run(item.question, item.history)
    qvec = engine.embed_query(query.text)
    hits = engine.fused(query, qvec, Filters(), POOL)
    x = engine.reranker.features(query, qvec, hits, engine.scorer.query_weights(query))
    spans = {d: passage_spans(t, item.passages) for d, t in texts.items()} if item.answerable else {}
    chunks = [engine.index.chunks[h.chunk] for h in hits]
    y = np.array([float(overlaps(c.start, c.end, spans.get(c.doc_id, []))) for c in chunks])
    return RerankRows(item, x.reshape(len(hits), len(FEATURES)), y)


def fit_reranker(rows: list[RerankRows], note: str = "") -> RerankerModel:
    """LambdaRank over the groups that hold a gold passage (the others teach nothing)."""
    import lightgbm

    usable = [r for r in rows if r.y.any()]
    if not usable:
        raise ValueError("no train question has a gold passage among fusion's top passages")
    ranker = lightgbm.LGBMRanker(
        objective="lambdarank", random_state=0, n_jobs=1, verbose=-1, deterministic=True, force_row_wise=True, **PARAMS
    )
    x, y = np.vstack([r.x for r in usable]), np.concatenate([r.y for r in usable]).astype(int)
    ranker.fit(x, y, group=[len(r.y) for r in usable])
    return RerankerModel(
        list(FEATURES),
        ranker.booster_.model_to_string(),
        POOL,
        {
            "split": "train",
            "questions": len(usable),
            "params": PARAMS,
            "date": dt.date.today().isoformat(),
            **({"note": note} if note else {}),
        },
    )


def reranking_engines(items: list[GoldItem], folds: list[int], plain: list, texts: dict[str, str], options=None):
    """Engines like `plain` (one per encoder fold, not re-ranking) whose passages are re-ranked by
    the model fitted without their fold's questions. → (engines, the model fitted on all)"""
    from service.engine import Engine, PipelineOptions
    from service.scoring import default_model

    per_fold, final = cross_fitted_rerankers(items, folds, plain, texts)
    engines = [
        Engine(e.index, model=default_model(), query_cache_size=0, options=options or PipelineOptions(), reranker=m)
        for e, m in zip(plain, per_fold, strict=True)
    ]
    return engines, final


def cross_fitted_rerankers(
    items: list[GoldItem], folds: list[int], engines: list, texts: dict[str, str]
) -> tuple[list[RerankerModel], RerankerModel]:
    """(model per fold, fitted without that fold's questions; final model on all of them).
    `engines[f]` answers fold f's questions with an encoder that never saw them, without re-ranking."""
    rows = [rerank_rows(engines[g], it, texts) if it.answerable else None for it, g in zip(items, folds, strict=True)]
    per_fold = [
        fit_reranker(
            [r for r, g in zip(rows, folds, strict=True) if r is not None and g != f], note=f"cross-fit fold {f + 1}"
        )
        for f in range(len(engines))
    ]
    return per_fold, fit_reranker([r for r in rows if r is not None])
