"""The fine-tuned encoder's plumbing: a content-addressed name, a refusal to train on pairs the
recipe does not name, and a clear error when the encoder has not been built on this machine.
(The training itself runs in `make index` from the committed recipe; the real-model tests then
use the index it built.)"""

import json

import pytest

import indexer.finetune as ft
from indexer.finetune import NAME_PREFIX, Recipe, finetune, pairs_hash


def _recipe(**kw):
    base = dict(
        base="sentence-transformers/all-MiniLM-L6-v2",
        epochs=3,
        learning_rate=3e-5,
        batch_size=16,
        scale=20.0,
        seed=0,
        pairs_sha256=pairs_hash([("q", "p")]),
        pairs=1,
    )
    return Recipe(**{**base, **kw})


def test_the_name_is_a_hash_of_the_whole_recipe():
    a, b = _recipe(), _recipe(seed=1)
    assert a.name.startswith(NAME_PREFIX) and a.name == _recipe().name and a.name != b.name


def test_training_refuses_pairs_the_recipe_does_not_name(tmp_path):
    with pytest.raises(ValueError, match="not the ones the recipe names"):
        finetune([("another question", "another passage")], _recipe(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_fine_tune_is_a_clear_error(tmp_path, monkeypatch):
    from indexer.embed import EncoderMissing, load_embedder

    monkeypatch.setattr(ft, "MODELS_DIR", tmp_path)
    with pytest.raises(EncoderMissing, match="train-encoder"):
        load_embedder(_recipe().name)
    with pytest.raises(ValueError, match="unknown embedding model"):
        load_embedder("someone/else")


def test_options_left_at_their_default_do_not_rename_an_encoder():
    """Recipes written before an option existed keep their name (and their weights on disk)."""
    from dataclasses import asdict

    old = {
        k: v
        for k, v in asdict(_recipe()).items()
        if k not in ("sentence_pairs", "hard_negatives", "mask_same_question", "sentence_negatives", "genre_pairs")
    }
    import hashlib
    import json

    assert _recipe().name == NAME_PREFIX + hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()[:12]
    assert _recipe(hard_negatives=1).name != _recipe().name
    assert _recipe(sentence_negatives=3).name != _recipe().name
    assert _recipe(genre_pairs=True).name != _recipe().name


def test_examples_with_negatives_hash_like_plain_pairs_when_they_have_none():
    assert pairs_hash([("q", "p")]) == pairs_hash([("q", "p")])
    assert pairs_hash([("q", "p", "n")]) != pairs_hash([("q", "p")])


def test_the_loss_masks_other_answers_to_the_same_question():
    """Two rows of one question (its passage and its sentence): with the mask, neither row's answer
    counts as a wrong answer for the other, so the loss is lower than without it."""
    import torch

    from indexer.finetune import batch_loss

    q = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), dim=-1)
    answers = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [1.0, -0.1], [0.0, 1.0]]), dim=-1)
    questions = ["a", "a", "b"]
    masked = batch_loss(q, answers, None, questions, 20.0, mask_same_question=True)
    unmasked = batch_loss(q, answers, None, questions, 20.0, mask_same_question=False)
    assert masked < unmasked
    # A hard negative close to the question raises the loss: it is a column of the softmax.
    negative = torch.nn.functional.normalize(torch.tensor([[1.0, 0.05]]), dim=-1)
    assert batch_loss(q, answers, negative, questions, 20.0) > masked


def test_a_recipe_pins_the_questions_it_was_trained_on_without_changing_its_name(tmp_path):
    """More gold questions later must not stop the committed recipe from rebuilding its weights."""
    from indexer.finetune import load_recipe, recipe_train_items, save_recipe

    path = tmp_path / "encoder.json"
    save_recipe(_recipe(), path)
    assert recipe_train_items(path) is None  # an older recipe: the current train split is used
    save_recipe(_recipe(), path, train_items=["b-2", "a-1"])
    assert recipe_train_items(path) == {"a-1", "b-2"}
    assert load_recipe(path) == _recipe() and load_recipe(path).name == _recipe().name


def test_the_committed_recipe_lists_the_questions_of_its_pairs():
    from eval.gold import load_gold
    from indexer.finetune import load_recipe, recipe_train_items

    pinned, recipe = recipe_train_items(), load_recipe()
    assert recipe is not None and pinned, "service/data/encoder.json lists its train questions"
    known = {it.id for it in load_gold()}
    assert pinned <= known  # every question it was trained on is still in the gold set


@pytest.mark.parametrize(
    "text, refit, expected",
    [
        ("{}", False, {}),
        ("", True, {}),
        ('{"sentence_pairs": true, "mask_same_question": true, "epochs": 5}', True, None),
        ('{"learning_rate": 0.00002, "scale": 20}', True, None),
    ],
)
def test_a_recipe_variant_is_read_from_json(text, refit, expected):
    from indexer.finetune import recipe_overrides

    got = recipe_overrides(text, refit)
    assert got == (expected if expected is not None else json.loads(text))


@pytest.mark.parametrize(
    "text, refit, message",
    [
        ("{not json", True, "not JSON"),
        ("[1, 2]", True, "JSON object"),
        ('{"epochs": 5}', False, "only with --refit"),
        ('{"sentence_pair": true}', True, "unknown field"),  # a typo must not train the plain recipe
        ('{"base": "other/model"}', True, "unknown field"),
        ('{"epochs": 0}', True, "epochs must be a positive number"),
        ('{"epochs": 2.5}', True, "epochs"),
        ('{"epochs": true}', True, "epochs"),
        ('{"sentence_pairs": 1}', True, "true or false"),
        ('{"learning_rate": -1}', True, "learning_rate"),
        ('{"hard_negatives": -1}', True, "hard_negatives"),
    ],
)
def test_a_bad_recipe_variant_is_refused_with_its_reason(text, refit, message):
    from indexer.finetune import recipe_overrides

    with pytest.raises(ValueError, match=message):
        recipe_overrides(text, refit)


def test_train_encoder_refuses_a_bad_variant_before_training(capsys):
    """The CLI path: exit 2 and one line saying why, nothing trained or written."""
    import argparse

    from eval.train import main_encoder
    from service.settings import Settings

    before = ft.RECIPE_FILE.read_bytes()
    code = main_encoder(argparse.Namespace(refit=True, recipe='{"epoch": 5}', genre_pairs=None), Settings())
    assert code == 2
    assert "unknown field(s) epoch" in capsys.readouterr().err
    assert ft.RECIPE_FILE.read_bytes() == before


def test_train_encoder_refit_writes_the_variant_it_was_given(monkeypatch, tmp_path):
    """--refit --recipe: the recipe written and trained is the variant (training itself stubbed)."""
    import argparse

    import eval.train as train
    from service.settings import Settings

    seen = {}
    monkeypatch.setattr(train, "recipe_pairs", lambda recipe, items, corpus: [("q", "p")])
    monkeypatch.setattr(ft, "save_recipe", lambda recipe, **kw: seen.setdefault("saved", recipe))
    monkeypatch.setattr(ft, "finetune", lambda pairs, recipe, out: seen.setdefault("trained", recipe) and tmp_path)
    monkeypatch.setattr(ft, "MODELS_DIR", tmp_path)
    args = argparse.Namespace(refit=True, recipe='{"sentence_pairs": true, "epochs": 5}', genre_pairs=None)
    assert train.main_encoder(args, Settings()) == 0
    assert seen["saved"] == seen["trained"]
    assert (seen["saved"].sentence_pairs, seen["saved"].epochs, seen["saved"].pairs) == (True, 5, 1)
