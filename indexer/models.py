"""Typed records shared by the indexer and the service.

Every span (`start`, `end`) indexes the document's canonical clean text, so
`document.text[start:end]` reproduces the chunk, sentence or cell exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class DocumentMeta:
    id: str
    file: str
    title: str
    council: str | None
    body: str | None
    meeting_date: str | None  # ISO date, or None when the paper does not state it
    doc_type: str
    notes: dict[str, str] = field(default_factory=dict)
    date_bounds: dict[str, str] | None = None
    source_url: str | None = None  # where the council publishes the file (PDF links add #page=N)
    agenda_item: dict[str, str] | None = None  # the agenda item a report belongs to: {number, title}
    agenda_items: list[dict[str, str]] = field(default_factory=list)  # the meeting's agenda
    fetched_at: str | None = None  # when `minutes-qa fetch` downloaded it (UTC, ISO)

    def sort_date(self) -> str:
        """Date used only to order papers chronologically ('9999' sorts unknowns last)."""
        if self.meeting_date:
            return self.meeting_date
        if self.date_bounds and self.date_bounds.get("before"):
            return self.date_bounds["before"]
        return "9999-12-31"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Section:
    title: str  # heading as printed, e.g. "319 Alternative Delivery Model"
    number: str | None  # "319", "6.4", "D5" or None
    depth: int
    start: int
    end: int


@dataclass
class TableCell:
    header: str
    text: str
    start: int
    end: int


@dataclass
class Chunk:
    """A retrievable passage: a paragraph, bullet, table row or table cell."""

    doc_id: str
    kind: str  # "text" | "table_row" | "table_cell"
    start: int
    end: int
    section: str | None  # section path, e.g. "6. Detailed propositions › 6.4. Option 3 …"
    item: str | None  # minute / agenda item / section number of the innermost numbered heading
    search_text: str  # what is embedded and BM25-indexed (adds section and table headers)
    caption: str | None = None
    row_label: str | None = None
    cells: list[TableCell] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        d = dict(d)
        d["cells"] = [TableCell(**c) for c in d.get("cells", [])]
        return cls(**d)


@dataclass
class ParsedDocument:
    meta: DocumentMeta
    text: str
    sections: list[Section]
    chunks: list[Chunk]
    sentences: list[tuple[int, int, int]]  # (chunk index within this document, start, end)
    units: list[Unit] = field(default_factory=list)
    pages: list[tuple[int, int]] = field(default_factory=list)  # (start offset, page number); PDFs only
    skipped_pages: list[str] = field(default_factory=list)  # pages left out, with the reason


@dataclass
class Unit:
    """A typed answer unit built from the paper's structure, with exact spans.

    `text[start:end]` is what a citation quotes (one contiguous span); `text[value_start:value_end]`
    is the short answer inside it (the name, date, cell, items). Kinds:
    - "list": a lead-in and the items it introduces (`parts` = each item's span);
    - "field": a form line or label and its value ("Report author(s):" → the name);
    - "cell": one table cell, addressed by its row label and column header;
    - "column_fact": the highest / lowest value along a table row or column, computed from the
      cells (`parts` = the cells compared), cited to the row that holds it;
    - "fact": a meeting fact (chair, apologies, end time, resolution, author …) with its `role`.
    Headings, titles and captions are never units on their own: they are context (`label`).
    """

    kind: str
    doc_id: str
    start: int
    end: int
    value_start: int
    value_end: int
    label: str | None = None  # lead-in, field label, row label or heading the unit sits under
    header: str | None = None  # column header (cells), or what was compared (column facts)
    role: str | None = None  # meeting-fact role; row_/column_ highest/lowest for column facts
    parts: list[list[int]] = field(default_factory=list)
    chunks: list[int] = field(default_factory=list)  # chunks holding the unit (doc-local, then global)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
