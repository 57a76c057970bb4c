"""The abstention cut and its calibration, chosen on the train split only: Platt scaling of the
scorer's out-of-fold top scores, the cut that maximises right answers and right refusals, and the
constraints it must keep — the gate's round-1 floors (measured exactly: their questions are in
train), its abstention-recall threshold and false-abstention ceiling (estimated on train's other
questions). Questions the service refuses before the cut (a missing subject, a missing value)
count as refused whatever the cut. Used by `eval/train.py` (`minutes-qa train`) and
`bench/train_cv.py`.
"""

from __future__ import annotations

import json
import math

import numpy as np

from eval.gold import GoldItem
from service.scoring import ScorerModel


def platt_probs(scores: list[tuple[float, bool]], unknown: list[float], a: float, b: float, c: float) -> list[float]:
    """The calibrated probability of each question's top candidate (0 when it had none)."""
    return [
        float(1 / (1 + np.exp(-(a * s + c * u + b)))) if np.isfinite(s) else 0.0
        for (s, _), u in zip(scores, unknown, strict=True)
    ]


def platt(
    scores: list[tuple[float, bool]], weights: list[float] | None = None, unknown: list[float] | None = None
) -> tuple[float, float, float]:
    """Platt scaling of the top candidate's raw score, with the share of the question's words the
    papers never use as a second input: (a, b, c) in sigmoid(a·raw + c·unknown + b)."""
    from sklearn.linear_model import LogisticRegression

    weights = weights or [1.0] * len(scores)
    unknown = unknown or [0.0] * len(scores)
    usable = [(s, ok, w, u) for (s, ok), w, u in zip(scores, weights, unknown, strict=True) if np.isfinite(s)]
    x = np.array([[s, u] for s, _, _, u in usable])
    y = np.array([ok for _, ok, _, _ in usable], dtype=int)
    if len(set(y)) < 2:
        return 1.0, 0.0, 0.0
    m = LogisticRegression(C=100.0).fit(x, y, sample_weight=[w for _, _, w, _ in usable])
    return float(m.coef_[0][0]), float(m.intercept_[0]), float(m.coef_[0][1])


# What each outcome is worth when the abstention cut is chosen. The issue this answers names both
# failures as what loses a Member's trust — a wrong answer, and "the papers don't cover this" when
# they do — so both cost as much as a right answer or a right refusal earns.
WRONG_ANSWER_COST = 1.0
FALSE_ABSTENTION_COST = 1.0


def choose_cut(
    probs: list[float],
    right: list[bool],
    answerable: list[bool],
    weights: list[float] | None = None,
    allowed=lambda cut: True,
) -> float:
    """The cut maximising right answers + unanswerable questions refused − wrong answers given −
    answerable questions refused, among the cuts `allowed` accepts (the gate's floors)."""
    weights = weights or [1.0] * len(probs)
    cuts = cut_candidates(probs)
    best, best_cut = -float("inf"), 0.5
    for cut in cuts:
        if not allowed(cut):
            continue
        gain = 0.0
        for p, ok, a, w in zip(probs, right, answerable, weights, strict=True):
            if p >= cut:
                gain += w if (ok and a) else -WRONG_ANSWER_COST * w
            else:
                gain += w if not a else -FALSE_ABSTENTION_COST * w
        if gain > best:
            best, best_cut = gain, cut
    below = [p for p in probs if p < best_cut]
    middle = round((max(below) + best_cut) / 2, 4) if below else best_cut
    return middle if allowed(middle) else best_cut  # halfway to the next score, if still allowed


def settle_cut(probs: list[float], right: list[bool], answerable: list[bool], weights: list[float], must, estimated):
    """(cut, whether `estimated` was kept): the best cut (`choose_cut`) among those that keep both
    the constraints that must hold (`must`: the round-1 floors, measured exactly; the refusal
    threshold) and those only estimated (`estimated`: the false-abstention ceiling); when no cut
    keeps both, refuse as little as `must` allows — its lowest cut, rounded up to four places
    (which refuses no less)."""
    allowed = lambda cut: must(cut) and estimated(cut)  # noqa: E731
    candidates = cut_candidates(probs)
    if any(allowed(c) for c in candidates):
        return choose_cut(probs, right, answerable, weights, allowed), True
    cut = next((c for c in candidates if must(c)), 1.0)
    return min(1.0, math.ceil(cut * 1e4) / 1e4), False


