"""Paper text → canonical clean text plus structural blocks with exact spans.

The clean text is written here, block by block, so every span is known as it is
written: `text[block.start:block.end]` is the block, and table cells keep their own
spans. Headings are recognised from markdown `#` lines, bold-only lines, numbered
lines ("319 Alternative Delivery Model", "6.4. Option 3 …", "D5. …") and the
number-on-its-own-line form of web minutes ("1839." then the title).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from indexer.inline import clean_inline

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\s*\*\*(.+)\*\*\s*$")
_NUMBERED = re.compile(r"^(?P<num>(?:[A-Z]\d{1,2}|\d{1,4})(?:\.\d{1,3})*)\.?\s+(?P<title>[A-Z(‘'\"].*)$")
_NUMBER_ONLY = re.compile(r"^\s*(\d{1,5})\.\s*$")
_BULLET = re.compile(r"^(?P<indent>\s*)(?P<mark>[-*•·▪◦]|o(?=\s))\s+(?P<text>\S.*)$")
_ORDERED_ITEM = re.compile(r"^\s*(?:\d{1,2}(?:\.\d{1,2})*\.?|[ivx]{1,4}\)|[a-z]\))\s+\S")
_TERMINAL = (".", ":", ";", ",", "?", "!")
_FIGURE = re.compile(r"^(?:Figure|Table)\s+\d+\s*[:.]", re.I)
_NUMERIC_CELL = re.compile(r"^[-+£$]?\d[\d,.]*%?$")


@dataclass
class Cell:
    text: str
    start: int
    end: int


@dataclass
class Block:
    kind: str  # "heading" | "paragraph" | "bullet" | "table"
    start: int = 0
    end: int = 0
    depth: int = 0  # heading depth or bullet level
    number: str | None = None
    title: str | None = None
    rows: list[list[Cell]] = field(default_factory=list)
    header_row: int | None = None  # index into rows, for tables with column headers
    caption: str | None = None


def _heading_depth(number: str | None) -> int:
    if number is None:
        return 9  # unnumbered headings nest under the numbered ones
    if number[0].isalpha():
        return 5  # criterion codes (D5, V3, F1) sit under the numbered appendix sections
    return number.count(".") + 1


def _numbered_heading(text: str) -> tuple[str, str] | None:
    m = _NUMBERED.match(text)
    if not m:
        return None
    title = m.group("title").strip()
    if len(title.split()) > 14 or title.endswith(_TERMINAL[:1] + (";", ",")):
        return None
    return m.group("num"), title


def _is_header_row(cells: list[str]) -> bool:
    filled = [c for c in cells if c]
    if len(filled) < 2:
        return False
    return all(len(c.split()) <= 8 and not _NUMERIC_CELL.match(c) and not c.endswith(".") for c in filled)


class _Writer:
    """Appends to the clean text and hands back the span of what it wrote."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def write(self, s: str) -> tuple[int, int]:
        start = self.pos
        self.parts.append(s)
        self.pos += len(s)
        return start, self.pos

    def text(self) -> str:
        return "".join(self.parts)


def _join_split_bold(lines: list[str]) -> list[str]:
    """PDF conversion sometimes splits '**319 Alternative' / 'Delivery Model**' over two lines."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if (
            line.lstrip().startswith("**")
            and line.count("**") == 1
            and i + 1 < len(lines)
            and lines[i + 1].rstrip().endswith("**")
            and lines[i + 1].count("**") == 1
        ):
            out.append(line.rstrip() + " " + lines[i + 1].strip())
            i += 2
            continue
        out.append(line)
        i += 1
    return out


# A raw block: its kind and what the kind carries.
RawBlock = (
    tuple[Literal["numbered"], tuple[str, str]]  # (number, title line)
    | tuple[Literal["md_heading"], str]
    | tuple[Literal["bullet"], tuple[int, str]]  # (level, text)
    | tuple[Literal["para"], list[str]]  # lines
    | tuple[Literal["table"], list[str]]  # tab-separated rows
    | tuple[Literal["page"], int]  # a page starts (PDF papers mark pages with "\f<number>" lines)
)

# A page-start line of the PDF reader (indexer.pdf_source.PAGE_MARK then the page number).
_PAGE_LINE = re.compile(r"^\f(\d{1,5})\s*$")


def _raw_blocks(source: str) -> list[RawBlock]:
    """Group source lines into raw blocks before any text is written."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("\ufeff", "").split("\n")
    lines = _join_split_bold(lines)
    blocks: list[RawBlock] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(("para", list(para)))
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        page = _PAGE_LINE.match(line)
        if page:
            flush()
            blocks.append(("page", int(page.group(1))))
            i += 1
            continue
        if not line.strip():
            flush()
            i += 1
            continue
        if "\t" in line:
            flush()
            rows: list[str] = []
            while i < len(lines) and "\t" in lines[i]:
                rows.append(lines[i])
                i += 1
            blocks.append(("table", rows))
            continue
        m = _NUMBER_ONLY.match(line)
        if m and not para:
            j = i + 1
            pages_between: list[int] = []  # "7." at a page's foot, its title on the next page
            while j < len(lines) and (not lines[j].strip() or _PAGE_LINE.match(lines[j])):
                if page_line := _PAGE_LINE.match(lines[j]):
                    pages_between.append(int(page_line.group(1)))
                j += 1
            if j < len(lines) and "\t" not in lines[j] and len(lines[j].split()) <= 20:
                blocks.extend(("page", n) for n in pages_between)
                blocks.append(("numbered", (m.group(1), lines[j])))
                i = j + 1
                continue
        md = _MD_HEADING.match(line)
        if md:
            flush()
            blocks.append(("md_heading", md.group(2)))
            i += 1
            continue
        b = _BULLET.match(line)
        if b and not line.lstrip().startswith("**"):
            flush()
            level = 2 if (b.group("mark") in ("o", "◦") or len(b.group("indent")) >= 3) else 1
            blocks.append(("bullet", (level, b.group("text"))))
            i += 1
            continue
        last = blocks[-1] if blocks else None
        if last is not None and last[0] == "bullet" and not para and line.startswith((" ", "\t")):
            level, text = last[1]  # indented continuation of a bullet
            blocks[-1] = ("bullet", (level, text + " " + line.strip()))
            i += 1
            continue
        para.append(line)
        i += 1
    flush()
    return blocks


