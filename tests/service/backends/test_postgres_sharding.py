"""The sharded layout end to end: two councils' partitions on two PostgreSQL servers, joined into a
coordinator by postgres_fdw (the stand-in here for Citus), answer as one server does."""

from __future__ import annotations

import numpy as np
import pytest

from service.backends import RankingRequest, backend_of
from service.backends.postgres.loader import load_database_index
from service.backends.postgres.schema import connect
from service.backends.postgres.sharding import attach_shard
from service.backends.postgres.writer import index_database
from service.engine import Engine
from service.retrieval import Filters
from tests.service.backends.conftest import start_server

OTHER = "Othershire District Council"
QUESTIONS = [
    "When did the meeting end?",
    "Who chaired the meeting?",
    "How much was required to set up the Company?",
    "Which option did Cabinet choose?",
]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    servers = [start_server(tmp_path_factory.mktemp(f"shard{i}")) for i in range(2)]
    yield servers
    for server in servers:
        server.close()


def test_council_partitions_on_two_servers_answer_as_one_server(shards, pg_server, corpus_dir, fake_embedder):
    manifest = corpus_dir / "manifest.yaml"
    text = manifest.read_text()
    head, web = text.split("  - id: web-minutes")
    manifest.write_text(head + "  - id: web-minutes" + web.replace("Testshire County Council", OTHER))
    single = pg_server.create_database()
    coordinator = pg_server.create_database()
    shard_urls = [s.create_database() for s in shards]
    model, dim = fake_embedder.model_name, fake_embedder.dimension
    attach_shard(coordinator, shard_urls[0], "shard_a", ["Testshire County Council"], model, dim)
    attach_shard(coordinator, shard_urls[1], "shard_b", [OTHER], model, dim)

    index_database(corpus_dir, single, fake_embedder)
    index_database(corpus_dir, coordinator, fake_embedder)  # writes through the foreign partitions

    # The rows are on the shards, each council's on its own server, none on the coordinator.
    for url, council, docs in ((shard_urls[0], "Testshire County Council", 2), (shard_urls[1], OTHER, 1)):
        with connect(url) as conn:
            assert conn.execute("SELECT count(*), min(council), max(council) FROM documents").fetchone() == (
                docs,
                council,
                council,
            )
            assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] > 0
    with connect(coordinator) as conn:
        local = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid WHERE c.relkind = 'r'"
        ).fetchone()[0]
        assert local == 0  # every partition of the coordinator is a foreign table

    one, sharded = load_database_index(single, fake_embedder), load_database_index(coordinator, fake_embedder)
    assert [c.to_dict() for c in one.chunks] == [c.to_dict() for c in sharded.chunks]
    for question in QUESTIONS:
        qvec = fake_embedder.encode([question])[0]
        for request in (
            RankingRequest("dense", "sentences", vector=qvec),
            RankingRequest("lexical", "chunks", terms=question),
        ):
            for filters in (Filters(), Filters(bodies=("cabinet",))):
                a = backend_of(one).rankings([request], filters, 100)[0]
                b = backend_of(sharded).rankings([request], filters, 100)[0]
                assert np.allclose(a.scores, b.scores, atol=1e-5) and set(a.ids) == set(b.ids)
        x, y = Engine(one).ask(question), Engine(sharded).ask(question)
        assert (x.answer, [(c.document_id, c.start) for c in x.citations]) == (
            y.answer,
            [(c.document_id, c.start) for c in y.citations],
        )


def test_a_sharded_database_made_before_a_migration_is_migrated_on_its_shards(
    shards, pg_server, corpus_dir, fake_embedder, monkeypatch
):
    """Migrations after the shard was attached (0003 adds a column to the content tables) reach the
    shard's own tables too; before, they changed only the coordinator's foreign-table definitions and
    every later index failed with a missing column."""
    import service.backends.postgres.schema as schema

    coordinator, shard = pg_server.create_database(), shards[0].create_database()
    model, dim = fake_embedder.model_name, fake_embedder.dimension
    everything = schema.migrations()
    monkeypatch.setattr(schema, "migrations", lambda *a: everything[:2])  # the schema as 0002 left it
    attach_shard(coordinator, shard, "shard_old", ["Testshire County Council"], model, dim)
    with connect(shard) as conn:
        assert not conn.execute(COLUMN_COUNT).fetchone()[0]
    monkeypatch.setattr(schema, "migrations", lambda *a: everything)

    report = index_database(corpus_dir, coordinator, fake_embedder)
    assert f"{everything[-1].number:04d}_{everything[-1].name} (shard shard_old)" in report.migrations
    with connect(shard) as conn:
        assert conn.execute(COLUMN_COUNT).fetchone()[0] > 0
        assert [n for (n,) in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")] == [
            m.number for m in everything
        ]
        assert conn.execute("SELECT count(*) FROM chunks WHERE feedback_terms IS NOT NULL").fetchone()[0] > 0
    index = load_database_index(coordinator, fake_embedder)
    try:
        assert "12.53" in Engine(index).ask("When did the meeting end?").answer
    finally:
        backend_of(index).pool.close()


COLUMN_COUNT = (
    "SELECT count(*) FROM information_schema.columns"
    " WHERE table_name LIKE 'chunks%%' AND column_name = 'feedback_terms'"
)
