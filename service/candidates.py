"""Retrieved passages → answer candidates: the sentences in them and the typed units they hold.

`CandidateBuilder.run(query, hits)` → `list[Candidate]`. A retrieved chunk contributes each of
its sentences and every unit stored for it at index time (list block, form field, table cell,
computed column fact); the meeting facts of the retrieved papers (and of the papers the question
names) are added when the question asks for their role (chair, apologies, author …). Nothing is
scored here: `service.scoring` does that.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from indexer.lexical import tokenize
from service.index import LoadedIndex
from service.query import AnalyzedQuery
from service.retrieval import Hit

PASSAGES_USED = 40  # at most this many retrieved passages give their sentences and units
ADDRESSED_CELLS = 8  # table cells found by the row and column the question names
ADDRESSED_EXTREMES = 4


@dataclass
class Candidate:
    kind: str  # "sentence" | "list" | "field" | "cell" | "column_fact" | "fact"
    doc_id: str
    chunk: int  # the chunk the candidate was reached through (its section, item, passage vector)
    start: int  # quoted span: document text[start:end]
    end: int
    value_start: int  # the short answer inside the quote
    value_end: int
    rank: int  # retrieval rank of the chunk (0 = best)
    rrf: float  # the chunk's fused retrieval score
    sentence: int | None = None  # sentence row, for sentences
    unit: int | None = None  # unit row, for units and facts
    sentences: list[int] = field(default_factory=list)  # sentence rows the candidate covers
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0  # the scorer's probability that this candidate answers
    # For the best candidate only: the probability that its answer goes on in the next sentence
    # (service/continuation.py); None when it has none or no continuation model is fitted.
    continues: float | None = None

    @property
    def key(self) -> tuple:
        return (self.kind, self.doc_id, self.start, self.end, self.value_start, self.value_end)


class CandidateBuilder:
    def __init__(self, index: LoadedIndex, idf: dict[str, float] | None = None) -> None:
        self.index = index
        self.idf = idf or {}
        self._unit_sentences: dict[int, list[int]] = {}

    @functools.cached_property
    def _table_units(self) -> list[tuple[int, frozenset[str], frozenset[str]]]:
        """Row label and column header terms of every table cell and computed table fact, so a
        question that names a row and a column reaches the cell even when retrieval ranked its
        row low ("How did outsourcing rate on keeping staff?": row "Staff retention"). Made at
        the first question that needs it, not at load: it reads every unit from the store."""
        return [
            (row, frozenset(tokenize(u.label or "")), frozenset(tokenize(u.header or "")))
            for row, u in enumerate(self.index.units)
            if u.kind in ("cell", "column_fact")
        ]

    def unit_sentences(self, row: int) -> list[int]:
        """Sentence rows inside a unit's spans (their vectors stand for the unit's meaning)."""
        found = self._unit_sentences.get(row)
        if found is None:
            u = self.index.units[row]
            spans = u.parts or [[u.value_start, u.value_end]]
            found = []
            for c in u.chunks:
                for srow in self.index.chunk_sentences[c]:
                    _, s, e = (int(x) for x in self.index.sentence_spans[srow])
                    if any(s < pe and ps < e for ps, pe in spans + [[u.start, u.end]]):
                        found.append(srow)
            self._unit_sentences[row] = found
        return found

    def run(self, query: AnalyzedQuery, hits: list[Hit]) -> list[Candidate]:
        out: dict[tuple, Candidate] = {}
        docs_seen: dict[str, Hit] = {}
        for hit in hits[:PASSAGES_USED]:
            chunk = self.index.chunks[hit.chunk]
            docs_seen.setdefault(chunk.doc_id, hit)
            for srow in self.index.chunk_sentences[hit.chunk]:
                _, s, e = (int(x) for x in self.index.sentence_spans[srow])
                c = Candidate(
                    "sentence",
                    chunk.doc_id,
                    hit.chunk,
                    s,
                    e,
                    s,
                    e,
                    hit.rank,
                    hit.score,
                    sentence=srow,
                    sentences=[srow],
                )
                out.setdefault(c.key, c)
            for urow in self.index.chunk_units[hit.chunk]:
                u = self.index.units[urow]
                if u.kind == "fact" and not (set(query.roles) & {u.role}):
                    continue  # a fact the question does not ask about is still there as a field/sentence
                c = self._unit_candidate(urow, hit)
                out.setdefault(c.key, c)
        if query.roles:
            self._add_facts(query, hits, docs_seen, out)
        self._add_addressed_cells(query, hits, out)
        return list(out.values())

    def _add_addressed_cells(self, query: AnalyzedQuery, hits: list[Hit], out: dict[tuple, Candidate]) -> None:
        terms = set(query.own_terms) | set(query.carried_terms) | set(tokenize(query.expansion))
        if not terms or not self._table_units:
            return

        def weight(found: frozenset[str]) -> float:
            return sum(self.idf.get(t, 1.0) for t in found)

        cells, extremes = [], []
        for row, label, header in self._table_units:
            u = self.index.units[row]
            on_row, on_column = label & terms, header & terms
            if u.kind == "cell" and on_row and on_column:
                cells.append((weight(on_row | on_column), row))
            elif u.kind == "column_fact" and query.extreme and u.role is not None and u.role.endswith(query.extreme):
                named = on_row if u.role.startswith("row_") else on_column
                if named:
                    extremes.append((weight(named), row))
        last = hits[-1] if hits else None
        for picked in (
            sorted(cells, reverse=True)[:ADDRESSED_CELLS],
            sorted(extremes, reverse=True)[:ADDRESSED_EXTREMES],
        ):
            for _, row in picked:
                u = self.index.units[row]
                hit = Hit(u.chunks[0], 0.0, 0.0, 0.0, (last.rank + 1) if last else 0)
                c = self._unit_candidate(row, hit)
                out.setdefault(c.key, c)

    def _unit_candidate(self, urow: int, hit: Hit) -> Candidate:
        u = self.index.units[urow]
        return Candidate(
            u.kind,
            u.doc_id,
            hit.chunk,
            u.start,
            u.end,
            u.value_start,
            u.value_end,
            hit.rank,
            hit.score,
            unit=urow,
            sentences=self.unit_sentences(urow),
        )

    def _add_facts(
        self, query: AnalyzedQuery, hits: list[Hit], docs_seen: dict[str, Hit], out: dict[tuple, Candidate]
    ) -> None:
        """Facts of the asked role from the retrieved papers and from the papers the question names,
        even when their line was not retrieved ("Who chaired?" shares no word with "(Chairman)")."""
        named = query.named_documents
        last = hits[-1] if hits else None
        for doc_id in list(docs_seen) + [d for d in named if d not in docs_seen]:
            via = docs_seen.get(doc_id)
            for urow in self.index.doc_facts.get(doc_id, []):
                u = self.index.units[urow]
                if u.role not in query.roles:
                    continue
                hit = via or Hit(u.chunks[0], last.score if last else 0.0, 0.0, 0.0, last.rank + 1 if last else 0)
                c = self._unit_candidate(urow, hit)
                c.chunk = u.chunks[0]
                out.setdefault(c.key, c)
