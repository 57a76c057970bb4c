"""From a ModernGov site to cited answers with page numbers in two commands, as a user runs them:
`minutes-qa fetch moderngov BASE_URL --corpus DIR`, then `minutes-qa index --corpus DIR`; then the
answers cite the fetched PDFs by page and link to the council's own file at that page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from tests.fake_moderngov import EXPECTED_PAPERS, FakeModernGov

pytestmark = pytest.mark.real_model


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def test_fetch_then_index_gives_answers_cited_by_page(tmp_path: Path, monkeypatch, capsys):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    monkeypatch.setenv("MINUTES_QA_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("MINUTES_QA_INDEX_DIR", str(index))
    with FakeModernGov() as site:
        argv = ["fetch", "moderngov", site.base_url, "--since", "2025-01-01", "--until", "2025-12-31"]
        assert _run([*argv, "--min-interval", "0", "--council", "Testshire District Council"]) == 0
    assert _run(["index"]) == 0
    out = capsys.readouterr().out
    assert f"{EXPECTED_PAPERS} documents" in out

    assert _run(["ask", "--json", "What is the committee asked to do about paper 5006?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    cited = answer["citations"] or answer["related"]
    top = cited[0]
    assert "Recommendation on paper 5006" in top["quote"]
    assert (top["page"], top["page_end"]) == (2, 2)
    assert top["source_url"].endswith("#page=2") and "mgConvert2PDF.aspx" in top["source_url"]

    assert _run(["search", "recommendation on paper 5010"]) == 0
    lines = capsys.readouterr().out.splitlines()
    on_page_2 = [line for line in lines if "Recommendation on paper 5010" in line]
    assert on_page_2 and "Planning Committee, 5 February 2025, p. 2 —" in on_page_2[0]
    assert all(", p. 1 —" in line for line in lines if "Paper 5010, version 1" in line)
