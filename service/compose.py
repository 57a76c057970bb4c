"""Scored candidates → the answer: quoted evidence with exact spans, the short answer span inside
it, or an abstention.

`Composer.run(query, scored, absent=…)` → `Composed`. Two refusals come first, whatever the cut,
each saying what is missing: the question names a subject no indexed paper mentions (`absent`,
from service.coverage), or it asks directly for a value (a sum, number, date, percentage, score,
name) that the best candidate does not hold (`value_missing`). Otherwise the best candidate
answers when the scorer's calibrated probability reaches the fitted abstention cut, and below it
the service says the papers don't cover the question; a refusal offers the closest passages as
related reading. When the best is a sentence whose answer goes on in the next one (a recorded
question and its reply, an announcement and its items: the fitted decision of
service/continuation.py), both sentences are quoted as one. Otherwise the runner-up is quoted
second when the scorer cannot tell it from the best candidate (their calibrated log-odds within
the fitted `second_quote_within`, chosen on train for the answers it makes right against the
length it adds): the asker sees both readings rather than a coin-flip between them. Another
sentence is cited only when it adds what the first lacks: the same point recorded at another
meeting, or a different date/figure for the same point; the best evidence always comes first,
the runner-up next, the others follow in date order.
Quotes are verbatim; only table cells and computed table facts are rendered with their row and
column names, since a bare "80" answers nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from service.candidates import Candidate
from service.continuation import continued
from service.coverage import NOT_COVERED, refusal
from service.index import LoadedIndex
from service.query import AnalyzedQuery
from service.scoring import VALUE_PATTERNS

# What a refusal says is missing when a question asks for a value its best evidence does not
# hold (asked "how much", the closest sentence names no sum: the papers do not give it).
VALUE_NAMES = {
    "amount": "sum of money",
    "count": "number",
    "date": "date or time",
    "percentage": "percentage",
    "score": "score",
    "person": "name",
    "grade": "inspection grade",
}
NEVER = 2.0  # a probability threshold nothing reaches
SAME_POINT_SIMILARITY = 0.55  # two sentences from different meetings count as the same point above this
SECOND_CITATION_RATIO = 0.5  # a second citation must score at least this share of the best one
# What a short answer looks like inside a sentence, by answer type (detection is broader: see
# scoring.VALUE_PATTERNS; these take the whole value — "£4.6 million", "1 April 2019", "12.53 pm").
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_SPAN = {
    "amount": re.compile(
        r"(?:c\.?\s?)?£\s?\d[\d,]*(?:\.\d+)?\s?(?:m\b|k\b|bn\b|million|billion|thousand)?"
        r"(?:\s?(?:to|-|–)\s?(?:c\.?\s?)?£?\s?\d[\d,]*(?:\.\d+)?\s?(?:m\b|k\b|bn\b|million|billion)?)?",
        re.I,
    ),
    "percentage": re.compile(
        r"\d[\d.,]*\s?(?:%|per ?cent)(?:\s?(?:to|-|–)\s?\d[\d.,]*\s?(?:%|per ?cent))?"
        r"|\b(?:over |under |about |around )?(?:a|one|two) (?:third|quarter|half)s?\b",
        re.I,
    ),
    "date": re.compile(
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s{_MONTH}(?:\s(?:19|20)\d\d)?\b|\b{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?,?\s(?:19|20)\d\d\b"
        rf"|\b{_MONTH}\s(?:19|20)\d\d\b|\b\d{{1,2}}[.:]\d{{2}}\s?[ap]\.?\s?m\.?|\b\d+(?:-\d+)?[\s-](?:weeks?|months?|years?|days?)\b"
        r"|\b(?:19|20)\d\d\b",
        re.I,
    ),
    "count": re.compile(
        r"\b\d[\d,]*(?:\.\d+)?(?:\s?(?:fte|staff|members|options|criteria|posts|people|children))?\b", re.I
    ),
    "score": re.compile(r"\b\d[\d,]*(?:\.\d+)?%?"),
    "grade": VALUE_PATTERNS["grade"],  # the grade word itself: "inadequate", "requires improvement"
    "person": re.compile(
        r"\b(?:Mr|Mrs|Ms|Miss|Dr|Councillor|Cllr)\.?\s(?:[A-Z]\.?\s?){0,3}[A-Z][a-zA-Z'’-]+(?:\s[A-Z][a-zA-Z'’-]+)?"
        r"|\b(?:the\s)?(?:Assistant\s|Deputy\s)?(?:Director|Chief Executive|Commissioner|Cabinet Member|Chairman)"
        r"(?:\s(?:of|for|with)\s[A-Z][\w ,()'’&-]{2,80}?(?=[.;,]|\sand\s|$))?"
    ),
}
_REASON_CLAUSE = re.compile(
    r"\b(because|due to|as a result of|in order to|so that|so as to|since|given that|"
    r"to ensure|owing to|as it|as they|as this|which would|therefore)\b.*",
    re.I,
)


@dataclass
class Composed:
    answer: str
    abstained: bool
    confidence: float
    cited: list[Candidate]
    related: list[Candidate]
    answer_span: tuple[int, int, int] | None = None  # (citation number, start, end) in the document
    reason: str = ""  # why it abstained, or which candidate answered (explain mode)
    refusal: str = ""  # what to tell the asker when a named subject is missing from the papers


@dataclass
class Composer:
    index: LoadedIndex
    abstain_below: float
    max_related: int = 3
    second_quote_within: float = 0.0  # log-odds gap under which the runner-up is quoted too (0: never)
    continue_above: float = NEVER  # probability from which the best sentence is quoted with the next one

    def run(
        self, query: AnalyzedQuery, scored: list[Candidate], max_citations: int = 3, absent: list[str] | None = None
    ) -> Composed:
        """`absent`: subjects the question names that no indexed paper mentions (service.coverage)."""
        related = _distinct_chunks(scored)[: self.max_related]
        if absent:  # refused whatever the cut: the confidence that the papers answer is 0
            return Composed(
                "",
                True,
                0.0,
                [],
                related,
                reason=f"the question names {', '.join(absent)}, which no indexed paper mentions",
                refusal=refusal(absent),
            )
        if not scored:
            return Composed("", True, 0.0, [], [], reason="no passage was retrieved")
        best = scored[0]
        if value_missing(query, best.features):
            what = VALUE_NAMES[query.answer_type]
            return Composed(
                "",
                True,
                0.0,
                [],
                related,
                reason=f"the question asks for a {what}; the best candidate ({best.kind}) holds none",
                refusal=f"{NOT_COVERED}: the closest passages give no {what}.",
            )
        if best.score < self.abstain_below:
            return Composed(
                "",
                True,
                best.score,
                [],
                related,
                reason=f"best candidate's probability {best.score:.3f} < cut {self.abstain_below:.3f}",
            )
        # The best evidence first (it holds the short answer); what else is cited follows in date
        # order, then by position in its paper. (How a position changed across meetings, in date
        # order from the first, is the topic history's job: GET /history.)
        runner = None
        longer = continued(self.index, best) if (best.continues or 0.0) >= self.continue_above else None
        if longer is not None:  # the answer goes on in the next sentence: both are one quote, no runner-up
            best = longer
        elif max_citations > 1:
            runner = runner_up(best, scored, self.second_quote_within)
        shown = [best] + ([runner] if runner else [])
        extra = [c for c in self._extra(best, scored, query) if not any(_overlap(c, o) for o in shown)]
        extra = extra[: max_citations - len(shown)]
        extra.sort(key=lambda c: (self.index.documents[c.doc_id].meta.sort_date(), c.start))
        cited = shown + extra
        answer = " ".join(f"{self.render(c)} [{n}]" for n, c in enumerate(cited, 1))
        # The short answer is looked for in the best evidence (citation 1) first; when it holds
        # none of the kind asked for and a runner-up quoted beside it does, that one's is marked.
        span = next(
            ((n, *found) for n, c in ((1, best), (2, runner)) if c and (found := self.answer_span(c, query))), None
        )
        return Composed(
            answer,
            False,
            best.score,
            cited,
            [],
            span,
            reason=f"{best.kind} scored {best.score:.3f} ≥ cut {self.abstain_below:.3f}"
            + (f"; the runner-up ({runner.kind}, {runner.score:.3f}) is too close to tell apart" if runner else "")
            + ("; quoted with the next sentence, where the answer goes on" if best is not scored[0] else ""),
        )

    # -- what else to cite ---------------------------------------------------------------
    def _extra(self, best: Candidate, scored: list[Candidate], query: AnalyzedQuery) -> list[Candidate]:
        if best.kind != "sentence" or best.sentence is None:
            return []
        out: list[Candidate] = []
        dates = {self.index.documents[best.doc_id].meta.sort_date()}
        best_values = self._values(best, query)
        for c in scored[1:15]:
            if c.score < best.score * SECOND_CITATION_RATIO:
                break
            if c.kind != "sentence" or c.sentence is None or len(out) == 2:
                continue
            if best.features.get("type_match") and not c.features.get("type_match"):
                continue  # asked for a figure, date or name: a sentence without one adds nothing
            similarity = float(self.index.sentence_vectors[c.sentence] @ self.index.sentence_vectors[best.sentence])
            if similarity < SAME_POINT_SIMILARITY:
                continue
            date = self.index.documents[c.doc_id].meta.sort_date()
            if date not in dates:  # the same point at another meeting
                dates.add(date)
                out.append(c)
            elif best_values and (self._values(c, query) - best_values) and c.doc_id == best.doc_id:
                out.append(c)  # a different date or figure for the same point
        return out

    def _values(self, c: Candidate, query: AnalyzedQuery) -> set[str]:
        rx = (
            VALUE_PATTERNS.get(query.answer_type)
            if query.answer_type in ("date", "amount", "percentage", "count")
            else None
        )
        if rx is None:
            return set()
        return {m.group(0) for m in rx.finditer(self.index.documents[c.doc_id].text[c.start : c.end])}

    # -- rendering -----------------------------------------------------------------------
    def render(self, c: Candidate) -> str:
        text = self.index.documents[c.doc_id].text
        if c.kind in ("cell", "column_fact") and c.unit is not None:
            u = self.index.units[c.unit]
            value = text[c.value_start : c.value_end]
            if c.kind == "cell":
                return f"{u.label} — {u.header}: {value}"
            assert u.role is not None, "a column fact always names its role (row_/column_ highest/lowest)"
            word = "Highest" if u.role.endswith("highest") else "Lowest"
            if u.role.startswith("row_"):
                return f"{word} on {u.label}: {u.header} ({value})"
            return f"{word} {u.header}: {u.label} ({value})"
        return " ".join(text[c.start : c.end].split())

    def answer_span(self, c: Candidate, query: AnalyzedQuery) -> tuple[int, int] | None:
        """The exact short answer inside the evidence: a unit's value, or inside a sentence the
        date / amount / name / reason clause the question asks for."""
        if c.kind != "sentence":
            if (c.value_start, c.value_end) == (c.start, c.end) and c.kind != "list":
                return None
            return c.value_start, c.value_end
        text = self.index.documents[c.doc_id].text
        # A quote of two sentences (the best and the one its answer goes on in): the added sentence
        # holds the answer, so its value is looked for first.
        parts = [(c.start, c.end)]
        if len(c.sentences) > 1:
            parts = [(int(self.index.sentence_spans[r][1]), int(self.index.sentence_spans[r][2])) for r in c.sentences]
            parts.reverse()
        for start, end in parts:
            found = self._value_in(text[start:end], query)
            if found:
                return start + found[0], start + found[1]
        return None

    @staticmethod
    def _value_in(sentence: str, query: AnalyzedQuery) -> tuple[int, int] | None:
        if query.answer_type == "reason":
            m = _REASON_CLAUSE.search(sentence)
        else:
            rx = _SPAN.get(query.answer_type)
            asked = query.question.lower()
            m = (
                next((m for m in rx.finditer(sentence) if m.group(0).strip().lower() not in asked), None)
                if rx
                else None
            )
        if not m or (m.start(), m.end()) == (0, len(sentence)):
            return None
        return m.start(), len(sentence[: m.end()].rstrip(" .,;"))


def value_missing(query: AnalyzedQuery, features: Mapping[str, float]) -> bool:
    """Asked directly for a value (a sum, date, name …) that the best candidate (its `features`)
    does not hold."""
    return query.asks_value and query.answer_type in VALUE_NAMES and not features.get("type_match")


def log_odds(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def runner_up(best: Candidate, scored: list[Candidate], within: float) -> Candidate | None:
    """The next candidate quoting other words than `best`, if the scorer cannot tell the two apart:
    their log-odds differ by at most `within`. A question asking for a value (best holds one) is
    never given a runner-up without one."""
    if within <= 0:
        return None
    for c in scored[1:]:
        if _overlap(c, best):
            continue  # the same words again (a sentence inside a list, a field on its line)
        if log_odds(best.score) - log_odds(c.score) > within:
            return None
        if best.features.get("type_match") and not c.features.get("type_match"):
            return None
        return c
    return None


def _overlap(a: Candidate, b: Candidate) -> bool:
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end


def _distinct_chunks(cands: list[Candidate]) -> list[Candidate]:
    seen: set[int] = set()
    out = []
    for c in cands:
        if c.chunk not in seen:
            seen.add(c.chunk)
            out.append(c)
    return out
