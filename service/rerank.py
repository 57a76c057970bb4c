"""Fused passages → the same passages in a learned order (a passage re-ranker).

`PassageReranker.run(query, qvec, hits)` → `list[Hit]`. Reciprocal rank fusion only counts ranks:
it cannot tell that a passage whose best *sentence* is very close in meaning to the question beats
one that is merely close on average, or that a passage in the paper the question names deserves a
lift. For Members' everyday phrasing the passage holding the answer was in RRF's top 10 for only
59% of train questions. A LightGBM LambdaRank model over a few features of each fused passage
(its fused rank and score, passage and best-sentence similarity, how much of the question's weight
its words cover, its shape, whether it is in a paper the question names), fitted on the TRAIN
split with cross-fitted encoders (`minutes-qa train`, eval/rerank_fit.py), re-orders RRF's top
`pool` passages. Measured out of fold on train (bench/RESULTS.md, 2026-12-07): Members' recall@10
58.8 → 66.8%, keyword 95.7 → 97.4%.

No model file (a fresh feature set, or tests that want fusion alone) means no re-ranking.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.lexical import tokenize
from service.index import LoadedIndex
from service.query import AnalyzedQuery
from service.retrieval import Hit

MODEL_FILE = Path(__file__).with_name("data") / "reranker.json"
POOL = 60  # RRF's top passages the re-ranker orders (its features are computed for each)
FEATURES = (
    "fused_rank",
    "fused_score",
    "dense",  # best dense score any ranking gave it (passage or one of its sentences)
    "bm25",  # best BM25 score any ranking gave it
    "passage_similarity",  # the passage vector against the question's
    "best_sentence_similarity",
    "top2_sentence_similarity",  # mean of its two closest sentences: an answer often spans two
    "weighted_coverage",  # share of the question's IDF weight whose words the passage holds
    "length",
    "in_named_paper",  # the question names a meeting, body or paper, and this passage is in it
    "names_a_paper",
    "table_row",
    "sentences",
)


@dataclass
class RerankerModel:
    """A LightGBM LambdaRank booster over FEATURES, and what it was fitted on."""

    names: list[str]
    booster: str
    pool: int = POOL
    trained_on: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        import lightgbm

        if list(self.names) != list(FEATURES):
            raise ValueError(f"{MODEL_FILE.name} was fitted on other features; run `minutes-qa train` to refit it")
        self._booster = lightgbm.Booster(model_str=self.booster)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> RerankerModel | None:
        """The fitted model, or None when there is none (fusion order is then kept)."""
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def to_dict(self) -> dict:
        """The fields `RerankerModel(**…)` is made from (not the loaded booster)."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def save(self, path: Path = MODEL_FILE) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    def scores(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._booster.predict(x, num_threads=1), dtype=np.float64)


class PassageReranker:
    def __init__(self, index: LoadedIndex, model: RerankerModel | None) -> None:
        self.index = index
        self.model = model
        self._terms = functools.lru_cache(maxsize=65536)(self._chunk_terms)

    @property
    def pool(self) -> int:
        return self.model.pool if self.model else 0

    def _chunk_terms(self, chunk: int) -> frozenset[str]:
        return frozenset(tokenize(self.index.chunks[chunk].search_text))

    def features(
        self, query: AnalyzedQuery, qvec: np.ndarray, hits: list[Hit], weights: dict[str, float]
    ) -> np.ndarray:
        """One row of FEATURES per hit. `weights`: the question's terms and their IDF weights."""
        index = self.index
        named = set(query.named_documents)
        total = sum(weights.values()) or 1.0
        rows = [index.chunk_sentences[h.chunk] for h in hits]
        flat = [s for r in rows for s in r]
        sims = (index.sentence_vectors[flat] @ qvec) if flat else np.zeros(0)
        passage_sims = index.chunk_vectors[[h.chunk for h in hits]] @ qvec if hits else np.zeros(0)
        out = np.zeros((len(hits), len(FEATURES)))
        at = 0
        for i, (h, r) in enumerate(zip(hits, rows, strict=True)):
            s = np.sort(sims[at : at + len(r)]) if r else np.zeros(1)
            at += len(r)
            chunk = index.chunks[h.chunk]
            terms = self._terms(h.chunk)
            out[i] = (
                h.rank,
                h.score,
                h.dense,
                h.lexical,
                float(passage_sims[i]),
                float(s[-1]),
                float(s[-2:].mean()),
                sum(w for t, w in weights.items() if t in terms) / total,
                len(chunk.search_text),
                float(chunk.doc_id in named),
                float(bool(named)),
                float(chunk.kind == "table_row"),
                len(r),
            )
        return out

    def run(self, query: AnalyzedQuery, qvec: np.ndarray, hits: list[Hit], weights: dict[str, float]) -> list[Hit]:
        """`hits` in the model's order (ties keep fusion order), ranks renumbered; unchanged
        without a model."""
        if self.model is None or len(hits) < 2:
            return hits
        scores = self.model.scores(self.features(query, qvec, hits, weights))
        order = sorted(range(len(hits)), key=lambda i: (-scores[i], i))
        out = [hits[i] for i in order]
        for rank, hit in enumerate(out):
            hit.rank = rank
        return out
