"""`build_index`: corpus folder → a new published index version (incremental, atomic)."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.chunker import Chunker
from indexer.corpus import CorpusError, CorpusProblem, corpus_hash, load_manifest, read_source
from indexer.docx_source import docx_to_text
from indexer.embed import Embedder
from indexer.facts import build_facts
from indexer.html_source import html_to_text
from indexer.models import DocumentMeta, ParsedDocument
from indexer.pdf_source import ExtractedText, pdf_to_text
from indexer.store import FORMAT_VERSION, IndexLoadError, IndexWriter, current_version_dir, open_version
from indexer.structure import parse_paged
from indexer.tokens import count_tokens
from indexer.units import assign_chunks, build_units
from indexer.version_writer import VersionWriter

# Bump when cleaning, structure or chunking changes, so existing indexes count as stale.
PARSER_VERSION = "2026-11-28.6"


@dataclass
class BuildReport:
    version_dir: Path | None
    up_to_date: bool = False
    documents: int = 0
    chunks: int = 0
    sentences: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    vectors_embedded: int = 0
    vectors_reused: int = 0
    skipped: list[CorpusProblem] = field(default_factory=list)
    skipped_pages: list[str] = field(default_factory=list)  # "paper.pdf p. 3: no text layer …"
    seconds: float = 0.0

    def summary(self) -> str:
        if self.up_to_date:
            return f"index is up to date ({self.version_dir})"
        lines = [
            f"built {self.version_dir}",
            f"  {self.documents} documents, {self.chunks} chunks, {self.sentences} sentences in {self.seconds:.1f}s",
            f"  chunks: +{self.chunks_added} added, -{self.chunks_removed} removed; "
            f"vectors: {self.vectors_embedded} embedded, {self.vectors_reused} reused",
        ]
        lines += [f"  skipped {p.file}: {p.message}" for p in self.skipped]
        lines += [f"  skipped {p}" for p in self.skipped_pages]
        return "\n".join(lines)


def read_paper(path: Path, *, ocr: bool = False) -> ExtractedText:
    """Any paper the corpus may hold → source text for the structure parser (pages marked)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return pdf_to_text(path, ocr=ocr)
    if suffix == ".docx":
        return docx_to_text(path)
    source = read_source(path)
    return ExtractedText(html_to_text(source) if suffix in (".html", ".htm") else source)


def parse_document(meta: DocumentMeta, corpus_dir: Path, chunker: Chunker, *, ocr: bool = False) -> ParsedDocument:
    extracted = read_paper(corpus_dir / meta.file, ocr=ocr)
    text, blocks, pages = parse_paged(extracted.text)
    if not text.strip():
        raise CorpusError(f"{meta.file}: no text left after cleaning")
    sections, chunks, sentences = chunker.chunk(meta.id, text, blocks)
    if not chunks:
        raise CorpusError(f"{meta.file}: no passages could be extracted")
    units = build_units(meta.id, text, blocks, chunks)
    facts = assign_chunks(build_facts(meta.id, text, blocks, units), chunks)
    return ParsedDocument(meta, text, sections, chunks, sentences, units + facts, pages, extracted.skipped_pages)


def _key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def _previous_vectors(root: Path, model: str) -> tuple[dict[str, int], np.ndarray, set[str]]:
    """The live index's vector row of each content hash and its vectors (memory-mapped, read only
    for the rows reused), for reuse; empty if none is usable."""
    try:
        vdir, manifest = open_version(root, model)
        keys = json.loads((vdir / "vector_keys.json").read_text(encoding="utf-8"))
        vectors = np.load(vdir / "vectors.npy", allow_pickle=False, mmap_mode="r")
        chunk_keys = set(keys[: manifest["chunk_count"]])
        # A version may carry no keys at all (the scale benchmark writes synthetic vectors with an
        # empty key list), and then nothing is reused.
        rows = {k: i for i, k in enumerate(keys[: len(vectors)])}
        return rows, vectors, chunk_keys
    except (IndexLoadError, OSError, ValueError, KeyError):
        return {}, np.zeros((0, 0), np.float32), set()


def _parser_key(ocr: bool) -> str:
    # OCR reads pages that are skipped without it, so an index built with it is a different build.
    return PARSER_VERSION + ("+ocr" if ocr else "")


def index_status(corpus_dir: Path, root: Path, model: str, *, ocr: bool = False) -> tuple[bool, str]:
    """(fresh?, reason) — used by `minutes-qa index --check` and `make serve`."""
    try:
        metas = load_manifest(corpus_dir)
        vdir, manifest = open_version(root, model)
    except (CorpusError, IndexLoadError) as exc:
        return False, str(exc)
    if manifest.get("corpus_hash") != corpus_hash(corpus_dir, metas, _parser_key(ocr)):
        return False, "the corpus or the parser changed since the index was built"
    return True, f"index {vdir.name} is up to date"


