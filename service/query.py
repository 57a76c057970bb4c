"""Question analysis: what a question asks for and which meeting, body or paper it names.

`QueryAnalyzer(metas).run(question, history_user_turns)` → `AnalyzedQuery`: the standalone text (follow-ups
resolved by `service.conversation`), the expected answer type (person, date, amount, count,
percentage, score, place, reason, list, yes/no, description), the meeting-fact roles it asks for
(chair, apologies, author …), and the constraints it names — body, council, meeting date, document
type, item number — matched against the index's manifest. Constraints are *boosts* (a feature the
scorer weighs and an extra filtered retrieval pass), never hard filters: only the user's own
filters filter. Cue words live in `service/data/question.yaml`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from service.conversation import StandaloneQuery, resolve

DATA_FILE = Path(__file__).with_name("data") / "question.yaml"
GLOSSARY_FILE = Path(__file__).with_name("data") / "glossary.yaml"
_MONTHS = ("january february march april may june july august september october november december").split()
_DATE = re.compile(r"\b(?:(\d{1,2})(?:st|nd|rd|th)?\s+)?(" + "|".join(_MONTHS) + r")\s+((?:19|20)\d\d)\b", re.I)
_YEAR = re.compile(r"\b(?:in|during|of)\s+((?:19|20)\d\d)\b")


@functools.lru_cache(maxsize=1)
def cues() -> dict:
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    data["answer_types_rx"] = {k: re.compile(v, re.I) for k, v in data["answer_types"].items()}
    data["fact_roles_rx"] = {k: re.compile(v, re.I) for k, v in data["fact_roles"].items()}
    data["doc_types_rx"] = {k: re.compile(v, re.I) for k, v in data["doc_types"].items()}
    data["item_rx"] = re.compile(data["item_cue"], re.I)
    data["extremes_rx"] = {k: re.compile(v, re.I) for k, v in data["extremes"].items()}
    data["value_asked_rx"] = re.compile(data["value_asked"], re.I)
    return data


@functools.lru_cache(maxsize=1)
def glossary() -> list[tuple[re.Pattern, str]]:
    data = yaml.safe_load(GLOSSARY_FILE.read_text(encoding="utf-8"))
    return [(re.compile(rf"\b(?:{k})\b", re.I), v) for k, v in data["expansions"].items()]


def expansion(question: str) -> str:
    """The council's words for the everyday words a question uses ('lose their jobs' →
    'redundancies'), to search with as well as the question's own words."""
    words: list[str] = []
    for rx, council_words in glossary():
        if rx.search(question):
            words += [w for w in council_words.split() if w.lower() not in question.lower()]
    return " ".join(dict.fromkeys(words))


@dataclass
class Constraints:
    """What the question itself names, resolved to manifest values (empty = names nothing)."""

    bodies: tuple[str, ...] = ()
    councils: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()  # ISO dates, or "YYYY-MM" / "YYYY" for a month or year
    items: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.bodies or self.councils or self.doc_types or self.dates or self.items)

    def named_documents(self, metas) -> list[str]:
        """Ids of the papers that satisfy every constraint the question names (none if it names none)."""
        return [] if self.is_empty() else [m.id for m in metas if self.matches(m) == 1.0]

    def matches(self, meta, item: str | None = None) -> float:
        """1.0 when a paper (and item) satisfies every named constraint, 0.0 when it contradicts
        one, 0.5 when nothing is named."""
        if self.is_empty():
            return 0.5
        checks = []
        if self.bodies:
            checks.append((meta.body or "") in self.bodies)
        if self.councils:
            checks.append((meta.council or "") in self.councils)
        if self.doc_types:
            checks.append(meta.doc_type in self.doc_types)
        if self.dates:
            checks.append(any((meta.meeting_date or "").startswith(d) for d in self.dates))
        if self.items:
            checks.append(item is not None and any(item == i or item.startswith(i + ".") for i in self.items))
        return sum(checks) / len(checks)


@dataclass
class AnalyzedQuery:
    text: str  # standalone text used for retrieval
    question: str  # what the user typed this turn
    own_terms: list[str]
    carried_terms: list[str]
    answer_type: (
        # person | date | amount | count | percentage | score | grade (an inspection's) | place | reason |
        # list | yes_no | description
        str
    )
    roles: tuple[str, ...] = ()  # meeting-fact roles asked for
    extreme: str | None = None  # "highest" | "lowest" when the question asks for a table's extreme
    expansion: str = ""  # council words for the question's everyday words (searched as well)
    constraints: Constraints = field(default_factory=Constraints)
    # The papers that satisfy every constraint (resolved once here; retrieval's named pass, the
    # passage re-ranker and the meeting facts all use them).
    named_documents: tuple[str, ...] = ()
    is_follow_up: bool = False
    subject: str | None = None
    asks_value: bool = False  # asks for a value of its answer type directly ("how much", "who" …)

    def standalone(self) -> StandaloneQuery:
        return StandaloneQuery(self.text, self.own_terms, self.carried_terms, self.is_follow_up, self.subject)


