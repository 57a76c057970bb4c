"""Blocks → typed answer units: list blocks, form fields, table cells and computed column facts.

Sentences are already retrievable on their own; these units are what a sentence cannot be:
- a **list** is a lead-in with the items it introduces (a lead-in alone answers nothing);
- a **field** is a label with its value ("Report author(s):" then the name on the next line);
- a **cell** is one table cell addressed by row label *and* column header, in either direction;
- a **column fact** is the highest / lowest value along a table's row or column, computed from
  the cells and cited to the row that holds it.
Headings, titles and captions become `label` context, never units of their own. Genre patterns
live in `indexer/data/genre.yaml`.
"""

from __future__ import annotations

import bisect
import functools
import re
from pathlib import Path
from typing import TypeVar

import yaml

from indexer.models import Chunk, Unit
from indexer.structure import Block, Cell

GENRE_FILE = Path(__file__).with_name("data") / "genre.yaml"
_NUMBER = re.compile(r"^[-+]?£?\s?(\d[\d,]*(?:\.\d+)?)\s?%?$")
_INLINE_FIELD = re.compile(r"^(?P<label>[A-Z][A-Za-z()’'/& -]{1,40}?)\s?:\s+(?P<value>\S.{0,240})$")
_ANSWER_WORD = re.compile(r"^(yes|no|none|nil|n/a|all|not applicable|tbc)\.?$", re.I)
_ORDERED = re.compile(r"^\s*(?:\d{1,2}(?:\.\d{1,2})*\.?|\(?[a-z]\)|\(?[ivx]{1,4}\))\s+\S")


@functools.lru_cache(maxsize=1)
def genre() -> dict:
    data = yaml.safe_load(GENRE_FILE.read_text(encoding="utf-8"))
    flags = re.I | re.M
    data["field_roles_rx"] = {role: re.compile(rx, re.I) for role, rx in data["field_roles"].items()}
    data["sentence_facts_rx"] = {
        role: re.compile(rx, flags if role != "resolution" else re.M) for role, rx in data["sentence_facts"].items()
    }
    data["lead_in_rx"] = re.compile(data["lead_in"], re.I)
    data["list_label_rx"] = re.compile(data["list_label"], re.I)
    data["heading_time_rx"] = re.compile(data["heading_time"], re.I)
    return data


def is_label_line(body: str) -> bool:
    """A short line that names what follows: 'Present:', 'Report author(s):', 'Ward(s) Affected',
    'Is this a Key Decision …?'. Not a sentence (no full stop) and not a list item."""
    body = body.strip()
    if "\n" in body or not body or body.startswith(("•", "◦")) or _INLINE_FIELD.match(body):
        return False
    if body.endswith("?"):
        return len(body.split()) <= 20
    return len(body.split()) <= 8 and not body.endswith((".", "!", ";", ","))


