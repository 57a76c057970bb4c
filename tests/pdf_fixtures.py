"""Small PDFs generated in the tests (reportlab), so no binary fixture is committed."""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

LINE_HEIGHT = 14
TOP_MARGIN = 60
LEFT_MARGIN = 60


def simple_pdf(pages: list[list[str]], *, title: str = "minutes-qa test paper") -> bytes:
    """One PDF page per list of lines; an empty string leaves a blank line (a paragraph gap)."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=True)  # invariant: same bytes every run
    pdf.setTitle(title)
    _, height = A4
    for lines in pages:
        y = height - TOP_MARGIN
        pdf.setFont("Helvetica", 10)
        for line in lines:
            if line:
                pdf.drawString(LEFT_MARGIN, y, line)
            y -= LINE_HEIGHT
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


PDF_PAPER_ID = "cabinet-2018-06-05"
PDF_PAPER_PAGES = [
    ["Cabinet minutes, 5 June 2018", "", "1. Apologies", "", "Apologies were received from Councillor Hart."],
    ["Cabinet minutes, 5 June 2018", "", "2. Library review", "", "The Cabinet agreed to keep all branches open."],
]
PDF_PAPER_URL = "https://democracy.example.gov.uk/documents/g1/minutes.pdf"


def add_pdf_paper(corpus_dir: Path) -> Path:
    """Add a two-page PDF paper (with its manifest entry and published URL) to a test corpus."""
    (corpus_dir / f"{PDF_PAPER_ID}.pdf").write_bytes(simple_pdf(PDF_PAPER_PAGES))
    with (corpus_dir / "manifest.yaml").open("a") as f:
        f.write(
            f"  - id: {PDF_PAPER_ID}\n    file: {PDF_PAPER_ID}.pdf\n    title: Cabinet minutes\n"
            "    body: Cabinet\n    meeting_date: '2018-06-05'\n    doc_type: minutes\n"
            f"    source_url: {PDF_PAPER_URL}\n"
        )
    return corpus_dir
