"""Embedding a large ingest on several workers: `minutes-qa index --workers N [--ray-address …]`.

Encoding is the index build's cost (the fine-tuned MiniLM, ~30 texts/s a core here). A
`ParallelEncoder` splits each batch of texts over N workers, each with its own encoder on one
thread, and returns the vectors in input order:
- with Ray (the optional extra `[distributed]`) and `ray_address`, on a Ray cluster through Ray
  Data (`map_batches` over actors that load the encoder once); without an address, a local Ray;
- without Ray installed, a local process pool (spawned, so no worker inherits the parent's
  thread pools) — the same vectors, the same flag.

Not done: on a real multi-machine cluster each worker must find this package and the encoder's
weights. Nothing here ships them: the cluster needs a Ray `runtime_env` (e.g. `pip` with
minutes-qa and `env_vars` for the model cache, or `working_dir`) and the weights on every node or a
shared store — see docs/scaling.md. Tested (tests/indexer/test_parallel_embed_ray.py): a local Ray,
and a Ray cluster started apart (`ray start --head`, token authentication) on this one machine.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

import numpy as np

from indexer.embed import Embedder

EmbedderFactory = Callable[[], Embedder]  # picklable: it runs in every worker

_worker_embedder: Embedder | None = None


def _init_worker(factory: EmbedderFactory) -> None:
    global _worker_embedder  # one encoder per worker process, loaded once
    _worker_embedder = factory()


def _encode_in_worker(texts: list[str]) -> np.ndarray:
    assert _worker_embedder is not None
    return np.asarray(_worker_embedder.encode(texts), dtype=np.float32)


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


class ParallelEncoder:
    """`encoder(texts) -> vectors` over `workers` workers; use as a context manager (or `close()`).
    Give it a whole ingest at once (`whole_input`): each call is one Ray job, whose actors load the
    encoder once, and one slice a worker."""

    whole_input = True

    def __init__(
        self, factory: EmbedderFactory, workers: int, ray_address: str | None = None, engine: str = "auto"
    ) -> None:
        """`engine`: "ray", "processes", or "auto" (Ray when installed or an address is given)."""
        if workers < 1:
            raise ValueError("--workers must be at least 1")
        self.factory = factory
        self.workers = workers
        self.ray_address = ray_address
        if ray_address and not ray_available():
            raise RuntimeError("--ray-address needs Ray: pip install 'minutes-qa[distributed]'")
        if engine == "auto":
            engine = "ray" if ray_address or ray_available() else "processes"
        self.engine = engine
        self._pool: Any = None
        self._started_ray = False  # Ray started here is shut down by close(); a caller's Ray is left running
        if self.engine == "ray":
            import ray

            if not ray.is_initialized():
                self._started_ray = True
                kwargs: dict[str, Any] = {"address": ray_address} if ray_address else {"num_cpus": workers}
                ray.init(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False, **kwargs)
        else:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ctx.Pool(workers, initializer=_init_worker, initargs=(factory,))

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), np.float32)
        if self.engine == "ray":
            return self._ray_encode(texts)
        size = -(-len(texts) // self.workers)  # one slice a worker per call
        parts = self._pool.map(_encode_in_worker, [texts[i : i + size] for i in range(0, len(texts), size)])
        return np.concatenate(parts).astype(np.float32)

    def _ray_encode(self, texts: list[str]) -> np.ndarray:
        import ray.data

        factory = self.factory

        class EncodeBatch:
            def __init__(self) -> None:
                self.embedder = factory()

            def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
                batch["vector"] = list(np.asarray(self.embedder.encode(list(batch["text"])), dtype=np.float32))
                return batch

        ds = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
        size = max(1, -(-len(texts) // self.workers))
        pool = ray.data.ActorPoolStrategy(size=self.workers)  # a fixed pool: each actor loads the encoder once
        rows = ds.map_batches(EncodeBatch, batch_size=size, compute=pool, num_cpus=1).take_all()
        rows.sort(key=lambda r: r["i"])
        return np.stack([np.asarray(r["vector"], dtype=np.float32) for r in rows])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None
        if self._started_ray:
            import ray

            self._started_ray = False
            ray.shutdown()  # its local cluster's processes (or the client connection) end with the build

    def __enter__(self) -> ParallelEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
