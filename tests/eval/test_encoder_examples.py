"""The encoder's training examples: sentence pairs, and hard negatives that are really negatives."""

from __future__ import annotations

import re

import pytest

from eval.gold import load_gold, normalise
from eval.split import load_split, side
from eval.train import encoder_pairs
from service.settings import Settings

pytestmark = pytest.mark.real_model  # the model's tokenizer splits the corpus as the indexer does


@pytest.fixture(scope="module")
def items():
    return [it for it in side(load_gold(), load_split(), "train") if it.answerable][::60]


def test_each_passage_example_carries_a_negative_and_sentences_are_examples_too(items):
    plain = encoder_pairs(items, Settings().corpus_dir)
    examples = encoder_pairs(items, Settings().corpus_dir, sentence_pairs=True, hard_negatives=1)
    assert plain and all(len(p) == 2 for p in plain)
    assert sum(1 for e in examples if len(e) == 3) == len(plain)
    # The answering sentences are examples of their own, for questions that have passage examples.
    sentences = [e for e in examples if len(e) == 2]
    with_passages = {e[0] for e in examples if len(e) == 3}
    assert sentences and all(q in with_passages for q, _ in sentences)


def test_a_negative_never_holds_the_gold_passage_or_an_accepted_answer(items):
    for it in items:
        for _q, _answer, *negatives in encoder_pairs([it], Settings().corpus_dir, hard_negatives=1):
            assert len(negatives) == 1
            text = normalise(negatives[0])
            assert not any(normalise(p) in text for p in it.passages), it.id
            assert not any(re.search(p, text) for p in it.answer_patterns), it.id


def test_confusable_sentences_are_negatives_that_neither_answer_nor_hold_the_gold_passage(items):
    examples = encoder_pairs(items[:3], Settings().corpus_dir, sentence_negatives=2)
    with_negatives = [e for e in examples if len(e) == 4]  # (question, answering sentence, 2 negatives)
    assert with_negatives and len(examples) > len(with_negatives)  # passage pairs stay plain
    by_question = {it.question: it for it in items[:3]}
    for question, answer, *negatives in with_negatives:
        it = next(i for q, i in by_question.items() if q in question or question in q)
        assert answer not in negatives
        for text in map(normalise, negatives):
            assert not any(normalise(p) in text for p in it.passages), it.id
            assert not any(re.search(p, text) for p in it.answer_patterns), it.id


def test_cross_fitted_data_is_rebuilt_when_the_answer_paths_code_or_word_lists_change(tmp_path):
    """The cached cross-fitted candidate data (index/crossfit-*.pkl) is keyed by what made it: a
    changed word list (service/data/question.yaml) or feature definition must not reuse it."""
    import shutil
    from pathlib import Path

    from eval.train import ANSWER_PATH, _answer_path_digest

    service = Path(__file__).resolve().parents[2] / "service"
    copy = tmp_path / "service"
    (copy / "data").mkdir(parents=True)
    for m in ANSWER_PATH:
        shutil.copy(service / f"{m}.py", copy / f"{m}.py")
    for y in (service / "data").glob("*.yaml"):
        shutil.copy(y, copy / "data" / y.name)
    before = _answer_path_digest(copy)
    assert before == _answer_path_digest(service)
    (copy / "data" / "question.yaml").write_text((copy / "data" / "question.yaml").read_text() + "\n# a new cue\n")
    after_cue = _answer_path_digest(copy)
    (copy / "scoring.py").write_text((copy / "scoring.py").read_text() + "\n# a new feature\n")
    assert len({before, after_cue, _answer_path_digest(copy)}) == 3
