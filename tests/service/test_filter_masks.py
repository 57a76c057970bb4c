"""Filter masks (service/filters.py): papers named by id are looked up, not tested one by one,
and a mask is made once per filter and kept read-only."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from service.filters import Filters, allowed_documents, chunk_mask, sentence_mask
from service.index import load_index


@pytest.fixture
def index(built_index, fake_embedder):
    return load_index(built_index, fake_embedder)


def test_papers_named_by_id_are_allowed_in_corpus_order(index):
    first, last = index.doc_order[0], index.doc_order[-1]
    assert allowed_documents(index, Filters(document_ids=(last, "no-such-paper", first))) == [first, last]
    mask = chunk_mask(index, Filters(document_ids=(last, first)))
    docs = {index.chunks[i].doc_id for i in np.flatnonzero(mask)}
    assert docs == {first, last}
    assert mask.sum() == sum(1 for c in index.chunks if c.doc_id in (first, last))


def test_the_id_lookup_agrees_with_the_full_test(index):
    ids = tuple(index.doc_order[::2])
    wide = Filters(document_ids=ids, date_from=dt.date(1900, 1, 1))  # the per-paper test (dated papers only)
    dated = [d for d in ids if index.documents[d].meta.meeting_date]
    assert dated and allowed_documents(index, wide) == [
        d for d in allowed_documents(index, Filters(document_ids=ids)) if d in dated
    ]


def test_a_mask_is_made_once_per_filter_and_cannot_be_written(index):
    f = Filters(document_ids=(index.doc_order[0],))
    mask = chunk_mask(index, f)
    assert chunk_mask(index, Filters(document_ids=(index.doc_order[0],))) is mask
    with pytest.raises(ValueError):
        mask[0] = 1.0
    assert chunk_mask(index, Filters()) is None


def test_a_sentence_mask_is_its_passages_mask_made_once(index):
    f = Filters(document_ids=(index.doc_order[-1],))
    sentences = sentence_mask(index, f)
    assert sentences is not None and sentences.tolist() == chunk_mask(index, f)[index.sentence_spans[:, 0]].tolist()
    assert 0 < sentences.sum() < len(sentences)
    assert sentence_mask(index, f) is sentences  # kept, not gathered again for the next ranking
    assert not sentences.flags.writeable
    assert sentence_mask(index, Filters()) is None
