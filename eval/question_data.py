"""One train question as the scorer's fitting sees it: its candidates' features, which are right,
their spans and rendered lengths, and what quoting each with its next sentence would give — made
by the engine the question is answered with (a cross-fitted one in `minutes-qa train`).
Used by eval/train.py, eval/quote.py and bench/train_cv.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from eval.gold import GoldItem, normalise, overlaps, passage_spans
from service.continuation import continued
from service.scoring import feature_names


@dataclass
class QuestionData:
    item: GoldItem
    x: np.ndarray  # candidates × features
    y: np.ndarray  # 1 = this candidate answers correctly
    weight: float = 1.0  # how much this question counts (styles balanced, see style_weights)
    # Each candidate's (document, start, end, characters as rendered): what choosing how many to
    # quote weighs (eval/quote.py).
    spans: list[tuple[str, int, int, int]] | None = None
    # Quoting each candidate with its next sentence (service/continuation.py): the features (NaN
    # rows: no next sentence), whether the longer quote is right, and its length as rendered.
    next_x: np.ndarray | None = None
    next_y: np.ndarray | None = None
    next_chars: list[int] | None = None


def style_weights(data: list[QuestionData]) -> None:
    """Members' everyday phrasing and officers' keyword phrasing count equally in fitting and in
    choosing the cut, whatever their numbers in train: the service must serve both (the gold set
    is at least half Members' phrasing by design; train happens to hold more keyword questions)."""
    counts: dict[str, int] = {}
    for d in data:
        counts[d.item.style] = counts.get(d.item.style, 0) + 1
    for d in data:
        d.weight = len(data) / (len(counts) * counts[d.item.style])


def candidate_matrix(engine, item: GoldItem, texts: dict[str, str]) -> QuestionData:
    query = engine.analyzer.run(item.question, item.history)
    qvec = engine.embed_query(query.text)
    cands = engine.candidates(query, engine.retrieve(query, qvec, no_filters()))
    x = engine.scorer.features(query, qvec, cands) if cands else np.zeros((0, len(feature_names())))
    y = np.zeros(len(cands))
    next_y = np.zeros(len(cands))
    rendered_all = [engine.composer.render(c) for c in cands]
    longer = [continued(engine.index, c) for c in cands]  # each quoted with its next sentence
    longer_text = [engine.composer.render(c) if c else "" for c in longer]
    if item.answerable:
        spans = {d: passage_spans(t, item.passages) for d, t in texts.items()}

        def right(start: int, end: int, doc: str, rendered: str) -> bool:
            # Right when it quotes a gold passage (or an accepted alternative) and says the accepted
            # answer: a pattern alone would also credit any sentence that merely names the answer.
            return overlaps(start, end, spans.get(doc, [])) and any(
                re.search(p, normalise(rendered)) for p in item.answer_patterns
            )

        for i, c in enumerate(cands):
            y[i] = float(right(c.start, c.end, c.doc_id, rendered_all[i]))
            more = longer[i]
            next_y[i] = float(more is not None and right(more.start, more.end, more.doc_id, longer_text[i]))
    return QuestionData(
        item,
        x,
        y,
        spans=[(c.doc_id, c.start, c.end, len(r)) for c, r in zip(cands, rendered_all, strict=True)],
        next_x=engine.scorer.continuation_rows(query, qvec, cands),
        next_y=next_y,
        next_chars=[len(t) for t in longer_text],
    )


def no_filters():
    from service.retrieval import Filters

    return Filters()
