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
