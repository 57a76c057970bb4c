"""A real cold build of a 10x corpus: each of the five papers copied ten times, every line of each
copy marked with its copy number so no text is shared between copies and every passage and
sentence is embedded (unlike bench/scale_bench.py, which projects the embedding time). Uses every
core, as `minutes-qa index` does.

    python -m bench.build_10x [--factor 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from bench.common import REPO, machine, save_result


def make_corpus(factor: int, target: Path) -> None:
    manifest = yaml.safe_load((REPO / "corpus" / "manifest.yaml").read_text(encoding="utf-8"))
    entries = []
    for copy in range(1, factor + 1):
        for entry in manifest["documents"]:
            source = REPO / "corpus" / entry["file"]
            stem, suffix = source.stem, source.suffix
            lines = source.read_text(encoding="utf-8").split("\n")
            marked = [f"{line} (copy {copy})" if line.strip() else line for line in lines]
            name = f"{stem}-copy{copy}{suffix}"
            (target / name).write_text("\n".join(marked), encoding="utf-8")
            entries.append({**entry, "id": f"{entry['id']}-copy{copy}", "file": name})
    (target / "manifest.yaml").write_text(yaml.safe_dump({"documents": entries}), encoding="utf-8")


def main() -> None:
    from indexer.build import build_index
    from indexer.embed import load_embedder

    p = argparse.ArgumentParser()
    p.add_argument("--factor", type=int, default=10)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mqa-10x-"))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        make_corpus(args.factor, corpus)
        report = build_index(corpus, work / "index", load_embedder(threads=os.cpu_count() or 1), progress=False)
        result = {
            "machine": machine(),
            "factor": args.factor,
            "papers": report.documents,
            "chunks": report.chunks,
            "sentences": report.sentences,
            "vectors_embedded": report.vectors_embedded,
            "cold_seconds": round(report.seconds, 1),
            "texts_per_s": round(report.vectors_embedded / report.seconds, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save_result("build_10x", result)


if __name__ == "__main__":
    main()
