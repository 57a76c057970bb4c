"""The fine-tuned encoder's plumbing: a content-addressed name, a refusal to train on pairs the
recipe does not name, and a clear error when the encoder has not been built on this machine.
(The training itself runs in `make index` from the committed recipe; the real-model tests then
use the index it built.)"""
import pytest

from indexer.finetune import NAME_PREFIX, Recipe, finetune, pairs_hash


def _recipe(**kw):
    base = dict(base="sentence-transformers/all-MiniLM-L6-v2", epochs=3, learning_rate=3e-5, batch_size=16,
                scale=20.0, seed=0, pairs_sha256=pairs_hash([("q", "p")]), pairs=1)
    return Recipe(**{**base, **kw})


def test_the_name_is_a_hash_of_the_whole_recipe():
    a, b = _recipe(), _recipe(seed=1)
    assert a.name.startswith(NAME_PREFIX) and a.name == _recipe().name and a.name != b.name


def test_training_refuses_pairs_the_recipe_does_not_name(tmp_path):
    with pytest.raises(ValueError, match="not the ones the recipe names"):
        finetune([("another question", "another passage")], _recipe(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_fine_tune_is_a_clear_error(tmp_path, monkeypatch):
    import indexer.finetune as ft
    from indexer.embed import EncoderMissing, load_embedder

    monkeypatch.setattr(ft, "MODELS_DIR", tmp_path)
    with pytest.raises(EncoderMissing, match="train-encoder"):
        load_embedder(_recipe().name)
    with pytest.raises(ValueError, match="unknown embedding model"):
        load_embedder("someone/else")
