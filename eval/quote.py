"""How much the answer quotes besides its best candidate, chosen on the train split only (out of
fold), the way `minutes-qa train` chooses the abstention cut: when to quote the best sentence
together with the next one (service/continuation.py), and how close the runner-up must score to
be quoted beside the best (service/compose.py: runner_up).

For Members' everyday questions the scorer often cannot separate the sentence that answers from
the one next to it in its ranking: out of fold on train a right candidate exists for ~3 in 4 of
them, but comes first for fewer than 1 in 4 and second for another 1 in 14. And the sentence that
best matches their words is often the question recorded in the minutes, whose answer follows.
Quoting more gives the asker the answer more often, at the price of a longer answer. The choice
is the one that makes the most answers right (styles weighted equally) while the median answer of
each phrasing style stays within `MEDIAN_ANSWER_BUDGET` characters — well inside the issue's
300-character target, so that most answers stay one quote.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from eval.logistic import fit_standardised_logistic
from service.candidates import Candidate
from service.compose import NEVER, runner_up
from service.continuation import FEATURES, ContinuationModel
from service.scoring import feature_names

if TYPE_CHECKING:
    from eval.question_data import QuestionData

MEDIAN_ANSWER_BUDGET = 250  # characters, over the answers given
GAPS = tuple(round(g, 2) for g in np.arange(0.0, 2.01, 0.05))  # log-odds; 0 = never a second quote
ABOVE = (NEVER, *(round(p, 2) for p in np.arange(0.95, 0.29, -0.05)))  # continuation thresholds
CITATION_MARK = 4  # " [1]" after each quote
CONTINUATION_C = 0.3  # the logistic regression's regularisation (few positives: a strong prior)


@dataclass
class Quoted:
    rows: list[int]  # candidates quoted (row numbers), the best first
    extended: bool  # the best is quoted with its next sentence
    right: bool
    chars: int


def ranked(d: QuestionData, raw: np.ndarray, platt_a: float, depth: int = 20) -> tuple[list[int], list[Candidate]]:
    """The candidates in score order (row numbers, and the first `depth` as the composer's
    Candidate objects: spans, type match, calibrated score as a·raw — the question's own
    calibration terms are the same for every candidate and cancel in log-odds gaps)."""
    if d.spans is None:
        raise ValueError("question data without candidate spans: rebuild the cross-fitted data")
    spans = d.spans
    # The scorer's order: best first, ties by paper and position (service/scoring.py: Scorer.run).
    order = sorted(range(len(raw)), key=lambda j: (-float(raw[j]), spans[j][0], spans[j][1]))
    type_match = feature_names().index("type_match")
    return order, [
        Candidate(
            kind="",
            doc_id=d.spans[j][0],
            chunk=-1,
            start=d.spans[j][1],
            end=d.spans[j][2],
            value_start=d.spans[j][1],
            value_end=d.spans[j][2],
            rank=0,
            rrf=0.0,
            features={"type_match": float(d.x[j, type_match])},
            score=float(1 / (1 + np.exp(-platt_a * raw[j]))),
        )
        for j in order[:depth]
    ]


def quoted(
    d: QuestionData,
    raw: np.ndarray,
    platt_a: float,
    within: float,
    next_p: float = 0.0,
    above: float = NEVER,
    order: tuple[list[int], list[Candidate]] | None = None,
) -> Quoted:
    """What the composer would quote for question data `d` with candidate raw scores `raw`: the
    best with its next sentence when its continuation probability `next_p` reaches `above`, else
    the best and the runner-up when `runner_up` takes it. `order`: `ranked(d, raw, platt_a)`, if
    already made."""
    rows_in_order, cands = order or ranked(d, raw, platt_a)
    top = rows_in_order[0]
    if next_p >= above and d.next_y is not None and d.next_chars is not None and d.next_chars[top]:
        return Quoted([top], True, bool(d.y[top] or d.next_y[top]), d.next_chars[top] + CITATION_MARK)
    second = runner_up(cands[0], cands, within)
    rows = [top] if second is None else [top, next(rows_in_order[k] for k, c in enumerate(cands) if c is second)]
    assert d.spans is not None  # (ranked() refuses data without them)
    chars = sum(d.spans[j][3] + CITATION_MARK for j in rows) + len(rows) - 1
    return Quoted(rows, False, any(bool(d.y[j]) for j in rows), chars)


def _continuation_set(data: list[QuestionData], tops: list[int]) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Questions whose top candidate has a next sentence, its features, and whether only the longer
    quote is right (the label the continuation model learns)."""
    idx, xs, ys = [], [], []
    for i, (d, t) in enumerate(zip(data, tops, strict=True)):
        if t < 0 or d.next_x is None or d.next_y is None or np.isnan(d.next_x[t]).any():
            continue
        idx.append(i)
        xs.append(d.next_x[t])
        ys.append(float(d.next_y[t] and not d.y[t]))
    return idx, np.array(xs).reshape(len(idx), len(FEATURES)), np.array(ys)


