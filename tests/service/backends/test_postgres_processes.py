"""Two `minutes-qa serve` processes (real model, real corpus) sharing one PostgreSQL index: both
answer from the same version, and after an update published by `index_database` each picks up the
new version on `POST /admin/reload` and answers from it — no files shared between them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.pg_eval import stored_encoder
from service.backends.postgres.writer import index_database
from tests.conftest import REPO
from tests.live_server import free_port

pytestmark = pytest.mark.real_model
QUESTION = "How much will it cost to set up the company?"
TOKEN = "two-processes"


def _serve(database_url: str, folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "MINUTES_QA_DATABASE_URL": database_url,
        "MINUTES_QA_ADMIN_TOKEN": TOKEN,
        "MINUTES_QA_INDEX_DIR": str(folder / "no-index"),  # nothing on disk: the database is the index
        "MINUTES_QA_ALERTS_DB": str(folder / "alerts.sqlite"),
        "MINUTES_QA_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "eval.cli", "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not start within 120 s")


def test_two_service_processes_share_one_database(real_embedder, real_index_dir, database_url, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    encode = stored_encoder(real_index_dir, real_embedder)
    index_database(corpus, database_url, real_embedder, encode=encode)
    procs = []
    try:
        for i in range(2):
            (tmp_path / f"p{i}").mkdir()
            procs.append(_serve(database_url, tmp_path / f"p{i}"))
        pids = {p.pid for p, _ in procs}
        assert len(pids) == 2 and os.getpid() not in pids
        first = [httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=60).json() for _, url in procs]
        assert all("£4.6 million" in a["answer"] for a in first)
        assert first[0]["answer"] == first[1]["answer"]
        assert {httpx.get(f"{url}/healthz").json()["index_version"] for _, url in procs} == {"pg-1"}

        minutes = corpus / "wcc-cfosp-minutes-2018-03-22.txt"
        minutes.write_text(minutes.read_text(encoding="utf-8").replace("£4.6 million", "£5.1 million"), "utf-8")
        index_database(corpus, database_url, real_embedder, encode=encode)
        for _, url in procs:
            r = httpx.post(f"{url}/admin/reload", headers={"authorization": f"Bearer {TOKEN}"}, timeout=60)
            assert r.status_code == 200 and r.json()["index_version"] == "pg-2"
        after = [httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=60).json() for _, url in procs]
        assert all("£5.1 million" in a["answer"] and "£4.6 million" not in a["answer"] for a in after)
    finally:
        for proc, _ in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
