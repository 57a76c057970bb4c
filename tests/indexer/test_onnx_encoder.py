"""The ONNX encoder gives the PyTorch encoder's vectors: for every text the index embeds and every
gold question (cosine ≥ 0.9999), and it refuses to load when it would not."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from eval.gold import load_gold
from indexer.embed import load_embedder
from indexer.onnx_encoder import MIN_COSINE, EncoderMismatch, OnnxEmbedder

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def both():
    return load_embedder(backend="torch"), load_embedder(backend="onnx")


def test_same_vectors_for_every_corpus_text_and_gold_question(both, real_engine):
    torch_encoder, onnx_encoder = both
    index = real_engine.index
    texts = [c.search_text for c in index.chunks]
    texts += [index.documents[index.chunks[int(ci)].doc_id].text[s:e] for ci, s, e in index.sentence_spans]
    texts += [it.question for it in load_gold()]
    cosines = np.sum(torch_encoder.encode(texts) * onnx_encoder.encode(texts), axis=1)
    assert len(texts) > 2000 and float(cosines.min()) >= MIN_COSINE, float(cosines.min())
    assert onnx_encoder.model_name == torch_encoder.model_name and onnx_encoder.max_tokens == torch_encoder.max_tokens
    for text in ("Who chaired the panel?", texts[0]):
        assert onnx_encoder.count_tokens(text) == torch_encoder.count_tokens(text)


def test_an_export_whose_vectors_differ_is_refused(both, tmp_path):
    _, onnx_encoder = both
    folder = tmp_path / "export"
    shutil.copytree(onnx_encoder.folder, folder)
    probe = np.load(folder / "probe.npy")
    np.save(folder / "probe.npy", np.roll(probe, 1, axis=0))  # another text's vector for each probe
    with pytest.raises(EncoderMismatch, match="MINUTES_QA_ENCODER_BACKEND=torch"):
        OnnxEmbedder(onnx_encoder.model_name, folder)


def test_an_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown encoder backend"):
        load_embedder(backend="tensorflow")
