"""The gold question set: loading, normalisation and self-validation against the corpus."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

GOLD_PATH = Path(__file__).with_name("gold.yaml")
KINDS = {
    "number",
    "date",
    "person",
    "reason",
    "table",
    "meeting",
    "cross_paper",
    "follow_up",
    "unanswerable",
    "list",
    "yes_no",
    "front_matter",
}
# The failure classes the set measures (an item may carry several).
TAGS = {
    "list",
    "label",
    "front_matter",
    "named_meeting",
    "everyday",
    "reason",
    "table",
    "follow_up",
    "yes_no",
    "unanswerable",
}
STYLES = {"member", "keyword"}  # member: everyday wording, at most one content word shared with the answer


@dataclass
class GoldItem:
    id: str
    kind: str
    question: str
    history: list[str] = field(default_factory=list)
    answer_patterns: list[str] = field(default_factory=list)
    gold_document: str | None = None
    passages: list[str] = field(default_factory=list)  # gold passage first, then alternatives
    also_cites: list[str] = field(default_factory=list)
    style: str = "keyword"
    tags: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


def normalise(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.lower().split())


def load_gold(path: Path = GOLD_PATH) -> list[GoldItem]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    aliases = data.get("documents", {})
    items = []
    for q in data["questions"]:
        doc = q.get("gold_document")
        items.append(
            GoldItem(
                id=q["id"],
                kind=q["kind"],
                question=q["question"],
                history=list(q.get("history", [])),
                answer_patterns=list(q.get("answer_patterns", [])),
                gold_document=aliases.get(doc, doc),
                passages=[p for p in [q.get("gold_passage")] + list(q.get("alt_passages", [])) if p],
                also_cites=[aliases.get(d, d) for d in q.get("also_cites", [])],
                style=q.get("style", "keyword"),
                tags=list(q.get("tags", [])),
            )
        )
    return items


def passage_spans(text: str, passages: list[str]) -> list[tuple[int, int]]:
    """Every occurrence of every gold passage in a document's clean text. Whitespace runs match any
    whitespace, so a passage is found however the paper's lines are wrapped (a PDF rendition
    breaks lines where the text file does not)."""
    spans = []
    for p in passages:
        for m in re.finditer(r"\s+".join(map(re.escape, p.split())), text):
            spans.append((m.start(), m.end()))
    return spans


def overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def validate(items: list[GoldItem], documents: dict[str, str], labelled: dict[str, str] | None = None) -> list[str]:
    """Problems with the gold set itself: unknown documents, passages not verbatim, patterns that
    match nothing. `documents` maps id -> clean text; `labelled` maps id -> its table rows rendered
    'header: cell' (how table answers read), which patterns may match too. Empty means sound."""
    labelled = labelled or {}
    searchable = {d: normalise(t + "\n" + labelled.get(d, "")) for d, t in documents.items()}
    problems = []
    seen = set()
    for item in items:
        where = f"{item.id}"
        if item.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(item.id)
        if item.kind not in KINDS:
            problems.append(f"{where}: unknown kind '{item.kind}'")
        if item.style not in STYLES:
            problems.append(f"{where}: style must be one of {sorted(STYLES)}")
        for tag in item.tags:
            if tag not in TAGS:
                problems.append(f"{where}: unknown tag '{tag}'")
        if not item.answerable:
            if item.gold_document or item.answer_patterns:
                problems.append(f"{where}: an unanswerable question must not name a gold document or patterns")
            continue
        gold_document = item.gold_document or ""
        text = documents.get(gold_document)
        if text is None:
            problems.append(f"{where}: unknown gold document '{item.gold_document}'")
            continue
        if not item.passages or not item.answer_patterns:
            problems.append(f"{where}: needs a gold_passage and answer_patterns")
        for p in item.passages:
            if p not in text and not any(p in t for t in documents.values()):
                problems.append(f"{where}: passage not found verbatim: {p[:60]!r}")
        if item.passages and item.passages[0] not in text:
            problems.append(f"{where}: gold passage is not in {item.gold_document}")
        matched_gold = False
        for pattern in item.answer_patterns:
            try:
                rx = re.compile(pattern)
            except re.error as exc:
                problems.append(f"{where}: bad pattern {pattern!r}: {exc}")
                continue
            matched_gold |= bool(rx.search(searchable[gold_document]))
            if rx.search(normalise(" ".join(item.history + [item.question]))):
                problems.append(f"{where}: pattern {pattern!r} matches the question's own words")
            if not any(rx.search(t) for t in searchable.values()):
                problems.append(f"{where}: pattern {pattern!r} matches nothing in the corpus")
        if item.answer_patterns and not matched_gold:
            problems.append(f"{where}: no answer pattern matches {item.gold_document}")
    return problems
