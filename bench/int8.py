"""Is an int8 encoder good enough? ONNX Runtime's dynamic int8 quantisation of the exported encoder,
measured two ways on the eval test split against the full-precision encoder:

- queries only: int8 question vectors against the index's full-precision passage vectors;
- queries and index: the index rebuilt with the int8 encoder too.

Reports fact accuracy, recall@5, in-process p50 and the lowest cosine to the full-precision vectors
over the gold questions. The service would adopt int8 only if fact accuracy and recall@5 stay
within 0.5 points (issue #13). Nothing here changes the service.

    python -m bench.int8
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from bench.common import REPO, machine, save_result


class _Int8Embedder:
    """The exported encoder's graph quantised to int8 (dynamic, weights per channel), under the same
    name so the index accepts it; the probe check is skipped because it cannot pass by design."""

    def __new__(cls, full):
        from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

        from indexer.onnx_encoder import ONNX_FILE, OnnxEmbedder

        folder = Path(tempfile.mkdtemp(prefix="minutes-qa-int8-"))
        shutil.copytree(full.folder, folder, dirs_exist_ok=True)
        quantize_dynamic(full.folder / ONNX_FILE, folder / ONNX_FILE, weight_type=QuantType.QInt8, per_channel=True)

        class Quantised(OnnxEmbedder):
            def _check_probes(self) -> None:
                pass

        return Quantised(full.model_name, folder)


def _scores(engine, items) -> dict:
    from eval.runner import Backend, metrics, run

    texts = {d: doc.text for d, doc in engine.index.documents.items()}
    m = metrics(run(Backend(engine=engine, texts=texts), items))
    return {k: m[k] for k in ("fact_accuracy", "recall_at_5", "recall_at_10", "latency_p50_ms", "latency_p95_ms")}


def main() -> None:
    from eval.gold import load_gold
    from eval.split import load_split, side
    from indexer.build import build_index
    from indexer.embed import load_embedder
    from service.engine import Engine
    from service.index import load_index

    full = load_embedder()
    int8 = _Int8Embedder(full)
    items = side(load_gold(), load_split(), "test")
    questions = [i.question for i in items]
    cosine = np.sum(full.encode(questions) * int8.encode(questions), axis=1)
    results: dict = {"machine": machine(), "lowest_cosine": round(float(cosine.min()), 4)}
    results["mean_cosine"] = round(float(cosine.mean()), 4)
    results["full precision"] = _scores(Engine(load_index(REPO / "index", full), query_cache_size=0), items)
    results["int8 queries only"] = _scores(Engine(load_index(REPO / "index", int8), query_cache_size=0), items)
    with tempfile.TemporaryDirectory() as tmp:
        report = build_index(REPO / "corpus", Path(tmp) / "index", int8, force=True, progress=False)
        results["int8 index build s"] = round(report.seconds, 1)
        engine = Engine(load_index(Path(tmp) / "index", int8), query_cache_size=0)
        results["int8 queries and index"] = _scores(engine, items)
    shutil.rmtree(int8.folder, ignore_errors=True)
    save_result("int8", results)


if __name__ == "__main__":
    main()
