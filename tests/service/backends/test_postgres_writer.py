"""The writer's recovery from an update that wrote rows but never published its version."""

from __future__ import annotations

from service.backends.postgres.loader import load_database_index
from service.backends.postgres.schema import connect
from service.backends.postgres.writer import index_database
from service.engine import Engine
from tests.service.backends.test_postgres_service import END_QUESTION, MINUTES


def test_rows_of_a_version_never_published_are_dropped_before_the_next(database_url, corpus_dir, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    with connect(database_url) as conn:  # what a failed sharded commit of version 2 may leave behind
        conn.execute(
            "INSERT INTO documents (council, doc_id, added, content_hash, meta, text, sections, pages, units)"
            " SELECT council, doc_id, 2, 'orphan', meta, 'ORPHAN TEXT', sections, pages, units FROM documents"
            " WHERE doc_id = 'web-minutes'"
        )
        conn.execute("UPDATE chunks SET removed = 2 WHERE doc_id = 'options-analysis-2017-12-14'")
        conn.commit()
    path = corpus_dir / MINUTES
    path.write_text(path.read_text().replace("12.53 pm", "1.15 pm"))
    assert index_database(corpus_dir, database_url, fake_embedder).version == 2
    with connect(database_url) as conn:
        rows = conn.execute("SELECT count(*) FROM documents WHERE doc_id = 'web-minutes'").fetchone()[0]
        assert rows == 1  # the orphan copy is gone
    index = load_database_index(database_url, fake_embedder)
    assert "ORPHAN TEXT" not in index.documents["web-minutes"].text
    assert any(c.doc_id == "options-analysis-2017-12-14" for c in index.chunks)  # its passages stay visible
    assert "1.15 pm" in Engine(index).ask(END_QUESTION).answer
