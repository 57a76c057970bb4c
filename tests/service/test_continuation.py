"""Quoting the best sentence with the next one (service/continuation.py): the genre cues, the
features, the fitted decision in the composer, and how `minutes-qa train` fits and chooses it
(eval/quote.py)."""

import dataclasses

import numpy as np
import pytest

from service.continuation import FEATURES, ContinuationModel, cues


@pytest.mark.parametrize(
    ("cue", "text", "matches"),
    [
        ("question_report", "A question was asked about what evidence there was that tupe-ing would help.", True),
        ("question_report", "Concern was expressed that the other party might lack capacity.", True),
        ("question_report", "Members queried whether the timetable was realistic.", True),
        ("question_report", "Clarification was sought on the pension arrangements.", True),
        ("question_report", "The Panel asked whether agency staff numbers had fallen.", True),
        ("question_report", "The report set out the options considered by Cabinet.", False),
        ("question_report", "Members asked to be kept informed.", True),
        ("response_opener", "It was confirmed that the evidence base was light.", True),
        ("response_opener", "Members were informed that accurate data was not available.", True),
        ("response_opener", "In response, the Director explained the timetable.", True),
        ("response_opener", "Firstly there was the Service Improvement Plan.", True),
        ("response_opener", "The Assistant Director confirmed that staff would transfer.", True),
        ("response_opener", "Ofsted's findings were later confirmed by a review.", False),
        ("response_opener", "The Council agreed the recommendations.", False),
        ("announcement", "The Cabinet Member reminded the Panel that there were 2 strands to the work.", True),
        ("announcement", "The review identified three key factors of success.", True),
        ("announcement", "The following points were made.", True),
        ("announcement", "The Panel noted the report.", False),
    ],
)
def test_genre_cues(cue, text, matches):
    assert bool(cues()[cue].search(text)) is matches


def test_a_model_fitted_on_other_features_is_refused():
    n = len(FEATURES)
    with pytest.raises(ValueError, match="refit"):
        ContinuationModel(["x"] * n, [0.0] * n, [1.0] * n, [0.0] * n, 0.0, 0.5)
    model = ContinuationModel(list(FEATURES), [0.0] * n, [1.0] * n, [1.0] + [0.0] * (n - 1), 0.0, 0.5)
    assert model.probability(np.eye(n)[0]) == pytest.approx(1 / (1 + np.exp(-1.0)))


@pytest.fixture
def engine(built_index, fake_embedder):
    from service.engine import Engine
    from service.index import load_index

    return Engine(load_index(built_index, fake_embedder))


def _best_with_a_next_sentence(engine, question):
    from service.continuation import next_sentence
    from service.retrieval import Filters

    query = engine.analyzer.run(question)
    qvec = engine.embed_query(query.text)
    scored = engine.scorer.run(query, qvec, engine.candidates(query, engine.retrieve(query, qvec, Filters())))
    i = next(i for i, c in enumerate(scored) if next_sentence(engine.index, c))
    scored.insert(0, scored.pop(i))  # made the best (scores aside): the composer reads features, not ranks
    return query, qvec, scored


def test_the_features_describe_the_best_sentence_and_the_next(engine):
    from service.continuation import next_sentence

    query, qvec, scored = _best_with_a_next_sentence(engine, "What was said about the company's set-up costs?")
    best = scored[0]
    row = engine.scorer.continuation_rows(query, qvec, [best])[0]
    f = dict(zip(FEATURES, row, strict=True))
    nrow, start, end = next_sentence(engine.index, best)
    text = engine.index.documents[best.doc_id].text
    assert f["next_length"] == pytest.approx(np.log1p(end - start) / 8)
    assert f["best_length"] == pytest.approx(np.log1p(best.end - best.start) / 8)
    vectors = engine.index.sentence_vectors
    assert f["next_dense_gain"] == pytest.approx(float(vectors[nrow] @ qvec - vectors[best.sentence] @ qvec), abs=1e-6)
    assert text[start:end].strip()
    cell = dataclasses.replace(best, kind="cell", sentence=None)  # a table cell has no next sentence
    assert np.isnan(engine.scorer.continuation_rows(query, qvec, [cell])[0]).all()


def test_the_composer_quotes_the_next_sentence_with_the_best_when_the_model_says_so(engine):
    from service.continuation import next_sentence

    query, qvec, scored = _best_with_a_next_sentence(engine, "What was said about the company's set-up costs?")
    best = scored[0]
    _, _, end = next_sentence(engine.index, best)
    engine.composer.abstain_below = 0.0
    engine.composer.second_quote_within = 10.0  # a runner-up would be quoted, but not beside a continuation
    best.features["next_sentence_answers"] = 0.8
    engine.composer.continue_above = 0.9
    plain = engine.composer.run(query, scored)
    assert (plain.cited[0].start, plain.cited[0].end) == (best.start, best.end)
    engine.composer.continue_above = 0.7
    longer = engine.composer.run(query, scored)
    first = longer.cited[0]
    assert (first.start, first.end) == (best.start, end) and len(longer.cited) == 1
    text = engine.index.documents[best.doc_id].text
    assert longer.answer == " ".join(text[best.start : end].split()) + " [1]"
    assert "next sentence" in longer.reason and longer.confidence == plain.confidence


def _question(i: int, top_right: bool, next_right: bool, shape: float):
    from eval.gold import GoldItem
    from eval.train import QuestionData
    from service.scoring import feature_names

    item = GoldItem(id=f"q{i}", kind="x", question="q", gold_document="d", passages=["p"], answer_patterns=["p"])
    next_x = np.zeros((2, len(FEATURES)))
    next_x[0, FEATURES.index("question_report")] = shape
    next_x[0, FEATURES.index("next_dense_gain")] = shape + 0.01 * (i % 3)
    return QuestionData(
        item,
        np.zeros((2, len(feature_names()))),
        np.array([float(top_right), 0.0]),
        spans=[("d", 100 * i, 100 * i + 50, 60), ("d", 100 * i + 60, 100 * i + 90, 40)],
        next_x=next_x,
        next_y=np.array([float(next_right or top_right), 0.0]),
        next_chars=[110, 0],
    )


def test_training_learns_when_the_next_sentence_answers_and_quotes_it_within_the_budget():
    from eval.quote import choose_quotes

    # Half the questions' best sentence is a recorded question whose answer follows; the rest are
    # right as they are. The runner-up never helps.
    data = [_question(i, top_right=i % 2 == 1, next_right=i % 2 == 0, shape=float(i % 2 == 0)) for i in range(40)]
    raws = [np.array([1.0, -5.0])] * 40
    gap, continuation, summary = choose_quotes(data, raws, [0] * 40, [i % 5 for i in range(40)], [0.5] * 40, 0.1, 1.0)
    assert continuation is not None and "next sentence" in summary and "50.0% → 100.0%" in summary
    model = ContinuationModel(**continuation)
    assert model.probability(data[0].next_x[0]) >= model.above > model.probability(data[1].next_x[0])
    for d in data:  # no gain from the next sentence: never quoted
        d.next_y = d.y.copy()
    assert choose_quotes(data, raws, [0] * 40, [i % 5 for i in range(40)], [0.5] * 40, 0.1, 1.0)[1] is None
