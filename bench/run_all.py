"""`make bench`: every benchmark figure, into bench/out/results.json, bench/RESULTS.md and
bench/scaling.png. Options: --seconds N (per HTTP load level, default 15), --scales 10,100,1000."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, REPO, machine  # noqa: E402


def step(name: str) -> None:
    print(f"== {name}", file=sys.stderr, flush=True)


def our_accuracy() -> dict:
    from eval.gold import load_gold
    from eval.runner import Backend, metrics, run
    from indexer.embed import load_embedder
    from service.engine import Engine
    from service.index import load_index

    engine = Engine(load_index(REPO / "index", load_embedder()))
    texts = {d: doc.text for d, doc in engine.index.documents.items()}
    m = metrics(run(Backend(engine=engine, texts=texts), load_gold()))
    return {k: m[k] for k in ("fact_accuracy", "citation_accuracy", "median_answer_chars", "latency_p50_ms")}


def scale(factors: list[int], embed_rate: float) -> list[dict]:
    """bench/scale_bench.py per factor (10x embedded for real, larger ones with drawn vectors);
    `embed_rate` projects what embedding the drawn ones for real would take."""
    rows = []
    for f in factors:
        step(f"scale x{f}")
        r = subprocess.run(
            [sys.executable, "-m", "bench.scale_bench", "--factor", str(f), *(["--embed"] if f <= 10 else [])],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        if r.returncode != 0:
            rows.append({"factor": f, "error": r.stderr[-800:]})
        else:
            row = json.loads((REPO / "bench" / "out" / f"scale_{f}x.json").read_text())
            row["build_measured_s"] = row["build_s"]
            if not row.get("vectors_embedded") and embed_rate:
                row["embedding_projected_s"] = round((row["chunks"] + row["sentences"]) / embed_rate, 0)
            rows.append(row)
    return rows


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results["scaling"] if "error" not in r]
    base = {
        "factor": 1,
        "p50_ms": results["query"]["in_process"]["p50_ms"],
        "p95_ms": results["query"]["in_process"]["p95_ms"],
        "index_size_mb": results["build"]["index_size_mb"],
        "build_measured_s": results["build"]["cold_seconds"],
    }
    rows = [base] + rows
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    xs = [r["factor"] for r in rows]
    axes[0].plot(xs, [r["p50_ms"] for r in rows], "o-", label="p50")
    axes[0].plot(xs, [r["p95_ms"] for r in rows], "s--", label="p95")
    axes[0].set_title("in-process /ask latency (ms)")
    axes[1].plot(xs, [r["index_size_mb"] for r in rows], "o-")
    axes[1].set_title("index size on disk (MB)")
    axes[2].plot(xs, [r["build_measured_s"] for r in rows], "o-", label="measured (no embedding)")
    proj = [(r["factor"], r["build_measured_s"] + r.get("embedding_projected_s", 0)) for r in rows[1:]]
    axes[2].plot([p[0] for p in proj], [p[1] for p in proj], "x:", label="+ projected embedding")
    axes[2].set_title("index build time (s)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("corpus size (x real corpus)")
        ax.grid(True, alpha=0.3)
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    axes[0].legend()
    axes[2].legend()
    fig.suptitle(
        f"minutes-qa scaling — {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"{results['machine']['date']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--soak-seconds", type=float, default=60)
    p.add_argument("--scales", default="10,100,1000")
    p.add_argument("--skip-peer", action="store_true")
    args = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine()}
    from bench import build_bench, peer_haystack, query_bench

    step("build")
    results["build"] = build_bench.run()
    step("query (in-process and HTTP at 1/8/32 clients)")
    results["query"] = query_bench.run(args.seconds, args.soak_seconds)
    step("accuracy")
    results["accuracy"] = our_accuracy()
    if not args.skip_peer:
        step("peer: stock Haystack pipeline")
        try:
            results["peer_haystack"] = peer_haystack.run()
        except Exception as exc:  # the peer is optional: record why it did not run, keep our figures
            results["peer_haystack"] = {"skipped": f"{type(exc).__name__}: {exc}"}
    results["scaling"] = scale([int(x) for x in args.scales.split(",") if x], results["build"]["embedding_texts_per_s"])
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, REPO / "bench" / "scaling.png")
    from bench.report import write_results_md

    write_results_md(results, REPO / "bench" / "RESULTS.md")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
