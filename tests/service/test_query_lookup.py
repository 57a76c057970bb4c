"""The question analyser's metadata lookups (service/query.py `MetadataLookup`, made once per
index) give what scanning every paper's metadata per question gave: the same constraints and the
same named papers, in corpus order. `_scanned_constraints` is the scan as it was before the
lookups, kept here as the reference."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from indexer.models import DocumentMeta
from service.query import _DATE, _MONTHS, _YEAR, Constraints, MetadataLookup, QueryAnalyzer, _head, constraints, cues
from tests.service.test_query import METAS, UNDATED, meta


def _scanned_constraints(question: str, metas) -> Constraints:
    c = cues()
    generic = set(c["generic_body_words"])
    bodies_by_head: dict[str, set[str]] = {}
    for m in metas:
        if m.body:
            bodies_by_head.setdefault(_head(m.body), set()).add(m.body)
    bodies: set[str] = set()
    heads = [h for h in bodies_by_head if h and h not in generic]
    if heads:
        rx = re.compile(c["body_cue"].format(heads="|".join(map(re.escape, heads))), re.I)
        for m in rx.finditer(question):
            bodies |= bodies_by_head[m.group(1).lower()]
    for m in metas:
        if not m.body:
            continue
        if _head(m.body) in generic:
            if re.search(rf"\b(full|at|to|before) {re.escape(m.body)}\b", question):
                bodies.add(m.body)
        elif re.search(rf"\b{re.escape(m.body)}\b", question, re.I):
            bodies.add(m.body)
    councils: set[str] = set()
    names = {}
    for m in metas:
        if m.council:
            for word in m.council.split():
                if word.lower() not in generic and len(word) > 3:
                    names[word.lower()] = m.council
    if names:
        rx = re.compile(c["council_cue"].format(councils="|".join(map(re.escape, names))), re.I)
        councils = {names[m.group(1).lower()] for m in rx.finditer(question)}
    doc_types = tuple(
        sorted(k for k, rx in c["doc_types_rx"].items() if rx.search(question) and any(m.doc_type == k for m in metas))
    )
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


# Papers of several bodies, councils, types and dates (some undated, one body-less), in an order
# where the same body and date recur far apart.
CORPUS = [
    *METAS,
    UNDATED,
    meta("adc-cabinet-2023", "Anytown District Council", "Cabinet", "2023-11-02", "minutes"),
    meta("scc-panel-2024", "Shire County Council", "Children and Families Scrutiny Panel", "2024-05-03", "agenda"),
    DocumentMeta("loose-note", "loose-note.txt", "A note", None, None, None, None),
    meta("scc-council-2024", "Shire County Council", "Council", "2024-03-14", "minutes"),
    meta("adc-planning-2023", "Anytown District Council", "Planning Committee", "2023-05-03", "minutes"),
]

QUESTIONS = [
    "Who chaired the Planning Committee?",
    "What did the Cabinet decide on 14 March 2024?",
    "What did the committee decide on 3 May 2024?",
    "Which papers went to full Council in 2024?",
    "What did Shire's cabinet say in March 2024?",
    "What did Anytown's planning committee minutes record in 2023?",
    "What was on the agenda of the panel?",
    "What did the Scrutiny Panel recommend in May 2024?",
    "What did the council agree?",
    "What happened with the Mill Lane application?",
    "What did the Cabinet report say about item 7?",
    "Who sent apologies to the Cabinet meeting of 2 November 2023?",
    "What did the Planning Committee minutes of 31 February 2024 say?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_lookups_give_the_scans_constraints_and_named_papers(question):
    lookup = MetadataLookup(CORPUS)
    found = constraints(question, lookup)
    assert found == _scanned_constraints(question, CORPUS)
    assert lookup.named_documents(found) == found.named_documents(CORPUS)


def test_the_questions_name_papers_at_all():
    """(So the test above compares non-empty lists, not only empty ones.)"""
    lookup = MetadataLookup(CORPUS)
    named = [lookup.named_documents(constraints(q, lookup)) for q in QUESTIONS]
    assert sum(len(n) > 1 for n in named) >= 4
    assert lookup.named_documents(constraints("Who chaired the Planning Committee?", lookup)) == [
        "adc-planning-minutes",
        "adc-planning-agenda",
        "adc-planning-2023",
    ]


def test_the_analyzer_resolves_named_papers_with_the_lookups():
    q = QueryAnalyzer(CORPUS).run("What did the Cabinet decide on 14 March 2024?")
    assert q.named_documents == ("scc-cabinet-report", "scc-cabinet-minutes")