def floors_allow(engine, model: ScorerModel, items: list[GoldItem], texts: dict[str, str], log):
    """Which cuts keep the regression gate's round-1 floors (eval/thresholds.json) — those questions
    are in train, so this is decided here, on train, never on test."""
    import dataclasses

    from eval.runner import THRESHOLDS_PATH, Backend, check_thresholds, metrics, run
    from eval.split import ROUND_ONE_PREFIXES
    from service.engine import Engine

    floor_items = [it for it in items if it.id.startswith(ROUND_ONE_PREFIXES)]
    if not floor_items or not THRESHOLDS_PATH.exists():
        return lambda cut: True
    open_model = dataclasses.replace(model, abstain_below=0.0)
    outcomes = run(Backend(engine=Engine(engine.index, model=open_model), texts=texts), floor_items)

    def allowed(cut: float) -> bool:
        judged = []
        for o in outcomes:  # what each round-1 question would get with this cut
            refused = o.abstained or o.confidence < cut  # abstained with the cut open: a named subject is missing
            judged.append(
                dataclasses.replace(o, abstained=refused, fact=o.fact and not refused, cited=o.cited and not refused)
            )
        return not check_thresholds(metrics(judged), population="round1")

    log(f"round-1 floors checked on {len(floor_items)} train questions")
    return allowed


def refused_whatever_the_cut(engine, data, tops: list[int], probs: list[float]) -> list[float]:
    """The service refuses some questions whatever the cut (`data`: eval.question_data.QuestionData, `tops`:
    each question's out-of-fold top candidate): one naming a subject no indexed paper mentions
    (service.coverage, over the standalone question as the engine checks it), and one asking for a
    value (a sum, a date, a name) that its best candidate does not hold (service.compose.
    value_missing). Their probability becomes 0, which no cut candidate equals (see `cut_candidates`)."""
    from service.compose import value_missing

    type_match = engine.scorer.model.names.index("type_match")  # the columns the scorer's features have
    out = []
    for d, top, p in zip(data, tops, probs, strict=True):
        query = engine.analyzer.run(d.item.question, d.item.history)
        best = {"type_match": float(d.x[top, type_match]) if top >= 0 else 0.0}
        refused = bool(engine.coverage.absent(query.text)) or value_missing(query, best)
        out.append(0.0 if refused else p)
    return out


def cut_candidates(probs: list[float]) -> list[float]:
    """The cuts worth trying: each positive probability, and 1. (A cut of 0 would "answer" the
    questions refused whatever the cut, which the service never does.)"""
    return sorted({p for p in probs if p > 0}) + [1.0]


def refusal_floor(probs: list[float], items: list[GoldItem], path=None) -> tuple[float | None, list[float]]:
    """(the gate's abstention-recall floor, or None without one; the probabilities of the train
    questions it is kept on: the unanswerable ones other than round 1's)."""
    from eval.runner import THRESHOLDS_PATH
    from eval.split import ROUND_ONE_PREFIXES

    path = path or THRESHOLDS_PATH
    floor = json.loads(path.read_text()).get("test", {}).get("abstention_recall") if path.exists() else None
    unanswerable = [
        p for p, it in zip(probs, items, strict=True) if not it.answerable and not it.id.startswith(ROUND_ONE_PREFIXES)
    ]
    return floor, unanswerable


def refusals_allow(probs: list[float], items: list[GoldItem], path=None):
    """Which cuts keep the gate's abstention-recall threshold (eval/thresholds.json, test) on the
    out-of-fold probabilities of train's unanswerable questions other than round 1's: those are
    off-topic ("potholes") and refused by the coverage check, while the gate judges questions the
    papers almost answer. Without this the cut is chosen as low as round 1 allows and refuses
    almost nothing the papers almost answer."""
    floor, unanswerable = refusal_floor(probs, items, path)
    if floor is None or not unanswerable:
        return lambda cut: True
    return lambda cut: 100 * sum(1 for p in unanswerable if p < cut) / len(unanswerable) >= floor


def wilson_upper(k: int, n: int, z: float = 1.96) -> float:
    """Upper end of the 95% Wilson interval of a rate seen as k in n."""
    if n == 0:
        return 0.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)


def ceilings_allow(probs: list[float], items: list[GoldItem], path=None):
    """Which cuts keep the gate's false-abstention ceiling (eval/thresholds.json) on the out-of-fold
    answers of EACH phrasing style in train: Members' questions score lower than officers', so a cut
    that looks fine on the two styles pooled can refuse most of what Members ask. The gate judges
    other questions (test), so the ceiling must hold with 95% confidence here, not just on average:
    the upper end of the Wilson interval of the out-of-fold rate is what must stay under it."""
    from eval.runner import THRESHOLDS_PATH

    path = path or THRESHOLDS_PATH
    ceiling = json.loads(path.read_text()).get("test", {}).get("max_false_abstention_rate") if path.exists() else None
    if ceiling is None:
        return lambda cut: True
    by_style: dict[str, list[float]] = {}
    for p, it in zip(probs, items, strict=True):
        if it.answerable:
            by_style.setdefault(it.style, []).append(p)

    def allowed(cut: float) -> bool:
        return all(100 * wilson_upper(sum(1 for p in ans if p < cut), len(ans)) <= ceiling for ans in by_style.values())

    return allowed
