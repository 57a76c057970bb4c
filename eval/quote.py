"""How close the runner-up must score to be quoted beside the best candidate, chosen on the train
split only (out of fold), the way `minutes-qa train` chooses the abstention cut.

For Members' everyday questions the scorer often cannot separate the sentence that answers from
the one next to it in its ranking: out of fold on train a right candidate exists for ~3 in 4 of
them, but comes first for fewer than 1 in 4 and second for another 1 in 14. Quoting both when
their scores are close gives the asker the answer more often, at the price of a longer answer.
The gap chosen is the one that makes the most answers right (styles weighted equally) while the
median answer of each phrasing style stays within `MEDIAN_ANSWER_BUDGET` characters — well inside
the issue's 300-character target, so that most answers stay one quote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from service.candidates import Candidate
from service.compose import runner_up
from service.scoring import feature_names

if TYPE_CHECKING:
    from eval.train import QuestionData

MEDIAN_ANSWER_BUDGET = 250  # characters, over the answers given
GAPS = tuple(round(g, 2) for g in np.arange(0.0, 2.01, 0.05))  # log-odds; 0 = never a second quote
CITATION_MARK = 4  # " [1]" after each quote


def quoted(d: QuestionData, raw: np.ndarray, platt_a: float, within: float) -> list[int]:
    """The candidates (row numbers) the composer would quote: the best, and the runner-up when
    `service.compose.runner_up` takes it (scores as calibrated log-odds: a·raw; the question's
    own calibration terms are the same for every candidate and cancel)."""
    if d.spans is None:
        raise ValueError("question data without candidate spans: rebuild the cross-fitted data")
    type_match = feature_names().index("type_match")
    order = [int(j) for j in np.argsort(-raw, kind="stable")]
    cands = [
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
        for j in order
    ]
    second = runner_up(cands[0], cands, within)
    if second is None:
        return [order[0]]
    return [order[0], next(order[k] for k, c in enumerate(cands) if c is second)]


def choose_second_quote(
    data: list[QuestionData], raws: list[np.ndarray], probs: list[float], cut: float, platt_a: float
) -> tuple[float, str]:
    """→ (the log-odds gap, a line saying what it does out of fold). `raws`: every candidate's
    out-of-fold raw score; `probs`: each question's calibrated top probability (0 = refused before
    the cut); answers are given where probs ≥ cut."""
    answered = [i for i, p in enumerate(probs) if p >= cut and len(raws[i])]
    total = sum(d.weight for d in data if d.item.answerable) or 1.0
    best: tuple[float, float, float] | None = None  # (right share, gap, median chars)
    base = 0.0
    for gap in GAPS:
        right, lengths = 0.0, dict[str, list[int]]()
        for i in answered:
            d = data[i]
            rows = quoted(d, raws[i], platt_a, gap)
            spans = d.spans or []  # (quoted() refuses data without them)
            lengths.setdefault(d.item.style, []).append(sum(spans[j][3] + CITATION_MARK for j in rows) + len(rows) - 1)
            if d.item.answerable and any(bool(d.y[j]) for j in rows):
                right += d.weight
        median = max((float(np.median(v)) for v in lengths.values()), default=0.0)  # the longer style's
        share = right / total
        if gap == 0.0:
            base = share
        if median <= MEDIAN_ANSWER_BUDGET and (best is None or share > best[0]):
            best = (share, gap, median)
    if best is None:  # even one quote each is over the budget: never add a second
        return 0.0, "second quote: never (single quotes already exceed the median budget)"
    share, gap, median = best
    return gap, (
        f"second quote when the runner-up is within {gap} log-odds: out of fold, right answers "
        f"{100 * base:.1f}% → {100 * share:.1f}% (styles weighted), median answer ≤ {median:.0f} characters "
        "in each style"
    )
