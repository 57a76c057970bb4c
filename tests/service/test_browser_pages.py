"""A PDF paper in the source panel: the page a citation is on, with the highlight, page by page, and
a link to the council's own file at that page."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import build_index
from tests.live_server import live_server
from tests.pdf_fixtures import PDF_PAPER_ID, PDF_PAPER_URL, add_pdf_paper
from tests.service.test_browser import browser  # noqa: F401 (the shared Chromium fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def pdf_url(corpus_dir: Path, tmp_path: Path, fake_embedder):
    from service.api import create_app
    from service.settings import Settings

    root = tmp_path / "index"
    build_index(add_pdf_paper(corpus_dir), root, fake_embedder, progress=False)
    settings = Settings(index_dir=root, corpus_dir=corpus_dir, model=fake_embedder.model_name)
    with live_server(create_app(settings, embedder=fake_embedder)) as url:
        yield url


def test_source_panel_shows_the_cited_page_with_a_link_to_the_original(browser, pdf_url):  # noqa: F811
    import httpx

    doc = httpx.get(f"{pdf_url}/documents/{PDF_PAPER_ID}", headers={"Accept": "application/json"}).json()
    assert [p["number"] for p in doc["pages"]] == [1, 2] and doc["page_count"] == 2
    start = doc["text"].index("The Cabinet agreed")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{pdf_url}/documents/{PDF_PAPER_ID}#{start}-{start + 18}")
    page.locator("#source-text mark").wait_for()
    assert page.locator("#source-text mark").inner_text() == "The Cabinet agreed"
    assert page.locator("#page-label").inner_text() == "p. 2 of 2"
    text = page.locator("#source-text").inner_text()
    assert "Library review" in text and "Apologies were received" not in text  # only the cited page
    assert page.locator("#page-original").get_attribute("href") == f"{PDF_PAPER_URL}#page=2"
    assert page.locator("#page-next").is_disabled()

    page.click("#page-prev")
    page.locator("#page-label", has_text="p. 1 of 2").wait_for()
    assert "Apologies were received" in page.locator("#source-text").inner_text()
    assert page.locator("#page-original").get_attribute("href") == f"{PDF_PAPER_URL}#page=1"
    assert page.url.endswith(f"/documents/{PDF_PAPER_ID}#page-1")  # a page is a permalink

    page.goto(f"{pdf_url}/documents/{PDF_PAPER_ID}#page-2")
    page.locator("#page-label", has_text="p. 2 of 2").wait_for()
    assert "Library review" in page.locator("#source-text").inner_text()


def test_a_skipped_scanned_page_says_why_it_is_empty(browser, corpus_dir: Path, tmp_path: Path, fake_embedder):  # noqa: F811
    from service.api import create_app
    from service.settings import Settings
    from tests.pdf_renditions import scanned_pdf

    add_pdf_paper(corpus_dir)
    (corpus_dir / f"{PDF_PAPER_ID}.pdf").write_bytes(scanned_pdf()[0])
    root = tmp_path / "index"
    build_index(corpus_dir, root, fake_embedder, progress=False)
    settings = Settings(index_dir=root, corpus_dir=corpus_dir, model=fake_embedder.model_name)
    with live_server(create_app(settings, embedder=fake_embedder)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/documents/{PDF_PAPER_ID}#page-2")
        page.locator("#page-label", has_text="p. 2 of 2").wait_for()
        assert "no text layer" in page.locator("#source-text").inner_text()
