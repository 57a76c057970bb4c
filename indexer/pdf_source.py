"""PDF papers → the line-oriented text the structure parser reads, one page at a time.

pdfplumber (MIT) gives words with positions; this module puts them back in reading order and
drops what a reader skips: running headers and footers (lines that repeat at the top or bottom of
most pages, digits ignored, so "Page 3 of 9" repeats too) and page numbers. A page whose words
fall into two side-by-side columns with an empty gutter is read left column first. Words a line
ends on with a hyphen are joined to the next line's lower-case start. Tables that pdfplumber
finds from ruling lines become tab-separated rows, which the structure parser turns into the
same header-carrying table passages as an HTML or markdown table (a blank cell stays blank).

Page boundaries are marked in the output with a `PAGE_MARK` line ("\\f7"), which
`indexer.structure` turns into page starts in the clean text, so every span knows its page.
A page without a text layer (a scan) is read by OCR (Debian's `tesseract`) only when asked;
otherwise it is reported as skipped, never silently empty.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.corpus import CorpusError

PAGE_MARK = "\f"
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–]?\s*\d{1,4}\s*[-–]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_HYPHENATED = re.compile(r"[A-Za-z]-$")
_BULLET_START = re.compile(r"^[•·▪◦●\-*o]\s")
# A bullet glyph that a font maps to no character: pdfminer prints "(cid:127)", Symbol and
# Wingdings bullets come out in the private use area. At a line's start it is a bullet.
_GLYPH_BULLET = re.compile(r"^(?:\(cid:\d+\)|[\uf000-\uf0ff])\s*")


@dataclass
class ExtractedText:
    """What a binary paper (PDF, Word) yields: source text for the structure parser and notices."""

    text: str
    pages: int = 0
    skipped_pages: list[str] = field(default_factory=list)  # "p. 3: no text layer …"


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    right: float = 0.0  # right edge of the text block (column) the line is in; 0 when unknown


@dataclass
class _Table:
    top: float
    rows: list[list[str]]
    x0: float = 0.0
    x1: float = 0.0


def _open_pdf(path: Path) -> Any:
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    with path.open("rb") as f:
        head = f.read(1024)
    if b"%PDF-" not in head:
        start = head[:40].decode("latin-1").strip().replace("\n", " ")
        raise CorpusError(f"{path.name}: not a PDF (it starts with {start!r})")
    pdf = None
    try:
        pdf = pdfplumber.open(path)
        pages = pdf.pages
    except PdfminerException as exc:
        if pdf is not None:
            pdf.close()
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            raise CorpusError(
                f"{path.name}: the PDF is encrypted (password-protected); save a copy without the password"
            ) from None
        raise CorpusError(f"{path.name}: not a readable PDF ({cause.__class__.__name__}: {cause})") from None
    except Exception as exc:  # pdfminer raises many kinds on damaged files
        if pdf is not None:
            pdf.close()
        raise CorpusError(f"{path.name}: not a readable PDF ({exc.__class__.__name__}: {exc})") from None
    if not pages:
        pdf.close()
        raise CorpusError(f"{path.name}: the PDF has no pages")
    return pdf


def pdf_to_text(path: Path, *, ocr: bool = False) -> ExtractedText:
    """Read a PDF into marked-up source text; damaged, encrypted or empty files raise CorpusError."""
    pdf = _open_pdf(path)
    try:
        pages: list[tuple[list[_Line | _Table], str | None]] = []
        for number, page in enumerate(pdf.pages, 1):
            try:
                pages.append(_read_page(page, number, ocr))
            except CorpusError:
                raise
            except Exception as exc:  # a damaged page stream: name the page
                raise CorpusError(f"{path.name}: page {number} could not be read ({exc.__class__.__name__})") from None
    finally:
        pdf.close()
    running = _running_lines([items for items, _ in pages])
    pitch = _line_pitch([items for items, _ in pages])
    out: list[str] = []
    skipped: list[str] = []
    for number, (items, problem) in enumerate(pages, 1):
        out.append(f"\n{PAGE_MARK}{number}\n\n")
        if problem:
            skipped.append(f"p. {number}: {problem}")
            continue
        out.append(_render(items, running, pitch))
    if len(skipped) == len(pages):
        raise CorpusError(f"{path.name}: no page has a text layer (a scan?); index with --ocr to read it by OCR")
    return ExtractedText("".join(out), len(pages), skipped)


def _read_page(page: Any, number: int, ocr: bool) -> tuple[list[_Line | _Table], str | None]:
    if not page.chars:
        if not ocr:
            return [], "no text layer (a scanned page?); skipped — index with --ocr to read it"
        return _ocr_lines(page, number), None
    # Tables are found from ruling lines; a page with none drawn has no table to find (and the
    # search is most of the time a page takes).
    ruled = bool(page.rects or page.lines or page.curves)
    # (A ruled box of one cell is a framed paragraph, not a table; one row of cells is a table,
    # e.g. the last row of a table that began on the page before.)
    tables = [t for t in page.find_tables() if len(t.rows) >= 2 or len(t.columns) >= 2] if ruled else []
    boxes = [t.bbox for t in tables]
    words = [
        w
        for w in page.extract_words(extra_attrs=["fontname", "size"], keep_blank_chars=False)
        if not any(_inside(w, box) for box in boxes)
    ]
    found = [_Table(t.bbox[1], _table_rows(t), t.bbox[0], t.bbox[2]) for t in tables]
    columns = _columns(words, float(page.width))
    if columns is None:
        return sorted([*found, *_measured(_lines(words))], key=lambda i: i.top), None
    # Two columns: full-width lines above the columns (a title), the left column, the right
    # column, then full-width lines below them (a closing paragraph, the footer).
    x, top, bottom = columns
    band = [w for w in words if top <= w["top"] and w["bottom"] <= bottom and not w["x0"] < x < w["x1"]]
    in_band = {id(w) for w in band}
    # Each table goes with the column it sits in (or full width), in top-to-bottom order there.
    left: list[_Line | _Table] = [*_measured(_lines([w for w in band if w["x1"] <= x]))]
    right: list[_Line | _Table] = [*_measured(_lines([w for w in band if w["x0"] >= x]))]
    outside: list[_Line | _Table] = [*_measured(_lines([w for w in words if id(w) not in in_band]))]
    for table in found:
        (left if table.x1 <= x else right if table.x0 >= x else outside).append(table)
    left.sort(key=lambda i: i.top)
    right.sort(key=lambda i: i.top)
    outside.sort(key=lambda i: i.top)
    ordered = [
        *(i for i in outside if i.top < top),
        *left,
        *right,
        *(i for i in outside if i.top >= top),
    ]
    return ordered, None


def _inside(word: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    cx, cy = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _table_rows(table: Any) -> list[list[str]]:
    rows = []
    for row in table.extract():
        cells = [" ".join((c or "").split()) for c in row]
        if any(cells):
            rows.append(cells)
    return rows


def _lines(words: list[dict[str, Any]]) -> list[_Line]:
    """Words → lines: words whose tops lie within a third of their height share a line."""
    lines: list[list[dict[str, Any]]] = []
    for w in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if lines and abs(w["top"] - lines[-1][0]["top"]) <= max(1.0, (w["bottom"] - w["top"]) / 3):
            lines[-1].append(w)
        else:
            lines.append([w])
    out = []
    for ws in lines:
        ws.sort(key=lambda w: w["x0"])
        out.append(
            _Line(
                text=_GLYPH_BULLET.sub("• ", " ".join(w["text"] for w in ws)),
                x0=ws[0]["x0"],
                x1=ws[-1]["x1"],
                top=min(w["top"] for w in ws),
                bottom=max(w["bottom"] for w in ws),
                size=statistics.median(float(w.get("size") or 10) for w in ws),
                bold=all("bold" in str(w.get("fontname", "")).lower() for w in ws),
            )
        )
    return out


def _measured(lines: list[_Line]) -> list[_Line]:
    """Give each line its block's right edge, so a line that ends short of it is a hard break."""
    right = max((ln.x1 for ln in lines), default=0.0)
    for ln in lines:
        ln.right = right
    return lines


