"""Extractive answers: pick the sentences (or table cells) that answer the question.

Nothing is generated. Each candidate sentence inside the retrieved passages is scored
on meaning (cosine to the question), on the question's words it contains (IDF-weighted,
the user's own words counting more than words carried from earlier turns), on whether
it holds what the question asks for (an amount, a date, a person or body, a reason),
and on its passage's retrieval rank. The best one answers; a neighbour is added only
when it supplies the asked-for fact; a high-scoring sentence from a paper of another
meeting is added when it speaks to the same point, so changed positions are shown in
date order. Below the calibrated threshold the service abstains.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.lexical import tokenize
from service.conversation import StandaloneQuery
from service.index import LoadedIndex
from service.retrieval import Hit

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
W_DENSE, W_LEXICAL, W_TYPE, W_RANK = 0.50, 0.30, 0.12, 0.08
CARRIED_WEIGHT = 0.5
SHORT_PENALTY = 0.08
W_CELL = 0.2
OTHER_VALUE_MARGIN = 0.25
OTHER_VALUE_SIMILARITY = 0.6
PASSAGES_SCORED = 10
SAME_POINT_SIMILARITY = 0.55  # two sentences from different meetings count as the same point above this
SAME_POINT_MARGIN = 0.10
SAME_POINT_MAX_MARGIN = 0.20

_ASKS = {
    "number": re.compile(r"\bhow (much|many|big|large)\b|\bwhat (percentage|proportion|share|score|number|amount|figure|sum|total|cost|weighting)\b|\bper ?cent|\bscor(e|ed|ing)\b|\bcost\b|\bpoints?\b|\brank(ed|ing)?\b|\bfte\b", re.I),
    "date": re.compile(r"\bwhen\b|\bby when\b|\bwhat (date|day|month|year|time)\b|\bdeadline\b|\bhow long\b|\btimescale|\bgo[- ]live\b", re.I),
    "person": re.compile(r"^\s*who\b|\bwho\b|\bwhose\b|\bby whom\b|\bwhich (councillor|member|officer|body|committee|organisation|authority|council|partner|cabinet member|specialists?|advisers?|firm)\b", re.I),
    "reason": re.compile(r"^\s*why\b|\bwhy\b|\breasons?\b|\brationale\b|\bpurpose\b|\bwhat for\b", re.I),
}
_HAS = {
    "number": re.compile(r"£\s?\d|\d\s?%|\b\d[\d,.]*\b"),
    "date": re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\b|\b(19|20)\d\d\b|\b\d{1,2}(st|nd|rd|th)\b", re.I),
    "person": re.compile(r"\b(Mr|Mrs|Ms|Miss|Dr|Sir|Councillor|Cllr|Cabinet|Panel|Council|DfE|Board|Commissioner|Director|Chairman|Chair|Leader|Member|Members|Ofsted|Ventures?|Officer|Trust|Executive)\b"
                         r"|\b(?!The\b|This\b|These\b|It\b|In\b|As\b|An?\b)[A-Z][a-z]+ [A-Z][a-z]+\b"),
    "reason": re.compile(r"\b(because|due to|as a result|in order to|so that|so as to|reason|aim|driver|purpose|since|given|to ensure|to sustain|would allow|would enable|as it|as they|owing to)\b", re.I),
}


def asked_for(question: str) -> set[str]:
    return {kind for kind, rx in _ASKS.items() if rx.search(question)}


@dataclass
class Candidate:
    sentence: int  # row in index.sentence_spans
    chunk: int
    doc_id: str
    start: int
    end: int
    score: float
    dense: float
    lexical: float
    type_match: float
    rank: int


@dataclass
class Composed:
    answer: str
    abstained: bool
    confidence: float
    cited: list[Candidate]
    related: list[Candidate]
    asked: set[str] = field(default_factory=set)
    top_score: float = 0.0


def load_calibration() -> dict:
    try:
        return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"abstain_threshold": 0.45, "slope": 12.0}


class Composer:
    def __init__(self, index: LoadedIndex, calibration: dict | None = None) -> None:
        self.index = index
        cal = calibration or load_calibration()
        self.threshold = float(cal["abstain_threshold"])
        self.slope = float(cal.get("slope", 12.0))
        self.idf, self.max_idf = self._idf(index)
        self._tokens: dict[int, frozenset[str]] = {}

    @staticmethod
    def _idf(index: LoadedIndex) -> tuple[dict[str, float], float]:
        df: dict[str, int] = {}
        for chunk in index.chunks:
            for t in set(tokenize(chunk.search_text)):
                df[t] = df.get(t, 0) + 1
        n = max(1, len(index.chunks))
        idf = {t: math.log(1 + n / c) for t, c in df.items()}
        return idf, math.log(1 + n)

    def _sentence_terms(self, row: int) -> frozenset[str]:
        terms = self._tokens.get(row)
        if terms is None:
            ci, s, e = (int(x) for x in self.index.sentence_spans[row])
            chunk = self.index.chunks[ci]
            doc = self.index.documents[chunk.doc_id]
            meta = doc.meta
            context = " ".join(x for x in (chunk.section, meta.title, meta.body) if x)
            text = (chunk.search_text if chunk.kind != "text" else doc.text[s:e]) + " " + context
            terms = frozenset(tokenize(text))
            self._tokens[row] = terms
        return terms

    def score_candidates(self, query: StandaloneQuery, qvec: np.ndarray, hits: list[Hit], asked: set[str]) -> list[Candidate]:
        weights: dict[str, float] = {}
        for t in query.carried_terms:
            weights[t] = max(weights.get(t, 0.0), CARRIED_WEIGHT * self.idf.get(t, self.max_idf))
        for t in query.own_terms:
            weights[t] = self.idf.get(t, self.max_idf)
        total = sum(weights.values()) or 1.0
        out: list[Candidate] = []
        for hit in hits[:PASSAGES_SCORED]:
            chunk = self.index.chunks[hit.chunk]
            rows = self.index.chunk_sentences[hit.chunk]
            text = self.index.documents[chunk.doc_id].text
            for row in rows:
                _, s, e = (int(x) for x in self.index.sentence_spans[row])
                # The passage vector carries the section and label context a bare sentence lacks.
                passage_dense = float(self.index.chunk_vectors[hit.chunk] @ qvec)
                dense = passage_dense if chunk.kind == "table_row" else \
                    0.5 * float(self.index.sentence_vectors[row] @ qvec) + 0.5 * passage_dense
                terms = self._sentence_terms(row)
                lexical = sum(w for t, w in weights.items() if t in terms) / total
                body = chunk.search_text if chunk.kind != "text" else text[s:e]
                type_match = (sum(1 for kind in asked if _HAS[kind].search(body)) / len(asked)) if asked else 0.0
                prior = 1.0 / (1 + hit.rank)
                score = W_DENSE * dense + W_LEXICAL * lexical + W_TYPE * type_match + W_RANK * prior
                if chunk.kind == "table_row":
                    score += self._cell_bonus(chunk, weights)
                if chunk.kind == "text" and len(body.split()) < 5 and not type_match:
                    score -= SHORT_PENALTY  # a bare label ("Minutes:", "Outsource") is not an answer
                out.append(Candidate(row, hit.chunk, chunk.doc_id, s, e, score, dense, lexical, type_match, hit.rank))
        out.sort(key=lambda c: (-c.score, c.chunk, c.start))
        return out

    def _cell_bonus(self, chunk, weights: dict[str, float]) -> float:
        """A question that names a table row and one of its columns is asking for that cell. The bonus
        is scaled by how much of the question (IDF-weighted) the row label and named headers cover."""
        label_terms = set(tokenize(chunk.row_label or ""))
        if not label_terms or not label_terms <= set(weights):
            return 0.0
        header_terms = set()
        for cell in chunk.cells:
            if cell.header and cell.text != chunk.row_label:
                header_terms |= set(tokenize(cell.header))
        covered = label_terms | (header_terms & set(weights))
        return W_CELL * sum(w for t, w in weights.items() if t in covered) / (sum(weights.values()) or 1.0)

    def confidence(self, score: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.slope * (score - self.threshold)))

    def compose(self, query: StandaloneQuery, qvec: np.ndarray, hits: list[Hit], asked: set[str] | None = None,
                max_citations: int = 3) -> Composed:
        asked = asked if asked is not None else asked_for(query.text)
        candidates = self.score_candidates(query, qvec, hits, asked)
        if not candidates:
            return Composed("", True, 0.0, [], [], asked, 0.0)
        best = candidates[0]
        confidence = self.confidence(best.score)
        related = _distinct(candidates)[:3]
        if best.score < self.threshold:
            return Composed("", True, confidence, [], related, asked, best.score)
        cited = [best]
        neighbour = self._neighbour_with_fact(best, candidates, asked)
        if neighbour:
            cited.append(neighbour)
        cited += self._same_point_elsewhere(best, candidates)
        if len(cited) == 1:
            alternative = self._other_value(best, candidates, asked)
            if alternative:
                cited.append(alternative)
        cited = cited[:max_citations]
        date_of = lambda c: self.index.documents[c.doc_id].meta.sort_date()
        if len({c.doc_id for c in cited}) > 1:
            cited.sort(key=lambda c: (date_of(c), c.start))
        else:
            cited.sort(key=lambda c: c.start)
        answer = " ".join(f"{self.render(c, query)} [{n}]" for n, c in enumerate(cited, 1))
        return Composed(answer, False, confidence, cited, [], asked, best.score)

    def _neighbour_with_fact(self, best: Candidate, candidates: list[Candidate], asked: set[str]) -> Candidate | None:
        """The next/previous sentence of the same passage, when only it holds the asked-for fact."""
        if not asked or best.type_match >= 1.0 or self.index.chunks[best.chunk].kind != "text":
            return None
        by_row = {c.sentence: c for c in candidates}
        for row in (best.sentence + 1, best.sentence - 1):
            c = by_row.get(row)
            if c and c.chunk == best.chunk and c.type_match > best.type_match and c.score >= best.score - 0.15:
                return c
        return None

    def _other_value(self, best: Candidate, candidates: list[Candidate], asked: set[str]) -> Candidate | None:
        """For 'when'/'how much' questions: a close sentence on the same point that gives a different
        date or figure (e.g. a statutory deadline beside a practical one), so neither is hidden."""
        kinds = [k for k in ("date", "number") if k in asked]
        if not kinds or self.index.chunks[best.chunk].kind != "text":
            return None
        text = self.index.documents[best.doc_id].text
        best_values = {m.group(0) for k in kinds for m in _HAS[k].finditer(text[best.start:best.end])}
        for c in candidates[1:8]:
            if c.score < best.score - OTHER_VALUE_MARGIN:
                break
            if c.type_match < 1.0 or self.index.chunks[c.chunk].kind != "text":
                continue
            other = self.index.documents[c.doc_id].text[c.start:c.end]
            values = {m.group(0) for k in kinds for m in _HAS[k].finditer(other)}
            if not values or values <= best_values:
                continue
            similarity = float(self.index.sentence_vectors[c.sentence] @ self.index.sentence_vectors[best.sentence])
            if similarity >= OTHER_VALUE_SIMILARITY or c.lexical >= best.lexical - 0.02:
                return c  # same point (by meaning, or by covering the question's words as fully)
        return None

    def _same_point_elsewhere(self, best: Candidate, candidates: list[Candidate]) -> list[Candidate]:
        """Near-equal sentences from other meetings' papers on the same point (a position that changed)."""
        if self.index.chunks[best.chunk].kind != "text":
            return []
        dates = {self.index.documents[best.doc_id].meta.sort_date()}
        out: list[Candidate] = []
        for c in candidates[1:12]:
            if c.score < best.score - SAME_POINT_MAX_MARGIN or len(out) == 2:
                break
            date = self.index.documents[c.doc_id].meta.sort_date()
            if date in dates or self.index.chunks[c.chunk].kind != "text":
                continue
            similarity = float(self.index.sentence_vectors[c.sentence] @ self.index.sentence_vectors[best.sentence])
            # The closer the two sentences are in meaning, the further apart their scores may be.
            margin = min(SAME_POINT_MAX_MARGIN, SAME_POINT_MARGIN + 0.5 * (similarity - SAME_POINT_SIMILARITY))
            if similarity >= SAME_POINT_SIMILARITY and c.score >= best.score - margin:
                dates.add(date)
                out.append(c)
        return out

    def render(self, c: Candidate, query: StandaloneQuery) -> str:
        """The sentence verbatim; for a table row, its label and the cells the question names."""
        chunk = self.index.chunks[c.chunk]
        text = self.index.documents[c.doc_id].text
        if chunk.kind != "table_row" or not chunk.cells:
            return " ".join(text[c.start:c.end].split())
        wanted = set(query.own_terms) | set(query.carried_terms)
        cells = [cell for cell in chunk.cells if cell.header and cell.text != chunk.row_label]
        named = [cell for cell in cells if set(tokenize(cell.header)) & wanted - {"score", "scored"}]
        shown = named or cells
        if not shown:  # a row without column headers: quote it as printed
            return " ".join(text[c.start:c.end].split())
        parts = "; ".join(f"{cell.header}: {cell.text or '(blank)'}" for cell in shown)
        return f"{chunk.row_label} — {parts}"


def _distinct(candidates: list[Candidate]) -> list[Candidate]:
    seen_chunks: set[int] = set()
    out = []
    for c in candidates:
        if c.chunk not in seen_chunks:
            seen_chunks.add(c.chunk)
            out.append(c)
    return out
