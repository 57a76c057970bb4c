"""The on-disk index: a directory per build, switched in atomically.

    <root>/CURRENT              name of the live version (replaced with os.replace)
    <root>/versions/<name>/     manifest.json, store.sqlite (documents, chunks, units: read in
                                place, indexer/docstore.py), sentences.npy, chunk_doc.npy,
                                chunk_{sentence,unit}_{offsets,rows}.npy (memory-mapped per-row
                                arrays), vectors.npy + vector_keys.json (every embedded text by
                                content hash, reused by the next build), faiss.index (passages),
                                faiss_sentences.index, bm25/, bm25_sentences/

A build writes a fresh `versions/.tmp-*` directory, fsyncs it, renames it into place
and only then rewrites CURRENT, so a crash at any point leaves the previous index live.
The manifest records a sha256 and the size of every file, so truncation or corruption is
detected on load instead of answering from a half-written index. Files up to FULL_CHECK_BYTES are
hashed whole at every load; larger ones (the vectors and the store of a big archive, gigabytes
that a load must not read) are checked by size and by a hash of SAMPLE_BLOCKS blocks spread over
the file, so truncation is always caught and corruption wherever a sample falls;
`verify_files(..., full=True)` hashes everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 3  # 2: units.json (typed answer units and meeting facts); 3: SQLite store, mmap arrays, IVF-PQ
FULL_CHECK_BYTES = 64 << 20
SAMPLE_BLOCKS = 64
SAMPLE_BLOCK_BYTES = 64 << 10
KEEP_VERSIONS = 3


class IndexLoadError(Exception):
    """The index cannot be used; `fix` says what to run."""

    def __init__(self, problem: str, fix: str = "run `minutes-qa index` (or `make index`) to rebuild it") -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_tree(path: Path) -> None:
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_version_dir(root: Path) -> Path | None:
    pointer = root / "CURRENT"
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    if not name or "/" in name or name.startswith("."):
        raise IndexLoadError(f"{pointer} is damaged (it names '{name}')")
    return root / "versions" / name


def read_manifest(version_dir: Path) -> dict[str, Any]:
    path = version_dir / "manifest.json"
    if not path.is_file():
        raise IndexLoadError(f"index manifest {path} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise IndexLoadError(f"index manifest {path} is corrupted") from None


def _sampled_sha256(path: Path) -> str:
    """sha256 of SAMPLE_BLOCKS blocks at evenly spaced offsets (first and last included)."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    step = max(0, size - SAMPLE_BLOCK_BYTES) / max(1, SAMPLE_BLOCKS - 1)
    with path.open("rb") as f:
        for i in range(SAMPLE_BLOCKS):
            f.seek(int(i * step))
            h.update(f.read(SAMPLE_BLOCK_BYTES))
    return h.hexdigest()


def verify_files(version_dir: Path, manifest: dict[str, Any], full: bool = False) -> None:
    sizes = manifest.get("sizes", {})
    sampled = manifest.get("sampled", {})
    for name, digest in manifest.get("files", {}).items():
        path = version_dir / name
        if not path.is_file():
            raise IndexLoadError(f"index file {path} is missing")
        if name in sizes and path.stat().st_size != sizes[name]:
            raise IndexLoadError(f"index file {path} is truncated or corrupted (size differs)")
        if not full and name in sampled:
            ok = _sampled_sha256(path) == sampled[name]
        else:
            ok = _sha256_file(path) == digest
        if not ok:
            raise IndexLoadError(f"index file {path} is truncated or corrupted (checksum mismatch)")


def check_compatible(manifest: dict[str, Any], model_name: str) -> None:
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexLoadError(
            f"the index has format version {manifest.get('format_version')}, "
            f"this program reads version {FORMAT_VERSION}"
        )
    if manifest.get("model") != model_name:
        raise IndexLoadError(
            f"the index was built with embedding model '{manifest.get('model')}', but the service uses '{model_name}'",
            fix="rebuild it with `minutes-qa index --force`",
        )


def open_version(root: Path, model_name: str) -> tuple[Path, dict[str, Any]]:
    """The live version directory and its manifest, after checking model, format and every
    file's checksum. Any problem raises IndexLoadError naming it and the fix."""
    vdir = current_version_dir(root)
    if vdir is None or not vdir.is_dir():
        raise IndexLoadError(f"no index found at {root}")
    manifest = read_manifest(vdir)
    check_compatible(manifest, model_name)
    verify_files(vdir, manifest)
    return vdir, manifest


@dataclass
class IndexWriter:
    """Collects a build's files in a temporary directory and publishes them atomically."""

    root: Path

    def __post_init__(self) -> None:
        (self.root / "versions").mkdir(parents=True, exist_ok=True)
        for stale in (self.root / "versions").glob(".tmp-*"):  # left by an interrupted build
            shutil.rmtree(stale, ignore_errors=True)
        self.name = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        self.tmp = self.root / "versions" / f".tmp-{self.name}"
        self.tmp.mkdir()

    def write_json(self, name: str, data: Any) -> None:
        (self.tmp / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    def write_array(self, name: str, array: np.ndarray) -> None:
        with (self.tmp / name).open("wb") as f:
            np.save(f, array, allow_pickle=False)

    def path(self, name: str) -> Path:
        return self.tmp / name

    def publish(self, manifest: dict[str, Any]) -> Path:
        manifest = dict(manifest, format_version=FORMAT_VERSION, version=self.name)
        files = {str(p.relative_to(self.tmp)): p for p in sorted(self.tmp.rglob("*")) if p.is_file()}
        manifest["files"] = {name: _sha256_file(p) for name, p in files.items()}
        manifest["sizes"] = {name: p.stat().st_size for name, p in files.items()}
        manifest["sampled"] = {
            name: _sampled_sha256(p) for name, p in files.items() if p.stat().st_size > FULL_CHECK_BYTES
        }
        (self.tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _fsync_tree(self.tmp)
        final = self.root / "versions" / self.name
        os.rename(self.tmp, final)
        pointer_tmp = self.root / f".CURRENT.{os.getpid()}"
        pointer_tmp.write_text(self.name + "\n", encoding="utf-8")
        with pointer_tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(pointer_tmp, self.root / "CURRENT")
        self._prune()
        return final

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _prune(self) -> None:
        versions = sorted(p for p in (self.root / "versions").iterdir() if p.is_dir() and not p.name.startswith("."))
        for old in versions[:-KEEP_VERSIONS]:
            shutil.rmtree(old, ignore_errors=True)