def parse_structure(source: str) -> tuple[str, list[Block]]:
    """Return (clean text, blocks). Every block and table cell span indexes the clean text."""
    text, blocks, _ = parse_paged(source)
    return text, blocks


def parse_paged(source: str) -> tuple[str, list[Block], list[tuple[int, int]]]:
    """`parse_structure` plus page starts: (offset in the clean text, page number), ascending.

    A page starts where the writer stands when the page's mark is read, so text from that
    offset on lies on that page (a paragraph that runs on over the break starts on the page
    before: a span is on the page its first character is on). Papers without marks have none."""
    w = _Writer()
    blocks: list[Block] = []
    pages: list[tuple[int, int]] = []

    def separate(kind: str) -> None:
        if not blocks:
            return
        prev = blocks[-1].kind
        same_run = kind == prev == "bullet"
        w.write("\n" if same_run else "\n\n")

    def add_heading(number: str | None, label: str) -> None:
        """`label` is the heading as the paper prints it (number included)."""
        label = clean_inline(label).replace("\n", " ")
        if not label:
            return
        separate("heading")
        start, end = w.write(label)
        blocks.append(Block("heading", start, end, depth=_heading_depth(number), number=number, title=label))

    def add_text(kind: str, text: str, depth: int = 0) -> None:
        text = clean_inline(text)
        if not text:
            return
        prev = blocks[-1] if blocks else None
        # A paragraph cut by a page break continues in lower case: re-join it.
        if (
            prev
            and prev.kind in ("paragraph", "bullet")
            and kind == "paragraph"
            and text[:1].islower()
            and not w.parts[-1].rstrip().endswith(_TERMINAL[:1] + ("?", "!", ":"))
        ):
            _, end = w.write(" " + text)
            prev.end = end
            return
        separate(kind)
        prefix = ("• " if depth <= 1 else "    ◦ ") if kind == "bullet" else ""
        start, end = w.write(prefix + text)
        blocks.append(Block(kind, start, end, depth=depth))

    for block in _raw_blocks(source):
        if block[0] == "page":
            pages.append((w.pos, block[1]))
        elif block[0] == "numbered":
            number, title = block[1]
            add_heading(number, f"{number}. {title.strip()}")
        elif block[0] == "md_heading":
            text = clean_inline(block[1]).replace("\n", " ")
            if not text:
                continue
            if len(text.split()) > 14 or text.endswith("."):
                add_text("paragraph", text)  # a sentence mis-marked as a heading by PDF conversion
                continue
            numbered = _numbered_heading(text)
            add_heading(numbered[0] if numbered else None, text)
        elif block[0] == "bullet":
            level, text = block[1]
            add_text("bullet", text, depth=level)
        elif block[0] == "para":
            lines = block[1]
            if len(lines) == 1:
                bold = _BOLD_LINE.match(lines[0])
                line = clean_inline(lines[0])
                numbered = _numbered_heading(line)
                if numbered:
                    add_heading(numbered[0], line)
                    continue
                if bold and len(bold.group(1).split()) <= 12 and not bold.group(1).rstrip().endswith("."):
                    add_heading(None, bold.group(1))
                    continue
            add_text("paragraph", "\n".join(lines))
        elif block[0] == "table":
            _add_table(w, blocks, block[1], separate)
    _attach_captions(blocks, w.text())
    return w.text(), blocks, pages


def _add_table(w: _Writer, blocks: list[Block], raw_rows: list[str], separate) -> None:
    table = Block("table")
    rows_text = []
    for raw in raw_rows:
        cells = [clean_inline(c) for c in raw.split("\t")]
        while cells and not cells[-1]:
            cells.pop()
        if any(cells):
            rows_text.append(cells)
    if not rows_text:
        return
    separate("table")
    table.start = w.pos
    for r, cells in enumerate(rows_text):
        if r:
            w.write("\n")
        row: list[Cell] = []
        for c, cell in enumerate(cells):
            if c:
                w.write("\t")
            start, end = w.write(cell)
            row.append(Cell(cell, start, end))
        table.rows.append(row)
    table.end = w.pos
    for r in range(min(3, len(rows_text))):
        if _is_header_row(rows_text[r]):
            table.header_row = r
            break
    blocks.append(table)


def _attach_captions(blocks: list[Block], text: str) -> None:
    for i, block in enumerate(blocks):
        if block.kind != "table":
            continue
        for j in (i + 1, i - 1):
            if 0 <= j < len(blocks) and blocks[j].kind == "paragraph":
                para = text[blocks[j].start : blocks[j].end]
                if _FIGURE.match(para) and len(para.split()) <= 25:
                    block.caption = para
                    break
