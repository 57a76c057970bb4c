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
        ("question_report", "Councillor Smith queried the timing of the consultation.", True),
        ("question_report", "Cllr J Jones asked what the savings would be.", True),
        ("question_report", "The Vice-Chairman asked about staff morale.", True),
        ("question_report", "A Member enquired how many agency social workers remained.", True),
        ("question_report", "The report set out the options considered by Cabinet.", False),
        ("question_report", "Members asked to be kept informed.", False),
        ("question_report", "The Chairman asked Members to note the report.", False),
        ("question_report", "In response to a question, the Director said the plan was on track.", False),
        ("response_opener", "It was confirmed that the evidence base was light.", True),
        ("response_opener", "Members were informed that accurate data was not available.", True),
        ("response_opener", "In response, the Director explained the timetable.", True),
        ("response_opener", "Firstly there was the Service Improvement Plan.", True),
        ("response_opener", "The Assistant Director confirmed that staff would transfer.", True),
        ("response_opener", "The Head of Finance explained that the figure included VAT.", True),
        ("response_opener", "The Portfolio Holder replied that no decision had been made.", True),
        ("response_opener", "The Monitoring Officer advised the Committee that it could proceed.", True),
        ("response_opener", "This was not the case.", True),
        ("response_opener", "Ofsted's findings were later confirmed by a review.", False),
        ("response_opener", "The Council agreed the recommendations.", False),
        ("announcement", "The Cabinet Member reminded the Panel that there were 2 strands to the work.", True),
        ("announcement", "The review identified three key factors of success.", True),
        ("announcement", "The following points were made.", True),
        ("announcement", "The Panel noted the report.", False),
        ("announcement", "Cabinet considered two options in 2017.", False),
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


def test_the_last_sentence_of_a_passage_is_never_continued_into_the_next_passage(engine):
    from service.continuation import continued, next_sentence

    query, qvec, scored = _best_with_a_next_sentence(engine, "What was said about the company's set-up costs?")
    best = scored[0]
    rows = list(engine.index.chunk_sentences[best.chunk])
    last_row = rows[-1]
    _, s, e = (int(x) for x in engine.index.sentence_spans[last_row])
    last = dataclasses.replace(best, start=s, end=e, sentence=last_row, sentences=[last_row])
    assert next_sentence(engine.index, last) is None and continued(engine.index, last) is None
    assert np.isnan(engine.scorer.continuation_rows(query, qvec, [last])[0]).all()
    longer = continued(engine.index, best)
    assert longer is not None and longer.start == best.start and longer.end > best.end
    assert longer.sentences == [best.sentence, best.sentence + 1]


def test_the_composer_quotes_the_next_sentence_with_the_best_when_the_model_says_so(engine):
    from service.continuation import next_sentence

    query, qvec, scored = _best_with_a_next_sentence(engine, "What was said about the company's set-up costs?")
    best = scored[0]
    _, _, end = next_sentence(engine.index, best)
    engine.composer.abstain_below = 0.0
    engine.composer.second_quote_within = 10.0  # a runner-up would be quoted, but not beside a continuation
    best.continues = 0.8
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
    # with a single citation allowed the continuation is still one quote; a runner-up never is
    assert len(engine.composer.run(query, scored, max_citations=1).cited) == 1
    best.continues = None
    assert len(engine.composer.run(query, scored, max_citations=1).cited) == 1
    assert len(engine.composer.run(query, scored, max_citations=2).cited) == 2


def test_a_two_sentence_quote_takes_its_short_answer_from_the_added_sentence_first():
    from types import SimpleNamespace

    from service.candidates import Candidate
    from service.compose import Composer
    from service.query import QueryAnalyzer

    text = "A question was asked about the June 2018 review. It was confirmed it would start in May 2019."
    split = text.index(" It") + 1
    index = SimpleNamespace(
        documents={"d": SimpleNamespace(text=text)}, sentence_spans=np.array([[0, 0, split - 1], [0, split, len(text)]])
    )
    composer = Composer(index, 0.0)  # type: ignore[arg-type]
    query = QueryAnalyzer([]).run("When will the review start?")
    one = Candidate("sentence", "d", 0, 0, split - 1, 0, split - 1, 0, 0.0, sentence=0, sentences=[0])
    both = Candidate("sentence", "d", 0, 0, len(text), 0, len(text), 0, 0.0, sentence=0, sentences=[0, 1])
    s, e = composer.answer_span(one, query)
    assert text[s:e] == "June 2018"
    s, e = composer.answer_span(both, query)
    assert text[s:e] == "May 2019"  # the reply's date, not the question's


def _question(i: int, top_right: bool, next_right: bool, shape: float):
    from eval.gold import GoldItem
    from eval.question_data import QuestionData
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
    choice = choose_quotes(data, raws, [0] * 40, [i % 5 for i in range(40)], [0.5] * 40, 0.1, 1.0)
    continuation, summary = choice.continuation, choice.summary
    assert continuation is not None and "next sentence" in summary and "50.0% → 100.0%" in summary
    model = ContinuationModel(**continuation)
    assert model.probability(data[0].next_x[0]) >= model.above > model.probability(data[1].next_x[0])
    for d in data:  # no gain from the next sentence: never quoted
        d.next_y = d.y.copy()
    assert choose_quotes(data, raws, [0] * 40, [i % 5 for i in range(40)], [0.5] * 40, 0.1, 1.0).continuation is None


@pytest.mark.parametrize(("gap", "above"), [(0.0, 2.0), (0.3, 2.0), (50.0, 2.0), (50.0, 0.0), (0.0, 0.0)])
def test_training_simulates_what_the_composer_quotes(engine, monkeypatch, gap, above):
    """eval/quote.py chooses the thresholds by simulating the composer on train's candidates: for
    the same scores it must quote the same spans at the same length (the same point at other
    meetings, which the simulation leaves out, switched off here)."""
    from eval.gold import GoldItem
    from eval.question_data import candidate_matrix
    from eval.quote import quoted
    from service.retrieval import Filters

    texts = {d: doc.text for d, doc in engine.index.documents.items()}
    monkeypatch.setattr(engine.composer, "_extra", lambda *a: [])
    engine.composer.abstain_below, engine.composer.second_quote_within = 0.0, gap
    engine.composer.continue_above = above
    compared = 0
    for question in ("What was said about the company's set-up costs?", "Who chaired the panel?", "Why a company?"):
        item = GoldItem(id="q", kind="x", question=question, gold_document="d")
        d = candidate_matrix(engine, item, texts)
        query = engine.analyzer.run(question)
        qvec = engine.embed_query(query.text)
        scored = engine.scorer.run(query, qvec, engine.candidates(query, engine.retrieve(query, qvec, Filters())))
        composed = engine.composer.run(query, scored)
        raw = engine.scorer.model.raw(d.x)
        top = int(np.argmax(raw))
        next_p = scored[0].continues or 0.0
        q = quoted(d, raw, engine.scorer.model.platt_a, gap, next_p, above)
        want = [(c.doc_id, c.start, c.end) for c in composed.cited]
        got = [d.spans[j][:3] for j in q.rows]
        if q.extended:
            got = [(d.spans[top][0], d.spans[top][1], composed.cited[0].end)]
            assert composed.cited[0].end > d.spans[top][2]
        assert got == want and q.chars == len(composed.answer)
        compared += 1
    assert compared == 3
