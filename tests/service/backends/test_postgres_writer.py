"""The writer's recovery from an update that wrote rows but never published its version."""

from __future__ import annotations

import threading
import time

from service.backends.postgres.loader import load_database_index
from service.backends.postgres.schema import connect, migrate
from service.backends.postgres.writer import WRITER_LOCK, index_database
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


def test_a_writer_waits_for_the_lock_before_making_partitions(database_url, corpus_dir, fake_embedder):
    migrate(database_url, fake_embedder.model_name, fake_embedder.dimension)
    holder = connect(database_url, autocommit=True)  # another writer, mid-update
    holder.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))
    done: list[object] = []
    writer = threading.Thread(target=lambda: done.append(index_database(corpus_dir, database_url, fake_embedder)))
    writer.start()
    try:
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        while holder.execute(waiting).fetchone()[0] == 0:  # until the writer queues for the lock
            assert writer.is_alive() and not done, "the writer did not wait for the lock"
            time.sleep(0.02)
        assert holder.execute("SELECT count(*) FROM councils").fetchone()[0] == 0  # nothing made yet
    finally:
        holder.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))
        writer.join(timeout=120)
        holder.close()
    assert done and done[0].version == 1