class _ChunkLocator:
    """Which of a document's chunks overlap a span (chunks sorted by start)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.order = sorted(range(len(chunks)), key=lambda i: (chunks[i].start, chunks[i].end))
        self.starts = [chunks[i].start for i in self.order]
        self.chunks = chunks

    def overlapping(self, start: int, end: int) -> list[int]:
        hi = bisect.bisect_left(self.starts, end)
        out = [i for i in self.order[max(0, hi - 64) : hi] if self.chunks[i].end > start]
        return sorted(out)


def build_units(doc_id: str, text: str, blocks: list[Block], chunks: list[Chunk]) -> list[Unit]:
    units: list[Unit] = []
    units += _lists(doc_id, text, blocks)
    units += _fields(doc_id, text, blocks)
    for block in blocks:
        if block.kind == "table" and block.header_row is not None:
            units += _table_units(doc_id, block, block.header_row)
    return assign_chunks(units, chunks)


def assign_chunks(units: list[Unit], chunks: list[Chunk]) -> list[Unit]:
    """Record which chunks hold each unit (so a retrieved chunk brings its units); drop units
    that no chunk holds (e.g. inside a table of contents, which is not indexed)."""
    locate = _ChunkLocator(chunks)
    for u in units:
        found: set[int] = set()
        for s, e in u.parts + [[u.start, u.end]]:
            found.update(locate.overlapping(s, e))
        u.chunks = sorted(found)
    return [u for u in units if u.chunks]


# -- lists ----------------------------------------------------------------------------------
def _last_sentence_start(text: str, start: int, end: int) -> int:
    """Where the last sentence of a paragraph begins (the lead-in is that sentence)."""
    body = text[start:end]
    cut = max(body.rfind(". ", 0, len(body) - 1), body.rfind("\n"))
    return start + cut + 1 + (1 if cut >= 0 and body[cut] == "." else 0) if cut >= 0 else start


def _lists(doc_id: str, text: str, blocks: list[Block]) -> list[Unit]:
    g = genre()
    out: list[Unit] = []
    heading: str | None = None
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            heading = block.title
        body = text[block.start : block.end]
        label: str | None = None
        lead_start: int | None = None
        if (
            block.kind == "paragraph"
            and g["lead_in_rx"].search(body.rstrip())
            and (
                not is_label_line(body)
                or _items_after(text, blocks, i + 1)
                or _numbered_lines_next(text, blocks, i + 1)
            )
        ):
            # A short lead-in ("The Committee raised the following points:") is still a lead-in
            # when items follow it; otherwise a short line ending in ':' is a form label.
            lead_start = _last_sentence_start(text, block.start, block.end)
            label = " ".join(text[lead_start : block.end].split())
        elif block.kind == "heading" and g["list_label_rx"].search(block.title or ""):
            label = block.title
        elif block.kind == "paragraph" and is_label_line(body) and g["list_label_rx"].search(body.strip()):
            label = body.strip()
        else:
            continue
        items = _items_after(text, blocks, i + 1)
        if not items and block.kind == "paragraph":
            # "Recommendations" (or a lead-in) then one paragraph of numbered lines: each is an item.
            items = _numbered_lines_next(text, blocks, i + 1)
        if len(items) < 2 or len(items) > g["max_list_items"]:
            continue
        start = lead_start if lead_start is not None else items[0][0]
        end = items[-1][1]
        if end - start > g["max_list_chars"]:
            continue
        out.append(
            Unit(
                "list",
                doc_id,
                start,
                end,
                items[0][0],
                end,
                label=label,
                header=heading,
                parts=[list(p) for p in items],
            )
        )
    return out


def _items_after(text: str, blocks: list[Block], j: int) -> list[tuple[int, int]]:
    """Consecutive bullet or numbered-line blocks from position j (nested bullets join their parent)."""
    items: list[tuple[int, int]] = []
    top_depth: int | None = None
    while j < len(blocks):
        b = blocks[j]
        body = text[b.start : b.end]
        if b.kind == "bullet":
            if top_depth is None or b.depth <= top_depth:
                top_depth = b.depth if top_depth is None else top_depth
                items.append((b.start + (2 if body.startswith("• ") else 0), b.end))
            elif items:
                items[-1] = (items[-1][0], b.end)  # a sub-bullet belongs to its item
        elif b.kind == "paragraph" and _ORDERED.match(body) and "\n" not in body.strip():
            items.append((b.start, b.end))
        else:
            break
        j += 1
    return items


def _numbered_lines_next(text: str, blocks: list[Block], j: int) -> list[tuple[int, int]]:
    nxt = blocks[j] if j < len(blocks) else None
    return _numbered_lines(text, nxt.start, nxt.end) if nxt is not None and nxt.kind == "paragraph" else []


def _numbered_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    pos = start
    for line in text[start:end].split("\n"):
        if _ORDERED.match(line):
            out.append((pos, pos + len(line.rstrip())))
        pos += len(line) + 1
    return out if len(out) >= 2 else []


# -- fields ---------------------------------------------------------------------------------
def field_role(label: str) -> str | None:
    """The meeting-fact role a form label names ('Report author(s)' → author), if any."""
    for role, rx in genre()["field_roles_rx"].items():
        if rx.search(label.strip()):
            return role
    return None


def _fields(doc_id: str, text: str, blocks: list[Block]) -> list[Unit]:
    out: list[Unit] = []
    consumed: set[int] = set()  # a block taken as a field's value is not also a label
    for i, block in enumerate(blocks):
        if block.kind != "paragraph":
            continue
        body = text[block.start : block.end]
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if (
            i not in consumed
            and is_label_line(body)
            and not _ANSWER_WORD.match(body.strip())
            and nxt is not None
            and nxt.kind == "paragraph"
            and not _ORDERED.match(text[nxt.start : nxt.end])
        ):
            value = text[nxt.start : nxt.end]
            label = body.strip().rstrip(":").strip()
            # A known form label, or one that ends in ':' or '?', takes even a label-like value
            # ("Ward(s) Affected" → "All"); otherwise the value must read as content.
            named = (
                field_role(label) is not None
                or body.rstrip().endswith((":", "?"))
                or bool(_ANSWER_WORD.match(value.strip()))
            )
            if len(value.split()) <= 60 and not value.rstrip().endswith(":") and (named or not is_label_line(value)):
                out.append(Unit("field", doc_id, block.start, nxt.end, nxt.start, nxt.end, label=label))
                consumed.add(i + 1)
                continue
        pos = block.start
        for line in body.split("\n"):  # inline "Label: value" lines ("Contact: …", "Venue: …")
            m = _INLINE_FIELD.match(line.strip())
            lead = len(line) - len(line.lstrip())
            if m and len(m.group("label").split()) <= 5:
                s = pos + lead
                out.append(
                    Unit(
                        "field",
                        doc_id,
                        s,
                        s + len(line.strip()),
                        s + m.start("value"),
                        s + m.end("value"),
                        label=m.group("label").strip(),
                    )
                )
            pos += len(line) + 1
    return out


# -- tables ---------------------------------------------------------------------------------
def _number(cell_text: str) -> float | None:
    m = _NUMBER.match(cell_text.strip())
    if not m:
        return None
    try:
        return float(m.group(1).replace(",", ""))
    except ValueError:
        return None


def _table_units(doc_id: str, block: Block, header_row: int) -> list[Unit]:
    headers = [c.text for c in block.rows[header_row]]
    out: list[Unit] = []
    rows = [(r, row) for r, row in enumerate(block.rows) if r > header_row]
    labelled: list[tuple[str, list]] = []
    for _, row in rows:
        label_i = next((i for i, c in enumerate(row) if c.text and i < len(headers) and headers[i]), None)
        if label_i is None:
            continue
        label = row[label_i].text
        labelled.append((label, row))
        filled = [c for c in row if c.text]
        rs, re_ = filled[0].start, filled[-1].end
        for c, cell in enumerate(row):
            if c == label_i or c >= len(headers) or not headers[c]:
                continue
            # quote: the row (what a reader sees); value: the one cell
            if cell.text:
                out.append(Unit("cell", doc_id, rs, re_, cell.start, cell.end, label=label, header=headers[c]))
        # Highest / lowest across this row's numeric columns (e.g. which option scored most on a criterion).
        numeric = [
            (headers[c], value, cell)
            for c, cell in enumerate(row)
            if c != label_i and c < len(headers) and headers[c] and (value := _number(cell.text)) is not None
        ]
        out += _row_extremes(doc_id, rs, re_, label, numeric)
    # Highest / lowest down each numeric column (e.g. which option had the top overall score).
    for c, header in enumerate(headers):
        if not header:
            continue
        column = [
            ((label, row), value, row[c])
            for label, row in labelled
            if c < len(row) and (value := _number(row[c].text)) is not None and row[c].text != label
        ]
        for role, (label, row), cell in _unique_extremes("column", column):
            filled = [x for x in row if x.text]
            out.append(
                Unit(
                    "column_fact",
                    doc_id,
                    filled[0].start,
                    filled[-1].end,
                    cell.start,
                    cell.end,
                    label=label,
                    header=header,
                    role=role,
                    parts=[[x.start, x.end] for _, _, x in column],
                )
            )
    return out


def _row_extremes(doc_id: str, rs: int, re_: int, label: str, numeric: list[tuple[str, float, Cell]]) -> list[Unit]:
    return [
        Unit(
            "column_fact",
            doc_id,
            rs,
            re_,
            cell.start,
            cell.end,
            label=label,
            header=header,
            role=role,
            parts=[[x.start, x.end] for _, _, x in numeric],
        )
        for role, header, cell in _unique_extremes("row", numeric)
    ]


Key = TypeVar("Key")


def _unique_extremes(along: str, entries: list[tuple[Key, float, Cell]]) -> list[tuple[str, Key, Cell]]:
    """(role, key, cell) for the highest and the lowest of `entries` — (key, number, cell) along a
    row or down a column, at least three of them — when exactly one entry holds it: a tie has no
    single answer (the cells still answer directly)."""
    if len(entries) < 3:
        return []
    out: list[tuple[str, Key, Cell]] = []
    for extreme, pick in (("highest", max), ("lowest", min)):
        best = pick(v for _, v, _ in entries)
        winners = [(key, cell) for key, v, cell in entries if v == best]
        if len(winners) == 1:
            key, cell = winners[0]
            out.append((f"{along}_{extreme}", key, cell))
    return out
