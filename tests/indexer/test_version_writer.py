"""The streamed build (indexer/version_writer.py, indexer/bm25_stream.py) writes what the
in-memory build wrote: the same vectors file byte for byte, the same FAISS indexes, BM25 indexes
that score every document the same for every term, the same per-row arrays and store rows."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from indexer.bm25_stream import StreamedBM25
from indexer.build import parse_document
from indexer.chunker import Chunker
from indexer.corpus import load_manifest
from indexer.lexical import LexicalIndex, tokenize
from indexer.store import IndexWriter
from indexer.tokens import count_tokens
from indexer.vectors import make_vector_index
from indexer.version_writer import VersionWriter, meta_line


@pytest.fixture
def parsed(corpus_dir: Path, fake_embedder):
    chunker = Chunker(count_tokens, fake_embedder.count_tokens, fake_embedder.max_tokens)
    docs = [parse_document(m, corpus_dir, chunker) for m in load_manifest(corpus_dir)]
    texts = [c.search_text for d in docs for c in d.chunks] + [d.text[s:e] for d in docs for _, s, e in d.sentences]
    return docs, fake_embedder.encode(texts)


def _written(tmp_path: Path, docs, vectors, exact_limit=None) -> Path:
    writer = IndexWriter(tmp_path / "index")
    out = VersionWriter(writer, vectors.shape[1], exact_limit=exact_limit)
    for i, d in enumerate(docs):  # one paper at a time, as a streamed corpus arrives
        c0 = sum(len(x.chunks) for x in docs[:i])
        s0 = sum(len(x.chunks) for x in docs) + sum(len(x.sentences) for x in docs[:i])
        out.add(d, vectors[c0 : c0 + len(d.chunks)], vectors[s0 : s0 + len(d.sentences)])
    out.finish()
    return writer.tmp


def _column(bm25, term: str) -> tuple[list[int], list[float]]:
    s = bm25.scores
    i = bm25.vocab_dict[term]
    lo, hi = s["indptr"][i], s["indptr"][i + 1]
    return s["indices"][lo:hi].tolist(), s["data"][lo:hi].tolist()


def _assert_same_bm25(streamed: LexicalIndex, built: LexicalIndex) -> None:
    a, b = streamed._bm25, built._bm25
    assert set(a.vocab_dict) == set(b.vocab_dict)
    assert a.scores["num_docs"] == b.scores["num_docs"]
    for term in b.vocab_dict:
        if term:  # bm25s's empty token has no column
            assert _column(a, term) == _column(b, term), term
            assert np.array_equal(streamed.scores([term]), built.scores([term]))


def test_streamed_bm25_scores_every_document_as_bm25s_does(tmp_path):
    texts = ["The Cabinet approved £4.6 million", "", "cabinet cabinet cabinet report", "83% of staff", "the of and"]
    streamed = StreamedBM25(tmp_path)
    for t in texts:
        streamed.add(t)
    streamed.save(tmp_path / "bm25")
    _assert_same_bm25(LexicalIndex.load(tmp_path / "bm25"), LexicalIndex.build(texts))


def test_streamed_version_matches_the_in_memory_build(parsed, tmp_path):
    docs, vectors = parsed
    vdir = _written(tmp_path, docs, vectors)
    n = sum(len(d.chunks) for d in docs)

    expected = io.BytesIO()
    np.save(expected, vectors, allow_pickle=False)
    assert (vdir / "vectors.npy").read_bytes() == expected.getvalue()
    assert not list(vdir.glob("*.tmp"))
    import faiss

    for name, part in (("faiss.index", vectors[:n]), ("faiss_sentences.index", vectors[n:])):
        assert faiss.serialize_index(faiss.read_index(str(vdir / name))).tobytes() == (
            faiss.serialize_index(make_vector_index(part)).tobytes()
        )

    chunk_texts = [f"{meta_line(d.meta)}\n{c.search_text}" for d in docs for c in d.chunks]
    sentence_texts = [
        f"{meta_line(d.meta)}\n{d.chunks[ci].section or ''}\n{d.text[s:e]}" for d in docs for ci, s, e in d.sentences
    ]
    _assert_same_bm25(LexicalIndex.load(vdir / "bm25"), LexicalIndex.build(chunk_texts))
    _assert_same_bm25(LexicalIndex.load(vdir / "bm25_sentences"), LexicalIndex.build(sentence_texts))

    spans = np.load(vdir / "sentences.npy")
    assert spans.tolist() == [
        [sum(len(x.chunks) for x in docs[:i]) + ci, s, e] for i, d in enumerate(docs) for ci, s, e in d.sentences
    ]
    assert np.load(vdir / "chunk_doc.npy").tolist() == [i for i, d in enumerate(docs) for _ in d.chunks]
    db = sqlite3.connect(vdir / "store.sqlite")
    assert db.execute("SELECT count(*) FROM chunks").fetchone()[0] == n
    assert [r[0] for r in db.execute("SELECT id FROM documents ORDER BY pos")] == [d.meta.id for d in docs]
    df: dict[str, int] = {}
    for d in docs:
        for c in d.chunks:
            for t in set(tokenize(c.search_text)):
                df[t] = df.get(t, 0) + 1
    assert dict(db.execute("SELECT term, df FROM term_df")) == df


def test_streamed_compressed_index_is_the_one_trained_in_memory(parsed, tmp_path, monkeypatch):
    docs, vectors = parsed
    n = sum(len(d.chunks) for d in docs)
    monkeypatch.setattr("indexer.vectors.MIN_COMPRESSED", 0)  # the fixture corpus is tiny
    vdir = _written(tmp_path, docs, vectors, exact_limit=10)
    import faiss

    got = faiss.read_index(str(vdir / "faiss_sentences.index"))
    assert isinstance(got, faiss.IndexIVFPQ)
    want = make_vector_index(vectors[n:], exact_limit=10)
    assert faiss.serialize_index(got).tobytes() == faiss.serialize_index(want).tobytes()


def test_a_paper_with_the_wrong_number_of_vectors_is_refused(parsed, tmp_path):
    docs, vectors = parsed
    out = VersionWriter(IndexWriter(tmp_path / "index"), vectors.shape[1])
    with pytest.raises(ValueError, match="one vector per passage"):
        out.add(docs[0], vectors[:1], vectors[:0])
    out.close()
