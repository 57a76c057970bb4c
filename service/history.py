"""Topic history: every meeting whose papers discuss a topic, in date order, with the best one or two
sentences quoted from each, the minute/item they sit under and the decisions recorded there.

How it works:
1. Hybrid retrieval (`service.retrieval.retrieve`, the same fused rankings as `GET /search`, hard
   filters included) returns up to `PASSAGES` passages for the topic; no pseudo-relevance feedback,
   whose added terms drift from a short topic to its neighbours.
2. Each sentence of those passages (a table row counts as one) gets two measures: **word cover**,
   the IDF-weighted share of the topic's search terms it contains (Snowball stems, so "liability"
   and "liabilities" meet, "liable" does not), and **meaning**, the cosine of its vector and the
   topic's. Its relevance is their sum.
3. The floor: a sentence counts as discussing the topic when its relevance is at least
   `MIN_RELEVANCE` (every topic word, or the topic's weightier words and a close meaning) or its
   meaning alone at least `MIN_MEANING` (a paraphrase without the words). Retrieval alone cannot
   decide this: fused rank scores are relative, so the 60th passage of a topic nobody discussed
   still scores. A meeting is listed when one of its sentences passes the floor. Measured on the
   corpus (MiniLM): "VAT liability" keeps the four meetings that discuss VAT (the weakest,
   "…the agreement to fund irrecoverable VAT", at cover 0.49 + meaning 0.54) and "bus services",
   which no paper discusses, keeps none (best: cover 0.16 + meaning 0.40).
4. Sentences are grouped by meeting (`service.meetings`); the best one or two (non-overlapping) are
   quoted verbatim as citations (`document.text[start:end] == quote`), and the decision facts
   recorded inside the minute/item of a quoted sentence are attached.
5. Meetings are ordered by date; an undated meeting by the midpoint of its date bounds, with
   `undated` set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from indexer.lexical import token_set, tokenize
from service.engine import Citation, Engine
from service.meetings import MeetingRecord, decisions_within, document_facts, meeting_of_documents, section_at
from service.retrieval import Filters, retrieve

PASSAGES = 60  # passages retrieved per topic (the fused rankings hold 100 candidates each)
MIN_RELEVANCE = 0.9  # word cover + meaning a sentence must reach …
MIN_MEANING = 0.55  # … or its cosine to the topic alone (MiniLM; unrelated text is below 0.3)
QUOTES_PER_MEETING = 2


@dataclass
class ScoredSpan:
    doc_id: str
    chunk: int
    start: int
    end: int
    cover: float
    meaning: float

    @property
    def relevance(self) -> float:
        return self.cover + self.meaning

    def passes(self) -> bool:
        return self.relevance >= MIN_RELEVANCE or self.meaning >= MIN_MEANING


@dataclass
class HistoryMeeting:
    """One meeting in a topic's history."""

    id: str
    url: str
    body: str | None
    meeting_date: str | None
    date_bounds: dict[str, str] | None
    undated: bool
    order_date: str | None
    item: str | None  # minute / item number of the best quote
    item_title: str | None
    item_url: str | None
    quotes: list[Citation]
    decisions: list[dict[str, Any]] = field(default_factory=list)
    relevance: float = 0.0


def _cover(terms: dict[str, float], text: str) -> float:
    total = sum(terms.values())
    if not total:
        return 0.0
    have = token_set(text)
    return sum(w for t, w in terms.items() if t in have) / total


