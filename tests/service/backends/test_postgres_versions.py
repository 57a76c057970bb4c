"""A replica pinned to an index version the writer has since pruned (it keeps KEEP_VERSIONS)."""

from __future__ import annotations

import threading

import pytest

from service.backends.holder import make_holder
from service.backends.postgres.writer import KEEP_VERSIONS, index_database
from service.errors import ApiError, ErrorCode
from service.settings import Settings
from tests.conftest import FakeEmbedder

MINUTES = "panel-minutes-2018-03-22.txt"
END_QUESTION = "When did the meeting end?"


def test_a_pruned_pinned_version_is_a_503_and_the_holder_reloads_the_newest(database_url, corpus_dir, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    holder = make_holder(Settings(model=FakeEmbedder.model_name, database_url=database_url), fake_embedder)
    newest = threading.Event()
    holder.on_load(lambda engine: newest.set() if engine.index.version == f"pg-{KEEP_VERSIONS + 1}" else None)
    try:
        old = holder.load()
        assert "12.53 pm" in old.ask(END_QUESTION).answer
        path = corpus_dir / MINUTES
        for minute in range(1, KEEP_VERSIONS + 1):  # versions 2..4: version 1 is pruned
            path.write_text(
                path.read_text().replace("12.53 pm" if minute == 1 else f"1.0{minute - 1} pm", f"1.0{minute} pm")
            )
            index_database(corpus_dir, database_url, fake_embedder)
        with pytest.raises(ApiError) as exc:
            old.ask(END_QUESTION)  # its passages are deleted: never an answer from what is left
        assert exc.value.code is ErrorCode.INDEX_UNAVAILABLE
        assert "index version was replaced" in exc.value.message
        assert newest.wait(timeout=60), "the holder did not reload the newest version"
        assert f"1.0{KEEP_VERSIONS} pm" in holder.engine.ask(END_QUESTION).answer
    finally:
        holder.close()