def fit_continuation(x: np.ndarray, y: np.ndarray, above: float = NEVER) -> ContinuationModel | None:
    if len(set(y.tolist())) < 2:
        return None
    m = fit_standardised_logistic(x, y, CONTINUATION_C)
    return ContinuationModel(list(FEATURES), m.mean, m.scale, m.coef, m.intercept, above)


def continuation_out_of_fold(data: list[QuestionData], tops: list[int], folds: list[int]) -> list[float]:
    """Each question's continuation probability for its top candidate, from a model fitted on the
    other folds (0 where the top has no next sentence)."""
    idx, x, y = _continuation_set(data, tops)
    probs = [0.0] * len(data)
    where = np.array([folds[i] for i in idx])
    for f in sorted(set(folds)):
        model = fit_continuation(x[where != f], y[where != f])
        if model is None:
            continue
        for k in np.flatnonzero(where == f):
            probs[idx[k]] = model.probability(x[k])
    return probs


@dataclass
class QuoteChoice:
    gap: float  # the runner-up's log-odds gap (0: never)
    continuation: dict | None  # the continuation model with its threshold (None: never the next sentence)
    summary: str  # what they do out of fold
    next_p: list[float]  # each question's out-of-fold continuation probability for its top candidate


def choose_quotes(
    data: list[QuestionData],
    raws: list[np.ndarray],
    tops: list[int],
    folds: list[int],
    probs: list[float],
    cut: float,
    platt_a: float,
) -> QuoteChoice:
    """The continuation threshold and the runner-up's gap that make the most answers right within
    the budget. `raws`/`tops`: every candidate's out-of-fold raw score and each question's top
    candidate; `folds`: the scorer's question folds; `probs`: each question's calibrated top
    probability (0 = refused before the cut); answers are given where probs ≥ cut. The figure in
    the summary is the maximum over the choices tried on the same out-of-fold scores, so it is
    optimistic (bench/train_cv.py also gives a nested estimate)."""
    next_p = continuation_out_of_fold(data, tops, folds)
    answered = [i for i, p in enumerate(probs) if p >= cut and len(raws[i])]
    total = sum(d.weight for d in data if d.item.answerable) or 1.0
    best: tuple[float, float, float, float] | None = None  # (right share, above, gap, longer median)
    base = 0.0
    orders = {i: ranked(data[i], raws[i], platt_a) for i in answered}
    for above in ABOVE:
        for gap in GAPS:
            right, lengths = 0.0, dict[str, list[int]]()
            for i in answered:
                q = quoted(data[i], raws[i], platt_a, gap, next_p[i], above, orders[i])
                lengths.setdefault(data[i].item.style, []).append(q.chars)
                if data[i].item.answerable and q.right:
                    right += data[i].weight
            median = max((float(np.median(v)) for v in lengths.values()), default=0.0)
            share = right / total
            if above == NEVER and gap == 0.0:
                base = share
            if median <= MEDIAN_ANSWER_BUDGET and (best is None or share > best[0]):
                best = (share, above, gap, median)
    if best is None:  # even one quote each is over the budget: nothing more is quoted
        return QuoteChoice(0.0, None, "quotes: one each (single quotes already exceed the median budget)", next_p)
    share, above, gap, median = best
    model = None
    if above != NEVER:
        _, x, y = _continuation_set(data, tops)
        model = fit_continuation(x, y, above)
    said = f"next sentence from probability {above}" if model else "never the next sentence"
    return QuoteChoice(
        gap,
        asdict(model) if model else None,
        f"quotes: {said}; the runner-up within {gap} log-odds. Out of fold, right answers "
        f"{100 * base:.1f}% → {100 * share:.1f}% (styles weighted; the best of the choices tried), median "
        f"answer ≤ {median:.0f} characters in each style",
        next_p,
    )