def scored_spans(engine: Engine, topic: str, filters: Filters) -> list[ScoredSpan]:
    """Every sentence (or table row) of the retrieved passages, with its word cover and meaning."""
    index = engine.index
    qvec = engine.embed_query(topic)
    idf, default = engine.scorer.idf, engine.scorer.max_idf
    terms = {t: idf.get(t, default) for t in tokenize(topic)}
    out: list[ScoredSpan] = []
    for hit in retrieve(index, topic, qvec, filters, k=PASSAGES, mode="hybrid"):
        chunk = index.chunks[hit.chunk]
        text = index.documents[chunk.doc_id].text
        rows = index.chunk_sentences[hit.chunk]
        if not rows:  # a table row or cell: the passage is the unit quoted
            meaning = float(index.chunk_vectors[hit.chunk] @ qvec)
            out.append(
                ScoredSpan(chunk.doc_id, hit.chunk, chunk.start, chunk.end, _cover(terms, chunk.search_text), meaning)
            )
            continue
        for row in rows:
            _, start, end = (int(x) for x in index.sentence_spans[row])
            meaning = float(index.sentence_vectors[row] @ qvec)
            out.append(ScoredSpan(chunk.doc_id, hit.chunk, start, end, _cover(terms, text[start:end]), meaning))
    return out


def _best_quotes(engine: Engine, spans: list[ScoredSpan]) -> list[ScoredSpan]:
    """The best sentences, none overlapping another or repeating its words (papers repeat a
    sentence in a summary and a table)."""
    chosen: list[ScoredSpan] = []
    seen: set[str] = set()
    for s in sorted(spans, key=lambda s: (-s.relevance, s.doc_id, s.start)):
        words = " ".join(engine.index.documents[s.doc_id].text[s.start : s.end].split()).lower()
        if words not in seen and not any(c.doc_id == s.doc_id and c.start < s.end and s.start < c.end for c in chosen):
            chosen.append(s)
            seen.add(words)
        if len(chosen) == QUOTES_PER_MEETING:
            break
    return chosen


def topic_history(engine: Engine, topic: str, filters: Filters = Filters()) -> list[HistoryMeeting]:
    """The meetings whose papers discuss `topic`, in date order (see the module docstring)."""
    index = engine.index
    meetings = meeting_of_documents(index)
    by_meeting: dict[str, tuple[MeetingRecord, list[ScoredSpan]]] = {}
    for span in scored_spans(engine, topic, filters):
        if span.passes():
            record = meetings[span.doc_id]
            by_meeting.setdefault(record.id, (record, []))[1].append(span)
    out: list[HistoryMeeting] = []
    facts_cache: dict[str, list[dict[str, Any]]] = {}
    for record, spans in by_meeting.values():
        quotes = _best_quotes(engine, spans)
        citations, decisions, sections = [], [], []
        for q in quotes:
            # numbered below, once the meetings are in date order
            citations.append(engine.citation(0, q.doc_id, q.chunk, q.start, q.end, q.relevance))
            section = section_at(index.documents[q.doc_id].sections, q.start, q.end, index.chunks[q.chunk].item)
            sections.append(section)
            if section is None:
                continue
            if q.doc_id not in facts_cache:  # once per paper (setdefault would compute it every time)
                facts_cache[q.doc_id] = document_facts(index, q.doc_id)
            facts = facts_cache[q.doc_id]
            for f in decisions_within(facts, q.doc_id, section.start, section.end):
                if f not in decisions:
                    decisions.append(f)
        section, doc_id = sections[0], quotes[0].doc_id  # the item is the best quote's
        out.append(
            HistoryMeeting(
                id=record.id,
                url=record.url,
                body=record.body,
                meeting_date=record.meeting_date,
                date_bounds=record.date_bounds,
                undated=record.undated,
                order_date=record.order_date,
                item=section.number if section else None,
                item_title=section.title if section else None,
                item_url=f"/documents/{doc_id}#{section.start}-{section.end}" if section else None,
                quotes=citations,
                decisions=decisions,
                relevance=round(quotes[0].relevance, 4),
            )
        )
    out.sort(key=lambda m: (m.order_date or "9999-12-31", m.id))
    # Number the quotes in the order they are shown, as an answer's citations are.
    for i, c in enumerate((c for m in out for c in m.quotes), 1):
        c.n = i
    return out
