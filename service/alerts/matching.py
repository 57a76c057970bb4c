"""Which passages of an index version match a saved search.

The rule, meant to be explainable to the person who saved the search:

  a passage (an index chunk: a paragraph, bullet or table row) of a paper inside the alert's
  filters matches when
    1. its meaning is close to the query's: the cosine similarity of the query's embedding to the
       passage's embedding, or to the best of the passage's sentences (a fact in one sentence of a
       long paragraph counts, as in retrieval), is at least the alert's threshold
       (the alert's own `threshold`, or `Settings.alert_min_similarity` when it was saved: 0.45 for
       MiniLM); and
    2. it shares at least one content word with the query (after stemming and dropping stop words,
       the tokens BM25 searches by), so a passage merely "about the same kind of thing" is not
       announced.
  Both read the passage as search does: its text with its section heading (and a table row with
  its column headers), the text that was embedded and BM25-indexed.

The rule is absolute, not a top-N of a ranking: whether a passage matches does not depend on what
else the index holds, so adding papers never hides or reveals an older passage, and the same index
always gives the same matches (deterministic for a given embedder). The score recorded is the
similarity of rule 1.

A passage's identity is `passage_key`: sha256 of the document id and the passage text. It is not
the chunk number or the index version, which a rebuild changes; a passage whose text changed gets
a new key and counts as new.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from indexer.lexical import token_set
from service.engine import Engine
from service.retrieval import Filters, chunk_mask


@dataclass(frozen=True)
class PassageMatch:
    chunk: int  # index into the engine's chunks (valid for this index version only)
    key: str
    document_id: str
    start: int
    end: int
    text: str
    score: float


def passage_key(document_id: str, text: str) -> str:
    return hashlib.sha256(f"{document_id}\x00{text}".encode()).hexdigest()


def document_hashes(engine: Engine) -> dict[str, str]:
    """Document id -> sha256 of its clean text: whether a paper changed between two index versions
    (a rebuild with another encoder or chunker changes no paper's text)."""
    return {doc_id: hashlib.sha256(doc.text.encode()).hexdigest() for doc_id, doc in engine.index.documents.items()}


def find_matches(engine: Engine, query: str, filters: Filters, min_similarity: float) -> list[PassageMatch]:
    """Every passage of the engine's index that matches `query` by the rule above, best first."""
    index = engine.index
    if not index.chunks:
        return []
    qvec = engine.embed_query(query).astype(np.float32)
    similarity = np.asarray(index.chunk_vectors @ qvec, dtype=np.float32)
    if len(index.sentence_spans):
        # a passage is as close as its closest sentence, when that is closer than the whole passage
        np.maximum.at(similarity, index.sentence_spans[:, 0], index.sentence_vectors @ qvec)
    mask = chunk_mask(index, filters)  # None: no filter
    inside = mask > 0 if mask is not None else np.ones(len(index.chunks), dtype=bool)
    query_terms = token_set(query)
    best: dict[str, PassageMatch] = {}
    for chunk_i in np.flatnonzero(inside & (similarity >= min_similarity)).tolist():
        chunk = index.chunks[chunk_i]
        if not query_terms & token_set(chunk.search_text):
            continue
        text = index.documents[chunk.doc_id].text[chunk.start : chunk.end]
        key = passage_key(chunk.doc_id, text)
        score = round(float(similarity[chunk_i]), 4)
        if key not in best or score > best[key].score:  # the same words twice in a paper: one passage
            best[key] = PassageMatch(chunk_i, key, chunk.doc_id, chunk.start, chunk.end, text, score)
    return sorted(best.values(), key=lambda m: (-m.score, m.document_id, m.start))
