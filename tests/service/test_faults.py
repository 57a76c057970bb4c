"""Faults: a missing or broken index, and re-indexing while the service answers."""

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi.testclient import TestClient

from indexer.build import build_index
from service.api import create_app
from tests.live_server import live_server


def _startup_failure(app) -> str:
    """Run the app's start-up (lifespan) as uvicorn does and return the message it exits with."""
    import asyncio

    async def start():
        async with app.router.lifespan_context(app):
            pass

    try:
        asyncio.run(start())
    except SystemExit as exc:
        return str(exc)
    raise AssertionError("the service started")


def test_service_refuses_to_start_without_an_index(tmp_path, fake_embedder):
    from service.settings import Settings

    app = create_app(Settings(index_dir=tmp_path / "missing", model=fake_embedder.model_name), embedder=fake_embedder)
    message = _startup_failure(app)
    assert "cannot start: no index found" in message and "minutes-qa index" in message


def test_cli_serve_refuses_a_missing_index_with_one_clear_message(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, MINUTES_QA_INDEX_DIR=str(tmp_path / "missing"))
    r = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "no index found" in r.stderr and "minutes-qa index" in r.stderr and "Traceback" not in r.stderr


def test_service_can_start_anyway_and_answer_503(tmp_path, fake_embedder):
    from service.settings import Settings

    settings = Settings(index_dir=tmp_path / "missing", model=fake_embedder.model_name, start_without_index=True)
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        r = c.post("/ask", json={"question": "anything?"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "index_unavailable"
        assert "minutes-qa index" in r.json()["error"]["message"]
        assert c.get("/healthz").status_code == 503


def test_corrupted_index_is_refused_not_half_loaded(app_settings, fake_embedder):
    from indexer.store import current_version_dir

    store = current_version_dir(app_settings.index_dir) / "store.sqlite"
    store.write_bytes(store.read_bytes()[:-4096])  # a truncated chunk store
    assert "truncated or corrupted" in _startup_failure(create_app(app_settings, embedder=fake_embedder))


def test_reload_swaps_without_failing_or_mixing_requests(open_cut, app_settings, corpus_dir, fake_embedder):
    """Concurrent /ask calls run while the index is rebuilt and swapped in; none fails, and every
    answer is consistent with exactly one index version (old or new)."""
    texts: dict[str, str] = {}
    with live_server(create_app(app_settings, embedder=fake_embedder)) as url:
        http = httpx.Client(base_url=url, timeout=30)
        old = http.get("/healthz").json()["index_version"]
        texts[old] = http.get("/documents/panel-minutes-2018-03-22").json()["text"]
        stop = threading.Event()
        results = []

        def worker():
            with httpx.Client(base_url=url, timeout=30) as c:
                while not stop.is_set():
                    r = c.post("/ask", json={"question": "How much money was required to set up the Company?"})
                    results.append((r.status_code, r.headers.get("x-index-version"), r.json()))

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(worker) for _ in range(8)]
            time.sleep(0.5)
            paper = corpus_dir / "panel-minutes-2018-03-22.txt"
            paper.write_text(paper.read_text().replace("£4.6 million", "£5.1 million"))
            build_index(corpus_dir, app_settings.index_dir, fake_embedder, progress=False)
            r = http.post("/admin/reload", headers={"authorization": "Bearer test-token"})
            assert r.status_code == 200 and r.json()["reloaded"] is True
            new = r.json()["index_version"]
            texts[new] = http.get("/documents/panel-minutes-2018-03-22").json()["text"]
            time.sleep(0.5)
            stop.set()
            for f in futures:
                f.result()
    assert len(results) > 20
    assert all(status == 200 for status, _, _ in results)
    versions = {v for _, v, _ in results}
    assert versions == {old, new}
    for _, version, body in results:
        expected = "£4.6 million" if version == old else "£5.1 million"
        assert expected in body["answer"]
        for c in body["citations"]:
            if c["document_id"] == "panel-minutes-2018-03-22":
                assert texts[version][c["start"] : c["end"]] == c["quote"]


def test_reload_with_a_broken_new_index_keeps_the_old_one(app_settings, fake_embedder):
    from indexer.store import current_version_dir

    with TestClient(create_app(app_settings, embedder=fake_embedder)) as c:
        vdir = current_version_dir(app_settings.index_dir)
        broken = vdir.parent / "20990101T000000-broken"
        shutil.copytree(vdir, broken)
        (broken / "vectors.npy").write_bytes(b"junk")
        (app_settings.index_dir / "CURRENT").write_text(broken.name)
        r = c.post("/admin/reload", headers={"authorization": "Bearer test-token"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "reload_failed"
        assert c.post("/ask", json={"question": "VAT?"}).status_code == 200
        assert c.get("/healthz").json()["index_version"] == vdir.name
