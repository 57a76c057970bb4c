"""The service over PostgreSQL: the API answering from the database, incremental updates published
atomically while questions are asked, the database going away and coming back, two service
instances sharing one database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.backends.holder import make_holder
from service.backends.postgres.loader import load_database_index
from service.backends.postgres.writer import index_database
from service.engine import Engine
from service.settings import Settings
from tests.conftest import FakeEmbedder
from tests.service.backends.conftest import start_server

MINUTES = "panel-minutes-2018-03-22.txt"
END_QUESTION = "When did the meeting end?"


def pg_client(database_url: str, corpus_dir: Path, tmp_path: Path, embedder) -> TestClient:
    settings = Settings(
        index_dir=tmp_path / "no-index",
        corpus_dir=corpus_dir,
        model=FakeEmbedder.model_name,
        admin_token="test-token",
        database_url=database_url,
        alerts_db=tmp_path / f"alerts-{abs(hash(database_url))}.sqlite",
    )
    # create_app picks the database's engine holder from the settings (service.backends.holder).
    return TestClient(create_app(settings, embedder=embedder))


def _edit_end_time(corpus_dir: Path, new: str = "1.15 pm") -> None:
    path = corpus_dir / MINUTES
    path.write_text(path.read_text().replace("12.53 pm", new))


def _replace(corpus_dir: Path, old: str, new: str) -> None:
    path = corpus_dir / MINUTES
    path.write_text(path.read_text().replace(old, new))


def _citations(body: dict) -> list[tuple]:
    return [(c["document_id"], c["start"], c["end"], c["quote"]) for c in body["citations"]]


def test_the_api_answers_from_postgres_as_from_the_index_folder(
    database_url, corpus_dir, tmp_path, fake_embedder, client
):
    index_database(corpus_dir, database_url, fake_embedder)
    with pg_client(database_url, corpus_dir, tmp_path, fake_embedder) as pg:
        assert pg.get("/healthz").json()["index_version"] == "pg-1"
        for question in (END_QUESTION, "Who chaired the meeting?", "How much was required to set up the Company?"):
            a = pg.post("/ask", json={"question": question}).json()
            b = client.post("/ask", json={"question": question}).json()
            assert (a["answer"], _citations(a)) == (b["answer"], _citations(b))
        a = pg.get("/search", params={"q": "VAT", "body": "Children and Families Overview and Scrutiny Panel"}).json()
        assert a and {c["document_id"] for c in a["results"]} == {"panel-minutes-2018-03-22"}
        assert pg.get("/documents/panel-minutes-2018-03-22").status_code == 200


def test_an_update_is_incremental_and_published_in_one_version(database_url, corpus_dir, fake_embedder):
    first = index_database(corpus_dir, database_url, fake_embedder)
    assert index_database(corpus_dir, database_url, fake_embedder).up_to_date
    v1 = load_database_index(database_url, fake_embedder)
    _edit_end_time(corpus_dir)
    second = index_database(corpus_dir, database_url, fake_embedder)
    assert (second.version, second.documents_added, second.documents_removed) == (2, 1, 0)
    # Only the edited passage and sentence are embedded again; the paper's other texts are reused.
    assert 0 < second.vectors_embedded <= 2 < second.vectors_reused
    assert second.vectors_embedded + second.vectors_reused < first.vectors_embedded
    v2 = load_database_index(database_url, fake_embedder)
    assert (v1.version, v2.version) == ("pg-1", "pg-2")
    assert "12.53 pm" in v1.documents["panel-minutes-2018-03-22"].text  # a reader pinned to v1 keeps v1
    assert "1.15 pm" in v2.documents["panel-minutes-2018-03-22"].text
    assert "1.15 pm" in Engine(v2).ask(END_QUESTION).answer
    assert "12.53 pm" in Engine(v1).ask(END_QUESTION).answer  # v1's rows are still there for it
    # A paper dropped from the manifest is gone from the next version.
    manifest = corpus_dir / "manifest.yaml"
    text = manifest.read_text()
    manifest.write_text(text[: text.index("  - id: web-minutes")])
    (corpus_dir / "web-minutes.html").unlink()
    third = index_database(corpus_dir, database_url, fake_embedder)
    assert (third.version, third.documents, third.documents_removed) == (3, 2, 1)
    assert "web-minutes" not in load_database_index(database_url, fake_embedder).documents


def test_questions_during_an_update_see_one_version_whole(database_url, corpus_dir, fake_embedder):
    """Questions asked while an update is written, published and loaded: none fails, and every
    answer is wholly the old version's or wholly the new one's."""
    index_database(corpus_dir, database_url, fake_embedder)
    settings = Settings(model=FakeEmbedder.model_name, database_url=database_url)
    holder = make_holder(settings, fake_embedder)
    holder.load()
    old = holder.engine.ask(END_QUESTION)
    _edit_end_time(corpus_dir)
    answers: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def ask_once() -> None:
        engine = holder.engine  # one engine per question, as get_engine takes it
        try:
            result = engine.ask(END_QUESTION)
            quotes = " ".join(c.quote for c in result.citations)
            answers.append((engine.index.version, result.answer + " | " + quotes))
        except BaseException as exc:  # noqa: BLE001 - any failure is what this test counts
            errors.append(exc)

    def ask_until_done() -> None:
        while not done.is_set():  # during the update, its publication and the reload
            ask_once()
        for _ in range(2):  # and after it
            ask_once()

    askers = [threading.Thread(target=ask_until_done) for _ in range(3)]
    for t in askers:
        t.start()
    index_database(corpus_dir, database_url, fake_embedder)
    assert holder.reload_if_changed()
    done.set()
    for t in askers:
        t.join(timeout=60)
    new = holder.engine.ask(END_QUESTION)
    assert errors == []
    assert "12.53 pm" in old.answer and "1.15 pm" in new.answer
    by_version = {"pg-1": old.answer + " | " + " ".join(c.quote for c in old.citations)}
    by_version["pg-2"] = new.answer + " | " + " ".join(c.quote for c in new.citations)
    assert {v for v, _ in answers} <= {"pg-1", "pg-2"}
    assert all(text == by_version[v] for v, text in answers)  # never a mix
    assert {v for v, _ in answers} == {"pg-1", "pg-2"}


def test_the_database_going_away_is_a_503_and_the_service_recovers(tmp_path, corpus_dir, fake_embedder):
    server = start_server(tmp_path / "own-server")  # its own server: this test stops it
    try:
        url = server.create_database()
        index_database(corpus_dir, url, fake_embedder)
        with pg_client(url, corpus_dir, tmp_path, fake_embedder) as pg:
            assert pg.post("/ask", json={"question": END_QUESTION}).status_code == 200
            server.stop()
            for request in (
                lambda: pg.post("/ask", json={"question": END_QUESTION}),
                lambda: pg.get("/search", params={"q": "VAT"}),
            ):
                response = request()
                assert response.status_code == 503
                error = response.json()["error"]
                assert error["code"] == "index_unavailable"
                assert "index database is unreachable" in error["message"]
            assert pg.get("/documents/web-minutes").status_code == 200  # loaded papers still show
            server.restart()
            response = pg.post("/ask", json={"question": END_QUESTION})
            assert response.status_code == 200 and "12.53 pm" in response.json()["answer"]
    finally:
        server.close()


def test_two_service_instances_share_one_database(database_url, corpus_dir, tmp_path, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir(), b_dir.mkdir()
    auth = {"Authorization": "Bearer test-token"}
    with (
        pg_client(database_url, corpus_dir, a_dir, fake_embedder) as a,
        pg_client(database_url, corpus_dir, b_dir, FakeEmbedder()) as b,
    ):
        ask = {"question": END_QUESTION}
        assert a.post("/ask", json=ask).json()["answer"] == b.post("/ask", json=ask).json()["answer"]
        _edit_end_time(corpus_dir)
        index_database(corpus_dir, database_url, fake_embedder)  # a third process's update
        assert a.post("/admin/reload", headers=auth).json() == {"reloaded": True, "index_version": "pg-2"}
        assert "1.15 pm" in a.post("/ask", json=ask).json()["answer"]
        assert "12.53 pm" in b.post("/ask", json=ask).json()["answer"]  # b answers from its pinned version
        assert b.post("/admin/reload", headers=auth).json()["index_version"] == "pg-2"
        assert a.post("/ask", json=ask).json() | {"took_ms": 0} == b.post("/ask", json=ask).json() | {"took_ms": 0}


@pytest.mark.parametrize("url_tail", ["?host=/nonexistent-socket-dir"])
def test_a_service_whose_database_is_unreachable_at_start_says_why(tmp_path, corpus_dir, fake_embedder, url_tail):
    from indexer.store import IndexLoadError

    settings = Settings(model=FakeEmbedder.model_name, database_url=f"postgresql://postgres@/postgres{url_tail}")
    holder = make_holder(settings, fake_embedder)
    with pytest.raises(IndexLoadError, match="cannot reach the index database postgres"):
        holder.load()
    assert holder.error and "cannot reach" in holder.error


def test_without_a_database_url_the_service_uses_the_index_folder(app_settings, fake_embedder):
    from service.backends.postgres.holder import PostgresEngineHolder
    from service.state import EngineHolder

    holder = make_holder(app_settings, fake_embedder)
    assert type(holder) is EngineHolder and holder.index_dir == app_settings.index_dir
    with_db = app_settings.model_copy(update={"database_url": "postgresql://postgres@/x?host=/nowhere"})
    assert isinstance(make_holder(with_db, fake_embedder), PostgresEngineHolder)


def test_old_versions_are_forgotten_after_three(database_url, corpus_dir, fake_embedder):
    from service.backends.postgres.schema import connect

    end_times = ["12.53 pm", "1.01 pm", "1.02 pm", "1.03 pm", "1.04 pm"]  # the minutes' text in versions 1-5
    for before, after in zip(end_times, end_times[1:], strict=False):
        index_database(corpus_dir, database_url, fake_embedder)
        _replace(corpus_dir, before, after)
    index_database(corpus_dir, database_url, fake_embedder)
    with connect(database_url) as conn:
        assert [v for (v,) in conn.execute("SELECT version FROM index_versions ORDER BY version")] == [3, 4, 5]
        # Only rows some kept version can see remain: per paper, one live copy and the replaced
        # copies of the minutes that versions 3 and 4 still show.
        rows = dict(conn.execute("SELECT doc_id, count(*) FROM documents GROUP BY doc_id").fetchall())
        assert rows == {"panel-minutes-2018-03-22": 3, "options-analysis-2017-12-14": 1, "web-minutes": 1}


def test_a_polling_replica_loads_a_new_version_on_its_own(database_url, corpus_dir, fake_embedder):
    index_database(corpus_dir, database_url, fake_embedder)
    settings = Settings(model=FakeEmbedder.model_name, database_url=database_url, database_poll_seconds=0.05)
    holder = make_holder(settings, fake_embedder)
    loaded = threading.Event()
    holder.on_load(lambda engine: loaded.set() if engine.index.version == "pg-2" else None)
    try:
        holder.load()
        assert holder.engine.index.version == "pg-1"
        _edit_end_time(corpus_dir)
        index_database(corpus_dir, database_url, fake_embedder)
        assert loaded.wait(timeout=60), "the poll never loaded version 2"
        assert "1.15 pm" in holder.engine.ask(END_QUESTION).answer
    finally:
        holder.close()