_LEADING = [
    (re.compile(r"^\s*(?:and\s+|so\s+|but\s+)?why\b", re.I), "reason"),
    (re.compile(r"^\s*(?:and\s+|so\s+|but\s+)?(?:who|whom|whose)\b", re.I), "person"),
    (re.compile(r"^\s*(?:and\s+|so\s+|but\s+)?when\b", re.I), "date"),
    (re.compile(r"^\s*(?:and\s+|so\s+|but\s+)?where\b", re.I), "place"),
    (re.compile(r"^\s*(?:and\s+|so\s+|but\s+)?how many (?:pounds|£)", re.I), "amount"),  # a sum, not a count
    (re.compile(r"^\s*(?:and\s+|so\s+|but\s+)?how many\b", re.I), "count"),
    (re.compile(r"^\s*(?:and\s+|so\s+|but\s+)?how much\b(?! of)", re.I), "amount"),
    # "Is it going to cost us anything?" asks for the amount, not for yes or no.
    (re.compile(r"\b(cost|costs|spend|pay|charge)\b[^?]*\banything\b", re.I), "amount"),
]
_ORDER = ("reason", "yes_no", "grade", "percentage", "score", "date", "person", "count", "amount", "place", "list")


# Answer types that are a value a sentence either holds or not (a sum, a number, a date or time, a
# percentage, a score, a name); descriptions, reasons, lists and yes/no are answered by any sentence.
VALUE_TYPES = ("amount", "count", "date", "percentage", "score", "person", "grade")


def answer_type(question: str) -> str:
    """The question's leading wh-word decides when it has one ("Who will pay …?" asks for a
    person, not an amount); otherwise the cue lists, in an order where a money word cannot
    outvote a yes/no, score or date question."""
    for rx, kind in _LEADING:
        if rx.search(question):
            return kind
    rx_by_kind = cues()["answer_types_rx"]
    for kind in _ORDER:
        if rx_by_kind[kind].search(question):
            return kind
    return "description"


def extreme(question: str) -> str | None:
    if re.search(cues()["not_extreme"], question, re.I):
        return None
    return next((k for k, rx in cues()["extremes_rx"].items() if rx.search(question)), None)


# A meeting fact answers a question only when the question asks for its kind of value: "Who
# chaired?" asks for the chair, "What concerns did the Chairman raise?" does not.
_ROLE_TYPES = {
    "chair": {"person", "yes_no"},
    "vice_chair": {"person", "yes_no"},
    "present": {"person", "list", "count", "yes_no"},
    "also_attended": {"person", "list", "yes_no"},
    "apologies": {"person", "list", "count", "yes_no"},
    "author": {"person"},
    "contact": {"person", "description"},
    "accountable_officer": {"person"},
    "portfolio_holder": {"person"},
    "ended": {"date"},
    "started": {"date"},
    "venue": {"place", "description"},
    "recommendations": {"list", "description"},
    "resolutions": {"list", "description", "yes_no"},
    "resolution": {"list", "description", "yes_no"},
    "declarations": {"person", "yes_no", "description"},
    "wards": {"place", "list", "description", "person"},
    "key_decision": {"yes_no", "description"},
    "background_papers": {"list", "description"},
    "report_title": {"description"},
    "meeting": {"date", "description", "person"},
}


def fact_roles(question: str, kind: str | None = None) -> tuple[str, ...]:
    kind = kind or answer_type(question)
    return tuple(
        role
        for role, rx in cues()["fact_roles_rx"].items()
        if rx.search(question) and kind in _ROLE_TYPES.get(role, {kind})
    )


def _head(body: str) -> str:
    """A body's head word as people say it: 'Children and Families Overview and Scrutiny Panel' → panel."""
    return body.split()[-1].lower() if body.split() else ""