def build_index(
    corpus_dir: Path,
    root: Path,
    embedder: Embedder,
    *,
    force: bool = False,
    on_error: str = "fail",
    progress: bool = True,
    ocr: bool = False,
) -> BuildReport:
    started = time.perf_counter()
    metas = load_manifest(corpus_dir)
    chash = corpus_hash(corpus_dir, metas, _parser_key(ocr))
    if not force:
        fresh, _ = index_status(corpus_dir, root, embedder.model_name, ocr=ocr)
        if fresh:
            return BuildReport(version_dir=current_version_dir(root), up_to_date=True)

    chunker = Chunker(count_tokens, embedder.count_tokens, embedder.max_tokens)
    docs: list[ParsedDocument] = []
    skipped: list[CorpusProblem] = []
    for meta in metas:
        try:
            docs.append(parse_document(meta, corpus_dir, chunker, ocr=ocr))
        except CorpusError as exc:
            if on_error != "skip":
                raise
            skipped.append(CorpusProblem(meta.id, meta.file, str(exc)))
            print(f"warning: skipped {meta.file}: {exc}", file=sys.stderr)
    if not docs:
        raise CorpusError("no paper could be indexed")

    model = embedder.model_name
    chunk_texts = [c.search_text for d in docs for c in d.chunks]
    sentence_texts = [d.text[s:e] for d in docs for (_, s, e) in d.sentences]
    all_texts = chunk_texts + sentence_texts
    keys = [_key(model, t) for t in all_texts]
    old_rows, old_vectors, old_chunk_keys = ({}, None, set()) if force else _previous_vectors(root, model)

    missing = sorted({k: t for k, t in zip(keys, all_texts, strict=True) if k not in old_rows}.items())
    n_chunks, n_sentences = len(chunk_texts), len(sentence_texts)
    del all_texts, chunk_texts, sentence_texts
    chunk_keys = keys[:n_chunks]
    skipped_pages = [f"{d.meta.file} {p}" for d in docs for p in d.skipped_pages]
    writer = IndexWriter(root)
    try:
        # Every vector is written, as it is made or reused, into one float32 matrix on disk (a
        # scratch file in the new version's directory), not in memory: the version writer reads it
        # back paper by paper.
        scratch = writer.path("vectors.scratch.npy")
        vectors = np.lib.format.open_memmap(scratch, mode="w+", dtype=np.float32, shape=(len(keys), embedder.dimension))
        _fill_vectors(vectors, keys, missing, old_rows, old_vectors, embedder, progress)
        del old_vectors
        writer.write_json("vector_keys.json", keys)
        write_version(writer, docs, vectors)
        del vectors
        scratch.unlink()
        manifest = {
            "model": model,
            "dimension": int(embedder.dimension),
            "normalized": True,
            "metric": "inner_product",
            "corpus_hash": chash,
            "parser_version": PARSER_VERSION,
            "documents": len(docs),
            "chunk_count": n_chunks,
            "sentence_count": n_sentences,
            "skipped": [p.__dict__ for p in skipped],
            "skipped_pages": skipped_pages,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - started, 2),
            "format": FORMAT_VERSION,
        }
        version_dir = writer.publish(manifest)
    except BaseException:
        writer.abort()
        raise
    new_keys = set(chunk_keys)
    return BuildReport(
        version_dir=version_dir,
        documents=len(docs),
        chunks=n_chunks,
        sentences=n_sentences,
        chunks_added=len(new_keys - old_chunk_keys),
        chunks_removed=len(old_chunk_keys - new_keys),
        vectors_embedded=len(missing),
        vectors_reused=len(keys) - len(missing),
        skipped=skipped,
        skipped_pages=skipped_pages,
        seconds=time.perf_counter() - started,
    )


def _fill_vectors(
    vectors: np.ndarray,
    keys: list[str],
    missing: list[tuple[str, str]],
    old_rows: dict[str, int],
    old_vectors: np.ndarray | None,
    embedder: Embedder,
    progress: bool,
) -> None:
    """Row i of `vectors` := the vector of text key i: the previous version's when it has one,
    else embedded (each distinct missing text once, in key order, 256 at a time)."""
    reused = np.array([old_rows.get(k, -1) for k in keys], dtype=np.int64)
    if old_vectors is not None and (reused >= 0).any():
        vectors[reused >= 0] = old_vectors[reused[reused >= 0]]
    if not missing:
        return
    where: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if reused[i] < 0:
            where.setdefault(k, []).append(i)
    batch = 256
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(missing), desc="embedding", unit="text")
    for i in range(0, len(missing), batch):
        part = missing[i : i + batch]
        vecs = embedder.encode([t for _, t in part])
        for (k, _), v in zip(part, vecs, strict=True):
            vectors[where[k]] = v
        if bar:
            bar.update(len(part))
    if bar:
        bar.close()


def write_version(
    writer: IndexWriter, docs: list[ParsedDocument], vectors: np.ndarray, *, exact_limit: int | None = None
) -> None:
    """Write one version's files for an in-memory corpus (`vectors`: passage vectors first, then
    sentence vectors, in corpus order) through the streaming `VersionWriter`."""
    out = VersionWriter(writer, vectors.shape[1], exact_limit=exact_limit)
    try:
        out.add_all(docs, vectors)
        out.finish()
    finally:
        out.close()
