"""Test-fixture generators for the PDF/Word reader: everything is generated in the tests, no binary is committed.

- `render_corpus_as_pdfs`: the project's papers (corpus/*.txt, *.md) as laid-out PDFs, with the page texts
  as drawn (the ground truth for "which page is this sentence on").
- `layout_showcase_pdf`: 3 pages with running header/footer, a two-column page, a hyphenated line end and a
  drawn table, with the expectations.
- `scanned_pdf`: page 2 is an image only (no text layer), for the OCR path.
- `corrupt_pdfs`: truncated, not a PDF, encrypted, zero pages.
- `docx_with_table`: a Word document with title, headings, paragraphs, bullets and a table.

Geometry of the rendered pages (A4, 595.28 x 841.89 pt, PDF y grows upwards), so that a reader can be tuned:

- running header: 8 pt Helvetica, baseline y = `HEADER_Y` (806), x = 60; footer "Page N" (showcase:
  "Page N of 3"): 8 pt Helvetica, centred, baseline y = `FOOTER_Y` (40);
- body between y = `BODY_TOP` (780) and `BODY_BOTTOM` (80), x from 60 to 535 (`BODY_WIDTH` 475):
  body text 10 pt Helvetica on a `LINE_HEIGHT` of 14 pt (baseline to baseline), so 50 lines a page;
  headings 12 pt Helvetica-Bold on 18 pt; a paragraph gap (blank source line) adds `PARAGRAPH_GAP` (14 pt), so
  baselines either side of a gap are 28 pt apart against 14 within a paragraph;
- bullets: "• " + text, indented `BULLET_INDENT` (18 pt) per level, continuation lines hang under the text; the
  "•" glyph is drawn in Bitstream Vera (reportlab's bundled TrueType font) because reportlab writes Helvetica's
  bullet as code 127, which pdfminer extracts as "(cid:127)";
- tables: 8 pt text (first row Helvetica-Bold) on 10 pt lines, 3 pt cell padding, every cell stroked as a
  0.5 pt rectangle, 6 pt space above and below the table.

Characters that Helvetica's WinAnsi encoding lacks (in the corpus: "Δ", "▼") are drawn, and recorded, as "?";
no-break spaces as spaces.
"""

from __future__ import annotations

import functools
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import reportlab
import yaml
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from tests.pdf_fixtures import simple_pdf

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT_MARGIN = 60.0
RIGHT_MARGIN = 60.0
BODY_WIDTH = PAGE_WIDTH - LEFT_MARGIN - RIGHT_MARGIN
BODY_TOP = 780.0  # top of the first body line box
BODY_BOTTOM = 80.0  # no body line box goes below this
HEADER_Y = 806.0  # baseline of the running header
FOOTER_Y = 40.0  # baseline of the footer
HEADER_SIZE = 8.0

BODY_FONT = "Helvetica"
BOLD_FONT = "Helvetica-Bold"
BODY_SIZE = 10.0
LINE_HEIGHT = 14.0
HEADING_SIZE = 12.0
HEADING_LINE_HEIGHT = 18.0
PARAGRAPH_GAP = 14.0
BULLET_INDENT = 18.0
BULLET = "•"
BULLET_FONT = "PdfRenditionsVera"  # reportlab's bundled Vera.ttf, registered on first use

TABLE_SIZE = 8.0
TABLE_LINE_HEIGHT = 10.0
CELL_PAD = 3.0
MIN_COLUMN_WIDTH = 14.0
TABLE_SPACING = 6.0

ENCRYPTED_USER_PASSWORD = "minutes-user"
ENCRYPTED_OWNER_PASSWORD = "minutes-owner"
SCAN_DPI = 300

_REPORTLAB_FONTS = Path(reportlab.__file__).parent / "fonts"


# --------------------------------------------------------------------------------------------- text helpers


@functools.cache
def _ensure_bullet_font() -> None:
    if BULLET_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(BULLET_FONT, str(_REPORTLAB_FONTS / "Vera.ttf")))


def _sanitize(text: str) -> str:
    """What can be drawn in Helvetica (WinAnsi) and read back: others become "?", no-break spaces spaces."""
    text = text.replace("\xa0", " ")
    try:
        text.replace(BULLET, "").encode("cp1252")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for ch in text:
        if ch == BULLET:
            out.append(ch)
            continue
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            ch = "?"
        out.append(ch)
    return "".join(out)


_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
_BLOCK_TAG = re.compile(r"</?(?:li|ul|ol|p|br|div|tr|td|th)\b[^>]*>", re.IGNORECASE)
_INLINE_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*\b[^>]*>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_EM_UNDER = re.compile(r"(?<![\w_])_(?=\S)([^_]+?)(?<=\S)_(?![\w_])")