def _soft_wrap(prev: _Line, text: str) -> bool:
    """Did `prev` end only because the next word did not fit? (Then the break is the layout's,
    not the author's, and the two lines are one: a sentence splitter would cut at a newline.)"""
    if prev.right <= 0 or not text.split():
        return False
    char = (prev.x1 - prev.x0) / max(1, len(prev.text))
    return prev.x1 + (len(text.split()[0]) + 1) * char > prev.right - 1


def _columns(words: list[dict[str, Any]], width: float) -> tuple[float, float, float] | None:
    """(gutter x, top, bottom) of two side-by-side columns of text on a page, or None.

    Two columns need an empty vertical strip with a column of lines on each side over the same
    stretch of the page, and the right column's lines must start at one left edge: a single
    column cut at a lucky x has right-hand "lines" that start wherever a word happens to."""
    if len(words) < 40:
        return None
    best: tuple[int, float] | None = None
    for step in range(30, 71):
        x = width * step / 100
        crossing = sum(1 for w in words if w["x0"] < x < w["x1"])
        if best is None or crossing < best[0]:
            best = (crossing, x)
    assert best is not None
    _, x = best
    left = _lines([w for w in words if w["x1"] <= x])
    right = _lines([w for w in words if w["x0"] >= x])
    if min(len(left), len(right)) < 5:
        return None
    # The right column's lines start at one left edge (its most common x0); the stretch those
    # lines cover is the two-column band (a centred footer or a title outside it is full width).
    aligned = _aligned(right)
    top, bottom = aligned[0].top, aligned[-1].bottom
    # A left column longer than the right one runs on below it, line after line.
    last = max((ln.bottom for ln in left if top <= ln.top <= bottom), default=bottom)
    for ln in left:
        if ln.top > bottom and ln.top - last < 2 * ln.size:
            bottom = last = ln.bottom
    inside = [w for w in words if top <= w["top"] and w["bottom"] <= bottom]
    if bottom - top < 50 or sum(1 for w in inside if w["x0"] < x < w["x1"]) > max(1, len(inside) // 100):
        return None
    for side in (left, right):
        lines = [ln for ln in side if top <= ln.top and ln.bottom <= bottom]
        if len(lines) < 4:
            return None
        if len(_aligned(lines)) < 0.6 * len(lines):
            return None
    return x, top, bottom


def _aligned(lines: list[_Line]) -> list[_Line]:
    """The lines that start at the block's most common left edge (within 3 pt)."""
    edge = Counter(round(ln.x0) for ln in lines).most_common(1)[0][0]
    return [ln for ln in lines if abs(ln.x0 - edge) < 3]


def _norm(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _running_lines(pages: list[list[_Line | _Table]]) -> set[str]:
    """Normalised texts of running headers/footers: among the two top and two bottom lines of
    each page, those that recur on at least half the pages (and on two or more)."""
    counts: Counter[str] = Counter()
    for items in pages:
        counts.update({_norm(ln.text) for ln in _edge_lines(items)})
    need = max(2, (len(pages) + 1) // 2)
    return {t for t, n in counts.items() if n >= need}


def _edge_lines(items: list[_Line | _Table]) -> list[_Line]:
    """The two top and two bottom lines of a page: where running headers and footers are."""
    lines = sorted((i for i in items if isinstance(i, _Line)), key=lambda ln: ln.top)
    return lines[:2] + lines[-2:]


def _render(items: list[_Line | _Table], running: set[str], pitch: float) -> str:
    edge = {id(ln) for ln in _edge_lines(items)}
    kept: list[_Line | _Table] = [
        i
        for i in items
        if not (
            isinstance(i, _Line) and id(i) in edge and (_norm(i.text) in running or _PAGE_NUMBER.match(i.text.strip()))
        )
    ]
    out: list[str] = []
    prev: _Line | None = None
    bullet_x0: float | None = None  # left edge of the bullet whose lines are being read
    for item in kept:
        if isinstance(item, _Table):
            out.append("\n" + "\n".join("\t".join(r) for r in item.rows) + "\n\n")
            prev = bullet_x0 = None
            continue
        text = item.text
        gap = prev is not None and (item.top - prev.top > 1.45 * pitch or item.top < prev.top)
        heading = item.bold and len(text.split()) <= 14 and not text.endswith(".")
        if _BULLET_START.match(text):
            bullet_x0 = item.x0
        elif bullet_x0 is not None and (gap or item.x0 <= bullet_x0 + 4):
            bullet_x0 = None
        if prev is None or gap or heading or (prev.bold and not item.bold):
            out.append("\n")
        elif out and _HYPHENATED.search(out[-1].rstrip("\n")) and text[:1].islower():
            # "recom-" / "mendations": join the word, drop the hyphen and the line break.
            out[-1] = out[-1].rstrip("\n")[:-1]
        elif out and _soft_wrap(prev, text) and not _BULLET_START.match(text):
            out[-1] = out[-1].rstrip("\n") + " "
        elif bullet_x0 is not None and not _BULLET_START.match(text):
            text = "   " + text  # a bullet's continuation line is indented, so it stays the bullet's
        out.append((f"**{text}**" if heading else text) + "\n")
        if heading:
            out.append("\n")
        prev = item
    return "".join(out)


def _line_pitch(pages: list[list[_Line | _Table]]) -> float:
    """The paper's distance from one line's top to the next inside a paragraph, so that a larger
    step is a paragraph gap: the smallest step that is common over all pages (a paper with
    short paragraphs can have as many gaps as line steps, so the most common step can be a gap)."""
    steps: Counter[float] = Counter()
    for items in pages:
        lines = [i for i in items if isinstance(i, _Line)]
        steps.update(
            round(b.top - a.top, 0) for a, b in zip(lines, lines[1:], strict=False) if 0 < b.top - a.top < 4 * a.size
        )
    if not steps:
        return 14.0
    common = [step for step, n in steps.items() if n >= max(2, sum(steps.values()) // 10)]
    # A paper of one-line paragraphs (an agenda) has no step inside a paragraph at all: its
    # smallest common step is a gap. Lines are set at most ~1.5 times their size apart.
    size = statistics.median(i.size for items in pages for i in items if isinstance(i, _Line))
    return float(min(min(common or steps), 1.5 * size))


def _ocr_lines(page: Any, number: int) -> list[_Line | _Table]:
    """OCR a page with no text layer (opt-in): render it at 300 dpi and read it with tesseract."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise CorpusError("--ocr needs Debian's tesseract-ocr (apt-get install tesseract-ocr); it is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / f"page-{number}.png"
        page.to_image(resolution=300).original.save(image)
        done = subprocess.run(
            [tesseract, str(image), "stdout", "-l", "eng"], capture_output=True, text=True, timeout=300, check=False
        )
    if done.returncode != 0:
        raise CorpusError(f"OCR of page {number} failed: {done.stderr.strip().splitlines()[-1:]}")
    out: list[_Line | _Table] = []
    y = 0.0
    for raw in done.stdout.splitlines():
        y += 14.0 if raw.strip() else 28.0  # a blank OCR line is a paragraph gap
        if raw.strip():
            out.append(_Line(" ".join(raw.split()), 0.0, 0.0, y, y + 10, 10.0, False))
    return out
