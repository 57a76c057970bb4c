"""The five papers as PDFs (rendered in the test, ~50 lines a page, running header and footer, the
agenda's tables drawn as tables) answer as well as the text versions: the eval test split's fact
accuracy within 2 points, and every citation names the page its quote is printed on.

The PDF index is built over a copy of the text index, so passages whose text came out the same
reuse their vectors (the incremental build) and only the rest are embedded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eval.gold import load_gold, normalise
from eval.runner import Backend, metrics, run
from eval.split import load_split, side
from indexer.build import build_index
from service.engine import Engine
from service.index import load_index
from tests.pdf_renditions import render_corpus_as_pdfs

pytestmark = pytest.mark.real_model

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pdf_engine(real_index_dir: Path, real_embedder, tmp_path_factory: pytest.TempPathFactory):
    corpus = tmp_path_factory.mktemp("pdf-corpus")
    pages = render_corpus_as_pdfs(REPO / "corpus", corpus)
    root = tmp_path_factory.mktemp("pdf-index") / "index"
    shutil.copytree(real_index_dir, root, ignore=shutil.ignore_patterns("crossfit-*"))
    report = build_index(corpus, root, real_embedder, progress=False)
    assert report.documents == 5 and not report.skipped and not report.skipped_pages
    return Engine(load_index(root, real_embedder)), pages


def _test_split() -> list:
    return side(load_gold(), load_split(), "test")


def test_pdf_renditions_answer_within_two_points_of_the_text_papers(pdf_engine, real_engine):
    engine, _ = pdf_engine
    items = _test_split()
    scores = {}
    for name, e in (("text", real_engine), ("pdf", engine)):
        texts = {d: doc.text for d, doc in e.index.documents.items()}
        scores[name] = metrics(run(Backend(engine=e, texts=texts), items))["fact_accuracy"]
    print(f"test split fact accuracy: text {scores['text']}%, PDF {scores['pdf']}%")
    assert scores["pdf"] >= scores["text"] - 2.0


def test_every_citation_names_the_page_its_quote_is_printed_on(pdf_engine):
    engine, pages = pdf_engine
    checked = 0
    for item in _test_split():
        result = engine.ask(item.question, item.history)
        for c in result.citations + result.related:
            assert c.page is not None and c.page_end is not None and c.page <= c.page_end
            printed = [normalise(p) for p in pages[c.document_id][c.page - 1 : c.page_end]]
            opening = " ".join(normalise(c.quote).split()[:8])
            # the quote starts on its first page (it may run on to the next)
            starts = [i for i in range(len(printed[0])) if " ".join(printed).startswith(opening, i)]
            assert starts, (c.document_id, c.page, c.page_end, c.quote[:80])
            checked += 1
    assert checked > 100
