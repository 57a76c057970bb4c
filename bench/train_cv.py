"""Would a change to the answer path help on questions nobody has asked yet? An honest estimate
from the TRAIN split only, for choosing components (the test split is never read).

The encoder in service was fine-tuned on every train question, so train figures measured with it
are optimistic. Here each train question is answered by an engine whose encoder was fine-tuned
WITHOUT it (the two cross-fitting folds `minutes-qa train` uses, same recipe), then the scorer is
fitted and judged out of fold (5 folds by question), its Platt calibration and abstention cut
chosen the way `eval/train.py` chooses them. Printed per phrasing style: passage recall@k,
"reach" (a correct candidate exists at all), out-of-fold top-1 accuracy, fact accuracy after the
cut, false abstention, unanswerable questions refused, answers given with confidence >= 0.9.

The fold encoders are kept in models/crossfit/ under their content-addressed names (shared with
`minutes-qa train`), their indexes in --work (first run ~10-50 minutes on 2 cores; later runs
~30 s), so a scoring or retrieval change is measured in seconds. Delete --work after changing
the indexer.

    .venv/bin/python bench/train_cv.py [--work DIR] [--passages N] [--tag NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import eval.cut as cuts  # noqa: E402
import eval.train as fit  # noqa: E402
from eval.gold import GoldItem, load_gold, overlaps, passage_spans  # noqa: E402
from eval.question_data import candidate_matrix, no_filters, style_weights  # noqa: E402
from eval.quote import choose_quotes, quoted  # noqa: E402
from eval.split import load_split, side  # noqa: E402
from service.compose import NEVER  # noqa: E402
from service.continuation import ContinuationModel  # noqa: E402
from service.settings import Settings  # noqa: E402

MODEL = ("lightgbm", {"num_leaves": 7, "n_estimators": 150, "learning_rate": 0.05, "min_child_samples": 10})
STYLES = ("keyword", "member")


def fold_engines(items: list[GoldItem], settings: Settings, work: Path, options, variant: dict | None = None):
    """One engine per cross-fitting fold: encoder fine-tuned on the other fold's questions (the same
    fold encoders `minutes-qa train` uses, kept in models/crossfit/), index kept in --work; the
    passage re-ranker cross-fitted the same way (eval/rerank_fit.py)."""
    from indexer.build import build_index
    from indexer.embed import MiniLMEmbedder
    from indexer.finetune import load_recipe
    from service.engine import Engine
    from service.index import load_index
    from service.scoring import default_model

    recipe = load_recipe()
    if recipe is None:
        raise SystemExit("no encoder recipe (service/data/encoder.json)")
    recipe = replace(recipe, **(variant or {}))
    folds = fit._folds_of(items, fit.CROSS_FIT_FOLDS, salt="crossfit:")
    engines = []
    for f in range(fit.CROSS_FIT_FOLDS):
        rest = [it for it, g in zip(items, folds, strict=True) if g != f]
        folder, name = fit.fold_encoder(recipe, rest, settings.corpus_dir, f)
        embedder = MiniLMEmbedder(path=str(folder), name=name)
        here = work / name.rsplit("-", 1)[-1]
        if not (here / "index").exists():
            build_index(settings.corpus_dir, here / "index", embedder, progress=False)
        index = load_index(here / "index", embedder)
        engines.append(Engine(index, model=default_model(), query_cache_size=0, options=replace(options, rerank=False)))
    if options.rerank:  # each fold's passages re-ranked by a model fitted on the other fold only
        from eval.rerank_fit import reranking_engines

        texts = {d: doc.text for d, doc in engines[0].index.documents.items()}
        engines, _ = reranking_engines(items, folds, engines, texts, options)
    return folds, engines


def gold_rank(engine, item: GoldItem, texts: dict[str, str]) -> int | None:
    query = engine.analyzer.run(item.question, item.history)
    hits = engine.retrieve(query, engine.embed_query(query.text), no_filters())
    spans = {d: passage_spans(t, item.passages) for d, t in texts.items()}
    for i, h in enumerate(hits, 1):
        c = engine.index.chunks[h.chunk]
        if overlaps(c.start, c.end, spans.get(c.doc_id, [])):
            return i
    return None


def pct(n: float, d: float) -> float:
    return round(100 * n / d, 1) if d else 0.0


def measure(items, folds, engines) -> dict:
    texts = {d: doc.text for d, doc in engines[0].index.documents.items()}
    data = [candidate_matrix(engines[g], it, texts) for it, g in zip(items, folds, strict=True)]
    ranks = [gold_rank(engines[g], it, texts) if it.answerable else None for it, g in zip(items, folds, strict=True)]
    style_weights(data)
    tops: list[int] = []
    raws: list = []
    oof = fit.out_of_fold(data, *MODEL, tops=tops, raws=raws)
    weights = [d.weight for d in data]
    answerable = [it.answerable for it in items]
    unknown = [
        engines[g].scorer.unknown_share(engines[g].analyzer.run(it.question, it.history))
        for it, g in zip(items, folds, strict=True)
    ]
    a, b, c = cuts.platt(oof, weights, unknown)
    probs = cuts.refused_whatever_the_cut(engines[0], data, tops, cuts.platt_probs(oof, unknown, a, b, c))
    # The cut as `minutes-qa train` chooses it, less the round-1 floors (they need a full engine).
    right = [ok for _, ok in oof]
    refusals = cuts.refusals_allow(probs, items)
    cut, _ = cuts.settle_cut(probs, right, answerable, weights, refusals, cuts.ceilings_allow(probs, items))
    scorer_folds = fit._folds(data, fit.FOLDS)
    choice = choose_quotes(data, raws, tops, scorer_folds, probs, cut, a)
    above = choice.continuation["above"] if choice.continuation else NEVER
    shown = [
        quoted(d, r, a, choice.gap, p, above) if len(r) else None
        for d, r, p in zip(data, raws, choice.next_p, strict=True)
    ]
    said = [bool(q and q.right) for q in shown]  # right with what else is quoted
    chars = [q.chars if q else 0 for q in shown]
    nested = nested_quotes(data, raws, tops, scorer_folds, probs, cut, a)
    out: dict = {
        "cut": round(cut, 3),
        "refusal_floor": refusal_margin(probs, items, cut),
        "second_quote_within": choice.gap,
        "continue_above": above,
        "quotes": choice.summary,
    }
    for style in STYLES:
        idx = [i for i, it in enumerate(items) if it.style == style]
        ans = [i for i in idx if answerable[i]]
        unans = [i for i in idx if not answerable[i]]
        confident = [i for i in idx if probs[i] >= 0.9]
        row = {"n": len(ans)}
        for k in (1, 5, 10, 20):
            row[f"recall@{k}"] = pct(sum(1 for i in ans if ranks[i] and ranks[i] <= k), len(ans))
        row["reach"] = pct(sum(1 for i in ans if data[i].y.any()), len(ans))
        row["top1"] = pct(sum(1 for i in ans if oof[i][1]), len(ans))
        row["fact_one_quote"] = pct(sum(1 for i in ans if oof[i][1] and probs[i] >= cut), len(ans))
        row["fact"] = pct(sum(1 for i in ans if said[i] and probs[i] >= cut), len(ans))
        row["fact_nested"] = pct(sum(1 for i in ans if nested[i] and probs[i] >= cut), len(ans))
        row["median_chars"] = float(np.median([chars[i] for i in idx if probs[i] >= cut] or [0]))
        row["false_abstention"] = pct(sum(1 for i in ans if probs[i] < cut), len(ans))
        row["unanswerable_refused"] = pct(sum(1 for i in unans if probs[i] < cut), len(unans))
        row["confident"] = len(confident)
        row["confident_correct"] = sum(1 for i in confident if answerable[i] and oof[i][1])
        out[style] = row
    return out


def refusal_margin(probs, items, cut) -> dict:
    """How far the cut's refusals of train's unanswerable questions (those the gate's floor is kept
    on: all but round 1's) lie above the floor, in questions. `minutes-qa train` takes the lowest cut
    that keeps the floor whenever the false-abstention ceiling cannot be kept too, which leaves a
    margin of 0: then the test split's refusals fall either side of the gate's floor by a question or
    so (eighth session: two refits better on every other test figure failed the gate that way)."""
    import math

    floor, others = cuts.refusal_floor(probs, items)
    floor = floor or 0.0
    refused = sum(1 for p in others if p < cut)
    return {"refused": refused, "of": len(others), "needed": math.ceil(floor * len(others) / 100), "floor_pct": floor}


def nested_quotes(data, raws, tops, folds, probs, cut, a) -> list[bool]:
    """Right with what else is quoted, each question's quoting chosen (continuation threshold and
    model, runner-up gap) on the other folds only: the figure choose_quotes reports is the best of
    the choices it tried on the very same questions."""
    right = [False] * len(data)
    for f in sorted(set(folds)):
        inside = [i for i, g in enumerate(folds) if g != f]
        sub = [[xs[i] for i in inside] for xs in (data, raws, tops, folds, probs)]
        choice = choose_quotes(*sub, cut, a)
        model = ContinuationModel(**choice.continuation) if choice.continuation else None
        for i, g in enumerate(folds):
            if g != f or not len(raws[i]):
                continue
            row = data[i].next_x[tops[i]] if data[i].next_x is not None and tops[i] >= 0 else None
            p = model.probability(row) if model is not None and row is not None and not np.isnan(row).any() else 0.0
            q = quoted(data[i], raws[i], a, choice.gap, p, model.above if model else NEVER)
            right[i] = q.right
    return right


def main() -> None:
    from service.engine import PipelineOptions

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "minutes-qa-train-cv")
    parser.add_argument("--passages", type=int, default=PipelineOptions().passages)
    parser.add_argument("--tag", default="current")
    parser.add_argument("--recipe", default="{}", help="encoder recipe fields to change, as JSON (new --work!)")
    parser.add_argument("--option", action="append", default=[], help="a PipelineOptions field, NAME=JSON")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.time()
    items = side(load_gold(), load_split(), "train")
    chosen = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    options = PipelineOptions(passages=args.passages, **chosen)
    folds, engines = fold_engines(items, Settings(), args.work, options, json.loads(args.recipe))
    result = {"tag": args.tag, **measure(items, folds, engines), "seconds": round(time.time() - t0)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