def _inline(text: str) -> str:
    """Markdown/HTML inline markup reduced to the visible text, whitespace collapsed, sanitized."""
    text = _AUTOLINK.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _BLOCK_TAG.sub(" ", text)
    text = _INLINE_TAG.sub("", text)
    text = _STRONG.sub(r"\2", text)
    text = _EM_STAR.sub(r"\1", text)
    text = _EM_UNDER.sub(r"\1", text)
    text = html.unescape(text)
    return " ".join(_sanitize(text).split())


def _runs(text: str, font: str) -> list[tuple[str, str]]:
    """(font, text) runs: bullets in the TrueType font, the rest in `font`."""
    runs: list[tuple[str, str]] = []
    for part in re.split(f"({BULLET}+)", text):
        if part:
            runs.append((BULLET_FONT if part[0] == BULLET else font, part))
    return runs


def _width(text: str, font: str, size: float) -> float:
    _ensure_bullet_font()
    return sum(stringWidth(part, f, size) for f, part in _runs(text, font))


def _draw(pdf: canvas.Canvas, x: float, y: float, text: str, font: str, size: float) -> None:
    _ensure_bullet_font()
    for f, part in _runs(text, font):
        pdf.setFont(f, size)
        pdf.drawString(x, y, part)
        x += stringWidth(part, f, size)


def _draw_centred(pdf: canvas.Canvas, x_centre: float, y: float, text: str, font: str, size: float) -> None:
    _draw(pdf, x_centre - _width(text, font, size) / 2, y, text, font, size)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap with reportlab's metrics; never breaks inside a word (a too-long word overflows alone)."""
    space = _width(" ", font, size)
    lines: list[str] = []
    current: list[str] = []
    current_width = 0.0
    for word in text.split():
        word_width = _width(word, font, size)
        if current and current_width + space + word_width > width:
            lines.append(" ".join(current))
            current, current_width = [], 0.0
        current_width += (space if current else 0.0) + word_width
        current.append(word)
    if current:
        lines.append(" ".join(current))
    return lines


def _fit(text: str, font: str, size: float, width: float) -> str:
    """`text`, cut at a word and ended with "..." if it is wider than `width` (running headers)."""
    if _width(text, font, size) <= width:
        return text
    words = text.split()
    while words and _width(" ".join(words) + " ...", font, size) > width:
        words.pop()
    return " ".join(words) + " ..."


# ------------------------------------------------------------------------------------------ source parsing


@dataclass
class _Gap:
    pass


@dataclass
class _Heading:
    text: str


@dataclass
class _Paragraph:
    text: str
    indent: int = 0


@dataclass
class _Bullet:
    text: str
    level: int = 0


@dataclass
class _Table:
    rows: list[list[str]]


_Block = _Gap | _Heading | _Paragraph | _Bullet | _Table

_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_BOLD_ONLY = re.compile(r"^\*\*([^*]+)\*\*$")
_BULLET_LINE = re.compile(r"^(?:[-*•·]|o(?=\s{2}))\s+(.*)$")
_SEPARATOR_CELL = re.compile(r"^:?-{2,}:?$")


def _is_table_row(line: str) -> bool:
    if "\t" in line:
        return True
    stripped = line.strip()
    return len(stripped) > 1 and stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") >= 2


def _table_cells(line: str) -> list[str]:
    if "\t" in line:
        raw = line.split("\t")
    else:
        raw = line.strip()[1:-1].split("|")
    return [_inline(cell) for cell in raw]


def _is_separator(line: str) -> bool:
    raw = line.split("\t") if "\t" in line else line.strip()[1:-1].split("|")
    cells = [c.strip() for c in raw]
    return any(cells) and all(not c or _SEPARATOR_CELL.match(c) for c in cells)


def _parse(source: str) -> list[_Block]:
    """Light parse of a .txt/.md paper into blocks (see the module docstring for the rules)."""
    blocks: list[_Block] = []
    lines = source.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_table_row(line):
            rows_src = []
            while i < len(lines) and _is_table_row(lines[i]):
                rows_src.append(lines[i])
                i += 1
            rows = [_table_cells(r) for r in rows_src if not _is_separator(r)]
            if len(rows) >= 2:
                width = max(len(r) for r in rows)
                blocks.append(_Table([r + [""] * (width - len(r)) for r in rows]))
            else:
                for row in rows:
                    text = " ".join(c for c in row if c)
                    if text:
                        blocks.append(_Paragraph(text))
            continue
        i += 1
        stripped = line.replace("\xa0", " ").strip()
        if not stripped:
            blocks.append(_Gap())
            continue
        indented = line[:1].isspace()
        if m := _HEADING.match(stripped):
            text = _inline(m.group(1))
            blocks.append(_Heading(text) if text else _Gap())
        elif m := _BOLD_ONLY.match(stripped):
            blocks.append(_Heading(_inline(m.group(1))))
        elif m := _BULLET_LINE.match(stripped):
            level = 1 if indented or stripped.startswith("o") else 0
            blocks.append(_Bullet(_inline(m.group(1)), level))
        else:
            text = _inline(stripped)
            if text:
                blocks.append(_Paragraph(text, 1 if indented else 0))
    return blocks


