"""The corpus folder: papers plus `manifest.yaml`, checked against each other."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from indexer.models import DocumentMeta

TEXT_SUFFIXES = (".txt", ".md", ".html", ".htm")
BINARY_SUFFIXES = (".pdf", ".docx")  # read by indexer/pdf_source.py and indexer/docx_source.py
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + BINARY_SUFFIXES
DOC_TYPES = ("minutes", "agenda", "report")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,100}$")


class CorpusError(Exception):
    """A problem with the corpus that a person must fix; the message names the paper."""


@dataclass(frozen=True)
class CorpusProblem:
    doc_id: str
    file: str
    message: str


def _iso_or_none(value: object, where: str) -> str | None:
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise CorpusError(f"{where}: '{text}' is not an ISO date (YYYY-MM-DD) or null") from None
    return text


def load_manifest(corpus_dir: Path) -> list[DocumentMeta]:
    """Read and validate `manifest.yaml`; every entry must have a file and every file an entry."""
    manifest_path = corpus_dir / "manifest.yaml"
    if not manifest_path.is_file():
        raise CorpusError(f"no manifest: {manifest_path} does not exist")
    try:
        data = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CorpusError(f"{manifest_path} is not valid YAML: {exc}") from None
    entries = (data or {}).get("documents")
    if not isinstance(entries, list) or not entries:
        raise CorpusError(f"{manifest_path} must have a non-empty 'documents' list")

    metas: list[DocumentMeta] = []
    seen_ids: set[str] = set()
    seen_files: set[str] = set()
    for n, entry in enumerate(entries, 1):
        where = f"manifest entry {n}"
        if not isinstance(entry, dict):
            raise CorpusError(f"{where} is not a mapping")
        for key in ("id", "file", "title", "doc_type"):
            if not entry.get(key):
                raise CorpusError(f"{where} ({entry.get('id', '?')}) is missing '{key}'")
        doc_id, file = str(entry["id"]), str(entry["file"])
        where = f"manifest entry '{doc_id}'"
        if not _ID_RE.match(doc_id):
            raise CorpusError(f"{where}: id must be a lowercase slug (a-z, 0-9, '-')")
        if doc_id in seen_ids:
            raise CorpusError(f"{where}: duplicate id")
        if "/" in file or "\\" in file or file.startswith("."):
            raise CorpusError(f"{where}: file must be a plain file name inside the corpus folder")
        if file in seen_files:
            raise CorpusError(f"{where}: file '{file}' is listed twice")
        if Path(file).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise CorpusError(f"{where}: '{file}' has an unsupported type (use {', '.join(SUPPORTED_SUFFIXES)})")
        if not (corpus_dir / file).is_file():
            raise CorpusError(f"{where}: file '{file}' is not in {corpus_dir}")
        if entry["doc_type"] not in DOC_TYPES:
            raise CorpusError(f"{where}: doc_type must be one of {', '.join(DOC_TYPES)}")
        agenda_items = entry.get("agenda_items") or []
        if not isinstance(agenda_items, list) or not all(isinstance(a, dict) for a in agenda_items):
            raise CorpusError(f"{where}: agenda_items must be a list of {{number, title}} mappings")
        agenda_item = entry.get("agenda_item")
        if agenda_item is not None and not isinstance(agenda_item, dict):
            raise CorpusError(f"{where}: agenda_item must be a {{number, title}} mapping")
        source_url = entry.get("source_url")
        if source_url is not None and not str(source_url).startswith(("http://", "https://")):
            raise CorpusError(f"{where}: source_url must be an http(s) URL")
        bounds = entry.get("date_bounds")
        if bounds is not None:
            bounds = {k: _iso_or_none(v, f"{where} date_bounds.{k}") for k, v in dict(bounds).items()}
        seen_ids.add(doc_id)
        seen_files.add(file)
        metas.append(
            DocumentMeta(
                id=doc_id,
                file=file,
                title=str(entry["title"]),
                council=entry.get("council"),
                body=entry.get("body"),
                meeting_date=_iso_or_none(entry.get("meeting_date"), f"{where} meeting_date"),
                doc_type=str(entry["doc_type"]),
                notes={str(k): str(v) for k, v in (entry.get("notes") or {}).items()},
                date_bounds=bounds,
                source_url=str(source_url) if source_url else None,
                agenda_item=_item(agenda_item),
                agenda_items=[i for i in map(_item, agenda_items) if i],
                fetched_at=str(entry["fetched_at"]) if entry.get("fetched_at") else None,
            )
        )

    # Every other visible file must be a listed paper: a PDF dropped in without an entry, or a
    # file type minutes-qa cannot read, is named rather than silently left out of the index.
    listed = {m.file for m in metas}
    others = sorted(
        p.name
        for p in corpus_dir.iterdir()
        if p.is_file() and not _ignorable(p.name) and p.name != "manifest.yaml" and p.name not in listed
    )
    unreadable = [n for n in others if Path(n).suffix.lower() not in SUPPORTED_SUFFIXES]
    if unreadable:
        raise CorpusError(
            f"file(s) minutes-qa cannot read in {corpus_dir}: {', '.join(unreadable)} "
            f"(it reads {', '.join(SUPPORTED_SUFFIXES)}); convert or move them"
        )
    if others:
        raise CorpusError(f"paper(s) without a manifest entry: {', '.join(others)} — add them to {manifest_path}")
    return metas


def _ignorable(name: str) -> bool:
    """Files that are never papers: hidden ones (tools' state), Word's lock file for an open
    document ("~$paper.docx"), and the folder thumbnails Windows writes."""
    return name.startswith((".", "~$")) or name.lower() in ("thumbs.db", "desktop.ini")


def _item(value: dict | None) -> dict[str, str] | None:
    """An agenda item reference as {number, title} strings (either may be missing)."""
    if not value:
        return None
    return {k: str(value[k]) for k in ("number", "title") if value.get(k) is not None}


def read_source(path: Path) -> str:
    """Read a paper as UTF-8 text; junk, empty or mis-encoded files are refused by name."""
    raw = path.read_bytes()
    if not raw.strip():
        raise CorpusError(f"{path.name}: the file is empty")
    if b"\x00" in raw:
        raise CorpusError(f"{path.name}: the file looks binary (NUL bytes), not a text paper")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path.name}: not valid UTF-8 (byte {exc.start}); re-save the paper as UTF-8") from None
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > max(10, len(text) // 100):
        raise CorpusError(f"{path.name}: the file is full of control characters; it is not a text paper")
    return text


def corpus_hash(corpus_dir: Path, metas: list[DocumentMeta], parser_version: str) -> str:
    """Fingerprint of everything the index is built from (so a stale index is detectable)."""
    h = hashlib.sha256(parser_version.encode())
    h.update((corpus_dir / "manifest.yaml").read_bytes())
    for meta in sorted(metas, key=lambda m: m.id):
        h.update(meta.file.encode() + b"\0")
        h.update(hashlib.sha256((corpus_dir / meta.file).read_bytes()).digest())
    return h.hexdigest()
