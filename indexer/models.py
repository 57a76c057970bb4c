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
    def from_dict(cls, d: dict[str, Any]) -> "Chunk":
        d = dict(d)
        d["cells"] = [TableCell(**c) for c in d.get("cells", [])]
        return cls(**d)


@dataclass(frozen=True)
class Sentence:
    chunk: int  # index into the chunk list
    start: int
    end: int


@dataclass
class ParsedDocument:
    meta: DocumentMeta
    text: str
    sections: list[Section]
    chunks: list[Chunk]
    sentences: list[tuple[int, int, int]]  # (chunk index within this document, start, end)
