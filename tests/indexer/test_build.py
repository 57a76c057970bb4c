import json
from pathlib import Path

import pytest

from indexer import store
from indexer.build import build_index, index_status
from indexer.corpus import CorpusError
from indexer.store import IndexLoadError, current_version_dir
from service.index import load_index


def test_every_chunk_and_sentence_span_reproduces_its_text(built_index: Path, fake_embedder):
    ix = load_index(built_index, fake_embedder)
    for chunk in ix.chunks:
        text = ix.documents[chunk.doc_id].text
        assert text[chunk.start : chunk.end].strip() == text[chunk.start : chunk.end]
        assert chunk.start < chunk.end
        for cell in chunk.cells:
            assert text[cell.start : cell.end] == cell.text
    for ci, s, e in ix.sentence_spans:
        assert ix.chunks[ci].start <= s < e <= ix.chunks[ci].end


def test_table_rows_carry_headers_and_blank_cells_stay_blank(built_index, fake_embedder):
    ix = load_index(built_index, fake_embedder)
    rows = {c.row_label: c for c in ix.chunks if c.kind == "table_row"}
    wocc = rows["Wholly Owned Council Company"]
    assert "Overall Score: 1810" in wocc.search_text and "% of total possible: 83%" in wocc.search_text
    timescales = rows["Implementation timescales"]
    assert "2. Joint Venture: (blank)" in timescales.search_text
    assert timescales.caption.startswith("Figure 15")
    assert "8.2. Summary of results" in timescales.section


def test_section_paths_and_minute_numbers(built_index, fake_embedder):
    ix = load_index(built_index, fake_embedder)
    vat = next(c for c in ix.chunks if "liable for VAT" in ix.documents[c.doc_id].text[c.start : c.end])
    assert vat.item == "319" and vat.section == "319 Alternative Delivery Model"
    html = [c for c in ix.chunks if c.doc_id == "web-minutes"]
    assert html and all(c.item == "1839" for c in html)
    assert "hidden" not in ix.documents["web-minutes"].text  # <script> in an HTML paper is code, not text


def test_rebuild_is_a_no_op_when_nothing_changed(corpus_dir, built_index, fake_embedder):
    report = build_index(corpus_dir, built_index, fake_embedder, progress=False)
    assert report.up_to_date


def test_incremental_rebuild_embeds_only_changed_text(corpus_dir, built_index, fake_embedder):
    paper = corpus_dir / "panel-minutes-2018-03-22.txt"
    paper.write_text(paper.read_text().replace("every 8 weeks", "every 6 weeks"))
    report = build_index(corpus_dir, built_index, fake_embedder, progress=False)
    assert not report.up_to_date
    assert 1 <= report.vectors_embedded <= 3  # the changed chunk and its sentence
    assert report.vectors_reused > 20
    assert report.chunks_added == 1 and report.chunks_removed == 1


def test_crash_mid_write_leaves_the_previous_index_loadable(corpus_dir, built_index, fake_embedder, monkeypatch):
    before = current_version_dir(built_index)
    paper = corpus_dir / "panel-minutes-2018-03-22.txt"
    paper.write_text(paper.read_text() + "\nA new paragraph.\n")

    def crash(self, name, array):
        raise KeyboardInterrupt("simulated crash while writing vectors")

    monkeypatch.setattr(store.IndexWriter, "write_array", crash)
    with pytest.raises(KeyboardInterrupt):
        build_index(corpus_dir, built_index, fake_embedder, progress=False)
    assert current_version_dir(built_index) == before
    assert load_index(built_index, fake_embedder).version == before.name
    assert not list((built_index / "versions").glob(".tmp-*"))


def test_index_built_with_another_model_is_refused(built_index, fake_embedder):
    class OtherModel(type(fake_embedder)):
        model_name = "someone/else"

    with pytest.raises(IndexLoadError, match="embedding model .*rebuild"):
        load_index(built_index, OtherModel())


def test_other_format_version_is_refused(built_index, fake_embedder):
    manifest_path = current_version_dir(built_index) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 999
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexLoadError, match="format version 999.*minutes-qa index"):
        load_index(built_index, fake_embedder)


def test_truncated_index_file_is_detected(built_index, fake_embedder):
    vectors = current_version_dir(built_index) / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(IndexLoadError, match="truncated or corrupted"):
        load_index(built_index, fake_embedder)


def test_missing_index_says_how_to_build_it(tmp_path, fake_embedder):
    with pytest.raises(IndexLoadError, match="minutes-qa index"):
        load_index(tmp_path / "nowhere", fake_embedder)


def test_unparseable_paper_fails_the_build_by_default_without_touching_the_index(
    corpus_dir, built_index, fake_embedder
):
    before = current_version_dir(built_index)
    (corpus_dir / "web-minutes.html").write_bytes(b"\x00\x00junk\x00")
    with pytest.raises(CorpusError, match="web-minutes.html"):
        build_index(corpus_dir, built_index, fake_embedder, progress=False)
    assert current_version_dir(built_index) == before


def test_unparseable_paper_can_be_skipped(corpus_dir, built_index, fake_embedder):
    (corpus_dir / "web-minutes.html").write_bytes(b"")
    report = build_index(corpus_dir, built_index, fake_embedder, on_error="skip", progress=False)
    assert [p.file for p in report.skipped] == ["web-minutes.html"]
    ix = load_index(built_index, fake_embedder)
    assert set(ix.documents) == {"panel-minutes-2018-03-22", "options-analysis-2017-12-14"}


def test_index_status_reports_stale_after_a_corpus_change(corpus_dir, built_index, fake_embedder):
    assert index_status(corpus_dir, built_index, fake_embedder.model_name)[0]
    (corpus_dir / "options-analysis-2017-12-14.md").write_text("# Changed\n\nNew text.\n")
    fresh, reason = index_status(corpus_dir, built_index, fake_embedder.model_name)
    assert not fresh and "changed" in reason
