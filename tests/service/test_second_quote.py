"""The runner-up is quoted beside the best candidate only when the scorer cannot tell them apart
(service.compose.runner_up), and `minutes-qa train` chooses that gap on train within the answer
length budget (eval/quote.py)."""

import dataclasses

import numpy as np
import pytest

from service.candidates import Candidate
from service.compose import log_odds, runner_up


def _cand(doc: str, start: int, end: int, score: float, type_match: float = 0.0, kind: str = "sentence") -> Candidate:
    return Candidate(kind, doc, 0, start, end, start, end, 0, 0.0, features={"type_match": type_match}, score=score)


def _p(logit: float) -> float:
    return float(1 / (1 + np.exp(-logit)))


@pytest.mark.parametrize(
    ("gap", "within", "taken"),
    [(0.2, 0.0, False), (0.2, 0.3, True), (0.4, 0.3, False), (0.3, 0.3, True)],
)
def test_the_runner_up_is_quoted_only_within_the_gap(gap, within, taken):
    best, second = _cand("a", 0, 50, _p(1.0)), _cand("a", 100, 150, _p(1.0 - gap + 1e-9))
    assert (runner_up(best, [best, second], within) is second) is taken


def test_words_the_best_already_quotes_are_skipped_and_a_value_question_needs_a_value():
    best = _cand("a", 0, 50, _p(1.0), type_match=1.0)
    inside = _cand("a", 10, 40, _p(0.95), type_match=1.0, kind="list")  # the same words again
    no_value = _cand("b", 0, 50, _p(0.9))
    with_value = _cand("b", 0, 50, _p(0.9), type_match=1.0)
    assert runner_up(best, [best, inside, with_value], 0.5) is with_value
    assert runner_up(best, [best, inside, no_value], 0.5) is None  # asked for a figure: no figure, no quote
    assert runner_up(best, [best], 0.5) is None
    assert log_odds(1.0) > 20 and log_odds(0.0) < -20  # clipped, never infinite


@pytest.fixture
def engine(built_index, fake_embedder):
    from service.engine import Engine
    from service.index import load_index

    return Engine(load_index(built_index, fake_embedder))


def test_the_composer_quotes_the_close_runner_up_second_and_keeps_the_short_answer_in_the_first(engine):
    from service.retrieval import Filters

    engine.composer.abstain_below = 0.0
    query = engine.analyzer.run("What did the panel say about staff morale?")
    qvec = engine.embed_query(query.text)
    scored = engine.scorer.run(query, qvec, engine.candidates(query, engine.retrieve(query, qvec, Filters())))
    best = scored[0]
    second = next(c for c in scored[1:] if c.doc_id != best.doc_id or c.end <= best.start or c.start >= best.end)
    best.features["type_match"] = second.features["type_match"] = 0.0
    engine.composer.second_quote_within = 0.0
    alone = engine.composer.run(query, scored)
    engine.composer.second_quote_within = log_odds(best.score) - log_odds(second.score) + 1e-6
    both = engine.composer.run(query, scored)
    assert [c.key for c in alone.cited[:1]] == [best.key] and second.key not in [c.key for c in alone.cited]
    assert [c.key for c in both.cited[:2]] == [best.key, second.key]
    assert engine.composer.render(second) + " [2]" in both.answer
    assert "too close to tell apart" in both.reason
    own, theirs = engine.composer.answer_span(best, query), engine.composer.answer_span(second, query)
    expected = (1, *own) if own else (2, *theirs) if theirs else None  # the best's, else the runner-up's
    assert both.answer_span == expected
    assert both.confidence == alone.confidence  # a second quote does not change how sure the answer is


def test_the_short_answer_is_marked_in_the_runner_up_when_the_best_quote_holds_none():
    from types import SimpleNamespace

    from service.compose import Composer
    from service.query import QueryAnalyzer

    text = "The Panel discussed the timetable at length. The company would go live in April 2019."
    cut = text.index(" The company") + 1
    meta = SimpleNamespace(sort_date=lambda: "2018-03-22")
    index = SimpleNamespace(documents={"d": SimpleNamespace(text=text, meta=meta)}, sentence_spans=np.zeros((0, 3)))
    composer = Composer(index, 0.0, second_quote_within=1.0)  # type: ignore[arg-type]
    query = QueryAnalyzer([]).run("What happens with the timetable for the company?")
    query = dataclasses.replace(query, answer_type="date", asks_value=False)
    best = _cand("d", 0, cut - 1, _p(1.0))
    second = _cand("d", cut, len(text), _p(0.9))
    composer._extra = lambda *a: []  # type: ignore[method-assign]
    composed = composer.run(query, [best, second])
    assert [c.key for c in composed.cited] == [best.key, second.key]
    n, s, e = composed.answer_span
    assert n == 2 and text[s:e] == "April 2019"
    composer.second_quote_within = 0.0  # no runner-up quoted: nothing to mark
    assert composer.run(query, [best, second]).answer_span is None


def _data(n: int, second_right: bool, chars: int):
    """n answerable questions, three candidates each: the top is wrong; the runner-up (0.2 below
    in raw score) is right when `second_right`; every candidate renders as `chars` characters."""
    from eval.gold import GoldItem
    from eval.question_data import QuestionData
    from service.scoring import feature_names

    width = len(feature_names())
    out, raws = [], []
    for i in range(n):
        item = GoldItem(id=f"q{i}", kind="x", question="q", gold_document="d", passages=["p"], answer_patterns=["p"])
        y = np.array([0.0, 1.0 if second_right else 0.0, 0.0])
        spans = [("d", 0, 10, chars), ("d", 20, 30, chars), ("d", 40, 50, chars)]
        out.append(QuestionData(item, np.zeros((3, width)), y, spans=spans))
        raws.append(np.array([1.0, 0.8, -3.0]))
    return out, raws


def test_training_chooses_a_gap_that_reaches_the_right_runner_up_within_the_length_budget():
    from eval.quote import MEDIAN_ANSWER_BUDGET, choose_quotes

    def choose(data, raws, probs):
        c = choose_quotes(data, raws, [0] * len(data), [i % 5 for i in range(len(data))], probs, 0.1, 1.0)
        return c.gap, c.continuation, c.summary

    data, raws = _data(10, True, 60)
    gap, continuation, summary = choose(data, raws, [0.5] * 10)
    assert 0.2 <= gap < 4.0 and continuation is None and "0.0% → 100.0%" in summary
    long_quotes = MEDIAN_ANSWER_BUDGET // 2 + 10  # two of them are over the budget
    data, raws = _data(10, True, long_quotes)
    assert choose(data, raws, [0.5] * 10)[0] == 0.0
    data, raws = _data(10, False, 60)  # nothing to gain: never a second quote
    assert choose(data, raws, [0.5] * 10)[0] == 0.0
    data, raws = _data(10, True, 60)  # refused questions (below the cut) are never quoted
    assert choose(data, raws, [0.0] * 10)[0] == 0.0
