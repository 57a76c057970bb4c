from pathlib import Path

import pytest

from indexer.corpus import CorpusError, load_manifest, read_source


def test_manifest_loads_all_fixture_papers(corpus_dir: Path):
    metas = load_manifest(corpus_dir)
    assert [m.id for m in metas] == ["panel-minutes-2018-03-22", "options-analysis-2017-12-14", "web-minutes"]
    assert metas[2].meeting_date is None


def test_paper_without_entry_is_named(corpus_dir: Path):
    (corpus_dir / "stray-paper.txt").write_text("Some minutes.")
    with pytest.raises(CorpusError, match="stray-paper.txt"):
        load_manifest(corpus_dir)


def test_pdf_without_entry_is_named_not_ignored(corpus_dir: Path):
    (corpus_dir / "council-report.pdf").write_bytes(b"%PDF-1.4 dropped in by hand")
    with pytest.raises(CorpusError, match="without a manifest entry: council-report.pdf"):
        load_manifest(corpus_dir)


def test_file_of_a_type_minutes_qa_cannot_read_is_named(corpus_dir: Path):
    (corpus_dir / "old-minutes.doc").write_bytes(b"\xd0\xcf\x11\xe0 an old Word file")
    (corpus_dir / ".fetch-state.json").write_text("{}")  # hidden files are tools' own, not papers
    with pytest.raises(CorpusError, match="cannot read .*old-minutes.doc"):
        load_manifest(corpus_dir)


def test_manifest_records_where_a_fetched_paper_came_from(corpus_dir: Path):
    manifest = corpus_dir / "manifest.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "id: web-minutes",
            "id: web-minutes\n    source_url: https://democracy.example.gov.uk/documents/s1/minutes.pdf"
            "\n    agenda_item: {number: 5, title: Budget}\n    fetched_at: '2026-11-28T10:00:00Z'",
            1,
        )
    )
    meta = {m.id: m for m in load_manifest(corpus_dir)}["web-minutes"]
    assert meta.source_url == "https://democracy.example.gov.uk/documents/s1/minutes.pdf"
    assert meta.agenda_item == {"number": "5", "title": "Budget"}
    manifest.write_text(manifest.read_text().replace("https://democracy", "file:///etc/democracy"))
    with pytest.raises(CorpusError, match="source_url must be an http"):
        load_manifest(corpus_dir)


def test_entry_without_file_is_named(corpus_dir: Path):
    (corpus_dir / "web-minutes.html").unlink()
    with pytest.raises(CorpusError, match="web-minutes"):
        load_manifest(corpus_dir)


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('meeting_date: "2018-03-22"', 'meeting_date: "22/03/2018"', "not an ISO date"),
        ("id: web-minutes", "id: Web Minutes!", "lowercase slug"),
        ("doc_type: agenda", "doc_type: leaflet", "doc_type must be one of"),
        ("file: web-minutes.html", "file: ../web-minutes.html", "plain file name"),
    ],
)
def test_bad_manifest_values_are_refused(corpus_dir: Path, old, new, message):
    manifest = corpus_dir / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace(old, new, 1))
    with pytest.raises(CorpusError, match=message):
        load_manifest(corpus_dir)


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary\x00junk", "binary"),
        ("Caf\u00e9 minutes".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_unreadable_papers_are_refused_by_name(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "bad-paper.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=f"bad-paper.txt.*{message}|{message}"):
        read_source(path)


def test_real_manifest_is_valid_and_never_invents_dates():
    repo_corpus = Path(__file__).resolve().parents[2] / "corpus"
    metas = {m.id: m for m in load_manifest(repo_corpus)}
    assert len(metas) == 5
    undated = metas["wcc-cfosp-adm-presentation-2017"]
    assert undated.meeting_date is None and "meeting_date" in undated.notes
    # every inferred date carries a note saying how it was inferred
    assert "meeting_date" in metas["wcc-cabinet-minutes-2018-03-29"].notes


def test_word_lock_files_and_thumbnails_are_not_papers(corpus_dir: Path):
    (corpus_dir / "~$paper.docx").write_bytes(b"owner file Word keeps while the paper is open")
    (corpus_dir / "Thumbs.db").write_bytes(b"\x00")
    assert len(load_manifest(corpus_dir)) == 3