class MetadataLookup:
    """What the question analyser matches questions against, made once from every paper's
    metadata (`metas`, in corpus order) instead of scanning every paper per question: the bodies
    by head word, the councils by name word, the document types present, and the papers by body,
    council, type and meeting date (for `named_documents`). At 5,000 papers the scans took tens
    of milliseconds a question; these lookups cost what the question names, not the corpus size."""

    def __init__(self, metas) -> None:
        c = cues()
        generic = set(c["generic_body_words"])
        self.ids: list[str] = []
        self.bodies_by_head: dict[str, set[str]] = {}
        bodies: dict[str, None] = {}  # distinct bodies, first-seen order
        self.council_names: dict[str, str] = {}  # name word → council (the last paper naming it wins)
        self.doc_types: set[str | None] = set()
        self.by_body: dict[str, list[int]] = {}
        self.by_council: dict[str, list[int]] = {}
        self.by_type: dict[str | None, list[int]] = {}
        dated: list[tuple[str, int]] = []
        for pos, m in enumerate(metas):
            self.ids.append(m.id)
            if m.body:
                self.bodies_by_head.setdefault(_head(m.body), set()).add(m.body)
                bodies[m.body] = None
            if m.council:
                for word in m.council.split():
                    if word.lower() not in generic and len(word) > 3:
                        self.council_names[word.lower()] = m.council
            self.doc_types.add(m.doc_type)
            self.by_body.setdefault(m.body or "", []).append(pos)
            self.by_council.setdefault(m.council or "", []).append(pos)
            self.by_type.setdefault(m.doc_type, []).append(pos)
            if m.meeting_date:
                dated.append((m.meeting_date, pos))
        dated.sort()
        self._dates = [d for d, _ in dated]
        self._dated_positions = [pos for _, pos in dated]
        heads = [h for h in self.bodies_by_head if h and h not in generic]
        self.body_head_rx = (
            re.compile(c["body_cue"].format(heads="|".join(map(re.escape, heads))), re.I) if heads else None
        )
        # The body's full name, or "full Council" for a body called Council ("the council" is every
        # paper's authority, not the body).
        self.body_name_rx = [
            (
                re.compile(rf"\b(full|at|to|before) {re.escape(b)}\b")
                if _head(b) in generic
                else re.compile(rf"\b{re.escape(b)}\b", re.I),
                b,
            )
            for b in bodies
        ]
        names = self.council_names
        self.council_rx = (
            re.compile(c["council_cue"].format(councils="|".join(map(re.escape, names))), re.I) if names else None
        )

    def _dated(self, prefix: str) -> list[int]:
        """Positions of the papers whose meeting date starts with `prefix` (a day, month or year)."""
        lo = bisect.bisect_left(self._dates, prefix)
        hi = bisect.bisect_left(self._dates, prefix + "\uffff", lo)
        return self._dated_positions[lo:hi]

    def named_documents(self, found: Constraints) -> list[str]:
        """`found.named_documents(metas)` (the papers satisfying every named constraint, in corpus
        order), from the lookups."""
        if found.is_empty() or found.items:  # a paper alone never satisfies an item constraint
            return []
        sets: list[set[int]] = []
        tables: tuple[tuple[tuple, dict], ...] = (
            (found.bodies, self.by_body),
            (found.councils, self.by_council),
            (found.doc_types, self.by_type),
        )
        for named, table in tables:
            if named:
                sets.append({p for v in named for p in table.get(v, ())})
        if found.dates:
            sets.append({p for d in found.dates for p in self._dated(d)})
        sets.sort(key=len)
        hits = set.intersection(*sets)
        return [self.ids[p] for p in sorted(hits)]


def constraints(question: str, metas) -> Constraints:
    """Match what the question names against the papers' metadata (`metas`: DocumentMeta list, or
    a `MetadataLookup` made from it once)."""
    lookup = metas if isinstance(metas, MetadataLookup) else MetadataLookup(metas)
    c = cues()
    bodies: set[str] = set()
    if lookup.body_head_rx is not None:
        for m in lookup.body_head_rx.finditer(question):
            bodies |= lookup.bodies_by_head[m.group(1).lower()]
    for rx, body in lookup.body_name_rx:
        if rx.search(question):
            bodies.add(body)
    councils: set[str] = set()
    if lookup.council_rx is not None:
        councils = {lookup.council_names[m.group(1).lower()] for m in lookup.council_rx.finditer(question)}
    doc_types = tuple(sorted(k for k, rx in c["doc_types_rx"].items() if rx.search(question) and k in lookup.doc_types))
    dates: list[str] = []
    for m in _DATE.finditer(question):
        month = _MONTHS.index(m.group(2).lower()) + 1
        try:
            dates.append(
                dt.date(int(m.group(3)), month, int(m.group(1))).isoformat()
                if m.group(1)
                else f"{m.group(3)}-{month:02d}"
            )
        except ValueError:
            continue
    dates += [m.group(1) for m in _YEAR.finditer(question)] if not dates else []
    items = tuple(m.group(1) for m in c["item_rx"].finditer(question))
    return Constraints(tuple(sorted(bodies)), tuple(sorted(councils)), doc_types, tuple(dates), items)


class QueryAnalyzer:
    """Typed entry point of the question-analysis stage."""

    def __init__(self, metas) -> None:
        self.metas = list(metas)
        self.lookup = MetadataLookup(self.metas)

    def run(self, question: str, history_user_turns: list[str] | None = None) -> AnalyzedQuery:
        sq = resolve(question, history_user_turns or [])
        own = question.strip()
        # The answer type comes from the user's own words ("Who presented it?" asks for a person
        # whatever the earlier turn asked); constraints from the whole standalone query.
        kind = answer_type(own)
        if kind == "description" and sq.subject:
            # "What about the Cabinet?" after "Who chaired the Panel?" asks what the rewritten
            # question asks.
            kind, own = answer_type(sq.text), sq.text
        found = constraints(sq.text, self.lookup)
        return AnalyzedQuery(
            text=sq.text,
            question=question.strip(),
            own_terms=sq.own_terms,
            carried_terms=sq.carried_terms,
            answer_type=kind,
            roles=fact_roles(own, kind),
            extreme=extreme(own),
            expansion=expansion(sq.text),
            constraints=found,
            named_documents=tuple(self.lookup.named_documents(found)),
            is_follow_up=sq.is_follow_up,
            subject=sq.subject,
            asks_value=kind in VALUE_TYPES and bool(cues()["value_asked_rx"].search(own)),
        )
