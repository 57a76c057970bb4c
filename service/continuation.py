"""Does the answer go on in the next sentence? A fitted decision to quote the best sentence
together with the one after it.

Council minutes record a question and then its answer ("A question was asked about what evidence
there was … It was confirmed that the evidence base was light …"), announce and then enumerate
("there were 2 strands to the improvement work. Firstly …"); the sentence that best matches a
Member's words is often the first half. `continuation_row` describes the best sentence and its
successor in the same passage (shape cues from `service/data/continuation.yaml`, how much closer
the next sentence is to the question in meaning, which of the question's words only it holds, and
whether only it holds the kind of value asked for); `ContinuationModel` is a logistic regression
fitted on the train split by `minutes-qa train` (eval/quote.py), stored in scorer.json with the
probability above which the composer quotes both sentences as one.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from indexer.lexical import tokenize
from service.candidates import Candidate
from service.index import LoadedIndex
from service.query import AnalyzedQuery

CUES_FILE = Path(__file__).with_name("data") / "continuation.yaml"
FEATURES = (
    "unfinished",  # the best sentence ends without a full stop (or on a colon)
    "question_report",
    "response_opener",
    "announcement",
    "next_dense_gain",
    "next_dense",
    "next_new_words",
    "best_words",
    "next_value_only",
    "asks_reason",
    "asks_yes_no",
    "asks_description",
    "best_length",
    "next_length",
)
_ENDED = re.compile(r"[.!?]['\"’”)]?\s*$")


@functools.cache
def cues() -> dict[str, re.Pattern[str]]:
    data = yaml.safe_load(CUES_FILE.read_text(encoding="utf-8"))
    return {k: re.compile(v, re.I) for k, v in data.items()}


def next_sentence(index: LoadedIndex, c: Candidate) -> tuple[int, int, int] | None:
    """(row, start, end) of the sentence after a sentence candidate, in the same passage."""
    if c.kind != "sentence" or c.sentence is None or c.sentence + 1 not in index.chunk_sentences[c.chunk]:
        return None
    _, start, end = (int(x) for x in index.sentence_spans[c.sentence + 1])
    return c.sentence + 1, start, end


def continued(index: LoadedIndex, c: Candidate) -> Candidate | None:
    """`c` quoted together with its next sentence (one span over both), or None if it has none."""
    after = next_sentence(index, c)
    if after is None:
        return None
    return replace(c, end=after[2], sentences=[*c.sentences, after[0]])


def continuation_row(
    index: LoadedIndex,
    query: AnalyzedQuery,
    qvec: np.ndarray,
    weights: dict[str, float],
    value: re.Pattern[str] | None,
    c: Candidate,
) -> np.ndarray | None:
    """The features of FEATURES for quoting `c` with its next sentence (None: no next sentence).
    `weights`: the question's words and their IDF weights; `value`: the pattern of the value the
    question asks for, if any."""
    after = next_sentence(index, c)
    if after is None or c.sentence is None:
        return None
    row, start, end = after
    text = index.documents[c.doc_id].text
    best, following = text[c.start : c.end], text[start:end]
    rx = cues()
    sims = index.sentence_vectors[[c.sentence, row]] @ qvec
    total = sum(weights.values()) or 1.0
    best_terms, next_terms = set(tokenize(best)), set(tokenize(following))
    stripped = best.strip()
    f = {
        "unfinished": float(not _ENDED.search(stripped) or stripped.endswith(":")),
        "question_report": float(bool(rx["question_report"].search(best))),
        "response_opener": float(bool(rx["response_opener"].search(following))),
        "announcement": float(bool(rx["announcement"].search(best))),
        "next_dense_gain": float(sims[1] - sims[0]),
        "next_dense": float(sims[1]),
        "next_new_words": sum(w for t, w in weights.items() if t in next_terms and t not in best_terms) / total,
        "best_words": sum(w for t, w in weights.items() if t in best_terms) / total,
        "next_value_only": float(value is not None and bool(value.search(following)) and not value.search(best)),
        "asks_reason": float(query.answer_type == "reason"),
        "asks_yes_no": float(query.answer_type == "yes_no"),
        "asks_description": float(query.answer_type == "description"),
        "best_length": math.log1p(len(best)) / 8.0,
        "next_length": math.log1p(len(following)) / 8.0,
    }
    return np.array([f[n] for n in FEATURES], dtype=np.float64)


@dataclass
class ContinuationModel:
    """Logistic regression over standardised FEATURES; `above`: the probability from which the
    composer quotes the next sentence too."""

    names: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    above: float

    def __post_init__(self) -> None:
        if list(self.names) != list(FEATURES):
            raise ValueError("the continuation model was fitted on other features; run `make train` to refit it")

    def probability(self, row: np.ndarray) -> float:
        z = (row - np.asarray(self.mean)) / np.asarray(self.scale)
        return float(1.0 / (1.0 + math.exp(-(float(z @ np.asarray(self.coef)) + self.intercept))))
