"""Date, body and paper-type filters on the PostgreSQL backend: the papers they let through are
the embedded backend's (`allowed_documents`), including a paper dated only by its date bounds."""

from __future__ import annotations

import datetime as dt

import pytest

from indexer.build import build_index
from service.backends import RankingRequest, backend_of
from service.backends.postgres.loader import load_database_index
from service.backends.postgres.schema import connect
from service.backends.postgres.writer import index_database
from service.filters import Filters, allowed_documents
from service.index import load_index

D = dt.date
FILTERS = [
    Filters(date_to=D(2018, 1, 31)),  # the agenda only: the bounded paper may fall after it
    Filters(date_to=D(2018, 3, 1)),  # the agenda and the bounded paper
    Filters(date_from=D(2018, 1, 1), date_to=D(2018, 2, 28)),  # the bounded paper alone
    Filters(date_from=D(2018, 2, 1)),  # the panel minutes: the bounded paper may fall before it
    Filters(bodies=("cabinet",), date_to=D(2018, 3, 31)),
    Filters(doc_types=("minutes",), date_from=D(2017, 1, 1)),
]


@pytest.fixture
def bounded_corpus(corpus_dir):
    """The fixture corpus with the undated web minutes placed between two days (date_bounds)."""
    manifest = corpus_dir / "manifest.yaml"
    text = manifest.read_text()
    undated = "    meeting_date: null\n"
    assert undated in text
    manifest.write_text(
        text.replace(undated, undated + '    date_bounds: {after: "2018-01-01", before: "2018-02-28"}\n')
    )
    return corpus_dir


@pytest.mark.parametrize("filters", FILTERS)
def test_date_filters_let_through_the_embedded_backends_papers(
    database_url, bounded_corpus, tmp_path, fake_embedder, filters
):
    index_database(bounded_corpus, database_url, fake_embedder)
    pg_index = load_database_index(database_url, fake_embedder)
    build_index(bounded_corpus, tmp_path / "index", fake_embedder, progress=False)
    file_index = load_index(tmp_path / "index", fake_embedder)
    assert file_index.documents["web-minutes"].meta.date_bounds  # the bounds reached both indexes
    expected = set(allowed_documents(file_index, filters))
    assert expected == set(allowed_documents(pg_index, filters))
    qvec = fake_embedder.encode(["meeting"])[0]
    for target in ("chunks", "sentences"):
        ranking = backend_of(pg_index).rankings([RankingRequest("dense", target, vector=qvec)], filters, 1000)[0]
        chunk_ids = ranking.ids if target == "chunks" else pg_index.sentence_spans[ranking.ids, 0]
        assert {pg_index.chunks[i].doc_id for i in chunk_ids.tolist()} == expected


def test_each_filter_column_has_its_own_index(database_url, corpus_dir, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    with connect(database_url) as conn:
        names = {
            n for (n,) in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename IN ('chunks', 'sentences')")
        }
    for table in ("chunks", "sentences"):
        assert {f"{table}_body_lc", f"{table}_doc_type", f"{table}_dates"} <= names