# ------------------------------------------------------------------------------------------------- layout


@dataclass
class _Writer:
    """Flows blocks onto pages, drawing the running header/footer and recording each page's text."""

    pdf: canvas.Canvas
    header: str
    footer: str = "Page {n}"  # formatted with n (1-based page number)
    pages: list[list[str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    y: float = BODY_TOP
    page_open: bool = False

    def start_page(self) -> None:
        _draw(
            self.pdf,
            LEFT_MARGIN,
            HEADER_Y,
            _fit(self.header, BODY_FONT, HEADER_SIZE, BODY_WIDTH),
            BODY_FONT,
            HEADER_SIZE,
        )
        self.y = BODY_TOP
        self.lines = []
        self.page_open = True

    def finish_page(self) -> None:
        n = len(self.pages) + 1
        _draw_centred(self.pdf, PAGE_WIDTH / 2, FOOTER_Y, self.footer.format(n=n), BODY_FONT, HEADER_SIZE)
        self.pdf.showPage()
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        self.pages.append(self.lines)
        self.page_open = False

    def need(self, height: float) -> None:
        if not self.page_open:
            self.start_page()
        elif self.y - height < BODY_BOTTOM and self.y < BODY_TOP:
            self.finish_page()
            self.start_page()

    def text_line(self, text: str, x: float, font: str, size: float, line_height: float) -> None:
        self.need(line_height)
        baseline = self.y - (line_height - size) / 2 - 0.8 * size
        _draw(self.pdf, x, baseline, text, font, size)
        self.lines.append(text)
        self.y -= line_height

    def gap(self, height: float = PARAGRAPH_GAP) -> None:
        if self.page_open and self.lines and self.lines[-1] and self.y < BODY_TOP:
            self.y -= height
            self.lines.append("")

    def close(self) -> None:
        if self.page_open:
            self.finish_page()


def _flow_text(w: _Writer, text: str, x: float, width: float, font: str, size: float, lh: float) -> None:
    for line in _wrap(text, font, size, width):
        w.text_line(line, x, font, size, lh)


def _flow_bullet(w: _Writer, text: str, level: int) -> None:
    x = LEFT_MARGIN + BULLET_INDENT * level
    prefix = f"{BULLET} "
    hang = _width(prefix, BODY_FONT, BODY_SIZE)
    lines = _wrap(text, BODY_FONT, BODY_SIZE, BODY_WIDTH - BULLET_INDENT * level - hang) or [""]
    w.text_line(prefix + lines[0], x, BODY_FONT, BODY_SIZE, LINE_HEIGHT)
    for line in lines[1:]:
        w.text_line(line, x + hang, BODY_FONT, BODY_SIZE, LINE_HEIGHT)


@dataclass
class _TableLayout:
    widths: list[float]
    cells: list[list[list[str]]]  # row -> column -> wrapped lines
    heights: list[float]


def _table_font(row: int) -> str:
    return BOLD_FONT if row == 0 else BODY_FONT


def _layout_table(rows: list[list[str]], max_width: float = BODY_WIDTH) -> _TableLayout | None:
    """Column widths and wrapped cells, or None when the table cannot be drawn as a grid (a word wider than
    any column could be, or a row taller than a page)."""
    ncols = len(rows[0])
    natural = [MIN_COLUMN_WIDTH] * ncols
    minimum = [MIN_COLUMN_WIDTH] * ncols
    for r, row in enumerate(rows):
        font = _table_font(r)
        for c, cell in enumerate(row):
            natural[c] = max(natural[c], _width(cell, font, TABLE_SIZE) + 2 * CELL_PAD)
            for word in cell.split():
                minimum[c] = max(minimum[c], _width(word, font, TABLE_SIZE) + 2 * CELL_PAD)
    if sum(natural) <= max_width:
        widths = natural
    elif sum(minimum) > max_width:
        return None
    else:
        spare = max_width - sum(minimum)
        stretch = [n - m for n, m in zip(natural, minimum, strict=True)]
        widths = [m + spare * s / sum(stretch) for m, s in zip(minimum, stretch, strict=True)]
    cells = [
        [_wrap(cell, _table_font(r), TABLE_SIZE, widths[c] - 2 * CELL_PAD) for c, cell in enumerate(row)]
        for r, row in enumerate(rows)
    ]
    heights = [max(1, *(len(lines) for lines in row)) * TABLE_LINE_HEIGHT + 2 * CELL_PAD for row in cells]
    if max(heights) > BODY_TOP - BODY_BOTTOM - 2 * TABLE_SPACING:
        return None
    return _TableLayout(widths, cells, heights)


def _draw_row(pdf: canvas.Canvas, layout: _TableLayout, r: int, x0: float, top: float) -> None:
    height = layout.heights[r]
    pdf.setLineWidth(0.5)
    x = x0
    for c, width in enumerate(layout.widths):
        pdf.rect(x, top - height, width, height, stroke=1, fill=0)
        for k, line in enumerate(layout.cells[r][c]):
            baseline = top - CELL_PAD - k * TABLE_LINE_HEIGHT - (TABLE_LINE_HEIGHT - TABLE_SIZE) / 2 - 0.8 * TABLE_SIZE
            _draw(pdf, x + CELL_PAD, baseline, line, _table_font(r), TABLE_SIZE)
        x += width


def _flow_table(w: _Writer, table: _Table) -> bool:
    """Draws the table as a grid (rows may continue on the next page); False if it cannot be drawn as one."""
    layout = _layout_table(table.rows)
    if layout is None:
        return False
    w.need(layout.heights[0] + TABLE_SPACING)
    if w.y < BODY_TOP:
        w.y -= TABLE_SPACING
    for r, row in enumerate(table.rows):
        w.need(layout.heights[r])
        _draw_row(w.pdf, layout, r, LEFT_MARGIN, w.y)
        w.lines.append("\t".join(row))
        w.y -= layout.heights[r]
    w.y -= TABLE_SPACING
    return True


def _render_blocks(w: _Writer, blocks: list[_Block]) -> None:
    for block in blocks:
        if isinstance(block, _Gap):
            w.gap()
        elif isinstance(block, _Heading):
            lines = _wrap(block.text, BOLD_FONT, HEADING_SIZE, BODY_WIDTH)
            w.need(HEADING_LINE_HEIGHT * len(lines) + 2 * LINE_HEIGHT)  # no heading alone at a page foot
            _flow_text(w, block.text, LEFT_MARGIN, BODY_WIDTH, BOLD_FONT, HEADING_SIZE, HEADING_LINE_HEIGHT)
        elif isinstance(block, _Bullet):
            _flow_bullet(w, block.text, block.level)
        elif isinstance(block, _Paragraph):
            x = LEFT_MARGIN + BULLET_INDENT * block.indent
            _flow_text(w, block.text, x, BODY_WIDTH - BULLET_INDENT * block.indent, BODY_FONT, BODY_SIZE, LINE_HEIGHT)
        elif not _flow_table(w, block):
            # not drawable as a grid: each row as a line of text, its non-blank cells joined by spaces
            for row in block.rows:
                _flow_text(w, " ".join(c for c in row if c), LEFT_MARGIN, BODY_WIDTH, BODY_FONT, BODY_SIZE, LINE_HEIGHT)


def _new_canvas(buf: io.BytesIO, title: str, **kwargs: object) -> canvas.Canvas:
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=True, **kwargs)  # invariant: same bytes every run
    pdf.setTitle(title)
    pdf.setAuthor("minutes-qa tests")
    pdf.setCreator("tests/pdf_renditions.py")
    return pdf


def render_paper_pdf(source: str, title: str) -> tuple[bytes, list[str]]:
    """One paper's text (.txt or .md) as a PDF, and its page texts as drawn (header and footer excluded)."""
    buf = io.BytesIO()
    pdf = _new_canvas(buf, title)
    writer = _Writer(pdf, header=_inline(title))
    _render_blocks(writer, _parse(source))
    writer.close()
    pdf.save()
    return buf.getvalue(), ["\n".join(lines) for lines in writer.pages]


_FILE_LINE = re.compile(r"^(\s*(?:-\s+)?file:\s*)(['\"]?)(?P<name>[^'\"#\s]+)\2\s*$")


def render_corpus_as_pdfs(corpus_dir: Path, out_dir: Path) -> dict[str, list[str]]:
    """Renders every paper listed in `corpus_dir`/manifest.yaml as `out_dir`/<stem>.pdf and writes
    `out_dir`/manifest.yaml: the same manifest text (comments kept) with only each `file` pointing at the PDF.

    Returns {document id: [page text, ...]} for page 1, 2, ... as drawn: the body lines of the page joined by
    "\\n" (wrapped lines one per line, "" for a paragraph gap, a bullet as "• text", a drawn table row as its
    cells joined by "\\t", blank cells blank); the running header (the paper's title) and footer ("Page N")
    are not included. A sentence that wraps has "\\n" inside it; one that runs over a page end is split
    between the two pages.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_text = (corpus_dir / "manifest.yaml").read_text(encoding="utf-8")
    manifest = yaml.safe_load(manifest_text)
    renamed: dict[str, str] = {}
    pages: dict[str, list[str]] = {}
    for doc in manifest["documents"]:
        source = (corpus_dir / doc["file"]).read_text(encoding="utf-8")
        pdf_name = Path(doc["file"]).with_suffix(".pdf").name
        data, page_texts = render_paper_pdf(source, doc["title"])
        (out_dir / pdf_name).write_bytes(data)
        renamed[doc["file"]] = pdf_name
        pages[doc["id"]] = page_texts

    def rename(m: re.Match[str]) -> str:
        name = m.group("name")
        return f"{m.group(1)}{renamed[name]}" if name in renamed else m.group(0)

    new_text = "\n".join(_FILE_LINE.sub(rename, line) for line in manifest_text.split("\n"))
    new_manifest = yaml.safe_load(new_text)
    expected = [{**doc, "file": renamed[doc["file"]]} for doc in manifest["documents"]]
    if new_manifest != {**manifest, "documents": expected}:
        raise ValueError("manifest rewrite changed more than the file entries")
    (out_dir / "manifest.yaml").write_text(new_text, encoding="utf-8")
    return pages


# ------------------------------------------------------------------------------------------ layout showcase

SHOWCASE_HEADER = "Northfield Borough Council - Planning Committee - 9 January 2024"
SHOWCASE_FOOTER_PATTERN = r"^Page (\d+) of 3$"
SHOWCASE_COLUMN_GAP = 45.0
SHOWCASE_COLUMN_WIDTH = (BODY_WIDTH - SHOWCASE_COLUMN_GAP) / 2

_SHOWCASE_P1_TITLE = "Minutes of the Planning Committee"
_SHOWCASE_P1_INTRO = (
    "Present: Councillor Ada Finch (Chair), Councillors Bell, Carver, Dunmore and Ellery. The meeting opened "
    "at 6.30pm in the Council Chamber. Apologies were received from Councillor Grange."
)
_SHOWCASE_HYPHEN_LINES = (
    "Members discussed the report at length. The committee then considered the officer's recom-",
    "mendations and agreed them without amendment.",
)
_SHOWCASE_HYPHEN_SENTENCE = (
    "The committee then considered the officer's recommendations and agreed them without amendment."
)
_SHOWCASE_P1_OUTRO = "The Chair thanked the officers for a clear and thorough report on the housing land supply."
_SHOWCASE_P2_TITLE = "Item 2 - Applications considered"
_SHOWCASE_COLUMNS = (
    (
        "Alpha: the first paragraph of the left column describes the application for a rear extension at 12 Mill "
        "Lane, which the case officer recommended for approval subject to the standard time limit condition.",
        "Bravo: the second paragraph of the left column records that the parish council raised no objection, "
        "although two neighbours wrote in about the loss of light to their gardens during the winter months.",
        "Charlie: the third paragraph of the left column notes that the highways authority asked for a "
        "construction management plan to protect the narrow lane from parked contractors' vans.",
    ),
    (
        "Delta: the first paragraph of the right column turns to the listed building consent for the Old Rectory "
        "and the replacement of its rotten sash windows with matching timber ones.",
        "Echo: the second paragraph of the right column sets out the conservation officer's advice that the "
        "glazing bars must copy the originals exactly.",
        "Foxtrot: the third paragraph of the right column records that the committee deferred the decision on 4 "
        "Church Street to allow a site visit next month.",
    ),
)
_SHOWCASE_P3_INTRO = "The decisions on the applications are summarised in the table below."
_SHOWCASE_TABLE = [
    ["Application", "Address", "Decision"],
    ["23/00412/FUL", "12 Mill Lane", "Approved"],
    ["23/00587/HOU", "4 Church Street", ""],
    ["23/00611/LBC", "The Old Rectory", "Refused"],
]
_SHOWCASE_P3_OUTRO = "The meeting closed at 8.05pm and the next meeting will be held on 6 February 2024."


def layout_showcase_pdf() -> tuple[bytes, dict]:
    """A 3-page PDF exercising layout recovery, and what a reader should make of it.

    Every page has the running header `SHOWCASE_HEADER` and the footer "Page N of 3". Page 1: a bold heading,
    paragraphs, and a line ending in "recom-" continued by "mendations" on the next line. Page 2: a bold
    full-width heading, then two columns (x 60-275 and 320-535, a 45 pt gutter) of three paragraphs each; the
    columns' lines share baselines, so a reader that does not split columns interleaves them. Page 3: a
    sentence, a drawn 4 x 3 grid table (header row + 3 data rows, one blank cell), a closing sentence.

    The dict (page numbers 1-based): "pages" (3), "header" (str), "footer_pattern" (regex with the page number
    as group 1), "footers" (["Page 1 of 3", ...]), "column_page" (2), "column_heading" (page 2's heading),
    "column_paragraphs" (the six paragraphs in reading order: left column top to bottom, then right),
    "column_first_words" (their first words without the colon: Alpha ... Foxtrot), "column_x_ranges"
    ((60, 275), (320, 535)), "hyphenated" ({"page", "line_end": "recom-", "line_start": "mendations",
    "joined": "recommendations", "sentence"}), "table" ({"page": 3, "header": [...], "rows": [[...], ...]} with
    the blank cell as ""), "sentences" ({sentence: page} for sentences known to be on each page).
    """
    buf = io.BytesIO()
    pdf = _new_canvas(buf, "Layout showcase")
    footer = "Page {n} of 3"

    def header_footer(n: int) -> None:
        _draw(pdf, LEFT_MARGIN, HEADER_Y, SHOWCASE_HEADER, BODY_FONT, HEADER_SIZE)
        _draw_centred(pdf, PAGE_WIDTH / 2, FOOTER_Y, footer.format(n=n), BODY_FONT, HEADER_SIZE)

    def baseline(top: float, size: float = BODY_SIZE, lh: float = LINE_HEIGHT) -> float:
        return top - (lh - size) / 2 - 0.8 * size

    # page 1
    header_footer(1)
    y = BODY_TOP
    _draw(pdf, LEFT_MARGIN, baseline(y, HEADING_SIZE, HEADING_LINE_HEIGHT), _SHOWCASE_P1_TITLE, BOLD_FONT, HEADING_SIZE)
    y -= HEADING_LINE_HEIGHT + PARAGRAPH_GAP
    for line in _wrap(_SHOWCASE_P1_INTRO, BODY_FONT, BODY_SIZE, BODY_WIDTH):
        _draw(pdf, LEFT_MARGIN, baseline(y), line, BODY_FONT, BODY_SIZE)
        y -= LINE_HEIGHT
    y -= PARAGRAPH_GAP
    for line in _SHOWCASE_HYPHEN_LINES:
        assert _width(line, BODY_FONT, BODY_SIZE) <= BODY_WIDTH
        _draw(pdf, LEFT_MARGIN, baseline(y), line, BODY_FONT, BODY_SIZE)
        y -= LINE_HEIGHT
    y -= PARAGRAPH_GAP
    for line in _wrap(_SHOWCASE_P1_OUTRO, BODY_FONT, BODY_SIZE, BODY_WIDTH):
        _draw(pdf, LEFT_MARGIN, baseline(y), line, BODY_FONT, BODY_SIZE)
        y -= LINE_HEIGHT
    pdf.showPage()

    # page 2: full-width heading, then two columns whose lines share baselines
    header_footer(2)
    y = BODY_TOP
    _draw(pdf, LEFT_MARGIN, baseline(y, HEADING_SIZE, HEADING_LINE_HEIGHT), _SHOWCASE_P2_TITLE, BOLD_FONT, HEADING_SIZE)
    columns_top = y - HEADING_LINE_HEIGHT - PARAGRAPH_GAP
    x_ranges = []
    for k, paragraphs in enumerate(_SHOWCASE_COLUMNS):
        x = LEFT_MARGIN + k * (SHOWCASE_COLUMN_WIDTH + SHOWCASE_COLUMN_GAP)
        x_ranges.append((x, x + SHOWCASE_COLUMN_WIDTH))
        y = columns_top
        for paragraph in paragraphs:
            for line in _wrap(paragraph, BODY_FONT, BODY_SIZE, SHOWCASE_COLUMN_WIDTH):
                _draw(pdf, x, baseline(y), line, BODY_FONT, BODY_SIZE)
                y -= LINE_HEIGHT
            y -= PARAGRAPH_GAP
    pdf.showPage()

    # page 3: sentence, grid table, sentence
    header_footer(3)
    y = BODY_TOP
    _draw(pdf, LEFT_MARGIN, baseline(y), _SHOWCASE_P3_INTRO, BODY_FONT, BODY_SIZE)
    y -= LINE_HEIGHT + TABLE_SPACING
    layout = _layout_table(_SHOWCASE_TABLE)
    assert layout is not None
    for r in range(len(_SHOWCASE_TABLE)):
        _draw_row(pdf, layout, r, LEFT_MARGIN, y)
        y -= layout.heights[r]
    y -= TABLE_SPACING + PARAGRAPH_GAP
    _draw(pdf, LEFT_MARGIN, baseline(y), _SHOWCASE_P3_OUTRO, BODY_FONT, BODY_SIZE)
    pdf.showPage()
    pdf.save()

    column_paragraphs = [p for column in _SHOWCASE_COLUMNS for p in column]
    sentences = {
        "Apologies were received from Councillor Grange.": 1,
        _SHOWCASE_HYPHEN_SENTENCE: 1,
        _SHOWCASE_P1_OUTRO: 1,
        "Echo: the second paragraph of the right column sets out the conservation officer's advice that the "
        "glazing bars must copy the originals exactly.": 2,
        _SHOWCASE_P3_INTRO: 3,
        _SHOWCASE_P3_OUTRO: 3,
    }
    expectations = {
        "pages": 3,
        "header": SHOWCASE_HEADER,
        "footer_pattern": SHOWCASE_FOOTER_PATTERN,
        "footers": [footer.format(n=n) for n in (1, 2, 3)],
        "column_page": 2,
        "column_heading": _SHOWCASE_P2_TITLE,
        "column_paragraphs": column_paragraphs,
        "column_first_words": [p.split()[0].rstrip(":") for p in column_paragraphs],
        "column_x_ranges": x_ranges,
        "hyphenated": {
            "page": 1,
            "line_end": "recom-",
            "line_start": "mendations",
            "joined": "recommendations",
            "sentence": _SHOWCASE_HYPHEN_SENTENCE,
        },
        "table": {"page": 3, "header": _SHOWCASE_TABLE[0], "rows": _SHOWCASE_TABLE[1:]},
        "sentences": sentences,
    }
    return buf.getvalue(), expectations


# --------------------------------------------------------------------------------------------- scanned PDF

SCANNED_PAGE1_TEXT = "Licensing Sub-Committee minutes. The text of page 2 is a scanned image only."
SCANNED_IMAGE_LINES = (
    "LICENSING SUB-COMMITTEE",
    "Held on 14 March 2018 at County Hall",
    "The application was granted",
    "subject to the agreed conditions.",
)


def _scan_image() -> Image.Image:
    """A full A4 page at `SCAN_DPI`, black text on white (Bitstream Vera from reportlab, 13.5 pt cap size)."""
    width_px, height_px = round(PAGE_WIDTH / 72 * SCAN_DPI), round(PAGE_HEIGHT / 72 * SCAN_DPI)
    image = Image.new("L", (width_px, height_px), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(_REPORTLAB_FONTS / "Vera.ttf"), size=round(18 / 72 * SCAN_DPI))  # 18 pt
    x = round(LEFT_MARGIN / 72 * SCAN_DPI)
    y = round(80 / 72 * SCAN_DPI)
    for line in SCANNED_IMAGE_LINES:
        draw.text((x, y), line, fill=0, font=font)
        y += round(30 / 72 * SCAN_DPI)  # 30 pt line pitch
    return image


def scanned_pdf() -> tuple[bytes, str]:
    """A 2-page PDF: page 1 has ordinary text (`SCANNED_PAGE1_TEXT`); page 2 has no text layer at all, only one
    full-page image (A4 at 300 dpi, 2480 x 3508 px, greyscale) of the lines `SCANNED_IMAGE_LINES` in 18 pt
    Bitstream Vera, black on white. Returns the bytes and the image's text, its lines joined by "\\n"."""
    buf = io.BytesIO()
    pdf = _new_canvas(buf, "Scanned minutes")
    _draw(pdf, LEFT_MARGIN, 770, SCANNED_PAGE1_TEXT, BODY_FONT, BODY_SIZE)
    pdf.showPage()
    pdf.drawImage(ImageReader(_scan_image()), 0, 0, width=PAGE_WIDTH, height=PAGE_HEIGHT)
    pdf.showPage()
    pdf.save()
    return buf.getvalue(), "\n".join(SCANNED_IMAGE_LINES)


# -------------------------------------------------------------------------------------------- corrupt PDFs

NOT_A_PDF = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
    b"<body><h1>Not Found</h1><p>The requested document was not found on this server.</p></body></html>\n"
)


def _zero_page_pdf() -> bytes:
    """A hand-written, syntactically valid PDF whose page tree is empty (/Kids [] /Count 0), correct xref."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
        b"<< /Title (Empty agenda) /Producer (tests/pdf_renditions.py) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def corrupt_pdfs() -> dict[str, bytes]:
    """Bad files a reader must reject or handle: "truncated" (a valid 2-page PDF cut in half), "not_a_pdf" (an
    HTML 404 page, as saved under a .pdf name), "encrypted" (a valid PDF encrypted with the user password
    `ENCRYPTED_USER_PASSWORD`, owner password `ENCRYPTED_OWNER_PASSWORD`: opening without a password fails),
    "zero_pages" (a valid PDF whose page tree has /Count 0: opens, with no pages)."""
    valid = simple_pdf([["Agenda item 1", "", "Apologies for absence."], ["Agenda item 2"]], title="Truncated")
    buf = io.BytesIO()
    encryption = StandardEncryption(ENCRYPTED_USER_PASSWORD, ENCRYPTED_OWNER_PASSWORD)
    pdf = _new_canvas(buf, "Encrypted minutes", encrypt=encryption)
    _draw(pdf, LEFT_MARGIN, 770, "These minutes are confidential.", BODY_FONT, BODY_SIZE)
    pdf.showPage()
    pdf.save()
    return {
        "truncated": valid[: len(valid) // 2],
        "not_a_pdf": NOT_A_PDF,
        "encrypted": buf.getvalue(),
        "zero_pages": _zero_page_pdf(),
    }


# ---------------------------------------------------------------------------------------------------- docx


def docx_with_table() -> tuple[bytes, dict]:
    """A Word document (python-docx): a Title, a "Heading 1", paragraphs, a "Heading 2", a "List Bullet" list, a
    paragraph and a "Table Grid" table (header row + 3 data rows, one blank cell), then a closing paragraph.

    The dict: "title", "heading1", "heading2" (str), "paragraphs" (the body paragraphs in order, excluding
    title, headings and bullets), "bullets" (list items in order), "table" ({"header": [...], "rows":
    [[...], ...]}, blank cell as ""), "blocks" (every block in document order as (kind, text) with kind one of
    "title", "heading1", "heading2", "paragraph", "bullet", "table"; a table's text is its rows, cells joined
    by "\\t", rows by "\\n").
    """
    import docx

    title = "Audit and Governance Committee - 27 June 2018"
    heading1 = "Minutes"
    heading2 = "Item 4 - Internal audit plan"
    intro = [
        "The Committee met at County Hall, Worcester, at 10.00am.",
        "Members noted the apologies of Councillor Hart and welcomed the new external auditor.",
    ]
    bullets = [
        "Three audits were completed in the first quarter.",
        "Two reports received a limited assurance opinion.",
        "The follow-up of earlier recommendations is on track.",
    ]
    before_table = "The audit opinions issued so far this year are shown below."
    table = [
        ["Audit", "Opinion", "Follow-up due"],
        ["Payroll", "Substantial", "March 2019"],
        ["Procurement cards", "Limited", ""],
        ["Schools finance", "Moderate", "January 2019"],
    ]
    closing = "RESOLVED that the internal audit progress report be noted."

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = "minutes-qa tests"
    blocks: list[tuple[str, str]] = []
    document.add_heading(title, level=0)
    blocks.append(("title", title))
    document.add_heading(heading1, level=1)
    blocks.append(("heading1", heading1))
    for text in intro:
        document.add_paragraph(text)
        blocks.append(("paragraph", text))
    document.add_heading(heading2, level=2)
    blocks.append(("heading2", heading2))
    for text in bullets:
        document.add_paragraph(text, style="List Bullet")
        blocks.append(("bullet", text))
    document.add_paragraph(before_table)
    blocks.append(("paragraph", before_table))
    grid = document.add_table(rows=len(table), cols=len(table[0]))
    grid.style = "Table Grid"
    for r, row in enumerate(table):
        for c, text in enumerate(row):
            grid.cell(r, c).text = text
    blocks.append(("table", "\n".join("\t".join(row) for row in table)))
    document.add_paragraph(closing)
    blocks.append(("paragraph", closing))

    buf = io.BytesIO()
    document.save(buf)
    expectations = {
        "title": title,
        "heading1": heading1,
        "heading2": heading2,
        "paragraphs": [*intro, before_table, closing],
        "bullets": bullets,
        "table": {"header": table[0], "rows": table[1:]},
        "blocks": blocks,
    }
    return buf.getvalue(), expectations
