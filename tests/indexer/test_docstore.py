"""The index store: read in place (SQLite + memory-mapped arrays), the same records the build made,
an old format refused with the rebuild hint, and the compressed vector path wired end to end."""

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from indexer import store, vectors
from indexer.build import build_index, index_status, parse_document
from indexer.chunker import Chunker
from indexer.corpus import load_manifest
from indexer.lexical import tokenize
from indexer.models import Chunk
from indexer.store import IndexLoadError, current_version_dir
from indexer.tokens import count_tokens
from service.index import load_index


def _parsed(corpus_dir: Path, embedder):
    chunker = Chunker(count_tokens, embedder.count_tokens, embedder.max_tokens)
    return [parse_document(m, corpus_dir, chunker) for m in load_manifest(corpus_dir)]


def test_store_round_trip_gives_back_what_the_build_parsed(corpus_dir, built_index, fake_embedder):
    ix = load_index(built_index, fake_embedder)
    docs = _parsed(corpus_dir, fake_embedder)
    assert list(ix.documents) == ix.doc_order == [d.meta.id for d in docs]
    chunks = [c for d in docs for c in d.chunks]
    assert len(ix.chunks) == len(chunks) and list(ix.chunks) == chunks
    assert [ix.chunks[i] for i in range(len(chunks))] == chunks  # by row, as the service reads them
    assert ix.chunks[-1] == chunks[-1] and ix.chunks[1:3] == chunks[1:3]
    with pytest.raises(IndexError):
        ix.chunks[len(chunks)]
    base = 0
    for pos, d in enumerate(docs):
        stored = ix.documents[d.meta.id]
        assert stored.meta == d.meta and stored.text == d.text and stored.sections == d.sections
        assert stored.pages == d.pages
        n = len(d.chunks)
        assert ix.chunk_doc[base : base + n].tolist() == [pos] * n
        spans = [[base + ci, s, e] for ci, s, e in d.sentences]
        rows = [r for r, (ci, _, _) in enumerate(ix.sentence_spans.tolist()) if base <= ci < base + n]
        assert ix.sentence_spans[rows].tolist() == spans
        for ci in range(n):
            assert ix.chunk_sentences[base + ci] == [r for r in rows if ix.sentence_spans[r][0] == base + ci]
        base += n
    units = [u for d in docs for u in d.units]
    assert [(u.kind, u.doc_id, u.start, u.end, u.role) for u in ix.units] == [
        (u.kind, u.doc_id, u.start, u.end, u.role) for u in units
    ]
    for row, u in enumerate(ix.units):
        for c in u.chunks:
            assert row in ix.chunk_units[c]
    facts = {d: [r for r, u in enumerate(ix.units) if u.kind == "fact" and u.doc_id == d] for d in ix.documents}
    assert ix.doc_facts == facts and any(facts.values())
    scanned: dict[str, int] = {}  # what service/scoring.py's IDF counts: passages holding each term
    for c in chunks:
        for t in set(tokenize(c.search_text)):
            scanned[t] = scanned.get(t, 0) + 1
    assert ix.term_df == scanned


def test_load_decodes_no_chunk_until_one_is_asked_for(built_index, fake_embedder, monkeypatch):
    decoded = []
    original = Chunk.from_dict.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Chunk, "from_dict", classmethod(lambda cls, d: decoded.append(d) or original(cls, d)))
    ix = load_index(built_index, fake_embedder)
    assert decoded == []  # nothing parsed whole at load
    chunk = ix.chunks[3]
    assert len(decoded) == 1 and chunk.doc_id in ix.documents
    assert ix.chunks[3] is chunk and len(decoded) == 1  # a recent row is kept decoded
    assert isinstance(ix.sentence_spans, np.memmap) and isinstance(ix.chunk_doc, np.memmap)


def test_a_read_only_index_is_read_in_place(built_index, fake_embedder):
    vdir = current_version_dir(built_index)
    files = [p for p in vdir.rglob("*")]
    try:
        for p in [*files, vdir]:
            p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        ix = load_index(built_index, fake_embedder)
        vat = next(c for c in ix.chunks if "VAT" in c.search_text)
        assert "VAT" in ix.documents[vat.doc_id].text[vat.start : vat.end]
        assert sorted(os.listdir(vdir)) == sorted(p.name for p in files if p.parent == vdir)  # nothing written
    finally:
        for p in [vdir, *files]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


