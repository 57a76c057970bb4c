"""Word (.docx) papers → the line-oriented text the structure parser reads (python-docx).

The body is walked in document order, so tables stay where the paper puts them. Heading and
Title styles become markdown headings, list paragraphs become bullets (indented by level), and
table rows become tab-separated lines (a cell merged across columns is read once). Word files
have no fixed pages, so their spans carry no page number.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from indexer.corpus import CorpusError
from indexer.pdf_source import ExtractedText


def _open_docx(path: Path) -> Any:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(path):
        raise CorpusError(f"{path.name}: not a Word .docx file (a .docx is a zip package; an old .doc is not read)")
    try:
        return docx.Document(str(path))
    except PackageNotFoundError:
        raise CorpusError(f"{path.name}: not a Word document (the zip holds no Word package)") from None
    except Exception as exc:  # damaged XML inside the zip, missing parts: lxml, KeyError, ValueError …
        raise CorpusError(f"{path.name}: not a readable .docx ({exc.__class__.__name__}: {exc})") from None


def _paragraph_line(paragraph: Any) -> str:
    text = " ".join(paragraph.text.split())
    if not text:
        return ""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title":
        return f"# {text}"
    if style.startswith("Heading"):
        level = style.removeprefix("Heading").strip()
        return "#" * (min(int(level), 5) + 1 if level.isdigit() else 2) + f" {text}"
    p_pr = paragraph._p.pPr
    numbered = p_pr is not None and p_pr.numPr is not None
    if numbered or "List" in style:
        level = 0
        if numbered and p_pr.numPr.ilvl is not None:
            level = int(p_pr.numPr.ilvl.val)
        return ("    " * level) + f"- {text}"
    return text


def _table_lines(table: Any) -> list[str]:
    """One tab-separated line per row, one cell per grid column: a cell merged across columns is
    read once and the columns it spans stay blank, so every row keeps the table's shape (a row
    merged across the whole table is still a row of the table, not a paragraph)."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # python-docx gives one cell per grid column, repeating merged ones
            cells.append("" if id(cell._tc) in seen else " ".join(cell.text.split()))
            seen.add(id(cell._tc))
        if any(cells):
            rows.append("\t".join(cells) + ("\t" if len(cells) == 1 else ""))
    return rows


def docx_to_text(path: Path) -> ExtractedText:
    document = _open_docx(path)
    try:
        return _read(document, path)
    except CorpusError:
        raise
    except Exception as exc:  # a damaged part found only while reading
        raise CorpusError(f"{path.name}: not a readable .docx ({exc.__class__.__name__}: {exc})") from None


def _read(document: Any, path: Path) -> ExtractedText:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            line = _paragraph_line(Paragraph(child, document))
            if line:
                out.append(line + ("\n" if line.lstrip().startswith("- ") else "\n\n"))
        elif tag == "tbl":
            out.append("\n" + "\n".join(_table_lines(Table(child, document))) + "\n\n")
    text = "".join(out)
    if not text.strip():
        raise CorpusError(f"{path.name}: the Word file has no text")
    return ExtractedText(text)
