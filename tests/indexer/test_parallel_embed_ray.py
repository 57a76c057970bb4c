"""`ParallelEncoder` on Ray, for real (the `[distributed]` extra, installed by `make test`): the same
vectors in the same order as one encoder, on a local Ray and on a Ray cluster started apart with
`ray start --head` (token authentication on, as Ray 2.59+ does by default) and reached by its
address — what `minutes-qa index --workers N --ray-address …` does against a cluster."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from indexer.parallel_embed import ParallelEncoder
from tests.conftest import FakeEmbedder

ray = pytest.importorskip("ray", reason="the [distributed] extra (Ray) is not installed")

TEXTS = [f"the panel noted item {i} on the {i % 5} agenda about children's services" for i in range(41)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_local_ray_returns_one_encoders_vectors_in_order():
    with ParallelEncoder(FakeEmbedder, workers=2, engine="ray") as encode:
        assert encode.engine == "ray"
        vectors = encode(TEXTS)
    assert not ray.is_initialized()  # the Ray it started is shut down with it
    assert np.array_equal(vectors, FakeEmbedder().encode(TEXTS))


@pytest.fixture
def ray_cluster(monkeypatch):
    """A one-machine Ray cluster in its own processes, as `ray start --head` makes one. It runs in a
    process group of its own (`--block` keeps `ray start` as the group's leader), so stopping it ends
    exactly its processes — never another Ray on the machine, as `ray stop` would — even when it
    failed half-way through starting."""
    ray_cli = Path(sys.executable).with_name("ray")
    if not ray_cli.exists():
        ray_cli = Path(shutil.which("ray") or "ray")
    port = _free_port()
    # The driver and the cluster share the token: a client without it is refused by the cluster.
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(16))
    # Ray's session files (sockets, logs) in a directory of their own, removed after; a short path,
    # since a Unix socket's path may not pass 107 bytes (pytest's tmp_path is too long).
    temp = Path(tempfile.mkdtemp(prefix="ray-"))
    start = [str(ray_cli), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port)]
    start += ["--num-cpus", "2", "--temp-dir", str(temp), "--include-dashboard", "false", "--disable-usage-stats"]
    log = temp / "start.log"
    head = None
    try:
        with log.open("w") as out:
            head = subprocess.Popen(start, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        address = f"127.0.0.1:{port}"
        status = [str(ray_cli), "status", "--address", address]
        deadline = time.monotonic() + 120
        while subprocess.run(status, capture_output=True, timeout=60).returncode != 0:  # until a node is up
            assert head.poll() is None, f"ray start exited {head.returncode}: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"the Ray cluster did not come up: {log.read_text()[-2000:]}"
            time.sleep(1)
        yield address
    finally:
        if head is not None:
            for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
                try:
                    os.killpg(head.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    head.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        shutil.rmtree(temp, ignore_errors=True)


# The driver runs in a process of its own, as `minutes-qa index` would: Ray reads its authentication
# settings when it is first imported, and this test process imported it already.
DRIVER = """
import json
import sys
import numpy as np
import ray
from indexer.parallel_embed import ParallelEncoder
from tests.conftest import FakeEmbedder
TEXTS = json.loads(open(sys.argv[3]).read())
with ParallelEncoder(FakeEmbedder, workers=2, ray_address=sys.argv[1]) as encode:
    assert encode.engine == "ray"
    vectors = encode(TEXTS)
    again = encode(TEXTS[:3])  # a second job on the same connection
assert not ray.is_initialized()  # the connection ends with the build; the cluster stays up
np.save(sys.argv[2], np.concatenate([vectors, again]))
"""


def test_a_ray_cluster_reached_by_its_address_returns_the_same_vectors(ray_cluster, tmp_path):
    out, texts = tmp_path / "vectors.npy", tmp_path / "texts.json"
    texts.write_text(json.dumps(TEXTS))
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, ray_cluster, str(out), str(texts)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    vectors = np.load(out)
    expected = FakeEmbedder().encode(TEXTS)
    assert np.array_equal(vectors[: len(TEXTS)], expected)
    assert np.array_equal(vectors[len(TEXTS) :], expected[:3])
