"""The question-answering pipeline as one typed entry point, shared by the API, CLI and eval."""
from __future__ import annotations

import functools
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from service.answer import Candidate, Composer, asked_for
from service.conversation import StandaloneQuery, resolve
from service.index import LoadedIndex
from service.retrieval import Filters, Hit, retrieve

NOT_FOUND = "The papers don't cover this: no passage in the indexed papers answers the question."


@dataclass
class Citation:
    n: int
    document_id: str
    title: str
    body: str | None
    meeting_date: str | None
    section: str | None
    item: str | None
    quote: str
    start: int
    end: int
    url: str
    score: float


@dataclass
class AskResult:
    answer: str
    abstained: bool
    confidence: float
    query: str
    citations: list[Citation]
    related: list[Citation]
    took_ms: float
    top_score: float = 0.0  # raw score of the best sentence (what the abstention threshold cuts)
    timings_ms: dict[str, float] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)


_ENCODE_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


def permalink(doc_id: str, start: int, end: int) -> str:
    return f"/documents/{doc_id}#{start}-{end}"


class Engine:
    """Holds one loaded index version and the composer built for it (immutable once made)."""

    def __init__(self, index: LoadedIndex, query_cache_size: int = 1024) -> None:
        self.index = index
        self.composer = Composer(index)
        # The query embedding is ~75% of an answer's CPU time; repeated questions (starter
        # questions, re-asked follow-ups, clients retrying) skip it.
        self._embed_cached = functools.lru_cache(maxsize=query_cache_size)(self._embed) if query_cache_size else self._embed

    def _embed(self, text: str) -> np.ndarray:
        # At most as many model forward passes at once as there are cores: more only queue inside
        # torch and each holds its own activation buffers, which raised RSS under load.
        with _ENCODE_SLOTS:
            vector = self.index.embedder.encode([text])[0]
        vector.setflags(write=False)
        return vector

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_cached(text)

    def citation(self, n: int, doc_id: str, chunk_i: int, start: int, end: int, score: float) -> Citation:
        doc = self.index.documents[doc_id]
        chunk = self.index.chunks[chunk_i]
        return Citation(
            n=n, document_id=doc_id, title=doc.meta.title, body=doc.meta.body, meeting_date=doc.meta.meeting_date,
            section=chunk.section, item=chunk.item, quote=doc.text[start:end], start=start, end=end,
            url=permalink(doc_id, start, end), score=round(float(score), 4),
        )

    def _cite(self, cands: list[Candidate]) -> list[Citation]:
        return [self.citation(n, c.doc_id, c.chunk, c.start, c.end, c.score) for n, c in enumerate(cands, 1)]

    def ask(self, question: str, history_user_turns: list[str] | None = None, filters: Filters = Filters(),
            top_k: int = 3, mode: str = "hybrid", compose: bool = True) -> AskResult:
        t0 = time.perf_counter()
        query: StandaloneQuery = resolve(question, history_user_turns or [])
        qvec = self.embed_query(query.text)
        t1 = time.perf_counter()
        hits = retrieve(self.index, query.text, qvec, filters, k=max(10, top_k), mode=mode)
        t2 = time.perf_counter()
        if compose:
            composed = self.composer.compose(query, qvec, hits, asked_for(query.text), max_citations=top_k)
            answer = composed.answer if not composed.abstained else NOT_FOUND
            citations, related = self._cite(composed.cited), self._cite(composed.related)
            abstained, confidence = composed.abstained, composed.confidence
            top_score = composed.top_score
        else:  # ablation: the top passage is the answer
            abstained = not hits
            confidence = 1.0 if hits else 0.0
            citations = [self.citation(1, self.index.chunks[h.chunk].doc_id, h.chunk, self.index.chunks[h.chunk].start,
                                       self.index.chunks[h.chunk].end, h.score) for h in hits[:1]]
            answer = citations[0].quote if citations else NOT_FOUND
            related = []
            top_score = hits[0].score if hits else 0.0
        t3 = time.perf_counter()
        return AskResult(
            answer=answer, abstained=abstained, confidence=round(confidence, 4), query=query.text,
            citations=citations, related=related, took_ms=round((t3 - t0) * 1000, 2), top_score=top_score,
            timings_ms={"embed": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000, "compose": (t3 - t2) * 1000},
            hits=hits,
        )

    def search(self, q: str, k: int = 10, filters: Filters = Filters(), mode: str = "hybrid") -> list[Citation]:
        qvec = self.embed_query(q)
        hits = retrieve(self.index, q, qvec, filters, k=k, mode=mode)
        out = []
        for n, h in enumerate(hits, 1):
            chunk = self.index.chunks[h.chunk]
            out.append(self.citation(n, chunk.doc_id, h.chunk, chunk.start, chunk.end, h.score))
        return out
