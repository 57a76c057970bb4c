"""A BM25 index built from texts fed one at a time, without holding the corpus's token lists.

bm25s's `BM25.index` wants every document's tokens at once (at 1000× the real corpus: 1.5M
sentence token lists, then COO triples and their sort, several GB). Its scores depend on the
whole corpus (each term's document frequency, the average document length), so a streamed build
takes two passes: `add` tokenizes a text and appends its term ids to a temporary file (4 bytes a
token) and counts document frequencies; `save` then reads the ids back document by document,
scores them with bm25s's own functions (the same arithmetic as `BM25.index`, so the same float32
scores) and writes each score straight into its column of the CSC matrix: column starts are the
cumulated document frequencies and documents arrive in order, so no sort is needed. What is held
at the end is the matrix itself (8 bytes a posting) and the vocabulary.

The files are bm25s's own (`BM25.save`), loaded by `LexicalIndex.load` like any other. Only the
vocabulary's ids differ from `BM25.index`'s (which numbers terms in set-iteration order, itself
different from run to run); every document's score for every query is the same.
"""

from __future__ import annotations

import tempfile
from array import array
from pathlib import Path

import numpy as np

from indexer.lexical import tokenize

EMPTY_TEXT_TOKEN = "∅"  # what a text with no search terms is indexed under (as LexicalIndex.build does)
_READ_DOCS = 4096  # documents read back per block in the second pass


class StreamedBM25:
    """`add(text)` for each document in order, then `save(directory)` once."""

    def __init__(self, work_dir: Path | None = None) -> None:
        self._ids_file = tempfile.TemporaryFile(dir=work_dir, prefix="bm25-ids-")
        self._buffer = array("i")
        self._lengths = array("q")
        self.vocab: dict[str, int] = {}
        self._df = array("q")

    def add(self, text: str) -> None:
        tokens = tokenize(text) or [EMPTY_TEXT_TOKEN]
        vocab = self.vocab
        ids = []
        for t in tokens:
            i = vocab.get(t)
            if i is None:
                i = vocab[t] = len(vocab)
                self._df.append(0)
            ids.append(i)
        for i in set(ids):
            self._df[i] += 1
        self._buffer.extend(ids)
        self._lengths.append(len(ids))
        if len(self._buffer) >= 1 << 20:
            self._flush()

    def __len__(self) -> int:
        return len(self._lengths)

    def close(self) -> None:
        """Drop the temporary file of term ids (`save` does it itself; this is for a failed build)."""
        self._ids_file.close()

    def _flush(self) -> None:
        self._ids_file.write(self._buffer.tobytes())
        self._buffer = array("i")

    def _documents(self):
        """Each document's term ids, in order, read back from the temporary file."""
        self._flush()
        self._ids_file.seek(0)
        lengths = np.frombuffer(self._lengths, dtype=np.int64)
        for lo in range(0, len(lengths), _READ_DOCS):
            block = lengths[lo : lo + _READ_DOCS]
            ids = np.frombuffer(self._ids_file.read(int(block.sum()) * 4), dtype=np.int32)
            at = 0
            for n in block.tolist():
                yield ids[at : at + n].tolist()
                at += n

    def save(self, directory: Path) -> None:
        import bm25s
        from bm25s.scoring import _get_counts_from_token_ids, _select_idf_scorer, _select_tfc_scorer

        bm25 = bm25s.BM25()
        n_docs = len(self._lengths)
        # as BM25.build_index_from_ids computes them (same dtypes, same order of operations)
        avg_doc_len = np.array(self._lengths, dtype=np.int64).mean()
        df = np.frombuffer(self._df, dtype=np.int64)
        idf_of = _select_idf_scorer(bm25.idf_method)
        idf = np.zeros(len(df), dtype=bm25.dtype)
        for token_id, count in enumerate(df.tolist()):
            if count:
                idf[token_id] = idf_of(count, N=n_docs)
        tfc_of = _select_tfc_scorer(bm25.method)
        indptr = np.zeros(len(df) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        data = np.empty(int(indptr[-1]), dtype=bm25.dtype)
        indices = np.empty(int(indptr[-1]), dtype=bm25.int_dtype)
        fill = indptr[:-1].copy()  # next free slot of each term's column
        for doc, token_ids in enumerate(self._documents()):
            terms, tf = _get_counts_from_token_ids(token_ids, dtype=bm25.dtype, int_dtype=bm25.int_dtype)
            tfc = tfc_of(tf_array=tf, l_d=len(token_ids), l_avg=avg_doc_len, k1=bm25.k1, b=bm25.b, delta=bm25.delta)
            at = fill[terms]
            data[at] = idf[terms] * tfc
            indices[at] = doc
            fill[terms] += 1
        self.close()
        bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
        bm25.nonoccurrence_array = None
        # bm25s adds the empty token after the corpus's terms (BM25.index, create_empty_token)
        bm25.vocab_dict = dict(self.vocab) | ({"": len(self.vocab)} if "" not in self.vocab else {})
        bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
        bm25.save(str(directory), show_progress=False)
