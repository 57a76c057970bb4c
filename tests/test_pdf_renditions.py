"""The fixture generators in tests/pdf_renditions.py produce what they promise (checked with pdfplumber,
pypdfium2 and python-docx). The full corpus check reads only a sample of pages with pdfplumber (every page
takes ~25 s); headers and footers are checked on every page with pypdfium2 (fast)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import docx
import pdfplumber
import pypdfium2 as pdfium
import pytest
import yaml
from pdfminer.pdfdocument import PDFDocument, PDFXRefFallback
from pdfminer.pdfparser import PDFParser
from pdfplumber.utils.exceptions import PdfminerException

from tests.pdf_renditions import (
    BODY_FONT,
    BOLD_FONT,
    ENCRYPTED_USER_PASSWORD,
    HEADING_SIZE,
    LINE_HEIGHT,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    SCAN_DPI,
    corrupt_pdfs,
    docx_with_table,
    layout_showcase_pdf,
    render_corpus_as_pdfs,
    render_paper_pdf,
    scanned_pdf,
)

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
HEADER_BAND = 50.0  # pdfplumber `top` above which only the running header lies
FOOTER_BAND = PAGE_HEIGHT - 50.0  # `top` below which only the footer lies


@pytest.fixture(scope="module")
def renditions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    out = tmp_path_factory.mktemp("renditions")
    return out, render_corpus_as_pdfs(CORPUS, out)


def _body_words(page: pdfplumber.page.Page, outside: Sequence[tuple[float, float, float, float]] = ()) -> list[dict]:
    """Words (with fontname and size) between the header and footer bands, leaving out those inside the given
    boxes (tables)."""

    def keep(obj: dict) -> bool:
        inside = any(
            b[0] - 1 <= obj["x0"] and obj["x1"] <= b[2] + 1 and b[1] - 1 <= obj["top"] and obj["bottom"] <= b[3] + 1
            for b in outside
        )
        return not inside

    words = (page.filter(keep) if outside else page).extract_words(extra_attrs=["fontname", "size"])
    return [w for w in words if HEADER_BAND <= w["top"] <= FOOTER_BAND]


def _expected_words(page_text: str) -> list[str]:
    return " ".join(line for line in page_text.split("\n") if "\t" not in line).split()


def _expected_rows(page_text: str) -> list[list[str]]:
    return [line.split("\t") for line in page_text.split("\n") if "\t" in line]


def _extracted_rows(page: pdfplumber.page.Page) -> tuple[list[list[str]], list]:
    tables = page.find_tables()
    rows = [[(cell or "").replace("\n", " ") for cell in row] for table in tables for row in table.extract()]
    return rows, [table.bbox for table in tables]


def _check_page(page: pdfplumber.page.Page, page_text: str) -> None:
    rows, boxes = _extracted_rows(page)
    assert [w["text"] for w in _body_words(page, boxes)] == _expected_words(page_text)
    assert rows == _expected_rows(page_text)


def test_renditions_manifest_and_files(renditions: tuple[Path, dict[str, list[str]]]) -> None:
    out, pages = renditions
    source = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
    copy_text = (out / "manifest.yaml").read_text(encoding="utf-8")
    copy = yaml.safe_load(copy_text)
    assert copy_text.startswith("# The papers minutes-qa answers from.")  # comments kept
    assert len(copy["documents"]) == 5
    for before, after in zip(source["documents"], copy["documents"], strict=True):
        assert after["file"] == Path(before["file"]).with_suffix(".pdf").name
        assert {k: v for k, v in after.items() if k != "file"} == {k: v for k, v in before.items() if k != "file"}
    assert sorted(p.name for p in out.iterdir()) == sorted(["manifest.yaml", *(d["file"] for d in copy["documents"])])
    assert set(pages) == {d["id"] for d in copy["documents"]}


def test_every_page_has_header_and_footer(renditions: tuple[Path, dict[str, list[str]]]) -> None:
    out, pages = renditions
    for doc in yaml.safe_load((out / "manifest.yaml").read_text(encoding="utf-8"))["documents"]:
        pdf = pdfium.PdfDocument((out / doc["file"]).read_bytes())
        assert len(pdf) == len(pages[doc["id"]]) >= 3
        for n, page in enumerate(pdf, start=1):
            width, height = page.get_size()
            text = page.get_textpage()
            header = text.get_text_bounded(0, height - 50, width, height)
            assert header and doc["title"].startswith(header.removesuffix(" ...")), (doc["id"], n, header)
            assert text.get_text_bounded(0, 0, width, 50) == f"Page {n}"
        pdf.close()


def test_sample_pages_read_back_in_order(renditions: tuple[Path, dict[str, list[str]]]) -> None:
    """First and last page of every paper: the words in order and any drawn table, cell for cell."""
    out, pages = renditions
    for doc in yaml.safe_load((out / "manifest.yaml").read_text(encoding="utf-8"))["documents"]:
        with pdfplumber.open(out / doc["file"]) as pdf:
            for index in (0, len(pdf.pages) - 1):
                _check_page(pdf.pages[index], pages[doc["id"]][index])


def test_markdown_tables_are_drawn_grids(renditions: tuple[Path, dict[str, list[str]]]) -> None:
    out, pages = renditions
    texts = pages["wcc-cabinet-agenda-2017-12-14"]
    header = "Shortlisted options\tOverall Score\t% of total possible\tRanking"
    scores = next(i for i, text in enumerate(texts) if header in text.split("\n"))
    blank = next(i for i, text in enumerate(texts) if any("" in row for row in _expected_rows(text)))
    with pdfplumber.open(out / "wcc-cabinet-agenda-2017-12-14.pdf") as pdf:
        rows, _ = _extracted_rows(pdf.pages[scores])
        table = rows[rows.index(header.split("\t")) :][:6]
        assert table == [
            header.split("\t"),
            ["Wholly Owned Council Company", "1810", "83%", "1"],
            ["Independent Organisation", "1515", "70%", "2"],
            ["Strategic Partnership", "1385", "64%", "3"],
            ["Joint Venture", "1360", "63%", "4"],
            ["Outsource", "920", "42%", "5"],
        ]
        _check_page(pdf.pages[scores], texts[scores])
        _check_page(pdf.pages[blank], texts[blank])  # blank cells read back as ""


def test_headings_bullets_and_gaps(renditions: tuple[Path, dict[str, list[str]]]) -> None:
    out, pages = renditions
    texts = pages["wcc-cabinet-agenda-2017-12-14"]
    assert texts[0].split("\n")[0] == "Agenda Cabinet"  # "# Agenda Cabinet", markup gone
    assert any(line.startswith("• ") for line in texts[0].split("\n"))
    with pdfplumber.open(out / "wcc-cabinet-agenda-2017-12-14.pdf") as pdf:
        page = pdf.pages[0]
        words = _body_words(page)
        assert [w["text"] for w in words[:2]] == ["Agenda", "Cabinet"]
        heading_chars = [c for c in page.chars if c["top"] <= words[0]["bottom"] and c["top"] >= HEADER_BAND]
        assert {c["fontname"] for c in heading_chars} == {BOLD_FONT}
        assert {round(c["size"]) for c in heading_chars} == {HEADING_SIZE}
        assert "• Any employment, office, trade or vocation carried on for profit or gain" in page.extract_text()
        tops = sorted({round(w["top"], 1) for w in words if w["fontname"] == BODY_FONT})
        steps = {round(b - a) for a, b in zip(tops, tops[1:], strict=False)}
        assert LINE_HEIGHT in steps and 2 * LINE_HEIGHT in steps  # within a paragraph, and across a gap


def test_rendering_is_deterministic() -> None:
    source = (CORPUS / "wcc-cabinet-minutes-2018-03-29.txt").read_text(encoding="utf-8")
    assert render_paper_pdf(source, "t") == render_paper_pdf(source, "t")
    assert layout_showcase_pdf()[0] == layout_showcase_pdf()[0]


def test_layout_showcase() -> None:
    data, expected = layout_showcase_pdf()
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == expected["pages"] == 3
        reading: list[str] = []
        for n, page in enumerate(pdf.pages, start=1):
            words = page.extract_words()
            header = " ".join(w["text"] for w in words if w["top"] < HEADER_BAND)
            footer = " ".join(w["text"] for w in words if w["top"] > FOOTER_BAND)
            assert header == expected["header"]
            match = re.match(expected["footer_pattern"], footer)
            assert match is not None and match.group(1) == str(n)
            assert footer == expected["footers"][n - 1]
            if n == expected["column_page"]:
                body = _body_words(page)
                heading = [w for w in body if w["fontname"] == BOLD_FONT]
                assert " ".join(w["text"] for w in heading) == expected["column_heading"]
                columns = [w for w in body if w["fontname"] != BOLD_FONT]
                (l0, l1), (r0, r1) = expected["column_x_ranges"]
                left = [w for w in columns if w["x1"] <= l1 + 1]
                right = [w for w in columns if w["x0"] >= r0 - 1]
                assert left and right and len(left) + len(right) == len(columns)  # two x-clusters
                assert max(w["x1"] for w in left) + 40 < min(w["x0"] for w in right)  # a clear gutter
                text = " ".join(w["text"] for w in [*heading, *left, *right])  # words come out top-down per x
                assert text == " ".join([expected["column_heading"], *expected["column_paragraphs"]])
                firsts = [p.split()[0].rstrip(":") for p in expected["column_paragraphs"]]
                assert (
                    firsts
                    == expected["column_first_words"]
                    == ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
                )
                reading.append(text)
            else:
                reading.append(" ".join(w["text"] for w in _body_words(page)))
        hyphen = expected["hyphenated"]
        page1_lines = pdf.pages[hyphen["page"] - 1].extract_text().split("\n")
        assert any(
            a.endswith(hyphen["line_end"]) and b.startswith(hyphen["line_start"])
            for a, b in zip(page1_lines, page1_lines[1:], strict=False)
        )
        assert hyphen["line_end"][:-1] + hyphen["line_start"] == hyphen["joined"] == "recommendations"
        table = expected["table"]
        rows, _ = _extracted_rows(pdf.pages[table["page"] - 1])
        assert rows == [table["header"], *table["rows"]]
        assert len(table["rows"]) == 3 and any("" in row for row in table["rows"])
    joined = [re.sub(r"(\w)- (\w)", r"\1\2", text) for text in reading]
    for sentence, page_number in expected["sentences"].items():
        assert sentence in joined[page_number - 1], (sentence, page_number)
        assert all(sentence not in text for i, text in enumerate(joined) if i != page_number - 1)


def test_scanned_pdf_page_two_is_an_image_only() -> None:
    data, text = scanned_pdf()
    assert text.count("\n") >= 2 and "granted" in text
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 2
        assert pdf.pages[0].chars and pdf.pages[0].extract_text()
        assert not pdf.pages[0].images
        assert not pdf.pages[1].chars and pdf.pages[1].extract_text() == ""
        assert len(pdf.pages[1].images) == 1
        image = pdf.pages[1].images[0]
        assert image["srcsize"] == (round(PAGE_WIDTH / 72 * SCAN_DPI), round(PAGE_HEIGHT / 72 * SCAN_DPI))
    rendered = pdfium.PdfDocument(data)[1].render(scale=1).to_pil().convert("L")
    assert rendered.getextrema() == (0, 255)  # black text on white


def test_corrupt_pdfs() -> None:
    bad = corrupt_pdfs()
    assert set(bad) == {"truncated", "not_a_pdf", "encrypted", "zero_pages"}
    assert bad["truncated"].startswith(b"%PDF-") and b"%%EOF" not in bad["truncated"]
    assert not bad["not_a_pdf"].startswith(b"%PDF")
    for name in ("truncated", "not_a_pdf", "encrypted"):
        with pytest.raises(PdfminerException):
            pdfplumber.open(io.BytesIO(bad[name]))
        with pytest.raises(pdfium.PdfiumError):
            pdfium.PdfDocument(bad[name])
    with pytest.raises(PdfminerException) as raised:
        pdfplumber.open(io.BytesIO(bad["encrypted"]))
    assert type(raised.value.args[0]).__name__ == "PDFPasswordIncorrect"
    with pdfplumber.open(io.BytesIO(bad["encrypted"]), password=ENCRYPTED_USER_PASSWORD) as pdf:
        assert "confidential" in pdf.pages[0].extract_text()
    with pdfplumber.open(io.BytesIO(bad["zero_pages"])) as pdf:
        assert len(pdf.pages) == 0
    document = PDFDocument(PDFParser(io.BytesIO(bad["zero_pages"])))
    assert not any(isinstance(x, PDFXRefFallback) for x in document.xrefs)  # its own xref table was used
    data = bad["zero_pages"]
    table = data[int(data.rsplit(b"startxref\n", 1)[1].split()[0]) :]
    assert table.startswith(b"xref\n")
    offsets = [int(line[:10]) for line in table.split(b"\n")[3:] if line.endswith(b" n ")]
    assert [data[o:].split(b"\n", 1)[0] for o in offsets] == [b"1 0 obj", b"2 0 obj", b"3 0 obj"]


def test_docx_with_table() -> None:
    data, expected = docx_with_table()
    document = docx.Document(io.BytesIO(data))
    by_style: dict[str, list[str]] = {}
    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        by_style.setdefault(style, []).append(paragraph.text)
    assert by_style["Title"] == [expected["title"]]
    assert by_style["Heading 1"] == [expected["heading1"]]
    assert by_style["Heading 2"] == [expected["heading2"]]
    assert by_style["List Bullet"] == expected["bullets"]
    assert by_style["Normal"] == expected["paragraphs"]
    (table,) = document.tables
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows == [expected["table"]["header"], *expected["table"]["rows"]]
    assert any("" in row for row in expected["table"]["rows"])
    # document order: the table sits between the paragraph announcing it and the closing paragraph
    body = [child.tag.rsplit("}", 1)[1] for child in document.element.body.iterchildren()]
    kinds = [kind for kind, _ in expected["blocks"]]
    assert body[: len(kinds)] == ["tbl" if kind == "table" else "p" for kind in kinds]