def test_an_old_format_index_is_refused_with_the_rebuild_hint_and_rebuilt(corpus_dir, built_index, fake_embedder):
    vdir = current_version_dir(built_index)
    manifest = json.loads((vdir / "manifest.json").read_text())
    (vdir / "manifest.json").write_text(json.dumps(dict(manifest, format_version=store.FORMAT_VERSION - 1)))
    with pytest.raises(IndexLoadError, match=f"format version {store.FORMAT_VERSION - 1}.*minutes-qa index"):
        load_index(built_index, fake_embedder)
    fresh, reason = index_status(corpus_dir, built_index, fake_embedder.model_name)
    assert not fresh and "format version" in reason  # so `make serve` / `make index` rebuild it
    report = build_index(corpus_dir, built_index, fake_embedder, progress=False)
    assert not report.up_to_date and load_index(built_index, fake_embedder).manifest["format_version"] == 3


def test_a_corrupted_large_file_is_caught_by_its_sampled_checksum(built_index, fake_embedder, monkeypatch):
    vdir = current_version_dir(built_index)
    monkeypatch.setattr(store, "FULL_CHECK_BYTES", 0)  # every file counts as large
    manifest = json.loads((vdir / "manifest.json").read_text())
    manifest["sampled"] = {name: store._sampled_sha256(vdir / name) for name in manifest["files"]}
    (vdir / "manifest.json").write_text(json.dumps(manifest))
    load_index(built_index, fake_embedder)  # intact: loads
    data = bytearray((vdir / "vectors.npy").read_bytes())
    data[-8:] = bytes(b ^ 0xFF for b in data[-8:])  # the last block is always sampled
    (vdir / "vectors.npy").write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match="truncated or corrupted"):
        load_index(built_index, fake_embedder)


def test_the_compressed_vector_path_gives_the_exact_paths_answers(
    corpus_dir, built_index, tmp_path, fake_embedder, monkeypatch
):
    from service.engine import Engine
    from service.retrieval import Filters

    monkeypatch.setattr(vectors, "EXACT_LIMIT", 0)
    monkeypatch.setattr(vectors, "MIN_COMPRESSED", 0)
    root = tmp_path / "compressed"
    build_index(corpus_dir, root, fake_embedder, progress=False)
    ix = load_index(root, fake_embedder)
    assert isinstance(ix.faiss_index, vectors.RerankedIndex) and isinstance(ix.sentence_faiss, vectors.RerankedIndex)
    assert isinstance(ix.chunk_vectors, vectors.VectorRows)  # scored from the file, not FAISS storage
    exact_ix = load_index(built_index, fake_embedder)  # (kept: its vectors are a view of its FAISS storage)
    np.testing.assert_array_equal(np.asarray(ix.chunk_vectors), exact_ix.chunk_vectors)
    import faiss

    from indexer.vectors import search_params

    allowed = np.flatnonzero(ix.chunk_doc == ix.doc_order.index("panel-minutes-2018-03-22")).astype(np.int64)
    for q in ("Would the company be liable for VAT?", "Who chaired the meeting?", "How much did it cost?"):
        qvec = fake_embedder.encode([q])
        for got, want in ((ix.faiss_index, exact_ix.faiss_index), (ix.sentence_faiss, exact_ix.sentence_faiss)):
            # (a set this small is re-ranked whole: the exact path's results, ties aside)
            g_scores, g_ids = got.search(qvec, want.ntotal)
            w_scores, w_ids = want.search(qvec, want.ntotal)
            np.testing.assert_allclose(g_scores, w_scores, atol=1e-6)
            assert set(g_ids[0]) == set(w_ids[0])
        params = search_params(ix.faiss_index, faiss.IDSelectorBatch(allowed))
        _, ids = ix.faiss_index.search(qvec, 10, params=params)
        found = ids[0][ids[0] >= 0]
        assert len(found) == min(10, len(allowed)) and set(found) <= set(allowed.tolist())
    engine = Engine(ix, query_cache_size=0)
    only = Filters(document_ids=("panel-minutes-2018-03-22",))
    result = engine.ask("Who chaired the meeting?", filters=only)
    assert result.citations and {c.document_id for c in result.citations} == {"panel-minutes-2018-03-22"}


def test_reused_vectors_land_in_the_right_rows(corpus_dir, built_index, tmp_path, fake_embedder):
    paper = corpus_dir / "panel-minutes-2018-03-22.txt"
    paper.write_text(paper.read_text().replace("every 8 weeks", "every 6 weeks"))
    report = build_index(corpus_dir, built_index, fake_embedder, progress=False)
    assert report.vectors_reused > 20 and report.vectors_embedded >= 1
    fresh = tmp_path / "fresh"
    build_index(corpus_dir, fresh, fake_embedder, progress=False)
    incremental = np.load(current_version_dir(built_index) / "vectors.npy")
    np.testing.assert_array_equal(incremental, np.load(current_version_dir(fresh) / "vectors.npy"))
