"""Lexical retrieval: BM25 scoring by bm25s over our own tokens (Snowball-stemmed words).

The tokenizer keeps what council papers are searched by: amounts ("£4.6", "4.6"),
percentages ("83%", "83"), years and minute numbers ("1839"), as well as words.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import snowballstemmer

_STEMMER = snowballstemmer.stemmer("english")
# A few equivalences that council papers need and stemming cannot give ("chaired" / "Chairman").
_SYNONYMS = {
    "percentage": "percent",
    "percentages": "percent",
    "cent": "percent",
    "chairman": "chair",
    "chairwoman": "chair",
    "chairperson": "chair",
    "chaired": "chair",
    "chairs": "chair",
    "finish": "end",
    "finished": "end",
    "finishes": "end",
    "ended": "end",
    "ends": "end",
}
_TOKEN = re.compile(r"£?\d+(?:[.,]\d+)*%?|[a-z]+(?:'[a-z]+)?", re.I)
STOPWORDS = frozenset(
    """a an the and or of to in on at by for from with without as is are was were be been being it its this that
    these those there their they them he she his her we our you your i me my what which who whom whose when where
    why how did do does done has have had will would shall should can could may might must not no nor so than then
    too very into onto over under about also any all each such only own same other some more most just if but
    s t any up out off again further once here both few before after above below between through
    during get got""".split()
)


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """Snowball (Porter 2) stem, so 'completed', 'completion' and 'complete' meet."""
    return _STEMMER.stemWord(word)


def tokenize(text: str) -> list[str]:
    """The text's search terms, in order (a fresh list: callers may extend it)."""
    return list(_tokens(text))


@functools.lru_cache(maxsize=16384)
def token_set(text: str) -> frozenset[str]:
    """The set of `tokenize(text)`, cached: a passage's terms are asked for at every query that
    retrieves it (pseudo-relevance feedback, scoring), and tokenizing is a regex pass."""
    return frozenset(_tokens(text))


@functools.lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[str, ...]:
    tokens: list[str] = []
    for raw in _TOKEN.findall(text.lower().replace("’", "'")):
        if raw[0].isdigit() or raw[0] == "£":
            bare = raw.lstrip("£").rstrip("%").replace(",", "")
            tokens.append(bare)
            marked = raw.replace(",", "")
            if marked != bare:
                tokens.append(marked)
            if raw.endswith("%"):
                tokens.append("percent")
            continue
        word = raw.split("'")[0]
        if word in STOPWORDS or len(word) < 2:
            continue
        tokens.append(_SYNONYMS.get(word) or _stem(word))
    if "%" in text and "percent" not in tokens:
        tokens.append("percent")  # a '%' column header answers "what percentage"
    return tuple(tokens)


class LexicalIndex:
    def __init__(self, bm25) -> None:
        self._bm25 = bm25
        self.size = int(bm25.scores["num_docs"])

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index([tokenize(t) or ["∅"] for t in texts], show_progress=False)
        return cls(bm25)

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Memory-mapped: the score matrix stays in the file (the OS pages in the columns a query's
        terms touch), so loading costs neither time nor RSS in proportion to the corpus."""
        import bm25s

        return cls(bm25s.BM25.load(str(directory), mmap=True, show_progress=False))

    def scores(self, query: str | list[str], mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every chunk for `query` — text, or tokens already made by `tokenize` —
        (zeros where masked out or nothing matches)."""
        ids = self._bm25.get_tokens_ids(tokenize(query) if isinstance(query, str) else query)
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        # (bm25s adds each term's postings with np.add.at, which numpy 2 makes faster than an
        # indexed add: 2.9 vs 6.8 ms a sentence ranking at 1000x, bench/RESULTS.md)
        scores = np.asarray(self._bm25.get_scores(ids), dtype=np.float32)  # a fresh array: ours to change
        if mask is not None:
            np.multiply(scores, mask, out=scores)
        return scores
